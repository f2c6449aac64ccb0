"""Imputation estimator against pyfixest's did2s, and the Monte Carlo case for robust estimators.

Gardner's two-stage estimator (``pyfixest.did2s``) has the imputation estimator's point
estimates and the GMM standard errors ``imputation_did`` reports. The Monte Carlo study
shows what the heterogeneity-robust estimators are for: with staggered cohorts whose
effects differ and grow with exposure, the two-way fixed-effects DiD is biased, while
``staggered_did`` and ``imputation_did`` recover the average effect on the treated.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import imputation_did, staggered_did, twfe

MPDTA = Path(__file__).resolve().parents[1] / "fixtures" / "mpdta" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA).rename(columns={"first.treat": "g"})


def test_matches_pyfixest_did2s_on_mpdta(mpdta):
    pf = pytest.importorskip("pyfixest")
    # pyfixest 0.60's did2s fails when a unit has a single untreated observation (the
    # 2004 cohort has only 2003), so the comparison leaves that cohort out.
    df = mpdta[mpdta["g"] != 2004].copy()
    res = imputation_did(df, "lemp", entity="countyreal", time="year", cohort="g")
    df["treat"] = (df["g"] > 0) & (df["year"] >= df["g"])
    df["d"] = df["treat"].astype(float)
    df["rel"] = np.where(df["treat"], df["year"] - df["g"], -1000).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled = pf.did2s(df.copy(), yname="lemp", first_stage="~0|countyreal+year",
                          second_stage="~d", treatment="treat", cluster="countyreal")  # fmt: skip
        event = pf.did2s(df.copy(), yname="lemp", first_stage="~0|countyreal+year",
                         second_stage="~i(rel, ref=-1000.0)", treatment="treat",
                         cluster="countyreal")  # fmt: skip
    ref = pd.concat([pooled.tidy(), event.tidy()])
    ours = res.table.set_index("term")
    # pyfixest recovers the fixed effects iteratively (fixef's lsqr tolerance 1e-6); the
    # imputation here solves the normal equations exactly: agreement to ~1e-5 and ~1e-6
    for term, name in [("overall", "d"), ("event:+0", "rel::0.0"), ("event:+1", "rel::1.0")]:
        assert ours.loc[term, "estimate"] == pytest.approx(ref.loc[name, "Estimate"], abs=2e-5)
        assert ours.loc[term, "std_error"] == pytest.approx(ref.loc[name, "Std. Error"], rel=1e-5)


@pytest.fixture
def exact_pyfixest(monkeypatch):
    """pyfixest's did2s with its fixed effects recovered to 1e-14 instead of 1e-6."""
    pf = pytest.importorskip("pyfixest")
    from pyfixest.estimation.models.feols_ import Feols

    fixef = Feols.fixef
    monkeypatch.setattr(Feols, "fixef",
                        lambda self, atol=1e-14, btol=1e-14: fixef(self, atol, btol))
    return pf


@pytest.mark.parametrize("cluster", ["countyreal", "state"])
def test_matches_exact_did2s_to_rounding(mpdta, exact_pyfixest, cluster):
    """With did2s's fixed effects solved to 1e-14 both agree to 1e-9: the overall effect's
    standard error is did2s's pooled second stage ("~d"), each event time's is "~i(rel)".
    (Before, the overall error was the event-time errors' weighted combination, which
    uses other second-stage residuals: 0.4 % larger clustered by state.)"""
    df = mpdta[mpdta["g"] != 2004].copy()
    df["state"] = df["countyreal"] // 1000
    res = imputation_did(df, "lemp", entity="countyreal", time="year", cohort="g", cluster=cluster)
    df["treat"] = (df["g"] > 0) & (df["year"] >= df["g"])
    df["d"] = df["treat"].astype(float)
    df["rel"] = np.where(df["treat"], df["year"] - df["g"], -1000).astype(float)
    kw = {"yname": "lemp", "first_stage": "~0|countyreal+year", "treatment": "treat",
          "cluster": cluster}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled = exact_pyfixest.did2s(df.copy(), second_stage="~d", **kw).tidy()
        event = exact_pyfixest.did2s(df.copy(), second_stage="~i(rel, ref=-1000.0)", **kw).tidy()
    ref = pd.concat([pooled, event])
    ours = res.table.set_index("term")
    assert res.n_clusters == df[cluster].nunique()
    for term, name in [("overall", "d"), ("event:+0", "rel::0.0"), ("event:+1", "rel::1.0")]:
        assert ours.loc[term, "estimate"] == pytest.approx(ref.loc[name, "Estimate"], rel=1e-9)
        assert ours.loc[term, "std_error"] == pytest.approx(ref.loc[name, "Std. Error"], rel=1e-9)


def test_full_mpdta_effects_are_means_of_imputed_gaps(mpdta):
    res = imputation_did(mpdta, "lemp", entity="countyreal", time="year", cohort="g")
    assert res.extra["n_treated"] == int(((mpdta["g"] > 0) & (mpdta["year"] >= mpdta["g"])).sum())
    w = res.extra["treated_per_event"] / res.extra["treated_per_event"].sum()
    events = res.table["estimate"].iloc[1:].to_numpy()
    assert res.estimate("overall") == pytest.approx(float(events @ w))
    assert list(res.table["term"]) == ["overall", "event:+0", "event:+1", "event:+2", "event:+3"]


def test_cohort_must_be_numeric_and_constant(mpdta):
    with pytest.raises(TypeError, match="'g'"):
        imputation_did(mpdta.assign(g=mpdta["g"].astype(str)), "lemp", "countyreal", "year", "g")
    df = mpdta.copy()
    df.loc[(df["countyreal"] == 8001) & (df["year"] == 2003), "g"] = 2004
    with pytest.raises(ValueError, match="8001"):
        imputation_did(df, "lemp", "countyreal", "year", "g")


# ------------------------------------------------------------------ Monte Carlo
COHORTS = {0: 0.0, 2012: 3.0, 2015: 1.0, 2018: 0.2}  # cohort -> effect per year of exposure
YEARS = np.arange(2010, 2020)
N_UNITS, REPS = 200, 40


def simulate(rng: np.random.Generator) -> pd.DataFrame:
    """Unit and year effects, AR-free noise; effects differ by cohort and grow with exposure."""
    unit = np.repeat(np.arange(N_UNITS), len(YEARS))
    year = np.tile(YEARS, N_UNITS)
    cohort = np.array(list(COHORTS))[unit % len(COHORTS)]
    slope = np.array([COHORTS[c] for c in cohort])
    exposure = np.where(cohort > 0, year - cohort + 1, 0).clip(min=0)
    effect = slope * exposure
    alpha = rng.normal(size=N_UNITS)[unit]
    y = alpha + 0.3 * (year - 2010) + effect + rng.normal(size=len(unit))
    return pd.DataFrame({"unit": unit, "year": year, "cohort": cohort, "y": y,
                         "d": (exposure > 0).astype(float), "effect": effect})  # fmt: skip


def test_twfe_biased_robust_estimators_not_under_heterogeneous_cohorts():
    rng = np.random.default_rng(12)
    rows = []
    for _ in range(REPS):
        df = simulate(rng)
        truth = df.loc[df["d"] == 1, "effect"].mean()
        naive = twfe(df, "y", ["d"], entity="unit", time="year", cluster="unit").estimate("d")
        cs = staggered_did(df, "y", entity="unit", time="year", cohort="cohort", bootstrap=0)
        imp = imputation_did(df, "y", entity="unit", time="year", cohort="cohort")
        rows.append((naive - truth, cs.aggregate("simple").estimate("overall") - truth,
                     imp.estimate("overall") - truth))  # fmt: skip
    err = pd.DataFrame(rows, columns=["twfe", "cs", "imputation"])
    bias, mc_se = err.mean(), err.std() / np.sqrt(REPS)
    assert abs(bias["cs"]) < 3 * mc_se["cs"], (bias, mc_se)
    assert abs(bias["imputation"]) < 3 * mc_se["imputation"], (bias, mc_se)
    # TWFE uses already-treated cohorts as controls: biased by far more than its noise
    assert abs(bias["twfe"]) > 20 * mc_se["twfe"], (bias, mc_se)
    assert abs(bias["twfe"]) > 1.0


def test_anticipation_window_is_left_out(mpdta):
    res = imputation_did(
        mpdta, "lemp", entity="countyreal", time="year", cohort="g", anticipation=1
    )
    treated_units = mpdta.loc[mpdta["g"] > 0, "countyreal"].nunique()
    # every treated unit loses the period before its cohort; the 2004 cohort then has no
    # untreated period left, so its treated observations cannot be imputed
    assert f"left out {treated_units} observation(s) in the anticipation window" in res.notes
    cohort_2004 = int(((mpdta["g"] == 2004) & (mpdta["year"] >= 2004)).sum())
    assert any(f"dropped {cohort_2004} treated observation(s)" in n for n in res.notes)


def test_point_estimates_equal_dense_least_squares_on_unbalanced_mpdta(mpdta):
    """Independent check: unit and year effects by dense lstsq on the untreated rows."""
    df = mpdta.drop(index=mpdta.index[::7])  # unbalanced: every 7th row gone
    res = imputation_did(df, "lemp", entity="countyreal", time="year", cohort="g")
    treated = ((df["g"] > 0) & (df["year"] >= df["g"])).to_numpy()
    units = pd.get_dummies(df["countyreal"]).to_numpy(float)
    years = pd.get_dummies(df["year"]).to_numpy(float)[:, 1:]
    X = np.hstack([units, years])
    coef = np.linalg.lstsq(X[~treated], df["lemp"].to_numpy()[~treated], rcond=None)[0]
    gap = df["lemp"].to_numpy() - X @ coef
    # a unit whose untreated rows were all removed has no effect to impute from
    has_untreated = units[~treated].sum(axis=0) > 0
    keep = treated & (units @ has_untreated).astype(bool)
    e = (df["year"] - df["g"]).to_numpy()
    assert res.estimate("overall") == pytest.approx(gap[keep].mean(), abs=1e-10)
    for h in (0, 1, 2, 3):
        assert res.estimate(f"event:+{h}") == pytest.approx(gap[keep & (e == h)].mean(), abs=1e-10)


def staggered_panel(seed: int, pre_shift: float = 0.0, n: int = 300) -> pd.DataFrame:
    """Cohorts 2013 and 2015 and never treated; effect 1.0; ``pre_shift`` added to the
    eventually treated units' outcomes in the two years before treatment (a violation of
    parallel trends, e.g. units that merge after a rise in the outcome)."""
    rng = np.random.default_rng(seed)
    years = np.arange(2010, 2018)
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), 8), "year": np.tile(years, n)})
    df["cohort"] = df["unit"].map(lambda u: [0, 2013, 2015][u % 3])
    df["prov"] = df["unit"] % 12
    lead = (df["cohort"] - df["year"]).to_numpy()
    ever = (df["cohort"] > 0).to_numpy()
    treated = ever & (lead <= 0)
    shifted = ever & (lead >= 1) & (lead <= 2)
    df["y"] = (df["unit"] % 7 + 0.1 * df["year"] + 1.0 * treated + pre_shift * shifted
               + rng.normal(size=len(df)))  # fmt: skip
    return df


def test_pretrend_test_matches_pyfixest_on_the_untreated_observations():
    """BJS Test 1 is an OLS of the untreated outcomes on unit and year effects and lead
    dummies; pyfixest's feols (CR1, fixest's default ssc) and its Wald F are the reference."""
    pf = pytest.importorskip("pyfixest")
    df = staggered_panel(5, pre_shift=0.2)
    for cluster in (None, "prov"):
        res = imputation_did(df, "y", entity="unit", time="year", cohort="cohort",
                             cluster=cluster, pretrends=2)  # fmt: skip
        untreated = df[(df["cohort"] == 0) | (df["year"] < df["cohort"])].copy()
        for j in (1, 2):
            untreated[f"lead{j}"] = ((untreated["cohort"] - untreated["year"]) == j).astype(float)
        fit = pf.feols("y ~ lead1 + lead2 | unit + year", data=untreated,
                       vcov={"CRV1": cluster or "unit"})  # fmt: skip
        ours = res.extra["pretrends"].set_index("term")
        for j in (1, 2):
            row = ours.loc[f"event:-{j}"]
            assert row["estimate"] == pytest.approx(fit.coef()[f"lead{j}"], rel=1e-8)
            assert row["std_error"] == pytest.approx(fit.se()[f"lead{j}"], rel=1e-6)
        wald = fit.wald_test()
        test = res.extra["pretrend_test"]
        assert test["statistic"] == pytest.approx(float(wald["statistic"]), rel=1e-6)
        assert test["p_value"] == pytest.approx(float(wald["pvalue"]), rel=1e-5)
        assert test["terms"] == ["event:-1", "event:-2"]


def test_pretrend_test_has_its_size_and_detects_a_pre_trend():
    """200 draws each, 150 units: under parallel trends the 5% test rejects in 2-9.5% of
    draws (binomial 3 s.d. around 5%); with a shift of 0.5 s.d. in the two years before
    treatment it rejects in more than 80%."""

    def rejections(pre_shift: float) -> float:
        hits = []
        for seed in range(200):
            res = imputation_did(staggered_panel(seed, pre_shift, n=150), "y", entity="unit",
                                 time="year", cohort="cohort", pretrends=2)  # fmt: skip
            hits.append(res.extra["pretrend_test"]["p_value"] < 0.05)
        return float(np.mean(hits))

    assert 0.02 <= rejections(0.0) <= 0.095
    assert rejections(0.5) > 0.8


def test_pretrends_is_off_by_default_and_checked():
    df = staggered_panel(0)
    res = imputation_did(df, "y", entity="unit", time="year", cohort="cohort")
    assert "pretrend_test" not in res.extra and "pretrends" not in res.extra
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="pretrends must be a whole number"):
            imputation_did(df, "y", entity="unit", time="year", cohort="cohort", pretrends=bad)
    # years 2010-2017: cohort 2015 has 5 untreated years, cohort 2013 three
    res = imputation_did(df, "y", entity="unit", time="year", cohort="cohort", pretrends=4)
    assert res.extra["pretrend_test"]["df"] == (4, 299.0)
    # 5 leads cover every untreated year of cohort 2015: collinear with its unit effects
    with pytest.raises(ValueError, match=r"pretrends=5: the pre-trend regression .*lead_5"):
        imputation_did(df, "y", entity="unit", time="year", cohort="cohort", pretrends=5)
    with pytest.raises(ValueError, match=r"no untreated observation lies \[6\] period"):
        imputation_did(df, "y", entity="unit", time="year", cohort="cohort", pretrends=6)


def test_rows_with_a_missing_id_or_cluster_are_dropped_and_said():
    df = staggered_panel(1).astype({"prov": float})
    df.loc[[3, 17], "prov"] = np.nan
    df.loc[[40], "y"] = np.nan
    res = imputation_did(df, "y", entity="unit", time="year", cohort="cohort", cluster="prov")
    assert res.n_obs == len(df) - 3
    assert "dropped 3 row(s) with a missing value in {'y': 1, 'prov': 2}" in res.notes
