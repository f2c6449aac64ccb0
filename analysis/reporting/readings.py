"""The readings of notebooks 02-07, generated from their result tables.

Every sentence a notebook prints about its results comes from a function here, so it
states only what that run's output shows and changes when the numbers change (the
stored notebooks are re-executed on every data change; a hand-typed figure would not
follow). The rules the sentences keep:

* an interval is described by what it shows: it **excludes 0** or **includes 0**; no
  sentence says a difference "can be told apart from zero" or is "significant" on the
  strength of one specification (:func:`interval_sentences`), and a specification curve,
  when given, replaces the one-specification caveat (:func:`curve_sentence`);
* a pooled level over years whose coverage differs is never a headline
  (:func:`pooled_level_note`); levels by year are read year by year
  (:func:`levels_by_year_sentences`);
* how units were sized is counted from the panel, never asserted (:func:`sizing_sentence`);
* a count before 2015 is a count, not use per inhabitant (:func:`prereform_reading`).

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"outcome": ["wmo_per_1000"], "group": ["large"], "threshold": [50_000],
...     "base_year": [2017], "last_year": [2023], "estimate": [-0.057],
...     "percent_estimate": [-5.5], "percent_wild_ci_low": [-8.9], "percent_wild_ci_high": [-0.6],
...     "wild_p": [0.041]})
>>> interval_sentences(table).splitlines()[0].split(": ")[-1]
'the interval excludes 0.'
"""

from __future__ import annotations

import pandas as pd

from analysis.data import schema

ONE_SPECIFICATION = (
    "These are one specification each (the base year shown, all municipalities with a "
    "base-year value, size from the sizing year, threshold {threshold:,}, wild bootstrap by "
    "the 12 provinces). One specification is fragile: another base year, sample, size "
    "definition, threshold or clustering can move an interval across 0, so an interval that "
    "excludes 0 here is not yet a finding; the specification curve counts how many "
    "specifications agree."
)


def _label(outcome: str) -> str:
    spec = schema.OUTCOMES.get(outcome)
    return spec.label if spec is not None else outcome


def _excludes(low: float, high: float) -> bool:
    return bool(low > 0 or high < 0)


def _columns(table: pd.DataFrame) -> tuple[str, str, str, str]:
    """(estimate, low, high, suffix) in percent when the table has them."""
    if "percent_estimate" in table:
        return "percent_estimate", "percent_wild_ci_low", "percent_wild_ci_high", "%"
    return "estimate", "wild_ci_low", "wild_ci_high", ""


def interval_sentences(table: pd.DataFrame, curve: pd.DataFrame | None = None) -> str:
    """One sentence per outcome of a growth or level table, and what the set shows.

    ``table`` is :func:`analysis.studies.since2015.size_gap_table` output (``percent_*``
    columns when on the log scale). Each sentence gives the estimate, its 95%
    wild-bootstrap interval and whether that interval excludes 0; the closing sentence
    counts the intervals that exclude 0 and, without a ``curve``, says that this is one
    specification. With ``curve`` (a specification-curve table, see
    :func:`curve_sentence`) the closing sentences come from the curve instead.
    """
    est, low, high, pct = _columns(table)
    lines, excluding = [], []
    for row in table.to_dict("records"):
        label = _label(row["outcome"])
        who = "large" if row.get("group", schema.LARGE) == schema.LARGE else "small"
        other = "small" if who == "large" else "large"
        unit = pct or f" {schema.OUTCOMES[row['outcome']].unit}"
        value = abs(row[est])
        if row.get("design", "growth") == "level":
            what = (
                f"{value:.1f}{unit} {'lower' if row[est] < 0 else 'higher'} in {who} "
                f"municipalities than in {other} ones, pooled over {row['base_year']}-"
                f"{row['last_year']}"
            )
        else:
            what = (
                f"grew {value:.1f}{unit} {'less' if row[est] < 0 else 'more'} in {who} "
                f"municipalities than in {other} ones (threshold {row['threshold']:,}), from "
                f"{row['base_year']} to {row['base_year'] + 1}-{row['last_year']} on average"
            )
        excl = _excludes(row[low], row[high])
        if excl:
            excluding.append(label)
        lines.append(
            f"- {label}: {what} (95% wild-bootstrap interval {row[low]:+.1f}{pct} to "
            f"{row[high]:+.1f}{pct}, p = {row['wild_p']:.3f}): the interval "
            f"{'excludes' if excl else 'includes'} 0."
        )
    n = len(table)
    if excluding:
        lines.append(
            f"The intervals of {len(excluding)} of {n} outcomes exclude 0 "
            f"({'; '.join(excluding)})"
            + {0: ".", 1: "; the other one includes 0."}.get(
                n - len(excluding), f"; the other {n - len(excluding)} include 0.")
        )
    else:
        lines.append(f"All {n} intervals include 0.")
    if curve is not None:
        lines.append(curve_sentence(curve))
    else:
        threshold = int(table["threshold"].iloc[0]) if "threshold" in table else 50_000
        lines.append(ONE_SPECIFICATION.format(threshold=threshold))
    return "\n".join(lines)


def curve_sentence(
    curve: pd.DataFrame,
    estimate: str = "estimate",
    low: str = "ci_low",
    high: str = "ci_high",
    headline: pd.DataFrame | None = None,
) -> str:
    """What a specification curve shows, per outcome: agreement in sign and intervals.

    ``curve`` has one row per specification with ``outcome``, ``estimate``, ``low`` and
    ``high`` (name the columns if they differ). For each outcome: how many specifications,
    the range of their estimates, the widest interval, and the share whose interval
    excludes 0 *with the sign of the headline* (the headline is ``headline``'s estimate
    per outcome when given, else the sign of the median specification).
    """
    lines = []
    signs = {}
    if headline is not None:
        signs = dict(zip(headline["outcome"], headline[estimate], strict=True))
    for outcome, rows in curve.groupby("outcome", sort=False):
        sign = signs.get(outcome, rows[estimate].median())
        positive = sign > 0
        agree = (rows[low] > 0) if positive else (rows[high] < 0)
        widest = rows.loc[(rows[high] - rows[low]).idxmax()]
        lines.append(
            f"- {_label(outcome)}: {len(rows)} specifications, estimates from "
            f"{rows[estimate].min():+.3g} to {rows[estimate].max():+.3g}; "
            f"{int(agree.sum())} ({agree.mean():.0%}) have an interval that excludes 0 on the "
            f"{'positive' if positive else 'negative'} side; the widest interval is "
            f"{widest[low]:+.3g} to {widest[high]:+.3g}."
        )
    return "\n".join(lines)


def coverage_by_year(panel: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Municipalities with a figure, per outcome and year (years with none left out)."""
    known = panel[[schema.YEAR, *outcomes]].set_index(schema.YEAR).notna()
    table = known.groupby(level=0).sum().T
    table.index.name = "outcome"
    return table.loc[:, table.sum() > 0].astype(int)


def pooled_level_note(panel: pd.DataFrame, table: pd.DataFrame) -> str:
    """Why the pooled level rows of a claim table are not a headline: coverage per year.

    For each ``design == "level"`` row, the fewest and most municipalities reporting in
    a year of its window. A level pooled over years with different coverage mixes who
    reports with how far apart the groups are.
    """
    levels = table[table["design"] == "level"] if "design" in table else table
    if levels.empty:
        return ""
    coverage = coverage_by_year(panel, list(levels["outcome"]))
    parts, varies = [], False
    for row in levels.itertuples(index=False):
        years = [y for y in coverage.columns if row.base_year <= y <= row.last_year]
        counts = coverage.loc[row.outcome, years]
        lo, hi = counts.idxmin(), counts.idxmax()
        varies = varies or counts[lo] != counts[hi]
        if counts[lo] == counts[hi]:
            parts.append(f"{_label(row.outcome)} {counts[lo]} municipalities in every year")
        else:
            parts.append(
                f"{_label(row.outcome)} {counts[lo]} municipalities ({lo}) to {counts[hi]} ({hi})"
            )
    if not varies:
        return ("The level rows pool every year of their window into one number; the same "
                "municipalities report in every year (" + "; ".join(parts) + ").")
    return ("The level rows pool every year of their window into one number, and those years "
            "differ in who reports: " + "; ".join(parts) + ". A pooled level over years with "
            "different coverage is not a headline: the gap by year, with its coverage beside "
            "it, is what to read.")


def levels_by_year_sentences(
    by_year: pd.DataFrame,
    estimate: str = "percent_estimate",
    low: str = "percent_wild_ci_low",
    high: str = "percent_wild_ci_high",
    coverage: str = "municipalities",
) -> str:
    """A level gap read year by year: first and last year, and where intervals exclude 0.

    ``by_year`` has one row per ``outcome`` and ``year`` with the estimate, its interval
    and the number of municipalities reporting (name the columns if they differ).
    """
    lines = []
    for outcome, rows in by_year.sort_values(schema.YEAR).groupby("outcome", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        excl = [
            int(y)
            for y, lo, hi in zip(rows[schema.YEAR], rows[low], rows[high], strict=True)
            if _excludes(lo, hi)
        ]
        lines.append(
            f"- {_label(outcome)}: {first[estimate]:+.1f} in {int(first[schema.YEAR])} "
            f"({int(first[coverage])} municipalities) and {last[estimate]:+.1f} in "
            f"{int(last[schema.YEAR])} ({int(last[coverage])}); the interval excludes 0 in "
            f"{len(excl)} of {len(rows)} years"
            + (f" ({', '.join(map(str, excl))})." if excl else ".")
        )
    return "\n".join(lines)


def sizing_sentence(panel: pd.DataFrame) -> str:
    """How each unit's size class was fixed, counted from the panel.

    Reads ``attrs["sized_in"]`` (year -> units, written by
    :func:`analysis.studies.since2015.complete_sizes`); a panel without it has every unit
    sized in ``attrs["baseline_year"]`` (or says how many have no size).
    """
    units = panel[schema.MUNICIPALITY].nunique()
    base = panel.attrs.get("baseline_year")
    sized = dict(panel.attrs.get("sized_in") or {})
    if not sized:
        known = panel.drop_duplicates(schema.MUNICIPALITY)[schema.BASELINE_POPULATION].notna()
        sized = {base: int(known.sum())}
        if not known.all():
            return (
                f"Size classes come from each unit's population in {base}: "
                f"{int(known.sum())} of {units} units; {int((~known).sum())} have no "
                "population that year and no size class."
            )
    sized = {int(y): int(n) for y, n in sorted(sized.items())}
    if set(sized) == {base}:
        return (
            f"Size classes come from each unit's population on its "
            f"{panel.attrs.get('boundary_year', '')} boundaries in {base}: "
            f"all {units} units are sized in {base}."
        )
    later = {y: n for y, n in sized.items() if y != base}
    share = sum(later.values()) / units
    return (
        f"Size classes come from each unit's population in its sizing year: "
        f"{sized.get(base, 0)} of {units} units in {base}, and {sum(later.values())} ({share:.0%}) "
        f"later, because they have no population figure in {base} ("
        + ", ".join(f"{y}: {n}" for y, n in later.items())
        + "). A unit sized after the reform may have moved across a class line in between."
    )


def prereform_reading(tests: pd.DataFrame, labels: dict[str, str] | None = None,
                      one_line: bool = False) -> str:
    """:func:`analysis.studies.prereform.pre_reform_tests` in words, as counts.

    The series before 2015 have no population beside them, so a trend is growth in the
    **count**, which population growth enters too; it is not use per inhabitant.
    ``labels`` names the series (default
    :data:`analysis.studies.prereform.SERIES_LABELS`).
    """
    if labels is None:
        from analysis.studies.prereform import SERIES_LABELS as labels
    lines = []
    for row in tests.itertuples(index=False):
        first, last = (int(y) for y in row.years.split("-"))
        years = last - first + 1
        excl = _excludes(row.wild_ci_low, row.wild_ci_high)
        lines.append(
            f"- {labels.get(row.series, row.series)}: over {first}-{last} ({years} years, "
            f"{years - 1} leads against {last}) the {_total(row.series)} grew "
            f"{100 * abs(row.trend):.1f} log points a year "
            f"{'less' if row.trend < 0 else 'more'} in large municipalities than in small ones "
            f"(95% wild-bootstrap interval {100 * row.wild_ci_low:+.1f} to "
            f"{100 * row.wild_ci_high:+.1f}: {'excludes' if excl else 'includes'} 0; "
            f"joint test of the leads p = {row.leads_p:.3f})."
        )
    lines.append(
        "These are totals (counts of cases, or amounts), not use per inhabitant: there is "
        "no population before 2015, so faster population growth in one group shows up as "
        "faster growth of its totals too, and a total that falls can be fewer inhabitants "
        "as much as less care."
    )
    if one_line:
        return "Before 2015 (log counts by size): " + " ".join(x.removeprefix("- ") for x in lines)
    return "\n".join(lines)


def _total(series: str) -> str:
    """"amount" for a money series (synthetic spending), "count" for cases."""
    money = series.endswith("_keur") or "cost" in series or "spending" in series
    return "amount" if money else "count"


def wild_enumeration_note(choices: pd.DataFrame, draws: int = 9999) -> str:
    """What an enumerated wild-bootstrap p-value is (and is not), from a clustering table.

    ``choices`` is :func:`analysis.studies.evaluation.clustering_choices` or
    :func:`analysis.studies.since2015.growth_clustering_choices` output; its wild
    bootstrap row gives the number of clusters; ``draws`` is what the bootstrap was
    asked for (it enumerates when ``draws >= 2**G``).
    """
    wild = choices[choices["clustering"].str.contains("wild", case=False)]
    if wild.empty:
        return ""
    g = int(wild["n_clusters"].iloc[0])
    if draws < 2**g:
        return (
            f"The wild cluster bootstrap over {g} clusters drew {draws:,} of the "
            f"2^{g} = {2**g:,} Rademacher sign vectors at random, so its p-value carries "
            "simulation error."
        )
    return (
        f"With {g} clusters and {draws:,} draws requested, the wild cluster bootstrap "
        f"enumerates all 2^{g} = {2**g:,} Rademacher sign vectors instead of drawing them, "
        "so its p-value has no simulation "
        "error: it is the exact distribution of the bootstrap statistic over those sign "
        "vectors. That is not an exact test of the hypothesis: the bootstrap still assumes "
        f"that errors are independent across the {g} clusters and that sign flips of the "
        f"restricted residuals mimic them, and it can take only {2**g:,} values (a sign "
        f"vector and its mirror image give the same |t|, so the smallest two-sided p is "
        f"2/{2**g:,} = {2 / 2**g:.2g})."
    )


def year_step_sentence(rates: pd.DataFrame, outcome: str, year: int) -> str:
    """The change from ``year - 1`` to ``year`` per group of a ``rates_indexed`` table."""
    rows = rates[(rates["outcome"] == outcome) & rates[schema.YEAR].isin([year - 1, year])]
    wide = rows.pivot_table(index="group", columns=schema.YEAR, values="rate", observed=True)
    if not {year - 1, year} <= set(wide.columns):
        return f"{_label(outcome)}: no figures for both {year - 1} and {year}."
    change = 100 * (wide[year] / wide[year - 1] - 1)
    return (f"{_label(outcome)}, {year - 1} to {year}: "
            + ", ".join(f"{g} {c:+.1f}%" for g, c in change.items()) + ".")


def growth_finding(table: pd.DataFrame) -> str:
    """One line for the report's index: each growth gap, its interval, and what it shows."""
    est, low, high, pct = _columns(table)
    parts = [
        f"{_label(r['outcome'])} {r[est]:+.1f}{pct} ({r['base_year']}-{r['last_year']}, 95% "
        f"wild-bootstrap CI {r[low]:+.1f}{pct} to {r[high]:+.1f}{pct}, "
        f"{'excludes' if _excludes(r[low], r[high]) else 'includes'} 0)"
        for r in table.to_dict("records")
    ]
    return ("Large minus small, growth since the base year, one specification each: "
            + "; ".join(parts) + ".")


def claim_reading(tests: pd.DataFrame, panel: pd.DataFrame, level: float = 0.05,
                  by_year: pd.DataFrame | None = None) -> str:
    """Notebook 07's reading: growth comparisons with their family adjustment; no pooled level.

    Growth rows: :func:`interval_sentences` plus the Romano-Wolf p-value. Level rows are
    pooled over years whose coverage differs, so they get :func:`pooled_level_note` and,
    when ``by_year`` is given (levels by year), :func:`levels_by_year_sentences`.
    """
    growth = tests[tests["design"] == "growth"]
    lines = []
    if len(growth):
        sentences = interval_sentences(growth).splitlines()[: len(growth) + 1]
        for sentence, row in zip(sentences, growth.itertuples(index=False), strict=False):
            rw = row.p_romano_wolf
            lines.append(sentence[:-1] + f"; Romano-Wolf p = {rw:.3f} over the family of "
                         f"{len(growth)} ({'below' if rw < level else 'not below'} {level:.0%}).")
        lines.append(sentences[len(growth)])
    lines.append(pooled_level_note(panel, tests))
    if by_year is not None:
        lines.append(levels_by_year_sentences(by_year))
    return "\n".join(line for line in lines if line)


def claim_finding(tests: pd.DataFrame, level: float = 0.05,
                  panel: pd.DataFrame | None = None) -> str:
    """Notebook 07's finding: the growth comparisons only (pooled levels are not a headline).

    With ``panel``, the closing sentence says whether the pooled years differ in who reports.
    """
    growth = tests[tests["design"] == "growth"]
    est, low, high, _ = _columns(growth)
    excl = [_label(r.outcome) for r in growth.itertuples()
            if _excludes(getattr(r, low), getattr(r, high))]
    rw = [_label(r.outcome) for r in growth.itertuples() if r.p_romano_wolf < level]
    threshold = int(growth["threshold"].iloc[0]) if len(growth) else 50_000
    return (f"Under {threshold:,} inhabitants, growth since the base year: the intervals of "
            f"{len(excl)} of {len(growth)} outcomes exclude 0"
            + (f" ({'; '.join(excl)})" if excl else "")
            + f", and {len(rw)} of {len(growth)} have a Romano-Wolf p below {level:.0%}"
            + (f" ({'; '.join(rw)})" if rw else "")
            + ". Pooled level gaps are not a headline" + _coverage_reason(tests, panel) + ".")


def _coverage_reason(tests: pd.DataFrame, panel: pd.DataFrame | None) -> str:
    levels = tests[tests["design"] == "level"]
    if panel is None or levels.empty:
        return ""
    coverage = coverage_by_year(panel, list(levels["outcome"]))
    for row in levels.itertuples(index=False):
        years = [y for y in coverage.columns if row.base_year <= y <= row.last_year]
        if coverage.loc[row.outcome, years].nunique() > 1:
            return ": the years they pool differ in who reports"
    return " (here every pooled year has the same municipalities)"


def pretrend_finding(tests: pd.DataFrame, level: float = 0.05) -> str:
    """:func:`analysis.studies.evaluation.pretrend_tests` in one line, with the leads counted."""
    leads = sorted(set(int(n) for n in tests["leads"]))
    reject = tests[tests["p_value"] < level]
    return (f"Pre-trend tests (large vs small, joint Wald test of "
            f"{' or '.join(map(str, leads))} leads against 2014): "
            + ", ".join(f"{r.outcome} p = {r.p_value:.2f}" for r in tests.itertuples())
            + f"; {len(reject)} of {len(tests)} reject parallel pre-trends at {level:.0%}"
            + ("" if reject.empty else ": read those outcomes' DiD with care") + ".")


__all__ = [
    "interval_sentences",
    "curve_sentence",
    "coverage_by_year",
    "pooled_level_note",
    "levels_by_year_sentences",
    "sizing_sentence",
    "prereform_reading",
    "wild_enumeration_note",
]
