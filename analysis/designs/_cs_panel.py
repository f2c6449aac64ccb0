"""Input checks and the wide panel behind :func:`analysis.staggered_did`.

A staggered design needs a balanced panel (one row per unit and period, every unit
in every period) and one first-treated period per unit. This module checks both and
turns the long frame into arrays: outcomes ``(n, T)``, cohorts ``(n,)``, covariates
``(T, n, k)`` with an intercept, unit weights ``(n,)`` and optional cluster codes.

The cohort rules follow R ``did`` 2.5 (``pre_process_did``) and are reported in
``notes``: a cohort after the last period plus ``anticipation`` is never treated in
the window (coded 0); units first treated in or before the first period plus
``anticipation`` have no untreated period and are dropped. A cohort that falls
between the observed periods, or is negative, is an error naming the units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

UNBALANCED = ("raise", "drop")


@dataclass
class CSPanel:
    """A balanced panel as arrays (rows: units sorted by id; columns: periods)."""

    ids: np.ndarray
    periods: np.ndarray
    y: np.ndarray  # (n, T)
    cohort: np.ndarray  # (n,), 0 = never treated in the window
    x: np.ndarray  # (T, n, k): intercept plus covariates, per period
    weights: np.ndarray  # (n,), unit sampling weights (1 when not given)
    cluster: np.ndarray | None  # (n,) codes of a cluster coarser than the unit
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.ids)


def _fmt(values: Sequence, k: int = 5) -> str:
    values = list(values)
    more = f" and {len(values) - k} more" if len(values) > k else ""
    return ", ".join(map(str, values[:k])) + more


def _numeric(df: pd.DataFrame, column: str, what: str) -> None:
    if not (
        pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column])
    ):
        raise TypeError(
            f"staggered_did: column {column!r} ({what}) must be numeric, "
            f"found dtype {df[column].dtype}"
        )


def _unit_constant(
    values: np.ndarray, unit: np.ndarray, ids: np.ndarray, column: str, entity: str, what: str
) -> np.ndarray:
    """One value per unit (NaN allowed); a unit whose value changes is an error naming it."""
    filled = np.where(np.isnan(values), -np.inf, values)
    lo, hi = np.full(len(ids), np.inf), np.full(len(ids), -np.inf)
    np.minimum.at(lo, unit, filled)
    np.maximum.at(hi, unit, filled)
    varies = lo != hi
    if varies.any():
        raise ValueError(
            f"staggered_did: {what} column {column!r} changes over time within {entity} "
            f"{_fmt(ids[varies])}: it must be one value per unit"
        )
    return np.where(np.isneginf(lo), np.nan, lo)


def _wide(values: np.ndarray, unit: np.ndarray, period: np.ndarray, shape: tuple) -> np.ndarray:
    out = np.full(shape, np.nan)
    out[unit, period] = values
    return out


def _cohorts(
    cohort: pd.Series, periods: np.ndarray, anticipation: int, column: str
) -> tuple[pd.Series, list[str], list]:
    """Cohort per unit after R did's rules; returns (cohort, notes, dropped units)."""
    notes: list[str] = []
    g = cohort.fillna(0.0).astype(float)
    if (g < 0).any():
        raise ValueError(
            f"staggered_did: negative first-treated period in column {column!r} for "
            f"units {_fmt(g[g < 0].index)}"
        )
    first, last = float(periods[0]), float(periods[-1])
    late = g > last + anticipation
    if late.any():
        notes.append(
            f"{int(late.sum())} unit(s) first treated after the last period {last:g} "
            f"(+ anticipation {anticipation}) count as never treated in this window"
        )
        g[late] = 0.0
    inside = (g > 0) & ~np.isin(g, periods)
    if inside.any():
        bad = sorted(set(g[inside]))
        raise ValueError(
            f"staggered_did: first-treated period(s) {_fmt(bad)} in column {column!r} "
            f"(units {_fmt(g[inside].index)}) are not periods of the panel "
            f"({_fmt(periods, 20)})"
        )
    early = (g > 0) & (g <= first + anticipation)
    dropped = list(g[early].index)
    if dropped:
        notes.append(
            f"dropped {len(dropped)} unit(s) already treated in the first period {first:g} "
            f"(+ anticipation {anticipation}): no untreated period to compare, e.g. "
            f"{_fmt(dropped)}"
        )
    return g[~early], notes, dropped


def build_panel(
    df: pd.DataFrame,
    outcome: str,
    entity: str,
    time: str,
    cohort: str,
    covariates: Sequence[str],
    weights: str | None,
    cluster: str | None,
    anticipation: int,
    unbalanced: str,
) -> CSPanel:
    """Check the long frame and return the balanced :class:`CSPanel`."""
    used = [outcome, *covariates]
    columns = list(
        dict.fromkeys([entity, time, cohort, *used, *[c for c in (weights, cluster) if c]])
    )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(
            f"staggered_did: column(s) {missing} not in the data; available: {list(df.columns)}"
        )
    if unbalanced not in UNBALANCED:
        raise ValueError(
            f"staggered_did: unbalanced must be one of {UNBALANCED}, not {unbalanced!r}"
        )
    if int(anticipation) != anticipation or anticipation < 0:
        raise ValueError(
            f"staggered_did: anticipation must be a whole number >= 0, not {anticipation!r}"
        )
    _numeric(df, time, "period")
    _numeric(df, cohort, "first treated period, 0 or NaN for never treated")
    for c in used:
        _numeric(df, c, "outcome" if c == outcome else "covariate")
    if weights:
        _numeric(df, weights, "weights")
    data = df[columns]
    if data[entity].isna().any() or data[time].isna().any():
        raise ValueError(f"staggered_did: missing values in {entity!r} or {time!r}")
    unit, ids = pd.factorize(data[entity], sort=True)
    periods = np.sort(data[time].unique()).astype(float)
    if len(periods) < 2:
        raise ValueError("staggered_did: the panel needs at least two periods")
    period = np.searchsorted(periods, data[time].to_numpy(float))
    shape = (len(ids), len(periods))
    counts = np.bincount(unit * shape[1] + period, minlength=shape[0] * shape[1])
    if (counts > 1).any():
        k = int(np.flatnonzero(counts > 1)[0])
        raise ValueError(
            f"staggered_did: more than one row for {entity}={ids[k // shape[1]]}, "
            f"{time}={periods[k % shape[1]]:g}"
        )
    ids = np.asarray(ids)
    g_all = _unit_constant(data[cohort].to_numpy(float), unit, ids, cohort, entity, "cohort")
    g, notes, early = _cohorts(pd.Series(g_all, index=ids), periods, anticipation, cohort)
    stack = np.stack([_wide(data[c].to_numpy(float), unit, period, shape) for c in used])
    short = ~np.isfinite(stack).all(axis=(0, 2)) & ~np.isin(ids, early)
    if short.any():
        gaps = (~np.isfinite(stack).all(axis=0)).sum(axis=1)
        detail = "; ".join(
            f"{u}: {k} of {shape[1]} periods absent or missing"
            for u, k in zip(ids[short][:5], gaps[short][:5], strict=True)
        )
        if unbalanced == "raise":
            raise ValueError(
                f"staggered_did: unbalanced panel: {int(short.sum())} {entity}(s) lack an "
                f"outcome or covariate in some period ({detail}). Pass unbalanced='drop' to "
                "drop them (as R did does by default)"
            )
        notes.append(f"unbalanced panel: dropped {int(short.sum())} {entity}(s) ({detail})")
    keep = ~short & ~np.isin(ids, early)
    if not keep.any():
        raise ValueError("staggered_did: no complete units left")
    g = g.loc[ids[keep]]
    if not (g > 0).any():
        raise ValueError(f"staggered_did: no treated units in column {cohort!r} within the window")
    x = np.ones((shape[1], int(keep.sum()), 1 + len(covariates)))
    for j in range(1, len(used)):
        x[:, :, j] = stack[j][keep].T
    w = np.ones(int(keep.sum()))
    if weights:
        w = _unit_constant(data[weights].to_numpy(float), unit, ids, weights, entity, "weights")
        w = w[keep]
        if not np.isfinite(w).all() or (w < 0).any() or w.mean() <= 0:
            raise ValueError(
                f"staggered_did: weights in {weights!r} must be >= 0 with a positive mean"
            )
    codes = None
    if cluster:
        per_unit = data.groupby(entity)[cluster].agg(["nunique", "first"]).loc[ids[keep]]
        if (per_unit["nunique"] > 1).any():
            raise ValueError(
                f"staggered_did: cluster column {cluster!r} changes over time within {entity} "
                f"{_fmt(per_unit.index[per_unit['nunique'] > 1])}"
            )
        codes = pd.factorize(per_unit["first"])[0]
    wide = stack[0][keep]
    return CSPanel(
        ids=g.index.to_numpy(), periods=periods, y=wide,
        cohort=g.to_numpy(float), x=x, weights=w, cluster=codes, notes=notes,
    )  # fmt: skip
