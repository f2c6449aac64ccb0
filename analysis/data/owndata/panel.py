"""A researcher's own municipal figures: a tidy CSV (or a StatLine export) -> harmonised panel.

The input has one row per municipality and year, each year on its own boundaries:

* ``municipality``: a CBS code (``GM0363``) or a CBS municipality name (``Amsterdam``,
  ``Bergen (NH.)``), matched to the code that existed on 1 January of the row's year
  through the boundary history (:mod:`analysis.data.cbs.exports.names`);
* ``year``: the year (an integer);
* numeric columns. Empty fields and CBS signs (``.``, ``x``, ``-``, ``?``) become
  missing, never 0, and the sign is kept in ``<column>_status``.

Every numeric column needs a harmonisation role (:mod:`analysis.data.roles`): counts are
summed across merged municipalities, rates are recomputed from a declared numerator
and denominator, and a column without a role is refused rather than guessed. A column
holding only text is left out with a warning that names it (and recorded in the
sidecar); ``name`` and ``province`` come from the boundary history.

A StatLine CSV export in the form the ``cbsodata`` client writes (``;``, labels,
``Perioden`` such as ``2016``) is recognised and read with
:func:`analysis.data.cbs.exports.reader.read_statline_csv`; its topics (``Inwoners_1``) take
roles like any column, and ``rename`` gives them panel names.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import paths
from analysis.data.owndata.numbers import is_text_only, number_convention, parse_numbers
from analysis.data.owndata.read import OwnDataError, OwnDataWarning, read_own_csv
from analysis.data.roles import (
    COUNT,
    DENOMINATOR,
    DROP,
    OTHERS,
    TEXT,
    Rate,
    Role,
    default_roles,
    parse_role,
)
from analysis.data.schema import (
    MUNICIPALITY,
    NAME,
    PROVINCE,
    STATUS_SUFFIX,
    YEAR,
)

__all__ = [
    "DEFAULT_HISTORY",
    "OwnDataError",
    "OwnDataWarning",
    "panel_from_frame",
    "read_own_csv",
]

DEFAULT_HISTORY = paths.RAW / "statline" / "03759ned" / "codes-RegioS.json"
CODE = re.compile(r"GM\d{4}")
_SHOWN = 5


@dataclass
class Prepared:
    """The input on each year's own boundaries, and what was left out of it."""

    panel: pd.DataFrame
    roles: dict[str, Role] = field(default_factory=dict)  # every column's role
    left_out: dict[str, str] = field(default_factory=dict)  # column -> why
    rows_left_out: list[str] = field(default_factory=list)  # "label in year: why"


# --------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------- keys


def _years(frame: pd.DataFrame) -> pd.Series:
    text = frame[YEAR].astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() | (numbers % 1 != 0)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise OwnDataError(
            f"column 'year': {text.iloc[r]!r} for {frame[MUNICIPALITY].iloc[r]} "
            f"(data row {r + 1}) is not a year"
        )
    return numbers.astype("int64")


def _history_years(history) -> tuple[int, int]:
    """Years the history can vouch for: from before its first change to its last."""
    dates = history.events["date"].dropna()
    return int(dates.min().year) - 1, int(dates.max().year)


def _check_years(years: pd.Series, frame: pd.DataFrame, history, boundary_year: int) -> None:
    first, last = _history_years(history)
    outside = (years < first) | (years > last)
    if outside.any():
        r = int(np.flatnonzero(outside.to_numpy())[0])
        raise OwnDataError(
            f"year {years.iloc[r]} ({frame[MUNICIPALITY].iloc[r]}) is outside the boundary "
            f"history ({first}-{last}): pass a newer codes-RegioS file with --history"
        )
    if not first <= boundary_year <= last:
        raise OwnDataError(
            f"--boundary-year {boundary_year} is outside the boundary history ({first}-{last})"
        )


def _codes(
    labels: pd.Series, years: pd.Series, values: pd.DataFrame, history
) -> tuple[pd.Series, list[str]]:
    """GM code of every row; names resolved per year; aggregate rows dropped (listed)."""
    text = labels.astype("string").str.strip()
    is_code = text.str.fullmatch(CODE.pattern).fillna(False).astype(bool)
    codes = text.where(is_code)
    dropped: list[str] = []
    if (~is_code).any():
        from analysis.data.cbs.exports.names import (
            AGGREGATE,
            OUTSIDE,
            UNMATCHED,
            match_municipalities,
        )

        names = text[~is_code].fillna("")
        matched = match_municipalities(names, years[~is_code], history, errors="report")
        _raise_unknown(matched[matched["how"] == UNMATCHED])
        # StatLine lists every region in every period: a name whose code did not exist
        # that year is dropped when all its figures are empty, and refused otherwise.
        outside = matched["how"] == OUTSIDE
        empty = values.loc[matched.index].isna().all(axis=1)
        _raise_outside(matched[outside & ~empty])
        for how, why in ((AGGREGATE, "not a municipality"), (OUTSIDE, "did not exist, empty")):
            hit = matched[matched["how"] == how]
            dropped += [f"{n} in {y}: {why}" for n, y in zip(hit["name"], hit["year"], strict=True)]
        codes.loc[matched.index] = matched["code"]
    unknown = codes.notna() & ~_exists(codes, years, history)
    if unknown.any():
        r = int(np.flatnonzero(unknown.to_numpy())[0])
        raise OwnDataError(
            f"municipality {codes.iloc[r]} did not exist on 1 January {years.iloc[r]} "
            "(each year's rows must use that year's codes)"
        )
    return codes, dropped


def _exists(codes: pd.Series, years: pd.Series, history) -> pd.Series:
    alive = {int(y): set(history.municipalities_on(int(y))) for y in years.unique()}
    return pd.Series(
        [c in alive[int(y)] for c, y in zip(codes, years, strict=True)], index=codes.index
    )


def _raise_unknown(unmatched: pd.DataFrame) -> None:
    if unmatched.empty:
        return
    shown = ", ".join(
        f"{n!r} in {y} ({why})"
        for n, y, why in unmatched[["name", "year", "why"]].head(_SHOWN).to_numpy()
    )
    more = f" and {len(unmatched) - _SHOWN} more" if len(unmatched) > _SHOWN else ""
    hint = (
        "; codes are written GMxxxx"
        if unmatched["name"].astype(str).str.fullmatch(r"\d+").any()
        else ""
    )
    raise OwnDataError(f"unknown municipality name: {shown}{more}{hint}")


def _raise_outside(rows: pd.DataFrame) -> None:
    if rows.empty:
        return
    name, year = rows.iloc[0][["name", "year"]]
    raise OwnDataError(
        f"municipality {name!r} did not exist on 1 January {year} but has figures for it"
    )


def _check_unique(panel: pd.DataFrame, labels: pd.Series) -> None:
    repeated = panel.duplicated([MUNICIPALITY, YEAR], keep=False)
    if repeated.any():
        first = panel[repeated].iloc[0]
        same = panel[MUNICIPALITY].eq(first[MUNICIPALITY]) & panel[YEAR].eq(first[YEAR])
        rows = sorted(set(labels[same]))
        raise OwnDataError(
            f"duplicate municipality-year: {first[MUNICIPALITY]} in {first[YEAR]} appears "
            f"{int(same.sum())} times (as {', '.join(map(repr, rows))})"
        )


# --------------------------------------------------------------------------- assembly


def prepare(
    frame: pd.DataFrame,
    history,
    boundary_year: int,
    roles: Mapping[str, Role],
    rename: Mapping[str, str] | None = None,
    decimal: str = "auto",
) -> Prepared:
    """Validate keys and values; return the panel on each year's own boundaries."""
    source = str(frame.attrs.get("source", "input"))
    frame = _renamed(frame, dict(rename or {})).reset_index(drop=True)
    if frame.empty:
        raise OwnDataError(f"{source}: no data rows; nothing to build")
    absent = [c for c in (MUNICIPALITY, YEAR) if c not in frame]
    if absent:
        raise OwnDataError(
            f"missing column(s) {absent}: the input needs 'municipality' (GM code or CBS "
            f"name) and 'year' (found {', '.join(map(str, frame.columns))})"
        )
    absent_roles = [c for c in roles if c != OTHERS and c not in frame.columns]
    if absent_roles:
        raise OwnDataError(
            f"role for column(s) {absent_roles} not in the input: no such column (found "
            f"{', '.join(map(str, frame.columns))}); check the spelling or --rename"
        )
    years = _years(frame)
    _check_years(years, frame, history, boundary_year)
    roles = _with_others(frame.columns, {**default_roles(), **roles})
    left_out: dict[str, str] = {}
    numeric, texts = [], {}
    for column in frame.columns:
        if column in (MUNICIPALITY, YEAR, NAME, PROVINCE) or column.endswith(STATUS_SUFFIX):
            continue
        if roles.get(column) == DROP:
            left_out[column] = "declared drop"
        elif roles.get(column) == TEXT:  # a declared label, joined across merged parts
            text = frame[column].astype("string").str.strip()
            texts[column] = text.mask(text == "")
        elif column not in roles and is_text_only(frame[column]):
            left_out[column] = "text, not numbers (declare it drop to silence the warning)"
        else:
            numeric.append(column)
    # every column that may hold numbers tells the file's convention (a dropped one too)
    evidence = [c for c in frame.columns if c not in (MUNICIPALITY, YEAR, *texts)
                and not c.endswith(STATUS_SUFFIX)]  # fmt: skip
    convention = number_convention(frame, evidence, decimal, source=source)
    values, statuses = {}, {}
    for column in numeric:
        values[column], status = parse_numbers(frame, column, convention)
        given = frame.get(column + STATUS_SUFFIX)
        statuses[column + STATUS_SUFFIX] = status if given is None else given
    values = pd.DataFrame(values, index=frame.index)
    codes, rows_left_out = _codes(frame[MUNICIPALITY], years, values, history)
    panel = pd.concat(
        [
            pd.DataFrame({MUNICIPALITY: codes, YEAR: years}),
            values,
            pd.DataFrame(texts, index=frame.index),
            pd.DataFrame({k: v for k, v in statuses.items() if v is not None}, index=frame.index),
        ],
        axis=1,
    )
    keep = codes.notna()
    panel = panel[keep].reset_index(drop=True)
    _check_parts(panel, roles)
    _check_unique(panel, frame.loc[keep, MUNICIPALITY].reset_index(drop=True))
    _warn(left_out, rows_left_out)
    return Prepared(panel, roles, left_out, rows_left_out)


def _renamed(frame: pd.DataFrame, rename: dict[str, str]) -> pd.DataFrame:
    """``frame`` with ``rename`` applied; an absent column or a name taken twice is refused."""
    for old, new in rename.items():
        if old not in frame.columns:
            raise OwnDataError(f"--rename {old}={new}: no column {old!r} in the input")
    names = [rename.get(c, c) for c in frame.columns]
    taken = sorted({n for n in names if names.count(n) > 1})
    if taken:
        raise OwnDataError(
            f"--rename gives column(s) {', '.join(map(repr, taken))} a name another column "
            "has already; rename that one too, or drop one of them first"
        )
    return frame.rename(columns=rename)


def _check_parts(panel: pd.DataFrame, roles: Mapping[str, Role]) -> None:
    """A rate of a count over a population: the count never exceeds the population."""
    for column, role in roles.items():
        if not isinstance(role, Rate) or {role.numerator, role.denominator} - set(panel):
            continue
        if roles.get(role.numerator) != COUNT or roles.get(role.denominator) != DENOMINATOR:
            continue
        above = panel[role.numerator] > panel[role.denominator]
        if above.any():
            row = panel[above].iloc[0]
            raise OwnDataError(
                f"{role.numerator} ({row[role.numerator]:g}) is above its denominator "
                f"{role.denominator} ({row[role.denominator]:g}) for {row[MUNICIPALITY]} in "
                f"{row[YEAR]} ({int(above.sum())} row(s); rate {column!r}): a count of people "
                "cannot exceed the population it is part of; declare the numerator 'total' "
                "if it counts something else"
            )


def _with_others(columns, roles: dict[str, Role]) -> dict[str, Role]:
    """Schema roles, declared roles, and the ``*`` role for every other data column."""
    others = roles.pop(OTHERS, None)
    if others is not None:
        for column in columns:
            keyed = column in (MUNICIPALITY, YEAR, NAME, PROVINCE)
            if column not in roles and not keyed and not column.endswith(STATUS_SUFFIX):
                roles[column] = others
    return roles


def _warn(left_out: Mapping[str, str], rows: list[str]) -> None:
    text = [c for c, why in left_out.items() if why != "declared drop"]
    if text:
        warnings.warn(
            f"column(s) left out: {', '.join(map(repr, text))} hold text, not numbers "
            "(recorded in the sidecar; declare them drop to silence this)",
            OwnDataWarning,
            stacklevel=4,
        )
    if rows:
        shown = "; ".join(rows[:_SHOWN]) + (
            f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
        )
        warnings.warn(
            f"{len(rows)} row(s) left out: {shown} (recorded in the sidecar)",
            OwnDataWarning,
            stacklevel=4,
        )


def _load_history(history):
    from analysis.data.boundaries import load_boundary_history

    if history is None or isinstance(history, str | Path):
        path = Path(history or DEFAULT_HISTORY)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: boundary history (codes-RegioS.json) not found")
        try:
            return load_boundary_history(path)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OwnDataError(
                f"{path}: not a CBS boundary history (codes-RegioS.json): {first}"
            ) from None
    return history


def panel_from_frame(
    frame: pd.DataFrame,
    boundary_year: int,
    *,
    roles: Mapping[str, Role | tuple] | None = None,
    rename: Mapping[str, str] | None = None,
    weight: str | None = "auto",
    history=None,
    baseline_year: int | None = None,
    options=None,
    decimal: str = "auto",
    screening=None,
) -> pd.DataFrame:
    """Your own municipal figures as a harmonised panel on ``boundary_year``'s boundaries.

    Identifying assumption: each row is on the boundaries of 1 January of its own year
    (what CBS publishes). Counts can then be added up exactly across mergers; rates
    are recomputed from their declared parts. Figures on other boundaries (e.g. already
    harmonised by someone else) would be counted twice or not at all, and the design
    fails without an error: check ``municipalities_per_year`` against CBS's counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``municipality`` (GM code or CBS name), ``year`` and numeric columns (numbers or
        text; CBS signs and empty fields become missing), e.g. from :func:`read_own_csv`.
    boundary_year : int
        Every year is mapped onto the municipalities of 1 January of this year.
    roles : mapping, optional
        ``{column: role}`` (see :mod:`analysis.data.roles`): ``count``, ``denominator``,
        ``total``, ``rate:NUM/DEN*PER``, ``mean:WEIGHT`` or ``drop``. Schema names
        (``bijstand_recipients``, ``population``, ...) have theirs built in.
    rename : mapping, optional
        ``{old: new}`` column names applied first (roles use the new names).
    weight : str or None
        Column weighting boundary corrections: ``"auto"`` (``population``, else the
        first denominator), a column name, or None (corrections ignored).
    history : BoundaryHistory or path, optional
        CBS's region history; default :data:`DEFAULT_HISTORY` (vendored 03759ned list).
    baseline_year : int, optional
        Year fixing size classes; default 2014 when the data cover it, else their
        first year.
    options : analysis.data.options.PanelOptions, optional
        Size rule, threshold, merger crossers, units with a missing part.
    decimal : {"auto", "point", "comma"}
        How text numbers are written (:mod:`analysis.data.owndata.numbers`): decided
        from the cells by default; an ambiguous ``;`` file is refused.
    screening : analysis.data.screening.ScreeningSettings, optional
        Screening of every ``count`` column before harmonisation (default thresholds;
        ``enabled=False`` keeps every value); the result is in ``attrs["screening"]``.

    Returns
    -------
    pandas.DataFrame
        The harmonised panel (see :func:`analysis.data.harmonise.harmonise_to_boundaries`);
        ``attrs`` also records ``roles``, ``crosswalk_weight``, ``columns_left_out``
        and ``rows_left_out``.

    Raises
    ------
    OwnDataError
        One line naming the municipality, year or column: a missing key column, a
        year that is not a number or outside the boundary history, an unknown name, a
        code that did not exist that year, a duplicate municipality-year, text in a
        numeric column.
    analysis.data.roles.RoleError
        A numeric column without a role, or a rate without its numerator/denominator.

    Examples
    --------
    >>> import pandas as pd
    >>> own = pd.DataFrame({"municipality": ["Groningen", "Haren", "Ten Boer", "GM0014"],
    ...                     "year": [2018, 2018, 2018, 2019], "clients": [100, 10, 5, 120]})
    >>> panel = panel_from_frame(own, 2019, roles={"clients": "count"})
    >>> panel.loc[panel.municipality == "GM0014", ["year", "clients"]].to_dict("list")
    {'year': [2018, 2019], 'clients': [115.0, 120.0]}
    """
    return _harmonise(
        frame, boundary_year, roles, rename, weight, history, baseline_year, decimal, options,
        screening,
    )[0]


def _harmonise(
    frame, boundary_year, roles, rename, weight, history, baseline_year, decimal, options=None,
    screening=None,
):
    """The harmonised panel and the panel on each year's own (screened) boundaries."""
    from analysis.data.harmonise import harmonise_to_boundaries
    from analysis.data.roles import COUNT
    from analysis.data.schema import BASELINE_YEAR
    from analysis.data.screening import screen_before_harmonising

    history = _load_history(history)
    declared = {c: parse_role(r, c) for c, r in (roles or {}).items()}
    prepared = prepare(frame, history, boundary_year, declared, rename, decimal)
    panel = prepared.panel
    years = sorted(panel[YEAR].unique())
    if baseline_year is None:
        baseline_year = BASELINE_YEAR if BASELINE_YEAR in years else int(years[0])
    elif baseline_year not in years:  # every size class would be missing
        raise OwnDataError(
            f"--baseline-year {baseline_year} is not a year of the data "
            f"({', '.join(map(str, years))}): size classes are fixed in that year"
        )
    kept_roles = {c: r for c, r in prepared.roles.items() if c in panel.columns}
    counts = [c for c, r in kept_roles.items() if r == COUNT]
    screened = screen_before_harmonising(panel, history, screening, kept_roles, counts)
    panel = screened.panel
    out = harmonise_to_boundaries(
        panel, boundary_year, history, baseline_year=baseline_year, roles=kept_roles, weight=weight,
        options=options,
    )
    out.attrs["columns_left_out"] = {**prepared.left_out, **out.attrs.get("columns_left_out", {})}
    out.attrs["rows_left_out"] = prepared.rows_left_out
    out.attrs["baseline_year"] = baseline_year
    out.attrs["screening"] = screened.record
    out.attrs["units_not_supplied"] = _not_supplied(out, history, boundary_year)
    return out, panel


def _not_supplied(panel: pd.DataFrame, history, boundary_year: int) -> dict:
    """Units of ``boundary_year`` that no input row covers: left out, and said so."""
    units = sorted(set(history.municipalities_on(boundary_year)) - set(panel[MUNICIPALITY]))
    if units:
        warnings.warn(
            f"{len(units)} municipalities of {boundary_year} left out: no row of the input "
            f"covers them or any of their predecessors, e.g. {units[:_SHOWN]} (recorded in "
            "the sidecar as units_not_supplied)",
            OwnDataWarning,
            stacklevel=4,
        )
    return {"count": len(units), "units": units}


def __getattr__(name: str):
    # build_own_panel lives in owndata.build (it imports this module); kept reachable here.
    if name == "build_own_panel":
        from analysis.data.owndata.build import build_own_panel

        return build_own_panel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
