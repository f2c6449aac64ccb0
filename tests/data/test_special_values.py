"""Every reader turns CBS special values into missing with a status, never 0 or a number.

The API's v3 and v4 files, the vendored CSV exports, a user's own CSV and the district
map all ask :mod:`analysis.data.cbs.special_values`; this walks each reader over the
same signs (``.``, ``x``, ``Impossible``) and, for the district map, the sentinels.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.data.cbs import special_values
from analysis.data.cbs.api.v3files import read_v3_observations
from analysis.data.cbs.api.v4files import read_observations
from analysis.data.cbs.exports.reader import read_statline_csv
from analysis.data.owndata.numbers import parse_numbers

SIGNS = [".", "x", "Impossible"]


def _write(path, payload):
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _missing_with_status(values, statuses):
    values = np.asarray(values, dtype=float)
    assert np.isnan(values).all(), values  # never 0, never a number
    assert all(s is not None and s == s for s in statuses), statuses


def test_the_api_v4_files(tmp_path):
    rows = [{"Id": i, "Measure": "M", "RegioS": "GM0363", "Perioden": "2016JJ00",
             "Value": None, "StringValue": sign, "ValueAttribute": "None"}
            for i, sign in enumerate(SIGNS)]  # fmt: skip
    obs = read_observations([_write(tmp_path / "obs.json", {"value": rows})])
    _missing_with_status(obs["value"], obs["status"])
    assert obs["status"].tolist() == SIGNS


def test_the_api_v3_files(tmp_path):
    props = _write(tmp_path / "props.json", {"value": [
        {"Key": "RegioS", "Type": "GeoDimension"}, {"Key": "Perioden", "Type": "TimeDimension"},
        {"Key": "M", "Type": "Topic"}]})  # fmt: skip
    rows = [{"RegioS": f"GM000{i}", "Perioden": "2016JJ00", "M": sign}
            for i, sign in enumerate(SIGNS)]  # fmt: skip
    obs = read_v3_observations([_write(tmp_path / "data.json", {"value": rows})], props)
    _missing_with_status(obs["value"], obs["status"])
    assert obs["status"].tolist() == SIGNS


def test_the_vendored_csv_exports(tmp_path):
    lines = ["ID;RegioS;Perioden;Inwoners_1"]
    lines += [f"{i};Amsterdam;2016;{sign}" for i, sign in enumerate(SIGNS)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_statline_csv(path)
    _missing_with_status(table["Inwoners_1"], table["Inwoners_1_status"])
    meaning = [special_values.CBS_SPECIAL_VALUES[s] for s in SIGNS]
    assert table["Inwoners_1_status"].tolist() == meaning


def test_a_users_own_csv():
    frame = pd.DataFrame({"municipality": ["GM0363"] * 3, "year": [2016] * 3, "v": SIGNS})
    numbers, status = parse_numbers(frame, "v")
    _missing_with_status(numbers, status)


@pytest.mark.parametrize("sentinel", sorted(special_values.SENTINELS))
def test_the_sentinels_of_the_district_map(sentinel):
    values = pd.Series([float(sentinel), 12.0])
    assert special_values.is_sentinel(values).tolist() == [True, False]
    status = special_values.sentinel_status(values)
    assert status.iloc[0] == special_values.SENTINELS[sentinel] and status.iloc[1] is None


def test_one_table_of_special_values_for_every_reader():
    from analysis.data import district_map, schema
    from analysis.data.cbs.api import v3files, v4files
    from analysis.data.cbs.exports import reader
    from analysis.data.owndata import numbers

    for module in (v3files, v4files, reader, numbers):  # each asks the one module
        assert module.is_special is special_values.is_special
    assert schema.CBS_SPECIAL_VALUES is special_values.CBS_SPECIAL_VALUES  # the old name
    assert district_map.SENTINELS is special_values.SENTINELS
