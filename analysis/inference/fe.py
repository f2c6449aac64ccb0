"""Absorb fixed effects by alternating projections (the within transformation).

The designs never build dummy matrices for municipality or year effects: the
outcome and the regressors are demeaned once, and every later step (the
covariance, the wild bootstrap) works on the small demeaned system. By the
Frisch-Waugh-Lovell theorem the slope coefficients equal those of the
regression with one dummy per fixed-effect level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class FixedEffect:
    """One set of fixed effects: integer codes 0..n_levels-1 for every observation."""

    name: str
    codes: np.ndarray
    n_levels: int

    @classmethod
    def from_columns(cls, df: pd.DataFrame, columns: tuple[str, ...]) -> FixedEffect:
        """Codes of one column, or of the interaction of several (e.g. entity x subgroup)."""
        if len(columns) == 1:
            codes, uniques = pd.factorize(df[columns[0]], sort=True)
            n = len(uniques)
        else:
            codes, uniques = pd.factorize(
                pd.MultiIndex.from_frame(df[list(columns)]), sort=True
            )
            n = len(uniques)
        return cls("^".join(columns), np.asarray(codes, dtype=np.int64), int(n))

    def indicator(self) -> sp.csr_matrix:
        """Sparse N x n_levels indicator matrix."""
        n = self.codes.shape[0]
        return sp.csr_matrix(
            (np.ones(n), (np.arange(n), self.codes)), shape=(n, self.n_levels)
        )

    def nested_in(self, cluster_codes: np.ndarray) -> bool:
        """True when every level of this effect lies inside a single cluster."""
        pairs = np.unique(self.codes * (int(cluster_codes.max()) + 1) + cluster_codes)
        return pairs.shape[0] == self.n_levels


def demean(
    values: np.ndarray,
    effects: list[FixedEffect],
    weights: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Residuals of ``values`` (N x m) on all fixed-effect dummies, by alternating projections.

    One sweep is exact for one set of effects and for balanced two-way panels; an
    unbalanced panel needs a few sweeps (method of alternating projections,
    Gaure 2013, as in fixest/pyfixest). Raises ``RuntimeError`` when it does not
    converge, rather than returning a silently wrong transformation.
    """
    out = np.array(values, dtype=float, copy=True)
    if out.ndim == 1:
        out = out[:, None]
    if not effects:
        return out
    w = np.ones(out.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mats = [fe.indicator() for fe in effects]
    sums_w = [np.asarray(m.T @ w).ravel() for m in mats]
    scale = max(float(np.abs(out).max()), 1.0)
    for _ in range(max_iter):
        change = 0.0
        for m, sw in zip(mats, sums_w, strict=True):
            means = (m.T @ (out * w[:, None])) / sw[:, None]
            step = m @ means
            out -= step
            change = max(change, float(np.abs(step).max()))
        if change <= tol * scale or len(effects) == 1:
            return out
    raise RuntimeError(
        f"fixed effects ({', '.join(fe.name for fe in effects)}) did not converge after "
        f"{max_iter} sweeps; the panel may be badly unbalanced"
    )


def count_parameters(effects: list[FixedEffect]) -> int:
    """Number of fixed-effect parameters as pyfixest counts them: levels minus (n_fe - 1)."""
    k = sum(fe.n_levels for fe in effects)
    return k - (len(effects) - 1) if len(effects) > 1 else k
