"""Fixed-length confidence interval (FLCI) under smoothness, Delta^SD(M).

Delta^SD(M) bounds the change in slope of the differential trend ``delta``:
``|(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M`` for every t, with
``delta_0 = 0`` in the omitted reference period. The FLCI (Armstrong and Kolesar
2018, 2020; Rambachan and Roth 2023, section 4.1) is an affine estimator
``theta_hat = a'beta_pre + l'beta_post`` plus or minus a half-length that covers
``theta = l'tau_post`` whatever ``delta`` in Delta^SD(M) is:

    half-length = sd(theta_hat) * cv_alpha( maxbias(a) / sd(theta_hat) )

with ``cv_alpha(t)`` the 1 - alpha quantile of ``|N(t, 1)|``. HonestDiD's
``findOptimalFLCI`` parametrises ``a`` by weights ``w`` (``a_1 = w_1``,
``a_k = w_k - w_{k-1}``, ``sum(w) = sum_t t l_t``); the worst-case bias is then
``M * (c_l + sum_k |w_1 + ... + w_k|)`` with a constant ``c_l`` that depends on ``l``
only. The package minimises the bias for each bound ``h`` on the standard deviation
(a second-order cone programme, CVXR/ECOS) and bisects over ``h``.

Here the half-length is minimised over ``w`` directly. The half-length is the
perspective of the convex, increasing ``cv_alpha`` applied to a convex bias and a
convex standard deviation, so it is convex in ``w``: with the partial sums ``v``
and bounds ``u >= |v|`` it is a smooth convex problem with linear constraints, solved
by SLSQP with analytic gradients. ``cv_alpha`` is the exact folded-normal quantile
(Newton on ``Phi(c - t) - Phi(-c - t) = 1 - alpha``); R approximates it with the
quantile of 10^6 simulated draws, which moves the half-length by about 1e-3 of
itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import ndtri

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


def _pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def folded_normal_cv(t: float, alpha: float) -> tuple[float, float]:
    """``cv_alpha(t)`` (quantile 1 - alpha of ``|N(t, 1)|``) and its derivative in t."""
    t = abs(float(t))
    # Newton from above: the quantile function of |N(t,1)| is convex in the level
    c = max(float(ndtri(1 - alpha / 2)), t + float(ndtri(1 - alpha)))
    for _ in range(100):
        f = _cdf(c - t) - _cdf(-c - t) - (1 - alpha)
        step = f / (_pdf(c - t) + _pdf(c + t))
        c -= step
        if abs(step) < 1e-14 * max(1.0, c):
            break
    pa, pb = _pdf(c - t), _pdf(c + t)
    return c, (pa - pb) / (pa + pb)


@dataclass(frozen=True)
class FLCIProblem:
    """The parts of the FLCI problem that do not depend on M."""

    sigma_pre: np.ndarray  # covariance of the pre-period coefficients
    cross: np.ndarray  # Sigma_pre,post @ l
    var_post: float  # l' Sigma_post l
    total_w: float  # sum of w: sum_t t l_t
    bias_const: float  # c_l: worst-case bias of l'beta_post beyond the pre-period part
    diff: np.ndarray  # maps v (partial sums of w, last = total_w) to a (pre weights)

    @classmethod
    def build(cls, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray) -> FLCIProblem:
        n_post = len(l_vec)
        t = np.arange(1, n_post + 1)
        total_w = float(t @ l_vec)
        const = sum(abs(float(np.arange(1, s + 1) @ l_vec[n_post - s:])) for s in t) - total_w
        # a = D w and w = first differences of v, so a = D D v (second differences)
        d1 = np.eye(n_pre) - np.eye(n_pre, k=-1)
        return cls(
            sigma_pre=sigma[:n_pre, :n_pre],
            cross=sigma[:n_pre, n_pre:] @ l_vec,
            var_post=float(l_vec @ sigma[n_pre:, n_pre:] @ l_vec),
            total_w=total_w,
            bias_const=const,
            diff=d1 @ d1,
        )

    def pre_weights(self, v_free: np.ndarray) -> np.ndarray:
        return self.diff @ np.append(v_free, self.total_w)

    def variance(self, v_free: np.ndarray) -> tuple[float, np.ndarray]:
        """Variance of the estimator and its gradient in the free partial sums."""
        a = self.pre_weights(v_free)
        q = float(a @ self.sigma_pre @ a + 2 * a @ self.cross + self.var_post)
        grad_a = 2 * (self.sigma_pre @ a + self.cross)
        return q, (self.diff.T @ grad_a)[:-1]

    def min_variance(self) -> np.ndarray:
        """Free partial sums of the minimum-variance estimator (the FLCI at M = 0)."""
        n = self.diff.shape[0]
        if n == 1:
            return np.zeros(0)
        D_free, d_last = self.diff[:, :-1], self.diff[:, -1] * self.total_w
        H = D_free.T @ self.sigma_pre @ D_free
        g = D_free.T @ (self.sigma_pre @ d_last + self.cross)
        return np.linalg.lstsq(H, -g, rcond=None)[0]


def _half_length(problem: FLCIProblem, M: float, alpha: float, x: np.ndarray):
    """Half-length and gradient at ``x = (v_free, u)``, u bounding |v_free|."""
    k = (len(x)) // 2
    v, u = x[:k], x[k:]
    q, dq = problem.variance(v)
    s = np.sqrt(max(q, 1e-300))
    bias = M * (problem.bias_const + abs(problem.total_w) + u.sum())
    t = bias / s
    cv, dcv = folded_normal_cv(t, alpha)
    ds = dq / (2 * s)
    grad_v = ds * (cv - t * dcv)
    grad_u = np.full(k, M * dcv)
    return s * cv, np.concatenate([grad_v, grad_u])


def flci(
    betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray, M: float, alpha: float
) -> dict:
    """Optimal FLCI for ``l'tau_post`` under Delta^SD(M); a dict with ``ci_low``, ``ci_high``,
    ``half_length``, ``weights`` (the affine estimator's weights on betahat) and ``sd``."""
    problem = FLCIProblem.build(sigma, n_pre, l_vec)
    return flci_solve(problem, betahat, n_pre, l_vec, M, alpha)


def flci_solve(
    problem: FLCIProblem,
    betahat: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    M: float,
    alpha: float,
) -> dict:
    v0 = problem.min_variance()
    k = len(v0)
    if M == 0 or k == 0:
        v_best = v0
    else:
        # |v| <= u as linear constraints: u - v >= 0, u + v >= 0
        eye = np.eye(k)
        cons = {
            "type": "ineq",
            "fun": lambda x: np.concatenate([x[k:] - x[:k], x[k:] + x[:k]]),
            "jac": lambda x: np.block([[-eye, eye], [eye, eye]]),
        }
        best = None
        # convex problem; two starts (minimum variance, minimum bias) guard against
        # SLSQP stopping early on a flat stretch
        for start in (v0, np.zeros(k)):
            x0 = np.concatenate([start, np.abs(start) + 1e-12])
            res = optimize.minimize(
                lambda x: _half_length(problem, M, alpha, x),
                x0,
                jac=True,
                method="SLSQP",
                constraints=[cons],
                options={"ftol": 1e-15, "maxiter": 500},
            )
            if best is None or res.fun < best.fun:
                best = res
        v_best = best.x[:k]
    a = problem.pre_weights(v_best)
    q, _ = problem.variance(v_best)
    sd = float(np.sqrt(q))
    bias = M * (problem.bias_const + abs(problem.total_w) + np.abs(v_best).sum())
    half = sd * folded_normal_cv(bias / sd, alpha)[0]
    weights = np.concatenate([a, l_vec])
    centre = float(weights @ betahat)
    return {
        "ci_low": centre - half,
        "ci_high": centre + half,
        "half_length": half,
        "weights": weights,
        "sd": sd,
        "max_bias": bias,
    }
