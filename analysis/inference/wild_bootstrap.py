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

Unbounded intervals. A draw whose weight is the same in every cluster (``v = c 1``)
rebuilds the data up to scale, so its bootstrap t equals the observed t at *every*
null value: it is always "at least as extreme". Far from the estimate every other
draw's t stays bounded while the observed t grows without bound, so the p-value
tends to the share of such draws (2 of the 2^G sign vectors under enumeration). When
that share is at least ``1 - level`` no value is ever rejected and the interval is
the whole line: it is reported as ``(-inf, inf)`` with a note, never as the large
finite numbers that rounding produces far out. With Rademacher weights this happens
for ``2 / 2^G >= 1 - level``: G <= 5 clusters at 95%, G <= 7 at 99%.

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

from analysis.inference.checks import check_draws, check_level
from analysis.inference.covariance import nested_k
from analysis.inference.fe import demean

if TYPE_CHECKING:
    from analysis.results import EstimationResult

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
MAX_DUMMIES = 500  # non-nested effects with more levels are projected out (approximation)
_CHUNK_ELEMENTS = 2_000_000  # G x draws block of weights drawn at once (fixes the stream)
_CACHE_ELEMENTS = 65_536  # G x draws float block multiplied at once (fits in L2)


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
    other = [fe for fe in fit.effects if not fe.nested_in(cluster_codes)]
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


_SIGNS = np.array([-1.0, 1.0])


def _weight_codes(kind: str, G: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """G x b uint8 codes of the weights (index into ``_SIGNS`` or ``WEBB``). Rademacher
    signs come from random bits (8 per random byte): drawing them is otherwise the largest
    cost of a bootstrap at a few hundred clusters."""
    if kind == "rademacher":
        raw = rng.integers(0, 256, size=-(-G * b // 8), dtype=np.uint8)
        return np.unpackbits(raw, count=G * b).reshape(G, b)
    return rng.integers(0, 6, size=(G, b), dtype=np.uint8)


def _weights_matrix(kind: str, G: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """G x b weights, as drawn by the bootstrap from ``rng``."""
    return (_SIGNS if kind == "rademacher" else WEBB)[_weight_codes(kind, G, b, rng)]


def _enumeration_codes(G: int) -> np.ndarray:
    codes = np.arange(2**G)[None, :] >> np.arange(G)[:, None]
    return (codes & 1).astype(np.uint8)


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

    Use it when clusters are few (the 12 provinces) or unequal in size, where
    cluster-robust t-tests over-reject. What it assumes: errors independent across
    clusters, and enough clusters *carrying the variation being tested*. When it
    fails: with very few treated clusters (say under 5, e.g. a reform in one
    province) WCR under-rejects and its interval can be unbounded (MacKinnon &
    Webb 2017); with under about 12 clusters Rademacher weights allow few distinct
    draws, so prefer ``weights="webb"``.

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
        Bootstrap draws, at least 1; Rademacher weights with ``2^G <= draws`` are
        fully enumerated.
    weights : {"rademacher", "webb"}
        Webb's six-point weights are preferable with fewer than about 12 clusters.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed and clusters give the
        same draws for every outcome (needed for Romano-Wolf).
    cluster : str, optional
        Bootstrap cluster column; default the result's (one-way) cluster column.
    level : float
        Confidence level of the interval found by inverting the bootstrap test,
        strictly between 0 and 1. An interval no null value bounds is (-inf, inf)
        with a note (see the module docstring for when that happens).
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
    draws, level = check_draws(draws), check_level(level)
    if not np.isfinite(null):
        raise ValueError(f"null must be a finite number, not {null!r}")
    names = result.fit.names
    if contrast is None:
        term = term if term is not None else str(result.table["term"].iloc[0])
        contrast = {term: 1.0}
    unknown = [t for t in contrast if t not in names]
    if unknown:
        raise KeyError(f"terms {unknown} not in the model; terms: {names}")
    w_contrast = np.array(list(contrast.values()), dtype=float)
    if not len(w_contrast) or not np.all(np.isfinite(w_contrast)) or not np.any(w_contrast):
        raise ValueError(
            f"contrast {contrast} must have finite weights, not all zero: it is the linear "
            "combination under test"
        )
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
    stats = core.draw_statistics(draws, weights, seed, enumerated, None if ci else null)
    est, se = core.estimate, core.se
    t_obs = (est - null) / se
    p = core.p_value(stats, null)
    lo = hi = np.nan
    if ci:
        lo, hi, ci_notes = core.confidence_interval(stats, level)
        notes += ci_notes
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
        import scipy.sparse as sp

        n, k = Z.shape
        A = np.linalg.inv(Z.T @ Z)
        beta = A @ (Z.T @ y)
        u = y - Z @ beta
        a = R @ A  # (k,)
        self.ssc = G / (G - 1) * (n - 1) / (n - K)
        self.codes, self.G = codes, G
        # cluster sums as one sparse product (G x n indicator)
        D = sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(G, n))

        def per_cluster(M):
            return np.asarray(D @ M)

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
        self.Omega = self.W.T @ self.W

    def _code_blocks(self, draws, weights, seed, enumerated):
        """The weights as uint8 codes, in the blocks (and from the random calls) of the
        original implementation, so every seed gives the same draws."""
        if enumerated:
            yield _enumeration_codes(self.G)
            return
        rng = np.random.default_rng(seed)
        size = max(1, _CHUNK_ELEMENTS // self.G)
        for s in range(0, draws, size):
            yield _weight_codes(weights, self.G, min(size, draws - s), rng)

    def draw_statistics(
        self, draws: int, weights: str, seed: int | None, enumerated: bool,
        at: float | None = None,
    ) -> dict[str, np.ndarray]:
        """For every draw: numerator n0 + r n1 and squared denominator q0 + 2r q1 + r^2 q2.

        With ``at`` the statistics are computed for the single null value ``r = at``
        only (half the work: no confidence interval needs the r-linear parts).

        How. The bootstrap cluster scores are ``E_g = c_g v_g - W_g' P`` with ``P = S'v``,
        so ``sum_g E_g^2 = sum_g c_g^2 v_g^2 - 2 (M'v)'P + P' (W'W) P`` with ``M = diag(c) W``.
        Every draw therefore needs only the projections of its weight vector on the
        columns of ``[c, S, M]`` (for each r-part): one matrix product ``H'V`` per block
        of draws, done on column blocks that stay in cache, and k x k quadratic forms.
        """
        G, k = self.G, self.W.shape[1]
        table = _SIGNS if weights == "rademacher" or enumerated else WEBB
        squares = None if table is _SIGNS else table**2
        if at is not None:
            c, S = self.c0 + at * self.c1, self.S0 + at * self.S1
            H = np.column_stack([c, S, c[:, None] * self.W])
            sq = (c * c)[None, :]
        else:
            H = np.column_stack([self.c0, self.c1, self.S0, self.S1,
                                 self.c0[:, None] * self.W, self.c1[:, None] * self.W])
            sq = np.vstack([self.c0**2, self.c0 * self.c1, self.c1**2])
        if squares is None:  # a row of ones: sum_g v_g = +-G exactly for the constant draws
            H = np.column_stack([H, np.ones(G)])
        HT = np.ascontiguousarray(H.T)
        sub = max(16, _CACHE_ELEMENTS // G)
        n_parts = 1 if at is not None else 2
        Y_parts, sq_parts, const_parts = [], [], []
        for codes in self._code_blocks(draws, weights, seed, enumerated):
            for s in range(0, codes.shape[1], sub):
                block = codes[:, s:s + sub]
                if squares is None:  # signs: 2 * bit - 1, exact and cheaper than a lookup
                    V = block.astype(np.float64)
                    V *= 2.0
                    V -= 1.0
                else:
                    V = table[block]
                Y_parts.append(HT @ V)
                if squares is not None:
                    sq_parts.append(sq @ squares[block])
                if squares is not None:
                    const_parts.append(block.min(axis=0) == block.max(axis=0))
        Y = np.concatenate(Y_parts, axis=1)
        const = np.abs(Y[-1]) == G if squares is None else np.concatenate(const_parts)
        if squares is None:  # Rademacher: v_g^2 = 1
            cc = np.broadcast_to(sq.sum(axis=1)[:, None], (sq.shape[0], Y.shape[1]))
        else:
            cc = np.concatenate(sq_parts, axis=1)
        n = Y[:n_parts]
        P = [Y[n_parts + i * k:n_parts + (i + 1) * k] for i in range(n_parts)]
        m = [Y[n_parts + (n_parts + i) * k:n_parts + (n_parts + i + 1) * k]
             for i in range(n_parts)]
        OP = [self.Omega @ p for p in P]

        def dot(x, z):
            return np.einsum("ib,ib->b", x, z)

        if at is not None:
            q0 = cc[0] - 2 * dot(m[0], P[0]) + dot(P[0], OP[0])
            zero = np.zeros_like(n[0])
            return {"n0": n[0], "n1": zero, "q0": q0, "q1": zero, "q2": zero, "at": at,
                    "const": const}
        return {
            "n0": n[0],
            "n1": n[1],
            "q0": cc[0] - 2 * dot(m[0], P[0]) + dot(P[0], OP[0]),
            "q1": cc[1] - dot(m[0], P[1]) - dot(m[1], P[0]) + dot(P[0], OP[1]),
            "q2": cc[2] - 2 * dot(m[1], P[1]) + dot(P[1], OP[1]),
            "const": const,
        }

    def t_boot(self, st: dict, r: float) -> np.ndarray:
        if "at" in st and r != st["at"]:
            raise RuntimeError(f"bootstrap statistics were computed for r={st['at']}, not {r}")
        num = st["n0"] + r * st["n1"]
        den2 = self.ssc * (st["q0"] + 2 * r * st["q1"] + r * r * st["q2"])
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(np.clip(den2, 0, None))

    def p_value(self, st, r: float) -> float:
        t = abs((self.estimate - r) / self.se)
        # Draws with the same weight in every cluster reproduce the observed t exactly at
        # every r; they count as ties, "at least as extreme", by construction (far from
        # the estimate rounding would otherwise decide). Other exact ties get a rounding
        # tolerance, so an enumerated p-value is the exact randomisation p-value.
        extreme = st["const"] | (np.abs(self.t_boot(st, r)) >= t * (1 - 1e-9))
        return float(np.mean(extreme))

    def p_value_far(self, st) -> float:
        """Limit of the p-value as the null value goes to +-infinity.

        The observed t grows linearly in r; a draw's t tends to ``n1 / sqrt(ssc q2)``,
        finite unless ``q2`` vanishes (the constant draws, and degenerate ones, which
        are counted as extreme: the conservative side)."""
        q2 = st["q2"]
        flat = q2 <= 1e-12 * max(float(q2.max(initial=0.0)), 1e-300)
        return float(np.mean(st["const"] | flat))

    def confidence_interval(self, st, level: float) -> tuple[float, float, list[str]]:
        """The set of null values not rejected at ``1 - level``, by bisection; (-inf, inf)
        with a note when no value far from the estimate is rejected."""
        alpha = 1 - level
        far = self.p_value_far(st)
        if far >= alpha:
            return -np.inf, np.inf, [
                f"the {level:.0%} interval is unbounded (-inf, inf): {far:.3g} of the draws "
                f"give every null value a p-value of at least {far:.3g} (those with one "
                f"weight in all {self.G} clusters reproduce the observed t exactly), so no "
                f"value is rejected at {alpha:.3g}; the data of {self.G} clusters cannot "
                "bound this coefficient at this level (more clusters, a lower level, or, "
                "with Rademacher weights, weights='webb')"
            ]
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
        notes = [] if np.all(np.isfinite(bounds)) else [
            f"the {level:.0%} interval is unbounded on one side: no value up to "
            f"2^60 standard errors from the estimate is rejected"
        ]
        return bounds[0], bounds[1], notes


