"""Group-time average treatment effects ATT(g,t) and their influence functions.

Each ATT(g,t) is a 2x2 comparison on the long difference ``Y_t - Y_b`` of cohort ``g``
against its comparison units, estimated as in R ``DRDID`` 1.2 (the estimators R
``did`` 2.5 calls): ``reg_did_panel`` (outcome regression), ``std_ipw_did_panel``
(normalised inverse probability weighting) and ``drdid_panel`` (doubly robust, the
default). The formulas below follow those functions line by line, including the
propensity-score cap at ``1 - 1e-6`` and the trimming of comparison units with a
score above 0.995, so the influence functions and hence the standard errors agree.

The base period ``b`` is R's ``base_period = "varying"``: ``g - 1 - anticipation`` for
``t >= g`` and ``t - 1`` before. The comparison units are the never treated, or with
``control_group = "not_yet_treated"`` also those first treated after
``t + anticipation`` (other than ``g``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.designs._cs_panel import CSPanel

EST_METHODS = ("dr", "ipw", "reg")
CONTROL_GROUPS = ("never_treated", "not_yet_treated")
PS_CAP = 1 - 1e-6  # DRDID: pmin(ps, 1 - 1e-6)
TRIM = 0.995  # DRDID trim.level: comparison units with a larger score get weight 0


@dataclass
class ATTgt:
    """All ATT(g,t) of one fit; ``inf`` has one row per unit and one column per cell."""

    group: np.ndarray
    time: np.ndarray
    att: np.ndarray
    inf: np.ndarray  # (n, m), scaled as R did: rows of units outside a cell are 0
    n_treated: np.ndarray
    n_control: np.ndarray
    notes: list[str]


def _logit(X: np.ndarray, D: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by Newton-Raphson; returns fitted scores and X'WX at the optimum."""
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        H = (X * (w * p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(H, X.T @ (w * (D - p)))
        beta += step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    else:
        raise RuntimeError("propensity score (logit) did not converge")
    p = 1.0 / (1.0 + np.exp(-(X @ beta)))
    return p, (X * (w * p * (1 - p))[:, None]).T @ X


def _ols_control(X: np.ndarray, dy: np.ndarray, D: np.ndarray, w: np.ndarray) -> tuple:
    """Weighted least squares of ``dy`` on ``X`` among comparison units, with its IF."""
    n = len(D)
    wc = w * (1 - D)
    XpX = (X * wc[:, None]).T @ X / n
    if np.linalg.cond(XpX) > 1 / np.finfo(float).eps:
        raise np.linalg.LinAlgError(
            "outcome regression: singular covariate matrix among comparison units"
        )
    coef = np.linalg.solve(XpX, (X * wc[:, None]).T @ dy / n)
    fitted = X @ coef
    lin_rep = (wc * (dy - fitted))[:, None] * X @ np.linalg.inv(XpX)
    return fitted, lin_rep


def _reg(dy, D, X, w):
    """DRDID::reg_did_panel."""
    fitted, lin_rep = _ols_control(X, dy, D, w)
    wt = w * D
    eta_t = np.mean(wt * dy) / wt.mean()
    eta_c = np.mean(wt * fitted) / wt.mean()
    inf_t = (wt * dy - wt * eta_t) / wt.mean()
    inf_c = (wt * fitted - wt * eta_c + lin_rep @ np.mean(wt[:, None] * X, axis=0)) / wt.mean()
    return eta_t - eta_c, inf_t - inf_c


def _scores(D, X, w):
    n = len(D)
    p, info = _logit(X, D, w)
    p = np.minimum(p, PS_CAP)
    keep = np.where(D == 1, p < 1.01, p < TRIM)
    lin_rep_ps = (w * (D - p))[:, None] * X @ (np.linalg.inv(info) * n)
    return p, keep, lin_rep_ps


def _ipw(dy, D, X, w):
    """DRDID::std_ipw_did_panel."""
    p, keep, lin_rep_ps = _scores(D, X, w)
    wt = keep * w * D
    wc = keep * w * p * (1 - D) / (1 - p)
    eta_t = np.mean(wt * dy) / wt.mean()
    eta_c = np.mean(wc * dy) / wc.mean()
    inf_t = (wt * dy - wt * eta_t) / wt.mean()
    m2 = np.mean((wc * (dy - eta_c))[:, None] * X, axis=0)
    inf_c = (wc * dy - wc * eta_c + lin_rep_ps @ m2) / wc.mean()
    return eta_t - eta_c, inf_t - inf_c


def _dr(dy, D, X, w):
    """DRDID::drdid_panel (traditional doubly robust)."""
    p, keep, lin_rep_ps = _scores(D, X, w)
    fitted, lin_rep_ols = _ols_control(X, dy, D, w)
    wt = keep * w * D
    wc = keep * w * p * (1 - D) / (1 - p)
    resid = dy - fitted
    eta_t = np.mean(wt * resid) / wt.mean()
    eta_c = np.mean(wc * resid) / wc.mean()
    inf_t = (wt * resid - wt * eta_t - lin_rep_ols @ np.mean(wt[:, None] * X, axis=0)) / wt.mean()
    m2 = np.mean((wc * (resid - eta_c))[:, None] * X, axis=0)
    m3 = np.mean(wc[:, None] * X, axis=0)
    inf_c = (wc * resid - wc * eta_c + lin_rep_ps @ m2 - lin_rep_ols @ m3) / wc.mean()
    return eta_t - eta_c, inf_t - inf_c


def _unconditional(dy, D, X, w):
    """All three estimators without covariates: a weighted difference in mean changes."""
    wt, wc = w * D, w * (1 - D)
    mt, mc = np.sum(wt * dy) / wt.sum(), np.sum(wc * dy) / wc.sum()
    return mt - mc, wt * (dy - mt) / wt.mean() - wc * (dy - mc) / wc.mean()


_ESTIMATORS = {"dr": _dr, "ipw": _ipw, "reg": _reg}


def _base_index(periods: np.ndarray, g: float, anticipation: int) -> int | None:
    """Index of the last period before ``g - anticipation`` (R's ``pret_g``)."""
    idx = np.flatnonzero(periods + anticipation < g)
    return int(idx[-1]) if len(idx) else None


def att_gt(
    panel: CSPanel,
    control_group: str,
    anticipation: int,
    est_method: str,
    groups: np.ndarray | None = None,
) -> ATTgt:
    """Every ATT(g,t) of ``groups`` (default: all cohorts) from the second period on."""
    periods, G, n = panel.periods, panel.cohort, panel.n
    estimator = _unconditional if panel.x.shape[2] == 1 else _ESTIMATORS[est_method]
    rows: list[tuple] = []
    columns: list[np.ndarray] = []
    notes: list[str] = []
    for g in np.unique(G[G > 0]) if groups is None else groups:
        base_g = _base_index(periods, g, anticipation)
        treated = G == g
        for j in range(1, len(periods)):
            t = periods[j]
            b = base_g if g <= t else j - 1
            control = G == 0
            if control_group == "not_yet_treated":
                control = control | ((G > t + anticipation) & ~treated)
            keep = treated | control
            att, inf = np.nan, np.full(n, np.nan)
            if control.any():
                D = treated[keep].astype(float)
                dy = panel.y[keep, j] - panel.y[keep, b]
                X = panel.x[min(j, b)][keep]  # covariates of the earlier period, as R did
                try:
                    att, inf_cell = estimator(
                        dy, D, X, panel.weights[keep] / panel.weights[keep].mean()
                    )
                    inf = np.zeros(n)
                    inf[keep] = inf_cell * n / keep.sum()
                except (np.linalg.LinAlgError, RuntimeError) as exc:
                    notes.append(f"ATT({g:g},{t:g}) not estimated: {exc}")
            else:
                notes.append(f"ATT({g:g},{t:g}) not estimated: no comparison units")
            rows.append((g, t, att, int(treated.sum()), int(control.sum())))
            columns.append(inf)
    group, time, att, n_t, n_c = (np.array(v) for v in zip(*rows, strict=True))
    return ATTgt(group, time, att.astype(float), np.column_stack(columns), n_t, n_c, notes)
