"""Triple differences: group x exposed subgroup x post, with saturated fixed effects."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.data.schema import LARGE, MUNICIPALITY, REFORM_YEAR, YEAR
from analysis.designs._common import (
    PANEL,
    ClusterSpec,
    add_covariates,
    as_list,
    entity_constant,
    estimate,
    panel_baseline,
    require_pre_period,
)
from analysis.inference.checks import check_design_input
from analysis.results import EstimationResult


def triple_diff(
    df: pd.DataFrame,
    outcome: str,
    subgroup: str,
    exposed: Any | Sequence[Any],
    group: str = LARGE,
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    reform_year: int = REFORM_YEAR,
    baseline_year: int | str | None = PANEL,
    covariates: Sequence[str] | None = None,
    cluster: ClusterSpec = "entity",
    vcov: str | None = None,
    weights: str | None = None,
) -> EstimationResult:
    """Triple-difference (DDD) estimate on data with a third dimension.

    The data have one row per entity, ``subgroup`` (e.g. age group, or client
    type) and period. With ``D_i`` the group (e.g. large municipality, 0/1, or a
    continuous intensity), ``E_s`` = 1 for the ``exposed`` subgroups (e.g. ages
    0-17 under the Jeugdwet) and ``post_t`` = 1 from ``reform_year``::

        y_ist = a_is + l_st + m_it + b D_i E_s post_t + u_ist

    ``a_is`` (entity x subgroup), ``l_st`` (subgroup x period) and ``m_it``
    (entity x period) are absorbed, so every two-way interaction is controlled:
    shocks hitting a whole municipality in a year (``m_it``, e.g. its own
    labour market) and shocks hitting a subgroup nationwide (``l_st``) drop out.
    ``b`` is the DiD between groups of the within-municipality gap between
    exposed and unexposed subgroups; with two subgroups and a balanced panel it
    equals DiD(exposed) minus DiD(unexposed), both reported in
    ``extra["subgroup_did"]``.

    Identifying assumption: without the reform the exposed-minus-unexposed gap
    would have evolved in parallel in both groups of municipalities (one
    parallel-trends assumption on the gap; the two DiDs themselves may be
    biased as long as their bias is the same, Olden & Moen 2022). Fails when
    something else in 2015 hit the exposed subgroup differently in large and
    small municipalities, or when the reform spilled over to the unexposed
    subgroup (then ``b`` nets out part of the effect).

    Bad input is refused, and missing rows and singletons are handled, as in
    :func:`analysis.twfe`; a row with a missing ``subgroup`` is dropped like one
    with a missing entity.

    Parameters
    ----------
    df : DataFrame, one row per entity, subgroup and period.
    outcome : outcome column.
    subgroup : the third dimension (e.g. ``"age_group"``).
    exposed : the subgroup value(s) the reform targets.
    group : 0/1 group or continuous intensity per entity (fixed at ``baseline_year``
        when it varies over time).
    entity, time, reform_year, baseline_year : as in :func:`analysis.event_study`.
    covariates : time-varying controls.
    cluster, vcov, weights : as in :func:`analysis.twfe`; clustering by entity
        (the default) keeps all subgroups of a municipality in one cluster.

    Returns
    -------
    EstimationResult; first row ``<group>:<subgroup>:post``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import triple_diff
    >>> rng = np.random.default_rng(3)
    >>> idx = pd.MultiIndex.from_product([range(60), ["young", "adult"], range(2011, 2019)],
    ...                                  names=["unit", "age", "year"])
    >>> df = idx.to_frame(index=False)
    >>> df["large"] = (df["unit"] % 2).astype(float)
    >>> hit = df["large"] * (df["age"] == "young") * (df["year"] >= 2015)
    >>> df["y"] = 2.0 * hit + 0.5 * df["large"] * (df["year"] >= 2015) + rng.normal(size=len(df))
    >>> res = triple_diff(df, "y", subgroup="age", exposed="young", entity="unit", time="year")
    >>> bool(abs(res.estimate("large:age:post") - 2.0) < 0.5)
    True
    """
    covariates = as_list(covariates)
    data, notes = check_design_input(
        df, "triple_diff", outcome=outcome, numeric=[group, *covariates],
        ids=[entity, subgroup, time], time=time, weights=weights,
    )
    exposed_values = _exposed_values(data, subgroup, exposed)
    require_pre_period(data, time, reform_year, "triple_diff")
    dose = _group_per_entity(data, group, entity, time, panel_baseline(df, baseline_year))
    e = data[subgroup].isin(exposed_values).astype(float)
    post = (data[time] >= reform_year).astype(float)
    if post.nunique() < 2:
        raise ValueError(f"triple_diff: all periods on one side of reform_year {reform_year}")
    term = f"{group}:{subgroup}:post"
    X = pd.DataFrame({term: dose * e * post}, index=data.index)
    X = add_covariates(X, data, covariates, "triple_diff")
    # "entity" means the municipality, not the (municipality, subgroup) panel unit below
    alias = {"entity": entity, "time": time}
    clusters = [alias.get(c, c) for c in as_list(cluster)]
    # the panel unit is (entity, subgroup); panel_info checks one row per unit and period
    unit = f"{entity}:{subgroup}"
    data[unit] = data.groupby([entity, subgroup], sort=True, dropna=False).ngroup()
    common = dict(
        df=data, outcome=outcome, vcov=vcov, cluster=clusters or None, time=time,
        weights=weights,
    )
    res = estimate(
        design="triple_diff",
        regressors=X,
        effects=[(entity, subgroup), (subgroup, time), (entity, time)],
        report=[term, *covariates],
        notes=notes,
        extra={
            "term": term, "group": group, "subgroup": subgroup,
            "exposed": exposed_values, "reform_year": reform_year,
        },
        entity=unit,
        **common,
    )
    res.extra["subgroup_did"] = _subgroup_did(data, dose, post, common, entity, subgroup, group)
    return res


def _exposed_values(data: pd.DataFrame, subgroup: str, exposed: Any) -> list:
    values = list(exposed) if isinstance(exposed, list | tuple | set) else [exposed]
    present = set(data[subgroup].dropna().unique())
    unknown = [v for v in values if v not in present]
    if unknown:
        raise ValueError(
            f"triple_diff: exposed value(s) {unknown} not in {subgroup}; "
            f"values: {sorted(map(str, present))}"
        )
    if present <= set(values):
        raise ValueError(
            f"triple_diff: every {subgroup} value is exposed; the design needs an unexposed "
            "subgroup to difference against"
        )
    return values


def _group_per_entity(data, group, entity, time, baseline_year) -> pd.Series:
    # a group measured per entity and subgroup is still an entity characteristic: it
    # must not differ between the subgroups of one entity in the same period
    per_cell = data.groupby([entity, time])[group].nunique(dropna=True)
    if (per_cell > 1).any():
        where = per_cell[per_cell > 1].index[0]
        raise ValueError(
            f"triple_diff: {group} differs between subgroups of {entity}={where[0]} in "
            f"{time}={where[1]}; it must be a characteristic of the {entity}"
        )
    dose = entity_constant(data, group, entity, "triple_diff", baseline_year, time).astype(float)
    if dose.groupby(data[entity]).first().nunique() < 2:
        raise ValueError(
            f"triple_diff: no variation in {group} across {entity}: the effect is not identified"
        )
    return dose


def _subgroup_did(data, dose, post, common, entity, subgroup, group) -> pd.DataFrame:
    """DiD of ``group x post`` within each subgroup (entity and period effects)."""
    rows = []
    for value, part in data.groupby(subgroup, sort=True):
        X = pd.DataFrame({f"{group}:post": dose.loc[part.index] * post.loc[part.index]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the main fit already warned
            res = estimate(
                design="triple_diff/subgroup_did",
                regressors=X,
                effects=[entity, common["time"]],
                **{**common, "df": part, "entity": entity},
            )
        row = res.table.iloc[0]
        rows.append(
            {subgroup: value, "estimate": row["estimate"], "std_error": row["std_error"],
             "ci_low": row["ci_low"], "ci_high": row["ci_high"], "p_value": row["p_value"],
             "n_obs": row["n_obs"]}
        )
    return pd.DataFrame(rows)
