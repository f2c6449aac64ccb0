"""What real CBS data can identify about the 2015 reform, and the designs for it.

On the real CBS panel (``source="statline"``) most series start in 2015 and the
one that reaches back (youth care) changes concept at 2015: before, young people in
provincial youth care under the old Wet op de jeugdzorg (82354NED); from 2015, all
young people with Jeugdwet care (84134NED/85099NED). A level difference-in-differences
across 2015 would compare two different things, so it is not an effect. What the data
do support, and this module estimates:

* **growth since a base year** (:func:`growth_gap`): did use or cost grow more in large
  than in small municipalities after 2015 (base year 2015, or the first year the
  series covers most municipalities)? Municipality and year effects; on the log scale
  the estimate is a difference in growth rates;
* **the path of the gap** (:func:`growth_path`): the same year by year (event study
  with the base year as reference);
* **level gaps** (:func:`level_gap`): how far small municipalities' rate lies from
  large ones' in the same years (descriptive, year effects only);
* **inherited caseload**
  (:func:`analysis.studies.prereform.add_inherited_caseload`): the 2014 old-law plus AWBZ
  youth caseload per 1,000 young people as a dose for post-2015 growth;
* **pre-2015 trends** (:func:`analysis.studies.prereform.pre_reform_tests`): whether the
  large/small gap in the old-law series was already moving before 2015.

Every table gives cluster-robust (CR1, municipality) intervals and the restricted wild
cluster bootstrap by the 12 provinces (all 4,096 sign vectors enumerated), because
shocks are shared within provinces and 12 clusters are too few for a t-test.

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> table = size_gap_table(simulate_panel(1).panel, ["wmo_per_1000"], draws=99)
>>> table[["outcome", "base_year"]].values.tolist()
[['wmo_per_1000', 2015]]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs._common import binary, require_columns
from analysis.designs.event_study import event_study
from analysis.designs.twfe import twfe
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.reporting.truth import TRUE_PREFIX, true_estimate
from analysis.results import EstimationResult

SMALL = "small"  # 1 when baseline population < threshold
# A base year must have the outcome for this share of municipalities: on the real panel
# Wmo clients reach it in 2017, youth-care costs in 2018, everything else in 2015.
MIN_COVERAGE = 0.75


def complete_sizes(panel: pd.DataFrame) -> pd.DataFrame:
    """Size municipalities without a baseline population by their first later population.

    The real bundle's 2016-2018 population is derived from rates beside counts (2015 comes
    from the district map, complete), so with a later baseline year municipalities that
    reported none of those have no baseline population. They are sized by the first year a
    population is known (a municipality rarely crosses a size line within a few
    years); ``attrs["size_note"]`` says how many and from which years, and
    ``attrs["sized_in"]`` counts the units sized in each year (the baseline year
    included), for :func:`analysis.reporting.readings.sizing_sentence`. A panel with
    every baseline known is returned unchanged (same object).

    Raises
    ------
    ValueError
        Naming municipalities with no population in any year.
    """
    base = panel[schema.BASELINE_POPULATION]
    if base.notna().all():
        return panel
    missing = panel.loc[base.isna(), schema.MUNICIPALITY].unique()
    known = panel[panel[schema.MUNICIPALITY].isin(missing) & panel[schema.POPULATION].notna()]
    first = known.sort_values(schema.YEAR).drop_duplicates(schema.MUNICIPALITY)
    first = first.set_index(schema.MUNICIPALITY)
    never = sorted(set(missing) - set(first.index))
    if never:
        raise ValueError(f"{len(never)} municipalities have no population in any year, "
                         f"e.g. {never[:5]}: their size is unknown")
    out = panel.copy()
    fill = base.isna()
    out.loc[fill, schema.BASELINE_POPULATION] = out.loc[fill, schema.MUNICIPALITY].map(
        first[schema.POPULATION])
    out[schema.SIZE_CLASS] = schema.size_class(out[schema.BASELINE_POPULATION])
    out[schema.LARGE] = out[schema.BASELINE_POPULATION] >= schema.LARGE_THRESHOLD
    years = first[schema.YEAR].value_counts().sort_index()
    out.attrs = dict(panel.attrs)
    in_base = panel[schema.MUNICIPALITY].nunique() - len(first)
    out.attrs["sized_in"] = {int(panel.attrs.get("baseline_year", schema.BASELINE_YEAR)): in_base,
                             **{int(y): int(n) for y, n in years.items()}}
    out.attrs["size_note"] = (
        f"{len(first)} of {panel[schema.MUNICIPALITY].nunique()} municipalities have no "
        f"population in the baseline year {panel.attrs.get('baseline_year', '')}; sized by "
        "their first year with one ("
        + ", ".join(f"{int(y)}: {n}" for y, n in years.items()) + ")"
    )
    return out


def mark_size(panel: pd.DataFrame, threshold: float = schema.LARGE_THRESHOLD) -> pd.DataFrame:
    """Add ``large`` and ``small`` (0/1) from the baseline population, fixed per municipality.

    Raises
    ------
    ValueError
        When a municipality has no baseline population (its size class is unknown).
    """
    require_columns(panel, [schema.BASELINE_POPULATION], "mark_size")
    unknown = panel.loc[panel[schema.BASELINE_POPULATION].isna(), schema.MUNICIPALITY].unique()
    if len(unknown):
        raise ValueError(
            f"mark_size: {len(unknown)} municipalities have no baseline population, "
            f"e.g. {list(unknown[:5])}: their size class is unknown"
        )
    out = panel.copy()
    out[schema.LARGE] = (out[schema.BASELINE_POPULATION] >= threshold).astype(float)
    out[SMALL] = 1.0 - out[schema.LARGE]
    out.attrs = dict(panel.attrs)
    return out


def base_year_for(
    panel: pd.DataFrame, outcome: str, first: int = schema.REFORM_YEAR,
    min_coverage: float = MIN_COVERAGE,
) -> int:
    """The first year from ``first`` in which ``outcome`` is known for most municipalities.

    Growth "since 2015" needs a 2015 value; Wmo spending starts in 2017 and youth-care
    costs were not reported by many municipalities in 2015-2017, so their base year is
    the first year with at least ``min_coverage`` of the municipalities.

    Raises
    ------
    ValueError
        Naming the outcome when no year reaches the coverage.
    """
    require_columns(panel, [outcome], "base_year_for")
    units = panel[schema.MUNICIPALITY].nunique()
    known = panel.loc[panel[outcome].notna()].groupby(schema.YEAR)[schema.MUNICIPALITY].nunique()
    good = [int(y) for y, n in known.items() if y >= first and n >= min_coverage * units]
    if len(good) < 2:
        raise ValueError(
            f"{outcome}: fewer than two years from {first} cover {min_coverage:.0%} of the "
            f"{units} municipalities (known per year: {known.to_dict()})"
        )
    return good[0]


def _prepared(
    df: pd.DataFrame, outcome: str, years: tuple[int, int | None], log: bool
) -> tuple[pd.DataFrame, str, list[str]]:
    """Rows in ``years``; the outcome or its log (non-positive values become missing)."""
    first, last = years
    data = df[(df[schema.YEAR] >= first) & (df[schema.YEAR] <= (last or 9999))].copy()
    if not log:
        return data, outcome, []
    name = f"log_{outcome}"
    positive = data[outcome] > 0
    notes = []
    if (data[outcome].notna() & ~positive).any():
        notes.append(f"{int((data[outcome] <= 0).sum())} non-positive values of {outcome} "
                     "left out of the log scale")
    data[name] = np.log(data[outcome].where(positive))
    return data, name, notes


def _unit_constant(data: pd.DataFrame, column: str, design: str) -> pd.Series:
    varies = data.groupby(schema.MUNICIPALITY)[column].nunique() > 1
    if varies.any():
        raise ValueError(f"{design}: {column} varies within {varies[varies].index[0]}: "
                         "it must be a baseline characteristic")
    return binary(data[column], column, design)


def growth_gap(
    df: pd.DataFrame,
    outcome: str,
    group: str = schema.LARGE,
    base_year: int | None = None,
    last_year: int | None = None,
    log: bool = False,
    cluster: str | Sequence[str] = "entity",
    vcov: str | None = None,
    first_year: int = schema.REFORM_YEAR,
    weights: str | None = None,
) -> EstimationResult:
    """Difference in growth since ``base_year`` between a group and the rest.

    ``y_it = a_i + l_t + b * group_i * 1[t > base_year] + u_it`` on the years from
    ``base_year`` on, for municipalities with a value in the base year. ``b`` is how
    much more the outcome rose from the base year to the average later year in the
    group (e.g. large municipalities) than in the others; with ``log=True`` it is the
    difference in log growth (``100 * (exp(b) - 1)`` percent).

    Identifying assumption, for reading ``b`` as a consequence of size under the new
    laws: without the reform the groups' outcomes would have grown alike after the
    base year. Every municipality was reformed, so ``b`` compares two reformed groups,
    never reformed with unreformed; and the base year is already under the new laws,
    so what happened in 2015 itself is in the base, not in ``b``. Fails when size
    stands for something else that grew differently (urban population growth, the
    2017 switch to the objective budget model that moved money between municipalities,
    regional youth-care contracts).

    Parameters
    ----------
    df : the panel.
    outcome : rate column (e.g. ``youth_care_per_1000``).
    group : 0/1 column fixed per municipality (default ``large``).
    base_year : default :func:`base_year_for` the outcome.
    last_year : last year used (default all).
    log : difference in log growth instead of level change.
    cluster, vcov : as in :func:`analysis.twfe` (``"entity"`` = municipality; give
        ``"province"`` for the wild bootstrap by province).
    first_year : earliest base year :func:`base_year_for` may choose (e.g. 2016 to
        leave out a first year with registration problems).
    weights : column of regression weights (e.g. the baseline population: the gap for
        the average inhabitant rather than the average municipality).

    Returns
    -------
    EstimationResult with one row ``<group>:growth``; ``extra`` holds ``term``,
    ``base_year``, ``last_year``, ``log`` and ``units_without_base``.

    Examples
    --------
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> res = growth_gap(simulate_panel(1).panel, "wmo_per_1000")
    >>> res.table["term"].tolist(), res.extra["base_year"]
    (['large:growth'], 2015)
    """
    require_columns(df, [outcome, group, schema.MUNICIPALITY, schema.YEAR], "growth_gap")
    base = base_year_for(df, outcome, first_year) if base_year is None else int(base_year)
    data, y, notes = _prepared(df, outcome, (base, last_year), log)
    at_base = data.loc[(data[schema.YEAR] == base) & data[y].notna(), schema.MUNICIPALITY]
    without = sorted(set(data[schema.MUNICIPALITY]) - set(at_base))
    if without:
        notes.append(f"{len(without)} municipalities without a {base} value of {outcome} "
                     f"left out (growth since {base} is undefined for them), e.g. {without[:3]}")
        data = data[data[schema.MUNICIPALITY].isin(set(at_base))]
    term = f"{group}:growth"
    data[term] = _unit_constant(data, group, "growth_gap") * (data[schema.YEAR] > base)
    if data.loc[data[schema.YEAR] > base, y].notna().sum() == 0:
        raise ValueError(f"growth_gap: {outcome} has no values after {base}")
    res = twfe(data, y, [term], cluster=cluster, vcov=vcov, weights=weights)
    res.notes[:0] = notes
    last = int(data.loc[data[y].notna(), schema.YEAR].max())
    res.extra.update(term=term, base_year=base, last_year=last,
                     log=log, units_without_base=without, source_outcome=outcome)
    return res


def growth_path(
    df: pd.DataFrame,
    outcome: str,
    group: str = schema.LARGE,
    base_year: int | None = None,
    log: bool = False,
    cluster: str = "entity",
) -> EstimationResult:
    """The group gap in every year relative to the base year (event study).

    ``b_t`` is how much more the outcome had grown in the group than in the rest
    between the base year and year ``t``; same assumption as :func:`growth_gap`.
    There are no leads: the base year is the first year of the series.
    """
    base = base_year_for(df, outcome) if base_year is None else int(base_year)
    last = int(df.loc[df[outcome].notna(), schema.YEAR].max())  # e.g. bijstand ends in 2017
    data, y, notes = _prepared(df, outcome, (base, last), log)
    res = event_study(data, y, treatment=group, reform_year=base + 1, reference=base,
                      baseline_year=None, cluster=cluster)
    res.notes[:0] = notes
    res.extra.update(base_year=base, log=log, source_outcome=outcome)
    return res


def level_gap(
    df: pd.DataFrame,
    outcome: str,
    group: str = SMALL,
    years: tuple[int, int | None] = (schema.REFORM_YEAR, None),
    log: bool = False,
    cluster: str | Sequence[str] = "entity",
    vcov: str | None = None,
    weights: str | None = None,
) -> EstimationResult:
    """How far the group's municipalities lie from the rest, year effects removed.

    ``y_it = l_t + b * group_i + u_it`` over ``years``: ``b`` is the average gap in the
    outcome between, e.g., small and large municipalities in the same year (each
    municipality weighs the same, unless ``weights`` names a column). Descriptive: it
    mixes what municipalities do with who lives there (age, income, urbanity), so it is
    not an effect of size.
    """
    require_columns(df, [outcome, group, schema.MUNICIPALITY, schema.YEAR], "level_gap")
    data, y, notes = _prepared(df, outcome, years, log)
    data[group] = _unit_constant(data, group, "level_gap")
    res = twfe(data, y, [group], effects=("time",), cluster=cluster, vcov=vcov, weights=weights)
    res.notes[:0] = notes
    observed = data.loc[data[y].notna(), schema.YEAR]
    res.extra.update(term=group, years=(int(observed.min()), int(observed.max())),
                     log=log, source_outcome=outcome)
    return res


DESIGNS: dict[str, Callable[..., EstimationResult]] = {"growth": growth_gap, "level": level_gap}


def _row(result: EstimationResult, term: str) -> dict:
    hit = result.table.set_index("term").loc[term]
    return {c: float(hit[c]) for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value")}


def _wild(result_by_province: EstimationResult, term: str, draws: int, seed: int) -> dict:
    boot = wild_cluster_bootstrap(result_by_province, term=term, draws=draws, seed=seed)
    return {"wild_p": boot.p_value, "wild_ci_low": boot.ci_low, "wild_ci_high": boot.ci_high,
            "wild_enumerated": boot.enumerated, "provinces": boot.n_clusters}


def _fit_quietly(design: Callable, *args, **kwargs) -> EstimationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "few clusters": the wild bootstrap answers it
        return design(*args, **kwargs)


def size_gap_table(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    design: str = "growth",
    threshold: float = schema.LARGE_THRESHOLD,
    group: str | None = None,
    log: bool = False,
    draws: int = 9999,
    seed: int = 0,
    first_year: int | None = None,
) -> pd.DataFrame:
    """One size comparison over several outcomes, with CR1 and wild-bootstrap intervals.

    Parameters
    ----------
    design : ``"growth"`` (:func:`growth_gap`, default group ``large``) or ``"level"``
        (:func:`level_gap`, default group ``small``).
    threshold : inhabitants in the baseline year that make a municipality large.
    first_year : growth: the earliest base year; level: the first year compared.
    log : bool
        Growth or level on the log scale; the ``percent_*`` columns then give
        ``100 * (exp(b) - 1)`` and its intervals.

    Returns
    -------
    DataFrame
        One row per outcome: ``outcome, design, group, base_year, last_year,
        municipalities, in_group, estimate, std_error, ci_low, ci_high, p_value`` (CR1 by
        municipality), ``wild_p, wild_ci_low, wild_ci_high`` (WCR by province) and
        ``truth`` (the design on the synthetic true effects; level scale only).
    """
    fit = DESIGNS[design]
    group = group or (schema.LARGE if design == "growth" else SMALL)
    data = mark_size(panel, threshold)
    options = {"group": group, "log": log}
    if first_year is not None:  # growth: the earliest base year; level: the first year used
        options.update({"first_year": first_year} if design == "growth"
                       else {"years": (first_year, None)})
    rows = []
    for outcome in outcomes:
        res = fit(data, outcome, **options)
        term = res.extra["term"]
        by_province = _fit_quietly(fit, data, outcome, cluster=schema.PROVINCE, **options)
        used = res.fit.extra["frame"]
        units = used.drop_duplicates(schema.MUNICIPALITY)
        rows.append({
            "outcome": outcome, "design": design, "group": group, "threshold": int(threshold),
            "base_year": res.extra.get("base_year", res.extra.get("years", (None,))[0]),
            "last_year": res.extra.get("last_year", res.extra.get("years", (None, None))[1]),
            "municipalities": len(units),
            "in_group": int(data.drop_duplicates(schema.MUNICIPALITY).set_index(
                schema.MUNICIPALITY).loc[units[schema.MUNICIPALITY], group].sum()),
            **_row(res, term), **_wild(by_province, term, draws, seed),
            "truth": np.nan if log else _truth(fit, data, outcome, term, group, res),
        })
    table = pd.DataFrame(rows)
    if log:
        for col in ("estimate", "wild_ci_low", "wild_ci_high", "ci_low", "ci_high"):
            table[f"percent_{col}"] = 100 * np.expm1(table[col])
    return table


def _truth(fit: Callable, data: pd.DataFrame, outcome: str, term: str, group: str,
           res: EstimationResult) -> float:
    if not data.attrs.get("synthetic", False):
        return np.nan
    from analysis.reporting.truth import attach_true_effects

    truth = attach_true_effects(data)
    if TRUE_PREFIX + outcome not in truth:
        return np.nan
    options = {"group": group}
    if "base_year" in res.extra:
        options["base_year"] = res.extra["base_year"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(true_estimate(fit, truth, outcome, **options)[term])





def describe(outcome: str) -> tuple[str, str]:
    """``(label, unit)`` of an outcome, for plain-language sentences."""
    spec = schema.OUTCOMES.get(outcome)
    return (spec.label, spec.unit) if spec is not None else (outcome, "in its own unit")


def _sure(p: float, level: float) -> str:
    return ("a difference the data can tell apart from zero" if p < level
            else "a difference the data cannot tell apart from zero")


def plain_growth(table: pd.DataFrame, level: float = 0.05) -> str:
    """:func:`size_gap_table` (growth design) in words, one sentence per outcome.

    What it means: how differently the groups' use or cost moved after the base
    year. What it cannot mean: whether either group coped better (more use can be
    need met or need created), what the reform did at 2015 itself (the base year is
    already reformed), or that size, rather than what comes with it, made the
    difference.
    """
    lines = []
    for row in table.itertuples(index=False):
        label, unit = describe(row.outcome)
        who = "large" if row.group == schema.LARGE else "small"
        other = "small" if who == "large" else "large"
        if "percent_estimate" in table:
            size = (f"{abs(row.percent_estimate):.1f}% {'more' if row.estimate > 0 else 'less'}"
                    f" (95% wild-bootstrap interval {row.percent_wild_ci_low:+.1f}% to "
                    f"{row.percent_wild_ci_high:+.1f}%")
        else:
            size = (f"{abs(row.estimate):.2f} {unit} {'more' if row.estimate > 0 else 'less'}"
                    f" (95% wild-bootstrap interval {row.wild_ci_low:+.2f} to "
                    f"{row.wild_ci_high:+.2f}")
        lines.append(
            f"- {label}: from {row.base_year} to {row.base_year + 1}-{row.last_year} (on average "
            f"over those years) it grew {size}, p = {row.wild_p:.3f}) in {who} municipalities "
            f"(threshold {row.threshold:,}) than in {other} ones: {_sure(row.wild_p, level)}."
        )
    return "\n".join(lines)



def growth_clustering_choices(
    panel: pd.DataFrame,
    outcome: str,
    threshold: float = schema.LARGE_THRESHOLD,
    log: bool = True,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """The growth gap of :func:`growth_gap` under each standard-error choice.

    As :func:`analysis.studies.evaluation.clustering_choices` for the 2x2: CR1 by municipality
    and by province, two-way, Driscoll-Kraay, HC1, and the wild bootstrap by province.
    """
    from analysis.studies.evaluation import CLUSTERINGS

    data = mark_size(panel, threshold)
    rows, notes = [], []
    for name, options in CLUSTERINGS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cluster = options.get("cluster", "entity")
            res = growth_gap(data, outcome, log=log, cluster=cluster, vcov=options.get("vcov"))
        notes += [f"{name}: {w.message}" for w in caught]
        rows.append({"clustering": name, **_row(res, res.extra["term"]),
                     "n_clusters": res.n_clusters, "se_type": res.se_type})
    by_province = _fit_quietly(growth_gap, data, outcome, log=log, cluster=schema.PROVINCE)
    boot = _wild(by_province, by_province.extra["term"], draws, seed)
    rows.append({"clustering": "province, wild bootstrap (WCR)", "estimate": rows[0]["estimate"],
                 "std_error": np.nan, "ci_low": boot["wild_ci_low"],
                 "ci_high": boot["wild_ci_high"], "p_value": boot["wild_p"],
                 "n_clusters": boot["provinces"], "se_type": "wild cluster bootstrap"})
    table = pd.DataFrame(rows)
    table.attrs["notes"] = list(dict.fromkeys(notes))
    return table


# The views and figures live in analysis.studies.size_views; importable from here as before.
_VIEWS = ("rate_parts", "rates_indexed", "profile_year", "first_and_last", "plot_by_group",
          "plot_gaps", "plot_growth_paths")


def __getattr__(name: str):
    if name in _VIEWS:
        from analysis.studies import size_views

        return getattr(size_views, name)
    raise AttributeError(f"module 'analysis.studies.since2015' has no attribute {name!r}")


__all__ = [
    "complete_sizes", "mark_size", "base_year_for", "growth_gap", "growth_path", "level_gap",
    "size_gap_table", "describe", "plain_growth", "growth_clustering_choices", *_VIEWS,
]
