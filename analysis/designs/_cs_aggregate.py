"""Aggregations of ATT(g,t): simple, group, dynamic (event study) and calendar.

Weights and influence functions follow R ``did`` 2.5 ``compute.aggte``. A cell's
weight is its cohort's share ``p_g = mean_i(w_i 1[G_i = g])``; because those shares
are estimated, the aggregated influence function adds R's ``wif`` term for every
aggregation whose weights mix cohorts (simple, each event time, each calendar period,
the overall group average). Overall effects: ``simple`` is the share-weighted mean of
all post-treatment cells; ``group`` the share-weighted mean of the cohort effects;
``dynamic`` the plain mean of the event-time effects for ``e >= 0``; ``calendar``
the plain mean of the calendar-period effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.designs._cs_att_gt import ATTgt

AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


@dataclass
class Aggregate:
    """Estimates and influence functions of one aggregation (the overall one first)."""

    kind: str
    labels: np.ndarray  # group, event time or period per row (nan for overall)
    estimate: np.ndarray
    inf: np.ndarray  # (n, rows)


def _wif(keepers, pg, w, G, cell_group) -> np.ndarray:
    """R did's ``wif``: the influence of estimating the cohort shares ``pg``."""
    centered = w[:, None] * (G[:, None] == cell_group[keepers][None, :]) - pg[keepers][None, :]
    spg = pg[keepers].sum()
    return centered / spg - centered.sum(axis=1)[:, None] * (pg[keepers] / spg**2)[None, :]


def _weighted(fit: ATTgt, keepers, pg, w, G, with_wif: bool = True) -> tuple[float, np.ndarray]:
    """Share-weighted mean of the cells ``keepers`` and its influence function."""
    weights = pg[keepers] / pg[keepers].sum()
    est = float(np.sum(fit.att[keepers] * weights))
    inf = fit.inf[:, keepers] @ weights
    if with_wif:
        inf = inf + _wif(keepers, pg, w, G, fit.group) @ fit.att[keepers]
    return est, inf


def _mean(estimates: np.ndarray, infs: np.ndarray) -> tuple[float, np.ndarray]:
    return float(np.mean(estimates)), infs.mean(axis=1)


def aggregate_att(
    fit: ATTgt,
    cohort: np.ndarray,
    weights: np.ndarray,
    kind: str,
    first_period: float,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
) -> Aggregate:
    """One aggregation of ``fit``; first row overall, then one row per label.

    ``first_period`` is the panel's first period (R's ``t2orig(1)`` for ``balance_e``).
    """
    if kind not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, not {kind!r}")
    bad = np.isnan(fit.att)
    if bad.any():
        cells = [f"ATT({g:g},{t:g})" for g, t in zip(fit.group[bad], fit.time[bad], strict=True)]
        raise ValueError(f"cannot aggregate: {', '.join(cells)} could not be estimated")
    G, w, g, t = cohort, weights, fit.group, fit.time
    groups = np.unique(g)
    pgg = np.array([np.mean(w * (G == k)) for k in groups])
    pg = pgg[np.searchsorted(groups, g)]
    post = (g <= t) & (t <= g + max_e)
    if kind == "simple":
        est, inf = _weighted(fit, np.flatnonzero(post), pg, w, G)
        return Aggregate(kind, np.array([np.nan]), np.array([est]), inf[:, None])
    if kind == "group":
        rows = [
            _weighted(fit, np.flatnonzero(post & (g == k)), pg, w, G, with_wif=False)
            for k in groups
        ]
        att_g = np.array([r[0] for r in rows])
        inf_g = np.column_stack([r[1] for r in rows])
        over = att_g @ (pgg / pgg.sum())
        wif = _wif(np.arange(len(groups)), pgg, w, G, groups)
        inf = inf_g @ (pgg / pgg.sum()) + wif @ att_g
        return _stack(kind, groups, over, inf, att_g, inf_g)
    if kind == "dynamic":
        e = t - g
        include = np.ones_like(e, dtype=bool)
        if balance_e is not None:
            include = t.max() - g >= balance_e
        eseq = np.unique(e[include])
        if balance_e is not None:
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - t.max() + first_period)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        if len(eseq) == 0:
            raise ValueError("no event times within min_e, max_e and balance_e")
        rows = [_weighted(fit, np.flatnonzero((e == k) & include), pg, w, G) for k in eseq]
        att_e = np.array([r[0] for r in rows])
        inf_e = np.column_stack([r[1] for r in rows])
        if not (eseq >= 0).any():
            raise ValueError("no post-treatment event time (e >= 0) for the overall effect")
        over, inf = _mean(att_e[eseq >= 0], inf_e[:, eseq >= 0])
        return _stack(kind, eseq, over, inf, att_e, inf_e)
    periods = np.array([p for p in np.unique(t) if p >= g.min() and ((t == p) & (g <= t)).any()])
    rows = [_weighted(fit, np.flatnonzero((t == p) & (g <= t)), pg, w, G) for p in periods]
    att_t = np.array([r[0] for r in rows])
    inf_t = np.column_stack([r[1] for r in rows])
    over, inf = _mean(att_t, inf_t)
    return _stack(kind, periods, over, inf, att_t, inf_t)


def _stack(kind, labels, overall, overall_inf, estimates, infs) -> Aggregate:
    return Aggregate(
        kind,
        np.concatenate([[np.nan], np.asarray(labels, float)]),
        np.concatenate([[overall], estimates]),
        np.column_stack([overall_inf, infs]),
    )
