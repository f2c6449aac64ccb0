"""Own CSV input a careless or hostile user might give: Dutch numbers and one-line refusals.

Issue 20: in a ``;`` file ``1.500`` became 1.5 and ``11.350`` 11.35 with exit 0; ``inf``
and ``1e309`` were stored in the panel; a header-only CSV, ``--rename x=year`` and
``--roles /dev/zero`` gave tracebacks (or grew memory); a malformed ``--history`` said
"month must be in 1..12" without naming the file; a numerator above its denominator
and a duplicate header passed silently; ``--baseline-year 1990`` left every size class
missing with exit 0.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import ROOT

from analysis.cli import main
from analysis.data.owndata.panel import OwnDataError, panel_from_frame, read_own_csv

EXAMPLE = ROOT / "data" / "examples" / "own_data.csv"
HISTORY = ROOT / "data" / "raw" / "statline" / "03759ned" / "codes-RegioS.json"
DENSITY = "bijstand_density=rate:bijstand_recipients/population_15plus*1000"
DUTCH = (  # the example's figures as a Dutch export writes them (Bron: CBS)
    "municipality;year;bijstand_recipients;population_15plus\n"
    "Groningen;2017;11.470;178.650\nHaren;2017;300;16.420\n"
    "Ten Boer;2017;110;5.990\nGM1680;2017;430;21.870\n"
)


def _csv(tmp_path, text: str, name: str = "own.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _build(tmp_path, capsys, *args: str) -> tuple[int, list[str]]:
    argv = ["build", "--source", "csv", "--boundary-year", "2019",
            "--out-dir", str(tmp_path / "out"), *args]  # fmt: skip
    status = main(argv)
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.startswith(("error", "Trace"))]


def _panel(path, **kwargs) -> pd.DataFrame:
    return panel_from_frame(read_own_csv(path), 2019, history=HISTORY, **kwargs)


# ------------------------------------------------------------------ Dutch numbers


def test_an_ambiguous_dutch_file_is_refused_naming_the_column(tmp_path, capsys):
    status, errors = _build(tmp_path, capsys, "--input", str(_csv(tmp_path, DUTCH)))
    assert status == 2 and len(errors) == 1
    assert "column 'bijstand_recipients' is ambiguous: '11.470' is 11470 with a" in errors[0]
    assert "pass --decimal comma or --decimal point" in errors[0]
    assert not (tmp_path / "out" / "panel_csv_2019.parquet").exists()


def test_decimal_comma_reads_thousands_separators_and_totals_are_kept(tmp_path, capsys):
    path = _csv(tmp_path, DUTCH)
    status, _ = _build(tmp_path, capsys, "--input", str(path), "--decimal", "comma")
    assert status == 0
    panel = pd.read_parquet(tmp_path / "out" / "panel_csv_2019.parquet")
    assert panel["bijstand_recipients"].sum() == 11_470 + 300 + 110 + 430
    assert panel["population_15plus"].sum() == 178_650 + 16_420 + 5_990 + 21_870
    sidecar = json.loads((tmp_path / "out" / "panel_csv_2019.json").read_text())
    assert sidecar["decimal"] == "comma"


def test_the_convention_is_detected_from_the_file(tmp_path):
    # one decimal comma elsewhere in the file settles it: 1.500 is fifteen hundred
    text = DUTCH.replace("population_15plus\n", "population_15plus;share\n")
    text = "\n".join(line + (";12,5" if k else "") for k, line in enumerate(text.splitlines()))
    panel = _panel(_csv(tmp_path, text + "\n"), roles={"share": "drop"})
    assert panel["bijstand_recipients"].sum() == 12_310
    # and 1.234.567 can only be thousands
    big = DUTCH.replace("11.470;178.650", "1.234.567;2.178.650")
    panel = _panel(_csv(tmp_path, big, "big.csv"))
    assert panel["population_15plus"].max() == 2_178_650 + 16_420 + 5_990


def test_decimal_points_in_a_semicolon_file_are_read_as_points(tmp_path):
    text = "municipality;year;clients\nGM0014;2019;64.5\nGM0034;2019;3.25\n"
    panel = _panel(_csv(tmp_path, text), roles={"clients": "count"})
    assert sorted(panel["clients"]) == [3.25, 64.5]


def test_a_file_mixing_both_conventions_is_refused(tmp_path):
    text = "municipality;year;a;b\nGM0014;2019;12,5;64.25\nGM0034;2019;3;4\n"
    with pytest.raises(OwnDataError, match=r"columns 'b' and 'a' mix a decimal point \('64.25'\)"):
        _panel(_csv(tmp_path, text), roles={"a": "count", "b": "count"})


def test_a_comma_file_keeps_decimal_points_and_refuses_ambiguity(tmp_path):
    text = "municipality,year,clients\nGM0014,2019,1.500\nGM0034,2019,2.25\n"
    panel = _panel(_csv(tmp_path, text), roles={"clients": "count"})
    assert sorted(panel["clients"]) == [1.5, 2.25]
    text = "municipality,year,clients\nGM0014,2019,1.500\nGM0034,2019,2\n"
    with pytest.raises(OwnDataError, match="column 'clients' is ambiguous: '1.500' is 1500"):
        _panel(_csv(tmp_path, text, "b.csv"), roles={"clients": "count"})


# ------------------------------------------------------------------ one-line refusals


@pytest.mark.parametrize("value", ["inf", "-inf", "1e309", "Infinity", "nan"])
def test_values_that_are_not_finite_are_refused(value, tmp_path):
    text = f"municipality,year,clients\nGM0014,2019,{value}\nGM0034,2019,2\n"
    with pytest.raises(OwnDataError, match=r"column 'clients' holds values that are not finite"):
        _panel(_csv(tmp_path, text), roles={"clients": "count"})


def test_infinite_numbers_in_a_frame_are_refused():
    frame = pd.DataFrame({"municipality": ["GM0014"], "year": [2019], "clients": [float("inf")]})
    with pytest.raises(OwnDataError, match="GM0014 in 2019"):
        panel_from_frame(frame, 2019, roles={"clients": "count"}, history=HISTORY)


def test_a_header_only_csv_is_one_line(tmp_path, capsys):
    path = _csv(tmp_path, EXAMPLE.read_text().splitlines()[0] + "\n")
    status, errors = _build(tmp_path, capsys, "--input", str(path), "--role", DENSITY)
    assert status == 2
    assert errors == [f"error: {path}: no data rows (only a header); nothing to build"]


@pytest.mark.parametrize(("rename", "message"), [
    ("x=year", "--rename x=year: no column 'x' in the input"),
    ("bijstand_recipients=year", "--rename gives column(s) 'year' a name another column has"),
])  # fmt: skip
def test_a_bad_rename_is_one_line(rename, message, tmp_path, capsys):
    args = ["--input", str(EXAMPLE), "--role", DENSITY, "--rename", rename]
    status, errors = _build(tmp_path, capsys, *args)
    assert status == 2 and len(errors) == 1 and message in errors[0], errors


@pytest.mark.timeout(30)
def test_a_roles_file_that_is_not_a_file_is_one_line(tmp_path, capsys):
    status, errors = _build(tmp_path, capsys, "--input", str(EXAMPLE), "--roles", "/dev/zero")
    assert status == 2 and errors == ["error: /dev/zero: the roles file is not a regular file"]
    big = tmp_path / "roles.txt"
    big.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    status, errors = _build(tmp_path, capsys, "--input", str(EXAMPLE), "--roles", str(big))
    assert status == 2 and "too large for a roles file" in errors[0]


def test_a_malformed_history_names_the_file(tmp_path, capsys):
    history = json.loads(HISTORY.read_text(encoding="utf-8"))
    for entry in history["value"]:
        text = entry.get("Description") or ""
        if entry["Identifier"].startswith("GM") and re.search(r"per \d\d-\d\d-\d{4}", text):
            entry["Description"] = re.sub(r"per (\d\d)-\d\d-", r"per \1-13-", text, count=1)
            break
    path = tmp_path / "codes-RegioS.json"
    path.write_text(json.dumps(history), encoding="utf-8")
    status, errors = _build(tmp_path, capsys, "--input", str(EXAMPLE), "--role", DENSITY,
                            "--history", str(path))  # fmt: skip
    assert status == 2 and errors == [
        f"error: {path}: not a CBS boundary history (codes-RegioS.json): month must be in 1..12"
    ]


def test_a_numerator_above_its_denominator_is_refused(tmp_path):
    text = "municipality,year,bijstand_recipients,population_15plus\nGM0014,2019,500,100\n"
    with pytest.raises(OwnDataError, match=r"bijstand_recipients \(500\) is above its denominator "
                       r"population_15plus \(100\) for GM0014 in 2019"):  # fmt: skip
        _panel(_csv(tmp_path, text))
    # declared as an amount, not a count of the same people, it is taken as given
    roles = {"bijstand_recipients": "total"}
    assert _panel(_csv(tmp_path, text, "b.csv"), roles=roles)["bijstand_recipients"].sum() == 500


def test_a_duplicate_header_is_refused(tmp_path, capsys):
    path = _csv(tmp_path, "municipality,year,x,x\nGM0014,2019,1,2\n")
    status, errors = _build(tmp_path, capsys, "--input", str(path), "--role", "*=drop")
    assert status == 2 and errors == [
        f"error: {path}: column(s) 'x' appear more than once in the header; give each "
        "column its own name"
    ]


def test_a_baseline_year_outside_the_data_is_refused(tmp_path, capsys):
    args = ["--input", str(EXAMPLE), "--role", DENSITY, "--baseline-year", "1990"]
    status, errors = _build(tmp_path, capsys, *args)
    assert status == 2 and errors == [
        "error: --baseline-year 1990 is not a year of the data (2015, 2016, 2017): size "
        "classes are fixed in that year"
    ]
