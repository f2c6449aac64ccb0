"""SCP-style views and figures of the since-2015 comparisons (:mod:`analysis.studies.since2015`).

Rates by size class as ratios of sums indexed to each outcome's base year, the rate
in the first and last year, the year a risk profile can use, and the figures the
notebooks show. Descriptive only: nothing here identifies an effect.

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> rates = rates_indexed(simulate_panel(1).panel, ["wmo_per_1000"])
>>> float(rates.loc[rates["year"] == 2015, "index"].iloc[0])
100.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.results import EstimationResult
from analysis.studies.since2015 import MIN_COVERAGE, base_year_for, describe


def rate_parts(panel: pd.DataFrame, outcome: str) -> tuple[str, str, float]:
    """``(numerator, denominator, per)`` of a rate outcome of :data:`analysis.data.schema.OUTCOMES`.

    Raises
    ------
    KeyError
        Naming the outcome when it is unknown or the panel lacks its count or population.
    """
    spec = schema.OUTCOMES.get(outcome)
    if spec is None:
        raise KeyError(f"{outcome}: not an outcome of analysis.data.schema.OUTCOMES")
    missing = [c for c in (spec.numerator, spec.denominator) if c not in panel]
    if missing:
        raise KeyError(f"{outcome}: the panel lacks {missing}")
    return spec.numerator, spec.denominator, spec.per


def rates_indexed(
    panel: pd.DataFrame, outcomes: Sequence[str], by: str | None = schema.SIZE_CLASS
) -> pd.DataFrame:
    """SCP view: each group's rate (ratio of sums) per year from the outcome's base year,
    and its index (base year = 100).

    A group's rate is all its users over all its inhabitants, so it is the rate of the
    group's inhabitants. Only municipalities with the rate in every year from the base
    year are summed, so a group's index never moves because a municipality stopped or
    started reporting; ``municipalities`` says how many that is.
    """
    frames = []
    for outcome in outcomes:
        numerator, denominator, per = rate_parts(panel, outcome)
        base = base_year_for(panel, outcome)
        since = panel[panel[schema.YEAR] >= base].dropna(subset=[numerator, denominator])
        years = since[schema.YEAR].nunique()  # the years the series has at all
        complete = since.groupby(schema.MUNICIPALITY)[schema.YEAR].nunique() == years
        used = since[since[schema.MUNICIPALITY].isin(complete[complete].index)]
        keys = [schema.YEAR] if by is None else [by, schema.YEAR]
        sums = used.groupby(keys, observed=True)[[numerator, denominator]].sum()
        table = (sums[numerator] / sums[denominator] * per).rename("rate").reset_index()
        table["group"] = "Netherlands" if by is None else table.pop(by).astype(str)
        first = table[table[schema.YEAR] == base].set_index("group")["rate"]
        table["index"] = 100 * table["rate"] / table["group"].map(first)
        counts = used.drop_duplicates(schema.MUNICIPALITY)
        table["municipalities"] = (len(counts) if by is None else
                                   table["group"].map(counts[by].astype(str).value_counts()))
        if by == schema.SIZE_CLASS:  # keep the classes in size order in tables
            table["group"] = pd.Categorical(table["group"], list(schema.SIZE_CLASSES), True)
        frames.append(table.assign(outcome=outcome, base_year=base))
    columns = ["outcome", "group", schema.YEAR, "rate", "index", "base_year", "municipalities"]
    return pd.concat(frames, ignore_index=True)[columns]


def profile_year(panel: pd.DataFrame, outcome: str, preferred: int = 2019) -> int:
    """``preferred`` when the outcome has most municipalities then, else its last such year."""
    units = panel[schema.MUNICIPALITY].nunique()
    known = panel.loc[panel[outcome].notna()].groupby(schema.YEAR)[schema.MUNICIPALITY].nunique()
    good = [int(y) for y, n in known.items() if n >= MIN_COVERAGE * units]
    if not good:
        raise ValueError(f"{outcome}: no year covers {MIN_COVERAGE:.0%} of the municipalities")
    return preferred if preferred in good else max(good)


def first_and_last(panel: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """Each outcome's rate per size class in its base year and its last year, and the change."""
    rates = rates_indexed(panel, outcomes)
    last = rates.groupby("outcome")[schema.YEAR].transform("max")
    ends = rates[(rates[schema.YEAR] == rates["base_year"]) | (rates[schema.YEAR] == last)]
    wide = ends.assign(when=np.where(ends[schema.YEAR] == ends["base_year"], "first", "last"))
    table = wide.pivot_table(index=["outcome", "group"], columns="when", values="rate",
                             observed=True)
    years = ends.groupby("outcome")[schema.YEAR].agg(["min", "max"])
    table["change_percent"] = 100 * (table["last"] / table["first"] - 1)
    table = table.join(years.rename(columns={"min": "first_year", "max": "last_year"}),
                       on="outcome")
    return table[["first_year", "first", "last_year", "last", "change_percent"]]


def plot_by_group(table: pd.DataFrame, panel: pd.DataFrame, value: str = "index",
                  title: str = "Use per inhabitant by municipal size class"):
    """One panel per outcome: ``value`` (``rate`` or ``index``) by group and year."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from analysis.reporting.style import (
        SIZE_CLASS_COLOURS,
        finish,
        honest_range,
        panel_title,
        year_axis,
    )

    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.4 * len(outcomes), 3.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        data = table[table["outcome"] == outcome]
        classes = set(data["group"]) <= set(SIZE_CLASS_COLOURS)
        sns.lineplot(data=data, x=schema.YEAR, y=value, hue="group", marker="o", ax=ax,
                     palette=SIZE_CLASS_COLOURS if classes else None,
                     hue_order=[c for c in SIZE_CLASS_COLOURS if c in set(data["group"])]
                     if classes else None)
        label, unit = describe(outcome)
        base = int(data["base_year"].iloc[0])
        panel_title(ax, label)
        ax.set_xlabel("year")
        year_axis(ax)
        ax.set_ylabel(f"index ({base} = 100)" if value == "index" else unit, fontsize="x-small")
        if value == "index":
            ax.axhline(100, color="grey", linewidth=0.5)
            honest_range(ax, reference=100)
        else:
            honest_range(ax, reference=0)  # a rate's axis starts at 0
        ax.get_legend().remove()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig = finish(fig, panel, title)
    # one legend for the row, beside the last panel so it hides no line
    axes[0][-1].legend(handles, labels, fontsize="x-small", title="size class",
                       title_fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig


def plot_gaps(table: pd.DataFrame, panel: pd.DataFrame, title: str):
    """Estimate and 95% wild-bootstrap interval per outcome (percent when on the log scale)."""
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish

    pct = "percent_estimate" in table
    est = table["percent_estimate" if pct else "estimate"]
    low = table["percent_wild_ci_low" if pct else "wild_ci_low"]
    high = table["percent_wild_ci_high" if pct else "wild_ci_high"]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.5 * len(table)))
    pos = list(range(len(table)))[::-1]
    ax.errorbar(est, pos, xerr=[est - low, high - est], fmt="o", capsize=3,
                label="estimate, 95% wild-bootstrap CI (provinces)")
    if not pct and table["truth"].notna().any():
        ax.scatter(table["truth"], pos, marker="x", color="black", label="truth (synthetic)")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(pos, [f"{describe(o)[0]} ({d})" for o, d in zip(table["outcome"],
                                                                   table["design"], strict=True)],
                  fontsize="x-small")
    designs = list(table["design"])
    for k in range(1, len(designs)):  # a rule between the level and the growth rows
        if designs[k] != designs[k - 1]:
            ax.axhline(pos[k] + 0.5, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xlabel(("difference in percent" if pct else "difference (outcome's unit)")
                  + "\ndot: estimate; bar: 95% wild-bootstrap interval (12 provinces)",
                  fontsize="small")
    if not pct and table["truth"].notna().any():
        ax.legend(fontsize="x-small", loc="best")
    return finish(fig, panel, title)


def plot_growth_paths(paths: dict[str, EstimationResult], panel: pd.DataFrame, title: str):
    """One panel per outcome: the growth-path gap by calendar year, base year = 0.

    The paths are :func:`analysis.studies.since2015.growth_path` results.
    """
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish, honest_range, panel_title, year_axis

    fig, axes = plt.subplots(1, len(paths), figsize=(3.4 * len(paths), 3.4), squeeze=False)
    for ax, (outcome, res) in zip(axes[0], paths.items(), strict=True):
        tab = res.table.sort_values("event_time")
        base = res.extra["base_year"]
        years = tab["event_time"] + base + 1
        ax.errorbar(years, tab["estimate"], yerr=[tab["estimate"] - tab["ci_low"],
                    tab["ci_high"] - tab["estimate"]], fmt="o-", capsize=3,
                    label="estimate, 95% CI (CR1)")
        ax.plot([base], [0], marker="D", linestyle="none", label="base year (0)")
        ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
        panel_title(ax, describe(outcome)[0])
        ax.set_xlabel("year")
        year_axis(ax)
        ax.set_ylabel("log points" if res.extra.get("log") else describe(outcome)[1],
                      fontsize="x-small")
        # the same floor on every panel: 0.1 log points, so a gap of 0.02 is not drawn tall
        honest_range(ax, reference=0, min_span=0.1 if res.extra.get("log") else None)
    axes[0][0].legend(fontsize="x-small")
    return finish(fig, panel, title)


__all__ = ["rate_parts", "rates_indexed", "profile_year", "first_and_last", "plot_by_group",
           "plot_gaps", "plot_growth_paths"]
