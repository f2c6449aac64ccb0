"""Generated readings: each sentence's condition holds on small tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import schema
from analysis.reporting.readings import (
    claim_finding,
    claim_reading,
    coverage_by_year,
    curve_sentence,
    growth_finding,
    interval_sentences,
    levels_by_year_sentences,
    pooled_level_note,
    prereform_reading,
    pretrend_finding,
    sizing_sentence,
    wild_enumeration_note,
)
from analysis.reporting.readings_designs import (
    mde_sentence,
    merger_finding,
    merger_reading,
    pretest_sentence,
)
from analysis.studies.since2015 import complete_sizes
from analysis.studies.trends import profile_characteristics, with_characteristics, young_share
from analysis.studies.wmo_context import wmo_fee_sentence

CS = "Callaway-Sant'Anna, not-yet-treated control"


def growth_table(lows, highs):
    n = len(lows)
    est = [(lo + hi) / 2 for lo, hi in zip(lows, highs, strict=True)]
    return pd.DataFrame(
        {
            "outcome": [
                "wmo_per_1000",
                "youth_care_per_1000",
                "bijstand_per_1000",
                "spending_per_inhabitant",
            ][:n],
            "design": "growth",
            "group": "large",
            "threshold": 50_000,
            "base_year": 2017,
            "last_year": 2023,
            "estimate": np.log1p(np.array(est) / 100),
            "percent_estimate": est,
            "percent_wild_ci_low": lows,
            "percent_wild_ci_high": highs,
            "wild_p": [0.04, 0.5, 0.2, 0.01][:n],
        }
    )


def test_an_interval_that_contains_zero_is_never_read_as_told_apart_from_zero():
    text = interval_sentences(growth_table([-8.9, -3.0, -0.1], [-0.6, 4.0, 0.1]))
    lines = text.splitlines()
    assert "can be told apart" not in text and "significant" not in text
    assert lines[0].endswith("the interval excludes 0.")
    assert lines[1].endswith("the interval includes 0.")
    assert lines[2].endswith("the interval includes 0.")  # -0.1 to +0.1 straddles 0
    assert "The intervals of 1 of 3 outcomes exclude 0 (Wmo clients (social support))" in text
    assert "One specification is fragile" in text


def test_all_intervals_containing_zero_are_counted_as_such():
    text = interval_sentences(growth_table([-1.0, -2.0], [1.0, 2.0]))
    assert "All 2 intervals include 0." in text


def test_a_curve_replaces_the_one_specification_caveat_and_counts_agreement():
    curve = pd.DataFrame(
        {
            "outcome": "wmo_per_1000",
            "estimate": [-5.0, -4.0, -1.0, 2.0],
            "ci_low": [-8.0, -7.0, -3.0, -1.0],
            "ci_high": [-1.0, -0.5, 1.0, 5.0],
        }
    )
    text = interval_sentences(growth_table([-8.9], [-0.6]), curve=curve)
    assert "One specification is fragile" not in text
    assert (
        "4 specifications" in text
        and "2 (50%) have an interval that excludes 0 on the negative" in text
    )
    assert "widest interval is -3 to +1" not in curve_sentence(curve)  # widest is -8 to -1 (7 wide)
    assert "widest interval is -8 to -1" in curve_sentence(curve)


def test_pooled_levels_are_not_a_headline_and_their_coverage_is_counted():
    panel = pd.DataFrame(
        {
            schema.MUNICIPALITY: ["a", "b", "c"] * 2,
            schema.YEAR: [2015] * 3 + [2016] * 3,
            "youth_care_cost_per_inhabitant": [1.0, np.nan, np.nan, 1.0, 2.0, 3.0],
        }
    )
    table = pd.DataFrame(
        {
            "outcome": ["youth_care_cost_per_inhabitant"],
            "design": ["level"],
            "base_year": [2015],
            "last_year": [2016],
        }
    )
    assert coverage_by_year(panel, ["youth_care_cost_per_inhabitant"]).loc[
        "youth_care_cost_per_inhabitant"
    ].tolist() == [1, 3]
    note = pooled_level_note(panel, table)
    assert "1 municipalities (2015) to 3 (2016)" in note and "not a headline" in note


def test_levels_by_year_name_the_years_whose_interval_excludes_zero():
    by_year = pd.DataFrame(
        {
            "outcome": "wmo_per_1000",
            "year": [2017, 2018, 2023],
            "percent_estimate": [-7.9, -4.0, -0.2],
            "percent_wild_ci_low": [-12.0, -8.0, -3.0],
            "percent_wild_ci_high": [-3.0, 0.5, 2.0],
            "municipalities": [54, 200, 335],
        }
    )
    text = levels_by_year_sentences(by_year)
    assert "-7.9 in 2017 (54 municipalities) and -0.2 in 2023 (335)" in text
    assert "excludes 0 in 1 of 3 years (2017)" in text


def test_the_sizing_sentence_counts_the_years_units_were_sized_in():
    panel = pd.DataFrame(
        {
            schema.MUNICIPALITY: ["a", "a", "b", "b", "c", "c"],
            schema.YEAR: [2015, 2016] * 3,
            schema.POPULATION: [60_000, 61_000, np.nan, 20_000, np.nan, np.nan],
            schema.BASELINE_POPULATION: [60_000, 60_000, np.nan, np.nan, np.nan, np.nan],
        }
    )
    panel.attrs["baseline_year"] = 2015
    with pytest.raises(ValueError, match="no population in any year"):
        complete_sizes(panel)
    sized = complete_sizes(panel[panel[schema.MUNICIPALITY] != "c"])
    assert sized.attrs["sized_in"] == {2015: 1, 2016: 1}
    text = sizing_sentence(sized)
    assert "1 of 2 units in 2015, and 1 (50%) later" in text and "2016: 1" in text
    whole = panel[panel[schema.MUNICIPALITY] == "a"].copy()
    whole.attrs = {"baseline_year": 2015, "boundary_year": 2023}
    assert "all 1 units are sized in 2015" in sizing_sentence(complete_sizes(whole))


def test_the_pre_reform_reading_counts_years_and_speaks_of_counts_not_use():
    tests = pd.DataFrame(
        {
            "series": ["youth_care_users_pre2015"],
            "years": ["2011-2014"],
            "trend": [-0.021],
            "wild_ci_low": [-0.039],
            "wild_ci_high": [-0.001],
            "leads_p": [0.01],
        }
    )
    text = prereform_reading(tests)
    assert "4 years, 3 leads against 2014" in text
    assert "2.1 log points a year less" in text and "excludes 0" in text
    assert "not use per inhabitant" in text


def test_an_enumerated_bootstrap_is_not_called_an_exact_test():
    choices = pd.DataFrame(
        {
            "clustering": ["municipality (CR1)", "province, wild bootstrap (WCR)"],
            "n_clusters": [342, 12],
        }
    )
    text = wild_enumeration_note(choices)
    assert "4,096" in text and "not an exact test of the hypothesis" in text
    assert "2/4,096" in text
    assert "simulation error" in wild_enumeration_note(choices, draws=999)


def merger_summary(pre):
    outcomes = [
        "youth_care_per_1000",
        "spending_per_inhabitant",
        "wmo_per_1000",
        "bijstand_per_1000",
    ]
    return pd.DataFrame(
        {
            "outcome": outcomes[: len(pre)],
            "estimator": CS,
            "estimate": 4.0,
            "ci_low": 1.0,
            "ci_high": 7.0,
            "n_merged": 9,
            "pretrend_p": pre,
        }
    )


def test_the_pre_test_count_counts_rejections_and_compares_with_chance():
    text = pretest_sentence(merger_summary([0.5, 1e-30, 1e-5, 0.02]))
    assert "rejects at 5% for 3 of 4 outcomes" in text and "chance does not explain" in text
    one = pretest_sentence(merger_summary([0.9, 0.17, 0.03]))
    assert "1 of 3 outcomes" in one and "what chance allows" in one  # P(X>=1) = 0.14
    assert "0 of 2" in pretest_sentence(merger_summary([0.9, 0.5]))


def test_an_outcome_whose_pre_test_rejects_is_never_listed_as_an_effect():
    summary = merger_summary([0.5, 1e-30])
    finding = merger_finding(summary)
    head, tail = finding.split("Not read as effects")
    assert "Young people" in head and "Social-domain spending" not in head
    assert "Social-domain spending" in tail
    reading = merger_reading(summary).splitlines()
    assert "not read as an effect" in reading[2] and "not read as an effect" not in reading[1]


def test_an_mde_above_the_estimate_says_the_design_could_not_detect_it():
    mde = pd.DataFrame(
        {
            "outcome": ["youth_care_per_1000", "wmo_per_1000"],
            "design": "mergers",
            "mde": [6.18, 2.0],
            "mde_pct_of_mean": [6.4, 3.0],
        }
    )
    est = pd.DataFrame(
        {"outcome": ["youth_care_per_1000", "wmo_per_1000"], "estimate": [-4.38, 3.5]}
    )
    lines = mde_sentence(mde, est).splitlines()
    assert "could not reliably detect an effect of the size it estimated" in lines[0]
    assert "detects at least 80% of the time" in lines[1]


def test_the_young_share_is_named_after_its_ages():
    real = pd.DataFrame(
        {
            schema.POPULATION: [100.0],
            schema.YOUTH_POPULATION: [25.0],
            schema.POPULATION_0_17: [np.nan],
        }
    )
    assert young_share(real) == "share_0_22"
    assert "share_0_17" not in with_characteristics(real)
    assert profile_characteristics(real) == ["log_population", "share_0_22"]
    synthetic = real.assign(**{schema.POPULATION_0_17: [20.0]})
    assert young_share(synthetic) == "share_0_17"


def test_the_fee_sentence_quotes_the_2019_break_per_group():
    rates = pd.DataFrame(
        {
            "outcome": "wmo_per_1000",
            "group": ["<20k"] * 3 + [">=100k"] * 3,
            "year": [2017, 2018, 2019] * 2,
            "rate": [50, 53, 59, 67, 68, 70.0],
        }
    )
    text = wmo_fee_sentence(rates)
    assert "19 euro per four weeks" in text and "<20k +11.3%" in text and ">=100k +2.9%" in text
    assert "no such break" in wmo_fee_sentence(rates, synthetic=True)


def test_the_booking_sentence_names_a_fall_as_booking_only_for_a_known_centre():
    from analysis.studies.wmo_context import BookingStep, booking_sentence

    windows = pd.DataFrame(
        {
            "base_year": [2018, 2018, 2021],
            "last_year": [2023, 2020, 2023],
            "percent_estimate": [-8.9, -3.5, -0.1],
            "percent_wild_ci_low": [-16.6, -8.8, -3.4],
            "percent_wild_ci_high": [-2.3, 1.9, 2.3],
            "wild_p": [0.006, 0.17, 0.9],
        }
    )
    falls = pd.DataFrame(
        {
            schema.MUNICIPALITY: ["GM0228", "GM0001"],
            schema.NAME: ["Ede", "Elders"],
            "log_change": [-0.38, -0.30],
        }
    )
    step = BookingStep(
        "wmo_spending_per_inhabitant", 2021, windows, falls, {"large": -0.05, "small": 0.04}
    )
    text = booking_sentence(step)
    assert "-8.9% (2018-2023" in text and "Before the step the gap is -3.5% (2018-2020" in text
    assert "after it -0.1% (2021-2023" in text
    assert "Ede is a centre municipality" in text and "Elders is" not in text
    no_centre = BookingStep(step.outcome, 2021, windows, falls.iloc[1:], step.median_change)
    assert "centre municipalit" not in booking_sentence(no_centre)


def test_plain_reading_of_the_2x2_follows_the_interval_not_a_phrase():
    from analysis.studies.evaluation import plain_reading

    table = pd.DataFrame({"design": "2x2 DiD", "outcome": ["wmo_per_1000", "bijstand_per_1000"],
                          "estimate": [-1.0, 2.0], "wild_ci_low": [-2.0, -0.5],
                          "wild_ci_high": [-0.1, 4.0], "wild_p": [0.03, 0.2]})
    lines = plain_reading(table).splitlines()
    assert lines[0].endswith("excludes 0.") and lines[1].endswith("includes 0.")
    assert "told apart" not in "".join(lines)


def test_the_claim_reading_headlines_growth_only_and_counts_the_family():
    growth = growth_table([-8.9, -3.0], [-0.6, 4.0]).assign(p_romano_wolf=[0.09, 0.3])
    level = growth.assign(design="level", base_year=2015, p_romano_wolf=0.001)
    tests = pd.concat([level, growth], ignore_index=True)
    panel = pd.DataFrame({schema.MUNICIPALITY: ["a", "b"] * 2,
                          schema.YEAR: [2015, 2015, 2023, 2023],
                          "wmo_per_1000": [1.0, np.nan, 1.0, 2.0],
                          "youth_care_per_1000": [1.0, 1.0, 1.0, 1.0]})
    reading = claim_reading(tests, panel)
    assert "Romano-Wolf p = 0.090 over the family of 2 (not below 5%)" in reading
    assert "1 municipalities (2015) to 2 (2023)" in reading and "not a headline" in reading
    finding = claim_finding(tests, panel=panel)
    assert "intervals of 1 of 2 outcomes exclude 0" in finding
    assert "0 of 2 have a Romano-Wolf p below 5%" in finding and "lower in" not in finding


def test_findings_count_leads_and_state_what_each_interval_shows():
    tests = pd.DataFrame({"outcome": ["a", "b"], "leads": [4, 4], "F": [1.0, 5.0],
                          "p_value": [0.4, 0.01]})
    text = pretrend_finding(tests)
    assert "joint Wald test of 4 leads" in text and "1 of 2 reject" in text
    line = growth_finding(growth_table([-8.9, -3.0], [-0.6, 4.0]))
    assert "-0.6%, excludes 0" in line and "+4.0%, includes 0" in line


def test_the_pre_reform_finding_is_one_line_and_constant_coverage_is_not_called_varying():
    tests = pd.DataFrame({"series": ["youth_care_users_pre2015"], "years": ["2011-2014"],
                          "trend": [-0.021], "wild_ci_low": [-0.039], "wild_ci_high": [-0.001],
                          "leads_p": [0.01]})
    line = prereform_reading(tests, one_line=True)
    assert "\n" not in line and not line.startswith("-") and "not use per inhabitant" in line
    panel = pd.DataFrame({schema.MUNICIPALITY: ["a", "b"] * 2,
                          schema.YEAR: [2015, 2015, 2016, 2016],
                          "wmo_per_1000": [1.0, 2.0, 1.0, 2.0]})
    table = pd.DataFrame({"outcome": ["wmo_per_1000"], "design": ["level"], "base_year": [2015],
                          "last_year": [2016]})
    note = pooled_level_note(panel, table)
    assert "2 municipalities in every year" in note and "differ in who reports" not in note


def test_the_count_of_excluding_intervals_reads_right_for_none_one_and_all_left():
    assert "exclude 0 (Wmo clients (social support))." in interval_sentences(
        growth_table([-8.9], [-0.6]))
    two = growth_table([-8.9, -1.0], [-0.6, 1.0])
    assert "the other one includes 0." in interval_sentences(two)


def test_the_sensitivity_finding_reads_only_what_ran():
    from types import SimpleNamespace

    from analysis.reporting.readings_designs import sensitivity_finding, sensitivity_reading

    mde = pd.DataFrame({"outcome": ["youth_care_per_1000"], "design": "mergers", "mde": [6.18],
                        "mde_pct_of_mean": [6.4]})
    report = SimpleNamespace(honest=None, randomisation={}, power={"youth_care_per_1000": 1},
                             mde_table=lambda: mde, reading=lambda: "MDE 6.18.")
    est = pd.DataFrame({"outcome": ["youth_care_per_1000"], "estimate": [-4.38]})
    finding = sensitivity_finding(report, est)
    assert finding.count("6.18") == 1 and "could not reliably detect" in finding
    reading = sensitivity_reading(report, est)
    assert "Sensitivity to parallel trends: not run" in reading
    assert "Randomisation inference: not run" in reading


def test_the_claim_finding_says_why_levels_are_not_headlined_only_when_coverage_varies():
    growth = growth_table([-8.9], [-0.6]).assign(p_romano_wolf=[0.01])
    tests = pd.concat([growth.assign(design="level", base_year=2015), growth], ignore_index=True)
    steady = pd.DataFrame({schema.MUNICIPALITY: ["a", "b"] * 2,
                           schema.YEAR: [2015, 2015, 2023, 2023], "wmo_per_1000": 1.0})
    assert "same municipalities" in claim_finding(tests, panel=steady)
    varying = steady.assign(wmo_per_1000=[1.0, np.nan, 1.0, 1.0])
    assert "differ in who reports" in claim_finding(tests, panel=varying)


def test_the_mde_sentence_sets_a_planted_effect_beside_the_mde():
    mde = pd.DataFrame({"outcome": ["wmo_per_1000"], "design": "large_vs_small", "mde": [0.7],
                        "mde_pct_of_mean": [1.4], "truth": [2.0]})
    assert "planted effect (+2) is larger than the MDE" in mde_sentence(mde)
