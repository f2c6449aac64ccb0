"""Least squares with absorbed fixed effects: the one engine behind every design.

``fit_linear`` takes plain arrays (the designs build them from a DataFrame),
projects out the fixed effects once, solves the small demeaned system and asks
a :mod:`analysis.inference.covariance` estimator for the covariance. The
returned :class:`LinearFit` keeps what the wild cluster bootstrap needs so that
it never refits the fixed effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as la
from scipy import stats

from analysis.inference.covariance import Covariance, CovarianceResult
from analysis.inference.fe import FixedEffect, demean

# a regressor whose within variation is below this share of its raw variation is absorbed
_ABSORBED_TOL = 1e-9


@dataclass
class LinearFit:
    """A solved linear model (slope coefficients only; the effects are absorbed)."""

    names: list[str]
    coef: np.ndarray
    cov: CovarianceResult
    n_obs: int
    y_raw: np.ndarray
    X_raw: np.ndarray
    effects: list[FixedEffect]
    weights: np.ndarray | None
    X: np.ndarray  # demeaned and weighted
    y: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    r2_within: float
    extra: dict = field(default_factory=dict)

    @property
    def vcov(self) -> np.ndarray:
        return self.cov.vcov

    @property
    def std_error(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov.vcov), 0, None))

    def t_stat(self) -> np.ndarray:
        return self.coef / self.std_error

    @property
    def df(self) -> np.ndarray | float:
        """Degrees of freedom of each t-test (per coefficient for CR2's Satterthwaite)."""
        return self.cov.df_resid if self.cov.df_coef is None else self.cov.df_coef

    def p_value(self) -> np.ndarray:
        return 2 * stats.t.sf(np.abs(self.t_stat()), self.df)

    def conf_int(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        q = stats.t.ppf(0.5 + level / 2, self.df)
        return self.coef - q * self.std_error, self.coef + q * self.std_error


def _check_absorbed(X_raw: np.ndarray, X: np.ndarray, names: list[str], effects) -> None:
    if not effects:
        return
    raw = np.linalg.norm(X_raw - X_raw.mean(axis=0), axis=0)
    within = np.linalg.norm(X, axis=0)
    absorbed = [
        n for n, r, w in zip(names, raw, within, strict=True) if w <= _ABSORBED_TOL * max(r, 1.0)
    ]
    if absorbed:
        raise ValueError(
            f"regressor(s) {absorbed} are absorbed by the fixed effects "
            f"({', '.join(fe.name for fe in effects)}): they do not vary within the "
            "effects, so their coefficients are not identified; drop them or the effects"
        )


def _check_collinear(X: np.ndarray, names: list[str], xtx: np.ndarray) -> None:
    if X.shape[1] == 0:
        raise ValueError("the model has no regressors left to estimate")
    # Fast path: the scaled Gram matrix's smallest eigenvalue is accurate to ~1e-16, so a
    # value above 1e-8 (singular values within 1e-4 of each other) proves full rank.
    scale = np.sqrt(np.diag(xtx))
    if np.all(scale > 0):
        eig = np.linalg.eigvalsh(xtx / np.outer(scale, scale))
        if eig[0] > 1e-8 * eig[-1]:
            return
    # Pivoted QR of the k x k factor R of X = QR picks the same columns as pivoted QR of X
    # (Q keeps column norms) but is far cheaper than pivoting on the N x k matrix itself.
    _, r, piv = la.qr(np.linalg.qr(X, mode="r"), pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-10 * diag[0]))
    if rank < X.shape[1]:
        dropped = [names[i] for i in piv[rank:]]
        raise ValueError(
            f"regressors are collinear (after absorbing fixed effects): {dropped} are "
            "linear combinations of the others"
        )


def _centred_ss(y: np.ndarray, weights: np.ndarray | None) -> float:
    """(Weighted) total sum of squares around the (weighted) mean: the R^2 denominator
    of a model with an intercept and no absorbed effects, as statsmodels WLS has it."""
    w = np.ones_like(y) if weights is None else weights
    mean = float(w @ y) / float(w.sum())
    return float(w @ (y - mean) ** 2)


def fit_linear(
    y: np.ndarray,
    X: np.ndarray,
    names: list[str],
    effects: list[FixedEffect],
    covariance: Covariance,
    weights: np.ndarray | None = None,
) -> LinearFit:
    """Solve ``y = X b + effects + u`` by (weighted) least squares.

    Raises ``ValueError`` naming regressors absorbed by the effects or collinear.
    """
    y_raw = np.asarray(y, dtype=float)
    X_raw = np.asarray(X, dtype=float)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if np.any(~np.isfinite(weights)) or np.any(weights <= 0):
            raise ValueError("regression weights must be positive and finite")
    both = demean(np.column_stack([y_raw, X_raw]), effects, weights)
    yd, Xd = both[:, 0], both[:, 1:]
    _check_absorbed(X_raw, Xd, names, effects)
    if weights is not None:
        sw = np.sqrt(weights)
        yd, Xd = yd * sw, Xd * sw[:, None]
    xtx = Xd.T @ Xd
    _check_collinear(Xd, names, xtx)
    bread = np.linalg.inv(xtx)
    coef = bread @ (Xd.T @ yd)
    resid = yd - Xd @ coef
    tss = float(yd @ yd) if effects else _centred_ss(y_raw, weights)
    cov = covariance.compute(Xd, resid, bread, effects)
    return LinearFit(
        names=list(names),
        coef=coef,
        cov=cov,
        n_obs=int(y_raw.shape[0]),
        y_raw=y_raw,
        X_raw=X_raw,
        effects=effects,
        weights=weights,
        X=Xd,
        y=yd,
        resid=resid,
        bread=bread,
        r2_within=1 - float(resid @ resid) / tss if tss > 0 else float("nan"),
    )
