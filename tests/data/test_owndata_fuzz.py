"""A fuzz of the own-CSV import: every file is refused in one line, or its totals are kept.

Hypothesis writes CSV files with random column names, separator, encoding, number
formatting (decimal point or comma, thousands separators or not), CBS signs and
municipality labels (GM codes and CBS names, some merged on 1 January 2019), reads
them with :func:`read_own_csv` and harmonises them onto the 2019 boundaries. Each must
end in a ``ValueError`` with a one-line message (what the command line prints), or in a
panel whose total of every complete column equals the input's total. Bounded: 80
examples, under 30 s.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analysis.data.boundaries import load_boundary_history
from analysis.data.owndata.panel import panel_from_frame, read_own_csv

HISTORY = ROOT / "data" / "raw" / "statline" / "03759ned" / "codes-RegioS.json"
# (label, year) on its own year's boundaries, in groups that form whole 2019 units:
# Groningen, Haren and Ten Boer merged into GM0014 on 1 January 2019 (a unit missing a
# part is incomplete, its figure missing, by design)
GROUPS = [
    [("Groningen", 2017), ("Haren", 2017), ("Ten Boer", 2017)], [("GM1680", 2017)],
    [("GM0014", 2019)], [("Amsterdam", 2019)], [("GM0034", 2019)],
    [("Súdwest-Fryslân", 2019)], [("Bergen (NH.)", 2018)],
]  # fmt: skip
NAME_CHARS = st.characters(codec="utf-8", categories=("L", "N", "Zs", "P", "S"),
                           exclude_characters="\r\n\x00")  # fmt: skip


@pytest.fixture(scope="module")
def history():
    return load_boundary_history(HISTORY)


def _format(value: float, decimals: int, convention: str, grouped: bool) -> str:
    text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
    if convention == "comma":  # 1,234.5 -> 1.234,5
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


@st.composite
def own_files(draw):
    groups = draw(st.lists(st.sampled_from(range(len(GROUPS))), min_size=1, unique=True))
    rows = [row for k in groups for row in GROUPS[k]]
    n_columns = draw(st.integers(1, 3))
    names = draw(st.lists(st.text(NAME_CHARS, min_size=0, max_size=12), min_size=n_columns,
                          max_size=n_columns))  # fmt: skip
    names = [f"v{name}" if draw(st.booleans()) else name for name in names]  # mostly usable
    convention = draw(st.sampled_from(["point", "comma"]))
    grouped = draw(st.booleans())
    decimals = draw(st.sampled_from([0, 0, 1, 2]))
    values = {
        name: [draw(st.integers(0, 3_000_000)) / 10**decimals for _ in rows] for name in names
    }
    signs = {name: [draw(st.sampled_from(["", "", "", "", "", "."])) for _ in rows]
             for name in names}  # fmt: skip
    separator = draw(st.sampled_from([",", ";"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    writer.writerow(["municipality", "year", *names])
    for k, (label, year) in enumerate(rows):
        cells = [signs[n][k] or _format(values[n][k], decimals, convention, grouped)
                 for n in names]  # fmt: skip
        writer.writerow([label, year, *cells])
    decimal = draw(st.sampled_from(["auto", convention]))
    return buffer.getvalue(), encoding, decimal, values, signs


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=own_files())
def test_own_csv_is_refused_in_one_line_or_keeps_its_totals(case, history, tmp_path):
    text, encoding, decimal, values, signs = case
    path = tmp_path / "fuzz.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8"))  # cp1252 cannot hold every name
    try:
        frame = read_own_csv(path)
        panel = panel_from_frame(frame, 2019, roles={"*": "count"}, history=history,
                                 decimal=decimal)  # fmt: skip
    except ValueError as exc:  # what `build` prints as its one error line
        message = str(exc)
        assert message and "\n" not in message.strip(), repr(message)
        assert "Traceback" not in message
        event(f"refused: {type(exc).__name__}")
        return
    event("panel")
    for name, numbers in values.items():
        column = name.strip()
        assert column in panel.columns, (column, list(panel.columns))
        if any(signs[name]):
            assert panel[column].isna().any()  # a CBS sign stays missing, never 0
            continue
        assert np.isclose(panel[column].sum(), sum(numbers), rtol=1e-12, atol=1e-9), column
