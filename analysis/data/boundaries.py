"""Dutch municipal boundary history from CBS's region code list, and crosswalks between years.

CBS publishes, with every StatLine table, the code list of its region dimension
(OData v4 ``RegioSCodes``: ``{"value": [{"Identifier": "GM0738", "Title": "Aalburg",
"Description": "...", "DimensionGroupId": "GMPV30"}, ...]}``). The ``Description`` of
each ``GM`` code holds the municipality's change history in Dutch. This module parses
that text into a table of dated events and derives from it

* which municipalities existed on 1 January of a year (:meth:`BoundaryHistory.municipalities_on`),
* a population-weighted crosswalk between two years' boundaries
  (:meth:`BoundaryHistory.crosswalk`), used to harmonise counts onto one year's map.

The text itself is parsed by :mod:`analysis.data.boundary_parser` (its grammar is
documented there); a line it does not understand raises :class:`BoundaryParseError`
naming the code, line number and text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.boundary_parser import (
    BEGIN,
    CREATED,
    DISSOLVED,
    PROVINCE,
    RENAMED,
    BoundaryParseError,
    parse_region_codes,
)

__all__ = ["BoundaryHistory", "BoundaryParseError", "load_boundary_history"]


def _jan1(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=1, day=1)


@dataclass
class _Step:
    """Everything that changes on one date: territory flows and codes that end or begin."""

    date: pd.Timestamp
    # giver -> receiver -> (inhabitants, hectares), from the giver's "overgegaan naar" lines
    flows: dict[str, dict[str, tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    ends: set[str] = field(default_factory=set)  # dissolved or renamed on this date
    begins: set[str] = field(default_factory=set)  # created or renamed-to on this date
    # a continuing code's own inhabitants listed in its "ontvangen van" list (it kept them)
    retained: dict[str, float] = field(default_factory=dict)


def _shares(moves: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """Split 1 over destinations: by inhabitants, else by hectares, else equally."""
    for position in (0, 1):  # inhabitants, then hectares when no one lived there
        amounts = {k: v[position] for k, v in moves.items()}
        total = np.nansum(list(amounts.values()))
        if total > 0:
            return {k: float(np.nan_to_num(v) / total) for k, v in amounts.items()}
    return {k: 1.0 / len(moves) for k in moves}


class BoundaryHistory:
    """Parsed CBS region history: dated events, code lifetimes and crosswalks.

    Build it with :func:`load_boundary_history`. A code exists on date ``t`` when it
    began on or before ``t`` and ended after ``t``; an event "per 01-01-2019" takes
    effect on 1 January 2019, so the dissolved code exists on 1 January 2018 only.

    Attributes
    ----------
    events : pandas.DataFrame
        One row per (code, event, counterpart); columns ``code``, ``name`` (the code's
        CBS title), ``event`` (id shared by the rows of one event), ``kind`` (one of
        ``begin, created, dissolved, absorbed, renamed, changed, boundary_correction,
        province_changed``), ``date`` (effective date; NaT for "Begindatum voor 1830"),
        ``direction`` (``"from"``: received from the counterpart, ``"to"``: went over to
        it; for ``renamed``: ``"to"`` on the old code, ``"from"`` on the new one),
        ``counterpart_code``/``counterpart_name`` (for ``province_changed`` the new
        province's name), ``hectares``, ``dwellings``, ``inhabitants`` (moved with the
        territory; NaN when CBS does not state them) and ``text`` (the event's lines).
        A counterpart equal to ``code`` in an ``absorbed``/``changed`` list is the part
        the continuing code kept.
    periods : pandas.DataFrame
        One row per code: ``code, name, province, municipality, begin, end`` (NaT:
        open). ``municipality`` is False for GM0997 (population register) and GM0998.
    notes : dict[str, list[str]]
        Explanatory prose in a description that is not an event.
    unparsed : list[str]
        Lines that were not understood (only filled with ``strict=False``).
    """

    def __init__(
        self,
        events: pd.DataFrame,
        periods: pd.DataFrame,
        notes: dict[str, list[str]] | None = None,
        unparsed: list[str] | None = None,
    ) -> None:
        self.events = events
        self.periods = periods.set_index("code", drop=False)
        self.notes = notes or {}
        self.unparsed = unparsed or []
        self._steps = self._build_steps()

    # ------------------------------------------------------------------ lookups
    def _period(self, code: str) -> pd.Series:
        try:
            return self.periods.loc[code]
        except KeyError:
            raise KeyError(f"{code} is not a code in the CBS region list") from None

    def exists_on(self, code: str, date: pd.Timestamp | str) -> bool:
        """Whether ``code`` existed on ``date`` (began on or before it, ended after it)."""
        row, date = self._period(code), pd.Timestamp(date)
        begun = pd.isna(row["begin"]) or row["begin"] <= date
        return bool(begun and (pd.isna(row["end"]) or row["end"] > date))

    def municipalities_on(self, year: int) -> list[str]:
        """Municipality codes existing on 1 January of ``year``, sorted.

        Examples
        --------
        >>> history = load_boundary_history("tests/fixtures/regios_small.json")
        >>> history.municipalities_on(2019)
        ['GM9001', 'GM9002', 'GM9003', 'GM9006', 'GM9010', 'GM9011']
        """
        date = _jan1(year)
        p = self.periods[self.periods["municipality"]]
        alive = (p["begin"].isna() | (p["begin"] <= date)) & (p["end"].isna() | (p["end"] > date))
        return sorted(p.loc[alive, "code"])

    def name(self, code: str, year: int | None = None) -> str:
        """CBS name of ``code``; with ``year``, check the code existed on 1 January of it.

        Names never change under one code (a Naamswijziging creates a new code), so
        ``year`` only guards against using a code outside its lifetime.
        """
        row = self._period(code)
        if year is not None and not self.exists_on(code, _jan1(year)):
            raise KeyError(f"{code} ({row['name']}) did not exist on 1 January {year}")
        return str(row["name"])

    def province(self, code: str) -> str | None:
        """Province code (``PV30``) from the code's ``DimensionGroupId`` (today's province)."""
        value = self._period(code)["province"]
        return None if pd.isna(value) else str(value)

    def changes_between(self, from_year: int, to_year: int) -> pd.DataFrame:
        """Events taking effect after 1 January ``from_year`` up to 1 January ``to_year``.

        These are the events a crosswalk from ``from_year`` to ``to_year`` chains
        (``begin`` rows excluded).
        """
        lo, hi = sorted((_jan1(from_year), _jan1(to_year)))
        e = self.events
        mask = (e["kind"] != BEGIN) & (e["date"] > lo) & (e["date"] <= hi)
        return e[mask].sort_values(["date", "code", "event"]).reset_index(drop=True)

    # ------------------------------------------------------------------ crosswalk
    def _build_steps(self) -> dict[pd.Timestamp, _Step]:
        steps: dict[pd.Timestamp, _Step] = {}
        received = []
        for row in self.events[self.events["kind"] != BEGIN].itertuples(index=False):
            if row.kind == PROVINCE:
                continue
            step = steps.setdefault(row.date, _Step(row.date))
            if row.kind == DISSOLVED or (row.kind == RENAMED and row.direction == "to"):
                step.ends.add(row.code)
            if row.kind == CREATED or (row.kind == RENAMED and row.direction == "from"):
                step.begins.add(row.code)
            if pd.isna(row.counterpart_code):
                continue
            if row.direction == "to":
                old = step.flows[row.code].get(row.counterpart_code, (0.0, 0.0))
                step.flows[row.code][row.counterpart_code] = (
                    np.nansum([old[0], row.inhabitants]),
                    np.nansum([old[1], row.hectares]),
                )
            elif row.counterpart_code == row.code:
                step.retained[row.code] = step.retained.get(row.code, 0.0) + np.nan_to_num(
                    row.inhabitants
                )
            else:
                received.append(row)
        # The giver's "overgegaan naar" list is the source; a move listed only by the
        # receiver (CBS's 2025 corrections, or a giver outside the list such as GM0998
        # Buitenland) is added from the receiving side.
        for row in received:
            flows = steps[row.date].flows[row.counterpart_code]
            if row.code not in flows:
                flows[row.code] = (np.nan_to_num(row.inhabitants), np.nan_to_num(row.hectares))
        return steps

    def crosswalk(
        self,
        from_year: int,
        to_year: int,
        population: Mapping[str, float] | None = None,
        missing: str = "raise",
    ) -> pd.DataFrame:
        """Weights mapping 1 January ``from_year`` municipalities onto ``to_year`` ones.

        ``weight`` is the share of ``from_code``'s inhabitants living, by ``to_year``'s
        boundaries, in ``to_code``; weights sum to 1 per ``from_code``, so a count is
        harmonised by ``sum(count[from_code] * weight)`` per ``to_code``. Every change
        taking effect after 1 January ``from_year`` up to 1 January ``to_year`` is
        chained in date order (mid-year dates included). ``from_year > to_year`` maps
        later codes back onto earlier ones (shares of the later code's inhabitants).

        One change moves inhabitants as CBS lists them on the giving code:

        * a dissolved code (merger, split) is divided over its successors by the
          inhabitants each received; when none were listed or all are 0, by hectares,
          and when those are 0 too, equally. A renamed code maps wholly to its new code.
        * a continuing code that gives territory (Grenswijziging, Wijziging) keeps
          ``1 - moved / P`` and gives ``moved / P`` to each receiver, where ``P`` is its
          population before the change: CBS's own figure when the code also lists itself
          in an ``ontvangen van`` list on that date (``P = kept + moved``), otherwise
          ``population[code]``, otherwise its population carried forward from
          ``from_year`` through the earlier changes (when all its predecessors are in
          ``population``). Without ``population`` these corrections are **ignored**: the
          giver keeps weight 1. In the real file 2010-2023 all but two such moves are
          under 200 inhabitants; the two are Slochteren -> Groningen in 2017 (1,033,
          about 7% of Slochteren) and Nissewaard -> Hellevoetsluis in 2018 (1,209,
          about 1.4%). A move of 0 inhabitants never needs a population.
        * backwards (``from_year > to_year``) the same flows are read from the receiving
          side: a new code is divided over its sources by inhabitants received, a
          continuing receiver keeps ``1 - received / P`` with ``P`` its population after
          the change (from its own listing, ``population`` or carried back). A
          continuing code that took in part of a dissolved code without listing its own
          inhabitants (e.g. Boxtel in 2021) needs ``population``; without it this raises
          ``ValueError``.

        Parameters
        ----------
        from_year, to_year : int
            Boundaries of 1 January of these years.
        population : Mapping[str, float], optional
            Inhabitants per code around the change (e.g. 1 January ``from_year``) for
            codes giving (forward) or receiving (backward) territory in a boundary
            correction. A needed code that is absent and cannot be carried raises
            ``ValueError`` naming it.
        missing : {"raise", "ignore"}
            ``"ignore"``: a code whose population is needed but absent (and cannot be
            carried) has its correction ignored, as without ``population``; those codes
            are listed in the result's ``attrs["corrections_ignored"]``.

        Returns
        -------
        pandas.DataFrame
            Columns ``from_code, to_code, weight``; rows with weight 0 are dropped.

        Examples
        --------
        >>> history = load_boundary_history("tests/fixtures/regios_small.json")
        >>> cw = history.crosswalk(2018, 2019)
        >>> cw[cw.from_code == "GM9005"].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
        [{'from_code': 'GM9005', 'to_code': 'GM9003', 'weight': 0.25},
         {'from_code': 'GM9005', 'to_code': 'GM9006', 'weight': 0.75}]
        """
        start = self.municipalities_on(from_year)
        t0, t1 = _jan1(from_year), _jan1(to_year)
        forward = t0 <= t1
        lo, hi = min(t0, t1), max(t0, t1)
        steps = [s for d, s in sorted(self._steps.items()) if lo < d <= hi]
        if not forward:
            steps.reverse()
        dist: dict[str, dict[str, float]] = {c: {c: 1.0} for c in start}
        carried = None
        ignored: list[str] | None = [] if missing == "ignore" else None
        if population is not None:
            carried = {c: float(population.get(c, np.nan)) for c in start}
        for step in steps:
            rows = self._step_rows(step, forward, population, carried, ignored)
            dist = {c: _push(d, rows) for c, d in dist.items()}
            if carried is not None:
                carried = _push(carried, rows)
        frame = self._crosswalk_frame(dist, to_year)
        frame.attrs["corrections_ignored"] = sorted(set(ignored or []))
        return frame

    def _step_rows(
        self,
        step: _Step,
        forward: bool,
        population: Mapping[str, float] | None,
        carried: Mapping[str, float] | None,
        ignored: list[str] | None = None,
    ) -> dict[str, dict[str, float]]:
        """One change date as rows ``code -> {code: weight}`` (codes not listed stay)."""
        if forward:
            moves = step.flows
            ending = step.ends
        else:  # read the same flows from the receiving side
            moves = defaultdict(dict)
            for giver, receivers in step.flows.items():
                for receiver, amounts in receivers.items():
                    moves[receiver][giver] = amounts
            ending = step.begins
        rows: dict[str, dict[str, float]] = {}
        for code, dest in moves.items():
            if code in ending:
                rows[code] = _shares(dest)
                continue
            moved = float(np.nansum([v[0] for v in dest.values()]))
            kept = step.retained.get(code)
            if kept is None and moved == 0:
                continue  # uninhabited land moved: nobody changes municipality
            if kept is None:
                total = self._population(code, step.date, population, carried, ignored)
                if total is None:
                    if forward or step.ends.isdisjoint(dest):
                        continue  # documented: corrections ignored without population
                    raise ValueError(
                        f"{code} ({self.name(code)}) took in a dissolved code on "
                        f"{step.date.date()} without listing its own inhabitants: pass "
                        "`population` to map it backwards"
                    )
                if moved > total:
                    raise ValueError(
                        f"{code} ({self.name(code)}): {moved:.0f} inhabitants moved on "
                        f"{step.date.date()} but its population is given as {total:.0f}"
                    )
                kept = total - moved
            if kept + moved <= 0:
                continue
            row = {k: np.nan_to_num(v[0]) / (kept + moved) for k, v in dest.items()}
            row[code] = row.get(code, 0.0) + kept / (kept + moved)
            rows[code] = row
        return rows

    def _population(
        self,
        code: str,
        date: pd.Timestamp,
        population: Mapping[str, float] | None,
        carried: Mapping[str, float] | None,
        ignored: list[str] | None = None,
    ) -> float | None:
        if population is None:
            return None
        if code in population:
            return float(population[code])
        value = np.nan if carried is None else carried.get(code, np.nan)
        if np.isnan(value) and ignored is not None:
            ignored.append(code)  # missing="ignore": as without population
            return None
        if np.isnan(value):
            raise ValueError(
                f"population of {code} ({self.name(code)}) is needed for the change of "
                f"{date.date()}: it is not in `population` and cannot be carried from "
                "the start year (a predecessor is missing)"
            )
        return float(value)

    def _crosswalk_frame(self, dist: dict[str, dict[str, float]], to_year: int) -> pd.DataFrame:
        target = set(self.municipalities_on(to_year))
        records = []
        for source, weights in dist.items():
            total = sum(weights.values())
            if not np.isclose(total, 1.0):
                raise ValueError(f"{source}: crosswalk weights sum to {total}, not 1")
            for dest, weight in sorted(weights.items()):
                if weight <= 0:
                    continue
                if dest not in target:
                    raise ValueError(
                        f"{source} maps onto {dest}, which is not a municipality on "
                        f"1 January {to_year}: the CBS history is inconsistent"
                    )
                records.append((source, dest, weight))
        return pd.DataFrame(records, columns=["from_code", "to_code", "weight"])


def _push(dist: Mapping[str, float], rows: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Move a distribution over codes through one change date."""
    out: dict[str, float] = defaultdict(float)
    for code, weight in dist.items():
        for dest, share in rows.get(code, {code: 1.0}).items():
            out[dest] += weight * share
    return dict(out)


def load_boundary_history(path: str | Path, strict: bool = True) -> BoundaryHistory:
    """Parse a CBS OData v4 ``RegioSCodes`` JSON file into a :class:`BoundaryHistory`.

    Parameters
    ----------
    path : str or Path
        A ``codes-RegioS.json`` file (``{"value": [{"Identifier", "Title",
        "Description", "DimensionGroupId"}, ...]}``). Only ``GM`` codes are read.
    strict : bool, default True
        Raise :class:`BoundaryParseError` on the first line not understood. With
        ``False`` each such line is recorded in ``unparsed`` with a ``UserWarning``,
        and the rest of its paragraph (the unknown event's list) is left out.

    Returns
    -------
    BoundaryHistory

    Examples
    --------
    >>> history = load_boundary_history("tests/fixtures/regios_small.json")
    >>> rows = history.events.query("code == 'GM9005'")
    >>> print(rows[["kind", "date", "counterpart_code", "inhabitants"]].to_string(index=False))
         kind       date counterpart_code  inhabitants
    dissolved 2019-01-01           GM9003       1000.0
    dissolved 2019-01-01           GM9006       3000.0
        begin        NaT             <NA>          NaN
    """
    path = Path(path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BoundaryParseError(f"{path}: not a CBS RegioSCodes JSON file ({exc})") from exc
    events, periods, notes, unparsed = parse_region_codes(items, strict)
    return BoundaryHistory(events, periods, notes, unparsed)
