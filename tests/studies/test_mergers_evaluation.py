"""The merger design: the synthetic knob, the cohorts, and recovery of a planted effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data.boundaries import load_boundary_history
from analysis.data.merger_cohorts import merger_cohorts
from analysis.data.synthetic.generator import DEFAULT_SEED, _units, simulate_panel
from analysis.studies.mergers_evaluation import (
    cohort_overview,
    design_data,
    entry_overview,
    estimation_window,
    evaluate_mergers,
    finding_text,
    merger_outcomes,
    merger_panel,
    summary_table,
    unit_cohorts,
)

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC_HISTORY = ROOT / "data" / "raw" / "synthetic" / "codes-RegioS.json"


@pytest.fixture(scope="module")
def history():
    return load_boundary_history(SYNTHETIC_HISTORY)


@pytest.fixture(scope="module")
def cohorts(history):
    return unit_cohorts(history, 2023)


def test_knob_off_is_the_default_panel_and_truth():
    base = simulate_panel(seed=5)
    for off in (None, {}, {"wmo_per_1000": 0.0}):
        again = simulate_panel(seed=5, merger_effect=off)
        pd.testing.assert_frame_equal(again.panel, base.panel)
        # a planted 0 is reported as such; otherwise the truth is the default's
        truth = {k: v for k, v in again.truth.items() if k != "merger"}
        assert truth == base.truth and ("merger" in again.truth) == bool(off)


def test_knob_moves_only_its_outcome_after_the_merger():
    base = simulate_panel(seed=5).panel
    knob = simulate_panel(seed=5, merger_effect={"wmo_per_1000": 3.0})
    panel = knob.panel
    # the random stream is unchanged: every other outcome is identical
    pd.testing.assert_series_equal(panel["youth_care_per_1000"], base["youth_care_per_1000"])
    extra = panel["true_effect__wmo_per_1000"] - base["true_effect__wmo_per_1000"]
    year = pd.Series(_units(DEFAULT_SEED).merger_year, index=_units(DEFAULT_SEED).codes)
    formed = panel["municipality"].map(year)
    expected = np.where((formed > 0) & (panel["year"] >= formed), 3.0, 0.0)
    np.testing.assert_array_equal(extra.to_numpy(), expected)
    assert knob.truth["merger"]["effect"] == {"wmo_per_1000": 3.0}
    assert sum(knob.truth["merger"]["units_by_year"].values()) == int((year > 0).sum())


def test_knob_refuses_an_outcome_it_does_not_draw():
    with pytest.raises(ValueError, match="youth_care_cost_per_inhabitant"):
        simulate_panel(seed=1, merger_effect={"youth_care_cost_per_inhabitant": 1.0})


def test_generator_merger_years_are_the_boundary_history_cohorts(history):
    """The knob plants the effect on the units merger_cohorts finds in the written history."""
    units = _units(DEFAULT_SEED)
    found = merger_cohorts(history, 2023, first_year=2010).set_index("code").loc[units.codes]
    differ = found["cohort"].to_numpy() != units.merger_year
    # only the two receivers of the 2018 split differ: they took in part of a neighbour
    assert differ.sum() == 2
    assert (found.loc[differ, "kind"] == "absorbed").all()
    assert (found.loc[differ, "cohort"] == 2018).all()


def test_unit_cohorts_leave_out_small_absorptions(history):
    populations = pd.DataFrame(
        [(code, year, 10_000.0) for year in (2017, 2018)
         for code in history.municipalities_on(year)],
        columns=["municipality", "year", "population"],
    )  # fmt: skip
    roles = unit_cohorts(history, 2023, populations)
    assert {"merged", "never merged"} <= set(roles["role"])
    part = roles[roles["role"] == "took in a part"]
    assert len(part) == 2 and (part["cohort"] == 2018).all()
    # without populations there is no size jump: every merger counts
    assert (unit_cohorts(history, 2023)["role"] != "took in a part").all()


def test_window_and_design_data_keep_cohorts_with_a_pre_period(cohorts):
    panel = simulate_panel(seed=2).panel
    panel.loc[panel["year"] < 2015, "wmo_per_1000"] = np.nan
    assert estimation_window(panel, "wmo_per_1000") == (2015, 2023)
    data = design_data(panel, cohorts, "wmo_per_1000", (2015, 2023))
    kept = set(data["cohort"].unique())
    assert 0 in kept and min(kept - {0}) == 2016  # 2011-2015 mergers have no pre-period
    assert data.groupby("municipality").size().eq(9).all()
    with pytest.raises(ValueError, match="wmo_per_1000"):
        estimation_window(panel[panel["year"] <= 2015], "wmo_per_1000")


def test_merger_outcomes_defaults_and_unknown():
    panel = simulate_panel(seed=2).panel
    assert merger_outcomes(panel) == [
        "youth_care_per_1000", "spending_per_inhabitant", "wmo_per_1000"]  # fmt: skip
    with pytest.raises(ValueError, match="not_an_outcome"):
        merger_outcomes(panel, ["not_an_outcome"])


def test_entry_table_says_why_cohorts_cannot_enter(cohorts):
    panel = simulate_panel(seed=2).panel
    panel.loc[panel["year"] < 2015, "wmo_per_1000"] = np.nan
    ev = evaluate_mergers(panel, cohorts, ["wmo_per_1000"], bootstrap=0)
    entry = ev.entry.set_index("cohort")
    assert entry.loc[2013, "status"].startswith("merged in or before 2015")
    assert entry.loc[2013, "used"] == 0
    assert entry.loc[2019, "status"] == "enters" and entry.loc[2019, "used"] == 13
    assert ev.windows == {"wmo_per_1000": (2015, 2023)}
    assert set(ev.summary["estimator"].str.split(",").str[0]) == {
        "Callaway-Sant'Anna", "imputation (Borusyak-Jaravel-Spiess)"}  # fmt: skip


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_planted_merger_effect_is_recovered(cohorts, seed):
    """Over four seeds the CS estimate is within 3 standard errors of the planted 4.0,
    and its estimand (the design on the true effect) is within 0.5 of it."""
    panel = simulate_panel(seed=seed, merger_effect={"wmo_per_1000": 4.0}).panel
    ev = evaluate_mergers(panel, cohorts, ["wmo_per_1000"], bootstrap=0)
    for _, row in ev.summary.iterrows():
        assert abs(row["estimate"] - 4.0) < 3 * row["std_error"], row["estimator"]
        assert abs(row["truth"] - 4.0) < 0.5, row["estimator"]


def test_recovery_over_seeds_within_monte_carlo_error(cohorts):
    """Over 8 seeds, the mean gap between the CS (not-yet-treated) estimate and its
    estimand is within 3 Monte Carlo standard errors of 0, and the estimand is the
    planted effect up to the reform's size-class ramp (within 0.5)."""
    gaps, truths = [], []
    for seed in range(8):
        panel = simulate_panel(seed=100 + seed, merger_effect={"wmo_per_1000": 4.0}).panel
        ev = evaluate_mergers(panel, cohorts, ["wmo_per_1000"], ["not_yet_treated"], bootstrap=0)
        row = ev.summary.iloc[0]
        gaps.append(row["estimate"] - row["truth"])
        truths.append(row["truth"])
    gaps = np.array(gaps)
    assert abs(gaps.mean()) < 3 * gaps.std(ddof=1) / np.sqrt(len(gaps))
    assert np.allclose(truths, 4.0, atol=0.5)


def test_anticipation_moves_the_base_year_and_the_entry(cohorts):
    """With one year of anticipation a cohort needs two years in the window before it, and
    a dip planted in the last pre-merger year no longer enters the effect."""
    panel = simulate_panel(seed=4, merger_effect={"wmo_per_1000": 2.0}).panel
    year = pd.Series(_units(DEFAULT_SEED).merger_year, index=_units(DEFAULT_SEED).codes)
    formed = panel["municipality"].map(year)
    last_year_before = (formed > 0) & (panel["year"] == formed - 1)
    panel.loc[last_year_before, "wmo_per_1000"] -= 20.0  # incomplete accounts before a merger
    panel = panel[panel["year"] >= 2015]
    naive = evaluate_mergers(panel, cohorts, ["wmo_per_1000"], ["not_yet_treated"], bootstrap=0)
    fixed = evaluate_mergers(
        panel, cohorts, ["wmo_per_1000"], ["not_yet_treated"], bootstrap=0, anticipation=1
    )
    assert naive.summary.iloc[0]["estimate"] > 5.0  # the dip inflates the naive effect
    row = fixed.summary.iloc[0]
    assert abs(row["estimate"] - 2.0) < 3 * row["std_error"]
    entry = fixed.entry.set_index("cohort")
    assert entry.loc[2016, "used"] == 0 and entry.loc[2017, "used"] == 2


def test_tables_for_the_notebook(cohorts):
    panel = simulate_panel(seed=6, merger_effect={"wmo_per_1000": 2.0}).panel
    panel.attrs["merger_truth"] = {"effect": {"wmo_per_1000": 2.0}}
    ev = evaluate_mergers(panel, cohorts, ["youth_care_per_1000", "wmo_per_1000"], bootstrap=0)
    table = summary_table(ev, panel).set_index(["outcome", "estimator"])
    assert (table.loc["wmo_per_1000", "planted"] == 2.0).all()
    assert (table.loc["youth_care_per_1000", "planted"] == 0.0).all()  # not planted: 0
    overview = entry_overview(ev).set_index("outcome")
    # without populations the two 2018 split receivers count as merged: 49 + 2
    assert overview.loc["wmo_per_1000", "merged units used"] == 51
    assert overview.loc["wmo_per_1000", "cohorts without a pre-period"] == "none"
    counts = cohort_overview(cohorts)
    assert counts["units"].sum() == (cohorts["cohort"] > 0).sum()
    text = finding_text(ev)
    assert "wmo_per_1000: +" in text and "51 merged units" in text and "pre-trend p =" in text


@pytest.mark.slow
def test_real_statline_mergers_enter_from_2016():
    """On the vendored real panel only 2016-2023 mergers have a pre-period for youth care;
    Tilburg (a share of Haaren), Haarlemmermeer and Amsterdam (Weesp) took in a part."""
    panel, real = merger_panel("statline", 2023)
    roles = real.set_index("code")["role"]
    assert roles[["GM0855", "GM0394", "GM0363"]].eq("took in a part").all()
    assert roles[["GM1963", "GM1959"]].eq("merged").all()  # Hoeksche Waard, Altena
    ev = evaluate_mergers(panel, real, ["youth_care_per_1000_0_22"], ["not_yet_treated"],
                          bootstrap=0)  # fmt: skip
    overview = entry_overview(ev).iloc[0]
    assert overview["window"] == "2015-2023"
    assert overview["cohorts entering"] == "2016, 2017, 2018, 2019, 2021, 2022, 2023"
    assert overview["cohorts without a pre-period"] == "2011, 2012, 2013, 2014, 2015"


def test_staggered_did_pretest_is_nan_not_an_error_when_singular():
    """Two one-unit cohorts share comparison units and base periods: their placebo cells'
    covariance is singular, and the pre-test is reported missing (as R did), not raised."""
    from analysis.designs.staggered_did import staggered_did

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"unit": np.repeat(np.arange(40), 6), "year": np.tile(range(2010, 2016), 40)})
    df["cohort"] = df["unit"].map({0: 2014, 1: 2015}).fillna(0)
    df["y"] = rng.normal(size=len(df))
    res = staggered_did(df, "y", entity="unit", time="year", bootstrap=0)
    assert np.isnan(res.extra["pretrend_test"]["p_value"])
    assert "singular" in res.extra["pretrend_test"]["note"]


@pytest.mark.slow
def test_coverage_of_the_merger_design(cohorts):
    """Over 100 synthetic draws the 95% intervals of CS (not-yet-merged) and of the
    imputation estimator cover their estimand in 88-99% of draws (binomial 95% range
    for 100 draws around 0.95 is about 0.90-0.99; measured: 0.96 and 0.94)."""
    covered = {0: [], 1: []}
    for seed in range(100):
        panel = simulate_panel(seed=1000 + seed, merger_effect={"wmo_per_1000": 2.0}).panel
        ev = evaluate_mergers(panel, cohorts, ["wmo_per_1000"], ["not_yet_treated"], bootstrap=0)
        for k in covered:
            row = ev.summary.iloc[k]
            covered[k].append(row["ci_low"] <= row["truth"] <= row["ci_high"])
    for k, hits in covered.items():
        assert 0.88 <= np.mean(hits) <= 0.99, (ev.summary.iloc[k]["estimator"], np.mean(hits))
