"""The build pipeline and the command line on the embedded synthetic default.

Everything is written under ``tmp_path``; the committed ``data/raw/synthetic`` is only read.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from analysis.cli import main
from analysis.data import schema
from analysis.data.boundaries import load_boundary_history
from analysis.data.build import build_panel, read_panel, verify_manifest
from analysis.data.synthetic.generator import DEFAULT_OUTCOMES, DEFAULT_SEED, simulate_panel
from analysis.data.synthetic.raw import write_synthetic_raw

COMMITTED_RAW = ROOT / "data" / "raw" / "synthetic"
COUNTS = [schema.OUTCOMES[o].numerator for o in DEFAULT_OUTCOMES] + [
    schema.POPULATION,
    schema.POPULATION_0_17,
    schema.POPULATION_18_64,
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    return build_panel("synthetic", raw_dir=COMMITTED_RAW, out_dir=out)


def test_committed_default_is_what_the_generator_writes(tmp_path):
    # data/raw is immutable input: the committed files must be exactly the generator's.
    fresh = tmp_path / "synthetic"
    write_synthetic_raw(fresh, seed=DEFAULT_SEED)
    for path in sorted(COMMITTED_RAW.iterdir()):
        assert (fresh / path.name).read_bytes() == path.read_bytes(), path.name
    assert sorted(p.name for p in fresh.iterdir()) == sorted(
        p.name for p in COMMITTED_RAW.iterdir()
    )


def test_committed_default_matches_its_manifest():
    manifest = verify_manifest(COMMITTED_RAW)
    assert manifest["synthetic"] is True
    assert manifest["seed"] == DEFAULT_SEED


def test_build_gives_342_municipalities_by_14_years(built):
    panel = built.panel
    assert panel[schema.MUNICIPALITY].nunique() == 342
    assert sorted(panel[schema.YEAR].unique()) == list(range(2010, 2024))
    assert len(panel) == 342 * 14
    assert not panel.duplicated([schema.MUNICIPALITY, schema.YEAR]).any()
    assert built.metadata["municipalities_per_year_raw"][2010] == 431
    assert built.metadata["municipalities_per_year_raw"][2023] == 342


def test_harmonisation_conserves_national_totals_every_year(built):
    raw = built.unharmonised.groupby(schema.YEAR)[COUNTS].sum(min_count=1)
    harmonised = built.panel.groupby(schema.YEAR)[COUNTS].sum(min_count=1)
    pd.testing.assert_frame_equal(harmonised, raw, check_exact=False, rtol=1e-12)


def test_file_built_panel_equals_the_in_memory_panel_except_split_units(built):
    # The files go through CBS's format, the boundary parser and harmonisation; the
    # in-memory panel does not. They may differ only where harmonisation approximates:
    # where a code was split or lost part of its territory, clients are divided in
    # proportion to inhabitants, not by where each client lived.
    truth = simulate_panel(DEFAULT_SEED).panel.set_index([schema.MUNICIPALITY, schema.YEAR])
    panel = built.panel.set_index([schema.MUNICIPALITY, schema.YEAR]).loc[truth.index]
    relative = (panel[COUNTS] / truth[COUNTS] - 1).abs()
    differs = set(relative.index[(relative > 1e-9).any(axis=1)].get_level_values(0))
    raw_2010 = built.unharmonised[built.unharmonised[schema.YEAR] == 2010]
    population = dict(zip(raw_2010[schema.MUNICIPALITY], raw_2010[schema.POPULATION], strict=True))
    history = load_boundary_history(COMMITTED_RAW / "codes-RegioS.json")
    walk = history.crosswalk(2010, 2023, population=population)
    divided = set(walk.loc[walk["weight"] < 1, "to_code"])
    assert len(divided) == 4, "the synthetic geography has one split and one correction"
    assert differs <= divided, sorted(differs - divided)
    assert relative.max().max() < 0.03


def test_intensity_and_size_classes_are_fixed_per_municipality(built):
    per_unit = built.panel.groupby(schema.MUNICIPALITY)[
        [schema.INTENSITY, schema.SIZE_CLASS]
    ].nunique()
    assert (per_unit <= 1).all().all()
    assert built.panel[schema.INTENSITY].notna().all()


def test_sidecar_and_labels_say_synthetic(built):
    meta = json.loads(built.path.with_suffix(".json").read_text())
    assert meta["synthetic"] is True
    assert "synthetic" in meta["label"].lower()
    again = read_panel("synthetic", out_dir=built.path.parent)
    assert again.attrs["synthetic"] is True
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True),
        pd.read_parquet(built.path).reset_index(drop=True),
    )


def test_cli_run_prints_summary_and_where_it_went(tmp_path, capsys):
    argv = ["run", "--no-report", "--raw-dir", str(COMMITTED_RAW), "--out-dir", str(tmp_path)]
    status = main(argv)
    out = capsys.readouterr().out
    assert status == 0
    assert (tmp_path / "summary_synthetic.md").is_file()
    assert f"summary written to {tmp_path / 'summary_synthetic.md'}" in out
    assert "SYNTHETIC" in out.upper()
    assert "431" in out and "342" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["build", "--boundary-year", "twenty"], "invalid int value"),
        (["build", "--source", "nowhere"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["build", "--boundary-year", "2031"], "--boundary-year 2031 is outside"),
        (["run", "--baseline-year", "1999"], "--baseline-year 1999 is outside"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv, message, tmp_path, capsys):
    status = run_cli(argv + ["--raw-dir", str(COMMITTED_RAW), "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2
    assert len(errors) == 1 and "Traceback" not in err, err
    assert message in errors[0]
    assert list(tmp_path.iterdir()) == []


def run_cli(argv: list[str]) -> int:
    """``main`` as the shell sees it: argparse errors arrive as SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def test_corrupt_raw_file_is_one_line_error_and_nothing_written(tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(COMMITTED_RAW, raw)
    page = raw / "observations-page-2.json"
    page.write_bytes(page.read_bytes()[:-100])  # truncated, so its sha256 no longer matches
    out = tmp_path / "processed"
    status = run_cli(["build", "--raw-dir", str(raw), "--out-dir", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert err[-1].startswith("error:") and "observations-page-2.json" in err[-1]
    assert not out.exists() or list(out.iterdir()) == []


def test_module_entry_point_runs_without_traceback_on_bad_input(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "manifest.json").write_text("{not json")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--raw-dir",
            str(raw),
            "--out-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error:")


def test_run_reuses_an_up_to_date_panel_and_rebuilds_a_stale_one(tmp_path, capsys):
    argv = ["run", "--source", "synthetic", "--no-report", "--out-dir", str(tmp_path)]
    panel = tmp_path / "panel_synthetic_2023.parquet"
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"panel    {panel} (SYNTHETIC data; built)" in out
    written = panel.stat().st_ino, panel.stat().st_mtime_ns  # atomic writes: a new inode
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert (panel.stat().st_ino, panel.stat().st_mtime_ns) == written
    assert "up to date, not rebuilt" in captured.err
    last = captured.out.strip().splitlines()[-4:]
    assert last[0].startswith("done in ") and last[0].endswith(" s:")
    assert last[1:] == [
        f"  panel    {panel} (SYNTHETIC data; up to date, reused)",
        f"  summary  {tmp_path / 'summary_synthetic.md'}",
        "  report   not written (--no-report)",
    ]
    assert main(argv + ["--baseline-year", "2013"]) == 0  # other options: rebuilt
    assert "; built)" in capsys.readouterr().out
    assert json.loads(panel.with_suffix(".json").read_text())["baseline_year"] == 2013
    sidecar = panel.with_suffix(".json")
    stale = json.loads(sidecar.read_text()) | {"baseline_year": 2014, "raw_files_sha256": {}}
    sidecar.write_text(json.dumps(stale))  # built from other raw files: rebuilt
    assert main(argv) == 0
    assert "; built)" in capsys.readouterr().out
    assert json.loads(sidecar.read_text())["raw_files_sha256"] != {}


def test_build_warnings_are_one_plain_line_without_a_source_excerpt(tmp_path, capsys):
    # The real bundle has no 2015 population for 143 municipalities (MissingBaselineWarning).
    assert main(["build", "--source", "statline", "--out-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "no population in baseline year" in line]
    assert said == [line for line in said if line.startswith("warning: 143 municipalities")]
    assert len(said) == 1 and ".py:" not in err and "add_size_classes(" not in err


def test_screening_off_keeps_every_value_and_run_rebuilds_for_another_setting(tmp_path, capsys):
    # `build --screening off` writes no <column>_raw and records the setting in the sidecar;
    # `run` reuses a stored panel only when it was screened the same way.
    argv = ["--source", "synthetic", "--out-dir", str(tmp_path)]
    assert main(["build", *argv, "--screening", "off"]) == 0
    assert "screening: off (every raw value kept)" in capsys.readouterr().out
    panel = tmp_path / "panel_synthetic_2023.parquet"
    sidecar = json.loads(panel.with_suffix(".json").read_text())
    assert sidecar["screening"]["enabled"] is False
    assert not [c for c in pd.read_parquet(panel).columns if c.endswith("_raw")]
    assert main(["run", *argv, "--no-report"]) == 0  # default on: rebuilt, not reused
    assert "; built)" in capsys.readouterr().out
    screened = json.loads(panel.with_suffix(".json").read_text())["screening"]
    assert screened["enabled"] is True and screened["settings"]["jump_factor"] == 2.5
    assert "wmo_clients_raw" in pd.read_parquet(panel).columns
    assert main(["run", *argv, "--no-report"]) == 0
    assert "up to date, reused" in capsys.readouterr().out
    # a notebook's read_panel keeps whatever screening the stored panel has
    assert read_panel("synthetic", 2023, out_dir=tmp_path).attrs["screening"]["enabled"]
