"""The real StatLine panel built from the vendored files (``data/raw/statline``).

Checked against the CSV cells themselves: counts per year, national totals through the
harmonisation, editions where they overlap, missing cells that stay missing, derived
populations against 03759ned, and CBS's own size-class rows as an oracle.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SHARED

from analysis.data import schema
from analysis.data.build import build_panel, verify_manifest
from analysis.data.cbs.exports.names import match_municipalities
from analysis.data.cbs.exports.reader import EMPTY, read_statline_csv
from analysis.data.rates_and_sizes import MissingBaselineWarning

RAW = ROOT / "data" / "raw" / "statline"
OFFICIAL = {2011: 418, 2012: 415, 2013: 408, 2014: 403, 2015: 393, 2016: 390, 2017: 388,
            2018: 380, 2019: 355, 2020: 355, 2021: 352, 2022: 345, 2023: 342}  # fmt: skip
COUNTS = ["youth_care_users", "youth_care_users_pre2015", "awbz_youth_indications",
          "wmo_clients", "bijstand_recipients", "youth_care_cost", "wmo_spending",
          "population", "youth_population", "population_15plus"]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingBaselineWarning)
        return build_panel("statline", out_dir=tmp_path_factory.mktemp("processed"))


@pytest.fixture(scope="module")
def raw(built):
    return built.unharmonised


def cell(frame, code, year, column):
    hit = frame[(frame["municipality"] == code) & (frame["year"] == year)]
    assert len(hit) == 1, (code, year)
    return hit.iloc[0][column]


def test_vendored_files_match_their_manifest():
    manifest = verify_manifest(RAW)
    assert manifest["licence"] == "CC BY 4.0" and manifest["attribution"] == "Bron: CBS"
    assert sum(name.startswith("csv/") for name in manifest["files"]) == 19
    for name, entry in manifest["files"].items():
        assert entry["source"] and entry["rows"] > 0 and entry["vendored_at"], name


def test_vendored_files_are_the_shared_bundle_byte_for_byte():
    shared = SHARED / "cbs"
    if not shared.is_dir():
        pytest.skip(f"{shared} is absent (only beside the repo)")
    for path in sorted((RAW / "csv").glob("*.csv")):
        assert path.read_bytes() == (shared / "statline-csv" / path.name).read_bytes()
    for path in sorted((RAW / "03759ned").iterdir()):
        assert path.read_bytes() == (shared / "v4" / "03759ned" / path.name).read_bytes()


@pytest.mark.parametrize(("year", "count"), OFFICIAL.items())
def test_one_row_per_municipality_of_each_year(raw, year, count):
    rows = raw[raw["year"] == year]
    assert len(rows) == count
    assert rows["municipality"].is_unique


def test_harmonised_panel_is_342_by_13_with_2015_baseline(built):
    panel = built.panel
    assert panel["municipality"].nunique() == 342 and len(panel) == 342 * 13
    assert built.metadata["baseline_year"] == 2015
    assert built.metadata["label"].startswith("REAL CBS DATA")
    assert not built.metadata["synthetic"]


@pytest.fixture(scope="module")
def crosswalks(raw):
    """The crosswalk of each year onto 2023, as the harmonisation builds it."""
    from analysis.data.build import load_raw_panel

    _, history, _ = load_raw_panel("statline")
    walks = {}
    for year, rows in raw.groupby("year"):
        known = rows.dropna(subset=["population"])
        population = dict(zip(known["municipality"], known["population"], strict=True)) or None
        walks[int(year)] = history.crosswalk(int(year), 2023, population=population)
    return walks


@pytest.mark.parametrize("column", COUNTS)
def test_harmonised_national_totals_equal_the_municipal_rows(built, raw, crosswalks, column):
    # Each year's rows are spread over 2023's units with weights summing to 1 per source
    # code, so the harmonised national total is the sum of the municipal rows, except for
    # the rows of units left missing because another of their parts is missing.
    panel = built.panel
    for year, walk in crosswalks.items():
        source = raw.loc[raw["year"] == year].set_index("municipality")[column]
        target = panel.loc[panel["year"] == year].set_index("municipality")[column]
        complete = walk[walk["to_code"].map(target).notna()]
        expected = (complete["from_code"].map(source).astype(float) * complete["weight"]).sum()
        assert np.isclose(target.sum(), expected, rtol=1e-9), (column, year)
        if source.notna().all():  # nothing missing: nothing lost
            assert np.isclose(target.sum(), source.sum(), rtol=1e-9), (column, year)


def test_youth_care_totals_are_the_national_figures(raw):
    totals = raw.groupby("year")["youth_care_users"].sum()
    # the sums of the municipal rows in 84134NED / 85099NED (CBS rounds each to 5)
    assert totals[2015] == 380095 and totals[2020] == 435680 and totals[2023] == 489905


def test_every_derived_population_is_checked_against_03759ned(built):
    routes = built.metadata["statline"]["population_routes"]
    checks = routes["check_against_03759ned_2019_2023"]
    for name in ("wmo_spending_realised", "wmo_spending_budgeted", "wmo_clients"):
        check = checks[name]
        assert check["municipality_years"] >= 600, name
        assert abs(check["median_relative_error"]) < 0.001, name
        assert check["q01_relative_error"] > -0.015 and check["q99_relative_error"] < 0.015
        assert check["share_within_rounding"] > 0.97, name
    # the youth care cost rates use another reference population: biased by about +0.2 %
    assert 0.001 < checks["youth_care_cost_realised"]["median_relative_error"] < 0.003
    # against the district maps (1 January 2015 and 2018): Wmo spending (2018) agrees,
    # the 2015 Wmo-client rates do not (the reason the maps replace them)
    maps = routes["check_against_district_maps_2015_2018"]
    assert maps["wmo_spending_realised"]["municipality_years"] >= 360
    assert abs(maps["wmo_spending_realised"]["median_relative_error"]) < 0.001
    assert maps["wmo_spending_realised"]["max_abs_relative_error"] < 0.02
    assert maps["wmo_clients"]["max_abs_relative_error"] > 0.3


def test_population_route_of_every_row(raw):
    measured = raw[raw["year"] >= 2019]
    assert measured["population"].notna().all()
    assert (measured["population_route"] == "03759ned_M000352").all()
    # 2015: every municipality from the CBS district map (1 January 2015), CBS's total
    first = raw[raw["year"] == 2015]
    assert (first["population_route"] == "district_map_2015_AANT_INW").all()
    assert len(first) == 393 and first["population"].sum() == 16_900_726
    # 2018: every municipality from the district map 2018, CBS's total of 1 January 2018
    map_2018 = raw[raw["year"] == 2018]
    assert (map_2018["population_route"] == "district_map_2018_AANT_INW").all()
    assert len(map_2018) == 380 and map_2018["population"].sum() == 17_181_084
    derived = raw[raw["year"].between(2016, 2017)]
    assert (derived["population"].notna() == derived["population_route"].notna()).all()
    assert derived.loc[derived["population"].isna(), "population_status"].notna().all()
    before = raw[raw["year"] < 2015]
    assert before["population"].isna().all() and before["population_route"].isna().all()
    per_year = derived.groupby("year")["population"].count()
    assert per_year[2017] >= 360 and per_year[2016] >= 300


def test_derived_population_is_close_to_the_next_measured_year(raw):
    # the 2018 district map against 03759ned's 2019 on unchanged codes: within a few %
    pivot = raw.pivot(index="municipality", columns="year", values="population")
    both = pivot[[2018, 2019]].dropna()
    change = both[2019] / both[2018] - 1
    assert len(both) > 300
    assert change.abs().quantile(0.95) < 0.03, change.sort_values().tail()


def test_amsterdam_2019_population_is_the_03759ned_figure(raw):
    observations = json.loads((RAW / "03759ned" / "observations-page-1.json").read_text())
    value = next(
        o["Value"] for o in observations["value"]
        if o["RegioS"] == "GM0363" and o["Perioden"] == "2019JJ00" and o["Measure"] == "M000352"
    )  # fmt: skip
    assert cell(raw, "GM0363", 2019, "population") == value


def test_youth_population_is_ages_0_to_22(raw):
    # CBS's relative youth care figure is "% bepaalde leeftijdsklasse": young people under
    # 23. Aged 0-22 they are about 25 % of the population; aged 0-17 it would be about 19 %.
    y2019 = raw[raw["year"] == 2019].dropna(subset=["youth_population", "population"])
    share = y2019["youth_population"].sum() / y2019["population"].sum()
    assert 0.24 < share < 0.27
    assert y2019["youth_population"].le(y2019["population"]).all()


# ------------------------------------------------------------------ missing stays missing


def test_empty_cells_stay_missing_with_a_status_before_and_after_harmonising(built, raw):
    # 83454NED "JZ Totaal jeugdzorg;Aa en Hunze;2015;;;;" (no cost figures)
    assert np.isnan(cell(raw, "GM1680", 2015, "youth_care_cost"))
    assert cell(raw, "GM1680", 2015, "youth_care_cost_status") == EMPTY
    assert np.isnan(cell(built.panel, "GM1680", 2015, "youth_care_cost"))
    assert cell(built.panel, "GM1680", 2015, "youth_care_cost_status") == EMPTY
    # 83262NED "...;Bergen (L.);2017;;" (no Wmo figure); Bergen (L.) is GM0893
    assert np.isnan(cell(raw, "GM0893", 2017, "wmo_clients"))
    assert np.isnan(cell(built.panel, "GM0893", 2017, "wmo_clients"))
    assert cell(built.panel, "GM0893", 2017, "wmo_clients_status") == EMPTY
    # the filled neighbour is read as it is written ("Bergen (NH.);2017;1750.0;59.0")
    assert cell(raw, "GM0373", 2017, "wmo_clients") == 1750.0


def test_a_merger_with_one_missing_part_is_missing(built, raw):
    # De Fryske Marren (GM1940) 2015 is De Friese Meren (GM1921), which reported no Wmo
    assert np.isnan(cell(raw, "GM1921", 2015, "wmo_clients"))
    assert np.isnan(cell(built.panel, "GM1940", 2015, "wmo_clients"))
    # a merged unit is missing when any part is, even when the others reported
    panel = built.panel
    partial = panel[panel["incomplete_columns"].str.contains("wmo_clients")]
    assert len(partial) > 0 and partial["wmo_clients"].isna().all()


def test_no_count_becomes_zero(raw):
    # the number of empty cells in the CSV equals the number of missing values in the panel
    table = read_statline_csv(RAW / "csv" / "83454NED.csv")
    table = table[table["period_kind"] == "year"].reset_index(drop=True)
    matched = match_municipalities(table["region"], table["year"], build_history())
    cost = table["GerealiseerdeKosten_2"]
    # rows under a municipality's other name (renamed mid-year) are empty duplicates
    placed = matched["code"].notna() & ~((matched["how"] == "renamed") & cost.isna())
    # the raw values as read (kept beside the screened column, analysis.data.screening)
    in_panel = raw.loc[raw["year"] >= 2015, "youth_care_cost_raw"]
    assert placed.sum() == len(in_panel)
    assert in_panel.isna().sum() == cost[placed].isna().sum() > 0
    assert (in_panel == 0).sum() == (cost[placed] == 0).sum()
    # screening adds missing cells only where it flagged one, each with its screen: code
    screened = raw.loc[raw["year"] >= 2015]
    added = screened["youth_care_cost"].isna() & in_panel.notna()
    assert added.sum() > 0
    assert screened.loc[added, "youth_care_cost_status"].str.startswith("screen:").all()


def build_history():
    from analysis.data.boundaries import load_boundary_history

    return load_boundary_history(RAW / "03759ned" / "codes-RegioS.json")


def test_years_without_a_table_say_so(raw):
    assert raw.loc[raw["year"] == 2018, "bijstand_recipients"].isna().all()
    status = raw.loc[raw["year"] == 2018, "bijstand_recipients_status"].unique()
    assert status.tolist() == ["no vendored StatLine table covers this year"]
    assert raw.loc[raw["year"] < 2015, "youth_care_users"].isna().all()
    assert raw.loc[raw["year"] >= 2015, "youth_care_users_pre2015"].isna().all()


# ------------------------------------------------------------------ editions and seams


def seam(built, column, first, second):
    found = [s for s in built.metadata["seams"] if s["column"] == column
             and s["from_table"] == first and s["to_table"] == second]  # fmt: skip
    assert len(found) >= 1, (column, first, second)
    return found


def test_wmo_editions_used_agree_exactly_where_they_overlap(built):
    overlap = [s for s in seam(built, "wmo_clients", "83262NED", "84839NED") if "comparison" in s]
    comparison = overlap[0]["comparison"]
    assert [r["year"] for r in comparison] == [2019, 2020]
    assert all(r["equal"] == 1.0 and r["municipalities"] == 325 for r in comparison)


def test_revised_wmo_edition_is_compared_not_mixed_in(built):
    revised = [s for s in seam(built, "wmo_clients", "83262NED", "86050NED") if "comparison" in s]
    assert not revised[0]["used_in_panel"]
    by_year = {r["year"]: r for r in revised[0]["comparison"]}
    assert by_year[2018]["total_difference"] == pytest.approx(-0.0286, abs=0.002)
    assert by_year[2018]["equal"] < 0.1


def test_stitched_editions_switch_where_recorded(built, raw):
    youth = seam(built, "youth_care_users", "84134NED", "85099NED")[0]
    assert (youth["last_year_before"], youth["first_year_after"]) == (2020, 2021)
    wmo = seam(built, "wmo_clients", "83262NED", "84839NED")
    assert any(s.get("first_year_after") == 2021 for s in wmo)
    # the 2021 value comes from 84839NED ("Aa en Hunze;2021" there)
    table = read_statline_csv(RAW / "csv" / "84839NED.csv")
    row = table[(table["region"] == "Aa en Hunze") & (table["Perioden"] == "2021")]
    assert cell(raw, "GM1680", 2021, "wmo_clients") == row["WmoClienten_1"].item()


def test_sidecar_records_what_could_not_be_placed(built):
    extra = built.metadata["statline"]
    assert extra["n_regional_aggregates_left_out"] == sum(
        len(v) for v in extra["regional_aggregates_left_out"].values()
    )
    # (JZ), (AM), (SG), (GA), (ZK); the forms tables 82972NED/85098NED add 42 (JZ) and 6 size
    # classes each
    assert extra["n_regional_aggregates_left_out"] == 426
    assert "Twente (JZ)" in extra["regional_aggregates_left_out"]["84134NED"]
    # a half-year figure never becomes a yearly one: 83262NED "Aa en Hunze" style rows
    # with half-years but an empty year row stay missing, and are counted
    half = extra["half_year_figures_without_year_figure_left_missing"]
    assert half["wmo_clients (83262NED)"]["2015"] == 37
    assert extra["names_checked_against_printed_gm_codes"]["84751NED"] == 294
    assert extra["figures_outside_lifetime_left_out"][0]["name"] == "Vijfheerenlanden"
    # 2016 lacks a derived population for a giver of a boundary correction, so its
    # crosswalk ignores corrections (recorded); 2015 (district map) and later years do not
    assert {str(y) for y in extra["crosswalk_without_population"]} == {"2016"}
    written = json.loads(built.path.with_suffix(".json").read_text())
    assert written["statline"]["baseline_year"] == 2015


# ------------------------------------------------------------------ CBS's size classes


SIZE_ROWS = {
    "Minder dan 20 000 inwoners": (0, 20_000),
    "20 000 tot 50 000 inwoners": (20_000, 50_000),
    "50 000 tot 100 000 inwoners": (50_000, 100_000),
    "100 000 tot 150 000 inwoners": (100_000, 150_000),
    "150 000 tot 250 000 inwoners": (150_000, 250_000),
    "250 000 inwoners of meer": (250_000, np.inf),
}


@pytest.mark.parametrize(("table", "year"), [("82972NED", 2019), ("85098NED", 2021),
                                             ("85098NED", 2023)])  # fmt: skip
def test_size_classes_reproduce_cbs_own_size_class_rows(raw, table, year):
    # CBS publishes the % of young people with youth care in kind per municipal size class.
    # Classifying municipalities by their 1 January population and weighting their % by
    # young people must reproduce CBS's rows: a check of the size classes on real data.
    frame = read_statline_csv(RAW / "csv" / f"{table}.csv")
    frame = frame[(frame["period_kind"] == "year") & (frame["year"] == year)]
    topic = "JongerenMetJeugdhulpInNatura_1"
    official = frame[frame["region"].isin(SIZE_ROWS)].set_index("region")[topic]
    matched = match_municipalities(frame["region"], frame["year"], build_history())
    rows = frame.assign(municipality=matched["code"]).dropna(subset=["municipality"])
    rows = rows.merge(raw[raw["year"] == year][["municipality", "population", "youth_population"]])
    rows = rows.dropna(subset=[topic, "youth_population"])
    for label, (low, high) in SIZE_ROWS.items():
        group = rows[(rows["population"] >= low) & (rows["population"] < high)]
        ours = np.average(group[topic], weights=group["youth_population"])
        # within 0.25 point: the weights are the derived 0-22 population (rounded inputs)
        assert ours == pytest.approx(official[label], abs=0.25), (label, ours, official[label])


# ------------------------------------------------------------------ fresh clone


def test_cli_builds_from_a_copy_of_data_without_shared(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(RAW, data / "raw" / "statline")
    shutil.copytree(RAW.parent / "district_map", data / "raw" / "district_map")
    env = {"DECENTRALISATION_DATA": str(data), "OPENBLAS_NUM_THREADS": "1", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "build", "--source", "statline",
         "--boundary-year", "2023"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "342 municipalities x 13 years" in proc.stdout
    assert "regional aggregates" in proc.stdout
    panel = pd.read_parquet(data / "processed" / "panel_statline_2023.parquet")
    assert panel[schema.MUNICIPALITY].nunique() == 342


def test_a_changed_vendored_file_is_refused(tmp_path):
    raw = tmp_path / "statline"
    shutil.copytree(RAW, raw)
    path = raw / "csv" / "84134NED.csv"
    path.write_bytes(path.read_bytes().replace(b"550.0", b"551.0", 1))
    with pytest.raises(ValueError, match="84134NED.csv does not match its manifest sha256"):
        build_panel("statline", raw_dir=raw, out_dir=tmp_path / "out")


def test_boundary_years_before_2015_are_refused_with_the_reason(tmp_path):
    # mapping 2015+ codes back onto 2012 needs populations the bundle does not have
    with pytest.raises(ValueError, match="choose --boundary-year 2015 or later"):
        build_panel("statline", boundary_year=2012, baseline_year=2015, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_read_panel_reuses_a_current_build_and_rebuilds_a_stale_one(built):
    from analysis.data.build import read_panel

    out_dir = built.path.parent
    sidecar = built.path.with_suffix(".json")
    stamp = built.path.stat().st_mtime_ns
    panel = read_panel("statline", 2023, out_dir=out_dir)
    assert built.path.stat().st_mtime_ns == stamp  # current: read, not rebuilt
    assert panel.attrs["label"].startswith("REAL CBS DATA") and not panel.attrs["synthetic"]
    meta = json.loads(sidecar.read_text())
    meta["raw_files_sha256"]["csv/84134NED.csv"] = "0" * 64  # as if the raw file changed
    sidecar.write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingBaselineWarning)
        read_panel("statline", 2023, out_dir=out_dir)
    assert built.path.stat().st_mtime_ns != stamp
