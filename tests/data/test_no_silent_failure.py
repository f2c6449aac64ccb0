"""No silent failure: a role for an absent column, a panel built by other code, units
that no supplied row covers."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from conftest import ROOT

import analysis
from analysis.cli import main
from analysis.data.owndata.panel import OwnDataError

EXAMPLE = ROOT / "data" / "examples" / "own_data.csv"


def test_a_role_for_a_column_not_in_the_file_is_an_error(tmp_path, capsys):
    code = main(["build", "--source", "csv", "--input", str(EXAMPLE), "--boundary-year", "2019",
                 "--role", "bijstand_density=rate:bijstand_recipients/population_15plus*1000",
                 "--role", "x=rate:bijstand_recipients/population_15plus*1000",
                 "--out-dir", str(tmp_path)])
    assert code == 2
    assert "role for column(s) ['x'] not in the input" in capsys.readouterr().err
    assert not list(tmp_path.glob("panel_*"))


def test_a_role_for_an_absent_column_is_an_error_in_python_too():
    own = pd.DataFrame({"municipality": ["GM0014"], "year": [2019], "clients": [1]})
    with pytest.raises(OwnDataError, match=r"\['client'\] not in the input"):
        analysis.panel_from_frame(own, 2019, roles={"clients": "count", "client": "count"})


def test_run_rebuilds_a_panel_built_by_other_package_code(tmp_path, capsys):
    argv = ["run", "--source", "synthetic", "--no-report", "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    sidecar = tmp_path / "panel_synthetic_2023.json"
    meta = json.loads(sidecar.read_text())
    assert len(meta["package_sha256"]) == 64
    capsys.readouterr()
    sidecar.write_text(json.dumps(meta | {"package_sha256": "0" * 64}))  # older code
    assert main(argv) == 0
    assert "; built)" in capsys.readouterr().out
    assert json.loads(sidecar.read_text())["package_sha256"] == meta["package_sha256"]


def test_units_that_no_supplied_row_covers_are_left_out_with_a_note():
    own = pd.DataFrame({"municipality": ["Groningen", "Haren", "Ten Boer", "Amsterdam"],
                        "year": [2018] * 4, "clients": [100, 10, 5, 50]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = analysis.panel_from_frame(own, 2019, roles={"clients": "count"})
    assert sorted(panel["municipality"].unique()) == ["GM0014", "GM0363"]
    note = panel.attrs["units_not_supplied"]
    assert note["count"] > 300 and "GM0034" in note["units"]
    assert any("no row of the input covers" in str(w.message) for w in caught)


def test_run_help_and_run_agree_that_own_data_are_built_with_build(capsys):
    from analysis.cli import build_parser

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    assert "csv" not in run.format_help() and "--input" not in run.format_help()
    with pytest.raises(SystemExit) as stop:
        main(["run", "--source", "csv"])
    assert stop.value.code == 2
    assert "own data are built with `build --source csv --input FILE`" in capsys.readouterr().err
