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


def _unit_constant(df: pd.DataFrame, column: str, entity: str, what: str) -> pd.Series:
    """One value per unit; a unit whose value changes over time is an error naming it."""
    per_unit = df.groupby(entity)[column]
    varies = per_unit.nunique(dropna=False) > 1
    if varies.any():
        raise ValueError(
            f"staggered_did: {what} column {column!r} changes over time within {entity} "
            f"{_fmt(varies[varies].index)}: it must be one value per unit"
        )
    return per_unit.first()


def _incomplete_units(
    df: pd.DataFrame, entity: str, time: str, used: list[str], periods: np.ndarray
) -> pd.Series:
    """Per unit, why it is not complete: absent periods or missing values."""
    present = df.dropna(subset=used).groupby(entity)[time].nunique()
    present = present.reindex(df[entity].unique(), fill_value=0)
    short = present[present < len(periods)]
    return short.map(lambda k: f"{len(periods) - k} of {len(periods)} periods absent or missing")


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
    dup = data.duplicated([entity, time])
    if dup.any():
        row = data.loc[dup].iloc[0]
        raise ValueError(
            f"staggered_did: more than one row for {entity}={row[entity]}, {time}={row[time]}"
        )
    periods = np.sort(data[time].unique()).astype(float)
    if len(periods) < 2:
        raise ValueError("staggered_did: the panel needs at least two periods")
    notes: list[str] = []
    g, cohort_notes, early = _cohorts(
        _unit_constant(data, cohort, entity, "cohort"), periods, anticipation, cohort
    )
    notes += cohort_notes
    data = data[~data[entity].isin(early)]
    short = _incomplete_units(data, entity, time, used, periods)
    if len(short):
        detail = "; ".join(f"{u}: {why}" for u, why in short.head(5).items())
        if unbalanced == "raise":
            raise ValueError(
                f"staggered_did: unbalanced panel: {len(short)} {entity}(s) lack an outcome or "
                f"covariate in some period ({detail}). Pass unbalanced='drop' to drop them "
                "(as R did does by default)"
            )
        notes.append(f"unbalanced panel: dropped {len(short)} {entity}(s) ({detail})")
        data = data[~data[entity].isin(short.index)]
    if data.empty:
        raise ValueError("staggered_did: no complete units left")
    g = g.loc[np.sort(data[entity].unique())]
    if not (g > 0).any():
        raise ValueError(f"staggered_did: no treated units in column {cohort!r} within the window")
    wide = data.pivot(index=entity, columns=time, values=outcome).loc[g.index, periods]
    x = np.ones((len(periods), len(g), 1 + len(covariates)))
    for j, c in enumerate(covariates, start=1):
        x[:, :, j] = (
            data.pivot(index=entity, columns=time, values=c).loc[g.index, periods].to_numpy().T
        )
    w = np.ones(len(g))
    if weights:
        w = _unit_constant(data, weights, entity, "weights").loc[g.index].to_numpy(float)
        if (w < 0).any() or w.mean() <= 0:
            raise ValueError(
                f"staggered_did: weights in {weights!r} must be >= 0 with a positive mean"
            )
    codes = None
    if cluster:
        codes = pd.factorize(_unit_constant(data, cluster, entity, "cluster").loc[g.index])[0]
    return CSPanel(
        ids=g.index.to_numpy(), periods=periods, y=wide.to_numpy(float),
        cohort=g.to_numpy(float), x=x, weights=w, cluster=codes, notes=notes,
    )  # fmt: skip
