"""The level gap between small and large municipalities year by year, with coverage.

A pooled level gap (:func:`analysis.studies.since2015.level_gap` over 2015-2023) averages
years whose coverage differs (on the real bundle youth-care costs are reported by 46
municipalities in 2015 and 329 in 2023 after screening, 54 and 335 before) and hides a
gap that moves. This view gives the
gap in every year, its intervals, the number of municipalities reporting in each group,
and a test that the gap is the same in every year.

Model: ``y_it = l_t + b_t * small_i + u_it`` (year effects and a gap per year; on the
log scale ``100 * (exp(b_t) - 1)`` percent). ``b_t`` is the unweighted mean of the group
minus that of the rest in year ``t``, over the municipalities reporting that year:
descriptive, not an effect of size.

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> table = level_gap_by_year(simulate_panel(1).panel, "wmo_per_1000", draws=99)
>>> int(table["year"].min()), int(table["reporting"].iloc[0])
(2015, 342)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs.twfe import twfe
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.studies.since2015 import SMALL, _prepared, describe, mark_size

MIN_REPORTING = 2  # per group and year: fewer cannot give a gap with an interval
AXIS_WIDTH = 3.0  # the figure's axis spans intervals up to this many median widths


def level_gap_by_year(
    panel: pd.DataFrame,
    outcome: str,
    threshold: float = schema.LARGE_THRESHOLD,
    group: str = SMALL,
    years: tuple[int, int | None] = (schema.REFORM_YEAR, None),
    log: bool = True,
    balanced: bool = False,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """The group's level gap in every year, with CR1 and wild-bootstrap intervals.

    Parameters
    ----------
    panel : the panel (with ``baseline_population``; size fixed per municipality).
    outcome : rate column.
    threshold : inhabitants in the baseline year that make a municipality large.
    group : ``small`` (default: small minus large, as notebook 07) or ``large``.
    years : first and last year (None: the last with data).
    log : on the log scale (non-positive values left out, counted in ``attrs["notes"]``).
    balanced : only municipalities reporting in every year with data, so the years
        compare the same municipalities.
    draws, seed : of the wild bootstrap by province (all 4,096 sign vectors of the 12
        provinces when ``draws >= 4096``).

    Returns
    -------
    DataFrame
        One row per year with data: ``outcome``, ``year``, ``group``, ``threshold``,
        ``reporting``, ``reporting_group``, ``reporting_rest``, ``estimate``,
        ``std_error``, ``ci_low``, ``ci_high``, ``p_value`` (CR1 by municipality:
        ``G/(G-1) (N-1)/(N-K)``, t(G-1), as Stata and R fixest), ``wild_ci_low``,
        ``wild_ci_high``, ``wild_p`` (restricted wild cluster bootstrap WCR11 by
        province, Rademacher), ``note`` (why a year has no gap), and with ``log`` the
        ``percent_`` columns. ``attrs``: ``equal_gaps`` (CR1 Wald test that the gap is
        the same in every year), ``pooled`` (the one gap over all years: the same model
        with one ``b``) and ``notes``.

    Raises
    ------
    ValueError
        Naming the outcome when fewer than two years have a gap.
    """
    data = mark_size(panel, threshold)
    data, y, notes = _prepared(data, outcome, years, log)
    data = data[data[y].notna()]
    if balanced:
        n_years = data[schema.YEAR].nunique()
        every = data.groupby(schema.MUNICIPALITY)[schema.YEAR].nunique() == n_years
        data = data[data[schema.MUNICIPALITY].isin(every[every].index)]
        notes.append(f"balanced: the {int(every.sum())} municipalities reporting {outcome} "
                     f"in all {n_years} years")
    counts = data.groupby(schema.YEAR)[group].agg(["size", "sum"])
    counts.columns = ["reporting", "reporting_group"]
    counts["reporting_rest"] = counts["reporting"] - counts["reporting_group"]
    thin = counts[counts[["reporting_group", "reporting_rest"]].min(axis=1) < MIN_REPORTING]
    fitted = [int(t) for t in counts.index if t not in thin.index]
    if len(fitted) < 2:
        raise ValueError(f"level_gap_by_year: {outcome} has fewer than two years with "
                         f"{MIN_REPORTING}+ reporting municipalities in each group")
    data = data[data[schema.YEAR].isin(fitted)].copy()
    terms = [f"{group}:{t}" for t in fitted]
    for t, term in zip(fitted, terms, strict=True):
        data[term] = data[group] * (data[schema.YEAR] == t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "few clusters" for the provinces: bootstrapped below
        by_unit = twfe(data, y, terms, effects=("time",))
        by_province = twfe(data, y, terms, effects=("time",), cluster=schema.PROVINCE)
    rows = []
    for t, term in zip(fitted, terms, strict=True):
        hit = by_unit.table.set_index("term").loc[term]
        boot = wild_cluster_bootstrap(by_province, term=term, draws=draws, seed=seed)
        rows.append({"year": t, **{c: float(hit[c]) for c in
                                   ("estimate", "std_error", "ci_low", "ci_high", "p_value")},
                     "wild_ci_low": boot.ci_low, "wild_ci_high": boot.ci_high,
                     "wild_p": boot.p_value, "note": ""})
    for t in thin.index:
        rows.append({"year": int(t), "note": f"fewer than {MIN_REPORTING} reporting "
                     "municipalities in a group: no gap"})
    table = pd.DataFrame(rows).sort_values("year").reset_index(drop=True)
    table = table.join(counts, on="year")
    table.insert(0, "outcome", outcome)
    table.insert(2, "group", group)
    table.insert(3, "threshold", int(threshold))
    if log:
        for col in ("estimate", "ci_low", "ci_high", "wild_ci_low", "wild_ci_high"):
            table[f"percent_{col}"] = 100 * np.expm1(table[col])
    table.attrs = {"equal_gaps": _equal_gaps(data, y, group, fitted),
                   "pooled": _pooled(data, y, group), "notes": notes, "log": log}
    return table


def _equal_gaps(data: pd.DataFrame, y: str, group: str, fitted: list[int]) -> dict:
    """CR1 Wald test of equal gaps: ``y = l_t + b small + c_t small 1[t]``, all c_t = 0."""
    terms = [f"{group}:{t}" for t in fitted[1:]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = twfe(data, y, [group, *terms], effects=("time",))
    test = res.wald_test(terms)
    return {"statistic": test["statistic"], "df": test["df"], "p_value": test["p_value"],
            "se_type": res.se_type}


def _pooled(data: pd.DataFrame, y: str, group: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = twfe(data, y, [group], effects=("time",))
    hit = res.table.set_index("term").loc[group]
    return {c: float(hit[c]) for c in ("estimate", "ci_low", "ci_high", "p_value")}


def levels_by_year(panel: pd.DataFrame, outcomes: Sequence[str], **options) -> pd.DataFrame:
    """:func:`level_gap_by_year` for several outcomes, one table; ``attrs`` by outcome."""
    tables = [level_gap_by_year(panel, o, **options) for o in outcomes]
    out = pd.concat(tables, ignore_index=True)
    out.attrs = {"by_outcome": {t["outcome"].iloc[0]: dict(t.attrs) for t in tables}}
    return out


def plot_levels_by_year(table: pd.DataFrame, panel: pd.DataFrame, title: str | None = None):
    """Per outcome: the gap by year with its wild-bootstrap interval, and beneath it, on a
    small second axis, the number of municipalities reporting in each group."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    from analysis.reporting.style import PALETTE, finish

    colours = sns.color_palette(PALETTE, 4)
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = plt.subplots(2, len(outcomes), figsize=(3.4 * len(outcomes), 4.6),
                             squeeze=False, sharex="col", gridspec_kw={"height_ratios": [3, 1]})
    for k, outcome in enumerate(outcomes):
        rows = table[table["outcome"] == outcome]
        pct = "percent_estimate" in rows
        est, low, high = (rows[("percent_" if pct else "") + c].to_numpy(float)
                          for c in ("estimate", "wild_ci_low", "wild_ci_high"))
        top, bottom = axes[0][k], axes[1][k]
        # the axis spans every estimate and every interval up to AXIS_WIDTH times the
        # median width: one year with few reporters must not flatten every other year;
        # a longer interval is cut at the axis edge and marked with an arrow
        widths = high - low
        usual = widths <= AXIS_WIDTH * np.nanmedian(widths)
        span = np.concatenate([est, low[usual], high[usual], [0.0]])
        span = span[np.isfinite(span)]
        pad = 0.08 * (span.max() - span.min() + 1e-12)
        ymin, ymax = span.min() - pad, span.max() + pad
        top.errorbar(rows["year"], est, yerr=[est - np.clip(low, ymin, None),
                                              np.clip(high, None, ymax) - est],
                     fmt="o-", capsize=3, color=colours[0],
                     label="gap, 95% wild-bootstrap CI (provinces)")
        for edge, beyond, marker in ((ymax, high > ymax, "^"), (ymin, low < ymin, "v")):
            if beyond.any():
                top.scatter(rows["year"][beyond], np.full(beyond.sum(), edge), marker=marker,
                            color=colours[0], s=25, label="interval beyond the axis")
        top.set_ylim(ymin, ymax)
        top.axhline(0, color="grey", linewidth=0.8, linestyle="--")
        top.set_title(describe(outcome)[0], fontsize="small")
        who = "small minus large" if rows["group"].iloc[0] == SMALL else "large minus small"
        top.set_ylabel(f"{who}\n({'%' if pct else describe(outcome)[1]})", fontsize="x-small")
        group, rest = rows["reporting_group"].to_numpy(), rows["reporting_rest"].to_numpy()
        bottom.bar(rows["year"], group, color=colours[1], label=rows["group"].iloc[0])
        bottom.bar(rows["year"], rest, bottom=group, color=colours[2], label="the rest")
        bottom.set_ylabel("reporting", fontsize="x-small")
        bottom.set_xlabel("year")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.tick_params(axis="x", labelrotation=45, labelsize="x-small")
        bottom.tick_params(axis="y", labelsize="x-small")
    handles = {}
    for ax in (*axes[0], axes[1][0]):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig = finish(fig, panel, title or "Level gap by year, with the municipalities reporting")
    fig.legend(list(handles.values()), list(handles), fontsize="x-small",
               loc="lower center", ncol=len(handles), bbox_to_anchor=(0.5, 0.0))
    fig.subplots_adjust(bottom=0.22)
    return fig


__all__ = ["level_gap_by_year", "levels_by_year", "plot_levels_by_year"]
