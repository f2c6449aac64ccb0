"""Covariance estimators, one small class each (in the style of linearmodels).

Every estimator works on the *demeaned, weighted* system: ``X`` (N x k) and the
residuals ``u`` after the fixed effects are projected out and both sides are
multiplied by the square root of the regression weights. ``bread`` is
``(X'X)^-1``. Each class states its small-sample correction in ``correction``
and the convention it matches; ``tests/inference/test_covariance.py`` shows the match
against statsmodels, pyfixest and linearmodels.

Conventions (N observations, k slope coefficients, G clusters):

* ``Homoskedastic``: ``s^2 (X'X)^-1`` with ``s^2 = u'u / (N - K)``, K = k plus all
  absorbed fixed-effect levels (minus one per extra set of effects). Equals
  pyfixest/fixest ``vcov="iid"`` and statsmodels OLS with dummies.
* ``Heteroskedastic``: HC1, ``N / (N - K)`` times the sandwich; pyfixest ``"hetero"``.
* ``Clustered``: CR1 with the fixest default ``ssc(adj=TRUE, fixef.K="nested",
  cluster.adj=TRUE)``: ``G/(G-1) * (N-1)/(N-K)`` where K counts k plus the
  fixed effects that are *not* nested in the clusters (an effect nested in the
  clusters counts as one parameter). Equals pyfixest's default ``CRV1`` and
  Stata ``reghdfe``'s. Inference uses t(G-1).
* ``TwoWayClustered``: Cameron-Gelbach-Miller ``V1 + V2 - V12``; every term is
  scaled with ``min(G1, G2)`` (fixest ``cluster.df="min"``, pyfixest default);
  t(min(G)-1).
* ``DriscollKraay``: linearmodels ``PanelOLS(...).fit(cov_type="kernel")`` with
  its defaults: Bartlett kernel, bandwidth ``floor(4 (T/100)^(2/9))`` (2 with 14
  years), scale ``N / (N - K)`` with K = k plus all absorbed effects (equal to
  PanelOLS to rounding). pyfixest ``vcov="DK"`` has the same meat but scales by
  ``(N-1)/(N-K) * T/(T-1)``. linearmodels tests with t(N-K); with only T = 14
  independent time sums that overstates the information, so we use t(T-1)
  (stated in ``correction``).
* ``CR2`` (in :mod:`analysis.inference.cr2`): Bell-McCaffrey CR2 with Satterthwaite
  degrees of freedom and the HTZ joint test, as R's clubSandwich.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.inference.fe import FixedEffect, count_parameters


@dataclass(frozen=True)
class CovarianceResult:
    vcov: np.ndarray
    df_resid: float  # degrees of freedom of the t reference distribution
    se_type: str
    correction: str
    n_clusters: int | None = None
    # Per-coefficient degrees of freedom where they differ by coefficient (CR2: Satterthwaite)
    df_coef: np.ndarray | None = None
    small_sample: Any = None  # what a joint test needs beyond vcov (CR2: the HTZ pieces)


def _cluster_scores(X: np.ndarray, u: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """G x k matrix of per-cluster scores X_g' u_g."""
    G = int(codes.max()) + 1
    scores = np.zeros((G, X.shape[1]))
    np.add.at(scores, codes, X * u[:, None])
    return scores


def _residual_df(n: int, K: int, k: int, what: str) -> int:
    """N - K, refused when not positive: the small-sample factor divides by it."""
    if n <= K:
        raise ValueError(
            f"{n} observations but K={K} parameters ({k} slope(s) and {K - k} fixed-effect "
            f"parameters, counted as {what} counts them): no residual degrees of freedom "
            "(N <= K); use more observations, fewer regressors or fewer fixed effects"
        )
    return n - K


def _sandwich(bread: np.ndarray, scores: np.ndarray) -> np.ndarray:
    meat = scores.T @ scores
    return bread @ meat @ bread


class Covariance(ABC):
    """A covariance estimator of the slope coefficients."""

    @abstractmethod
    def compute(
        self,
        X: np.ndarray,
        u: np.ndarray,
        bread: np.ndarray,
        effects: list[FixedEffect],
    ) -> CovarianceResult: ...


@dataclass
class Homoskedastic(Covariance):
    def compute(self, X, u, bread, effects):
        n, k = X.shape
        K = k + count_parameters(effects)
        s2 = float(u @ u) / _residual_df(n, K, k, "the iid covariance")
        return CovarianceResult(
            s2 * bread, n - K, "iid", f"s^2 = SSR/(N-K), K={K} incl. absorbed effects"
        )


@dataclass
class Heteroskedastic(Covariance):
    def compute(self, X, u, bread, effects):
        n, k = X.shape
        K = k + count_parameters(effects)
        v = n / _residual_df(n, K, k, "HC1") * _sandwich(bread, X * u[:, None])
        return CovarianceResult(v, n - K, "HC1", f"N/(N-K), K={K} incl. absorbed effects")


def nested_k(k: int, effects: list[FixedEffect], cluster_codes: list[np.ndarray]) -> int:
    """K of the fixest/pyfixest "nested" rule: effects nested in a cluster count as one."""
    k_fe = count_parameters(effects)
    nested = [fe for fe in effects if any(fe.nested_in(c) for c in cluster_codes)]
    if not nested:
        return k + k_fe
    return k + k_fe - sum(fe.n_levels for fe in nested) + len(nested)


@dataclass
class Clustered(Covariance):
    """One-way CR1 cluster-robust covariance."""

    codes: np.ndarray
    name: str = "cluster"

    def compute(self, X, u, bread, effects):
        n, k = X.shape
        G = int(self.codes.max()) + 1
        K = nested_k(k, effects, [self.codes])
        factor = G / (G - 1) * (n - 1) / _residual_df(n, K, k, "CR1 (nested effects once)")
        v = factor * _sandwich(bread, _cluster_scores(X, u, self.codes))
        return CovarianceResult(
            v,
            G - 1,
            f"CR1 by {self.name}",
            f"G/(G-1)*(N-1)/(N-K), G={G}, K={K} (fixest/pyfixest default ssc, "
            "effects nested in clusters count as 1); t(G-1)",
            G,
        )


@dataclass
class TwoWayClustered(Covariance):
    """Cameron-Gelbach-Miller two-way clustering, fixest "min" convention."""

    codes1: np.ndarray
    codes2: np.ndarray
    names: tuple[str, str] = ("cluster1", "cluster2")

    def compute(self, X, u, bread, effects):
        n, k = X.shape
        _, both = np.unique(
            self.codes1.astype(np.int64) * (int(self.codes2.max()) + 1) + self.codes2,
            return_inverse=True,
        )
        G1, G2 = int(self.codes1.max()) + 1, int(self.codes2.max()) + 1
        G = min(G1, G2)
        K = nested_k(k, effects, [self.codes1, self.codes2])
        factor = G / (G - 1) * (n - 1) / _residual_df(n, K, k, "CR1 (nested effects once)")
        parts = [
            _sandwich(bread, _cluster_scores(X, u, c)) for c in (self.codes1, self.codes2, both)
        ]
        v = factor * (parts[0] + parts[1] - parts[2])
        return CovarianceResult(
            v,
            G - 1,
            f"CGM two-way by {self.names[0]} and {self.names[1]}",
            f"V1+V2-V12, each x min(G)/(min(G)-1)*(N-1)/(N-K), G1={G1}, G2={G2}, K={K} "
            "(fixest/pyfixest default); t(min(G)-1)",
            G,
        )


def default_bandwidth(n_periods: int) -> int:
    """linearmodels' rule for the Bartlett kernel: floor(4 (T/100)^(2/9))."""
    return int(np.floor(4 * (n_periods / 100) ** (2 / 9)))


@dataclass
class DriscollKraay(Covariance):
    """Driscoll-Kraay: Newey-West (Bartlett) over the cross-sectional sums of scores."""

    time_codes: np.ndarray  # 0..T-1 in chronological order
    bandwidth: int | None = None
    name: str = field(default="time")

    def compute(self, X, u, bread, effects):
        n, k = X.shape
        T = int(self.time_codes.max()) + 1
        if T < 2:
            raise ValueError(
                "Driscoll-Kraay standard errors need at least 2 periods (t(T-1) inference); "
                "the data have 1"
            )
        bw = default_bandwidth(T) if self.bandwidth is None else int(self.bandwidth)
        if not 0 <= bw < T:
            raise ValueError(f"Driscoll-Kraay bandwidth {bw} must be in [0, {T - 1}] ({T} periods)")
        xi = _cluster_scores(X, u, self.time_codes)  # T x k
        S = xi.T @ xi
        for j in range(1, bw + 1):
            gamma = xi[j:].T @ xi[:-j]
            S += (1 - j / (bw + 1)) * (gamma + gamma.T)
        K = k + count_parameters(effects)
        v = n / _residual_df(n, K, k, "Driscoll-Kraay") * (bread @ S @ bread)
        return CovarianceResult(
            v,
            T - 1,
            f"Driscoll-Kraay (Bartlett, bandwidth {bw})",
            f"N/(N-K), K={K} incl. absorbed effects (linearmodels kernel, debiased); t(T-1)",
            T,
        )
