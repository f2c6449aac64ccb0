"""One specification of a specification curve: the fit, its CR1 and wild-bootstrap
inference, as one row of the curve's table.

:func:`fit_specification` runs in a joblib worker (a loky process or a Dask worker), so
it takes plain arguments and returns a plain dict. A choice the data cannot support
(a base year nobody reports, one cluster, no municipality above the threshold, a
cluster column the panel lacks) gives a row with ``status = "not estimated"`` and the
design's own one-line reason, never a dropped row.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.reporting.truth import TRUE_PREFIX
from analysis.studies.since2015 import growth_gap, level_gap, mark_size

WEIGHT = "__weight"
ESTIMATED, NOT_ESTIMATED = "estimated", "not estimated"


def balanced_sample(data: pd.DataFrame, outcome: str, first: int, log: bool) -> pd.DataFrame:
    """The municipalities with a usable ``outcome`` (positive on the log scale) in every
    year from ``first`` to the outcome's last year.

    Raises
    ------
    ValueError
        When no municipality reports every year.
    """
    usable = data[outcome].notna() & ((data[outcome] > 0) if log else True)
    window = data[schema.YEAR] >= first
    years = data.loc[usable & window, schema.YEAR].unique()
    counts = data.loc[usable & window].groupby(schema.MUNICIPALITY)[schema.YEAR].nunique()
    keep = counts.index[counts == len(years)]
    if len(years) == 0 or len(keep) == 0:
        raise ValueError(f"no municipality reports {outcome} in every year from {first}")
    return data[data[schema.MUNICIPALITY].isin(keep)]


def _cluster_column(data: pd.DataFrame, cluster: str) -> tuple[str, str]:
    """``(column, argument for the design)``; ``municipality`` is the design's entity."""
    if cluster == "municipality":
        return schema.MUNICIPALITY, "entity"
    if cluster not in data:
        raise ValueError(f"the panel has no {cluster!r} column to cluster on")
    lacking = data.loc[data[cluster].isna(), schema.MUNICIPALITY].unique()
    if len(lacking):
        raise ValueError(f"{len(lacking)} municipalities have no {cluster} (e.g. "
                         f"{list(lacking[:3])}): clustering on it would drop them")
    return cluster, cluster


def _fit(data: pd.DataFrame, outcome: str, choices: dict, design: str, group: str,
         log: bool, cluster: str, weights: str | None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "few clusters": the wild bootstrap is the answer
        if design == "growth":
            return growth_gap(data, outcome, group=group, base_year=choices["base_year"],
                              log=log, cluster=cluster, weights=weights)
        return level_gap(data, outcome, group=group, years=(choices["base_year"], None),
                         log=log, cluster=cluster, weights=weights)


def _inference_text(boot, cluster: str) -> str:
    how = (f"all {2 ** boot.n_clusters:,} sign vectors" if boot.enumerated
           else f"{boot.draws:,} draws")
    return (f"wild cluster bootstrap WCR11 by {cluster} ({boot.n_clusters} clusters, "
            f"Rademacher, {how}); CI by test inversion")


def fit_specification(
    frame: pd.DataFrame, outcome: str, spec: tuple, *, design: str, group: str, log: bool,
    draws: int, level: float, seed: int, inference: str,
) -> dict[str, Any]:
    """One row: the specification's choices, its estimate and inference, or its reason."""
    choices = dict(spec)
    row: dict[str, Any] = {**choices, "status": ESTIMATED, "reason": ""}
    try:
        row.update(_estimate(frame, outcome, choices, design, group, log, draws, level, seed,
                             inference))
    except (ValueError, KeyError) as err:  # what the data cannot support, said in one line
        reason = str(err.args[0] if err.args else err).splitlines()[0]
        row.update(status=NOT_ESTIMATED, reason=reason)
    row["seed"] = seed
    return row


def _estimate(frame, outcome, choices, design, group, log, draws, level, seed, inference):
    data = mark_size(frame, choices["threshold"])
    if choices["sample"] == "balanced":
        data = balanced_sample(data, outcome, choices["base_year"], log)
    column, cluster = _cluster_column(data, choices["cluster"])
    weights = None
    if choices["weighting"] == "population":
        data = data.assign(**{WEIGHT: data[schema.BASELINE_POPULATION]})
        weights = WEIGHT
    res = _fit(data, outcome, choices, design, group, log, cluster, weights)
    term = res.extra["term"]
    hit = res.table.set_index("term").loc[term]
    used = res.fit.extra["frame"]
    units = used[schema.MUNICIPALITY].unique()
    in_group = data.drop_duplicates(schema.MUNICIPALITY).set_index(schema.MUNICIPALITY)[group]
    out = {
        "estimate": float(hit["estimate"]), "std_error": float(hit["std_error"]),
        "cr1_ci_low": float(hit["ci_low"]), "cr1_ci_high": float(hit["ci_high"]),
        "cr1_p": float(hit["p_value"]),
        "n_obs": int(res.n_obs), "n_units": len(units),
        "n_in_group": int(in_group.loc[units].sum()), "n_clusters": int(res.n_clusters),
        "first_year": int(used[schema.YEAR].min()), "last_year": int(used[schema.YEAR].max()),
        "cr1": f"{res.se_type}; {res.correction}",
    }
    if inference == "wild":
        boot = wild_cluster_bootstrap(res, term=term, draws=draws, seed=seed, level=level)
        out.update(wild_ci_low=boot.ci_low, wild_ci_high=boot.ci_high, wild_p=boot.p_value,
                   inference=_inference_text(boot, column), note="; ".join(boot.notes))
        out.update(ci_low=boot.ci_low, ci_high=boot.ci_high, p_value=boot.p_value)
    else:
        out.update(wild_ci_low=math.nan, wild_ci_high=math.nan, wild_p=math.nan,
                   inference=f"cluster-robust t: {out['cr1']}", note="")
        out.update(ci_low=out["cr1_ci_low"], ci_high=out["cr1_ci_high"], p_value=out["cr1_p"])
    out["truth"] = _truth(data, outcome, choices, design, group, log, cluster, weights, term)
    return out


def _truth(data, outcome, choices, design, group, log, cluster, weights, term) -> float:
    """The same specification on the synthetic true effects (level scale), on the rows
    whose outcome the estimate used; NaN on real data and on the log scale."""
    column = TRUE_PREFIX + outcome
    if log or column not in data:
        return math.nan
    rows = data[data[outcome].notna()]
    try:
        res = _fit(rows, column, choices, design, group, False, cluster, weights)
    except ValueError as err:
        # e.g. base year 2017 on the synthetic default, whose effect is fully ramped up by
        # then: nothing varies once the unit and year effects are absorbed, so every
        # coefficient of the design on the truth is exactly 0
        if str(err).startswith("the outcome has no variation"):  # linear._check_outcome
            return 0.0
        raise
    return float(res.table.set_index("term").loc[term, "estimate"])


ROW_COLUMNS = [
    "status", "reason", "estimate", "std_error", "ci_low", "ci_high", "p_value", "inference",
    "cr1_ci_low", "cr1_ci_high", "cr1_p", "wild_ci_low", "wild_ci_high", "wild_p",
    "n_obs", "n_units", "n_in_group", "n_clusters", "first_year", "last_year", "truth",
    "cr1", "note", "seed",
]


def excludes_zero(table: pd.DataFrame) -> pd.Series:
    """Whether each row's interval lies wholly on one side of zero (False if not estimated)."""
    return (table["ci_low"] > 0) | (table["ci_high"] < 0)


def width(table: pd.DataFrame) -> pd.Series:
    """Interval width; an unbounded interval is infinitely wide."""
    return (table["ci_high"] - table["ci_low"]).astype(float).fillna(-np.inf)
