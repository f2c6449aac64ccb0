"""Two-way fixed-effects panel regression."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.data.schema import MUNICIPALITY, YEAR
from analysis.designs._common import ClusterSpec, as_list, estimate
from analysis.inference.checks import check_design_input
from analysis.results import EstimationResult


def twfe(
    df: pd.DataFrame,
    outcome: str,
    regressors: Sequence[str],
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    effects: Sequence[str] = ("entity", "time"),
    cluster: ClusterSpec = "entity",
    weights: str | None = None,
    vcov: str | None = None,
    bandwidth: int | None = None,
) -> EstimationResult:
    """Panel regression of ``outcome`` on ``regressors`` with absorbed fixed effects.

    Identifying assumption: conditional on the unit and period effects, the
    regressors are uncorrelated with the idiosyncratic error (strict exogeneity);
    with a reform indicator x intensity regressor this is parallel trends in the
    dose. Estimates a weighted average of within-unit, within-period slopes.
    Fails when regressors respond to past shocks (feedback), when effects are
    heterogeneous and the design is staggered (not the case in 2015: one date), or
    when the regressors are absorbed by the effects (raised, with their names).

    Bad input is refused at the entry in words (:mod:`analysis.inference.checks`):
    text or categorical regressors, a regressor listed twice, ``inf``, regressors
    collinear up to ``1 - R^2 < 1e-9`` (pyfixest drops such a regressor; here the
    model is refused, naming it), N <= K. Rows with a missing outcome, regressor,
    entity or period are dropped and counted in ``notes``.

    Singletons (an entity, or a level of another effect, seen in one row only) are
    **kept**, as R plm and linearmodels keep them, and counted in ``notes``. They
    do not move the slopes (their own effect fits them exactly) but count in N and,
    clustered by entity, in G. fixest/pyfixest drop them by default
    (``fixef_rm="singleton"``), so with singletons their clustered standard errors
    differ slightly; ``fixef_rm="none"`` reproduces these.

    The fit does not call linearmodels ``PanelOLS``: the effects are projected out by
    this package's alternating projections, because the wild cluster bootstrap and
    ``run_many`` reuse the small demeaned system. ``tests/inference/test_covariance.py`` shows
    the result equals ``PanelOLS(entity_effects=True, time_effects=True)``: the
    coefficients to 1e-8, the standard errors exactly for ``vcov="iid"``
    (``unadjusted``), ``"hetero"`` (``robust``) and ``"driscoll_kraay"`` (``kernel``),
    weighted or not, balanced or not. Clustered errors follow fixest/pyfixest (equal
    to ``feols("y ~ x | unit + year")``): ``G/(G-1) (N-1)/(N-K)`` with effects nested in
    the clusters counted once, where PanelOLS scales by ``N/(N-K)`` with every effect
    counted and no ``G/(G-1)``; the test converts one into the other.

    Parameters
    ----------
    df : DataFrame, one row per entity and period.
    outcome : outcome column.
    regressors : regressor columns (numeric).
    entity, time : the panel's identifiers.
    effects : effects to absorb: ``"entity"``, ``"time"``, any other column name,
        or ``()`` for pooled OLS with an intercept.
    cluster : one column (one-way CR1) or two (two-way CGM); ``"entity"`` and
        ``"time"`` stand for those columns. Ignored unless ``vcov`` is
        ``"cluster"`` (the default when ``cluster`` is given) or ``"CR2"``.
    weights : column of positive regression weights (e.g. population).
    vcov : ``"cluster"`` (default with ``cluster``), ``"hetero"`` (HC1),
        ``"iid"``, ``"driscoll_kraay"`` (over ``time``, Bartlett kernel) or ``"CR2"``
        (one cluster column, unweighted: Bell-McCaffrey CR2 with Satterthwaite df per
        coefficient and the HTZ joint test, as R's clubSandwich; for few clusters).
    bandwidth : Driscoll-Kraay bandwidth; default ``floor(4 (T/100)^(2/9))``.

    Returns
    -------
    EstimationResult with one row per regressor.

    Examples
    --------
    >>> from linearmodels.datasets import wage_panel
    >>> from analysis import twfe
    >>> wp = wage_panel.load()
    >>> wp["expersq"] = wp["exper"] ** 2
    >>> res = twfe(wp, "lwage", ["expersq", "married", "union"], entity="nr", time="year",
    ...            cluster="nr")
    >>> round(res.estimate("union"), 3)
    0.08
    """
    regressors = as_list(regressors)
    names = {"entity": entity, "time": time}
    fe = [names.get(e, e) for e in effects]
    data, notes = check_design_input(
        df, "twfe", outcome=outcome, numeric=regressors, ids=[entity, time, *fe],
        weights=weights,
    )
    if not fe and "Intercept" in regressors:
        raise ValueError(
            "twfe: without fixed effects the model has its own Intercept; leave it out of "
            "regressors"
        )
    X = data[regressors].astype(float)
    if not fe:
        X = X.assign(Intercept=1.0)[["Intercept", *regressors]]
    return estimate(
        design="twfe",
        df=data,
        outcome=outcome,
        regressors=X,
        effects=fe,
        vcov=vcov,
        cluster=cluster,
        entity=entity,
        time=time,
        weights=weights,
        bandwidth=bandwidth,
        notes=notes,
        extra={"effects": fe},
    )
