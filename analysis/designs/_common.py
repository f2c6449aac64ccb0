"""Shared plumbing of the designs: covariance choice, the fit, the result table.

The checks of the data a design is given live in :mod:`analysis.inference.checks`;
every design calls :func:`analysis.inference.checks.check_design_input` at its entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.inference.checks import require_columns
from analysis.inference.covariance import (
    Clustered,
    Covariance,
    DriscollKraay,
    Heteroskedastic,
    Homoskedastic,
    TwoWayClustered,
)
from analysis.inference.cr2 import CR2
from analysis.inference.fe import FixedEffect
from analysis.inference.linear import LinearFit, fit_linear
from analysis.results import TABLE_COLUMNS, EstimationResult

PANEL = "panel"  # baseline_year default: the panel's own (attrs["baseline_year"]), else 2014
GROWTH_DESIGN = (
    "the growth design identifies what such data can: analysis.size_gap_table(panel, "
    "[outcome]) (growth since the first year, large versus small) and "
    "analysis.growth_path(panel, outcome) (the gap year by year); see the guide "
    "'Which design for which data'"
)
FEW_CLUSTERS = 40  # below this, cluster-robust t-tests over-reject (Cameron & Miller 2015)
VCOV_TYPES = ("iid", "hetero", "cluster", "CR2", "driscoll_kraay")

ClusterSpec = str | Sequence[str] | None


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def resolve_cluster(
    cluster: ClusterSpec, vcov: str | None, entity: str | None, time: str | None
) -> list[str]:
    """Cluster columns; ``"entity"``/``"time"`` stand for the design's own columns."""
    if vcov not in (None, "cluster", "CR2"):
        return []
    alias = {"entity": entity, "time": time}
    out = []
    for c in as_list(cluster):
        if c in alias and alias[c] is None:
            # e.g. did_2x2 on repeated cross-sections (entity=None) with the default cluster
            raise ValueError(
                f"cluster={c!r} but the design has no {c} column ({c}=None): give a "
                "cluster column, or vcov='hetero' (HC1) or 'iid'"
            )
        out.append(alias.get(c, c))
    return out


def drop_missing(
    df: pd.DataFrame, columns: Sequence[str], entity: str | None, time: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """Rows with a missing value in a used column are dropped and reported."""
    cols = list(dict.fromkeys(columns))
    bad = df[cols].isna().any(axis=1)
    if not bad.any():
        return df, []
    which = df.loc[bad, cols].isna().sum()
    ids = [c for c in (entity, time) if c]
    first = [
        " ".join(str(v) for v in row) for row in df.loc[bad, ids].head(3).itertuples(index=False)
    ] if ids else []
    note = (
        f"dropped {int(bad.sum())} of {len(df)} rows with missing values "
        f"({', '.join(f'{c}: {n}' for c, n in which[which > 0].items())})"
        + (f", e.g. {first}" if first else "")
    )
    return df.loc[~bad], [note]


def panel_info(df: pd.DataFrame, entity: str | None, time: str | None) -> tuple[dict, list[str]]:
    """Balance of the panel actually used; an unbalanced panel is handled and reported."""
    if not entity or not time:
        return {}, []
    dup = df.duplicated([entity, time])
    if dup.any():
        row = df.loc[dup, [entity, time]].iloc[0]
        raise ValueError(
            f"more than one row for {entity}={row[entity]}, {time}={row[time]}: "
            "the panel must have one row per entity and period"
        )
    n_e, n_t = df[entity].nunique(), df[time].nunique()
    info = {
        "n_entities": int(n_e),
        "n_periods": int(n_t),
        "balanced": bool(len(df) == n_e * n_t),
        "n_missing_cells": int(n_e * n_t - len(df)),
    }
    notes = []
    if not info["balanced"]:
        notes.append(
            f"unbalanced panel: {info['n_missing_cells']} of {n_e * n_t} "
            f"{entity}-{time} cells absent; fixed effects absorbed by alternating projections"
        )
    return info, notes


def singleton_notes(effects: Sequence[FixedEffect]) -> list[str]:
    """Levels of an effect seen once are kept, and said so (pyfixest drops them)."""
    notes = []
    for fe in effects:
        n_single = int(np.sum(np.bincount(fe.codes, minlength=fe.n_levels) == 1))
        if n_single:
            notes.append(
                f"{n_single} {fe.name} level(s) with a single observation (singletons) kept: "
                "their own effect fits them exactly, so the slopes are those without them, "
                "but they count in N (and in G when clustered by them), which changes the "
                "small-sample factor slightly. R plm and linearmodels keep them too; "
                "fixest/pyfixest drop them by default (fixef_rm='singleton')"
            )
    return notes


def add_covariates(X: pd.DataFrame, data: pd.DataFrame, covariates: Sequence[str],
                   design: str) -> pd.DataFrame:
    """Append covariate columns to the design's own terms, refusing a name clash."""
    clash = [c for c in covariates if c in X.columns]
    if clash:
        raise ValueError(
            f"{design}: covariate(s) {clash} have the name of a term the design builds "
            f"({list(X.columns)}); rename the column(s)"
        )
    for c in covariates:
        X[c] = data[c].astype(float)
    return X


def make_covariance(
    df: pd.DataFrame, vcov: str | None, cluster: ClusterSpec, time: str | None,
    bandwidth: int | None = None,
) -> tuple[Covariance, list[str]]:
    clusters = as_list(cluster)
    if vcov is None:
        vcov = "cluster" if clusters else "hetero"
    if vcov not in VCOV_TYPES:
        raise ValueError(f"vcov must be one of {VCOV_TYPES}, not {vcov!r}")
    if vcov == "iid":
        return Homoskedastic(), []
    if vcov == "hetero":
        return Heteroskedastic(), []
    if vcov == "driscoll_kraay":
        if not time:
            raise ValueError("Driscoll-Kraay standard errors need the time column")
        codes = pd.factorize(df[time], sort=True)[0]
        return DriscollKraay(codes, bandwidth, time), []
    if vcov == "CR2":
        return _cr2(df, clusters), []
    if not clusters or len(clusters) > 2:
        raise ValueError(f"vcov='cluster' needs one or two cluster columns, got {clusters}")
    codes = [pd.factorize(df[c], sort=True)[0] for c in clusters]
    notes = []
    G = min(int(c.max()) + 1 for c in codes)
    if G < 2:
        raise ValueError(f"only one cluster in {clusters}: cluster-robust errors need at least 2")
    if G < FEW_CLUSTERS:
        msg = (
            f"only {G} clusters ({', '.join(clusters)}): cluster-robust t-tests over-reject "
            f"with fewer than about {FEW_CLUSTERS} clusters; use "
            "analysis.wild_cluster_bootstrap(result, term=...) for p-values and intervals"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
    if len(codes) == 1:
        return Clustered(codes[0], clusters[0]), notes
    return TwoWayClustered(codes[0], codes[1], (clusters[0], clusters[1])), notes


def _cr2(df: pd.DataFrame, clusters: list[str]) -> CR2:
    # No few-clusters warning: CR2 with Satterthwaite df is the remedy for few clusters.
    if len(clusters) != 1:
        raise ValueError(f"vcov='CR2' needs exactly one cluster column, got {clusters}")
    codes = pd.factorize(df[clusters[0]], sort=True)[0]
    if int(codes.max()) + 1 < 2:
        raise ValueError(f"only one cluster in {clusters}: CR2 needs at least 2")
    return CR2(codes, clusters[0])


def estimate(
    *,
    design: str,
    df: pd.DataFrame,
    outcome: str,
    regressors: pd.DataFrame,
    effects: Sequence[str | tuple[str, ...]],
    vcov: str | None,
    cluster: ClusterSpec,
    entity: str | None,
    time: str | None,
    weights: str | None = None,
    report: Sequence[str] | None = None,
    notes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    bandwidth: int | None = None,
    table_extra: dict[str, Sequence] | None = None,
) -> EstimationResult:
    """Fit ``outcome ~ regressors + effects`` on ``df`` and build the result.

    ``regressors`` is aligned with ``df`` (same index). ``report`` lists the terms
    shown in the table (default: all); all terms are in ``vcov``.
    """
    notes = list(notes or [])
    repeated = sorted(set(regressors.columns[regressors.columns.duplicated()]))
    if repeated:
        raise ValueError(f"{design}: regressor(s) {repeated} listed more than once")
    cluster = resolve_cluster(cluster, vcov, entity, time)
    fe_cols = [(e,) if isinstance(e, str) else tuple(e) for e in effects]
    used = [outcome, *[c for fe in fe_cols for c in fe], *as_list(cluster)]
    used += [c for c in (weights, entity, time) if c]
    require_columns(df, used, design)
    frame = pd.concat([df[list(dict.fromkeys(used))], regressors.add_prefix("__x__")], axis=1)
    frame, dropped = drop_missing(frame, frame.columns, entity, time)
    notes += dropped
    if len(frame) == 0:
        raise ValueError(f"{design}: no rows left after dropping missing values")
    info, pnotes = panel_info(frame, entity, time)
    notes += pnotes
    if vcov == "CR2" and weights:
        raise ValueError(
            f"{design}: vcov='CR2' is implemented (and checked against clubSandwich) for "
            "unweighted least squares only; drop weights= or use vcov='cluster'"
        )
    cov, cnotes = make_covariance(frame, vcov, cluster, time, bandwidth)
    notes += cnotes
    fes = [FixedEffect.from_columns(frame, fe) for fe in fe_cols]
    notes += singleton_notes(fes)
    names = list(regressors.columns)
    X = frame[[f"__x__{n}" for n in names]].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    w = frame[weights].to_numpy(dtype=float) if weights else None
    fit = fit_linear(y, X, names, fes, cov, w)
    fit.extra["frame"] = frame[[c for c in dict.fromkeys(used) if c != outcome]]
    fit.extra["cluster"] = as_list(cluster)
    return result_from_fit(
        fit, design, outcome, report, notes, {**(extra or {}), "panel": info}, table_extra
    )


def result_from_fit(
    fit: LinearFit,
    design: str,
    outcome: str,
    report: Sequence[str] | None,
    notes: list[str],
    extra: dict[str, Any],
    table_extra: dict[str, Sequence] | None = None,
) -> EstimationResult:
    lo, hi = fit.conf_int()
    full = pd.DataFrame(
        {
            "term": fit.names,
            "estimate": fit.coef,
            "std_error": fit.std_error,
            "statistic": fit.t_stat(),
            "p_value": fit.p_value(),
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    full["n_obs"] = fit.n_obs
    full["n_clusters"] = fit.cov.n_clusters
    full["se_type"] = fit.cov.se_type
    full["correction"] = fit.cov.correction
    table = full[TABLE_COLUMNS]
    if report is not None:
        table = table.set_index("term").loc[list(report)].reset_index()
    for col, values in (table_extra or {}).items():
        table[col] = list(values)
    extra = {**extra, "df_resid": fit.cov.df_resid, "r2_within": fit.r2_within}
    if fit.cov.df_coef is not None:
        extra["df_coef"] = dict(zip(fit.names, map(float, fit.cov.df_coef), strict=True))
    vcov = pd.DataFrame(fit.vcov, index=fit.names, columns=fit.names)
    return EstimationResult(
        design=design,
        outcome=outcome,
        table=table.reset_index(drop=True),
        vcov=vcov,
        n_obs=fit.n_obs,
        n_clusters=fit.cov.n_clusters,
        se_type=fit.cov.se_type,
        correction=fit.cov.correction,
        notes=notes,
        extra=extra,
        fit=fit,
    )


def panel_baseline(df: pd.DataFrame, baseline_year: int | str | None) -> int | None:
    """``baseline_year`` as given, or for ``"panel"`` the panel's own (else 2014)."""
    if baseline_year != PANEL:
        return baseline_year  # type: ignore[return-value]
    from analysis.data.schema import BASELINE_YEAR

    return int(df.attrs.get("baseline_year", BASELINE_YEAR))


def require_pre_period(data: pd.DataFrame, time: str, reform_year: int, design: str) -> None:
    """Refuse data with no period before the reform, naming the design that can use them."""
    first = data[time].min()
    if pd.notna(first) and first >= reform_year:
        raise ValueError(
            f"{design}: no {time} before {reform_year} (the data start in {int(first)}), so "
            f"nothing compares before with after the reform; {GROWTH_DESIGN}"
        )


def binary(series: pd.Series, name: str, design: str) -> pd.Series:
    """A 0/1 treatment indicator; errors when it is not binary or does not vary."""
    s = series.dropna()
    values = set(pd.unique(s.astype(float)))
    if not values <= {0.0, 1.0}:
        raise ValueError(
            f"{design}: {name} must be 0/1 (or boolean), found values {sorted(values)[:5]}"
        )
    if len(values) < 2:
        raise ValueError(
            f"{design}: no variation in {name} "
            f"(every row is {values.pop() if values else 'missing'}): "
            "the treatment effect is not identified"
        )
    return series.astype(float)


def entity_constant(
    df: pd.DataFrame, column: str, entity: str, design: str, baseline_year: int | None,
    time: str,
) -> pd.Series:
    """A baseline characteristic per row: constant within each entity.

    A column that is already constant within every entity is used as it is. One
    that varies is fixed at its value in ``baseline_year``: a characteristic
    measured after the reform could itself be affected by it. Every entity must
    then have that year.
    """
    varies = df.groupby(entity)[column].nunique(dropna=True) > 1
    if not varies.any():
        return df.groupby(entity)[column].transform("first")
    if baseline_year is None:
        raise ValueError(
            f"{design}: {column} varies over time within {entity} {varies[varies].index[0]}; "
            "give baseline_year to fix it at its baseline value"
        )
    base = df.loc[df[time] == baseline_year].drop_duplicates(entity).set_index(entity)[column]
    missing = sorted(set(df[entity]) - set(base.dropna().index))
    if missing:
        first = df[time].min()
        hint = (
            f"; the data start in {int(first)}: give baseline_year= a year they cover"
            if first > baseline_year else ""
        )
        raise ValueError(
            f"{design}: {column} is missing in baseline year {baseline_year} for "
            f"{len(missing)} {entity}(s), e.g. {missing[:5]}{hint}"
        )
    return df[entity].map(base)
