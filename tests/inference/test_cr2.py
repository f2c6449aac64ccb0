"""CR2 with Satterthwaite degrees of freedom and the HTZ joint test against R's clubSandwich.

The reference numbers in ``tests/fixtures/cr2/clubsandwich.json`` were printed by
``tests/fixtures/cr2/clubsandwich_reference.R`` (R 4.2.2, clubSandwich 0.5.8, plm 2.6.2;
the versions are recorded in the JSON) from ``lm()`` with factor dummies and from
``plm(model = "within")``; the two agree to 1e-12, and so does ``analysis`` with its
absorbed fixed effects. No R is needed to run these tests.

Cases: plm's Grunfeld panel (10 firms x 20 years) clustered by firm, by pairs of firms
(5 clusters, firm effects nested), by year (firm effects not nested), with one-way
effects; and a seeded unbalanced synthetic panel (60 units, 2011-2018, 12 provinces) with
an event study whose leads get the joint pre-trend test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from scipy import stats

from analysis.designs.event_study import event_study
from analysis.designs.twfe import twfe
from analysis.inference.covariance import Clustered
from analysis.inference.cr2 import CR2
from analysis.inference.fe import FixedEffect
from analysis.inference.linear import fit_linear

REFERENCE = json.loads((FIXTURES / "cr2" / "clubsandwich.json").read_text())
CASES = {case["name"]: case for case in REFERENCE["cases"]}
RTOL = 1e-8  # agreement seen: 1e-12 (unbalanced panels: alternating projections to 1e-12)


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cr2" / f"{name.split('_')[0]}.csv")


def _fit(name: str):
    case = CASES[name]
    df = _data(name)
    effects = ("entity",) if case["effect"] == "individual" else ("entity", "time")
    if name.startswith("grunfeld"):
        regressors, entity = ["value", "capital"], "firm"
    else:
        regressors, entity = case["lm"]["coef"]["term"], "unit"
    return twfe(df, "inv" if entity == "firm" else "y", regressors, entity=entity,
                time="year", effects=effects, cluster=case["cluster"], vcov="CR2")  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("source", ["lm", "plm"])
def test_coefficients_se_df_and_p_match_clubsandwich(name, source):
    ref = CASES[name][source]["coef"]
    res = _fit(name)
    table = res.table.set_index("term").loc[ref["term"]]
    assert res.n_clusters == CASES[name]["n_clusters"] and res.n_obs == CASES[name]["n_obs"]
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=1e-8)
    np.testing.assert_allclose(table["std_error"], ref["std_error"], rtol=RTOL)
    df = [res.extra["df_coef"][t] for t in ref["term"]]
    np.testing.assert_allclose(df, ref["df"], rtol=RTOL)
    np.testing.assert_allclose(table["p_value"], ref["p_value"], rtol=RTOL)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("source", ["lm", "plm"])
def test_htz_joint_test_matches_clubsandwich(name, source):
    ref = CASES[name][source]["wald"]
    test = _fit(name).wald_test(ref["terms"])
    assert test["test"] == "HTZ" and test["df"][0] == ref["df_num"]
    np.testing.assert_allclose(test["statistic"], ref["F"], rtol=RTOL)
    np.testing.assert_allclose(test["df"][1], ref["df_denom"], rtol=RTOL)
    np.testing.assert_allclose(test["p_value"], ref["p_value"], rtol=RTOL)


def test_event_study_pretrend_test_is_htz_with_cr2(recwarn):
    """The design entry point: the leads' joint test is clubSandwich's HTZ, and the
    few-clusters warning of CR1 is not raised (CR2 + Satterthwaite is the remedy)."""
    case = CASES["synthetic_twoways_province"]
    res = event_study(_data(case["name"]), "y", treatment="large", entity="unit", time="year",
                      covariates=["x"], cluster="province", vcov="CR2")  # fmt: skip
    ref = case["plm"]
    leads = res.table[res.table.event_time < 0]
    np.testing.assert_allclose(leads["std_error"], ref["coef"]["std_error"][1:4], rtol=RTOL)
    pre = res.extra["pretrend_test"]
    np.testing.assert_allclose(pre["statistic"], ref["wald"]["F"], rtol=RTOL)
    np.testing.assert_allclose(pre["df"][1], ref["wald"]["df_denom"], rtol=RTOL)
    assert not [w for w in recwarn if "clusters" in str(w.message)]
    # intervals use each coefficient's own Satterthwaite df, wider than t(G-1) here
    row = res.table.iloc[0]
    df = res.extra["df_coef"][row["term"]]
    assert df < res.n_clusters - 1
    half = (row["ci_high"] - row["ci_low"]) / 2
    assert half == pytest.approx(row["std_error"] * stats.t.ppf(0.975, df), rel=1e-10)


def test_cr2_refuses_weights_and_two_cluster_columns():
    df = _data("grunfeld").assign(w=1.0)
    with pytest.raises(ValueError, match="unweighted least squares only"):
        twfe(df, "inv", ["value"], entity="firm", time="year", cluster="firm", vcov="CR2",
             weights="w")  # fmt: skip
    with pytest.raises(ValueError, match="exactly one cluster column"):
        twfe(df, "inv", ["value"], entity="firm", time="year", cluster=["firm", "year"],
             vcov="CR2")  # fmt: skip


def test_cr2_covers_a_known_effect_with_few_clusters():
    """Monte Carlo with a known slope: 8 clusters, one of them with most of the regressor's
    variation (high leverage), errors correlated within cluster-years. The 95% interval of
    CR2 with Satterthwaite df covers the truth about 95% of the time; CR1 with t(G-1)
    under-covers (seeded: 0.945 against 0.88)."""
    rng = np.random.default_rng(1)
    units, years, truth = np.repeat(np.arange(32), 5), np.tile(np.arange(5), 32), 1.0
    cluster = units // 4
    effects = [FixedEffect("unit", units, 32), FixedEffect("year", years, 5)]
    covariances = {"CR2": CR2(cluster), "CR1": Clustered(cluster)}
    hits, reps = dict.fromkeys(covariances, 0), 200
    for _ in range(reps):
        leverage = np.where(cluster < 1, 3.0, 0.5)
        x = rng.normal(size=(8, 5))[cluster, years] * leverage + rng.normal(size=160)
        y = truth * x + rng.normal(size=(8, 5))[cluster, years] + rng.normal(size=160)
        for name, cov in covariances.items():
            low, high = fit_linear(y, x[:, None], ["x"], effects, cov).conf_int()
            hits[name] += bool(low[0] <= truth <= high[0])
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.92 <= cover["CR2"] <= 0.98 and cover["CR1"] < 0.91, cover
