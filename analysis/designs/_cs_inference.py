"""Standard errors and simultaneous bands from influence functions (R ``did`` conventions).

For estimates with influence functions ``psi`` (one row per unit, one column per
estimate) the analytic standard error is ``sqrt(sum_i psi_i^2) / n``, which is R
``did``'s ``bstrap = FALSE`` error (``sqrt(diag(psi'psi / n) / n)``), clustered by unit
because a unit's whole history enters its one row. With a coarser cluster the rows
are summed within clusters first (R ``did``'s analytic ``clustervars``).

The simultaneous band uses the multiplier bootstrap of R ``did``'s ``mboot``: draws
``sqrt(n) * mean_i(v_i psi_i)`` with i.i.d. Mammen weights ``v`` (R's default,
``BMisc::multiplier_bootstrap``) or Rademacher weights, a robust scale per column
(interquartile range / 1.349), and the critical value is the ``1 - alpha`` quantile
(type 1) of the largest standardised absolute draw over the columns. Draws come from
``numpy.random.default_rng(seed)``, so results are reproducible but not R's draws.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

MULTIPLIERS = ("mammen", "rademacher")
_SQRT5 = np.sqrt(5.0)


def multiplier_draws(n: int, draws: int, kind: str, seed: int | None) -> np.ndarray:
    """A ``(draws, n)`` float32 matrix of i.i.d. multiplier weights, mean 0 and variance 1.

    The two-point weights come from 32 random bits each (probabilities exact to 2^-32);
    single precision halves the cost of the product with the influence functions, and
    the draws only feed quantiles (critical values), for which 7 digits are ample.
    """
    _check_kind(kind)
    rng, out = np.random.default_rng(seed), np.empty((draws, n), dtype=np.float32)
    # bits made and turned into weights a block at a time (cache-sized, not 3 passes over
    # memory); blocks of an even number of draws read whole 64-bit outputs, in order
    for start in range(0, draws, _BLOCK):
        rows = min(_BLOCK, draws - start)
        _weights(_uint32_bits(rng, rows * n).reshape(rows, n), kind, out[start : start + rows])
    return out


_BLOCK = 64  # draws per block of bits: 64 x 3,000 uint32 are 768 kB


def _check_kind(kind: str) -> None:
    if kind not in MULTIPLIERS:
        raise ValueError(f"multiplier must be one of {MULTIPLIERS}, not {kind!r}")


def _weights(bits: np.ndarray, kind: str, out: np.ndarray) -> None:
    """float32 weights from uint32 bits into ``out``: Rademacher -1 below 2^31, Mammen
    ``(1 - sqrt5)/2`` below ``p 2^32``, the other value otherwise."""
    if kind == "rademacher":
        high, low, cut = np.float32(1.0), np.float32(-1.0), np.uint32(2**31)
    else:
        p = (_SQRT5 + 1) / (2 * _SQRT5)  # Mammen: P(v = (1 - sqrt5)/2)
        high, low = np.float32((1 + _SQRT5) / 2), np.float32((1 - _SQRT5) / 2)
        cut = np.uint32(round(p * 2**32))
    out[...] = high
    np.copyto(out, low, where=bits < cut)


def _uint32_bits(rng: np.random.Generator, size: int) -> np.ndarray:
    """The values of ``rng.integers(0, 2**32, size, dtype=np.uint32)``, read straight from
    the bit generator: numpy fills full-range 32-bit integers with the low then the high
    half of each 64-bit output (tests/designs/test_staggered_did.py checks the identity)."""
    raw = rng.bit_generator.random_raw(-(-size // 2))
    return raw.view(np.uint32)[:size]


def cluster_sums(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Influence functions summed within clusters (rows unchanged without a cluster)."""
    if cluster is None:
        return inf
    out = np.zeros((int(cluster.max()) + 1, inf.shape[1]))
    np.add.at(out, cluster, inf)
    return out


def analytic_se(inf: np.ndarray, n: int, cluster: np.ndarray | None = None) -> np.ndarray:
    """``sqrt(sum psi^2) / n`` per column, after summing within clusters."""
    s = cluster_sums(np.atleast_2d(inf.T).T, cluster)
    se = np.sqrt(np.sum(s**2, axis=0)) / n
    se[se <= np.sqrt(np.finfo(float).eps) * 10] = np.nan  # R did: degenerate -> NA
    return se


def vcov(inf: np.ndarray, n: int, cluster: np.ndarray | None = None) -> np.ndarray:
    s = cluster_sums(inf, cluster)
    return s.T @ s / n**2


def _rank(prob: float, size: int) -> int:
    """0-based index of R's ``b[ceiling(prob * nb)]`` in the sorted vector (1-based)."""
    return int(np.ceil(prob * size)) - 1


def uniform_critical_value(
    inf: np.ndarray, v: np.ndarray, alpha: float, cluster: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Simultaneous critical value over the columns of ``inf`` and the bootstrap SEs."""
    s = cluster_sums(inf, cluster)
    if v.shape[1] != s.shape[0]:
        raise ValueError(
            f"{v.shape[1]} multiplier weights per draw for {s.shape[0]} influence rows"
        )
    return _critical_value(v @ s.astype(v.dtype), s.shape[0], inf.shape[0], alpha)


def _critical_value(
    products: np.ndarray, n_rows: int, n: int, alpha: float
) -> tuple[float, np.ndarray]:
    """Critical value and bootstrap SEs from the float32 products ``v @ psi``."""
    draws = products.astype(float) / np.sqrt(n_rows)  # sqrt(n) mean(v psi)
    ok = np.isfinite(draws).all(axis=0) & (
        np.sum(draws**2, axis=0) > np.sqrt(np.finfo(float).eps) * 10
    )
    z = stats.norm.ppf(1 - alpha / 2)
    boot_se = np.full(products.shape[1], np.nan)
    if not ok.any():
        return z, boot_se
    # the two order statistics R's type-1 quantiles pick: a partition, not a full sort
    k25, k75 = (_rank(prob, len(draws)) for prob in (0.25, 0.75))
    part = np.partition(draws[:, ok], [k25, k75], axis=0)
    iqr = part[k75] - part[k25]
    sigma = iqr / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    boot_se[ok] = sigma * np.sqrt(n_rows) / n
    t_max = np.max(np.abs(draws[:, ok] / sigma), axis=1)
    t_max = t_max[np.isfinite(t_max)]
    crit = float(np.partition(t_max, _rank(1 - alpha, len(t_max)))[_rank(1 - alpha, len(t_max))])
    # R did falls back to pointwise when the band would be narrower than the interval
    return (crit if np.isfinite(crit) and crit >= z else z), boot_se
