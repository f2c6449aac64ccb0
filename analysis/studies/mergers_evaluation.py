"""Mergers as a staggered natural experiment on municipal size (notebook 08).

Dutch municipalities merge at staggered dates. On a panel harmonised onto one year's
boundaries, each unit of that map is either a unit that was formed by a merger in year
``g`` (its merger cohort, :func:`analysis.data.merger_cohorts`) or a unit that never merged.
This module runs Callaway-Sant'Anna (:func:`analysis.staggered_did`, not-yet-merged and
never-merged controls, with its event-study aggregation and pre-trend test) and the
imputation estimator (:func:`analysis.imputation_did`) on every outcome, and puts the
known truth beside the estimate on the synthetic panel.

Identifying assumption: the timing of a merger is unrelated to the outcome's path;
without the merger, a merged unit's outcome would have changed like that of units that
had not (yet) merged. Harmonisation makes the unit before the merger the sum of its
predecessors, so the design compares one combined territory before and after it became
one municipality; it cannot say how the predecessors would have fared had they stayed
separate in a different way, nor compare municipalities of different sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.data.boundaries import BoundaryHistory
from analysis.data.merger_cohorts import merger_cohorts
from analysis.designs.imputation import imputation_did
from analysis.designs.staggered_did import _wald, staggered_did
from analysis.reporting.truth import TRUE_PREFIX

# Mergers effective after 1 January of this year are cohorts (the synthetic panel's first year).
MERGERS_SINCE = 2010
# A continuing municipality that took in a part of a dissolved neighbour (e.g. Tilburg a
# share of Haaren in 2021) grew by a few per cent: not "becoming larger through a merger".
MIN_SIZE_JUMP = 1.1
# An outcome's window starts in the first year in which this share of units has a figure.
MIN_COVERAGE = 0.75
# youth care use, its cost (real: youth care costs; synthetic: social-domain spending), Wmo use
DEFAULT_OUTCOMES = (
    "youth_care_per_1000", "youth_care_per_1000_0_22", "youth_care_cost_per_inhabitant",
    "spending_per_inhabitant", "wmo_per_1000",
)  # fmt: skip
CONTROL_GROUPS = ("not_yet_treated", "never_treated")
# Event times shown and pre-tested. Far leads and lags rest on one or two cohorts, often a
# single municipality, whose influence-function errors miss its own noise (a one-unit
# cohort's treated part of the influence function is 0), so they are left out.
EVENT_WINDOW = (-4, 4)
COHORT = "cohort"


@dataclass
class MergerEvaluation:
    """Everything notebook 08 shows; tables are tidy, one row per estimate."""

    summary: pd.DataFrame  # per outcome x estimator: overall effect, CI, pre-trend p
    event_study: pd.DataFrame  # per outcome x estimator x event time
    entry: pd.DataFrame  # per outcome x cohort: units and whether they enter
    windows: dict[str, tuple[int, int]]
    results: dict[tuple[str, str], object] = field(default_factory=dict)


def unit_cohorts(
    history: BoundaryHistory,
    boundary_year: int,
    populations: pd.DataFrame | None = None,
    min_size_jump: float = MIN_SIZE_JUMP,
) -> pd.DataFrame:
    """Merger cohort and role of every unit of ``boundary_year``'s map.

    ``role`` is ``"merged"`` (cohort = the year it became one municipality, mergers
    after 1 January :data:`MERGERS_SINCE`), ``"never merged"`` (cohort 0) or ``"took in
    a part"``: a continuing municipality whose merger grew it by less than
    ``min_size_jump`` (after / before, from ``populations``); those units are neither
    merged nor untouched and are left out. Without a size jump (no populations) a unit
    counts as merged.

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> history = load_boundary_history("tests/fixtures/regios_small.json")
    >>> unit_cohorts(history, 2021)[["code", "cohort", "role"]].iloc[2:4]
         code  cohort    role
    2  GM9003    2019  merged
    3  GM9006    2019  merged
    """
    m = merger_cohorts(history, boundary_year, populations, first_year=MERGERS_SINCE)
    minor = (m["kind"] == "absorbed") & (m["size_jump"] < min_size_jump)
    role = np.where(minor, "took in a part", "merged")
    m["role"] = np.where(m[COHORT] == 0, "never merged", role)
    return m


def estimation_window(
    panel: pd.DataFrame, outcome: str, min_coverage: float = MIN_COVERAGE
) -> tuple[int, int]:
    """First and last year in which at least ``min_coverage`` of the units have ``outcome``."""
    share = panel.groupby(schema.YEAR)[outcome].apply(lambda s: s.notna().mean())
    years = share.index[share >= min_coverage]
    if len(years) < 2:
        raise ValueError(
            f"{outcome}: fewer than two years in which {min_coverage:.0%} of the units have a "
            f"figure (shares by year: {share.round(2).to_dict()})"
        )
    return int(years.min()), int(years.max())


def merger_outcomes(panel: pd.DataFrame, outcomes: Sequence[str] | None = None) -> list[str]:
    """The requested outcomes (default :data:`DEFAULT_OUTCOMES`) that have data in ``panel``."""
    wanted = list(outcomes) if outcomes else list(DEFAULT_OUTCOMES)
    unknown = [o for o in wanted if o not in schema.OUTCOMES]
    if unknown:
        raise ValueError(f"unknown outcome(s) {unknown}; choose from {list(schema.OUTCOMES)}")
    return [o for o in wanted if o in panel and panel[o].notna().any()]


def _entry(
    cohorts: pd.DataFrame, outcome: str, window: tuple[int, int], used: set, anticipation: int = 0
) -> pd.DataFrame:
    """Per cohort: how many units, how many enter the estimation and why the others not."""
    first, last = window
    rows = []
    for (cohort, role), units in cohorts.groupby([COHORT, "role"]):
        n_used = int(units["code"].isin(used).sum())
        if role == "took in a part":
            why = f"took in part of a neighbour (size jump < {MIN_SIZE_JUMP:g}): left out"
        elif cohort == 0:
            why = "control (never merged)"
        elif cohort <= first + anticipation:
            why = f"merged in or before {first + anticipation}: no pre-period in the window"
        elif cohort > last:
            why = f"merged after {last}: not yet merged in the window"
        else:
            why = "enters"
        if n_used < len(units) and why in ("enters", "control (never merged)"):
            why += f" ({len(units) - n_used} without a figure in every year left out)"
        rows.append({"outcome": outcome, "cohort": int(cohort), "role": role,
                     "units": len(units), "used": n_used, "status": why})  # fmt: skip
    return pd.DataFrame(rows)


def design_data(
    panel: pd.DataFrame,
    cohorts: pd.DataFrame,
    outcome: str,
    window: tuple[int, int],
    anticipation: int = 0,
) -> pd.DataFrame:
    """The balanced panel one outcome is estimated on: the window's years, units with a
    figure in every one of them, merged units with a pre-period and never-merged units."""
    first, last = window
    with_pre = (cohorts[COHORT] == 0) | (cohorts[COHORT] > first + anticipation)
    keep = cohorts[(cohorts["role"] != "took in a part") & with_pre]
    cohort = keep.set_index("code")[COHORT]
    data = panel[panel[schema.YEAR].between(first, last)
                 & panel[schema.MUNICIPALITY].isin(cohort.index)].copy()  # fmt: skip
    complete = data.groupby(schema.MUNICIPALITY)[outcome].apply(
        lambda s: s.notna().all() and len(s) == last - first + 1
    )
    data = data[data[schema.MUNICIPALITY].map(complete)]
    # a cohort after the window is not yet merged in it: never treated in the window
    data[COHORT] = data[schema.MUNICIPALITY].map(cohort).where(lambda c: c <= last, 0).astype(float)
    return data


def _linear_truth(design, data: pd.DataFrame, outcome: str, options: dict) -> pd.Series | None:
    """The estimand on a synthetic panel: both designs are linear in the outcome, so the
    design run on the true effect equals estimate(y) - estimate(y - true effect)."""
    column = TRUE_PREFIX + outcome
    if column not in data:
        return None
    untreated = data.assign(**{outcome: data[outcome] - data[column]})
    with_effect = design(data, outcome, **options).table.set_index("term")["estimate"]
    without = design(untreated, outcome, **options).table.set_index("term")["estimate"]
    return with_effect - without


def _one_outcome(data, outcome: str, control_groups, bootstrap: int, seed: int, anticipation: int):
    """Fits of one outcome: CS per control group (dynamic and simple) and the imputation."""
    fits, summary, events = {}, [], []
    base = {"outcome": outcome, "n_units": data[schema.MUNICIPALITY].nunique(),
            "n_merged": data.loc[data[COHORT] > 0, schema.MUNICIPALITY].nunique()}  # fmt: skip
    for control in control_groups:
        cs = staggered_did(data, outcome, cohort=COHORT, control_group=control,
                           anticipation=anticipation, bootstrap=bootstrap, seed=seed)  # fmt: skip
        dynamic = cs.aggregate("dynamic", min_e=EVENT_WINDOW[0], max_e=EVENT_WINDOW[1])
        simple = cs.aggregate("simple")
        fits[(outcome, f"cs_{control}")] = cs
        pre = _pretest(dynamic, anticipation)
        label = f"Callaway-Sant'Anna, {control.replace('_', '-')} control"
        summary.append({**base, "estimator": label, **_row(simple.table.iloc[0]),
                        "pretrend_p": pre.get("p_value", np.nan),
                        "pretrend_df": len(pre.get("terms", []))})  # fmt: skip
        truth = _cs_truth(data, outcome, control, anticipation)
        if truth is not None:
            summary[-1]["truth"] = truth[0]
        events.append(_events(dynamic.table, outcome, label, truth[1] if truth else None))
    imp = imputation_did(data, outcome, cohort=COHORT, anticipation=anticipation)
    fits[(outcome, "imputation")] = imp
    label = "imputation (Borusyak-Jaravel-Spiess)"
    truth = _linear_truth(
        lambda d, y: imputation_did(d, y, cohort=COHORT, anticipation=anticipation),
        data,
        outcome,
        {},
    )
    summary.append({**base, "estimator": label, **_row(imp.table.iloc[0]),
                    "pretrend_p": np.nan, "pretrend_df": 0})  # fmt: skip
    if truth is not None:
        summary[-1]["truth"] = truth["overall"]
    events.append(_events(imp.table, outcome, label, truth))
    return fits, summary, events


def _pretest(dynamic, anticipation: int) -> dict:
    """Joint test of the event times before the merger and before any anticipation."""
    table = dynamic.table
    terms = table.loc[table["event_time"] < -anticipation, "term"].tolist()
    return _wald(dynamic, terms) if terms else {}


def _cs_truth(data, outcome, control, anticipation) -> tuple[float, pd.Series] | None:
    def simple(d, y):
        return staggered_did(d, y, cohort=COHORT, control_group=control,
                             anticipation=anticipation, bootstrap=0)  # fmt: skip

    overall = _linear_truth(lambda d, y: simple(d, y).aggregate("simple"), data, outcome, {})
    if overall is None:
        return None
    low, high = EVENT_WINDOW
    dynamic = _linear_truth(
        lambda d, y: simple(d, y).aggregate("dynamic", min_e=low, max_e=high), data, outcome, {}
    )
    return float(overall["overall"]), dynamic


def _row(row: pd.Series) -> dict:
    return {k: row[k] for k in ("estimate", "std_error", "ci_low", "ci_high", "p_value")}


def _events(table: pd.DataFrame, outcome: str, label: str, truth: pd.Series | None):
    rows = table[(table["term"] != "overall") & table["event_time"].between(*EVENT_WINDOW)]
    out = pd.DataFrame({"outcome": outcome, "estimator": label,
                        "event_time": rows["event_time"].astype(int).to_numpy()})  # fmt: skip
    for column in ("estimate", "ci_low", "ci_high", "cband_low", "cband_high"):
        out[column] = rows[column].to_numpy() if column in rows else np.nan
    if truth is not None:
        out["truth"] = rows["term"].map(truth).to_numpy()
    return out


def evaluate_mergers(
    panel: pd.DataFrame,
    cohorts: pd.DataFrame,
    outcomes: Sequence[str] | None = None,
    control_groups: Sequence[str] = CONTROL_GROUPS,
    min_coverage: float = MIN_COVERAGE,
    bootstrap: int = 999,
    seed: int = 20150101,
    anticipation: int = 0,
) -> MergerEvaluation:
    """Did becoming larger through a merger change the outcomes? Staggered DiD per outcome.

    For every outcome: its window (years in which ``min_coverage`` of the units have a
    figure), the units entering (merged with at least one pre-merger year in the window,
    or never merged, with a figure in every year), Callaway-Sant'Anna for each control
    group (headline: the ``simple`` aggregation, the share-weighted mean of all
    post-merger cells; event study: the ``dynamic`` aggregation over
    :data:`EVENT_WINDOW`, whose pre-merger event times give the joint pre-trend test)
    and the imputation estimator. On a synthetic
    panel with ``true_effect__<outcome>`` columns the estimand is shown as ``truth``.

    Identifying assumption: the timing of a merger is unrelated to the outcome's path
    (parallel trends of each merger cohort and the not-yet or never merged units; no
    anticipation). It fails when municipalities merge because their outcome (e.g.
    youth care costs) was rising, or when they change policy in the year before a
    merger. The effect is that of being merged into a larger unit, for the merged units;
    since the unit before the merger is the sum of its predecessors, it cannot say what
    size does across municipalities of different sizes.

    Parameters
    ----------
    panel : harmonised panel (one row per unit of the boundary year and year).
    cohorts : :func:`unit_cohorts` of the same boundary year.
    outcomes : rate outcomes; default those of :data:`DEFAULT_OUTCOMES` with data.
    control_groups : ``"not_yet_treated"`` and/or ``"never_treated"``.
    min_coverage : share of units with a figure that opens an outcome's window.
    bootstrap, seed : multiplier-bootstrap draws of the uniform bands and their seed.
    anticipation : years before the merger already affected (e.g. 1: the last year of the
        dissolving municipalities, whose accounts may be incomplete); the base period
        moves to ``g - 1 - anticipation`` and cohorts need a pre-period before it.

    Returns
    -------
    MergerEvaluation with ``summary``, ``event_study``, ``entry``, ``windows``, ``results``.

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> history = load_boundary_history("data/raw/synthetic/codes-RegioS.json")
    >>> sim = simulate_panel(seed=3, merger_effect={"wmo_per_1000": 5.0})
    >>> ev = evaluate_mergers(sim.panel, unit_cohorts(history, 2023), ["wmo_per_1000"],
    ...                       bootstrap=0)
    >>> row = ev.summary.iloc[0]
    >>> bool(row["ci_low"] < row["truth"] < row["ci_high"])
    True
    """
    outcomes = merger_outcomes(panel, outcomes)
    if not outcomes:
        raise ValueError("none of the outcomes has data in this panel")
    results, summary, events, entries, windows = {}, [], [], [], {}
    for outcome in outcomes:
        window = estimation_window(panel, outcome, min_coverage)
        data = design_data(panel, cohorts, outcome, window, anticipation)
        used = set(data[schema.MUNICIPALITY])
        entries.append(_entry(cohorts, outcome, window, used, anticipation))
        if not (data[COHORT] > 0).any():
            continue  # no merged unit with a pre-period: the entry table says why
        windows[outcome] = window
        fits, rows, ev = _one_outcome(data, outcome, control_groups, bootstrap, seed, anticipation)
        results.update(fits)
        summary += [{**r, "window": f"{window[0]}-{window[1]}"} for r in rows]
        events += ev
    return MergerEvaluation(
        summary=pd.DataFrame(summary), event_study=pd.concat(events, ignore_index=True),
        entry=pd.concat(entries, ignore_index=True), windows=windows, results=results,
    )  # fmt: skip


def merger_panel(
    source: str,
    boundary_year: int = 2023,
    merger_effect: dict[str, float] | None = None,
    seed: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The panel and unit cohorts notebook 08 estimates on.

    Real sources: the harmonised panel (:func:`analysis.data.build.read_panel`) and the
    cohorts from its boundary history, with size jumps from the unharmonised populations.
    ``"synthetic"``: the default data have no merger effect, so the panel is drawn in
    memory by :func:`analysis.simulate_panel` with ``merger_effect`` planted (the truth is
    in ``panel.attrs["merger_truth"]``), on the written default's 2023 boundaries.
    """
    from analysis.data.build import load_raw_panel, read_panel
    from analysis.data.synthetic.generator import BOUNDARY_YEAR, simulate_panel

    raw, history, _ = load_raw_panel(source)
    if source == "synthetic":
        if boundary_year != BOUNDARY_YEAR:
            raise ValueError(f"the synthetic generator draws on {BOUNDARY_YEAR} boundaries only")
        sim = simulate_panel(seed, merger_effect=merger_effect or {})
        panel = sim.panel
        panel.attrs["merger_truth"] = sim.truth.get("merger", {})
    else:
        panel = read_panel(source, boundary_year)
    populations = raw[[schema.MUNICIPALITY, schema.YEAR, schema.POPULATION]]
    return panel, unit_cohorts(history, boundary_year, populations)


def plot_event_studies(evaluation: MergerEvaluation, panel: pd.DataFrame):
    """One panel per outcome: CS event studies (both controls) and the imputation
    estimates with 95% intervals, the truth as crosses on a synthetic panel."""
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish, honest_range, panel_title, year_axis

    outcomes = list(evaluation.windows)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 3.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        rows = evaluation.event_study[evaluation.event_study["outcome"] == outcome]
        groups = rows.groupby("estimator", sort=False)
        for k, (label, part) in enumerate(groups):
            x = part["event_time"] + 0.2 * (k - (len(groups) - 1) / 2)  # side by side
            err = [part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]]
            ax.errorbar(x, part["estimate"], yerr=err, fmt="o", ms=3, capsize=2, label=label)
        if "truth" in rows:
            truth = rows.drop_duplicates("event_time").dropna(subset=["truth"])
            ax.plot(truth["event_time"], truth["truth"], "x", color="black", label="truth")
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
        spec = schema.OUTCOMES[outcome]
        panel_title(ax, spec.label)
        ax.set_xlabel("years since the merger")
        year_axis(ax)  # event times are whole years
        honest_range(ax, reference=0)
        ax.set_ylabel(spec.unit, fontsize="x-small")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig = finish(fig, panel, "Effect of a merger by years since it (95% CI)")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize="x-small", frameon=False)
    fig.subplots_adjust(bottom=0.27)  # room for the legend under the panels
    return fig


def cohort_overview(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Units per merger cohort and role, with the median size jump (after / before)."""
    merged = cohorts[cohorts[COHORT] > 0]
    return (
        merged.groupby([COHORT, "role"])
        .agg(units=("code", "size"), median_size_jump=("size_jump", "median"))
        .reset_index()
    )


def entry_overview(evaluation: MergerEvaluation) -> pd.DataFrame:
    """Per outcome: the window, the cohorts that enter, and the units used."""
    rows = []
    for outcome, entry in evaluation.entry.groupby("outcome", sort=False):
        enters = entry[entry["status"].str.startswith("enters") & (entry["used"] > 0)]
        early = entry[entry["status"].str.startswith("merged in or before")]
        control = entry[entry["role"] == "never merged"]
        window = evaluation.windows.get(outcome)
        rows.append({
            "outcome": outcome,
            "window": f"{window[0]}-{window[1]}" if window else "not estimated",
            "cohorts entering": ", ".join(str(c) for c in enters["cohort"]) or "none",
            "merged units used": int(enters["used"].sum()),
            "never-merged units used": int(control["used"].sum()),
            "cohorts without a pre-period": ", ".join(str(c) for c in early["cohort"]) or "none",
        })  # fmt: skip
    return pd.DataFrame(rows)


def summary_table(evaluation: MergerEvaluation, panel: pd.DataFrame) -> pd.DataFrame:
    """The overall effects; on a synthetic panel with the planted effect beside the truth."""
    table = evaluation.summary.copy()
    planted = panel.attrs.get("merger_truth", {}).get("effect")
    if planted is not None:
        table.insert(table.columns.get_loc("truth"), "planted", table["outcome"].map(planted))
        table["planted"] = table["planted"].fillna(0.0)
    columns = ["outcome", "estimator", "window", "n_merged", "n_units", "estimate", "std_error",
               "ci_low", "ci_high", "pretrend_p", "planted", "truth"]  # fmt: skip
    return table[[c for c in columns if c in table]]


def finding_text(evaluation: MergerEvaluation) -> str:
    """One line per notebook: the CS (not-yet-merged) effect per outcome and its pre-test."""
    rows = evaluation.summary[evaluation.summary["estimator"].str.contains("not-yet")]
    parts = []
    for _, r in rows.iterrows():
        unit = schema.OUTCOMES[r["outcome"]].unit
        pre = "" if np.isnan(r["pretrend_p"]) else f", pre-trend p = {r['pretrend_p']:.2f}"
        parts.append(
            f"{r['outcome']}: {r['estimate']:+.3g} {unit} (95% CI {r['ci_low']:.3g} to "
            f"{r['ci_high']:.3g}; {int(r['n_merged'])} merged units{pre})"
        )
    return "Effect of a merger (Callaway-Sant'Anna, not-yet-merged control): " + "; ".join(parts)
