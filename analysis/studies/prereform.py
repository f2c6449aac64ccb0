"""The years before 2015 on real data: inherited caseload, pre-trend tests, and what cannot be done.

Before 2015 the real CBS bundle has youth care under the old law (provincial care,
82354NED) and AWBZ youth indications (82552NED), 2011-2014, as counts: no table carries
a population before 2015. Three uses follow:

* :func:`add_inherited_caseload`: the 2014 old-law plus AWBZ caseload per 1,000 young
  people (young people counted in 2015) is the care a municipality inherited; as a dose
  (:func:`inherited_effects`) it asks whether municipalities that inherited more care saw
  Jeugdwet use grow differently after 2015;
* :func:`pre_reform_tests`: did the old-law caseload of large and small municipalities
  already drift apart before 2015? (event-study leads relative to 2014 and a linear
  differential trend, on log counts);
* :func:`across_reform_reason`: one line saying why a level comparison across 2015 is
  not an effect on a given outcome (``None`` when the data allow it).

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> across_reform_reason(simulate_panel(1).panel, "youth_care_per_1000") is None
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs._common import require_columns
from analysis.designs.event_study import event_study
from analysis.designs.intensity import intensity_did
from analysis.designs.twfe import twfe
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.results import EstimationResult
from analysis.studies.since2015 import _prepared, base_year_for, mark_size

OLD_LAW = "youth_care_users_pre2015"
AWBZ = "awbz_youth_indications"
YOUTH_POPULATION = schema.YOUTH_POPULATION  # young people aged 0-22 (CBS's reference)
INHERITED = "inherited_per_1000_young"
PRE_YEARS = (2011, 2014)

# What each pre-2015 count is, for titles and tables.
SERIES_LABELS = {
    OLD_LAW: "Young people in old-law youth care (82354NED)",
    AWBZ: "AWBZ youth indications (82552NED)",
}

# Why a level comparison across 2015 is not an effect, per real outcome.
ACROSS_REFORM = {
    "youth_care_per_1000_0_22": (
        "youth care before 2015 (old-law provincial care, 82354NED) and from 2015 (all "
        "Jeugdwet care, 84134NED/85099NED) are different concepts, so a level DiD across "
        "2015 is not an effect"
    ),
    "wmo_per_1000": "Wmo clients are counted from 2015 only (83262NED): there is no before",
    "bijstand_per_1000_15plus": (
        "bijstand is in the bundle for 2015-2017 only (83450NED/83747NED/84066NED): "
        "there is no before"
    ),
    "youth_care_cost_per_inhabitant": "youth-care costs start in 2015 (83454NED): no before",
    "wmo_spending_per_inhabitant": "Wmo spending starts in 2017 (84580NED): no before",
}
NO_BUDGET = (
    "the budget change per inhabitant exists only in the synthetic default: the real "
    "bundle has no municipal 2014/2015 budgets, so there is no such dose"
)


def across_reform_reason(panel: pd.DataFrame, outcome: str) -> str | None:
    """Why a before/after-2015 design on ``outcome`` would not estimate an effect, or None."""
    if panel.attrs.get("synthetic", False):
        return None
    if outcome in ACROSS_REFORM:
        return f"{outcome}: {ACROSS_REFORM[outcome]}"
    if outcome not in panel:
        return f"{outcome}: not in this panel"
    if panel.loc[panel[schema.YEAR] < schema.REFORM_YEAR, outcome].notna().sum() == 0:
        return f"{outcome}: no values before {schema.REFORM_YEAR} in this panel"
    return None


def pre_reform_series(panel: pd.DataFrame, outcomes: Sequence[str] = ()) -> list[str]:
    """The counts observed before 2015 that a pre-trend test can use.

    On the real panel the old-law and AWBZ youth series; on a panel whose outcomes
    keep one definition across 2015 (the synthetic default) the outcomes' own counts.
    """
    def observed(column: str) -> bool:
        before = panel[schema.YEAR] < schema.REFORM_YEAR
        return column in panel and panel.loc[before, column].notna().sum() > 0

    real = [c for c in (OLD_LAW, AWBZ) if observed(c)]
    if real:
        return real
    counts = [schema.OUTCOMES[o].numerator for o in outcomes if o in schema.OUTCOMES]
    return [c for c in dict.fromkeys(counts) if observed(c)]


def budget_reason(panel: pd.DataFrame) -> str | None:
    """Why the budget-change dose cannot be used on this panel, or None when it can."""
    if schema.INTENSITY in panel and panel[schema.INTENSITY].notna().any():
        return None
    return NO_BUDGET


def add_inherited_caseload(
    panel: pd.DataFrame,
    year: int = 2014,
    denominator_year: int = schema.REFORM_YEAR,
    parts: Sequence[str] = (OLD_LAW, AWBZ),
    name: str = INHERITED,
) -> pd.DataFrame:
    """Add the caseload each municipality inherited: ``parts`` in ``year`` per 1,000 young.

    The sum of old-law youth-care users and AWBZ youth indications in 2014 (cases, not
    persons: a child in both counts twice) over the young people aged 0-22 of
    ``denominator_year`` (no population before 2015 is in the bundle). Missing when any
    part or the denominator is missing: never filled with zero.

    Raises
    ------
    KeyError
        Naming the columns the panel lacks (e.g. on the synthetic default).
    """
    require_columns(panel, [*parts, YOUTH_POPULATION], "add_inherited_caseload")
    at = panel[panel[schema.YEAR] == year].set_index(schema.MUNICIPALITY)
    counts = at[list(parts)].sum(axis=1, min_count=len(parts))
    counts[at[list(parts)].isna().any(axis=1)] = np.nan
    young = panel[panel[schema.YEAR] == denominator_year].set_index(schema.MUNICIPALITY)
    dose = counts / young[YOUTH_POPULATION].reindex(counts.index) * 1000
    out = panel.copy()
    out[name] = out[schema.MUNICIPALITY].map(dose)
    out.attrs = dict(panel.attrs)
    return out


def inherited_effects(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    dose: str = INHERITED,
    log: bool = False,
    draws: int = 9999,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, EstimationResult]]:
    """Growth since the base year against the inherited caseload (continuous DiD).

    ``y_it = a_i + l_t + b (D_i - mean D) 1[t > base] + u_it`` on the years from the
    outcome's base year. ``b``: how much more the outcome rose after the base year per
    one more inherited case per 1,000 young people; ``per_sd`` scales it to one standard
    deviation of the dose. Assumption: absent differences in inherited care, growth
    would not depend on it. It fails when inherited care stands for need that kept
    growing, or for the historical budgets (until 2016 budgets followed past use, then
    the objective model cut the high-use municipalities), so ``b`` mixes the two;
    regression to the mean after a high 2015 pulls ``b`` down.

    Returns
    -------
    (table, results): one row per outcome with CR1 (municipality) and wild-bootstrap
    (province) intervals; the fits, whose ``extra["dose_response"]`` has the quintiles.
    """
    rows, results = [], {}
    spread = panel.drop_duplicates(schema.MUNICIPALITY)[dose].std()
    for outcome in outcomes:
        base = base_year_for(panel, outcome)
        data, y, _ = _prepared(panel, outcome, (base, None), log)
        fit = {"dose": dose, "reform_year": base + 1, "baseline_year": None}
        res = intensity_did(data, y, **fit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few clusters: the bootstrap answers it
            prov = intensity_did(data, y, cluster=schema.PROVINCE, bins=0, **fit)
        term = res.extra["term"]
        boot = wild_cluster_bootstrap(prov, term=term, draws=draws, seed=seed)
        hit = res.table.set_index("term").loc[term]
        results[outcome] = res
        rows.append({
            "outcome": outcome, "dose": dose, "base_year": base, "log": log,
            "municipalities": res.extra["panel"]["n_entities"],
            **{c: float(hit[c]) for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value")},
            "wild_p": boot.p_value, "wild_ci_low": boot.ci_low, "wild_ci_high": boot.ci_high,
            "per_sd": float(hit["estimate"]) * spread,
        })
    return pd.DataFrame(rows), results


def pre_reform_tests(
    panel: pd.DataFrame,
    series: Sequence[str] = (OLD_LAW, AWBZ),
    threshold: float = schema.LARGE_THRESHOLD,
    years: tuple[int, int] = PRE_YEARS,
    draws: int = 9999,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, EstimationResult]]:
    """Were large and small municipalities already diverging before 2015?

    On log counts (no population before 2015; with municipality effects a log count
    is a growth rate): an event study by size relative to 2014 (leads only, with the
    joint Wald test that all are zero) and a linear differential trend
    ``log n_it = a_i + l_t + g * large_i * (t - 2014)`` with CR1 and wild-bootstrap
    (province) intervals. ``g`` is how much faster per year, in log points, the
    caseload grew in large municipalities.

    What it cannot show: that the gap would have stayed put after 2015 (four years give
    little power against a slow drift), and differences in population growth between
    large and small municipalities enter the counts too.
    """
    data = mark_size(panel, threshold)
    rows, studies = [], {}
    for name in series:
        pre, y, notes = _prepared(data, name, years, log=True)
        study = event_study(pre, y, treatment=schema.LARGE, reform_year=years[1] + 1,
                            reference=years[1], baseline_year=None)
        study.notes[:0] = notes
        studies[name] = study
        pre["large_x_trend"] = pre[schema.LARGE] * (pre[schema.YEAR] - years[1])
        trend = twfe(pre, y, ["large_x_trend"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prov = twfe(pre, y, ["large_x_trend"], cluster=schema.PROVINCE)
        boot = wild_cluster_bootstrap(prov, term="large_x_trend", draws=draws, seed=seed)
        hit = trend.table.set_index("term").loc["large_x_trend"]
        test = study.extra["pretrend_test"]
        rows.append({
            "series": name, "years": f"{years[0]}-{years[1]}",
            "municipalities": study.extra["panel"]["n_entities"],
            "leads_F": test["statistic"], "leads_p": test["p_value"],
            "trend": float(hit["estimate"]), "trend_ci_low": float(hit["ci_low"]),
            "trend_ci_high": float(hit["ci_high"]), "trend_p": float(hit["p_value"]),
            "wild_p": boot.p_value, "wild_ci_low": boot.ci_low, "wild_ci_high": boot.ci_high,
        })
    return pd.DataFrame(rows), studies


def placebo_years(
    panel: pd.DataFrame,
    series: Sequence[str],
    threshold: float = schema.LARGE_THRESHOLD,
    years: tuple[int, int] = PRE_YEARS,
) -> pd.DataFrame:
    """Fake reform years inside the pre-period, on the log of each pre-2015 count.

    :func:`analysis.placebo_in_time` with the 2x2 by size on ``years``: nothing happened
    in 2012-2014, so the estimates should be near zero; a pattern means large and
    small municipalities were already diverging.
    """
    from analysis.designs.placebo import placebo_in_time

    data = mark_size(panel, threshold)
    frames = []
    for name in series:
        pre, y, _ = _prepared(data, name, years, log=True)
        table = placebo_in_time(pre, y, design="did_2x2", group=schema.LARGE,
                                baseline_year=None)
        frames.append(table.assign(series=name))
    return pd.concat(frames, ignore_index=True)


def counts_indexed(
    panel: pd.DataFrame, columns: Sequence[str], base_year: int, by: str = schema.SIZE_CLASS
) -> pd.DataFrame:
    """Sum of each count per group and year, indexed to ``base_year`` = 100.

    Only municipalities with the count in every year of the column's range are summed,
    so a group's index does not move because a municipality stops reporting.
    """
    frames = []
    for column in columns:
        known = panel.dropna(subset=[column])
        years = sorted(known[schema.YEAR].unique())
        full = known.groupby(schema.MUNICIPALITY)[schema.YEAR].nunique() == len(years)
        known = known[known[schema.MUNICIPALITY].isin(full[full].index)]
        sums = known.groupby([by, schema.YEAR], observed=True)[column].sum().rename("count")
        table = sums.reset_index().rename(columns={by: "group"})
        table["group"] = table["group"].astype(str)
        base = table[table[schema.YEAR] == base_year].set_index("group")["count"]
        table["index"] = 100 * table["count"] / table["group"].map(base)
        table["municipalities"] = table["group"].map(
            known.drop_duplicates(schema.MUNICIPALITY)[by].astype(str).value_counts())
        frames.append(table.assign(series=column))
    return pd.concat(frames, ignore_index=True)


__all__ = ["across_reform_reason", "budget_reason", "pre_reform_series", "add_inherited_caseload",
           "inherited_effects", "pre_reform_tests", "counts_indexed", "placebo_years",
           "SERIES_LABELS"]
