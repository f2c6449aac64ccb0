"""Read CBS OData v3 responses (``opendata.cbs.nl/ODataFeed/odata/<table>/...``) stored as files.

v3 data sets are wide: one row per cell of the dimensions, one column per topic
(``Totaal_1``, ``Werknemers_2``, ...). They are turned into the same long shape as v4
observations (dimension columns, ``Measure``, ``value``, ``status``) so one mapping
serves both APIs.

Keys are padded with spaces (``'GM0363  '``, ``'1 '``) and are stripped here. In the
``UntypedDataSet`` every value is a string and a special value arrives as its symbol
(``'       .'``, ``'x'``); in the ``TypedDataSet`` a special value arrives as null and its
symbol is lost, so it becomes missing with status ``"."``. Neither ever becomes 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.cbs.api.v4files import CBSFormatError, read_json
from analysis.data.cbs.special_values import is_special

DIMENSION_TYPES = {"Dimension", "TimeDimension", "GeoDimension", "GeoDetail"}


def read_data_properties(path: str | Path) -> tuple[list[str], list[str]]:
    """The dimension keys and topic (measure) keys of a v3 table, in table order."""
    rows = read_json(path)["value"]
    dims = [r["Key"] for r in rows if r.get("Type") in DIMENSION_TYPES]
    topics = [r["Key"] for r in rows if r.get("Type") == "Topic"]
    if not dims or not topics:
        raise CBSFormatError(f"{path}: DataProperties without dimensions or topics")
    return dims, topics


def read_v3_observations(paths: Iterable[str | Path], data_properties: str | Path) -> pd.DataFrame:
    """Read pages of a v3 ``TypedDataSet`` or ``UntypedDataSet`` into long form.

    Returns the dimension columns (keys stripped), ``Measure`` (the topic key), ``value``
    (float, NaN when missing) and ``status`` (None, or the CBS symbol such as ``"x"``).
    Topics left out by ``$select`` are simply absent.

    Examples
    --------
    >>> obs = read_v3_observations(  # doctest: +SKIP
    ...     ["TypedDataSet.json"], "DataProperties.json")
    >>> obs.columns.tolist()  # doctest: +SKIP
    ['Persoonskenmerken', 'BedrijfstakkenSBI93', 'Perioden', 'Measure', 'value', 'status']
    """
    dims, topics = read_data_properties(data_properties)
    frames = []
    for path in paths:
        rows = read_json(path)["value"]
        frame = pd.DataFrame(rows)
        missing = [d for d in dims if d not in frame.columns]
        if rows and missing:
            raise CBSFormatError(f"{path}: data rows lack the dimension column(s) {missing}")
        frames.append(frame)
    if not frames:
        raise CBSFormatError("no v3 data pages given")
    wide = pd.concat(frames, ignore_index=True)
    present = [t for t in topics if t in wide.columns]
    if wide.empty:
        return pd.DataFrame(columns=[*dims, "Measure", "value", "status"])
    long = wide.melt(id_vars=dims, value_vars=present, var_name="Measure", value_name="raw")
    for col in dims:
        long[col] = long[col].astype(str).str.strip()
    value, status = _parse_values(long["raw"])
    out = long[[*dims, "Measure"]].copy()
    out["value"] = value
    out["status"] = status
    return out


def _parse_values(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    text = raw.astype("string").str.strip()
    value = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    is_symbol = is_special(text).to_numpy(dtype=bool)
    unparsed = np.isnan(value) & raw.notna().to_numpy() & ~is_symbol & (text != "").fillna(False)
    if unparsed.any():
        bad = text[unparsed].unique()[:5].tolist()
        raise CBSFormatError(f"v3 values that are neither numbers nor CBS symbols: {bad}")
    status = np.where(is_symbol, text.fillna("").to_numpy(dtype=object), None)
    status = np.where(np.isnan(value) & pd.isna(status), ".", status)
    return value, pd.Series(status, index=raw.index, dtype="object").where(
        lambda s: s.notna(), None
    )
