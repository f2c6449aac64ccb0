"""The grammar of CBS's municipal change history, parsed into dated events.

CBS publishes, with every StatLine table, the code list of its region dimension
(OData v4 ``RegioSCodes``). The ``Description`` of each ``GM`` code holds the
municipality's change history in Dutch; :func:`parse_region_codes` turns it into a table
of events and one lifetime per code, from which :mod:`analysis.data.boundaries` derives
municipalities per year and crosswalks.
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
``BoundaryHistory.notes``; a lone ``.`` line (a CBS typo) is a paragraph break.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["BoundaryParseError", "EVENT_COLUMNS", "parse_region_codes"]

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


def parse_region_codes(
    items: list[dict], strict: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]], list[str]]:
    """Parse the ``GM`` items of a RegioSCodes list into events and code lifetimes.

    Returns the events (:data:`EVENT_COLUMNS`), one lifetime per code (``code, name,
    province, municipality, begin, end``), the prose notes per code and the lines not
    understood (only with ``strict=False``; with ``True`` the first raises
    :class:`BoundaryParseError`).
    """
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
            warnings.warn(message, UserWarning, stacklevel=3)  # the caller of load_boundary_history
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
    return events_frame, pd.DataFrame(periods), notes, unparsed


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
