"""Reading cbsodata CSV files, and vendoring them reproducibly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from analysis.data.cbs.exports.reader import (
    EMPTY,
    StatLineFormatError,
    parse_period_label,
    read_statline_csv,
)

RAW = ROOT / "data" / "raw" / "statline"


@pytest.mark.parametrize(
    ("label", "parsed"),
    [
        ("2015", (2015, "year", 0, False)),
        ("1e halfjaar 2015", (2015, "half-year", 1, False)),
        ("2e halfjaar 2023", (2023, "half-year", 2, False)),
        ("1e half jaar 2024", (2024, "half-year", 1, False)),  # as 85099NED writes it
        ("3e kwartaal 2016", (2016, "quarter", 3, False)),
        ("2019 maart", (2019, "month", 3, False)),
        ("2023*", (2023, "year", 0, True)),
    ],
)
def test_period_labels(label, parsed):
    assert parse_period_label(label) == parsed


@pytest.mark.parametrize("label", ["2015 tot 2016", "5e kwartaal 2015", "2019 maand", ""])
def test_unknown_period_label_is_an_error(label):
    with pytest.raises(StatLineFormatError, match="not a StatLine period label"):
        parse_period_label(label)


def test_real_table_empty_cells_are_missing_with_status():
    table = read_statline_csv(RAW / "csv" / "83454NED.csv")
    row = table[(table["region"] == "Aa en Hunze") & (table["Perioden"] == "2015")].iloc[0]
    # "0;JZ Totaal jeugdzorg;Aa en Hunze;1e halfjaar 2015;;;;" ... year row equally empty
    assert np.isnan(row["GerealiseerdeKosten_2"])
    assert row["GerealiseerdeKosten_2_status"] == EMPTY
    filled = table[(table["region"] == "Zederik") & (table["Perioden"] == "2018")].iloc[0]
    assert filled["BegroteKosten_1"] == 1588.0 and filled["GerealiseerdeKosten_2"] == 450.0
    assert filled["GerealiseerdeKosten_2_status"] is None


def test_half_years_and_quarters_are_kept_apart_from_years():
    table = read_statline_csv(RAW / "csv" / "84134NED.csv")
    kinds = table.groupby("period_kind")["Perioden"].unique()
    assert set(kinds["year"]) == {str(y) for y in range(2015, 2021)}
    assert all("halfjaar" in p for p in kinds["half-year"])


def test_table_without_periods_takes_the_year_given():
    table = read_statline_csv(RAW / "csv" / "83450NED.csv", year=2015)
    assert (table["year"] == 2015).all() and (table["period_kind"] == "year").all()
    assert "year" not in read_statline_csv(RAW / "csv" / "83450NED.csv")


def test_padding_is_stripped_and_text_topics_stay_text():
    table = read_statline_csv(RAW / "csv" / "84751NED.csv")
    assert table["Codering_3"].iloc[0] == "GM1680"
    assert table["Gemeentenaam_1"].iloc[0] == "Aa en Hunze"
    assert "Codering_3" in table.attrs["text_topics"]
    assert "WmoClienten_5" in table.attrs["topics"]


def test_cbs_signs_become_missing_and_a_stray_word_is_named(tmp_path):
    path = tmp_path / "99999NED.csv"
    path.write_text(
        "ID;RegioS;Perioden;Aantal_1\n0;Aa en Hunze;2015;.\n1;Aalten;2015;x\n2;Aalten;2016;12.0\n",
        encoding="utf-8",
    )
    table = read_statline_csv(path)
    assert table["Aantal_1"].isna().tolist() == [True, True, False]
    assert table["Aantal_1_status"].tolist()[:2] == ["not available", "confidential"]
    path.write_text("ID;RegioS;Perioden;Aantal_1\n0;Aa en Hunze;2015;1.0\n1;Aalten;2015;12 ,5\n")
    with pytest.raises(StatLineFormatError, match=r"'Aantal_1', data row 2: '12 ,5'"):
        read_statline_csv(path)


def test_file_without_region_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("ID;Perioden;Aantal_1\n0;2015;1\n")
    with pytest.raises(StatLineFormatError, match="x.csv: no region column"):
        read_statline_csv(path)


# ------------------------------------------------------------------ vendoring


def _fake_shared(tmp_path):
    """A ``shared/`` laid out as the real one, rebuilt from the vendored files."""
    manifest = json.loads((RAW / "manifest.json").read_text(encoding="utf-8"))
    shared = tmp_path / "shared" / "cbs"
    shutil.copytree(RAW / "csv", shared / "statline-csv")
    shutil.copytree(RAW / "03759ned", shared / "v4" / "03759ned")
    upstream = {
        e["table"]: {k: e[k] for k in ("what", "source", "source_sha256", "source_rows", "kept")}
        for name, e in manifest["files"].items()
        if name.startswith("csv/")
    }
    (shared / "statline-csv" / "manifest.json").write_text(json.dumps(upstream))
    return shared.parent, manifest


def _vendor(shared, target):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_statline.py"), "--shared", str(shared),
         "--target", str(target)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_vendoring_is_reproducible_and_refuses_to_overwrite(tmp_path):
    shared, committed = _fake_shared(tmp_path)
    target = tmp_path / "statline"
    assert _vendor(shared, target).returncode == 0
    written = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in committed["files"].items():
        assert written["files"][name]["sha256"] == entry["sha256"], name
        assert written["files"][name]["rows"] == entry["rows"], name
    before = (target / "manifest.json").read_bytes()
    assert _vendor(shared, target).returncode == 0  # again: nothing changes
    assert (target / "manifest.json").read_bytes() == before
    changed = target / "csv" / "82354NED.csv"
    changed.write_bytes(changed.read_bytes() + b"\n")
    proc = _vendor(shared, target)
    assert proc.returncode != 0
    assert "82354NED.csv exists and differs" in proc.stderr + proc.stdout
    assert changed.read_bytes().endswith(b"\n\n")  # the differing file was left alone
