"""Validation of a municipality-year panel: every broken rule named by municipality, year, column.

A panel is a tidy frame with one row per municipality (``GMxxxx``) and year in the
vocabulary of :mod:`analysis.data.schema`: counts (numerators), populations
(denominators), optional ``<column>_status`` codes saying why a value is missing, rate
outcomes and baseline size classes. :func:`validate_panel` checks it with pandera and
raises :class:`PanelValidationError` with a table of the offending cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.data.schema import (
    COUNTS,
    DENOMINATORS,
    MUNICIPALITY,
    YEAR,
)

__all__ = ["PanelValidationError", "validate_panel"]

CODE_PATTERN = r"GM\d{4}"  # full match
_MAX_SHOWN = 5  # offending rows named per problem in an error message


class PanelValidationError(ValueError):
    """A panel breaks a rule; the message names municipality, year and column.

    Attributes
    ----------
    problems : pandas.DataFrame
        One row per offending cell: ``problem``, ``column``, ``municipality``,
        ``year``, ``value``.
    """

    def __init__(self, message: str, problems: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else pd.DataFrame()



_PROBLEMS = {
    # pandera check name -> words used in the error message
    "missing_code": "missing municipality code",
    "code_format": "municipality code not of the form GMxxxx",
    "unknown_code": "unknown municipality code",
    "missing_year": "missing year",
    "integer_year": "year is not an integer",
    "numeric": "non-numeric value",
    "non_negative_count": "negative count",
    "non_negative_denominator": "negative denominator",
    "multiple_fields_uniqueness": "duplicate (municipality, year) key",
}


def as_numbers(values: pd.Series) -> pd.Series:
    """Values as float; anything that is not a number becomes NaN."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index)
    return pd.to_numeric(values, errors="coerce").astype(float)


def _is_numeric(values: pd.Series) -> pd.Series:
    # Missing is allowed (it carries a status); a CBS sign such as "x" is not a number.
    return values.isna() | as_numbers(values).notna()


def _non_negative(values: pd.Series) -> pd.Series:
    # Non-numeric cells are reported by the "numeric" check, not twice.
    return ~(as_numbers(values) < 0)


def _code_format(values: pd.Series) -> pd.Series:
    matches = values.astype("string").str.fullmatch(CODE_PATTERN)
    return values.isna() | matches.fillna(False).astype(bool)


def _schema(
    known_codes: frozenset[str] | None,
    counts: Sequence[str],
    denominators: Sequence[str],
    numeric: Sequence[str] = (),
) -> pa.DataFrameSchema:
    code_checks = [
        pa.Check(lambda s: s.notna(), name="missing_code", ignore_na=False),
        pa.Check(_code_format, name="code_format"),
    ]
    if known_codes is not None:
        code_checks.append(
            pa.Check(lambda s: ~_code_format(s) | s.isin(known_codes), name="unknown_code")
        )
    year_checks = [
        pa.Check(lambda s: s.notna(), name="missing_year", ignore_na=False),
        pa.Check(lambda s: as_numbers(s).mod(1).eq(0), name="integer_year"),
    ]

    def number_column(kind: str | None) -> pa.Column:
        checks = [pa.Check(_is_numeric, name="numeric")]
        if kind is not None:
            checks.append(pa.Check(_non_negative, name=f"non_negative_{kind}"))
        return pa.Column(nullable=True, checks=checks)

    columns = {
        MUNICIPALITY: pa.Column(nullable=True, checks=code_checks),
        YEAR: pa.Column(nullable=True, checks=year_checks),
        **{c: number_column("count") for c in counts},
        **{d: number_column("denominator") for d in denominators},
        **{n: number_column(None) for n in numeric},
    }
    return pa.DataFrameSchema(columns, unique=[MUNICIPALITY, YEAR])


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _problem_table(failures: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Pandera's failure cases as (problem, column, municipality, year, value) rows."""
    failures = failures[failures["index"].notna()].copy()
    rows = failures["index"].astype(int).to_numpy()
    duplicate = failures["check"].eq("multiple_fields_uniqueness").to_numpy()
    table = pd.DataFrame(
        {
            "problem": failures["check"].map(_PROBLEMS).fillna(failures["check"]).to_numpy(),
            # a duplicate key is a row-level problem: name it once, by its key
            "column": np.where(duplicate, f"{MUNICIPALITY}, {YEAR}", failures["column"]),
            "row": rows,
            MUNICIPALITY: frame[MUNICIPALITY].to_numpy()[rows],
            YEAR: frame[YEAR].to_numpy()[rows],
            "value": np.where(duplicate, None, failures["failure_case"].to_numpy()),
        }
    )
    table = table.drop_duplicates(["problem", "column", "row"])
    return table.sort_values(["row"], kind="stable").reset_index(drop=True)


def _message(problems: pd.DataFrame) -> str:
    lines = []
    for (problem, column), group in problems.groupby(["problem", "column"], sort=False):
        if problem == _PROBLEMS["multiple_fields_uniqueness"]:
            counts = group.groupby([MUNICIPALITY, YEAR], sort=False).size()
            shown = [f"{m} in {_fmt(y)} ({n} rows)" for (m, y), n in counts.items()]
            head = f"{problem}"
        else:
            shown = [
                f"{m if isinstance(m, str) else f'row {r}'} in {_fmt(y)} ({_fmt(v)})"
                for m, y, v, r in group[[MUNICIPALITY, YEAR, "value", "row"]].itertuples(
                    index=False
                )
            ]
            head = f"{problem} in column {column!r}"
        more = f" and {len(shown) - _MAX_SHOWN} more" if len(shown) > _MAX_SHOWN else ""
        lines.append(f"{head}: {', '.join(shown[:_MAX_SHOWN])}{more}")
    return "invalid panel: " + "; ".join(lines)


def validate_panel(
    df: pd.DataFrame,
    *,
    known_codes: Iterable[str] | None = None,
    counts: Sequence[str] = COUNTS,
    denominators: Sequence[str] = DENOMINATORS,
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Check a panel and return it with numeric columns as numbers.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per municipality and year.
    known_codes : iterable of str, optional
        Municipality codes that may occur (e.g. every code that ever existed); when
        given, any other code is an error.
    counts, denominators : sequence of str
        Count and population columns that must be present, numeric and non-negative.
        Missing values are allowed (their reason lives in ``<column>_status``).
    numeric : sequence of str
        Further columns that must be present and numeric but may be negative (totals
        such as a budget change, rates, weighted means).

    Returns
    -------
    pandas.DataFrame
        A copy with ``year`` as int64 and count and denominator columns as float64
        (numeric strings such as ``"12"`` become numbers).

    Raises
    ------
    PanelValidationError
        When a required column is absent, a code is missing, malformed or unknown, a
        (municipality, year) key repeats, a year is not an integer, or a count or
        denominator is negative or not a number (e.g. a CBS sign ``"x"`` left in a
        numeric column). The message names municipality, year and column of the first
        offending rows; ``err.problems`` lists all of them.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"municipality": ["GM0363", "GM0363"], "year": [2015, 2016],
    ...                       "wmo_clients": [10, -5], "population": [1000, 1000]})
    >>> try:
    ...     validate_panel(panel, counts=["wmo_clients"], denominators=["population"])
    ... except PanelValidationError as err:
    ...     print(err)
    invalid panel: negative count in column 'wmo_clients': GM0363 in 2016 (-5)
    """
    counts, denominators, numeric = list(counts), list(denominators), list(numeric)
    required = [MUNICIPALITY, YEAR, *counts, *denominators, *numeric]
    absent = [c for c in required if c not in df.columns]
    if absent:
        raise PanelValidationError(f"invalid panel: missing required column(s) {absent}")
    frame = df.reset_index(drop=True)
    known = frozenset(known_codes) if known_codes is not None else None
    try:
        _schema(known, counts, denominators, numeric).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        problems = _problem_table(err.failure_cases, frame)
        raise PanelValidationError(_message(problems), problems.drop(columns="row")) from None
    out = df.copy()
    out[YEAR] = as_numbers(out[YEAR]).astype("int64")
    for column in [*counts, *denominators, *numeric]:
        out[column] = as_numbers(out[column])
    return out


# --------------------------------------------------------------------------- rates, sizes
