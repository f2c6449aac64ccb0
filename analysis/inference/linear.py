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
from scipy import stats

from analysis.inference.checks import check_level
from analysis.inference.covariance import Covariance, CovarianceResult
from analysis.inference.fe import FixedEffect, count_parameters, demean

# Tolerance of the (near-)collinearity checks, on the share of a column's variation that
# the earlier columns (or the fixed effects) leave unexplained, 1 - R^2. fixest/pyfixest use
# the same sequential Cholesky with tol 1e-10 (pyfixest) on the *unscaled* demeaned X'X, so
# their decision depends on the units of the data; here the Gram matrix is scaled to a unit
# diagonal first, so the same data in other units get the same decision. A regressor below
# the tolerance is refused (pyfixest drops it with a warning): dropping would silently change
# the meaning of the remaining coefficients, e.g. a design's headline term.
COLLINEAR_TOL = 1e-9
# a column whose centred variation is below this share of its size is constant up to rounding
_ROUNDING = 1e-12


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
        level = check_level(level)
        q = stats.t.ppf(0.5 + level / 2, self.df)
        return self.coef - q * self.std_error, self.coef + q * self.std_error


def _no_variation(raw: np.ndarray, within: np.ndarray, share: float) -> np.ndarray:
    """Per column: True when the within variation is below ``share`` of the centred raw
    variation, or the raw column is constant up to rounding."""
    size = np.linalg.norm(raw, axis=0)
    centred = np.linalg.norm(raw - raw.mean(axis=0), axis=0)
    left = np.linalg.norm(within, axis=0)
    return (left <= share * centred) | (centred <= _ROUNDING * size)


def _check_absorbed(X_raw: np.ndarray, X: np.ndarray, names: list[str], effects) -> None:
    if not effects:
        return
    gone = _no_variation(X_raw, X, np.sqrt(COLLINEAR_TOL))
    absorbed = [n for n, g in zip(names, gone, strict=True) if g]
    if absorbed:
        raise ValueError(
            f"regressor(s) {absorbed} are absorbed by the fixed effects "
            f"({', '.join(fe.name for fe in effects)}): they do not vary within the "
            f"effects (1 - R^2 on the effects below {COLLINEAR_TOL:g}), so their "
            "coefficients are not identified; drop them or the effects"
        )


def _check_outcome(y_raw: np.ndarray, y: np.ndarray, effects) -> None:
    if _no_variation(y_raw[:, None], y[:, None], 1e-9)[0]:
        where = f" after absorbing the fixed effects ({', '.join(fe.name for fe in effects)})"
        raise ValueError(
            "the outcome has no variation" + (where if effects else "") + ": every "
            "coefficient would be 0 with standard error 0; check the outcome column"
        )


def collinear_columns(xtx: np.ndarray, tol: float = COLLINEAR_TOL) -> list[int]:
    """Columns that the earlier ones explain up to ``1 - R^2 < tol``, in column order.

    fixest's sequential Cholesky (``find_collinear_variables``, as pyfixest has it) on the
    Gram matrix scaled to a unit diagonal: the j-th pivot is the share of column j's
    variation left after projecting it on the earlier columns that were kept.
    """
    scale = np.sqrt(np.diag(xtx))
    k = len(scale)
    C = xtx / np.outer(np.where(scale > 0, scale, 1.0), np.where(scale > 0, scale, 1.0))
    R = np.zeros((k, k))
    kept: list[int] = []
    dropped: list[int] = []
    for j in range(k):
        left = C[j, j] - R[kept, j] @ R[kept, j]
        if scale[j] == 0 or left < tol:
            dropped.append(j)
            continue
        R[j, j] = np.sqrt(left)
        R[j, j + 1:] = (C[j, j + 1:] - R[kept, j] @ R[kept, j + 1:]) / R[j, j]
        kept.append(j)
    return dropped


def _check_collinear(X: np.ndarray, names: list[str], xtx: np.ndarray) -> None:
    if X.shape[1] == 0:
        raise ValueError("the model has no regressors left to estimate")
    dropped = collinear_columns(xtx)
    if not dropped:
        return
    raise ValueError(
        f"regressors are collinear (after absorbing fixed effects): "
        f"{[names[i] for i in dropped]} are linear combinations of the others "
        f"({_explain(xtx, names, dropped)}, tolerance {COLLINEAR_TOL:g} on 1 - R^2); their "
        "coefficients are not identified, or only up to rounding: drop one of them "
        "(fixest/pyfixest would drop it for you)"
    )


def _explain(xtx: np.ndarray, names: list[str], dropped: list[int]) -> str:
    """Which earlier regressors explain the first flagged one, and how closely."""
    j = dropped[0]
    scale = np.sqrt(np.diag(xtx))
    if scale[j] == 0:
        return f"{names[j]} is zero in every row"
    earlier = [i for i in range(j) if i not in dropped and scale[i] > 0]
    if not earlier:
        return names[j]
    C = xtx / np.outer(np.where(scale > 0, scale, 1.0), np.where(scale > 0, scale, 1.0))
    b = np.linalg.lstsq(C[np.ix_(earlier, earlier)], C[earlier, j], rcond=None)[0]
    share = max(float(1 - C[earlier, j] @ b), 0.0)
    big = np.abs(b) > 1e-3 * np.abs(b).max()
    partners = [names[i] for i, keep in zip(earlier, big, strict=True) if keep]
    return f"{names[j]} on {partners}: 1 - R^2 = {share:.1e}"


def _refuse_exact_fit(n: int, k: int, effects: list[FixedEffect]) -> None:
    K = k + count_parameters(effects)
    if n <= K:
        raise ValueError(
            f"{n} observations but K={K} parameters ({k} slope(s) and {K - k} fixed-effect "
            "parameters): no residual degrees of freedom (N <= K), the fit is exact; use "
            "more observations, fewer regressors or fewer fixed effects"
        )
    raise ValueError(
        "the outcome is fitted exactly by the regressors and fixed effects (residuals "
        "are zero up to rounding): standard errors would be 0; check that the outcome "
        "is not one of the regressors, or a combination of them and the effects"
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

    Raises ``ValueError`` naming regressors absorbed by the effects or (nearly)
    collinear (tolerance ``COLLINEAR_TOL`` on ``1 - R^2``), an outcome without
    variation or fitted exactly, and a model with no residual degrees of freedom.
    """
    y_raw = np.asarray(y, dtype=float)
    X_raw = np.asarray(X, dtype=float)
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if np.any(~np.isfinite(weights)) or np.any(weights <= 0):
            raise ValueError("regression weights must be positive and finite")
    both = demean(np.column_stack([y_raw, X_raw]), effects, weights)
    yd, Xd = both[:, 0], both[:, 1:]
    n, k = X_raw.shape
    if n <= k:
        raise ValueError(
            f"{n} observations for {k} coefficients ({', '.join(names[:5])}"
            f"{', ...' if k > 5 else ''}): N must exceed K; use more data or fewer regressors"
        )
    _check_outcome(y_raw, yd, effects)
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
    if float(resid @ resid) <= 1e-18 * float(yd @ yd):
        _refuse_exact_fit(n, k, effects)
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
