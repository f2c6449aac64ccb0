"""Event study: leads and lags of the 2015 reform, by group or continuous intensity."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.schema import BASELINE_YEAR, LARGE, MUNICIPALITY, REFORM_YEAR, YEAR
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


def _term(treatment: str, e: int) -> str:
    return f"{treatment}:event{e:+d}"


def event_study(
    df: pd.DataFrame,
    outcome: str,
    treatment: str = LARGE,
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    reform_year: int = REFORM_YEAR,
    reference: int = BASELINE_YEAR,
    window: tuple[int, int] | None = None,
    baseline_year: int | str | None = PANEL,
    covariates: Sequence[str] | None = None,
    cluster: ClusterSpec = "entity",
    vcov: str | None = None,
    weights: str | None = None,
) -> EstimationResult:
    """Event study ``y_it = a_i + l_t + sum_{e != ref} b_e D_i 1[t - reform = e] + u_it``.

    ``D_i`` is a 0/1 group (e.g. large municipality) or a continuous intensity
    (e.g. budget change per inhabitant), fixed per unit at ``baseline_year``.
    All units were reformed in the same year, so event time equals calendar
    time minus ``reform_year`` and ``b_e`` is the difference (per unit of ``D``)
    between the year-``e`` and reference-year gaps.

    Identifying assumption: absent the reform, units with different ``D`` would
    have followed parallel paths (for a continuous ``D``: paths linear in ``D``
    with the same slope in every year). The leads ``b_e, e < 0`` test it: the
    joint Wald test that all leads are zero is in ``extra["pretrend_test"]``.
    Fails (and the test has little power to show it) when a pre-trend is small
    relative to the noise, or when something else changed with ``D`` in 2015.

    Data with no period before ``reform_year`` (e.g. a series that starts in 2016) are
    refused with an error naming the growth design
    (:func:`analysis.studies.since2015.size_gap_table`,
    :func:`analysis.studies.since2015.growth_path`), which is what such data support.

    Bad input is refused, and missing rows and singletons are handled, as in
    :func:`analysis.twfe`; ``time`` must hold whole numbers (years).

    Parameters
    ----------
    df : DataFrame with one row per unit and period.
    outcome : outcome column.
    treatment : 0/1 group or continuous intensity column.
    entity, time : identifiers.
    reform_year : first reformed period (event time 0).
    reference : calendar period normalised to zero (default 2014, event time -1).
    window : ``(first, last)`` event times. Periods before ``first`` are binned
        into ``first`` and after ``last`` into ``last`` (binned end points).
        Default: every period gets its own coefficient.
    baseline_year : year at which a time-varying ``treatment`` is fixed; ``"panel"``
        (default) is the panel's own baseline year (``df.attrs["baseline_year"]``, set by
        every build), else 2014. None refuses a time-varying ``treatment``.
    covariates : time-varying controls.
    cluster, vcov, weights : as in :func:`analysis.twfe`.

    Returns
    -------
    EstimationResult with one row per event time (column ``event_time``,
    ``binned`` marks end points) and ``extra["pretrend_test"]``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import event_study
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(60), 8),
    ...                    "year": np.tile(np.arange(2011, 2019), 60)})
    >>> df["large"] = (df["unit"] % 2).astype(float)
    >>> df["y"] = 1.5 * df["large"] * (df["year"] >= 2015) + rng.normal(size=len(df))
    >>> res = event_study(df, "y", treatment="large", entity="unit", time="year")
    >>> bool(res.extra["pretrend_test"]["p_value"] > 0.01)
    True
    """
    covariates = as_list(covariates)
    data, notes = check_design_input(
        df, "event_study", outcome=outcome, numeric=[treatment, *covariates],
        ids=[entity, time], time=time, weights=weights,
    )
    whole = data[time].to_numpy(dtype=float)
    if not np.array_equal(whole, np.round(whole)):
        raise ValueError(
            f"event_study: {time} must hold whole periods (years), found e.g. "
            f"{whole[whole != np.round(whole)][:3].tolist()}"
        )
    require_pre_period(data, time, reform_year, "event_study")
    baseline_year = panel_baseline(df, baseline_year)
    dose = entity_constant(data, treatment, entity, "event_study", baseline_year, time)
    dose = dose.astype(float)
    if dose.nunique(dropna=True) < 2:
        raise ValueError(
            f"event_study: no variation in {treatment} across {entity}: effects not identified"
        )
    event = (data[time] - reform_year).astype(int)
    ref_e = int(reference - reform_year)
    lo, hi = (int(event.min()), int(event.max())) if window is None else map(int, window)
    if not lo <= ref_e <= hi:
        raise ValueError(f"event_study: reference event time {ref_e} outside window ({lo}, {hi})")
    binned_event = event.clip(lo, hi)
    times = sorted(e for e in binned_event.unique() if e != ref_e)
    if ref_e not in set(binned_event):
        raise ValueError(f"event_study: no observations in the reference period {reference}")
    X = pd.DataFrame(
        {_term(treatment, e): dose * (binned_event == e) for e in times}, index=data.index
    )
    X = add_covariates(X, data, covariates, "event_study")
    terms = [_term(treatment, e) for e in times]
    ev = np.array(times)
    binned = [(e == lo and (event < lo).any()) or (e == hi and (event > hi).any()) for e in times]
    res = estimate(
        design="event_study",
        df=data,
        outcome=outcome,
        regressors=X,
        effects=[entity, time],
        vcov=vcov,
        cluster=cluster,
        entity=entity,
        time=time,
        weights=weights,
        report=terms,
        notes=notes,
        extra={"reform_year": reform_year, "reference_event_time": ref_e, "treatment": treatment},
        table_extra={"event_time": ev, "binned": binned},
    )
    pre = [t for t, e in zip(terms, times, strict=True) if e < 0]
    if pre:
        res.extra["pretrend_test"] = res.wald_test(pre)
    else:
        res.notes.append("no pre-period coefficients: the pre-trend test is not available")
    return res
