"""Numbers in a researcher's own CSV: decimal point or decimal comma, decided per file.

Dutch exports (``;``-separated) write ``1.500`` for fifteen hundred and ``12,5`` for
twelve and a half; English ones the other way round. Every cell is read under both
conventions (``point``: decimal ``.``, thousands ``,``; ``comma``: decimal ``,``,
thousands ``.``, both with thousands in groups of three). A cell that only one of them
reads (``12,5``, ``64.0``, ``1.234.567``) is evidence for it; :func:`number_convention`
takes the file's convention from that evidence, or from ``--decimal``:

* evidence for both conventions in one file stops with a line naming the columns;
* with no evidence, a cell both read differently (``1.500``, ``1,500``) is ambiguous and
  stops the build with a line naming its column (pass ``--decimal``), whatever the
  separator: a ``,``-separated file may hold Dutch thousands too.

:func:`parse_numbers` then turns a column into floats: empty fields and CBS signs
(``.``, ``x``, ``-``, ``?``) become missing with the sign kept as the status; text, and
values that are not finite (``inf``, ``1e309``, ``nan`` written out), are errors naming
the municipality, year and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.data.cbs.special_values import is_special
from analysis.data.schema import MUNICIPALITY, YEAR

__all__ = ["DECIMALS", "is_text_only", "number_convention", "parse_numbers"]

DECIMALS = ("auto", "point", "comma")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = {  # integer part in groups of three, with the convention's separator
    "point": re.compile(r"([+-]?\d{1,3}(?:,\d{3})+)(\.\d*)?([eE][+-]?\d+)?"),
    "comma": re.compile(r"([+-]?\d{1,3}(?:\.\d{3})+)(,\d*)?([eE][+-]?\d+)?"),
}
_SHOWN = 5


def _error(message: str) -> ValueError:
    from analysis.data.owndata.read import OwnDataError  # its home: the reader's error

    return OwnDataError(message)


def read_as(cell: str, convention: str) -> float | None:
    """``cell`` as a number under ``convention`` ("point" or "comma"), else None.

    Examples
    --------
    >>> read_as("1.500", "comma"), read_as("1.500", "point"), read_as("12,5", "point")
    (1500.0, 1.5, None)
    """
    text = cell.strip()
    grouped = _THOUSANDS[convention].fullmatch(text)
    thousands, decimal = (",", ".") if convention == "point" else (".", ",")
    if grouped:
        text = grouped.group(1).replace(thousands, "") + text[grouped.end(1):]
    if thousands in text:
        return None  # a separator outside groups of three
    text = text.replace(decimal, ".")
    if not _NUMBER.fullmatch(text):
        return None
    return float(text)


def _classes(values: Iterable[str]) -> dict[str, list[str]]:
    """Cells by what they say about the convention: point, comma, either (ambiguous)."""
    found: dict[str, list[str]] = {"point": [], "comma": [], "either": []}
    for cell in values:
        point, comma = read_as(cell, "point"), read_as(cell, "comma")
        if point is not None and comma is None:
            found["point"].append(cell)
        elif comma is not None and point is None:
            found["comma"].append(cell)
        elif point is not None and comma is not None and point != comma:
            found["either"].append(cell)
    return found


def _cells(frame: pd.DataFrame, column: str) -> list[str]:
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return []
    text = values.dropna().astype(str).str.strip()
    return sorted(set(text[(text != "") & ~is_special(text)]))


def number_convention(
    frame: pd.DataFrame, columns: Iterable[str], decimal: str = "auto", *, source: str = "input"
) -> str:
    """The file's convention, "point" or "comma", from ``decimal`` or from its cells.

    A file with no evidence either way uses decimal points unless a cell would read
    differently under the two conventions, which is refused as ambiguous.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": ["1.500", "2.250"], "b": ["12,5", "3"]})
    >>> number_convention(frame, ["a", "b"])
    'comma'
    """
    if decimal not in DECIMALS:
        raise _error(f"--decimal {decimal!r}: choose one of {', '.join(DECIMALS)}")
    if decimal != "auto":
        return decimal
    found = {column: _classes(_cells(frame, column)) for column in columns}
    points = [(c, f["point"][0]) for c, f in found.items() if f["point"]]
    commas = [(c, f["comma"][0]) for c, f in found.items() if f["comma"]]
    if points and commas:
        (p_col, p_cell), (c_col, c_cell) = points[0], commas[0]
        where = (f"column {p_col!r} mixes" if p_col == c_col
                 else f"columns {p_col!r} and {c_col!r} mix")  # fmt: skip
        raise _error(
            f"{source}: {where} a decimal point ({p_cell!r}) and a decimal comma "
            f"({c_cell!r}); write one convention or pass --decimal point or --decimal comma"
        )
    if commas or points:
        return "comma" if commas else "point"
    ambiguous = [(c, f["either"][0]) for c, f in found.items() if f["either"]]
    if ambiguous:
        column, cell = ambiguous[0]
        raise _error(
            f"{source}: column {column!r} is ambiguous: {cell!r} is "
            f"{read_as(cell, 'comma'):g} with a decimal comma (thousands '.') and "
            f"{read_as(cell, 'point'):g} with a decimal point, and nothing else in the "
            "file tells which: pass --decimal comma or --decimal point"
        )
    return "point"


def parse_numbers(
    frame: pd.DataFrame, column: str, convention: str = "point"
) -> tuple[pd.Series, pd.Series | None]:
    """A text column as float under ``convention``, with the CBS sign of each missing value.

    Text, or a value that is not finite, is an error naming municipality, year and column.
    """
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        numbers, status, text = values.astype(float), None, values.astype("string")
    else:
        text = values.astype("string").str.strip()
        empty = text.isna() | (text == "")
        special = is_special(text)
        parsed = {cell: read_as(cell, convention) for cell in set(text[~empty & ~special])}
        numbers = text.where(~empty & ~special).map(parsed, na_action="ignore")
        numbers = pd.to_numeric(numbers, errors="coerce").astype(float)
        bad = ~empty & ~special & numbers.isna()
        words = bad & text.map(_non_finite_word, na_action="ignore").fillna(False).astype(bool)
        if words.any():  # 'inf', 'nan', 'Infinity': numbers to pandas, not figures
            raise _error(_not_finite(column, _rows(frame, text, words)))
        if bad.any():
            other = "comma" if convention == "point" else "point"
            hint = ""
            if any(read_as(c, other) is not None for c in text[bad].head(_SHOWN)):
                hint = f" (numbers written with a decimal {other}? pass --decimal {other})"
            raise _error(f"text in numeric column {column!r}: {_rows(frame, text, bad)}{hint}")
        status = text.where(special).astype(object) if special.any() else None
    infinite = ~np.isfinite(numbers) & numbers.notna()
    if infinite.any():
        raise _error(_not_finite(column, _rows(frame, text, infinite)))
    return numbers, status


def _not_finite(column: str, rows: str) -> str:
    return (
        f"column {column!r} holds values that are not finite numbers: {rows} (write a CBS "
        "sign such as '.' for a missing figure)"
    )


def _rows(frame: pd.DataFrame, text: pd.Series, mask: pd.Series) -> str:
    rows = np.flatnonzero(mask.to_numpy())
    shown = ", ".join(
        f"{frame[MUNICIPALITY].iloc[r]} in {frame[YEAR].iloc[r]} ({text.iloc[r]!r})"
        for r in rows[:_SHOWN]
    )
    return shown + (f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else "")


def is_text_only(values: pd.Series) -> bool:
    """A column holding words only (no number in either convention, CBS signs aside)."""
    if pd.api.types.is_numeric_dtype(values):
        return False
    text = values.astype("string").str.strip()
    filled = set(text[text.notna() & (text != "") & ~is_special(text)])
    readable = (read_as(c, "point") is not None or read_as(c, "comma") is not None for c in filled)
    return len(filled) > 0 and not any(readable) and not any(_non_finite_word(c) for c in filled)


def _non_finite_word(cell: str) -> bool:
    """'inf', 'nan', 'infinity' and the like: numbers to pandas, refused by parse_numbers."""
    try:
        return not math.isfinite(float(cell))
    except ValueError:
        return False
