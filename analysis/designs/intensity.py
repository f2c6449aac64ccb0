"""Continuous-intensity DiD: the dose is a baseline characteristic."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data.schema import INTENSITY, MUNICIPALITY, REFORM_YEAR, YEAR
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


def intensity_did(
    df: pd.DataFrame,
    outcome: str,
    dose: str = INTENSITY,
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    reform_year: int = REFORM_YEAR,
    baseline_year: int | str | None = PANEL,
    covariates: Sequence[str] | None = None,
    bins: int = 5,
    cluster: ClusterSpec = "entity",
    vcov: str | None = None,
    weights: str | None = None,
) -> EstimationResult:
    """Continuous DiD ``y_it = a_i + l_t + b (D_i - mean D) post_t + u_it``.

    ``D_i`` is a baseline characteristic (budget change per inhabitant, log
    population, baseline caseload), fixed per unit at ``baseline_year``. ``b``
    is the change in the reform's effect per unit of dose.

    Identifying assumption: absent the reform, outcomes would have evolved the
    same way at every dose (parallel trends in ``D``), and, to read ``b`` as a
    causal dose-response slope, units at different doses would respond alike to
    the same dose (Callaway, Goodman-Bacon & Sant'Anna 2024). Fails when the dose
    is correlated with other 2015 shocks or with pre-existing trends; check with
    :func:`analysis.event_study` on the same dose.

    The dose-response is estimated alongside: units are split into ``bins``
    quantile groups of ``D`` and each group's post-reform shift relative to the
    lowest group is in ``extra["dose_response"]`` (plotted by ``.plot()``).

    Bad input is refused, and missing rows and singletons are handled, as in
    :func:`analysis.twfe`.

    Parameters
    ----------
    df : DataFrame, one row per unit and period.
    outcome : outcome column.
    dose : dose column (constant within unit, or fixed at ``baseline_year``).
    entity, time, reform_year, baseline_year : as in :func:`analysis.event_study`.
    covariates : time-varying controls.
    bins : number of quantile groups for the dose-response (0 to skip).
    cluster, vcov, weights : as in :func:`analysis.twfe`.

    Returns
    -------
    EstimationResult; first row ``<dose>:post``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import intensity_did
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(80), 6),
    ...                    "year": np.tile(np.arange(2012, 2018), 80)})
    >>> df["dose"] = np.repeat(rng.normal(size=80), 6)
    >>> df["y"] = 0.5 * df["dose"] * (df["year"] >= 2015) + rng.normal(size=len(df))
    >>> res = intensity_did(df, "y", dose="dose", entity="unit", time="year")
    >>> bool(abs(res.estimate("dose:post") - 0.5) < 0.3)
    True
    """
    covariates = as_list(covariates)
    data, notes = check_design_input(
        df, "intensity_did", outcome=outcome, numeric=[dose, *covariates],
        ids=[entity, time], time=time, weights=weights,
    )
    require_pre_period(data, time, reform_year, "intensity_did")
    baseline_year = panel_baseline(df, baseline_year)
    d = entity_constant(data, dose, entity, "intensity_did", baseline_year, time).astype(float)
    unit_dose = d.groupby(data[entity]).first()
    if unit_dose.nunique() < 2:
        raise ValueError(f"intensity_did: no variation in {dose} across {entity}")
    post = (data[time] >= reform_year).astype(float)
    if post.nunique() < 2:
        raise ValueError(f"intensity_did: all periods on one side of {reform_year}")
    term = f"{dose}:post"
    X = pd.DataFrame({term: (d - unit_dose.mean()) * post}, index=data.index)
    X = add_covariates(X, data, covariates, "intensity_did")
    common = dict(
        df=data, outcome=outcome, effects=[entity, time], vcov=vcov, cluster=cluster,
        entity=entity, time=time, weights=weights,
    )
    res = estimate(
        design="intensity_did",
        regressors=X,
        report=[term, *covariates],
        notes=notes,
        extra={"dose": dose, "reform_year": reform_year, "term": term},
        **common,
    )
    if bins and bins >= 2:
        res.extra["dose_response"] = _dose_response(data, d, unit_dose, post, bins, entity, common)
    return res


def _dose_response(data, d, unit_dose, post, bins, entity, common) -> pd.DataFrame:
    """Post-reform shift of each dose quantile group relative to the lowest."""
    groups = pd.qcut(unit_dose.rank(method="first"), bins, labels=False)
    g = data[entity].map(groups).to_numpy()
    X = pd.DataFrame(
        {f"dose_bin{k + 1}:post": (g == k) * post for k in range(1, bins)}, index=data.index
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the main fit already warned about few clusters
        res = estimate(design="intensity_did/dose_response", regressors=X, **common)
    tab = res.table[["term", "estimate", "std_error", "ci_low", "ci_high", "p_value"]]
    zero = pd.DataFrame(
        [{"term": "dose_bin1 (reference)", "estimate": 0.0, "std_error": 0.0,
          "ci_low": 0.0, "ci_high": 0.0, "p_value": np.nan}]
    )
    tab = pd.concat([zero, tab], ignore_index=True)
    stats = unit_dose.groupby(groups).agg(["mean", "min", "max", "size"])
    tab["dose_mean"] = stats["mean"].to_numpy()
    tab["dose_low"] = stats["min"].to_numpy()
    tab["dose_high"] = stats["max"].to_numpy()
    tab["n_units"] = stats["size"].to_numpy()
    return tab
