"""Read a StatLine table in the CSV form the ``cbsodata`` client writes.

One file per table: ``;``-separated UTF-8, a header of CBS keys (``ID``, dimensions such
as ``RegioS`` and ``Perioden``, topics such as ``WmoClienten_1``), **labels, not codes**
in the dimension columns (``Aa en Hunze``, ``2015``, ``1e halfjaar 2015``) and numbers as
``380100.0``. An empty field is a cell CBS did not fill (suppressed, not reported, not
applicable): it is read as missing, never 0, and its ``<topic>_status`` says so. A CBS
sign left in a topic (``.``, ``x``, ``-``, ``?``) is missing too, with its meaning as status.

:func:`read_statline_csv` adds the parsed period (``year``, ``period_kind``,
``period_number``) and the ``region`` label (cleaned of the padding cbsodata keeps);
everything else is kept as CBS wrote it. Tables without a period column (the bijstand
tables hold one year each) get the ``year`` passed in, or none.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.cbs.exports.names import clean_name
from analysis.data.cbs.special_values import describe, is_special
from analysis.data.schema import STATUS_SUFFIX

__all__ = ["StatLineFormatError", "parse_period_label", "read_statline_csv"]

REGION_COLUMNS = ("RegioS", "Regio", "Regiokenmerken", "Wijken", "WijkenEnBuurten", "Gemeenten")
PERIOD_COLUMN = "Perioden"
EMPTY = "empty in the StatLine table (no figure: not reported, suppressed or not applicable)"
# A topic key ends in _<number> (cbsodata's ``Key`` of a data property).
_TOPIC = re.compile(r"_\d+$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        "januari februari maart april mei juni juli augustus september oktober november "
        "december".split(),
        start=1,
    )
}
_PERIOD_PATTERNS = (
    (re.compile(r"^(?P<year>\d{4})$"), "year"),
    (re.compile(r"^(?P<number>[12])e half ?jaar (?P<year>\d{4})$"), "half-year"),
    (re.compile(r"^(?P<number>[1-4])e kwartaal (?P<year>\d{4})$"), "quarter"),
    (re.compile(r"^(?P<year>\d{4}) (?P<month>[a-z]+)$"), "month"),
)


class StatLineFormatError(ValueError):
    """A StatLine CSV file is not in the form the reader expects (file, row, column)."""


def parse_period_label(label: str) -> tuple[int, str, int, bool]:
    """``(year, kind, number, provisional)`` of a StatLine period label.

    ``kind`` is ``"year"`` (number 0), ``"half-year"``, ``"quarter"`` or ``"month"``.
    A trailing ``*`` or ``**`` (provisional figures) is accepted and reported.

    Examples
    --------
    >>> parse_period_label("2015")
    (2015, 'year', 0, False)
    >>> parse_period_label("1e half jaar 2024")
    (2024, 'half-year', 1, False)
    >>> parse_period_label("2023*")
    (2023, 'year', 0, True)
    """
    text = clean_name(label)
    provisional = text.endswith("*")
    text = text.rstrip("*").strip()
    for pattern, kind in _PERIOD_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        if kind == "month":
            month = _MONTHS.get(match["month"])
            if month is None:
                break
            return int(match["year"]), kind, month, provisional
        number = int(match["number"]) if "number" in pattern.groupindex else 0
        return int(match["year"]), kind, number, provisional
    raise StatLineFormatError(
        f"not a StatLine period label: {label!r} (expected e.g. '2015', '1e halfjaar 2015', "
        "'1e kwartaal 2015')"
    )


def _numbers(path: Path, column: str, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A topic as float with a status where missing; a stray word is an error."""
    stripped = values.str.strip()
    parsed = pd.to_numeric(stripped.where(stripped != ""), errors="coerce")
    special = describe(stripped)
    bad = parsed.isna() & (stripped != "") & special.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise StatLineFormatError(
            f"{path.name}: column {column!r}, data row {row + 1}: {stripped.iloc[row]!r} is "
            "neither a number, empty, nor a CBS special value"
        )
    status = pd.Series([None] * len(values), index=values.index, dtype=object)
    status[stripped == ""] = EMPTY
    status[special.notna()] = special[special.notna()]
    return parsed.astype(float), status


def _is_numeric_topic(values: pd.Series) -> bool:
    """A topic holding numbers (possibly with empties and CBS signs), not text.

    Text topics (``Gemeentenaam_1``, ``Codering_3``) have no cell that is a number. A topic
    CBS left entirely empty (``Jeugdzorgtrajecten_3``) is numeric: all missing. A topic
    mixing numbers and words is numeric, so :func:`_numbers` names the first stray word.
    """
    stripped = values.str.strip()
    filled = stripped[(stripped != "") & ~is_special(stripped)]
    return len(filled) == 0 or pd.to_numeric(filled, errors="coerce").notna().any()


def read_statline_csv(path: str | Path, *, year: int | None = None) -> pd.DataFrame:
    """Read one StatLine table written by ``cbsodata`` (``;``, labels, empty = missing).

    Parameters
    ----------
    path : str or Path
        The CSV file (``82354NED.csv``).
    year : int, optional
        The year of a table without a ``Perioden`` column (the bijstand tables 83450NED,
        83747NED and 84066NED hold one year each). Ignored when the table has periods.

    Returns
    -------
    pandas.DataFrame
        Every column as CBS wrote it, with text stripped of cbsodata's padding, plus

        * ``region``: the region label, cleaned (single spaces, NFC);
        * ``year`` (int), ``period_kind`` (``year``, ``half-year``, ``quarter``, ``month``),
          ``period_number`` and ``provisional`` from ``Perioden`` (or ``year`` alone when
          passed for a table without periods);
        * each numeric topic as float, missing where CBS left it empty or wrote a sign,
          and ``<topic>_status`` saying why it is missing (``None`` where it has a value).

        ``attrs`` holds ``table`` (the file stem), ``region_column``, ``topics`` (numeric
        topic columns) and ``text_topics``.

    Raises
    ------
    StatLineFormatError
        When the file has no region column, an unknown period label, or a topic cell that
        is neither a number, empty, nor a CBS sign (naming file, column and row).

    Examples
    --------
    >>> table = read_statline_csv("data/raw/statline/csv/84134NED.csv")
    >>> row = table[(table.region == "Aa en Hunze") & (table.Perioden == "2015")]
    >>> row[["year", "period_kind", "JongerenMetJeugdzorg_1"]].to_dict("records")
    [{'year': 2015, 'period_kind': 'year', 'JongerenMetJeugdzorg_1': 550.0}]
    """
    path = Path(path)
    try:
        frame = pd.read_csv(
            path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise StatLineFormatError(f"{path}: not a readable StatLine CSV ({exc})") from exc
    region_column = next((c for c in REGION_COLUMNS if c in frame.columns), None)
    if region_column is None:
        raise StatLineFormatError(
            f"{path.name}: no region column (expected one of {', '.join(REGION_COLUMNS)}; "
            f"found {', '.join(frame.columns)})"
        )
    out: dict[str, pd.Series] = {}
    topics, text_topics = [], []
    for column in frame.columns:
        values = frame[column]
        if _TOPIC.search(column) and _is_numeric_topic(values):
            out[column], out[column + STATUS_SUFFIX] = _numbers(path, column, values)
            topics.append(column)
        else:
            out[column] = values.str.strip()
            if _TOPIC.search(column):
                text_topics.append(column)
    table = pd.DataFrame(out, index=frame.index)
    table["region"] = frame[region_column].map(clean_name)
    _add_periods(table, path, year)
    table.attrs.update(
        table=path.stem, region_column=region_column, topics=topics, text_topics=text_topics
    )
    return table


def _add_periods(table: pd.DataFrame, path: Path, year: int | None) -> None:
    if PERIOD_COLUMN not in table:
        if year is not None:
            table["year"] = int(year)
            table["period_kind"] = "year"
            table["period_number"] = 0
            table["provisional"] = False
        return
    labels = table[PERIOD_COLUMN].unique()
    try:
        parsed = {label: parse_period_label(label) for label in labels}
    except StatLineFormatError as exc:
        raise StatLineFormatError(f"{path.name}: {exc}") from None
    for position, name in enumerate(("year", "period_kind", "period_number", "provisional")):
        table[name] = table[PERIOD_COLUMN].map({k: v[position] for k, v in parsed.items()})
    table["year"] = table["year"].astype("int64")
