"""Wild cluster bootstrap (WCR): exact against brute force, close to wildboottest.

The brute-force reference below is written plainly on purpose: it builds the full
dummy-variable regression, imposes the null, and for every sign vector rebuilds the
bootstrap sample, refits by least squares and recomputes the CR1 t-statistic. Our
implementation projects fixed effects out once and never refits, so agreement is
a real check of the "fast and wild" algebra.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis import twfe, wild_cluster_bootstrap
from analysis.inference.wild_bootstrap import WEBB, _weights_matrix

# -- data -------------------------------------------------------------------------------


def small_panel(n_groups: int, units_per_group: int, n_years: int, seed: int, effect: float):
    """Units nested in groups (the bootstrap clusters), a treatment at the group level."""
    rng = np.random.default_rng(seed)
    n_units = n_groups * units_per_group
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_years),
            "year": np.tile(np.arange(2010, 2010 + n_years), n_units),
        }
    )
    df["group"] = df["unit"] // units_per_group
    treated = rng.permutation(n_groups)[: n_groups // 2]
    df["post"] = (df["year"] >= 2010 + n_years // 2).astype(float)
    df["d"] = df["group"].isin(treated) * df["post"]
    df["x2"] = rng.normal(size=len(df))
    group_shock = rng.normal(size=(n_groups, n_years))[df["group"], df["year"] - 2010]
    df["y"] = (
        effect * df["d"]
        + 0.5 * df["x2"]
        + rng.normal(size=n_units)[df["unit"]]
        + 0.1 * (df["year"] - 2010)
        + group_shock
        + rng.normal(size=len(df))
    )
    df["w"] = rng.uniform(0.5, 2.0, size=n_units)[df["unit"]]
    return df


def dummy_design(df: pd.DataFrame, regressors: list[str], effects: list[str]) -> np.ndarray:
    """Regressors, an intercept and one dummy per fixed-effect level but the first."""
    cols = [df[regressors].to_numpy(float), np.ones((len(df), 1))]
    for fe in effects:
        cols.append(pd.get_dummies(df[fe], drop_first=True).to_numpy(float))
    return np.column_stack(cols)


def brute_force_t(y, X, R, r, clusters, weights=None) -> tuple[float, np.ndarray]:
    """Observed CR1 t and the WCR bootstrap t for every Rademacher sign vector."""
    sw = np.ones(len(y)) if weights is None else np.sqrt(weights)
    groups = np.unique(clusters)
    G = len(groups)

    def ols_t(yy):
        Xw, yw = X * sw[:, None], yy * sw
        XtX_inv = np.linalg.pinv(Xw.T @ Xw)
        b = XtX_inv @ Xw.T @ yw
        u = yw - Xw @ b
        meat = np.zeros((X.shape[1], X.shape[1]))
        for g in groups:
            s = Xw[clusters == g].T @ u[clusters == g]
            meat += np.outer(s, s)
        # CR1 scale is common to observed and bootstrap t: leave it out
        return (R @ b - r) / np.sqrt(R @ XtX_inv @ meat @ XtX_inv @ R), b

    t_obs, _ = ols_t(y)
    # restricted estimate: minimise the weighted SSR subject to R b = r
    Xw, yw = X * sw[:, None], y * sw
    A = np.linalg.pinv(Xw.T @ Xw)
    b = A @ Xw.T @ yw
    b_r = b - A @ R * (R @ b - r) / (R @ A @ R)
    u_r = y - X @ b_r
    t_boot = []
    for signs in itertools.product([-1.0, 1.0], repeat=G):
        v = np.asarray(signs)[np.searchsorted(groups, clusters)]
        t_star, _ = ols_t(X @ b_r + u_r * v)
        t_boot.append(t_star)
    return float(t_obs), np.array(t_boot)


def fit(df, regressors=("d", "x2"), effects=("entity", "time"), weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few clusters: the point of the bootstrap
        return twfe(
            df, "y", list(regressors), entity="unit", time="year", effects=effects,
            cluster="group", weights=weights,
        )


# -- exactness against brute-force enumeration -----------------------------------------------


@pytest.mark.parametrize(
    "effects, fe_columns, weights",
    [
        (("entity", "time"), ["unit", "year"], None),  # unit effects nested, year not
        (("time",), ["year"], None),  # nothing nested: intercept + year dummies
        (("entity", "time"), ["unit", "year"], "w"),  # weighted least squares
    ],
)
def test_enumeration_equals_brute_force(effects, fe_columns, weights):
    df = small_panel(n_groups=7, units_per_group=3, n_years=6, seed=3, effect=0.4)
    res = fit(df, effects=effects, weights=weights)
    boot = wild_cluster_bootstrap(res, term="d", draws=9999, ci=False)
    assert boot.enumerated and boot.draws == 2**7

    X = dummy_design(df, ["d", "x2"], fe_columns)
    R = np.zeros(X.shape[1])
    R[0] = 1.0
    w = None if weights is None else df[weights].to_numpy(float)
    t_obs, t_boot = brute_force_t(df["y"].to_numpy(), X, R, 0.0, df["group"].to_numpy(), w)

    assert boot.estimate == pytest.approx(res.estimate("d"), rel=1e-10)
    # the CR1 factor cancels in the p-value; compare the t's up to it
    scale = boot.t_stat / t_obs
    assert np.sort(boot.t_boot) == pytest.approx(np.sort(t_boot * scale), rel=1e-7, abs=1e-9)
    p_brute = np.mean(np.abs(t_boot) >= abs(t_obs) * (1 - 1e-9))
    assert boot.p_value == p_brute


def test_contrast_and_nonzero_null_equal_brute_force():
    df = small_panel(n_groups=6, units_per_group=4, n_years=5, seed=11, effect=0.3)
    res = fit(df)
    boot = wild_cluster_bootstrap(
        res, contrast={"d": 1.0, "x2": -2.0}, null=-0.5, draws=9999, ci=False
    )
    X = dummy_design(df, ["d", "x2"], ["unit", "year"])
    R = np.zeros(X.shape[1])
    R[:2] = [1.0, -2.0]
    t_obs, t_boot = brute_force_t(df["y"].to_numpy(), X, R, -0.5, df["group"].to_numpy())
    assert boot.p_value == np.mean(np.abs(t_boot) >= abs(t_obs) * (1 - 1e-9))
    assert boot.estimate == pytest.approx(res.estimate("d") - 2 * res.estimate("x2"))
    assert "1*d + -2*x2 = -0.5" == boot.hypothesis


def test_enumeration_is_deterministic_and_seed_free():
    df = small_panel(n_groups=8, units_per_group=3, n_years=5, seed=5, effect=0.2)
    res = fit(df)
    a = wild_cluster_bootstrap(res, term="d", seed=1)
    b = wild_cluster_bootstrap(res, term="d", seed=999)
    assert a.enumerated and a.p_value == b.p_value and a.seed is None


# -- agreement with the wildboottest package ------------------------------------------------------


def wildboottest_p(df, term: str, B: int, weights_type: str, seed: int) -> float:
    from wildboottest.wildboottest import wildboottest

    X = pd.DataFrame(dummy_design(df, ["d", "x2"], ["unit", "year"]))
    X.columns = ["d", "x2", *[f"c{i}" for i in range(X.shape[1] - 2)]]
    model = sm.OLS(df["y"].to_numpy(), X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = wildboottest(
            model, B=B, cluster=df["group"].to_numpy(), param=term,
            weights_type=weights_type, seed=seed, show=False, parallel=False,
        )
    return float(out["p-value"].iloc[0])


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_p_value_agrees_with_wildboottest_within_monte_carlo_error(weights):
    # 40 clusters: random draws in both implementations, so they differ by Monte Carlo error
    df = small_panel(n_groups=40, units_per_group=2, n_years=4, seed=21, effect=0.25)
    res = fit(df)
    B = 9999
    ours = wild_cluster_bootstrap(res, term="d", draws=B, weights=weights, seed=3, ci=False)
    theirs = wildboottest_p(df, "d", B, weights, seed=4)
    assert 0.02 < ours.p_value < 0.98, "pick data with an informative p-value"
    # difference of two independent estimates of the same p: sd sqrt(2 p (1-p) / B)
    sd = np.sqrt(2 * ours.p_value * (1 - ours.p_value) / B)
    assert abs(ours.p_value - theirs) < 4 * sd


def test_enumerated_p_value_matches_wildboottest_up_to_ties():
    # both enumerate all 2^9 sign vectors; wildboottest counts ties with ">" (see module doc)
    df = small_panel(n_groups=9, units_per_group=3, n_years=4, seed=8, effect=0.3)
    res = fit(df)
    ours = wild_cluster_bootstrap(res, term="d", draws=9999, ci=False)
    theirs = wildboottest_p(df, "d", 9999, "rademacher", seed=1)
    assert ours.enumerated
    assert 0 <= ours.p_value - theirs <= 2 / 2**9 + 1e-12


# -- confidence interval by test inversion ------------------------------------------------------


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_confidence_interval_inverts_the_test(weights):
    df = small_panel(n_groups=30, units_per_group=2, n_years=5, seed=13, effect=0.5)
    res = fit(df)
    boot = wild_cluster_bootstrap(res, term="d", draws=1999, weights=weights, seed=2)
    assert boot.ci_low < boot.estimate < boot.ci_high
    alpha = 1 - boot.level
    width = boot.ci_high - boot.ci_low
    for bound, outward in ((boot.ci_low, -1), (boot.ci_high, 1)):
        eps = 1e-4 * width
        inside = wild_cluster_bootstrap(
            res, term="d", null=bound - outward * eps, draws=1999, weights=weights, seed=2,
            ci=False,
        )
        outside = wild_cluster_bootstrap(
            res, term="d", null=bound + outward * eps, draws=1999, weights=weights, seed=2,
            ci=False,
        )
        assert inside.p_value >= alpha > outside.p_value
        assert inside.p_value == pytest.approx(alpha, abs=0.01)
    # the bootstrap interval is of the same order as the CR1 t interval
    row = res.table.set_index("term").loc["d"]
    assert 0.5 < width / (row["ci_high"] - row["ci_low"]) < 2


def test_p_value_at_estimate_is_one_and_small_far_away():
    df = small_panel(n_groups=30, units_per_group=2, n_years=5, seed=13, effect=0.5)
    res = fit(df)
    at = wild_cluster_bootstrap(res, term="d", null=res.estimate("d"), draws=999, ci=False)
    far = wild_cluster_bootstrap(
        res, term="d", null=res.estimate("d") + 20 * res.std_error("d"), draws=999, ci=False
    )
    assert at.p_value == 1.0
    assert far.p_value < 0.01


# -- weights, seeds and errors -------------------------------------------------------------------


def test_random_draws_are_reproducible_and_seed_dependent():
    df = small_panel(n_groups=30, units_per_group=2, n_years=4, seed=1, effect=0.2)
    res = fit(df)
    a = wild_cluster_bootstrap(res, term="d", draws=499, seed=7, ci=False)
    b = wild_cluster_bootstrap(res, term="d", draws=499, seed=7, ci=False)
    c = wild_cluster_bootstrap(res, term="d", draws=499, seed=8, ci=False)
    assert not a.enumerated and a.draws == 499
    assert np.array_equal(a.t_boot, b.t_boot)
    assert not np.array_equal(a.t_boot, c.t_boot)


def test_webb_weights_take_six_values_with_unit_variance():
    assert len(np.unique(WEBB)) == 6
    assert WEBB.mean() == pytest.approx(0.0)
    assert (WEBB**2).mean() == pytest.approx(1.0)


@pytest.mark.parametrize("kind, n_values", [("rademacher", 2), ("webb", 6)])
def test_drawn_weights_are_centred_independent_and_of_unit_variance(kind, n_values):
    V = _weights_matrix(kind, 40, 5_000, np.random.default_rng(0))
    assert V.shape == (40, 5_000) and len(np.unique(V)) == n_values
    se = 1 / np.sqrt(V.size)
    assert abs(V.mean()) < 4 * se
    assert abs((V**2).mean() - 1) < 4 * se * (0 if kind == "rademacher" else 2) + 1e-12
    corr = np.corrcoef(V)[np.triu_indices(40, 1)]  # clusters drawn independently
    assert np.abs(corr).max() < 5 / np.sqrt(5_000)


def test_errors_name_the_problem():
    df = small_panel(n_groups=8, units_per_group=3, n_years=4, seed=2, effect=0.2)
    res = fit(df)
    with pytest.raises(KeyError, match="nope"):
        wild_cluster_bootstrap(res, term="nope")
    with pytest.raises(ValueError, match="mammen"):
        wild_cluster_bootstrap(res, term="d", weights="mammen")
    with pytest.raises(KeyError, match="region"):
        wild_cluster_bootstrap(res, term="d", cluster="region")
    hetero = twfe(df, "y", ["d"], entity="unit", time="year", vcov="hetero")
    with pytest.raises(ValueError, match="give cluster="):
        wild_cluster_bootstrap(hetero, term="d")
    # an explicit cluster column used by the design works for a non-clustered result
    assert 0 <= wild_cluster_bootstrap(hetero, term="d", cluster="unit", draws=99).p_value <= 1


def test_few_clusters_note_suggests_webb():
    df = small_panel(n_groups=6, units_per_group=3, n_years=4, seed=2, effect=0.2)
    boot = wild_cluster_bootstrap(fit(df), term="d")
    assert any("webb" in n for n in boot.notes)
    assert "full enumeration" in boot.summary()


def test_fixed_null_shortcut_equals_the_r_linear_statistics():
    # ci=False computes the draws for the null value only; ci=True keeps them linear in r
    df = small_panel(n_groups=30, units_per_group=2, n_years=4, seed=9, effect=0.3)
    res = fit(df)
    for null in (0.0, 0.2):
        fast = wild_cluster_bootstrap(res, term="d", null=null, draws=999, seed=4, ci=False)
        full = wild_cluster_bootstrap(res, term="d", null=null, draws=999, seed=4)
        assert fast.p_value == full.p_value
        assert fast.t_boot == pytest.approx(full.t_boot, rel=1e-9)


def test_many_non_nested_levels_are_projected_out_and_said_so(monkeypatch):
    import analysis.inference.wild_bootstrap as wb

    df = small_panel(n_groups=10, units_per_group=3, n_years=6, seed=4, effect=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = twfe(df, "y", ["d", "x2"], entity="unit", time="year", cluster="year")
    exact = wild_cluster_bootstrap(res, term="d", ci=False)  # 29 unit dummies: exact path
    assert not any("approximates" in n for n in exact.notes)
    monkeypatch.setattr(wb, "MAX_DUMMIES", 10)
    approx = wild_cluster_bootstrap(res, term="d", ci=False)
    assert any("['unit']" in n and "approximates" in n for n in approx.notes)
    assert approx.estimate == pytest.approx(exact.estimate)
    assert approx.t_stat == pytest.approx(exact.t_stat)
