"""Merger cohorts: when each municipality of a year's map became one municipality.

Dutch municipal mergers (gemeentelijke herindelingen) make municipalities larger at
staggered dates, which turns them into a staggered-adoption design on size
(:func:`analysis.staggered_did` with ``cohort = merger year``). This module reads the
dates from the CBS boundary history (:class:`analysis.BoundaryHistory`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.data.boundaries import BoundaryHistory
from analysis.data.boundary_parser import ABSORBED, CHANGED, CREATED, RENAMED
from analysis.data.schema import MUNICIPALITY, POPULATION, YEAR

COLUMNS = [
    "code", "name", "cohort", "merger_date", "kind", "predecessors", "first_merger",
    "n_mergers", "inhabitants_before", "inhabitants_after", "size_jump",
]  # fmt: skip


def _first_january(date: pd.Timestamp) -> int:
    """The first 1 January on which a change effective on ``date`` is in force."""
    return date.year if (date.month, date.day) == (1, 1) else date.year + 1


def _renamed_from(history: BoundaryHistory) -> dict[str, str]:
    """New code -> the code it was renamed from."""
    e = history.events
    rows = e[(e["kind"] == RENAMED) & (e["direction"] == "from") & e["counterpart_code"].notna()]
    return dict(zip(rows["code"], rows["counterpart_code"].astype(str), strict=True))


def _all_mergers(history: BoundaryHistory) -> dict[str, list[dict]]:
    """Per code, the mergers that formed it (not through renames), oldest first.

    A merger is an event creating the code from, or letting it take in, territory of at
    least one municipality that ends on that date and whose inhabitants moved with it
    (a count above 0 or not stated): an uninhabited dissolved polder is not a merger.
    """
    e, periods = history.events, history.periods
    rows = e[e["kind"].isin([CREATED, ABSORBED, CHANGED]) & (e["direction"] == "from")
             & (e["counterpart_code"] != e["code"])].copy()  # fmt: skip
    partner = rows["counterpart_code"].astype(str)
    ended = (partner.map(periods["end"]) == rows["date"]) & partner.map(
        periods["municipality"]
    ).fillna(False).astype(bool)
    rows["merging"] = ended & (rows["inhabitants"].isna() | (rows["inhabitants"] > 0))
    found: dict[str, list[dict]] = {}
    for (code, _), ev in rows.groupby(["code", "event"], sort=False):
        if not ev["merging"].any():
            continue
        created = ev["kind"].iloc[0] == CREATED
        predecessors = set(ev["counterpart_code"].astype(str)) | (set() if created else {code})
        found.setdefault(code, []).append({
            "date": ev["date"].iloc[0], "code": code, "kind": "new code" if created else "absorbed",
            "predecessors": sorted(predecessors),
        })  # fmt: skip
    return found


def _mergers(code: str, found: dict[str, list[dict]], renamed: dict[str, str]) -> list[dict]:
    """Mergers of ``code`` and of the codes it was renamed from, oldest first."""
    chain = [code]
    while chain[-1] in renamed and renamed[chain[-1]] not in chain:
        chain.append(renamed[chain[-1]])
    return sorted((m for c in chain for m in found.get(c, [])), key=lambda m: m["date"])


def _population_lookup(populations: pd.DataFrame | None) -> dict[tuple[str, int], float]:
    if populations is None:
        return {}
    missing = [c for c in (MUNICIPALITY, YEAR, POPULATION) if c not in populations.columns]
    if missing:
        raise KeyError(f"merger_cohorts: populations lacks column(s) {missing}")
    frame = populations[[MUNICIPALITY, YEAR, POPULATION]].dropna()
    return {(str(c), int(y)): float(p) for c, y, p in frame.itertuples(index=False)}


def _size(
    history: BoundaryHistory, merger: dict, year: int, pop: dict, cache: dict
) -> tuple[float, float]:
    """Inhabitant-weighted mean size of the predecessors before, and the size after."""
    before_year = year - 1
    if before_year not in cache:
        start = {c: pop[(c, before_year)] for c in history.municipalities_on(before_year)
                 if (c, before_year) in pop}  # fmt: skip
        try:
            cache[before_year] = history.crosswalk(before_year, year, population=start)
        except ValueError:  # a boundary correction's giver lacks a population: ignore it
            cache[before_year] = history.crosswalk(before_year, year)
    cw = cache[before_year]
    rows = cw[cw["to_code"] == merger["code"]]
    sizes = rows["from_code"].map(lambda c: pop.get((c, before_year), np.nan)).to_numpy()
    movers = sizes * rows["weight"].to_numpy()
    before = (
        float(np.sum(movers * sizes) / np.sum(movers))
        if len(rows) and np.isfinite(movers).all()
        else np.nan
    )
    return before, pop.get((merger["code"], year), np.nan)


def merger_cohorts(
    history: BoundaryHistory,
    target_year: int,
    populations: pd.DataFrame | None = None,
    first_year: int | None = None,
) -> pd.DataFrame:
    """Merger cohort of every municipality on 1 January ``target_year``.

    A unit's ``cohort`` is the year it became one municipality in its current form:
    the first 1 January on which the code (or the code it was renamed from) existed
    after its most recent merger. A merger is the creation of a code from, or the
    taking in by a continuing code of, (part of) a municipality that ends on that date
    with inhabitants; boundary corrections between continuing municipalities and
    renames are not mergers, and a merger whose only dissolved partner was uninhabited
    is ignored. ``cohort`` is 0 for a unit that never merged (or, with ``first_year``,
    not after 1 January ``first_year``: earlier mergers are outside a panel starting
    then, since its harmonised figures are already those of the merged unit).

    As a staggered-adoption design (``staggered_did(..., cohort="cohort")``) the
    identifying assumption is that the timing of a merger is unrelated to the
    outcome's path; mergers are partly chosen by the municipalities themselves, so
    pre-period effects should be inspected. A unit merged twice in the window has
    ``first_merger`` (the earlier date) and ``n_mergers``; ``cohort`` is the latest.

    Parameters
    ----------
    history : the parsed CBS region history.
    target_year : boundaries of 1 January of this year.
    populations : optional frame with columns ``municipality``, ``year``, ``population``
        (inhabitants per CBS code on 1 January, unharmonised) for the size jump.
    first_year : ignore mergers effective on or before 1 January of this year.

    Returns
    -------
    pandas.DataFrame, one row per municipality of ``target_year``: ``code``, ``name``,
    ``cohort`` (int, 0 = never merged), ``merger_date``, ``kind`` (``"new code"`` or
    ``"absorbed"``), ``predecessors`` (codes joined by ``;``, the unit's own code
    included when it continued), ``first_merger``, ``n_mergers``, and with
    ``populations``: ``inhabitants_after`` (the unit on 1 January of ``cohort``),
    ``inhabitants_before`` (the size of the municipality its average inhabitant lived
    in a year earlier: predecessors' sizes weighted by the inhabitants each brought,
    from :meth:`BoundaryHistory.crosswalk`) and ``size_jump`` (after / before).

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> history = load_boundary_history("tests/fixtures/regios_small.json")
    >>> merger_cohorts(history, 2021)[["code", "cohort", "first_merger", "n_mergers"]]
         code  cohort  first_merger  n_mergers
    0  GM9001       0             0          0
    1  GM9002       0             0          0
    2  GM9003    2019          2016          2
    3  GM9006    2019          2019          1
    4  GM9010       0             0          0
    """
    pop = _population_lookup(populations)
    cache: dict[int, pd.DataFrame] = {}
    found, renamed = _all_mergers(history), _renamed_from(history)
    records = []
    for code in history.municipalities_on(target_year):
        mergers = [m for m in _mergers(code, found, renamed)
                   if first_year is None or _first_january(m["date"]) > first_year]  # fmt: skip
        mergers = [m for m in mergers if _first_january(m["date"]) <= target_year]
        row = {"code": code, "name": history.name(code), "cohort": 0, "merger_date": pd.NaT,
               "kind": None, "predecessors": None, "first_merger": 0, "n_mergers": len(mergers),
               "inhabitants_before": np.nan, "inhabitants_after": np.nan}  # fmt: skip
        if mergers:
            last = mergers[-1]
            year = _first_january(last["date"])
            row.update(cohort=year, merger_date=last["date"], kind=last["kind"],
                       predecessors=";".join(last["predecessors"]),
                       first_merger=_first_january(mergers[0]["date"]))  # fmt: skip
            if pop:
                row["inhabitants_before"], row["inhabitants_after"] = _size(
                    history, last, year, pop, cache
                )
        records.append(row)
    out = pd.DataFrame.from_records(records)
    out["size_jump"] = out["inhabitants_after"] / out["inhabitants_before"]
    return out[COLUMNS]


def merger_counts(cohorts: pd.DataFrame, years: Iterable[int] | None = None) -> pd.Series:
    """Number of units per merger cohort (0 = never merged), e.g. for a summary table."""
    counts = cohorts["cohort"].value_counts().sort_index()
    return counts if years is None else counts.reindex(list(years), fill_value=0)
