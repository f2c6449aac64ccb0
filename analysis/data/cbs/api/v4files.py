"""Read CBS OData v4 responses (``datasets.cbs.nl/odata/v1/CBS/<table>/...``) stored as files.

The same reader serves cached real responses and the synthetic default, which is written
in CBS's own v4 format, so the embedded default exercises the real code path.

v4 observations are long: one row per measure and cell, with ``Value`` (a number or null)
and ``ValueAttribute`` (the string ``"None"`` for an ordinary value, or a code such as
``"Impossible"`` when the cell cannot exist, e.g. a municipality in a year it did not exist).
A missing value is kept missing with its code in ``status``; it never becomes 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.cbs.special_values import is_special

_PERIOD = re.compile(r"^(?P<year>\d{4})(?P<kind>JJ|KW|MM|HJ|X\d|W\d)(?P<number>\d{2})$")
_PERIOD_KINDS = {"JJ": "year", "KW": "quarter", "MM": "month", "HJ": "half-year"}


class CBSFormatError(ValueError):
    """A CBS response does not have the structure the reader expects."""


@dataclass(frozen=True)
class Period:
    """A CBS period code such as ``2015JJ00`` (year), ``2015KW01`` (quarter 1)."""

    code: str
    year: int
    kind: str  # "year", "quarter", "month", "half-year", or the raw CBS kind
    number: int


def parse_period(code: str) -> Period:
    """Parse a CBS period code (keys may be padded with spaces in v3).

    Examples
    --------
    >>> parse_period("2015JJ00")
    Period(code='2015JJ00', year=2015, kind='year', number=0)
    >>> parse_period("2016KW03 ").kind
    'quarter'
    """
    clean = code.strip()
    match = _PERIOD.match(clean)
    if not match:
        raise CBSFormatError(f"not a CBS period code: {code!r} (expected e.g. '2015JJ00')")
    kind = match["kind"]
    return Period(clean, int(match["year"]), _PERIOD_KINDS.get(kind, kind), int(match["number"]))


def read_json(path: str | Path) -> dict:
    """Read one stored response; a truncated or malformed file names itself in the error."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            payload = json.load(fh)
    except json.JSONDecodeError as exc:
        raise CBSFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(payload, dict) or "value" not in payload:
        raise CBSFormatError(f"{path}: an OData response needs a top-level 'value' list")
    return payload


def read_codes(path: str | Path) -> pd.DataFrame:
    """Read a ``<Dimension>Codes`` or ``MeasureCodes`` response into a DataFrame."""
    rows = read_json(path)["value"]
    frame = pd.DataFrame(rows)
    if "Identifier" not in frame:
        raise CBSFormatError(f"{path}: code list without 'Identifier' column")
    frame["Identifier"] = frame["Identifier"].astype(str).str.strip()
    return frame


def read_observations(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Read one or more pages of v4 ``Observations`` into one long DataFrame.

    Returns the dimension columns (keys stripped of padding), ``Measure``, ``value`` (float,
    NaN when missing) and ``status`` (None for an ordinary value, else the CBS code, e.g.
    ``"Impossible"`` or ``"."``).

    Examples
    --------
    >>> obs = read_observations(["data/raw/synthetic/observations-page-1.json"])  # doctest: +SKIP
    >>> obs.columns[:3].tolist()  # doctest: +SKIP
    ['Measure', 'RegioS', 'Perioden']
    """
    frames = []
    for path in paths:
        rows = read_json(path)["value"]
        if rows and "Measure" not in rows[0]:
            raise CBSFormatError(f"{path}: not a v4 Observations page (no 'Measure' field)")
        frames.append(pd.DataFrame(rows))
    if not frames:
        raise CBSFormatError("no observation pages given")
    obs = pd.concat(frames, ignore_index=True)
    return _normalise_observations(obs)


def _normalise_observations(obs: pd.DataFrame) -> pd.DataFrame:
    dims = [c for c in obs.columns if c not in {"Id", "Value", "ValueAttribute", "StringValue"}]
    for col in dims:
        obs[col] = obs[col].astype(str).str.strip()
    value = pd.to_numeric(obs["Value"], errors="coerce")
    no_attribute = pd.Series("None", index=obs.index)
    attribute = obs.get("ValueAttribute", no_attribute).astype(str).str.strip()
    string_value = obs.get("StringValue", pd.Series(None, index=obs.index))
    # A v4 special value arrives as Value=null with a ValueAttribute; a v3-style symbol may
    # arrive as StringValue. Either way the value is missing with that code as status.
    status = np.where(attribute.isin(["None", "", "nan"]), None, attribute)
    symbol = string_value.astype("string").str.strip()
    from_symbol = value.isna() & is_special(symbol)
    status = np.where(from_symbol & pd.isna(status), symbol, status)
    status = np.where(value.isna() & pd.isna(status), ".", status)
    out = obs[dims].copy()
    out["value"] = value.astype(float)
    out["status"] = pd.Series(status, index=obs.index, dtype="object").where(
        lambda s: s.notna(), None
    )
    return out
