"""Confidence sets under relative magnitudes, Delta^RM(Mbar), by the ARP conditional test.

Delta^RM(Mbar) says that no post-period change of the differential trend is larger
than Mbar times the largest pre-period change: for every post period t,
``|delta_t - delta_{t-1}| <= Mbar * max_{s <= 0} |delta_s - delta_{s-1}|`` (``delta_0 = 0``).
It is the union over the pre-period difference s that attains the maximum, and its
sign, of polyhedra ``A_{s,+/-} delta <= 0``; the confidence set is the union of the
Andrews-Roth-Pakes (2023) confidence sets for each polyhedron, as in HonestDiD's
``computeConditionalCS_DeltaRM`` (with ``postPeriodMomentsOnly = TRUE``: only the
moments that involve post-period coefficients are tested).

For a candidate value ``theta`` of ``l'tau_post`` the moments are
``y = A betahat - a_1 theta`` with covariance ``A Sigma A'`` and nuisance directions ``X``
(the remaining post-period directions after the change of basis with first row l'). The
test statistic is the linear programme ``eta = min_d max_i (y_i - X_i d) / sd_i``. Its dual
is ``max lambda'y`` over the polytope ``{lambda >= 0, sd'lambda = 1, X'lambda = 0}``, whose
vertices are enumerated once per polyhedron (there are at most C(2T, T) candidate bases
for T post periods). Only the sd column of the constraint matrix differs between the
polyhedra (and the values of Mbar) of one problem: X does not, so the determinants and basic
solutions of all bases follow from the minors of X, computed once (issue 22).
Then ``eta``, the optimal vertex ``gamma`` and the truncation points
of the conditional test (the range of ``c`` over which gamma stays optimal when ``y``
moves along ``Sigma gamma / gamma'Sigma gamma``) are closed-form maxima and minima over
the vertices, for the whole grid of theta at once. HonestDiD solves an LP for every
grid point and finds the truncation points by bisection (tolerance 1e-6); the two agree
up to that tolerance.

Hybrid "LF" (the package default): a first-stage test at size kappa = alpha / 10 rejects
when ``eta`` exceeds the least-favourable critical value, the 1 - kappa quantile of
``eta`` over 1,000 normal draws with the moments' covariance; the second stage is the
conditional test at size ``(alpha - kappa) / (1 - kappa)`` with the upper truncation
point capped at that critical value. The draws are R's (``set.seed(0)``), see
:mod:`analysis.inference._r_rng`, so the published intervals are reproduced exactly.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np
from scipy import special, stats

from analysis.inference._r_rng import r_rmvnorm

MAX_BASES = 2_000_000  # candidate vertex bases per polyhedron before we refuse


def create_a_rm(n_pre: int, n_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """Constraints of Delta^RM_{s,+/-}(Mbar) on (delta_pre, delta_post), R's ``.create_A_RM``."""
    n = n_pre + n_post
    atilde = np.zeros((n, n + 1))
    for r in range(n):
        atilde[r, r : r + 2] = (-1.0, 1.0)
    v = np.zeros(n + 1)
    v[n_pre + s - 1 : n_pre + s + 1] = (-1.0, 1.0)
    if not max_positive:
        v = -v
    a_ub = np.vstack([np.tile(v, (n_pre, 1)), np.tile(mbar * v, (n_post, 1))])
    A = np.vstack([atilde - a_ub, -atilde - a_ub])
    A = A[(A * A).sum(axis=1) > 1e-10]
    return np.delete(A, n_pre, axis=1)  # drop the reference period delta_0


def change_of_basis(l_vec: np.ndarray) -> np.ndarray:
    """Invertible Gamma with first row l' (R's ``.construct_Gamma``: pivots of rref[l, I])."""
    B = np.column_stack([l_vec, np.eye(len(l_vec))])
    cols: list[int] = []
    for j in range(B.shape[1]):
        trial = B[:, [*cols, j]]
        if np.linalg.matrix_rank(trial) == len(cols) + 1:
            cols.append(j)
        if len(cols) == len(l_vec):
            break
    return B[:, cols].T


@lru_cache(maxsize=8)
def _bases(m: int, p: int) -> np.ndarray:
    """All p-subsets of m rows (cached: the same for every polyhedron of one problem)."""
    out = np.array(list(combinations(range(m), p)), dtype=np.intp).reshape(-1, p)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=8)
def _cofactor_index(m: int, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every p-subset S of m rows, where each ``S minus S_i`` sits among the (p-1)-subsets.

    Returns the p-subsets, the (p-1)-subsets and, per p-subset and position i, the row of
    ``S minus S_i`` in the (p-1)-subset list, ranked in colexicographic order.
    """
    idx = _bases(m, p)
    sub = _bases(m, p - 1)
    binom = np.array([[comb(n, k) for k in range(p + 1)] for n in range(m + 1)], dtype=np.int64)

    def colex(rows: np.ndarray) -> np.ndarray:
        return binom[rows, np.arange(1, rows.shape[1] + 1)].sum(axis=1)

    order = np.empty(len(sub), dtype=np.intp)
    order[colex(sub)] = np.arange(len(sub))
    drop = np.stack([np.delete(idx, i, axis=1) for i in range(p)], axis=1)  # B x p x (p-1)
    where = order[colex(drop.reshape(-1, p - 1)).reshape(len(idx), p)]
    where.setflags(write=False)
    return idx, sub, where


_COFACTORS: dict[bytes, np.ndarray] = {}


def _cofactors(X: np.ndarray) -> np.ndarray:
    """Cofactors of the first row of ``[sd_S, X_S]'`` for every basis S (they do not involve sd).

    Expanding the determinant along the sd row, ``det [sd_S, X_S]' = sum_i sd_{S_i} C_{S,i}``
    with ``C_{S,i} = (-1)^i det X_{S minus S_i}``; the same cofactors form the first column of
    the adjugate, so the basic solution is ``lambda_S = C_S / det``. X is the same for every
    polyhedron (and every Mbar) of a problem, so the minors are computed once and kept.
    """
    m, q = X.shape
    key = X.tobytes() + bytes(str((m, q)), "ascii")
    if key not in _COFACTORS:
        if q == 0:  # one post-period: no nuisance directions, lambda_S = 1 / sd_S
            cof = np.ones((m, 1))
        else:
            _, sub, where = _cofactor_index(m, q + 1)
            cof = np.linalg.det(X[sub])[where] * np.where(np.arange(q + 1) % 2, -1.0, 1.0)
        cof.setflags(write=False)
        if len(_COFACTORS) >= 8:
            _COFACTORS.clear()
        _COFACTORS[key] = cof
    return _COFACTORS[key]


def dual_vertices(W: np.ndarray) -> np.ndarray:
    """Vertices of ``{lam >= 0 : W'lam = e_1}`` (rows of the returned array).

    The first column of W (the moments' sd) varies between polyhedra, the others (X) do not.
    """
    m, p = W.shape
    sd, X = W[:, 0], W[:, 1:]
    n_bases = comb(m, p)
    if n_bases > MAX_BASES:
        raise ValueError(
            f"honest_did: {n_bases:,} candidate bases for the relative-magnitudes test "
            f"({m} moments, {p - 1} nuisance directions); at most {MAX_BASES:,} are supported. "
            "Use fewer post-periods (e.g. drop late event times) for Delta^RM."
        )
    idx = _bases(m, p)
    cof = _cofactors(X)
    det = (cof * sd[idx]).sum(axis=1)
    scale = np.prod(np.linalg.norm(W, axis=1)[idx], axis=1)  # Hadamard bound on |det|
    ok = np.abs(det) > 1e-12 * scale
    lam_s = cof[ok] / det[ok, None]
    feasible = (lam_s >= -1e-10).all(axis=1)
    out = np.zeros((int(feasible.sum()), m))
    rows = np.repeat(np.arange(len(out)), p)
    out[rows, idx[ok][feasible].ravel()] = np.clip(lam_s[feasible], 0.0, None).ravel()
    return _distinct(out)


def _distinct(vertices: np.ndarray) -> np.ndarray:
    """One copy of each vertex (first occurrence, original values).

    A degenerate vertex is the basic solution of many bases (for 9 post-periods ~1,500 rows
    are ~10 vertices); the copies agree to rounding, so dropping them leaves every maximum
    and minimum below unchanged and saves most of the work on the theta grid.
    """
    if len(vertices) < 2:
        return vertices
    key = np.round(vertices / np.abs(vertices).max(), 9)
    _, first = np.unique(key, axis=0, return_index=True)
    return vertices[np.sort(first)]


def least_favorable_cv(vertices: np.ndarray, sigma: np.ndarray, kappa: float, sims: int = 1000,
                       seed: int = 0) -> float:
    """1 - kappa quantile of ``eta`` under y ~ N(0, sigma): R's ``.compute_least_favorable_cv``."""
    if len(vertices) == 0:
        return np.nan
    draws = r_rmvnorm(sims, sigma, seed)
    eta = (draws @ vertices.T).max(axis=1)
    return float(np.quantile(eta, 1 - kappa))  # type 7, as R's quantile()


def _truncation(vertices, sigma, y, gamma, eta):
    """Truncation points (vlo, vup) and sd of gamma'y, one column per grid point."""
    sg = sigma @ gamma.T  # m x G
    var = np.einsum("gm,mg->g", gamma, sg)
    b = sg / var
    s = y - b * eta
    num = vertices @ s  # V x G
    den = 1.0 - vertices @ b
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    lo = np.where(den > 1e-10, ratio, -np.inf).max(axis=0)
    up = np.where(den < -1e-10, ratio, np.inf).min(axis=0)
    return lo, up, np.sqrt(np.maximum(var, 0.0))


def arp_accept(
    y0: np.ndarray,
    a1: np.ndarray,
    X: np.ndarray,
    sigma: np.ndarray,
    theta: np.ndarray,
    alpha: float,
    hybrid: str,
    kappa: float,
    cap_with_lf: bool = True,
) -> np.ndarray:
    """Acceptance (bool per theta) of the ARP conditional test of ``E[y0 - a1 theta - X d] <= 0``.

    ``hybrid`` is "LF" (least-favourable first stage) or "ARP" (none).
    ``cap_with_lf=False`` reproduces HonestDiD's single-post-period path, which does not
    cap the truncation point at the least-favourable critical value.
    """
    sd = np.sqrt(np.diag(sigma))
    vertices = dual_vertices(np.column_stack([sd, X.reshape(len(sd), -1)]))
    if len(vertices) == 0:  # the LP is unbounded: HonestDiD does not reject
        return np.ones(len(theta), dtype=bool)
    y = y0[:, None] - np.outer(a1, theta)  # m x G
    vals = vertices @ y
    best = vals.argmax(axis=0)
    eta = vals[best, np.arange(len(theta))]
    reject = np.zeros(len(theta), dtype=bool)
    if hybrid == "LF":
        lf_cv = least_favorable_cv(vertices, sigma, kappa)
        reject |= eta > lf_cv
        size = (alpha - kappa) / (1 - kappa)
    elif hybrid == "ARP":
        lf_cv, size = np.inf, alpha
    else:
        raise ValueError(f"hybrid must be 'LF' or 'ARP', not {hybrid!r}")
    todo = ~reject
    if not todo.any():
        return ~reject
    gamma = vertices[best[todo]]
    vlo, vup, sigma_b = _truncation(vertices, sigma, y[:, todo], gamma, eta[todo])
    if cap_with_lf:
        vup = np.minimum(vup, lf_cv)
    zlo, zup, stat = vlo / sigma_b, vup / sigma_b, eta[todo] / sigma_b
    inside = (zlo <= stat) & (stat <= zup)
    # outside the truncation interval HonestDiD does not reject (numerical corner case)
    reject_second = inside & (stat > 0) & _above_truncated_quantile(stat, zlo, zup, 1 - size)
    reject[np.flatnonzero(todo)[reject_second]] = True
    return ~reject


def _normal_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """P(a < Z < b) without cancellation in either tail."""
    upper = special.ndtr(-a) - special.ndtr(-b)  # accurate for a, b > 0
    lower = special.ndtr(b) - special.ndtr(a)  # accurate for a, b < 0
    return np.where(a > 0, upper, lower)


def _above_truncated_quantile(x, lo, hi, p):
    """``x > q_p`` with ``q_p`` the p-quantile of N(0,1) truncated to [lo, hi].

    The same decision as comparing with ``truncnorm.ppf`` (R: TruncatedNormal::norminvp), from
    two normal probabilities instead of a root search: x > q_p iff the mass above x is less
    than 1 - p of the mass in [lo, hi]. Where both masses underflow (far tails), fall back on
    the quantile itself.
    """
    total = _normal_mass(lo, hi)
    above = _normal_mass(x, hi)
    out = above < (1 - p) * total
    tiny = total < 1e-250
    if tiny.any():
        out[tiny] = x[tiny] > stats.truncnorm.ppf(p, lo[tiny], hi[tiny])
    return out


def rm_accept_grid(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    n_post: int,
    l_vec: np.ndarray,
    mbar: float,
    theta: np.ndarray,
    alpha: float,
    hybrid: str = "LF",
) -> np.ndarray:
    """Acceptance over ``theta`` of the Delta^RM(Mbar) confidence set (union over s and sign)."""
    gamma_inv = np.linalg.inv(change_of_basis(l_vec))
    accept = np.zeros(len(theta), dtype=bool)
    kappa = alpha / 10
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            A = create_a_rm(n_pre, n_post, mbar, s, positive)
            rows = np.flatnonzero(np.abs(A[:, n_pre:]).sum(axis=1) > 0)
            A = A[rows]
            a_gamma = A[:, n_pre:] @ gamma_inv
            accept |= arp_accept(
                y0=A @ betahat,
                a1=a_gamma[:, 0],
                X=a_gamma[:, 1:],
                sigma=A @ sigma @ A.T,
                theta=theta,
                alpha=alpha,
                hybrid=hybrid,
                kappa=kappa,
                cap_with_lf=n_post > 1,
            )
    return accept
