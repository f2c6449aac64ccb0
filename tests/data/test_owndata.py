"""A researcher's own CSV through ``build --source csv``: real exports, rates, bad input.

The real-export tests use the CBS bijstand tables vendored in ``data/raw/statline/csv``
(83450NED, 83747NED, 84066NED: 2015, 2016, 2017; one year per table, no period column)
and the real boundary history ``data/raw/statline/03759ned/codes-RegioS.json``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.cli import main
from analysis.data.cbs.exports.names import is_regional_aggregate
from analysis.data.owndata.panel import OwnDataWarning, panel_from_frame
from analysis.data.roles import RoleError

STATLINE = ROOT / "data" / "raw" / "statline" / "csv"
EXAMPLE = ROOT / "data" / "examples" / "own_data.csv"
TABLES = {  # table -> (year, region column, recipients topic)
    "83450NED": (2015, "RegioS", "Bijstandontvangers_2"),
    "83747NED": (2016, "Regiokenmerken", "Bijstandontvangers_2"),
    "84066NED": (2017, "Regiokenmerken", "Bijstandsontvangers_2"),
}
OVER_15 = "15 jaar of ouder"
OFFICIAL = {2015: 393, 2016: 390, 2017: 388, 2023: 342}  # municipalities on 1 January


def _table(table: str) -> pd.DataFrame:
    frame = pd.read_csv(STATLINE / f"{table}.csv", sep=";", dtype=str, keep_default_na=False)
    return frame.apply(lambda s: s.str.strip())


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The bijstand tables as a tidy CSV (15+, municipalities) and as one StatLine export."""
    folder = tmp_path_factory.mktemp("own")
    tidy, statline = [], []
    for table, (year, region, recipients) in TABLES.items():
        frame = _table(table)
        over_15 = frame[frame["Leeftijd"] == OVER_15]
        municipal = over_15[~over_15[region].map(is_regional_aggregate)]
        tidy.append(
            pd.DataFrame(
                {
                    "municipality": municipal[region],
                    "year": year,
                    "bijstand_recipients": municipal[recipients],
                    "inhabitants_15plus": municipal["Inwoners_1"],
                }
            )
        )
        # every age group and every region, as cbsodata writes an export with periods
        statline.append(
            pd.DataFrame(
                {
                    "ID": frame["ID"],
                    "Leeftijd": frame["Leeftijd"],
                    "RegioS": frame[region],
                    "Perioden": str(year),
                    "Inwoners_1": frame["Inwoners_1"],
                    "Bijstandontvangers_2": frame[recipients],
                }
            )
        )
    tidy = pd.concat(tidy, ignore_index=True)
    tidy.to_csv(folder / "bijstand.csv", index=False)
    pd.concat(statline, ignore_index=True).to_csv(folder / "export.csv", sep=";", index=False)
    return folder, tidy


ROLES = ["--role", "inhabitants_15plus=denominator"]


def _build(argv, out, capsys) -> tuple[int, str, str]:
    status = main(["build", "--source", "csv", *argv, "--out-dir", str(out)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _read(out, year: int) -> tuple[pd.DataFrame, dict]:
    path = out / f"panel_csv_{year}.parquet"
    return pd.read_parquet(path), json.loads(path.with_suffix(".json").read_text())


@pytest.mark.parametrize("boundary_year", [2017, 2023])
def test_real_bijstand_export_harmonised_with_exact_totals(real, boundary_year, tmp_path, capsys):
    folder, tidy = real
    assert tidy.groupby("year").size().to_dict() == {y: OFFICIAL[y] for y in (2015, 2016, 2017)}
    argv = ["--input", str(folder / "bijstand.csv"), "--boundary-year", str(boundary_year)]
    status, out, err = _build(argv + ROLES, tmp_path, capsys)
    assert status == 0, err
    panel, sidecar = _read(tmp_path, boundary_year)
    assert panel.groupby("year")["municipality"].nunique().tolist() == [OFFICIAL[boundary_year]] * 3
    assert f"{OFFICIAL[boundary_year]} municipalities x 3 years" in out
    before = tidy.astype({"bijstand_recipients": float, "inhabitants_15plus": float})
    before = before.groupby("year")[["bijstand_recipients", "inhabitants_15plus"]].sum()
    after = panel.groupby("year")[["bijstand_recipients", "inhabitants_15plus"]].sum()
    # whole-number inputs and weights summing to 1: the totals come back exactly
    np.testing.assert_array_equal(after.to_numpy(), before.to_numpy())
    assert sidecar["crosswalk_weight"] == "inhabitants_15plus"
    assert sidecar["roles"]["bijstand_recipients"] == "count"
    assert sidecar["municipalities_per_year_raw"] == {"2015": 393, "2016": 390, "2017": 388}


def test_real_totals_are_exact_to_the_unit(real, tmp_path, capsys):
    folder, tidy = real
    argv = ["--input", str(folder / "bijstand.csv"), "--boundary-year", "2023"]
    assert _build(argv + ROLES, tmp_path, capsys)[0] == 0
    panel, _ = _read(tmp_path, 2023)
    recipients = tidy.assign(n=tidy["bijstand_recipients"].astype(int)).groupby("year")["n"].sum()
    gap = panel.groupby("year")["bijstand_recipients"].sum() - recipients
    # exact even through the fractional splits (Littenseradiel 2018, Haaren 2021)
    assert (gap == 0).all(), gap


def test_statline_export_form_gives_the_same_panel(real, tmp_path, capsys):
    folder, _ = real
    tidy_out, export_out = tmp_path / "tidy", tmp_path / "export"
    common = ["--boundary-year", "2023", *ROLES]
    assert _build(["--input", str(folder / "bijstand.csv"), *common], tidy_out, capsys)[0] == 0
    export = [
        "--input", str(folder / "export.csv"), "--where", f"Leeftijd={OVER_15}",
        "--rename", "Inwoners_1=inhabitants_15plus",
        "--rename", "Bijstandontvangers_2=bijstand_recipients",
    ]  # fmt: skip
    status, _, err = _build(export + common, export_out, capsys)
    assert status == 0, err
    assert "row(s) left out" in err and "(AM) in 2015: not a municipality" in err
    a, _ = _read(tidy_out, 2023)
    b, sidecar = _read(export_out, 2023)
    statuses = [c for c in b if c.endswith("_status")]  # StatLine says why a cell is empty
    pd.testing.assert_frame_equal(a, b.drop(columns=statuses)[a.columns])
    assert "Leeftijd" in sidecar["columns_left_out"]
    assert any("Gemeenten: 20 000 tot 50 000 inwoners" in r for r in sidecar["rows_left_out"])


# --------------------------------------------------------------------------- rates


def test_rate_without_numerator_and_denominator_is_refused(tmp_path, capsys):
    argv = ["--input", str(EXAMPLE), "--boundary-year", "2019"]
    status, _, err = _build(argv, tmp_path, capsys)
    assert status == 2
    assert (
        err.strip().splitlines()[-1].startswith("error: no role for column(s) 'bijstand_density'")
    )
    assert list(tmp_path.iterdir()) == []


def test_declared_rate_is_the_ratio_of_the_harmonised_sums(tmp_path, capsys):
    rate = "bijstand_density=rate:bijstand_recipients/population_15plus*1000"
    argv = ["--input", str(EXAMPLE), "--boundary-year", "2019", "--role", rate]
    assert _build(argv, tmp_path, capsys)[0] == 0
    panel, sidecar = _read(tmp_path, 2019)
    groningen = panel[panel["municipality"] == "GM0014"].set_index("year")
    assert groningen.loc[2015, "combined_from"] == "GM0009;GM0014;GM0017"  # + Ten Boer, Haren
    assert groningen.loc[2015, "bijstand_recipients"] == 11350 + 290 + 110
    expected = groningen["bijstand_recipients"] / groningen["population_15plus"] * 1000
    np.testing.assert_allclose(groningen["bijstand_density"], expected, rtol=1e-15)
    # not the mean of the published rates 64.0, 18.5 and 18.0 (33.5)
    assert groningen.loc[2015, "bijstand_density"] == pytest.approx(59.1254, abs=1e-4)
    assert sidecar["roles"]["bijstand_density"] == rate.split("=", 1)[1]


def test_rate_parts_must_be_summed_columns():
    frame = pd.read_csv(EXAMPLE)
    with pytest.raises(RoleError, match="rate column 'bijstand_density' needs 'people'"):
        panel_from_frame(frame, 2019, roles={"bijstand_density": "rate:bijstand_recipients/people"})


# --------------------------------------------------------------------------- bad input


def _csv(tmp_path, text: str):
    path = tmp_path / "input.csv"
    path.write_text(text)
    return path


BAD = {
    "duplicate": (
        "municipality,year,bijstand_recipients\nGM1680,2016,1\nAa en Hunze,2016,2\n",
        "duplicate municipality-year: GM1680 in 2016 appears 2 times (as 'Aa en Hunze', 'GM1680')",
    ),
    "unknown name": (
        "municipality,year,bijstand_recipients\nAa en Hunze,2016,1\nAtlantis,2016,2\n",
        "unknown municipality name: 'Atlantis' in 2016",
    ),
    "year outside history": (
        "municipality,year,bijstand_recipients\nGM1680,2031,1\n",
        "year 2031 (GM1680) is outside the boundary history (1838-2025)",
    ),
    "text in numeric column": (
        "municipality,year,bijstand_recipients\nGM1680,2016,1\nGM0363,2016,many\n",
        "text in numeric column 'bijstand_recipients': GM0363 in 2016 ('many')",
    ),
    "decimal point and comma": (  # one decimal comma alone is read (issue 20); both: refused
        "municipality;year;bijstand_recipients\nGM1680;2016;12,5\nGM0363;2016;3.25\n",
        "input.csv: column 'bijstand_recipients' mixes a decimal point ('3.25') and a decimal "
        "comma ('12,5')",
    ),
    "code of another year": (
        "municipality,year,bijstand_recipients\nGM0009,2019,1\n",
        "municipality GM0009 did not exist on 1 January 2019",
    ),
    "dissolved municipality with figures": (
        "municipality,year,bijstand_recipients\nHaren,2020,5\n",
        "municipality 'Haren' did not exist on 1 January 2020 but has figures for it",
    ),
    "year not a number": (
        "municipality,year,bijstand_recipients\nGM1680,2016H1,1\n",
        "column 'year': '2016H1' for GM1680 (data row 1) is not a year",
    ),
    "no municipality column": (
        "gemeente,year,bijstand_recipients\nGM1680,2016,1\n",
        "missing column(s) ['municipality']",
    ),
    "negative count": (
        "municipality,year,bijstand_recipients\nGM1680,2016,-4\n",
        "negative count in column 'bijstand_recipients': GM1680 in 2016 (-4)",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_naming_it_and_exit_2(case, tmp_path, capsys):
    text, message = BAD[case]
    out = tmp_path / "out"
    status, _, err = _build(
        ["--input", str(_csv(tmp_path, text)), "--boundary-year", "2023"], out, capsys
    )
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], lines
    assert len([line for line in lines if line.startswith("error")]) == 1
    assert not out.exists()  # nothing written, not even the folder


def test_cbs_signs_and_empty_fields_become_missing_never_zero():
    frame = pd.DataFrame(
        {
            "municipality": ["GM1680", "GM0363", "GM0344"],
            "year": [2016, 2016, 2016],
            "bijstand_recipients": ["x", "", "12"],
        }
    )
    panel = panel_from_frame(frame, 2016)
    got = panel.set_index("municipality")
    assert np.isnan(got.loc["GM1680", "bijstand_recipients"])
    assert got.loc["GM1680", "bijstand_recipients_status"] == "x"
    assert np.isnan(got.loc["GM0363", "bijstand_recipients"])
    assert got.loc["GM0344", "bijstand_recipients"] == 12


def test_text_column_is_left_out_with_a_warning_naming_it():
    frame = pd.read_csv(EXAMPLE).assign(note="checked by phone")
    with pytest.warns(OwnDataWarning, match="'note' hold text"):
        panel = panel_from_frame(frame, 2019, roles={"bijstand_density": "drop"})
    assert "note" not in panel and "bijstand_density" not in panel
    assert panel.attrs["columns_left_out"]["bijstand_density"] == "declared drop"
    assert panel.attrs["columns_left_out"]["note"].startswith("text")


def test_declared_text_is_kept_and_joined_across_a_merger():
    frame = pd.read_csv(EXAMPLE).assign(source=lambda d: np.where(d.year == 2015, "paper", "web"))
    frame.loc[frame["municipality"] == "Haren", "source"] = "phone"
    panel = panel_from_frame(frame, 2019, roles={"source": "text", "bijstand_density": "drop"})
    got = panel.set_index(["municipality", "year"])["source"]
    assert got[("GM0014", 2015)] == "paper;phone"  # Haren (GM0017) joins Groningen
    assert got[("GM1680", 2016)] == "web"


def test_declared_drop_silences_the_warning():
    frame = pd.read_csv(EXAMPLE).assign(note="checked")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the example covers 4 municipalities: the others are left out with a note
        warnings.filterwarnings("ignore", message=r".*no row of the input covers them")
        panel_from_frame(frame, 2019, roles={"note": "drop", "bijstand_density": "drop"})


def test_python_api_is_exported():
    import analysis

    assert analysis.panel_from_frame is panel_from_frame


def test_built_own_panel_is_read_back_and_never_rebuilt_silently(tmp_path, capsys):
    from analysis.data.build import read_panel

    source = tmp_path / "own.csv"
    source.write_bytes(EXAMPLE.read_bytes())
    rate = "bijstand_density=rate:bijstand_recipients/population_15plus*1000"
    out = tmp_path / "out"
    argv = ["--input", str(source), "--boundary-year", "2019", "--role", rate]
    assert _build(argv, out, capsys)[0] == 0
    panel = read_panel("csv", 2019, out_dir=out)
    assert panel.attrs["source"] == "csv" and len(panel) == 6
    source.write_text(source.read_text().replace("11350", "11351"))  # the input changed
    with pytest.raises(FileNotFoundError,
                       match="or built by other package code: run `python -m analysis"):
        read_panel("csv", 2019, out_dir=out)


def test_run_refuses_own_data_with_a_pointer_to_build(tmp_path, capsys):
    argv = ["run", "--source", "csv", "--input", str(EXAMPLE), "--out-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as stop:  # run does not offer csv (nor --input): argparse
        main(argv)
    assert stop.value.code == 2
    assert "own data are built with `build --source csv --input FILE`" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_vendored_statline_table_is_read_as_cbs_wrote_it(tmp_path, capsys):
    # 83450NED as cbsodata wrote it: no Perioden (one year), three age groups, 17 topics,
    # labour-market regions among the municipalities
    argv = [
        "--input", str(STATLINE / "83450NED.csv"), "--year", "2015",
        "--where", f"Leeftijd={OVER_15}", "--role", "*=drop",
        "--rename", "Inwoners_1=population_15plus",
        "--rename", "Bijstandontvangers_2=bijstand_recipients",
        "--boundary-year", "2015",
    ]  # fmt: skip
    status, out, err = _build(argv, tmp_path, capsys)
    assert status == 0, err
    assert "393 municipalities x 1 years" in out
    assert "35 row(s) left out: Groningen (AM) in 2015: not a municipality" in err
    panel, sidecar = _read(tmp_path, 2015)
    assert panel["bijstand_recipients"].sum() == 496250  # every municipal row, exactly
    assert sidecar["columns_left_out"]["Bijstandsdichtheid_3"] == "declared drop"
    assert "bijstand_per_1000_15plus" in panel  # the schema's rate, from the renamed parts


def test_statline_half_years_are_left_out_with_a_warning_and_signs_stay_missing(tmp_path):
    from analysis.data.owndata.panel import read_own_csv

    path = tmp_path / "export.csv"
    path.write_text(
        "ID;RegioS;Perioden;WmoClienten_1\n"
        "1;Aa en Hunze   ;2016;410.0\n"
        "2;Aa en Hunze   ;1e halfjaar 2016;380.0\n"
        "3;Bergen (NH.);2016;\n"
        "4;Bergen (L.);2016;x\n"
    )
    with pytest.warns(OwnDataWarning, match="1 rows with half-year periods left out"):
        frame = read_own_csv(path)
    panel = panel_from_frame(frame, 2016, roles={"WmoClienten_1": "count"}).set_index(
        "municipality"
    )
    assert panel.loc["GM1680", "WmoClienten_1"] == 410
    assert np.isnan(panel.loc["GM0373", "WmoClienten_1"])  # empty: missing, not 0
    assert np.isnan(panel.loc["GM0893", "WmoClienten_1"])
    assert panel.loc["GM0893", "WmoClienten_1_status"] == "confidential"
