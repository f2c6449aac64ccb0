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
    # pyfixest recovers the fixed effects iteratively (tolerance ~1e-8 in the demeaning);
    # the imputation here solves the normal equations exactly: agreement to ~1e-5
    for term, name in [("overall", "d"), ("event:+0", "rel::0.0"), ("event:+1", "rel::1.0")]:
        assert ours.loc[term, "estimate"] == pytest.approx(ref.loc[name, "Estimate"], abs=2e-5)
        assert ours.loc[term, "std_error"] == pytest.approx(ref.loc[name, "Std. Error"], rel=2e-3)


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
