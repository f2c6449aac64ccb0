"""CR2 cluster-robust covariance with small-sample inference for few clusters.

The bias-reduced linearisation estimator of Bell & McCaffrey (2002) as extended to
models with fixed effects by Pustejovsky & Tipton (2018, JBES), and as R's clubSandwich
computes it for ordinary least squares (``vcovCR(fit, cluster, type = "CR2")``):

* ``V = B (sum_g X_g' A_g u_g u_g' A_g X_g) B`` with ``B = (X'X)^-1`` and
  ``A_g = (I - H_gg)^(-1/2)`` (symmetric; eigenvalues below 1e-12 treated as zero, i.e.
  a pseudo-inverse, as clubSandwich's ``matrix_power``). ``H`` is the hat matrix of the
  *full* design, slopes plus one dummy per fixed-effect level, so the adjustment depends
  on the fixed effects. No further scale factor.
* single coefficients: t-tests with Satterthwaite degrees of freedom under a working model
  of independent homoskedastic errors (clubSandwich ``coef_test(test = "Satterthwaite")``);
* joint hypotheses ``C b = 0``: the approximate Hotelling T-squared test
  (clubSandwich ``Wald_test(test = "HTZ")``): ``F = (nu - q + 1) / (nu q) * Q`` on
  ``(q, nu - q + 1)`` degrees of freedom, ``Q = b'C'(C V C')^-1 C b``.

The fixed effects stay absorbed: with ``S`` the dummies of the effects *not* nested in
the clusters, residualised on the nested ones, ``H = X B X' + P_S`` gives the same ``V``,
degrees of freedom and HTZ test as the full dummy design, because the residuals and the
demeaned regressors are orthogonal to the nested dummies (Pustejovsky & Tipton 2018,
Theorem 2). ``tests/inference/test_cr2.py`` checks this against clubSandwich for ``lm()``
with factor dummies and for ``plm(model = "within")``, which agree with each other to 1e-12.

Unweighted least squares only (clubSandwich's weighted CR2 uses another working model);
the dense dummies of the non-nested effects must fit in memory (N x levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.inference.covariance import Covariance, CovarianceResult
from analysis.inference.fe import FixedEffect, demean

_EIG_TOL = 1e-12  # clubSandwich's matrix_power: eigenvalues at or below 10^-12 count as 0


def _sym_power(m: np.ndarray, p: float) -> np.ndarray:
    """``m^p`` of a symmetric matrix, eigenvalues <= 1e-12 set to 0 (a pseudo-power)."""
    vals, vecs = np.linalg.eigh(m)
    keep = vals > _EIG_TOL
    powered = np.zeros_like(vals)
    powered[keep] = vals[keep] ** p
    return (vecs * powered) @ vecs.T


def _other_effects_basis(effects: list[FixedEffect], codes: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the non-nested effects' dummies, residualised on the nested."""
    nested = [fe for fe in effects if fe.nested_in(codes)]
    other = [fe for fe in effects if not fe.nested_in(codes)]
    if not other:
        return np.zeros((codes.shape[0], 0))
    dummies = np.hstack([fe.indicator().toarray() for fe in other])
    resid = demean(dummies, nested) if nested else dummies
    u, s, _ = np.linalg.svd(resid, full_matrices=False)
    rank = int(np.sum(s > 1e-10 * s[0])) if s.size else 0
    return u[:, :rank]


@dataclass(frozen=True)
class CR2Inference:
    """What the Satterthwaite and HTZ approximations need, per cluster g.

    ``gram[g] = G_g' G_g`` and ``proj[g] = Z_g' G_g`` with ``G_g = A_g X_g B`` and
    ``Z = [X chol(B), basis of the non-nested effects]`` (so ``H = Z Z'``).
    """

    gram: np.ndarray  # G x k x k
    proj: np.ndarray  # G x m x k

    def _blocks(self, contrasts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster, ``C G_g'G_g C'`` (G x q x q) and ``Z_g' G_g C'`` (G x m x q)."""
        diag = np.einsum("si,gij,tj->gst", contrasts, self.gram, contrasts)
        return diag, self.proj @ contrasts.T

    @staticmethod
    def _p_matrix(diag: np.ndarray, proj: np.ndarray, s: int, t: int) -> np.ndarray:
        """The G x G matrix ``P^(st)`` of clubSandwich's ``get_P_array(all_terms=TRUE)``."""
        return np.diag(diag[:, s, t]) - proj[:, :, s] @ proj[:, :, t].T

    def satterthwaite(self, contrast: np.ndarray) -> float:
        """Satterthwaite degrees of freedom of ``c'b``: ``tr(P)^2 / sum(P^2)``."""
        diag, proj = self._blocks(np.atleast_2d(contrast))
        p = self._p_matrix(diag, proj, 0, 0)
        return float(np.trace(p) ** 2 / np.sum(p * p))

    def htz(self, contrasts: np.ndarray, coef: np.ndarray, vcov: np.ndarray) -> dict:
        """Approximate Hotelling T-squared test of ``C b = 0`` (clubSandwich "HTZ")."""
        c = np.atleast_2d(np.asarray(contrasts, dtype=float))
        q = c.shape[0]
        diag, proj = self._blocks(c)
        omega = np.einsum("gst->st", diag) - np.einsum("gms,gmt->st", proj, proj)
        c_tilde = _sym_power(omega, -0.5) @ c  # Omega^-1/2 C: standardised contrasts
        diag, proj = self._blocks(c_tilde)
        blocks = {(s, t): self._p_matrix(diag, proj, s, t) for s in range(q) for t in range(q)}
        total = 0.0
        for s in range(q):
            for t in range(q):
                total += np.sum(blocks[s, t] * blocks[t, s]) + np.sum(blocks[s, s] * blocks[t, t])
        nu = q * (q + 1) / total
        cb = c @ coef
        wald = float(cb @ np.linalg.solve(c @ vcov @ c.T, cb))
        df2 = nu - q + 1
        f = max(df2 / nu, 0.0) * wald / q
        p = float(stats.f.sf(f, q, df2)) if df2 > 0 else float("nan")
        return {"statistic": f, "df": (q, df2), "p_value": p, "chi2": wald, "nu": nu}


@dataclass
class CR2(Covariance):
    """CR2 by one cluster variable, with Satterthwaite df per coefficient (clubSandwich).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import twfe
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(24), 6),
    ...                    "year": np.tile(np.arange(6), 24)})
    >>> df["province"] = df["unit"] // 4  # 6 clusters; the unit effects are nested in them
    >>> df["x"] = rng.normal(size=len(df))
    >>> df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    >>> res = twfe(df, "y", ["x"], entity="unit", time="year", cluster="province", vcov="CR2")
    >>> res.se_type, bool(res.extra["df_coef"]["x"] < 6)
    ('CR2 by province', True)
    """

    codes: np.ndarray
    name: str = "cluster"

    def compute(self, X, u, bread, effects):
        n, k = X.shape
        order = np.argsort(self.codes, kind="stable")
        bounds = np.flatnonzero(np.diff(self.codes[order])) + 1
        groups = np.split(order, bounds)
        basis = _other_effects_basis(effects, self.codes)
        z = np.hstack([X @ np.linalg.cholesky(bread), basis])
        scores = np.zeros((len(groups), k))
        gram = np.zeros((len(groups), k, k))
        proj = np.zeros((len(groups), z.shape[1], k))
        for g, rows in enumerate(groups):
            z_g = z[rows]
            adjust = _sym_power(np.eye(rows.size) - z_g @ z_g.T, -0.5)  # A_g
            ax = adjust @ X[rows]
            scores[g] = ax.T @ u[rows]
            g_mat = ax @ bread
            gram[g] = g_mat.T @ g_mat
            proj[g] = z_g.T @ g_mat
        vcov = bread @ (scores.T @ scores) @ bread
        inference = CR2Inference(gram, proj)
        df = np.array([inference.satterthwaite(np.eye(k)[i]) for i in range(k)])
        n_clusters = len(groups)
        return CovarianceResult(
            vcov,
            n_clusters - 1,
            f"CR2 by {self.name}",
            f"CR2 (Bell-McCaffrey), adjustment on the full fixed-effect design, G={n_clusters}; "
            "t with Satterthwaite df per coefficient, HTZ for joint tests (clubSandwich)",
            n_clusters,
            df_coef=df,
            small_sample=inference,
        )
