"""Placebo checks: fake reform years inside the pre-period, and outcomes the reform
cannot have touched."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.data.schema import REFORM_YEAR, YEAR
from analysis.designs.run_many import Design, resolve_design, run_many
from analysis.inference.checks import check_design_input

PLACEBO_COLUMNS = [
    "placebo_year", "term", "estimate", "std_error", "p_value", "ci_low", "ci_high",
    "n_obs", "n_clusters", "n_pre_periods", "n_post_periods",
]


def placebo_in_time(
    df: pd.DataFrame,
    outcome: str,
    design: Design = "did_2x2",
    placebo_years: Sequence[int] | None = None,
    reform_year: int = REFORM_YEAR,
    time: str = YEAR,
    term: str | None = None,
    **design_kwargs: Any,
) -> pd.DataFrame:
    r"""Re-run a design with fake reform years, using only the real pre-reform periods.

    For each placebo year ``f`` the data are cut to periods before ``reform_year``
    and the design is run as if the reform had started in ``f``. Nothing happened
    in ``f``, so the estimates should be near zero; a pattern of significant
    placebo effects means the groups were already diverging (the parallel-trends
    assumption of the real design is doubtful). The real reform years never enter,
    so the real effect cannot leak into a placebo estimate.

    What it estimates: the design's estimand for a reform that did not happen,
    i.e. the pre-existing differential trend it would pick up. When it fails:
    with few pre-periods (here 2010-2014: at most 4 placebo years, each with a
    short pre or post window) it has little power, so "no placebo effect" is weak
    evidence; an anticipation effect in 2014 shows up as a placebo effect too.

    Parameters
    ----------
    df : the panel.
    outcome : outcome column.
    design : a design taking ``reform_year=`` (``"did_2x2"``, ``"intensity_did"``,
        ``"triple_diff"``) or such a function.
    placebo_years : fake reform years; default every pre-period year but the first
        (each needs at least one period before it).
    reform_year : the real reform year; periods from it on are dropped.
    time : period column.
    term : the term to report; default the design's headline term.
    \*\*design_kwargs : passed to the design. ``baseline_year`` (default 2014 in the
        designs) is kept: the group is fixed at the real baseline, inside the
        placebo sample.

    Returns
    -------
    DataFrame
        One row per placebo year: ``placebo_year, term, estimate, std_error,
        p_value, ci_low, ci_high, n_obs, n_clusters, n_pre_periods, n_post_periods``;
        ``attrs["notes"]`` holds the rows dropped and the designs' notes (once each).

    Examples
    --------
    >>> from analysis import placebo_in_time, simulate_panel
    >>> panel = simulate_panel(seed=1).panel
    >>> table = placebo_in_time(panel, "wmo_per_1000", design="did_2x2")
    >>> table["placebo_year"].tolist()
    [2011, 2012, 2013, 2014]
    """
    # the periods are compared with the reform year here, before the design sees them
    data, notes = check_design_input(
        df, "placebo_in_time", outcome=outcome, ids=[time], time=time
    )
    name, fit = resolve_design(design)
    if name in ("twfe", "event_study"):
        raise ValueError(
            f"placebo_in_time: {name} has no single reform date to move; use did_2x2, "
            "intensity_did or triple_diff (an event study's leads are its own placebo test)"
        )
    pre = data.loc[data[time] < reform_year]
    periods = sorted(p.item() if hasattr(p, "item") else p for p in pre[time].unique())
    if len(periods) < 2:
        raise ValueError(
            f"placebo_in_time: need at least two periods before {reform_year}, found {periods}"
        )
    years = list(periods[1:]) if placebo_years is None else list(placebo_years)
    bad = [y for y in years if not periods[0] < y <= periods[-1]]
    if bad:
        raise ValueError(
            f"placebo_in_time: placebo year(s) {bad} must lie in ({periods[0]}, {periods[-1]}]: "
            f"inside the pre-period {periods[0]}-{periods[-1]} with at least one period before"
        )
    rows = []
    for year in years:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the few-clusters warning repeats per year
            res = fit(pre, outcome, reform_year=year, time=time, **design_kwargs)
        notes += [n for n in res.notes if n not in notes]
        t = term or str(res.extra.get("term", res.table["term"].iloc[0]))
        row = res.table.set_index("term").loc[t]
        rows.append(
            {"placebo_year": int(year), "term": t, **{c: row[c] for c in PLACEBO_COLUMNS[2:9]},
             "n_pre_periods": sum(p < year for p in periods),
             "n_post_periods": sum(p >= year for p in periods)}
        )
    table = pd.DataFrame(rows, columns=PLACEBO_COLUMNS)
    table.attrs["design"] = name
    table.attrs["notes"] = notes
    return table


def placebo_outcomes(
    df: pd.DataFrame,
    outcomes: Sequence[str],
    design: Design = "did_2x2",
    **run_many_kwargs: Any,
) -> pd.DataFrame:
    """Run a design on outcomes the reform cannot have touched.

    A placebo outcome is one the 2015 decentralisation had no channel to move
    (e.g. a demographic share measured before any response was possible, or a
    service that stayed with the national government). The design should find
    nothing; an "effect" reveals differential trends or shocks that would bias
    the real estimates too. Multiplicity is adjusted as in
    :func:`analysis.run_many` (Holm, Benjamini-Hochberg, optionally Romano-Wolf):
    with several placebo outcomes, one small unadjusted p-value is expected.

    Identifying assumption: the placebo outcome shares the real outcome's
    confounders (same municipalities, same shocks) but not its treatment
    channel. Fails when the reform did reach it (then the placebo is not one),
    or when it is too noisy to detect anything (check ``std_error``).

    Parameters
    ----------
    df : the panel.
    outcomes : placebo outcome columns.
    design : as in :func:`analysis.run_many`.
    **run_many_kwargs : ``term``, ``adjust``, ``romano_wolf_draws`` and the design's
        own arguments.

    Returns
    -------
    The :func:`analysis.run_many` table with ``placebo = True`` on every row.

    Examples
    --------
    >>> from analysis import simulate_panel
    >>> panel = simulate_panel(seed=1).panel
    >>> panel["share_0_17"] = panel["population_0_17"] / panel["population"]
    >>> table = placebo_outcomes(panel, ["share_0_17"], design="did_2x2")
    >>> table["placebo"].tolist()
    [True]
    """
    table = run_many(df, outcomes, design=design, **run_many_kwargs)
    table.insert(2, "placebo", True)
    return table
