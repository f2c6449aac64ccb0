"""Reading a researcher's own CSV: a tidy file or a StatLine export, every value kept honest.

:func:`read_own_csv` reads the file as text (``,`` or ``;``, UTF-8 with or without BOM);
a ``cbsodata`` StatLine export is recognised by its header and read with
:func:`analysis.data.cbs.exports.reader.read_statline_csv`. Numbers (decimal point or
comma, decided per file) are read by :mod:`analysis.data.owndata.numbers`;
:mod:`analysis.data.owndata.panel` takes the result to a harmonised panel.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pandas as pd

from analysis.data.owndata.numbers import is_text_only, parse_numbers
from analysis.data.schema import (
    MUNICIPALITY,
    STATUS_SUFFIX,
    YEAR,
)

__all__ = ["OwnDataError", "OwnDataWarning", "is_text_only", "parse_numbers", "read_own_csv"]

_SHOWN = 5


class OwnDataError(ValueError):
    """The input cannot become a panel; the message names municipality, year or column."""


class OwnDataWarning(UserWarning):
    """Rows or columns of the input were left out (each is named)."""


def read_own_csv(path: str | Path, *, year: int | None = None) -> pd.DataFrame:
    """Read a tidy CSV (``,`` or ``;``) as text, or a StatLine export.

    The frame is what :func:`analysis.panel_from_frame` takes.

    A file whose header has ``ID`` and a region column (``RegioS``, ``Regiokenmerken``)
    is a StatLine export: its region labels become ``municipality``, its yearly periods
    ``year`` (half-years and quarters are left out, with a warning); ``year`` gives the
    year of an export without a ``Perioden`` column.

    Examples
    --------
    >>> frame = read_own_csv("data/examples/own_data.csv")
    >>> list(frame.columns)[:2]
    ['municipality', 'year']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    head = path.read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0]
    sep = ";" if head.count(";") > head.count(",") else ","
    header = [h.strip() for h in next(csv.reader([head], delimiter=sep), [])]
    unnamed = [k + 1 for k, h in enumerate(header) if not h.strip('"').strip()]
    if unnamed and len(header) > 1:
        raise OwnDataError(f"{path}: column {unnamed[0]} has no name in the header")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise OwnDataError(
            f"{path}: column(s) {', '.join(map(repr, repeated))} appear more than once in "
            "the header; give each column its own name"
        )
    if _is_statline(header):
        return _read_statline(path, year)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise OwnDataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise OwnDataError(f"{path}: no data rows (only a header); nothing to build")
    frame.attrs.update(separator=sep, source=path.name)
    return frame


def _is_statline(header: list[str]) -> bool:
    from analysis.data.cbs.exports.reader import REGION_COLUMNS

    return "ID" in header and any(c in header for c in REGION_COLUMNS)


def _read_statline(path: Path, year: int | None) -> pd.DataFrame:
    from analysis.data.cbs.exports.reader import read_statline_csv

    table = read_statline_csv(path, year=year)
    if YEAR not in table:
        raise OwnDataError(f"{path.name}: a StatLine export without Perioden needs --year")
    yearly = table["period_kind"] == "year"
    if not yearly.all():
        kinds = sorted(table.loc[~yearly, "period_kind"].unique())
        warnings.warn(
            f"{path.name}: {int((~yearly).sum())} rows with {', '.join(kinds)} periods left "
            "out (only yearly figures form a panel)",
            OwnDataWarning,
            stacklevel=3,
        )
    table = table[yearly]
    topics = list(table.attrs.get("topics", []))
    statuses = [t + STATUS_SUFFIX for t in topics if t + STATUS_SUFFIX in table]
    region = table.attrs.get("region_column")
    dimensions = [
        c
        for c in table.columns
        if c not in {*topics, *statuses, "region", YEAR, "ID", region, "Perioden"}
        and c not in ("period_kind", "period_number", "provisional")
    ]
    out = table[["region", YEAR, *dimensions, *topics, *statuses]].rename(
        columns={"region": MUNICIPALITY}
    )
    out.attrs = {"statline": True, "dimensions": dimensions}
    return out.reset_index(drop=True)
