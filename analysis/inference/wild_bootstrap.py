"""Wild cluster bootstrap, restricted (WCR), on the small residualised system.

Conventions (those of ``wildboottest``/``fwildclusterboot``, "WCR11"):

* the null ``R b = r`` is imposed on the bootstrap data-generating process;
* bootstrap t-statistics use the CR1 variance with ``G/(G-1) (N-1)/(N-K)`` (the
  factor is common to the observed and bootstrap t, so the p-value does not
  depend on it);
* two-sided p-value ``mean(|t*| >= |t|)``; the draws with the same sign in every
  cluster reproduce the observed ``t`` exactly and count as ties (wildboottest
  uses ``>``, so under full enumeration it can be lower by at most ``2 / 2^G``);
* Rademacher weights are fully enumerated when ``2^G <= draws`` (e.g. the 12
  provinces: 4,096 sign vectors), so the p-value is exact and deterministic.

Speed ("fast and wild", Roodman, MacKinnon, Nielsen & Webb 2019): fixed effects
nested in the bootstrap clusters are projected out once; the few effects that
are not (the year effects when clustering by municipality) enter as dummy
columns, so the bootstrap equals the one on the full dummy-variable regression
exactly. Each draw then costs O(G k): with per-cluster scores ``s_g`` and
``W_g = A Z_g'Z_g A R'`` (``A = (Z'Z)^-1``) the bootstrap numerator is ``c'v``
and the cluster scores of the bootstrap residuals are ``c_g v_g - W_g' S'v``.
Both are linear in the null value ``r``, so the confidence interval by test
inversion re-uses the same draws at no extra cost per candidate ``r``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.inference.covariance import nested_k
from analysis.inference.fe import demean

if TYPE_CHECKING:
    from analysis.results import EstimationResult

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
MAX_DUMMIES = 500  # non-nested effects with more levels are projected out (approximation)
_CHUNK_ELEMENTS = 2_000_000  # G x draws block held in memory at once


@dataclass
class BootstrapResult:
    """Wild cluster bootstrap test of ``R b = r`` and its confidence interval."""

    hypothesis: str
    estimate: float
    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    level: float
    draws: int
    weights: str
    enumerated: bool
    n_clusters: int
    cluster: str
    seed: int | None
    t_boot: np.ndarray = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        how = "full enumeration" if self.enumerated else f"{self.draws} draws, seed {self.seed}"
        return (
            f"wild cluster bootstrap (WCR, {self.weights}, {how}) of {self.hypothesis}\n"
            f"clusters: {self.n_clusters} ({self.cluster})\n"
            f"estimate {self.estimate:.6g}   t {self.t_stat:.4f}   p {self.p_value:.4f}   "
            f"{self.level:.0%} CI [{self.ci_low:.6g}, {self.ci_high:.6g}]"
            + "".join(f"\nnote: {n}" for n in self.notes)
        )

    def __repr__(self) -> str:
        return self.summary()


def _system(fit, cluster_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int, list[str]]:
    """Residualised (Z, y): nested effects projected out, the others as dummies."""
    nested = [fe for fe in fit.effects if fe.nested_in(cluster_codes)]
    other = [fe for fe in fit.effects if fe not in nested]
    notes: list[str] = []
    n_dummies = sum(fe.n_levels - 1 for fe in other)
    if n_dummies > MAX_DUMMIES:
        notes.append(
            f"effects {[fe.name for fe in other]} are not nested in the clusters and have "
            f"{n_dummies} levels: projected out, which approximates the dummy-variable bootstrap"
        )
        nested, other = fit.effects, []
    cols = [fit.X_raw]
    if other and not nested:
        # no effect is projected out, so nothing absorbs the constant: the dummies
        # below drop their first level and need an explicit intercept
        cols.append(np.ones((fit.X_raw.shape[0], 1)))
    for fe in other:
        d = fe.indicator().toarray()[:, 1:]
        cols.append(d)
    Z = np.column_stack(cols) if len(cols) > 1 else fit.X_raw
    both = demean(np.column_stack([fit.y_raw, Z]), nested, fit.weights)
    y, Z = both[:, 0], both[:, 1:]
    if fit.weights is not None:
        sw = np.sqrt(fit.weights)
        y, Z = y * sw, Z * sw[:, None]
    k_slopes = fit.X_raw.shape[1]
    if Z.shape[1] > k_slopes:  # drop dummy columns made redundant by other effects
        keep = _independent_columns(Z, k_slopes)
        Z = Z[:, keep]
    K = nested_k(Z.shape[1], nested, [cluster_codes])
    return Z, y, K, k_slopes, notes


def _independent_columns(Z: np.ndarray, n_first: int) -> np.ndarray:
    """Indices of a maximal set of independent columns that keeps the first ``n_first``."""
    import scipy.linalg as la

    Q, _ = np.linalg.qr(Z[:, :n_first])
    rest = Z[:, n_first:] - Q @ (Q.T @ Z[:, n_first:])
    _, r, piv = la.qr(rest, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-9 * max(diag.max(initial=0), 1e-300)))
    return np.concatenate([np.arange(n_first), n_first + np.sort(piv[:rank])])


def _weights_matrix(kind: str, G: int, b: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "rademacher":
        return rng.integers(0, 2, size=(G, b)).astype(float) * 2 - 1
    return WEBB[rng.integers(0, 6, size=(G, b))]


def _enumeration(G: int) -> np.ndarray:
    codes = np.arange(2**G)[None, :] >> np.arange(G)[:, None]
    return (codes & 1).astype(float) * 2 - 1


def _resolve_cluster(result: EstimationResult, cluster: str | None) -> tuple[np.ndarray, str]:
    frame: pd.DataFrame = result.fit.extra["frame"]
    if cluster is None:
        used = result.fit.extra.get("cluster", [])
        if len(used) != 1:
            raise ValueError(
                "wild_cluster_bootstrap: give cluster= (the result is "
                + ("two-way clustered" if used else "not clustered")
                + "); the bootstrap clusters on one column"
            )
        cluster = used[0]
    if cluster not in frame.columns:
        raise KeyError(
            f"wild_cluster_bootstrap: cluster column {cluster!r} was not used by the design; "
            f"available: {list(frame.columns)}"
        )
    return pd.factorize(frame[cluster], sort=True)[0], cluster


def wild_cluster_bootstrap(
    result: EstimationResult,
    term: str | None = None,
    contrast: dict[str, float] | None = None,
    null: float = 0.0,
    draws: int = 9999,
    weights: str = "rademacher",
    seed: int | None = 0,
    cluster: str | None = None,
    level: float = 0.95,
    ci: bool = True,
) -> BootstrapResult:
    """Restricted wild cluster bootstrap (WCR11) p-value and confidence interval.

    Parameters
    ----------
    result : EstimationResult
        From any design (it keeps the solved system in ``result.fit``).
    term : str, optional
        Coefficient to test (``term == null``). Default: the first row of the table.
    contrast : dict, optional
        A linear combination instead, e.g. ``{"large:event+0": 1, "large:event+1": -1}``.
    null : float
        Value of the coefficient or combination under the null hypothesis.
    draws : int
        Bootstrap draws; Rademacher weights with ``2^G <= draws`` are fully enumerated.
    weights : {"rademacher", "webb"}
        Webb's six-point weights are preferable with fewer than about 12 clusters.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed and clusters give the
        same draws for every outcome (needed for Romano-Wolf).
    cluster : str, optional
        Bootstrap cluster column; default the result's (one-way) cluster column.
    level : float
        Confidence level of the interval found by inverting the bootstrap test.
    ci : bool
        Compute the interval (a few extra milliseconds).

    Returns
    -------
    BootstrapResult with ``p_value``, ``ci_low``, ``ci_high`` and the bootstrap
    t-statistics under the null (``t_boot``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import twfe, wild_cluster_bootstrap
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(60), 5), "year": np.tile(np.arange(5), 60)})
    >>> df["x"] = rng.normal(size=300)
    >>> df["y"] = 0.3 * df["x"] + rng.normal(size=300)
    >>> res = twfe(df, "y", ["x"], entity="unit", time="year", cluster="unit")
    >>> boot = wild_cluster_bootstrap(res, term="x", draws=999, seed=1)
    >>> bool(boot.p_value < 0.05 and boot.ci_low < 0.3 < boot.ci_high)
    True
    """
    if result.fit is None:
        raise ValueError(f"{result.design}: this result has no single fitted model to bootstrap")
    if weights not in ("rademacher", "webb"):
        raise ValueError(f"weights must be 'rademacher' or 'webb', not {weights!r}")
    names = result.fit.names
    if contrast is None:
        term = term if term is not None else str(result.table["term"].iloc[0])
        contrast = {term: 1.0}
    unknown = [t for t in contrast if t not in names]
    if unknown:
        raise KeyError(f"terms {unknown} not in the model; terms: {names}")
    hypothesis = " + ".join(f"{w:g}*{t}" for t, w in contrast.items()) + f" = {null:g}"
    codes, cname = _resolve_cluster(result, cluster)
    G = int(codes.max()) + 1
    if G < 2:
        raise ValueError("wild_cluster_bootstrap: need at least 2 clusters")
    Z, y, K, _, notes = _system(result.fit, codes)
    R = np.zeros(Z.shape[1])
    for t, w in contrast.items():
        R[names.index(t)] = w
    core = _BootstrapCore(Z, y, R, codes, G, K)
    enumerated = weights == "rademacher" and 2**G <= draws
    stats = core.draw_statistics(draws, weights, seed, enumerated)
    est, se = core.estimate, core.se
    t_obs = (est - null) / se
    p = core.p_value(stats, null)
    lo = hi = np.nan
    if ci:
        lo, hi = core.confidence_interval(stats, level)
    if G < 12 and weights == "rademacher":
        notes.append(
            f"only {G} clusters: with Rademacher weights at most 2^{G} distinct draws; "
            "consider weights='webb'"
        )
    return BootstrapResult(
        hypothesis=hypothesis,
        estimate=est,
        t_stat=float(t_obs),
        p_value=float(p),
        ci_low=float(lo),
        ci_high=float(hi),
        level=level,
        draws=int(stats["n0"].shape[0]),
        weights=weights,
        enumerated=enumerated,
        n_clusters=G,
        cluster=cname,
        seed=None if enumerated else seed,
        t_boot=core.t_boot(stats, null),
        notes=notes,
    )


class _BootstrapCore:
    """Per-cluster pieces of the residualised system, linear in the null value r."""

    def __init__(self, Z, y, R, codes, G, K):
        n, k = Z.shape
        A = np.linalg.inv(Z.T @ Z)
        beta = A @ (Z.T @ y)
        u = y - Z @ beta
        a = R @ A  # (k,)
        self.ssc = G / (G - 1) * (n - 1) / (n - K)
        self.codes, self.G = codes, G

        def per_cluster(M):
            out = np.zeros((G, M.shape[1]))
            np.add.at(out, codes, M)
            return out

        # unrestricted estimate and its CR1 standard error
        self.estimate = float(R @ beta)
        c_hat = per_cluster(Z * u[:, None]) @ a
        self.se = float(np.sqrt(self.ssc * np.sum(c_hat**2)))
        # restricted residuals u_r(r) = u0 + r * u1
        h = Z @ a / float(a @ R)
        u0 = u + h * self.estimate
        u1 = -h
        self.S0 = per_cluster(Z * u0[:, None])  # G x k
        self.S1 = per_cluster(Z * u1[:, None])
        self.c0, self.c1 = self.S0 @ a, self.S1 @ a
        self.W = per_cluster(Z * (Z @ a)[:, None]) @ A  # rows W_g' = a Z_g'Z_g A

    def draw_statistics(self, draws, weights, seed, enumerated) -> dict[str, np.ndarray]:
        """For every draw: numerator n0 + r n1 and squared denominator q0 + 2r q1 + r^2 q2."""
        G = self.G
        if enumerated:
            blocks = [_enumeration(G)]
        else:
            rng = np.random.default_rng(seed)
            size = max(1, _CHUNK_ELEMENTS // G)
            blocks = (
                _weights_matrix(weights, G, min(size, draws - s), rng)
                for s in range(0, draws, size)
            )
        parts: dict[str, list] = {k: [] for k in ("n0", "n1", "q0", "q1", "q2")}
        for V in blocks:
            P0, P1 = self.S0.T @ V, self.S1.T @ V  # k x b
            E0 = self.c0[:, None] * V - self.W @ P0
            E1 = self.c1[:, None] * V - self.W @ P1
            parts["n0"].append(self.c0 @ V)
            parts["n1"].append(self.c1 @ V)
            parts["q0"].append(np.einsum("gb,gb->b", E0, E0))
            parts["q1"].append(np.einsum("gb,gb->b", E0, E1))
            parts["q2"].append(np.einsum("gb,gb->b", E1, E1))
        return {k: np.concatenate(v) for k, v in parts.items()}

    def t_boot(self, st, r: float) -> np.ndarray:
        num = st["n0"] + r * st["n1"]
        den2 = self.ssc * (st["q0"] + 2 * r * st["q1"] + r * r * st["q2"])
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(np.clip(den2, 0, None))

    def p_value(self, st, r: float) -> float:
        t = abs((self.estimate - r) / self.se)
        # Draws with v = +-1 in every cluster reproduce the observed t exactly; count
        # ties as "at least as extreme" (with a rounding tolerance) so an enumerated
        # p-value is the exact randomisation p-value, not a matter of rounding.
        return float(np.mean(np.abs(self.t_boot(st, r)) >= t * (1 - 1e-9)))

    def confidence_interval(self, st, level: float) -> tuple[float, float]:
        alpha = 1 - level
        bounds = []
        for side in (-1.0, 1.0):
            inner = self.estimate
            step = self.se
            outer = inner + side * step
            for _ in range(60):  # expand until the null is rejected
                if self.p_value(st, outer) < alpha:
                    break
                step *= 2
                outer = inner + side * step
            else:
                bounds.append(side * np.inf)
                continue
            for _ in range(60):  # bisect the acceptance boundary
                mid = 0.5 * (inner + outer)
                if self.p_value(st, mid) >= alpha:
                    inner = mid
                else:
                    outer = mid
                if abs(outer - inner) <= 1e-7 * self.se:
                    break
            bounds.append(0.5 * (inner + outer))
        return bounds[0], bounds[1]


