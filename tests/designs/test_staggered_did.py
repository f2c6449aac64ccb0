"""Callaway-Sant'Anna ``staggered_did`` against R ``did``'s published mpdta results.

Point estimates are the printed outputs of the did package's README and its
``did-basics`` vignette and ``aggte`` reference page (did 2.5.1, commit 71ba8a5):
``att_gt(yname="lemp", tname="year", idname="countyreal", gname="first.treat",
xformla=~1, data=mpdta)`` with ``est_method`` "dr" (vignette) and "reg" (README), and
``aggte(..., type=...)``. Those pages print *bootstrap* standard errors (random), so
the analytic ones (``bstrap=FALSE``), and the runs with ``xformla=~lpop``, every
``est_method`` and not-yet-treated controls, come from R did 2.5.1 run on this
project's build machine: ``fixtures/mpdta/r_did_reference.txt`` (versions, commits
and the R script in its header). Both are matched to 1e-8, far inside 4 decimals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import staggered_did
from analysis.designs._cs_inference import multiplier_draws

MPDTA = Path(__file__).resolve().parents[1] / "fixtures" / "mpdta" / "mpdta.csv"
R_REFERENCE = MPDTA.with_name("r_did_reference.txt")
CONTROLS = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}

# README.md / did-basics.md: "Group-Time Average Treatment Effects" (identical for dr and reg)
PUBLISHED_ATT_GT = {
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
    (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
    (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}  # fmt: skip
PUBLISHED_PRETEST_P = 0.16812  # "P-value for pre-test of parallel trends assumption"
# docs/reference/aggte.md and README.md, aggte(out, type=...): overall first
PUBLISHED_AGGTE = {
    "simple": {"overall": -0.04},
    "group": {"overall": -0.031, "group:2004": -0.0797, "group:2006": -0.0229,
              "group:2007": -0.0261},
    "dynamic": {"overall": -0.0772, "event:-3": 0.0305, "event:-2": -0.0006,
                "event:-1": -0.0245, "event:+0": -0.0199, "event:+1": -0.0510,
                "event:+2": -0.1373, "event:+3": -0.1008},
    "calendar": {"overall": -0.0417, "time:2004": -0.0105, "time:2005": -0.0704,
                 "time:2006": -0.0488, "time:2007": -0.0371},
}  # fmt: skip
# did-basics.md: aggte(mw.attgt, type = "dynamic", balance_e = 1)
PUBLISHED_BALANCED = {"overall": -0.0288, "event:-2": 0.0065, "event:-1": -0.0028,
                      "event:+0": -0.0066, "event:+1": -0.0510}  # fmt: skip


def close4(value: float, published: float) -> bool:
    """Equal to the published figure at its 4 printed decimals."""
    return abs(value - published) <= 0.5e-4 + 1e-12


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


def fit(df: pd.DataFrame, **kw):
    return staggered_did(df, "lemp", entity="countyreal", time="year", cohort="first.treat", **kw)


@pytest.fixture(scope="module")
def dr(mpdta):
    return fit(mpdta)


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_att_gt_reproduces_published_mpdta(mpdta, method):
    res = fit(mpdta, est_method=method)
    got = {(int(g), int(t)): e for g, t, e in res.table[["group", "time", "estimate"]].to_numpy()}
    assert got.keys() == PUBLISHED_ATT_GT.keys()
    for cell, published in PUBLISHED_ATT_GT.items():
        assert close4(got[cell], published), (cell, got[cell], published)
    assert res.extra["pretrend_test"]["p_value"] == pytest.approx(PUBLISHED_PRETEST_P, abs=5e-6)


@pytest.mark.parametrize("kind", list(PUBLISHED_AGGTE))
def test_aggregations_reproduce_published_mpdta(dr, kind):
    agg = dr.aggregate(kind)
    assert list(agg.table["term"]) == list(PUBLISHED_AGGTE[kind])
    for term, published in PUBLISHED_AGGTE[kind].items():
        assert close4(agg.estimate(term), published), (kind, term, agg.estimate(term))


def test_balanced_event_study_reproduces_published(dr):
    agg = dr.aggregate("dynamic", balance_e=1)
    assert list(agg.table["term"]) == list(PUBLISHED_BALANCED)
    for term, published in PUBLISHED_BALANCED.items():
        assert close4(agg.estimate(term), published), (term, agg.estimate(term))


def test_analytic_se_is_the_influence_function_formula(dr, mpdta):
    """SE = sqrt(sum psi^2)/n, psi the unit-level influence function (R did, bstrap=FALSE).

    Checked by hand for ATT(2004,2006) without covariates, where psi is the
    difference-in-means influence function scaled by n/n_cell.
    """
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().loc[wide.index].to_numpy()
    dy = (wide[2006] - wide[2003]).to_numpy()
    t, c = g == 2004, g == 0
    n, n1 = len(g), (t | c).sum()
    psi = np.zeros(n)
    psi[t] = (dy[t] - dy[t].mean()) / (t.sum() / n1)
    psi[c] = -(dy[c] - dy[c].mean()) / (c.sum() / n1)
    expected = np.sqrt(np.sum((psi * n / n1) ** 2)) / n
    assert dr.std_error("ATT(2004,2006)") == pytest.approx(expected, rel=1e-12)


def test_uniform_band_wider_than_pointwise_and_seeded(dr, mpdta):
    tab = dr.table
    assert (tab["cband_high"] - tab["cband_low"] > tab["ci_high"] - tab["ci_low"]).all()
    assert dr.extra["critical_value"] > 1.96
    again = fit(mpdta)
    assert again.extra["critical_value"] == dr.extra["critical_value"]
    # bootstrap SEs estimate the same thing as the analytic ones
    ratio = tab["boot_se"] / tab["std_error"]
    assert ratio.between(0.85, 1.15).all(), ratio


def test_aggregate_table_starts_with_overall_and_has_bands(dr):
    for kind in ("simple", "group", "dynamic", "calendar"):
        agg = dr.aggregate(kind)
        assert agg.table["term"].iloc[0] == "overall"
        assert {"estimate", "std_error", "ci_low", "ci_high", "cband_low", "cband_high"} <= set(
            agg.table
        )
        rows = agg.table.iloc[1:]
        assert (
            rows["cband_high"] - rows["cband_low"] >= rows["ci_high"] - rows["ci_low"] - 1e-12
        ).all()


def test_multiplier_weights_have_mean_zero_variance_one():
    for kind in ("mammen", "rademacher"):
        v = multiplier_draws(200_000, 1, kind, seed=1)
        assert abs(v.mean()) < 0.01 and abs(v.var() - 1) < 0.01
    mammen = multiplier_draws(200_000, 1, "mammen", seed=1)
    assert abs(np.mean(mammen**3) - 1) < 0.03  # Mammen's third moment is 1


def test_not_yet_treated_uses_later_cohorts_as_controls(mpdta):
    never = fit(mpdta)
    nyt = fit(mpdta, control_group="not_yet_treated")
    # ATT(2004,2004): 2006 and 2007 cohorts are not yet treated in 2004 -> more controls
    row = nyt.table.set_index("term").loc["ATT(2004,2004)"]
    assert row["std_error"] < never.std_error("ATT(2004,2004)")
    # last periods: no cohort is untreated after 2007, both estimators coincide
    assert nyt.estimate("ATT(2004,2007)") == pytest.approx(never.estimate("ATT(2004,2007)"))
    # hand check: ATT(2004,2004) against never treated and the 2006/2007 cohorts
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().loc[wide.index]
    dy = wide[2004] - wide[2003]
    expected = dy[g == 2004].mean() - dy[(g == 0) | (g > 2004)].mean()
    assert nyt.estimate("ATT(2004,2004)") == pytest.approx(expected, abs=1e-12)


def test_covariates_dr_ipw_reg_agree_closely_but_differ(mpdta):
    res = {
        m: fit(mpdta, covariates=["lpop"], est_method=m, bootstrap=0) for m in ("dr", "ipw", "reg")
    }
    a, b, c = (res[m].table["estimate"].to_numpy() for m in ("dr", "ipw", "reg"))
    assert np.abs(a - b).max() < 5e-3 and np.abs(a - c).max() < 5e-3
    assert np.abs(a - c).max() > 1e-6  # the covariate is used


def test_cluster_sums_influence_functions(mpdta):
    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    clustered = fit(df, cluster="state", bootstrap=0)
    assert clustered.n_clusters == df["state"].nunique()
    assert not np.allclose(clustered.table["std_error"], fit(mpdta, bootstrap=0).table["std_error"])


def r_reference() -> pd.DataFrame:
    """Rows of the R output: spec, type, term, estimate, std_error."""
    rows = []
    for line in R_REFERENCE.read_text().splitlines():
        f = line.split()
        if not f or f[0] not in ("ATTGT", "AGG"):
            continue
        spec = (f[1], f[2], f[3])
        if f[0] == "ATTGT":
            rows.append((*spec, "att_gt", f"ATT({f[4]},{f[5]})", float(f[6]), float(f[7])))
            continue
        kind, label = f[4], f[6]
        term = "overall" if f[5] == "overall" else {
            "group": f"group:{label}", "calendar": f"time:{label}",
            "dynamic": f"event:{int(label):+d}"}[kind]  # fmt: skip
        rows.append((*spec, kind, term, float(f[7]), float(f[8])))
    return pd.DataFrame(rows, columns=["xformla", "method", "control", "type", "term", "att", "se"])


@pytest.mark.parametrize(
    "xformla,method,control",
    [(x, m, "nevertreated") for x in ("~1", "~lpop") for m in ("dr", "ipw", "reg")]
    + [("~1", "dr", "notyettreated"), ("~lpop", "dr", "notyettreated")],
)
def test_matches_r_did_analytic_standard_errors(mpdta, xformla, method, control):
    ref = r_reference()
    ref = ref[(ref["xformla"] == xformla) & (ref["method"] == method) & (ref["control"] == control)]
    res = fit(mpdta, covariates=None if xformla == "~1" else ["lpop"], est_method=method,
              control_group=CONTROLS[control], bootstrap=0)  # fmt: skip
    results = {"att_gt": res} | {
        k: res.aggregate(k) for k in ("simple", "group", "dynamic", "calendar")
    }
    assert len(ref) == 12 + 1 + 4 + 8 + 5
    for row in ref.itertuples():
        got = results[row.type]
        assert got.estimate(row.term) == pytest.approx(row.att, abs=1e-8), row
        assert got.std_error(row.term) == pytest.approx(row.se, abs=1e-8), row
    for kind in ("group", "dynamic", "calendar"):  # same rows, same order as R
        assert list(results[kind].table["term"]) == list(ref.loc[ref["type"] == kind, "term"])


# ------------------------------------------------------------------ input checks
def test_non_numeric_cohort_names_the_column(mpdta):
    df = mpdta.assign(**{"first.treat": mpdta["first.treat"].astype(str)})
    with pytest.raises(TypeError, match="'first.treat'"):
        fit(df)


def test_cohort_between_periods_is_an_error(mpdta):
    df = mpdta.astype({"first.treat": float})
    df.loc[df["countyreal"] == 8001, "first.treat"] = 2005.5
    with pytest.raises(ValueError, match=r"2005\.5.*'first.treat'.*8001"):
        fit(df)


def test_cohort_varying_within_unit_is_an_error(mpdta):
    df = mpdta.copy()
    df.loc[(df["countyreal"] == 8001) & (df["year"] == 2003), "first.treat"] = 2006
    with pytest.raises(ValueError, match="8001"):
        fit(df)


def test_unbalanced_panel_raises_or_drops_and_says_so(mpdta):
    df = mpdta[~((mpdta["countyreal"] == 8001) & (mpdta["year"] == 2005))]
    with pytest.raises(ValueError, match="unbalanced.*8001"):
        fit(df)
    res = fit(df, unbalanced="drop", bootstrap=0)
    assert any("dropped 1 countyreal" in n for n in res.notes)
    assert res.extra["n_units"] == 499


def test_nan_cohort_is_never_treated_and_late_cohorts_too(mpdta):
    df = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, np.nan)})
    assert np.allclose(
        fit(df, bootstrap=0).table["estimate"], fit(mpdta, bootstrap=0).table["estimate"]
    )
    late = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, 2030)})
    res = fit(late, bootstrap=0)
    assert any("after the last period" in n for n in res.notes)


def test_already_treated_units_dropped_with_note(mpdta):
    df = mpdta.copy()
    df.loc[df["countyreal"] == 8001, "first.treat"] = 2003
    res = fit(df, bootstrap=0)
    assert any("already treated" in n and "8001" in n for n in res.notes)
    assert res.extra["n_units"] == 499


def test_no_never_treated_needs_not_yet_treated(mpdta):
    df = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(ValueError, match="not_yet_treated"):
        fit(df)
    res = fit(df, control_group="not_yet_treated", bootstrap=0)
    assert set(res.table["group"]) == {2004, 2006}  # the last cohort is only a control
    assert res.table["time"].max() < 2007


def test_anticipation_shifts_the_base_period(mpdta):
    res = fit(mpdta, anticipation=1, bootstrap=0)
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().loc[wide.index]
    dy = wide[2007] - wide[2004]  # cohort 2006 with one period of anticipation: base 2004
    expected = dy[g == 2006].mean() - dy[g == 0].mean()
    assert res.estimate("ATT(2006,2007)") == pytest.approx(expected, abs=1e-12)


def test_integer_weights_equal_duplicated_units(mpdta):
    """Weight 2 on a unit gives the point estimates of that unit counted twice."""
    heavy = mpdta["countyreal"] % 3 == 0
    weighted = fit(mpdta.assign(w=np.where(heavy, 2.0, 1.0)), weights="w", bootstrap=0)
    twice = pd.concat([mpdta, mpdta[heavy].assign(countyreal=mpdta["countyreal"] + 100_000)])
    duplicated = fit(twice, bootstrap=0)
    assert np.allclose(weighted.table["estimate"], duplicated.table["estimate"], atol=1e-12)
    for kind in ("simple", "group", "dynamic", "calendar"):
        a, b = weighted.aggregate(kind).table, duplicated.aggregate(kind).table
        assert np.allclose(a["estimate"], b["estimate"], atol=1e-12), kind


def test_dynamic_pretrend_test_uses_the_event_time_covariance(dr):
    agg = dr.aggregate("dynamic")
    pt = agg.extra["pretrend_test"]
    assert pt["terms"] == ["event:-3", "event:-2", "event:-1"]
    b = agg.table.set_index("term").loc[pt["terms"], "estimate"].to_numpy()
    V = agg.vcov.loc[pt["terms"], pt["terms"]].to_numpy()
    assert pt["chi2"] == pytest.approx(float(b @ np.linalg.solve(V, b)))
    assert np.allclose(
        np.sqrt(np.diag(V)), agg.table.set_index("term").loc[pt["terms"], "std_error"]
    )
    assert 0 < pt["p_value"] < 1


@pytest.mark.parametrize("size", [1, 7, 3000 * 999])
def test_multiplier_bits_are_numpys_full_range_uint32_integers(size):
    # the multiplier draws read 32-bit values from the bit generator directly (faster);
    # they must be exactly the stream of rng.integers(0, 2**32, dtype=uint32)
    from analysis.designs._cs_inference import _uint32_bits

    ref = np.random.default_rng(5).integers(0, 2**32, size=size, dtype=np.uint32)
    assert np.array_equal(_uint32_bits(np.random.default_rng(5), size), ref)
    for kind, low in (("rademacher", 2**31), ("mammen", None)):
        v = multiplier_draws(size, 1, kind, seed=5)
        if low is None:
            p = (np.sqrt(5) + 1) / (2 * np.sqrt(5))
            low = round(p * 2**32)
            a, b = np.float32((1 - np.sqrt(5)) / 2), np.float32((1 + np.sqrt(5)) / 2)
        else:
            a, b = np.float32(-1.0), np.float32(1.0)
        expected = np.where(ref < np.uint32(low), a, b).reshape(1, size)
        assert v.dtype == np.float32 and np.array_equal(v, expected)
