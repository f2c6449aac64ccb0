"""Staggered adoption: Callaway and Sant'Anna (2021) group-time average treatment effects."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.schema import MUNICIPALITY, YEAR
from analysis.designs._common import FEW_CLUSTERS, as_list
from analysis.designs._cs_aggregate import aggregate_att
from analysis.designs._cs_att_gt import CONTROL_GROUPS, EST_METHODS, ATTgt, att_gt
from analysis.designs._cs_inference import (
    analytic_se,
    multiplier_draws,
    uniform_critical_value,
)
from analysis.designs._cs_inference import vcov as if_vcov
from analysis.designs._cs_panel import CSPanel, build_panel
from analysis.inference.wald import no_joint_test, wald_chi2
from analysis.results import EstimationResult

SE_TYPE = "influence function, clustered by unit"
CORRECTION = "none: sqrt(sum of squared influence functions) / n, as R did with bstrap=FALSE"


@dataclass(repr=False)
class StaggeredResult(EstimationResult):
    """ATT(g,t) of :func:`staggered_did`; :meth:`aggregate` summarises them."""

    cs: dict[str, Any] = field(default_factory=dict)

    def aggregate(
        self,
        kind: str = "group",
        min_e: float = -np.inf,
        max_e: float = np.inf,
        balance_e: int | None = None,
    ) -> EstimationResult:
        """Aggregate the ATT(g,t) as R ``did``'s ``aggte(type=kind)``.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
            ``simple``: one share-weighted average of all post-treatment cells;
            ``group``: one effect per cohort; ``dynamic``: one per event time
            ``e = t - g`` (an event study; pre-treatment event times test parallel
            trends); ``calendar``: one per period.
        min_e, max_e, balance_e : event-time window and balancing, as in R ``did``
            (``max_e`` also limits ``simple`` and ``group``).

        Returns
        -------
        EstimationResult whose table starts with the ``overall`` row, then one row
        per group (``group``), event time (``event_time``) or period (``time``);
        ``cband_low``/``cband_high`` are the simultaneous band over those rows
        (for ``overall`` its pointwise interval). For ``dynamic``,
        ``extra["pretrend_test"]`` is the joint chi-square test that all pre-treatment
        event times are 0.
        """
        cs = self.cs
        panel: CSPanel = cs["panel"]
        agg = aggregate_att(cs["fit"], panel.cohort, panel.weights, kind, panel.periods[0],
                            min_e, max_e, balance_e)  # fmt: skip
        labels = agg.labels
        prefix = {"group": "group:", "dynamic": "event:", "calendar": "time:"}.get(kind, "")
        terms = ["overall"] + [
            f"event:{int(v):+d}" if kind == "dynamic" else f"{prefix}{v:g}" for v in labels[1:]
        ]
        column = {"group": "group", "dynamic": "event_time", "calendar": "time"}.get(kind)
        result = _result(
            f"staggered_did[{kind}]", self.outcome, terms, agg.estimate, agg.inf, cs,
            {column: labels} if column else {}, band_rows=slice(1, None),
        )  # fmt: skip
        result.extra.update({"aggregation": kind, "control_group": cs["control_group"],
                             "est_method": cs["est_method"]})  # fmt: skip
        if kind == "dynamic":
            result.extra.update({"reform_year": "cohort's first treated period",
                                 "reference_event_time": None})  # fmt: skip
            pre = [tm for tm, e in zip(terms[1:], labels[1:], strict=True) if e < 0]
            if pre:  # joint test of the placebo event times (the cells are correlated)
                result.extra["pretrend_test"] = _wald(result, pre)
        result.notes = list(self.notes)
        return result


def _result(
    design: str,
    outcome: str,
    terms: list[str],
    estimate: np.ndarray,
    inf: np.ndarray,
    cs: dict[str, Any],
    columns: dict[str, np.ndarray],
    band_rows: slice = slice(None),
    cls: type = EstimationResult,
) -> EstimationResult:
    """Table with analytic SEs, pointwise intervals and the uniform band over ``band_rows``."""
    panel: CSPanel = cs["panel"]
    n, alpha = panel.n, cs["alpha"]
    se = analytic_se(inf, n, panel.cluster)
    z = stats.norm.ppf(1 - alpha / 2)
    crit = np.full(len(terms), z)
    boot_se = np.full(len(terms), np.nan)
    if cs["bootstrap"] > 0 and inf[:, band_rows].shape[1]:
        if "draws" not in cs:  # one set of draws for ATT(g,t) and every aggregation
            cs["draws"] = multiplier_draws(
                cs["n_boot_rows"], cs["bootstrap"], cs["multiplier"], cs["seed"]
            )
        v = cs["draws"]
        c, bse = uniform_critical_value(inf[:, band_rows], v, alpha, panel.cluster)
        crit[band_rows] = c
        boot_se[band_rows] = bse
    n_clusters = n if panel.cluster is None else int(panel.cluster.max()) + 1
    statistic = estimate / se
    # one constructor call (a column at a time cost ~5 ms); the columns in TABLE_COLUMNS order
    table = pd.DataFrame({
        "term": terms, "estimate": estimate, "std_error": se, "statistic": statistic,
        "p_value": 2 * stats.norm.sf(np.abs(statistic)),
        "ci_low": estimate - z * se, "ci_high": estimate + z * se,
        "n_obs": n * len(panel.periods), "n_clusters": n_clusters,
        "se_type": SE_TYPE, "correction": CORRECTION,
        "cband_low": estimate - crit * se, "cband_high": estimate + crit * se,
        "boot_se": boot_se, **columns,
    })  # fmt: skip
    V = pd.DataFrame(if_vcov(inf, n, panel.cluster), index=terms, columns=terms)
    band_crit = float(crit[band_rows][0]) if len(crit[band_rows]) else z
    extra = {"df_resid": np.inf, "critical_value": band_crit,
             "influence_function": inf, "n_units": n}  # fmt: skip
    return cls(
        design=design, outcome=outcome, table=table, vcov=V, n_obs=n * len(panel.periods),
        n_clusters=n_clusters, se_type=SE_TYPE, correction=CORRECTION, extra=extra,
    )  # fmt: skip


def _small_cohorts(panel: CSPanel, n_covariates: int, control_group: str) -> CSPanel:
    """R did's check: a cohort with fewer than 5 + (number of covariates) units.

    A cohort's own noise enters the influence functions only as its units' deviations
    from the cohort's mean change; with one unit there is none, so that cohort's
    standard errors, bands and pre-tests are too small. Noted as R warns; a too small
    never-treated group with ``control_group="never_treated"`` is refused, as R stops.
    """
    need = 5 + n_covariates
    cohorts, sizes = np.unique(panel.cohort, return_counts=True)
    small = [(g, n) for g, n in zip(cohorts, sizes, strict=True) if n < need]
    if not small:
        return panel
    if control_group == "never_treated" and any(g == 0 for g, _ in small):
        n_never = dict(small)[0]
        raise ValueError(
            f"staggered_did: only {n_never} never-treated unit(s), fewer than {need}: use "
            "control_group='not_yet_treated' (R did stops here too)"
        )
    listed = ", ".join(f"{g:g} ({n} unit{'s' if n > 1 else ''})" for g, n in small)
    note = (f"small cohorts, fewer than {need} units (R did warns likewise): {listed}; a "
            "cohort's own noise enters its influence function only through its units' "
            "deviations from the cohort mean (none with one unit), so its cells' standard "
            "errors, bands and pre-tests are too small")  # fmt: skip
    return replace(panel, notes=[*panel.notes, note])


def _without_never_treated(panel: CSPanel, control_group: str, anticipation: int):
    """R did's rule when no unit is never treated: the last cohort only serves as control."""
    if (panel.cohort == 0).any():
        return panel, None
    if control_group == "never_treated":
        raise ValueError(
            "staggered_did: no never-treated units (cohort 0 or NaN): use "
            "control_group='not_yet_treated'"
        )
    latest = panel.cohort.max()
    keep = panel.periods < latest - anticipation
    note = (f"no never-treated units: cohort {latest:g} serves only as not-yet-treated control "
            f"and periods from {latest - anticipation:g} on are dropped")  # fmt: skip
    trimmed = replace(panel, periods=panel.periods[keep], y=panel.y[:, keep], x=panel.x[keep],
                      notes=[*panel.notes, note])  # fmt: skip
    groups = np.unique(panel.cohort[panel.cohort < latest])
    if len(trimmed.periods) < 2 or not len(groups):
        raise ValueError(f"staggered_did: {note}, which leaves nothing to estimate")
    return trimmed, groups


def staggered_did(
    df: pd.DataFrame,
    outcome: str,
    entity: str = MUNICIPALITY,
    time: str = YEAR,
    cohort: str = "cohort",
    control_group: str = "never_treated",
    anticipation: int = 0,
    covariates: Sequence[str] | None = None,
    est_method: str = "dr",
    weights: str | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    bootstrap: int = 999,
    multiplier: str = "mammen",
    seed: int | None = 20150101,
    unbalanced: str = "raise",
) -> StaggeredResult:
    """Callaway-Sant'Anna ATT(g,t) for staggered adoption, as R ``did::att_gt``.

    Each cohort ``g`` (units first treated in period ``g``) is compared in every
    period ``t`` with units not treated by then, on the change in the outcome since
    the cohort's last untreated period (``g - 1 - anticipation``; before treatment,
    since ``t - 1``: R's varying base period). No already-treated unit ever serves as
    control, so the estimates, unlike a two-way fixed-effects regression, do not mix
    in "forbidden comparisons" when effects differ across cohorts or over time.

    Identifying assumption: parallel trends, conditional on ``covariates`` if
    given: without treatment the cohort's average outcome would have changed like the
    comparison units' (never treated, or also not yet treated). With
    ``anticipation = k``, no effect before ``g - k``. The design fails when the timing
    of treatment responds to the outcome's own path (e.g. units treated after a bad
    year: Ashenfelter's dip), when units anticipate it further ahead than
    ``anticipation``, or when comparison units are affected (spill-overs). The
    pre-treatment cells (``t < g``) are placebo effects: their joint Wald test is in
    ``extra["pretrend_test"]``.

    Standard errors come from the influence functions, clustered by unit (a unit's
    whole history is one row), exactly R ``did``'s analytic errors (``bstrap=FALSE``);
    ``cluster`` sums them within a coarser, time-invariant cluster (e.g. province).
    ``cband_low``/``cband_high`` are simultaneous 1-``alpha`` bands over all cells from
    ``bootstrap`` multiplier-bootstrap draws (Mammen weights by default, as R).

    Parameters
    ----------
    df : long panel, one row per unit and period.
    outcome, entity, time : columns.
    cohort : first treated period per unit; 0 or NaN for never treated. Must be one of
        the panel's periods, or after the last (then never treated in the window); units
        treated in or before the first period (+ ``anticipation``) are dropped (notes).
    control_group : ``"never_treated"`` or ``"not_yet_treated"``.
    anticipation : periods before ``g`` in which effects may already appear.
    covariates : baseline covariates (values of the base period are used, as R did).
    est_method : ``"dr"`` (doubly robust), ``"ipw"`` or ``"reg"``; identical without covariates.
    weights : time-invariant unit sampling weights.
    cluster : time-invariant column coarser than ``entity`` to cluster on.
    alpha : 1 - confidence level of intervals and bands.
    bootstrap : multiplier-bootstrap draws for the uniform bands (0: pointwise only).
    multiplier : ``"mammen"`` or ``"rademacher"``.
    seed : seed of the draws (reproducible; not R's draws).
    unbalanced : ``"raise"`` (default) when a unit lacks a period or a value, or
        ``"drop"`` to drop such units (R did's default), reported in ``notes``.

    Returns
    -------
    StaggeredResult: one row per ATT(g,t) (``group``, ``time``, ``post``) with
    ``.aggregate("simple" | "group" | "dynamic" | "calendar")``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis import staggered_did
    >>> rng = np.random.default_rng(0)
    >>> units, years = np.arange(300), np.arange(2010, 2018)
    >>> df = pd.DataFrame({"unit": np.repeat(units, 8), "year": np.tile(years, 300)})
    >>> df["cohort"] = df["unit"].map(lambda u: [0, 2013, 2015][u % 3])
    >>> treated = (df["cohort"] > 0) & (df["year"] >= df["cohort"])
    >>> df["y"] = df["unit"] % 7 + 0.1 * df["year"] + 2.0 * treated + rng.normal(size=len(df))
    >>> res = staggered_did(df, "y", entity="unit", time="year", cohort="cohort")
    >>> bool(abs(res.aggregate("simple").estimate("overall") - 2.0) < 0.3)
    True
    """
    covariates = as_list(covariates)
    if control_group not in CONTROL_GROUPS:
        raise ValueError(
            f"staggered_did: control_group must be one of {CONTROL_GROUPS}, not {control_group!r}"
        )
    if est_method not in EST_METHODS:
        raise ValueError(
            f"staggered_did: est_method must be one of {EST_METHODS}, not {est_method!r}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"staggered_did: alpha must be in (0, 1), not {alpha}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, numbers.Integral) or bootstrap < 0:
        raise ValueError(
            "staggered_did: bootstrap must be a whole number of multiplier-bootstrap draws, "
            f"at least 0 (0: pointwise intervals only), not {bootstrap!r}"
        )
    panel = build_panel(df, outcome, entity, time, cohort, covariates, weights, cluster,
                        int(anticipation), unbalanced)  # fmt: skip
    panel = _small_cohorts(panel, len(covariates), control_group)
    panel, groups = _without_never_treated(panel, control_group, int(anticipation))
    fit: ATTgt = att_gt(panel, control_group, int(anticipation), est_method, groups)
    n_rows = panel.n if panel.cluster is None else int(panel.cluster.max()) + 1
    cs = {"panel": panel, "fit": fit, "alpha": alpha, "bootstrap": int(bootstrap),
          "multiplier": multiplier, "seed": seed, "n_boot_rows": n_rows,
          "control_group": control_group, "est_method": est_method}  # fmt: skip
    terms = [f"ATT({g:g},{t:g})" for g, t in zip(fit.group, fit.time, strict=True)]
    columns = {"group": fit.group, "time": fit.time, "post": fit.time >= fit.group}
    res = _result(
        "staggered_did", outcome, terms, fit.att, fit.inf, cs, columns, cls=StaggeredResult
    )
    res.cs = cs
    res.notes = [*panel.notes, *fit.notes]
    if n_rows < FEW_CLUSTERS:
        res.notes.append(
            f"only {n_rows} clusters: influence-function standard errors and bands are "
            "asymptotic in the number of clusters and too narrow with few of them"
        )
    res.extra.update({"control_group": control_group, "est_method": est_method,
                      "anticipation": int(anticipation), "covariates": covariates})  # fmt: skip
    se = res.table["std_error"]
    pre = [tm for tm, g, t, s in zip(terms, fit.group, fit.time, se, strict=True)
           if t < g and np.isfinite(s)]  # fmt: skip
    if pre:
        res.extra["pretrend_test"] = _wald(res, pre)
    return res


def _wald(res: EstimationResult, terms: list[str]) -> dict[str, Any]:
    """Chi-square test that all ``terms`` are 0 (R did's pre-test), F form for summary().

    As R did, no pre-test when the cells' covariance is singular, e.g. two one-unit
    cohorts whose placebo cells share the same comparison units and base periods; here
    also when it is singular up to rounding (:func:`analysis.inference.wald.wald_chi2`).
    """
    idx = np.flatnonzero(res.table["term"].isin(terms).to_numpy())
    b = res.table["estimate"].to_numpy()[idx]
    chi2, singular = wald_chi2(b, res.vcov.to_numpy()[np.ix_(idx, idx)], terms)
    if singular:
        return no_joint_test(terms, (len(terms), np.inf), singular)
    p = float(stats.chi2.sf(chi2, len(terms)))
    return {"terms": terms, "statistic": chi2 / len(terms), "df": (len(terms), np.inf),
            "p_value": p, "chi2": chi2, "p_value_chi2": p}  # fmt: skip
