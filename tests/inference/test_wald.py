"""Joint Wald tests with a singular covariance: reported missing with a note, never p = 0.

Before ``analysis.inference.wald``, a covariance singular up to rounding was inverted by
``np.linalg.solve``: on pure noise with three one-unit cohorts staggered_did's pre-test
gave F = 5.8e13, p = 0, and an event study with more leads than clusters stopped with a
bare LinAlgError.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import event_study, staggered_did
from analysis.inference.wald import dependent_terms, wald_chi2


def test_full_rank_statistic_is_b_inverse_v_b():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    V, b = A @ A.T, rng.normal(size=5)
    chi2, note = wald_chi2(b, V, list("abcde"))
    assert note is None
    assert chi2 == pytest.approx(b @ np.linalg.inv(V) @ b, rel=1e-10)


def test_rank_deficiency_up_to_rounding_is_found_whatever_the_units():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 2))  # rank 2: terms c and d are combinations of a and b
    for scale in (1e-8, 1.0, 1e6):
        V = scale * (A @ A.T) + scale * 1e-15 * np.eye(4)
        assert dependent_terms(V, list("abcd")) == ["c", "d"]
        chi2, note = wald_chi2(rng.normal(size=4), V, list("abcd"))
        assert np.isnan(chi2)
        assert "['c', 'd'] are linear combinations" in note and "rank 2" in note


def test_strongly_correlated_but_regular_terms_are_tested():
    V = np.array([[1.0, 0.999], [0.999, 1.0]])
    assert dependent_terms(V, ["a", "b"]) == []
    assert np.isfinite(wald_chi2(np.array([1.0, 0.0]), V, ["a", "b"])[0])


def test_non_finite_covariance_has_no_test():
    chi2, note = wald_chi2(np.ones(2), np.array([[1.0, np.nan], [np.nan, 1.0]]), ["a", "b"])
    assert np.isnan(chi2) and "singular" in note


def one_unit_cohorts(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, years = 60, np.arange(2010, 2020)
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), len(years)), "year": np.tile(years, n)})
    df["cohort"] = df["unit"].map({0: 2013, 1: 2015, 2: 2017}).fillna(0)
    df["y"] = rng.normal(size=len(df)) + 0.1 * df["unit"]
    return df


@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_staggered_pretest_with_one_unit_cohorts_is_missing_not_p_zero(control):
    res = staggered_did(one_unit_cohorts(), "y", entity="unit", time="year",
                        control_group=control, bootstrap=0)  # fmt: skip
    test = res.extra["pretrend_test"]
    assert np.isnan(test["p_value"]) and np.isnan(test["statistic"])
    assert test["note"].startswith("singular covariance of the 12 tested terms")


def test_small_cohorts_are_named_in_the_notes_as_r_did_warns():
    res = staggered_did(one_unit_cohorts(), "y", entity="unit", time="year", bootstrap=0)
    note = next(n for n in res.notes if n.startswith("small cohorts"))
    assert "fewer than 5 units" in note
    assert "2013 (1 unit), 2015 (1 unit), 2017 (1 unit)" in note
    assert note in res.aggregate("dynamic").notes
    assert "too small" in res.aggregate("dynamic").summary()


def test_too_few_never_treated_units_are_refused_for_never_treated_controls():
    df = one_unit_cohorts()
    df = df[df["unit"] < 7].copy()
    df["cohort"] = df["unit"].map({0: 0, 1: 0, 2: 0}).fillna(2016)  # 3 never treated
    with pytest.raises(ValueError, match="only 3 never-treated unit.*not_yet_treated"):
        staggered_did(df, "y", entity="unit", time="year", control_group="never_treated")
    res = staggered_did(df, "y", entity="unit", time="year",
                        control_group="not_yet_treated", bootstrap=0)  # fmt: skip
    assert any("0 (3 units)" in n for n in res.notes)


def test_event_study_with_more_leads_than_clusters_reports_no_joint_test():
    rng = np.random.default_rng(3)
    n, years = 60, np.arange(2008, 2019)
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), len(years)), "year": np.tile(years, n)})
    df["big"] = (df["unit"] % 2).astype(float)
    df["region"] = df["unit"] % 3
    df["y"] = rng.normal(size=len(df))
    with pytest.warns(UserWarning, match="only 3 clusters"):
        res = event_study(df, "y", treatment="big", entity="unit", time="year", cluster="region")
    test = res.extra["pretrend_test"]
    assert len(test["terms"]) == 6 and np.isnan(test["p_value"])
    assert "rank 2" in test["note"]  # G - 1 = 2: cluster scores sum to zero
    assert "pre-trend test: singular covariance" in res.summary()
    # clustered by unit (60 clusters) the same leads are tested
    assert np.isfinite(event_study(df, "y", treatment="big", entity="unit",
                                   time="year").extra["pretrend_test"]["p_value"])  # fmt: skip


def test_docstring_examples_run():
    import doctest

    import analysis.inference.wald as module

    assert doctest.testmod(module).failed == 0
