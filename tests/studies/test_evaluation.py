"""The evaluations the notebooks show: the tables they print must mean what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import schema
from analysis.data.synthetic.generator import simulate_panel
from analysis.designs.intensity import intensity_did
from analysis.reporting.truth import attach_true_effects, true_estimate
from analysis.studies.evaluation import (
    add_baseline_caseload,
    clustering_choices,
    event_studies,
    event_study_table,
    intensity_effects,
    large_vs_small,
    plain_reading,
    pretrend_tests,
    threshold_sensitivity,
)

OUTCOMES = ["wmo_per_1000", "youth_care_per_1000"]


@pytest.fixture(scope="module")
def panel():
    sim = simulate_panel(5).panel
    sim.attrs["synthetic"] = True
    return sim


@pytest.fixture(scope="module")
def table(panel):
    return large_vs_small(panel, OUTCOMES, draws=199, seed=1)


def test_2x2_and_twfe_agree_on_a_balanced_panel(table):
    wide = table.pivot(index="outcome", columns="design", values="estimate")
    assert np.allclose(wide["2x2 DiD"], wide["TWFE"], atol=1e-8)


def test_truth_is_the_2x2_of_the_true_effects_by_hand(panel, table):
    # 2x2 estimand = (post - pre mean of true effects, large) - (same, small); pre is 0.
    large = panel[schema.BASELINE_POPULATION] >= schema.LARGE_THRESHOLD
    post = panel[schema.YEAR] >= schema.REFORM_YEAR
    effect = panel["true_effect__wmo_per_1000"]
    by_hand = effect[large & post].mean() - effect[~large & post].mean()
    truth = table.set_index(["outcome", "design"]).loc[("wmo_per_1000", "2x2 DiD"), "truth"]
    assert truth == pytest.approx(by_hand, abs=1e-9)


def test_wild_bootstrap_interval_brackets_the_estimate(table):
    assert (table["wild_ci_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["wild_ci_high"]).all()
    assert table["wild_p"].between(0, 1).all()


def test_plain_reading_says_more_or_less_with_the_sign(table):
    text = plain_reading(table)
    for row in table[table["design"] == "2x2 DiD"].itertuples():
        label = schema.OUTCOMES[row.outcome].label
        line = next(x for x in text.splitlines() if label in x)
        assert ("more in large" in line) == (row.estimate > 0)
        assert f"{abs(row.estimate):.2f}" in line


def test_event_study_truth_is_zero_before_and_ramps_after(panel):
    results = event_studies(panel, ["wmo_per_1000"])
    table = event_study_table(results, panel)
    pre = table[table["event_time"] < 0]
    assert np.allclose(pre["truth"], 0.0, atol=1e-9)
    post = table[table["event_time"] >= 0].set_index("event_time")["truth"]
    # the generator ramps the effect in at 0.5, 0.8, then 1 of its full size
    assert post.loc[0] / post.loc[5] == pytest.approx(0.5, rel=1e-6)
    assert post.loc[1] / post.loc[5] == pytest.approx(0.8, rel=1e-6)
    tests = pretrend_tests(results)
    assert tests["leads"].iloc[0] == 4


def test_intensity_truth_matches_the_design_on_true_effects(panel):
    table, results = intensity_effects(panel, ["wmo_per_1000"])
    direct = true_estimate(
        intensity_did,
        attach_true_effects(panel),
        "wmo_per_1000",
    )
    assert table["truth"].iloc[0] == pytest.approx(direct.iloc[0])


def test_baseline_caseload_is_constant_within_municipality(panel):
    out, name = add_baseline_caseload(panel, "wmo_per_1000")
    assert out.groupby(schema.MUNICIPALITY)[name].nunique().max() == 1
    base = panel.loc[panel[schema.YEAR] == 2014].set_index(schema.MUNICIPALITY)["wmo_per_1000"]
    first = out.drop_duplicates(schema.MUNICIPALITY).set_index(schema.MUNICIPALITY)[name]
    pd.testing.assert_series_equal(first, base.loc[first.index], check_names=False)


def test_higher_threshold_means_fewer_large_municipalities(panel):
    table = threshold_sensitivity(panel, ["wmo_per_1000"])
    counts = table.set_index("threshold")["large_municipalities"]
    assert counts.loc[20_000] > counts.loc[50_000] > counts.loc[100_000] > 0


def test_clustering_choices_share_one_estimate_and_enumerate_provinces(panel):
    table = clustering_choices(panel, "wmo_per_1000", draws=9999)
    assert np.allclose(table["estimate"], table["estimate"].iloc[0])
    province = table[table["clustering"].str.startswith("province (CR1")]
    assert province["n_clusters"].iloc[0] == 12
    assert table["clustering"].iloc[-1].endswith("all 2^12 sign vectors)")
    assert any("12 clusters" in note for note in table.attrs["notes"])


def test_truth_is_refused_for_real_data(panel):
    real = panel.drop(columns=[c for c in panel if c.startswith("true_effect__")])
    real.attrs = {"synthetic": False}
    with pytest.raises(ValueError, match="real data"):
        attach_true_effects(real)
