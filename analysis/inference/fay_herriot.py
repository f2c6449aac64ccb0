"""The Fay-Herriot area-level model: REML by Fisher scoring, EBLUPs and their MSE.

For areas ``i = 1..m`` with a direct estimate ``y_i`` of a characteristic ``theta_i`` and a
*known* sampling variance ``D_i``::

    y_i = theta_i + e_i,      e_i ~ N(0, D_i)      (sampling model)
    theta_i = x_i' beta + u_i, u_i ~ N(0, A)        (linking model)

The between-area variance ``A`` is estimated by REML with Fisher scoring, started at the
median of ``D`` (R ``sae::eblupFH``'s algorithm; Rao and Molina 2015, section 6.1.2); a
negative solution is truncated at 0. ``beta`` is the GLS estimate at ``A``; the EBLUP is
``theta_hat_i = x_i' beta + gamma_i (y_i - x_i' beta)`` with shrinkage
``gamma_i = A / (A + D_i)``. Its MSE is the Prasad-Rao/Datta-Lahiri estimator for REML,
``g1 + g2 + 2 g3`` (``sae::mseFH``): ``g1 = gamma_i D_i``,
``g2 = (1 - gamma_i)^2 x_i' (X' V^-1 X)^-1 x_i``, ``g3 = (1 - gamma_i)^2 var(A) / (A + D_i)``
with ``var(A) = 2 / sum 1/(A + D_i)^2``.

Beside the EBLUP of ``theta_i`` the result gives the *remainder*: the area's deviation from
what its covariates predict, ``u_i = theta_i - x_i' beta``, predicted by
``u_hat_i = gamma_i (y_i - x_i' beta_hat)`` with MSE ``g1 + gamma_i^2 x_i'(X'V^-1X)^-1 x_i
+ 2 g3`` (Henderson's prediction-error variance of a BLUP, ``A - A^2 P_ii``, plus the
same ``g3`` for estimating ``A``). An area "differs from expectation" when the interval of
its remainder excludes 0.

Identifying assumption: the sampling variances ``D_i`` are known (not estimated), the
sampling errors are independent of each other and of ``u``, and the remainders ``u_i`` are
exchangeable draws from one normal distribution given ``x_i`` (no area is special a priori).
It fails when ``D_i`` is badly estimated (then shrinkage is too strong or too weak: an
estimate of ``D_i`` that is correlated with ``y_i``, as a binomial variance from the
observed rate is, biases the EBLUP), when the remainders depend on something the
covariates leave out that also drives ``D_i`` (e.g. population size, when size is not a
covariate), when ``m`` is small (the MSE is a second-order approximation in ``1/m``; with
``A`` truncated at 0 the intervals are too short), and when the errors are far from normal
(very small counts).

Validated against R ``sae`` 1.3 on its ``milk`` example (``eblupFH``/``mseFH`` with REML, 43
areas; ``tests/fixtures/fay_herriot_milk``): the variance, coefficients, EBLUPs and MSEs
agree to 4 decimals.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.column_stack([np.ones(200), rng.normal(size=200)])
>>> D = rng.uniform(0.5, 2.0, 200)
>>> theta = X @ [1.0, 2.0] + rng.normal(0, 1.0, 200)
>>> fit = fay_herriot(theta + rng.normal(0, np.sqrt(D)), D, X)
>>> round(fit.variance, 1), fit.converged
(0.9, True)
>>> list(fit.areas.columns[:4])
['direct', 'sampling_variance', 'synthetic', 'eblup']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.inference.checks import check_level

MAXITER = 100


@dataclass
class FayHerriotResult:
    """A fitted Fay-Herriot model.

    ``areas`` has one row per area (in input order, indexed by ``index``): ``direct`` (y),
    ``sampling_variance`` (D), ``synthetic`` (x' beta, the expectation from the covariates),
    ``eblup``, ``mse``, ``eblup_low``/``eblup_high`` (EBLUP +- z sqrt(mse)), ``shrinkage``
    (gamma = A/(A+D), the weight of the direct estimate), ``remainder`` (u_hat),
    ``remainder_mse``, ``remainder_low``/``remainder_high`` and ``differs`` (-1, 0, +1:
    the remainder's interval lies below 0, contains 0, lies above 0).
    """

    coefficients: pd.Series
    coef_se: pd.Series
    coef_cov: np.ndarray
    variance: float  # A, the between-area variance of the remainders (sae's refvar)
    variance_se: float  # sqrt(2 / sum 1/(A+D)^2), the asymptotic s.e. of A
    iterations: int
    converged: bool
    loglike: float
    level: float
    areas: pd.DataFrame

    def coef_ci(self, level: float | None = None) -> pd.DataFrame:
        """Normal intervals of the coefficients (as ``sae`` reports z-values)."""
        q = stats.norm.ppf(0.5 + check_level(level or self.level) / 2)
        return pd.DataFrame({"estimate": self.coefficients, "se": self.coef_se,
                             "ci_low": self.coefficients - q * self.coef_se,
                             "ci_high": self.coefficients + q * self.coef_se})


def _as_design(X, m: int) -> tuple[np.ndarray, list[str]]:
    if isinstance(X, pd.DataFrame):
        names, values = [str(c) for c in X.columns], X.to_numpy(dtype=float)
    else:
        values = np.asarray(X, dtype=float)
        values = values[:, None] if values.ndim == 1 else values
        names = [f"x{j}" for j in range(values.shape[1])]
    if values.shape[0] != m:
        raise ValueError(f"fay_herriot: X has {values.shape[0]} rows for {m} areas")
    if not np.isfinite(values).all():
        bad = sorted({names[j] for j in np.argwhere(~np.isfinite(values))[:, 1]})
        raise ValueError(f"fay_herriot: covariate(s) {bad} have missing or infinite values")
    if np.linalg.matrix_rank(values) < values.shape[1]:
        raise ValueError(f"fay_herriot: the covariates {names} are collinear")
    return values, names


def _gls(A: float, y: np.ndarray, X: np.ndarray, D: np.ndarray):
    w = 1.0 / (A + D)
    Q = np.linalg.inv((X * w[:, None]).T @ X)
    beta = Q @ (X.T @ (w * y))
    return w, Q, beta


def _reml(y: np.ndarray, X: np.ndarray, D: np.ndarray, tol: float, maxiter: int):
    """sae::eblupFH's REML Fisher scoring; returns (A, iterations, converged)."""
    A = float(np.median(D))
    for k in range(1, maxiter + 1):
        w, Q, _ = _gls(A, y, X, D)
        WX = X * w[:, None]
        P = np.diag(w) - WX @ Q @ WX.T
        Py = P @ y
        score = -0.5 * np.trace(P) + 0.5 * Py @ Py
        information = 0.5 * np.sum(P * P)  # tr(P P), P symmetric
        new = A + score / information
        diff = abs((new - A) / A) if A != 0 else abs(new - A)
        A = new
        if diff <= tol:
            return max(A, 0.0), k, True
    return max(A, 0.0), maxiter, False


def fay_herriot(
    y: Sequence[float] | np.ndarray | pd.Series,
    sampling_variance: Sequence[float] | np.ndarray | pd.Series,
    X: np.ndarray | pd.DataFrame,
    level: float = 0.95,
    tol: float = 1e-10,
    maxiter: int = MAXITER,
    index: Sequence | None = None,
) -> FayHerriotResult:
    """Fit the Fay-Herriot model by REML and predict every area (EBLUP, MSE, remainder).

    Parameters
    ----------
    y : array of length m
        Direct estimates, one per area.
    sampling_variance : array of length m
        Their known sampling variances ``D_i`` (> 0).
    X : array or DataFrame, m x p
        Covariates of the linking model, *including* the intercept column if one is wanted
        (a DataFrame's column names name the coefficients).
    level : float
        Coverage of the intervals (normal quantiles, as in ``sae``).
    tol : float
        Stopping rule of Fisher scoring on the relative change of ``A`` (``sae``'s
        ``PRECISION`` is 1e-4; the default iterates to convergence).
    maxiter : int
        At most this many Fisher-scoring steps; not converging raises an error.
    index : sequence, optional
        Labels of the areas (default: ``y``'s index if it is a Series, else 0..m-1).

    Returns
    -------
    FayHerriotResult
        Coefficients with GLS standard errors, ``variance`` (A) and the per-area table.

    Raises
    ------
    ValueError
        On missing values, non-positive sampling variances, collinear covariates, fewer
        areas than coefficients + 2, or no convergence.
    """
    level = check_level(level)
    if index is None:
        index = y.index if isinstance(y, pd.Series) else range(len(y))
    yv = np.asarray(y, dtype=float)
    D = np.asarray(sampling_variance, dtype=float)
    m = len(yv)
    if D.shape != yv.shape:
        raise ValueError(f"fay_herriot: {len(D)} sampling variances for {m} areas")
    labels = list(index)
    for name, values in (("y", yv), ("sampling_variance", D)):
        bad = [labels[i] for i in np.flatnonzero(~np.isfinite(values))]
        if bad:
            raise ValueError(f"fay_herriot: {name} is missing for area(s) {bad[:5]}")
    if (D <= 0).any():
        bad = [labels[i] for i in np.flatnonzero(D <= 0)]
        raise ValueError(f"fay_herriot: sampling variance <= 0 for area(s) {bad[:5]}")
    Xv, names = _as_design(X, m)
    if m < Xv.shape[1] + 2:
        raise ValueError(f"fay_herriot: {m} areas cannot identify {Xv.shape[1]} coefficients "
                         "and a variance")
    A, iterations, converged = _reml(yv, Xv, D, tol, maxiter)
    if not converged:
        raise ValueError(f"fay_herriot: REML Fisher scoring did not converge in {maxiter} "
                         "steps")
    w, Q, beta = _gls(A, yv, Xv, D)
    synthetic = Xv @ beta
    gamma = A * w  # A / (A + D)
    var_A = 2.0 / np.sum(w**2)  # asymptotic variance of the REML (and ML) estimator of A
    leverage = np.einsum("ij,jk,ik->i", Xv, Q, Xv)  # x_i' (X'V^-1 X)^-1 x_i
    g1 = gamma * D
    g3 = (1 - gamma) ** 2 * var_A * w
    mse = g1 + (1 - gamma) ** 2 * leverage + 2 * g3
    remainder = gamma * (yv - synthetic)
    remainder_mse = g1 + gamma**2 * leverage + 2 * g3
    q = stats.norm.ppf(0.5 + level / 2)
    eblup = synthetic + remainder
    low, high = remainder - q * np.sqrt(remainder_mse), remainder + q * np.sqrt(remainder_mse)
    areas = pd.DataFrame({
        "direct": yv, "sampling_variance": D, "synthetic": synthetic, "eblup": eblup,
        "mse": mse, "eblup_low": eblup - q * np.sqrt(mse), "eblup_high": eblup + q * np.sqrt(mse),
        "shrinkage": gamma, "remainder": remainder, "remainder_mse": remainder_mse,
        "remainder_low": low, "remainder_high": high,
        "differs": np.where(low > 0, 1, np.where(high < 0, -1, 0)),
    }, index=pd.Index(labels, name=getattr(index, "name", None)))
    resid = yv - synthetic
    loglike = -0.5 * float(np.sum(np.log(2 * np.pi * (A + D)) + resid**2 * w))
    return FayHerriotResult(
        coefficients=pd.Series(beta, index=names),
        coef_se=pd.Series(np.sqrt(np.diag(Q)), index=names),
        coef_cov=Q, variance=float(A), variance_se=float(np.sqrt(var_A)),
        iterations=iterations, converged=converged, loglike=loglike, level=level, areas=areas,
    )


__all__ = ["fay_herriot", "FayHerriotResult"]
