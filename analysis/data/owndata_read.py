"""Reading a researcher's own CSV: a tidy file or a StatLine export, every value kept honest.

:func:`read_own_csv` reads the file as text (``,`` or ``;``, UTF-8 with or without BOM);
a ``cbsodata`` StatLine export is recognised by its header and read with
:func:`analysis.data.statline.reader.read_statline_csv`. :func:`parse_numbers` turns a
column into numbers: empty fields and CBS signs (``.``, ``x``, ``-``, ``?``) become
missing, never 0, with the sign kept as the status. :mod:`analysis.data.owndata` takes
the result to a harmonised panel.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.schema import (
    CBS_SPECIAL_VALUES,
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
    header = [h.strip().strip('"') for h in head.split(sep)]
    if _is_statline(header):
        return _read_statline(path, year)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise OwnDataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["decimal_comma_possible"] = sep == ";"
    return frame


def _is_statline(header: list[str]) -> bool:
    from analysis.data.statline.reader import REGION_COLUMNS

    return "ID" in header and any(c in header for c in REGION_COLUMNS)


def _read_statline(path: Path, year: int | None) -> pd.DataFrame:
    from analysis.data.statline.reader import read_statline_csv

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


# --------------------------------------------------------------------------- values


def parse_numbers(
    frame: pd.DataFrame, column: str, decimal_comma: bool
) -> tuple[pd.Series, pd.Series | None]:
    """A text column as float, with the CBS sign of each missing value; text is an error."""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float), None
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    special = text.isin(list(CBS_SPECIAL_VALUES))
    numbers = pd.to_numeric(text.where(~empty & ~special), errors="coerce")
    bad = ~empty & ~special & numbers.isna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        shown = ", ".join(
            f"{frame[MUNICIPALITY].iloc[r]} in {frame[YEAR].iloc[r]} ({text.iloc[r]!r})"
            for r in rows[:_SHOWN]
        )
        more = f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
        hint = ""
        if decimal_comma and text[bad].str.fullmatch(r"-?[\d.]*\d,\d+").any():
            hint = " (a decimal comma? write 12.5, not 12,5)"
        raise OwnDataError(f"text in numeric column {column!r}: {shown}{more}{hint}")
    status = text.where(special).astype(object)
    return numbers.astype(float), (status if special.any() else None)


def is_text_only(values: pd.Series) -> bool:
    """A column holding words only (no number anywhere, CBS signs aside)."""
    if pd.api.types.is_numeric_dtype(values):
        return False
    text = values.astype("string").str.strip()
    filled = text[text.notna() & (text != "") & ~text.isin(list(CBS_SPECIAL_VALUES))]
    return len(filled) > 0 and pd.to_numeric(filled, errors="coerce").isna().all()
