"""CBS quirks in the readers: padded keys, period codes, special values never 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.data.cbs.api.v3files import read_v3_observations
from analysis.data.cbs.api.v4files import CBSFormatError, parse_period, read_observations


@pytest.mark.parametrize(
    ("code", "year", "kind", "number"),
    [
        ("2015JJ00", 2015, "year", 0),
        ("2015KW01", 2015, "quarter", 1),
        ("2016MM12", 2016, "month", 12),
        ("2017HJ01", 2017, "half-year", 1),
        ("2018JJ00  ", 2018, "year", 0),  # v3 keys arrive padded
    ],
)
def test_period_codes(code, year, kind, number):
    period = parse_period(code)
    assert (period.year, period.kind, period.number, period.code) == (
        year, kind, number, code.strip(),
    )  # fmt: skip


def test_a_bad_period_code_names_itself():
    with pytest.raises(CBSFormatError, match=r"not a CBS period code: '2015'"):
        parse_period("2015")


def _write(path, payload):
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def test_v3_untyped_special_values_are_missing_with_status(tmp_path):
    props = _write(tmp_path / "DataProperties.json", {"value": [
        {"Key": "RegioS", "Type": "GeoDimension"}, {"Key": "Perioden", "Type": "TimeDimension"},
        {"Key": "Aantal_1", "Type": "Topic"}]})  # fmt: skip
    raw = ["    12", "       .", "x", "-", "?", "  0"]
    rows = [
        {"ID": i, "RegioS": f"GM000{i}  ", "Perioden": "2015JJ00", "Aantal_1": v}
        for i, v in enumerate(raw)
    ]
    page = _write(tmp_path / "UntypedDataSet-page-1.json", {"value": rows})
    obs = read_v3_observations([page], props).set_index("RegioS")
    assert obs.index.tolist() == [f"GM000{i}" for i in range(6)]  # padding stripped
    assert obs.loc["GM0000", "value"] == 12 and obs.loc["GM0000", "status"] is None
    symbols = {"GM0001": ".", "GM0002": "x", "GM0003": "-", "GM0004": "?"}
    for code, symbol in symbols.items():
        assert np.isnan(obs.loc[code, "value"]) and obs.loc[code, "status"] == symbol
    assert obs.loc["GM0005", "value"] == 0 and obs.loc["GM0005", "status"] is None  # a real 0


def test_v3_value_that_is_no_number_and_no_symbol_is_an_error(tmp_path):
    keys = [{"Key": "RegioS", "Type": "GeoDimension"}, {"Key": "Aantal_1", "Type": "Topic"}]
    props = _write(tmp_path / "DataProperties.json", {"value": keys})
    page = _write(tmp_path / "p.json", {"value": [{"RegioS": "GM0001", "Aantal_1": "n/a"}]})
    with pytest.raises(CBSFormatError, match=r"neither numbers nor CBS symbols: \['n/a'\]"):
        read_v3_observations([page], props)


def test_v4_value_attributes_are_missing_with_status(tmp_path):
    base = {"Measure": "M1", "Perioden": "2015JJ00", "StringValue": None}
    rows = [
        {**base, "RegioS": "GM0001", "Value": 5, "ValueAttribute": "None"},
        {**base, "RegioS": "GM0002", "Value": None, "ValueAttribute": "Impossible"},
        {**base, "RegioS": "GM0003", "Value": None, "ValueAttribute": "Confidential"},
        {**base, "RegioS": "GM0004", "Value": None, "ValueAttribute": "None", "StringValue": "x"},
        {**base, "RegioS": "GM0005", "Value": None, "ValueAttribute": "None"},
    ]
    obs = read_observations([_write(tmp_path / "o.json", {"value": rows})]).set_index("RegioS")
    assert obs.loc["GM0001", "value"] == 5 and obs.loc["GM0001", "status"] is None
    expected = {"GM0002": "Impossible", "GM0003": "Confidential", "GM0004": "x", "GM0005": "."}
    for code, status in expected.items():
        assert np.isnan(obs.loc[code, "value"]) and obs.loc[code, "status"] == status
