"""Fay-Herriot REML: R sae's milk example to 4 decimals, and interval coverage by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES

from analysis.inference.fay_herriot import fay_herriot

MILK = FIXTURES / "fay_herriot_milk"


def _milk_fit(tol: float):
    milk = pd.read_csv(MILK / "milk.csv")
    X = pd.get_dummies(milk["MajorArea"].astype("category"), drop_first=True, dtype=float)
    X.columns = [f"as.factor(MajorArea){c}" for c in X.columns]  # R's names
    X.insert(0, "(Intercept)", 1.0)
    return fay_herriot(milk["yi"], milk["SD"] ** 2, X, tol=tol)


@pytest.mark.parametrize("tol", [1e-4, 1e-10])  # sae's PRECISION, and fully converged
def test_milk_matches_r_sae_eblupfh_and_msefh_to_4_decimals(tol):
    fit = _milk_fit(tol)
    sae = pd.read_csv(MILK / "sae_msefh_reml.csv")
    coef = pd.read_csv(MILK / "sae_coefficients_reml.csv", index_col="term")
    assert fit.variance == pytest.approx(sae["variance"].iloc[0], abs=5e-5)  # refvar 0.0186
    np.testing.assert_allclose(fit.coefficients[coef.index], coef["estimate"], atol=5e-5)
    np.testing.assert_allclose(fit.coef_se[coef.index], coef["std_error"], atol=5e-5)
    np.testing.assert_allclose(fit.areas["eblup"], sae["EBLUP"], atol=5e-5)
    np.testing.assert_allclose(fit.areas["mse"], sae["MSE"], atol=5e-5)
    # the MSEs are ~0.004-0.017: also relative agreement, so 4 decimals is not vacuous
    np.testing.assert_allclose(fit.areas["mse"], sae["MSE"], rtol=1e-4)
    assert fit.loglike == pytest.approx(12.67748, abs=5e-5)  # saens' logLik on the same fit


def test_milk_with_sae_stopping_rule_is_sae_to_rounding():
    fit = _milk_fit(1e-4)  # the same start (median of D) and rule as sae: the same iterate
    sae = pd.read_csv(MILK / "sae_msefh_reml.csv")
    assert fit.iterations == 4  # saens prints "Convergence after 4 iterations"
    assert fit.variance == pytest.approx(sae["variance"].iloc[0], rel=1e-12)
    np.testing.assert_allclose(fit.areas["eblup"], sae["EBLUP"], rtol=1e-12)
    np.testing.assert_allclose(fit.areas["mse"], sae["MSE"], rtol=1e-10)


def test_the_remainder_is_the_eblup_minus_the_synthetic_estimate():
    areas = _milk_fit(1e-10).areas
    np.testing.assert_allclose(areas["remainder"], areas["eblup"] - areas["synthetic"])
    np.testing.assert_allclose(areas["shrinkage"] * (areas["direct"] - areas["synthetic"]),
                               areas["remainder"])
    assert set(areas["differs"]) <= {-1, 0, 1}
    outside = (areas["remainder_low"] > 0) | (areas["remainder_high"] < 0)
    assert ((areas["differs"] != 0) == outside).all()


@pytest.mark.parametrize(
    ("y", "D", "message"),
    [([1.0, np.nan, 2.0, 3.0, 1.0], [1.0] * 5, r"y is missing for area\(s\) \[1\]"),
     ([1.0, 2.0, 2.0, 3.0, 1.0], [1.0, 0.0, 1.0, 1.0, 1.0], r"sampling variance <= 0"),
     ([1.0, 2.0, 3.0], [1.0] * 3, "3 areas cannot identify 2 coefficients")],
)
def test_bad_input_is_refused_naming_the_area(y, D, message):
    X = np.column_stack([np.ones(len(y)), np.arange(len(y), dtype=float)])
    with pytest.raises(ValueError, match=message):
        fay_herriot(y, D, X)


def test_collinear_or_missing_covariates_are_refused():
    X = pd.DataFrame({"one": 1.0, "a": np.arange(6.0), "b": 2 * np.arange(6.0)})
    with pytest.raises(ValueError, match="collinear"):
        fay_herriot(np.arange(6.0), np.ones(6), X)
    X = pd.DataFrame({"one": 1.0, "a": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0]})
    with pytest.raises(ValueError, match=r"\['a'\] have missing"):
        fay_herriot(np.arange(6.0), np.ones(6), X)


def test_intervals_cover_the_true_area_values_at_95_percent():
    """Draw 150 replications of a known FH model (m = 300, 3 covariates, D_i from 0.2 to 5 A):
    the EBLUP interval covers theta_i, and the remainder interval u_i, in 93-97 % of cases."""
    rng = np.random.default_rng(2015)
    m, A, beta = 300, 4.0, np.array([50.0, 3.0, -2.0])
    X = np.column_stack([np.ones(m), rng.normal(size=m), rng.uniform(0, 2, m)])
    D = A * np.exp(rng.uniform(np.log(0.2), np.log(5.0), m))
    covered_theta, covered_u, excluded_null = [], [], []
    for _ in range(150):
        u = rng.normal(0, np.sqrt(A), m)
        theta = X @ beta + u
        fit = fay_herriot(theta + rng.normal(0, np.sqrt(D)), D, X, tol=1e-8).areas
        covered_theta.append(np.mean((fit["eblup_low"] <= theta) & (theta <= fit["eblup_high"])))
        covered_u.append(np.mean((fit["remainder_low"] <= u) & (u <= fit["remainder_high"])))
        excluded_null.append(np.mean(fit["differs"] != 0))
    assert 0.93 <= np.mean(covered_theta) <= 0.97
    assert 0.93 <= np.mean(covered_u) <= 0.97
    # with A > 0 many areas truly differ, so more than 5 % of intervals exclude 0
    assert np.mean(excluded_null) > 0.06


def test_with_no_between_area_variation_few_intervals_exclude_the_expectation():
    """u_i = 0 everywhere: A is estimated near 0 and at most ~5 % of remainder intervals
    exclude 0 (shrinkage makes the count conservative, never inflated)."""
    rng = np.random.default_rng(7)
    m = 300
    X = np.column_stack([np.ones(m), rng.normal(size=m)])
    D = np.exp(rng.uniform(np.log(0.5), np.log(5.0), m))
    shares = []
    for _ in range(100):
        fit = fay_herriot(X @ [10.0, 1.0] + rng.normal(0, np.sqrt(D)), D, X).areas
        shares.append(np.mean(fit["differs"] != 0))
    assert np.mean(shares) <= 0.05
