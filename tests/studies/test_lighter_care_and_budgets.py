"""Notebooks 10 and 11: the forms-of-care and budget studies (analysis.studies)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from analysis.data.build import build_panel
from analysis.data.cbs.exports.reader import read_statline_csv
from analysis.data.rates_and_sizes import MissingBaselineWarning
from analysis.data.synthetic.generator import simulate_panel
from analysis.studies import budgets, lighter_care
from analysis.studies.since2015 import complete_sizes

RAW = ROOT / "data" / "raw" / "statline"


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingBaselineWarning)
        built = build_panel("statline", out_dir=tmp_path_factory.mktemp("processed"))
    return complete_sizes(built.panel)


def test_synthetic_panels_say_why_not():
    synthetic = simulate_panel(1).panel
    assert lighter_care.unavailable(synthetic) == lighter_care.NOT_REAL
    assert budgets.unavailable(synthetic) == budgets.NOT_REAL
    shown = budgets.Budgets(synthetic).finding()
    assert shown.text.startswith("Not estimated on this panel") and "statline" in shown.text
    assert lighter_care.LighterCare(synthetic).show_trends() is None


def test_wilson_interval_matches_its_formula():
    low, high = budgets.wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.27754, abs=1e-4)
    low, high = budgets.wilson(50, 100)
    assert (low, high) == pytest.approx((0.40383, 0.59617), abs=1e-4)


def test_youth_care_overran_budget_by_about_seven_percent_in_2017_2019(panel):
    pooled = budgets.pooled(panel, "youth", (2017, 2019), draws=999)
    # the unscreened figures (``_raw``) against the same ratio straight from the CSV
    unscreened = panel.assign(youth_care_budget=panel["youth_care_budget_raw"],
                              youth_care_cost=panel["youth_care_cost_raw"])
    as_read = budgets.pooled(unscreened, "youth", (2017, 2019), draws=99)
    # the same ratio straight from the CSV (each year's own boundaries, no harmonisation)
    csv = read_statline_csv(RAW / "csv" / "83454NED.csv")
    rows = csv[(csv["period_kind"] == "year") & csv["year"].between(2017, 2019)
               & (csv["BegroteKosten_1"] > 0) & csv["GerealiseerdeKosten_2"].notna()]
    rows = rows[~rows["region"].str.contains(r"inwoners|\(JZ\)|\(AM\)|\(SG\)|\(GA\)|\(ZK\)")]
    direct = 100 * (rows["GerealiseerdeKosten_2"].sum() / rows["BegroteKosten_1"].sum() - 1)
    assert as_read["overrun_pct"] == pytest.approx(direct, abs=0.3)
    assert 6 < pooled["overrun_pct"] < 8.5 and 6 < direct < 8.5
    assert pooled["overrun_pct_low"] < pooled["overrun_pct"] < pooled["overrun_pct_high"]
    assert 0.66 < pooled["share_overspending"] < 0.78  # "two in three" or more overspent
    assert pooled["share_low"] < pooled["share_overspending"] < pooled["share_high"]


def test_the_budget_reading_quotes_the_computed_numbers(panel):
    study = budgets.Budgets(panel, draws=199)
    text = study.finding().text
    youth = study.pooled["youth"]
    assert f"{youth['overrun_pct']:+.1f}%" in text and "not the state's allocation" in text
    # West Maas en Waal 2019: a Wmo budget 280x its realised amount, caught by screening
    cell = panel[(panel["municipality"] == "GM0668") & (panel["year"] == 2019)].iloc[0]
    assert np.isnan(cell["wmo_budget"]) and cell["wmo_budget_status"].startswith("screen:")
    assert study.odd.empty or "West Maas en Waal" not in set(study.odd["name"])
    report = study.report.set_index(["kind", "size_class", "year"])
    n2016 = int(panel.loc[panel["year"] == 2016, "youth_care_budget"].notna().sum())
    assert report.loc[("youth", "all", 2016), "with_budget"] == n2016 >= 15
    assert f"{n2016} units reported a youth-care budget in 2016, " in text


def test_residential_rate_is_the_in_kind_share_times_the_residential_share(panel):
    rates = lighter_care.add_rates(panel)
    single = rates[(rates["n_combined"] == 1) & rates["youth_help_residential_pct"].notna()]
    expected = single["youth_help_in_kind_pct"] * single["youth_help_residential_pct"] / 100
    assert np.allclose(single[lighter_care.RESIDENTIAL_RATE], expected)


def _dose_panel(seed: int, slope: float = -0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units, years = 120, np.arange(2015, 2024)
    unit = np.repeat(np.arange(units), len(years))
    frame = pd.DataFrame({"municipality": [f"GM{i:04d}" for i in unit],
                          "year": np.tile(years, units),
                          "province": [f"PV{i % 12:02d}" for i in unit]})
    frame[lighter_care.DOSE] = rng.normal(1, 0.8, units)[unit]
    frame[lighter_care.RESIDENTIAL_RATE] = (
        rng.normal(1.2, 0.3, units)[unit] + 0.01 * (frame["year"] - 2015)
        + slope * frame[lighter_care.DOSE] * (frame["year"] >= 2016)
        + rng.normal(0, 0.05, len(frame)))
    return frame


def test_the_intensity_slope_is_recovered_and_its_intervals_cover():
    covered = np.zeros(2, dtype=int)
    estimates = []
    for seed in range(20):  # 20 fixed replications: deterministic
        table, _ = lighter_care.intensity_table(_dose_panel(seed),
                                                [lighter_care.RESIDENTIAL_RATE], draws=999)
        row = table.iloc[0]
        covered += [row["ci_low"] < -0.05 < row["ci_high"],
                    row["wild_ci_low"] < -0.05 < row["wild_ci_high"]]
        estimates.append(row["estimate"])
    assert np.mean(estimates) == pytest.approx(-0.05, abs=0.003)
    assert (covered >= 17).all(), covered  # 95% intervals: 19 of 20 here


def test_combined_use_sums_to_cbs_national_figure():
    table = lighter_care.combined_use().set_index("year")
    # CBS 82966NED, Nederland 2017: 412,265 young people with care, 364,130 with help only
    assert table.loc[2017, "young_people_with_care"] == pytest.approx(412_265, rel=0.001)
    assert table.loc[2017, "help_only_pct"] == pytest.approx(100 * 364_130 / 412_265, abs=0.1)
    assert (table["edition_gap_pct"] < 0).all()  # the older edition lies below 84134NED


def test_the_lighter_care_reading_quotes_the_computed_numbers(panel):
    study = lighter_care.LighterCare(panel, draws=199)
    text = study.finding().text
    row = study.table.set_index("outcome").loc[lighter_care.RESIDENTIAL_RATE]
    assert f"{row['wild_ci_low']:+.3f} to {row['wild_ci_high']:+.3f}" in text
    national = study.trends[study.trends["size_class"] == "all"].set_index("year")
    assert f"{national.loc[2023, 'youth_help_in_kind_pct']:.1f}% of under-18s" in text
