"""Dutch municipal boundary history from CBS's region code list, and crosswalks between years.

CBS publishes, with every StatLine table, the code list of its region dimension
(OData v4 ``RegioSCodes``: ``{"value": [{"Identifier": "GM0738", "Title": "Aalburg",
"Description": "...", "DimensionGroupId": "GMPV30"}, ...]}``). The ``Description`` of
each ``GM`` code holds the municipality's change history in Dutch. This module parses
that text into a table of dated events and derives from it

* which municipalities existed on 1 January of a year (:meth:`BoundaryHistory.municipalities_on`),
* a population-weighted crosswalk between two years' boundaries
  (:meth:`BoundaryHistory.crosswalk`), used to harmonise counts onto one year's map.

Grammar accepted (one paragraph per event, lines separated by ``\\r\\n``)::

    Begindatum 01-01-1973 | Begindatum voor 1830
    Ontstaan per DD-MM-YYYY, ontvangen van:      (also "Ontstaan per D uit:", "..., uit:")
    Opgeheven per DD-MM-YYYY, overgegaan naar:   (or "Opgeheven per D" with no successor)
    Gemeentelijke herindeling per DD-MM-YYYY, ontvangen van:
    Grenswijziging per DD-MM-YYYY, ontvangen van: | overgegaan naar:
    Wijziging per DD-MM-YYYY, ontvangen van: | overgegaan naar:
    - Name (GMxxxx),                             a counterpart, followed by
    ... 5041 hectare met 5167 woningen en 13321 inwoners   (parts may be absent)
    Naamswijziging per DD-MM-YYYY,   then   oude naam: Name (GMxxxx) | nieuwe naam: Name (GMxxxx)
    Provinciale wijziging per DD-MM-YYYY:   then   - overgegaan van provincie X naar provincie Y

A line that fits none of these (an unknown event kind, a counterpart outside an event)
raises :class:`BoundaryParseError` naming the code, line number and text. Only prose
notes (a sentence without any date or GM code, outside an event) are kept, in
:attr:`BoundaryHistory.notes`; a lone ``.`` line (a CBS typo) is a paragraph break.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BoundaryHistory", "BoundaryParseError", "load_boundary_history"]

ABROAD = "GM0998"  # "Buitenland": a counterpart of border corrections, not a municipality

# event kinds (the ``kind`` column)
BEGIN = "begin"  # Begindatum
CREATED = "created"  # Ontstaan: a new code formed from others
DISSOLVED = "dissolved"  # Opgeheven: the code ends, its territory goes to the successors
ABSORBED = "absorbed"  # Gemeentelijke herindeling: a continuing code takes in others
RENAMED = "renamed"  # Naamswijziging: always a new code
CHANGED = "changed"  # Wijziging (pre-1991 wording): territory exchanged, code continues
BOUNDARY = "boundary_correction"  # Grenswijziging: territory moved, both codes continue
PROVINCE = "province_changed"  # Provinciale wijziging
KINDS = (BEGIN, CREATED, DISSOLVED, ABSORBED, RENAMED, CHANGED, BOUNDARY, PROVINCE)

EVENT_COLUMNS = [
    "code",
    "name",
    "event",
    "kind",
    "date",
    "direction",
    "counterpart_code",
    "counterpart_name",
    "hectares",
    "dwellings",
    "inhabitants",
    "text",
]

_DATE = r"(?P<date>\d{2}-\d{2}-\d{4})"
# header regex -> (kind, direction of its counterparts, whether a counterpart list follows)
_HEADERS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(rf"^Begindatum (?:{_DATE}|(?P<forever>voor 1830))$"), BEGIN, None),
    (re.compile(rf"^Ontstaan per {_DATE},? (?:ontvangen van|uit):$"), CREATED, "from"),
    (re.compile(rf"^Opgeheven per {_DATE}, overgegaan naar:$"), DISSOLVED, "to"),
    (re.compile(rf"^Opgeheven per {_DATE}$"), DISSOLVED, None),
    (re.compile(rf"^Gemeentelijke herindeling per {_DATE}, ontvangen van:$"), ABSORBED, "from"),
    (re.compile(rf"^Grenswijziging per {_DATE}, ontvangen van:$"), BOUNDARY, "from"),
    (re.compile(rf"^Grenswijziging per {_DATE}, overgegaan naar:$"), BOUNDARY, "to"),
    (re.compile(rf"^Wijziging per {_DATE}, ontvangen van:$"), CHANGED, "from"),
    (re.compile(rf"^Wijziging per {_DATE}, overgegaan naar:$"), CHANGED, "to"),
    (re.compile(rf"^Naamswijziging per {_DATE},$"), RENAMED, "name"),
    (re.compile(rf"^Provinciale wijziging per {_DATE}:$"), PROVINCE, "province"),
]
_COUNTERPART = re.compile(r"^- (?P<name>.+?) \((?P<code>GM\d{4})\),?$")
_AMOUNTS = re.compile(
    r"^\.\.\. (?:(?P<hectares>\d+(?:,\d+)?) hectare (?:met )?)?"
    r"(?:(?P<dwellings>\d+) woning(?:en)? en )?(?P<inhabitants>\d+) inwoners?$"
)
_NAME_LINE = re.compile(r"^(?P<which>oude|nieuwe) naam: (?P<name>.+?) \((?P<code>GM\d{4})\),?$")
_PROVINCE_LINE = re.compile(r"^- overgegaan van provincie (?P<old>.+) naar provincie (?P<new>.+)$")
_LOOKS_LIKE_DATA = re.compile(r"\d{2}-\d{2}-\d{4}|\(GM\d{4}\)|^- |^\.\.\. ")


class BoundaryParseError(ValueError):
    """A ``Description`` line the parser does not understand (code, line number and text)."""


@dataclass
class _Event:
    code: str
    name: str
    event: int
    kind: str
    date: pd.Timestamp
    expects: str | None
    text: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    line: int = 0  # line number of the header in the description


def _parse_date(text: str | None) -> pd.Timestamp:
    if text is None:
        return pd.NaT  # "voor 1830": existed since forever
    day, month, year = (int(part) for part in text.split("-"))
    return pd.Timestamp(year=year, month=month, day=day)  # raises on an impossible date


def _parse_description(
    code: str, name: str, description: str, first_event: int, errors: list[str] | None = None
) -> tuple[list[_Event], list[str]]:
    """Events and prose notes of one code.

    A line not understood raises :class:`BoundaryParseError`; when ``errors`` is a list
    the message is appended to it instead and the rest of that paragraph is skipped.
    """
    events: list[_Event] = []
    notes: list[str] = []
    current: _Event | None = None
    skipping = False  # after a reported line, up to the next paragraph or header

    def fail(number: int, line: str, why: str) -> None:
        message = f"{code} ({name}), description line {number}: {why}: {line!r}"
        if errors is None:
            raise BoundaryParseError(message)
        errors.append(message + " (rest of its paragraph skipped)")

    for number, raw in enumerate(description.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if line in ("", "."):  # paragraph break; CBS has a few stray "." lines
            current, skipping = None, False
            continue
        header = _match_header(line)
        if header is not None:
            pattern_kind, expects, match = header
            current, skipping = _Event(
                code, name, first_event + len(events), pattern_kind,
                _parse_date(match.group("date")), expects, [line], line=number,
            ), False  # fmt: skip
            events.append(current)
            if expects is None:  # Begindatum / bare Opgeheven: one row, no counterpart
                current.rows.append({})
            continue
        if skipping:
            continue
        if current is None:
            if _LOOKS_LIKE_DATA.search(line) is None and line.endswith("."):
                notes.append(line)  # explanatory prose (GM0997), not an event
                continue
            fail(number, line, "unknown event kind or line outside an event")
            skipping = True
            continue
        why = _add_line(current, line)
        if why:
            fail(number, line, why)
            current, skipping = None, True
            continue
        current.text.append(line)
    for event in [e for e in events if not e.rows]:
        events.remove(event)
        fail(event.line, event.text[0], "event lists no counterpart")
    return events, notes


def _match_header(line: str) -> tuple[str, str | None, re.Match[str]] | None:
    for pattern, kind, expects in _HEADERS:
        match = pattern.match(line)
        if match:
            return kind, expects, match
    return None


def _add_line(event: _Event, line: str) -> str:
    """Attach one body line to ``event``; return why it does not fit ('' when it does)."""
    if event.expects in ("from", "to"):
        match = _COUNTERPART.match(line)
        if match:
            event.rows.append(
                {"direction": event.expects, "counterpart_code": match["code"],
                 "counterpart_name": match["name"]}
            )  # fmt: skip
            return ""
        match = _AMOUNTS.match(line)
        if match:
            if not event.rows or "inhabitants" in event.rows[-1]:
                return "amounts without a counterpart before them"
            hectares = match["hectares"]
            event.rows[-1].update(
                hectares=float(hectares.replace(",", ".")) if hectares else np.nan,
                dwellings=float(match["dwellings"]) if match["dwellings"] else np.nan,
                inhabitants=float(match["inhabitants"]),
            )
            return ""
        return f"not a counterpart or amounts line inside a {event.kind} event"
    if event.expects == "name" and not event.rows:
        match = _NAME_LINE.match(line)
        if match:
            direction = "from" if match["which"] == "oude" else "to"
            event.rows.append(
                {"direction": direction, "counterpart_code": match["code"],
                 "counterpart_name": match["name"]}
            )  # fmt: skip
            return ""
    if event.expects == "province" and not event.rows:
        match = _PROVINCE_LINE.match(line)
        if match:
            # counterpart_name holds the new province; the old one stays in ``text``
            event.rows.append({"direction": "to", "counterpart_name": match["new"]})
            return ""
    return f"unexpected line in a {event.kind} event"


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
    rows: list[dict[str, object]] = []
    periods: list[dict[str, object]] = []
    notes: dict[str, list[str]] = {}
    unparsed: list[str] = []
    n_events = 0
    for item in items:
        code = str(item.get("Identifier", ""))
        if not code.startswith("GM"):
            continue
        name = str(item.get("Title", "")).strip()
        errors: list[str] | None = None if strict else []
        events, prose = _parse_description(
            code, name, item.get("Description") or "", n_events, errors
        )
        for message in errors or []:
            warnings.warn(message, UserWarning, stacklevel=2)
            unparsed.append(message)
        n_events += len(events)
        if prose:
            notes[code] = prose
        for event in events:
            base = {"code": code, "name": name, "event": event.event, "kind": event.kind,
                    "date": event.date, "text": "\n".join(event.text)}  # fmt: skip
            rows.extend({**base, **r} for r in event.rows)
        periods.append(_period(code, name, str(item.get("DimensionGroupId") or ""), events))
    events_frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    events_frame["counterpart_code"] = events_frame["counterpart_code"].astype("string")
    events_frame["counterpart_name"] = events_frame["counterpart_name"].astype("string")
    events_frame["direction"] = events_frame["direction"].astype("string")
    events_frame["date"] = pd.to_datetime(events_frame["date"])
    return BoundaryHistory(events_frame, pd.DataFrame(periods), notes, unparsed)


def _period(code: str, name: str, group: str, events: list[_Event]) -> dict[str, object]:
    """Lifetime of one code: Begindatum (else its creation date) up to its end."""
    match = re.fullmatch(r"GM(PV\d{2})", group)
    province = match.group(1) if match else None
    begins = [e for e in events if e.kind == BEGIN]
    starts = [e.date for e in events if e.kind == CREATED]
    starts += [e.date for e in events if e.kind == RENAMED and e.rows[0]["direction"] == "from"]
    ends = [e.date for e in events if e.kind == DISSOLVED]
    ends += [e.date for e in events if e.kind == RENAMED and e.rows[0]["direction"] == "to"]
    if len(begins) > 1 or len(ends) > 1:
        raise BoundaryParseError(f"{code} ({name}): more than one Begindatum or end event")
    if starts:
        # The creation event wins over Begindatum: the newest codes have no Begindatum,
        # and GM1942 Gooise Meren says "Begindatum 01-01-2015" though it was "Ontstaan
        # per 01-01-2016" (its predecessors end then; the official 2015 count needs it).
        begin = min(starts)
    elif begins:
        begin = begins[0].date  # NaT: "voor 1830", existed since forever
    elif province is None:
        begin = pd.NaT  # GM0997 (population register): not a municipality
    else:
        raise BoundaryParseError(f"{code} ({name}): no Begindatum and no Ontstaan event")
    end = ends[0] if ends else pd.NaT
    if pd.notna(begin) and pd.notna(end) and end <= begin:
        raise BoundaryParseError(f"{code} ({name}): ends {end.date()} before it begins")
    municipality = province is not None and code != ABROAD
    return {"code": code, "name": name, "province": province,
            "municipality": municipality, "begin": begin, "end": end}  # fmt: skip
