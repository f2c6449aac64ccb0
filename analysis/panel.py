"""The municipality-year panel: validation, rates, size classes, boundary harmonisation.

A panel is a tidy frame with one row per municipality (``GMxxxx``) and year in the
vocabulary of :mod:`analysis.schema`: counts (numerators), populations (denominators),
optional ``<column>_status`` codes saying why a value is missing, rate outcomes and
baseline size classes.

Municipal boundaries change almost every year (mergers, occasionally splits). To
compare a unit over time every year is mapped onto one year's boundaries with
:func:`harmonise_to_boundaries`: counts and populations are *summed* (split codes
divided by crosswalk weight) and rates are *recomputed* from the sums, never averaged.
"""

from __future__ import annotations

import functools
import inspect
import operator
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.roles import (
    COUNT,
    DENOMINATOR,
    DROP,
    SUMMED,
    TEXT,
    Mean,
    Rate,
    Role,
    RoleError,
    resolve_roles,
)
from analysis.schema import (
    BASELINE_POPULATION,
    BASELINE_YEAR,
    COUNTS,
    DENOMINATORS,
    INTENSITY,
    LARGE,
    LARGE_THRESHOLD,
    MUNICIPALITY,
    NAME,
    OUTCOMES,
    POPULATION,
    PROVINCE,
    SIZE_CLASS,
    STATUS_SUFFIX,
    YEAR,
    size_class,
)

__all__ = [
    "OUTCOMES",
    "BoundaryCrosswalks",
    "MissingBaselineWarning",
    "PanelValidationError",
    "add_rates",
    "add_size_classes",
    "harmonise_to_boundaries",
    "validate_panel",
]

CODE_PATTERN = r"GM\d{4}"  # full match
INCOMPLETE = "incomplete"
INCOMPLETE_COLUMNS = "incomplete_columns"
COMBINED_FROM = "combined_from"
N_COMBINED = "n_combined"
# Unit-level characteristics measured in the baseline year: after harmonisation the
# baseline-year value of the combined unit holds for all of its years.
BASELINE_CHARACTERISTICS = (INTENSITY,)
_MAX_SHOWN = 5  # offending rows named per problem in an error message
AUTO_WEIGHT = "auto"  # crosswalk weight: population, else the first denominator


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


class MissingBaselineWarning(UserWarning):
    """Some municipalities have no baseline population, so no size class."""


class BoundaryCrosswalks(Protocol):
    """What :func:`harmonise_to_boundaries` needs from a boundary history.

    :class:`analysis.boundaries.BoundaryHistory` provides it.
    """

    def crosswalk(
        self, from_year: int, to_year: int, population: Mapping[str, float] | None = None
    ) -> pd.DataFrame:
        """``from_code``, ``to_code``, ``weight`` (weights sum to 1 per from_code).

        ``population`` (inhabitants per code on 1 January ``from_year``) lets boundary
        corrections that move part of a continuing municipality be weighted.
        """
        ...

    def municipalities_on(self, year: int) -> list[str]:
        """Codes of the municipalities that exist on 1 January of ``year``."""
        ...

    def name(self, code: str, year: int | None = None) -> str:
        """Name of municipality ``code`` (as it was in ``year`` when given)."""
        ...

    def province(self, code: str) -> str | None:
        """Province code (PVxx) of municipality ``code``."""
        ...


# --------------------------------------------------------------------------- validation

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


def _as_numbers(values: pd.Series) -> pd.Series:
    """Values as float; anything that is not a number becomes NaN."""
    if pd.api.types.is_bool_dtype(values):
        return pd.Series(np.nan, index=values.index)
    return pd.to_numeric(values, errors="coerce").astype(float)


def _is_numeric(values: pd.Series) -> pd.Series:
    # Missing is allowed (it carries a status); a CBS sign such as "x" is not a number.
    return values.isna() | _as_numbers(values).notna()


def _non_negative(values: pd.Series) -> pd.Series:
    # Non-numeric cells are reported by the "numeric" check, not twice.
    return ~(_as_numbers(values) < 0)


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
        pa.Check(lambda s: _as_numbers(s).mod(1).eq(0), name="integer_year"),
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
    out[YEAR] = _as_numbers(out[YEAR]).astype("int64")
    for column in [*counts, *denominators, *numeric]:
        out[column] = _as_numbers(out[column])
    return out


# --------------------------------------------------------------------------- rates, sizes


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Recompute every rate outcome from its numerator and denominator.

    ``rate = numerator / denominator * per`` for each outcome in
    :data:`analysis.schema.OUTCOMES` whose two columns are present. A missing
    numerator or denominator gives a missing rate, and so does a zero denominator
    (not ``inf``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"wmo_clients": [50.0, None, 5.0], "population": [1000.0, 10.0, 0.0]})
    >>> add_rates(df)["wmo_per_1000"].tolist()
    [50.0, nan, nan]
    """
    out = df.copy()
    for outcome in OUTCOMES.values():
        if outcome.numerator not in out or outcome.denominator not in out:
            continue
        numerator = _as_numbers(out[outcome.numerator])
        denominator = _as_numbers(out[outcome.denominator])
        out[outcome.name] = numerator / denominator.where(denominator != 0) * outcome.per
    return out


def add_size_classes(
    df: pd.DataFrame, baseline_year: int = BASELINE_YEAR, threshold: float = LARGE_THRESHOLD
) -> pd.DataFrame:
    """Attach each municipality's baseline population, size class and large flag.

    The classes come from the ``population`` of ``baseline_year`` and hold for every
    year of the municipality, so a unit that grows past the threshold later keeps its
    baseline class (the classification must not respond to the reform). The class
    edges are :data:`analysis.schema.SIZE_CLASS_EDGES`; ``threshold`` sets ``large``.

    Parameters
    ----------
    df : pandas.DataFrame
        Panel with ``municipality``, ``year`` and ``population``.
    baseline_year : int
        Year whose population fixes the classes.
    threshold : float
        ``large`` is True when the baseline population is at least this.

    Returns
    -------
    pandas.DataFrame
        A copy with ``baseline_population`` (float), ``size_class`` (ordered
        categorical) and ``large`` (nullable ``boolean``). ``df.attrs`` records
        ``baseline_year`` and ``large_threshold``.

    Warns
    -----
    MissingBaselineWarning
        Naming the municipalities without a baseline population; their class and
        ``large`` are missing (the rows are kept).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"municipality": ["GM0001", "GM0001"], "year": [2014, 2020],
    ...                    "population": [48_000, 53_000]})
    >>> add_size_classes(df)[["year", "size_class", "large"]].to_string(index=False)
    ' year size_class  large\\n 2014     20-50k  False\\n 2020     20-50k  False'
    """
    if POPULATION not in df:
        raise ValueError(f"add_size_classes needs a {POPULATION!r} column")
    at_baseline = df.loc[df[YEAR] == baseline_year, [MUNICIPALITY, POPULATION]]
    repeated = at_baseline[MUNICIPALITY][at_baseline[MUNICIPALITY].duplicated()]
    if len(repeated):
        raise ValueError(
            f"duplicate rows for baseline year {baseline_year}: {sorted(set(repeated))}"
        )
    baseline = _as_numbers(at_baseline.set_index(MUNICIPALITY)[POPULATION])
    out = df.copy()
    population = out[MUNICIPALITY].map(baseline).astype(float)
    out[BASELINE_POPULATION] = population
    out[SIZE_CLASS] = size_class(population)
    out[LARGE] = pd.Series(population >= threshold, index=out.index, dtype="boolean").mask(
        population.isna()
    )
    without = sorted(out.loc[population.isna(), MUNICIPALITY].dropna().unique())
    if without:
        shown = ", ".join(without[:20]) + (" ..." if len(without) > 20 else "")
        warnings.warn(
            f"{len(without)} municipalities have no {POPULATION} in baseline year "
            f"{baseline_year}; their {SIZE_CLASS} and {LARGE} are missing: {shown}",
            MissingBaselineWarning,
            stacklevel=2,
        )
    out.attrs.update(baseline_year=baseline_year, large_threshold=threshold)
    return out


# --------------------------------------------------------------------------- harmonisation

_FROM, _TO, _WEIGHT = "from_code", "to_code", "weight"


def _populations_by_year(
    panel: pd.DataFrame, column: str | None = POPULATION
) -> dict[int, dict[str, float]]:
    """Known values of the crosswalk weight ``column`` per code for each year."""
    if column is None or column not in panel.columns:
        return {}
    known = panel.loc[panel[column].notna(), [YEAR, MUNICIPALITY, column]]
    return {
        int(year): dict(zip(group[MUNICIPALITY], group[column].astype(float), strict=True))
        for year, group in known.groupby(YEAR)
    }


def _crosswalks(
    history: BoundaryCrosswalks,
    years: Iterable[int],
    target_year: int,
    populations: Mapping[int, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """All crosswalks stacked: ``year, from_code, to_code, weight``.

    Each year's own populations are passed on, so a boundary correction (part of a
    continuing municipality moving) gets its share instead of being ignored.
    """
    frames = []
    ignored: dict[int, list[str]] = {}
    for year in years:
        if year == target_year:
            codes = list(history.municipalities_on(target_year))
            walk = pd.DataFrame({_FROM: codes, _TO: codes, _WEIGHT: 1.0})
        else:
            population = (populations or {}).get(year) or None
            if population is not None and _accepts(history.crosswalk, "missing"):
                # a code without a weight value (absent from the data) keeps its corrections
                # ignored instead of stopping everything; which ones is recorded
                walk = history.crosswalk(year, target_year, population=population, missing="ignore")
                for code in walk.attrs.get("corrections_ignored", []):
                    ignored.setdefault(int(year), []).append(code)
            else:
                walk = history.crosswalk(year, target_year, population=population)
            absent = {_FROM, _TO, _WEIGHT} - set(walk.columns)
            if absent:
                raise ValueError(
                    f"crosswalk {year}->{target_year} lacks column(s) {sorted(absent)}"
                )
        frames.append(walk[[_FROM, _TO, _WEIGHT]].assign(**{YEAR: year}))
    walks = pd.concat(frames, ignore_index=True)
    walks[_WEIGHT] = walks[_WEIGHT].astype(float)
    walks[YEAR] = walks[YEAR].astype("int64")
    walks.attrs["corrections_ignored"] = ignored
    return walks


def _accepts(function, name: str) -> bool:
    """Whether ``function`` takes a keyword ``name`` (a history may be a simpler double)."""
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _check_coverage(panel: pd.DataFrame, walks: pd.DataFrame, target_year: int) -> None:
    keys = panel[[MUNICIPALITY, YEAR]].rename(columns={MUNICIPALITY: _FROM})
    found = keys.merge(walks[[YEAR, _FROM]].drop_duplicates(), how="left", indicator=True)
    lost = found[found["_merge"] == "left_only"]
    if len(lost):
        shown = ", ".join(f"{c} in {y}" for c, y in lost[[_FROM, YEAR]].head(10).to_numpy())
        raise ValueError(
            f"{len(lost)} panel code(s) absent from the boundary crosswalk to {target_year} "
            f"(not a municipality in that year?): {shown}"
        )
    sums = walks.merge(keys.drop_duplicates()).groupby([YEAR, _FROM])[_WEIGHT].sum()
    bad = sums[~np.isclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-9)]
    if len(bad):
        (year, code), total = next(iter(bad.items()))
        raise ValueError(
            f"crosswalk weights of {code} from {year} to {target_year} sum to {total:.12g}, not 1"
        )


def _components(panel: pd.DataFrame, walks: pd.DataFrame) -> pd.DataFrame:
    """One row per (target unit, year, source code) with the source's values.

    Starts from the crosswalk, not the panel, so a source code the crosswalk assigns to
    a reached target but that the panel lacks appears as a row of missing values (its
    target must not become a silent partial sum).
    """
    keys = panel[[MUNICIPALITY, YEAR]].rename(columns={MUNICIPALITY: _FROM})
    reached = keys.merge(walks)[[YEAR, _TO]].drop_duplicates()
    parts = walks.merge(reached)
    source = panel.rename(columns={MUNICIPALITY: _FROM})
    parts = parts.merge(source, on=[YEAR, _FROM], how="left")
    return parts.sort_values([_TO, YEAR, _FROM], kind="stable").reset_index(drop=True)


def _sum_values(
    parts: pd.DataFrame, values: list[str], means: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weighted sums per target-year, missing wherever any component is missing.

    ``means`` (column -> weight column) are combined as weighted means
    ``sum(x * weight * w) / sum(weight * w)``. Also returns which (target-year, column)
    cells are *partial*: some components had a value and some did not.
    """
    weighted = parts[values].mul(parts[_WEIGHT], axis=0)
    columns = [*values, *means]
    missing = parts[columns].isna()
    for column, by in means.items():
        mean_weight = parts[by] * parts[_WEIGHT]
        weighted[column] = parts[column] * mean_weight
        weighted[f"_weight_{column}"] = mean_weight
        missing[column] |= mean_weight.isna()  # a part without weight cannot be weighted
    keys = [parts[_TO], parts[YEAR]]
    sums = weighted.groupby(keys, sort=True).sum()
    n_missing = missing.groupby(keys, sort=True).sum()
    size = parts.groupby(keys, sort=True).size()
    result = sums[columns].where(n_missing == 0)
    for column in means:
        total = sums[f"_weight_{column}"]
        result[column] = result[column] / total.where(total != 0)
    partial = (n_missing > 0) & n_missing.lt(size, axis=0)
    return result, partial


def _statuses(parts: pd.DataFrame, values: list[str], index: pd.Index) -> pd.DataFrame:
    """Carry the status codes of missing components to the target (joined by ';')."""
    out = {}
    for column in values:
        status = column + STATUS_SUFFIX
        if status not in parts:
            continue
        hit = parts.loc[parts[column].isna() & parts[status].notna(), [_TO, YEAR, status]]
        out[status] = _joined(hit.drop_duplicates(), status).reindex(index)
    return pd.DataFrame(out, index=index)


def _texts(parts: pd.DataFrame, columns: list[str], index: pd.Index) -> pd.DataFrame:
    """Text labels of the parts, distinct values joined by ';' per target unit and year."""
    out = {}
    for column in columns:
        hit = parts.loc[parts[column].notna(), [_TO, YEAR, column]].drop_duplicates()
        out[column] = _joined(hit, column).reindex(index)
    return pd.DataFrame(out, index=index)


def _joined(frame: pd.DataFrame, column: str) -> pd.Series:
    """``;``-joined values of ``column`` per (to_code, year); ``frame`` sorted by them.

    Slicing runs of equal keys is ~50x faster than ``groupby().agg(";".join)``.
    """
    keys = frame[[_TO, YEAR]]
    starts = np.flatnonzero(~keys.duplicated().to_numpy())
    ends = np.append(starts[1:], len(frame)) if len(starts) else starts
    values = frame[column].astype(str).to_numpy(dtype=object)
    joined = [";".join(values[a:b]) for a, b in zip(starts, ends, strict=True)]
    return pd.Series(joined, index=pd.MultiIndex.from_frame(keys.iloc[starts]), dtype="str")


def _join_flags(partial: pd.DataFrame) -> np.ndarray:
    pieces = [np.where(partial[c].to_numpy(), c + ";", "") for c in partial.columns]
    joined = functools.reduce(operator.add, pieces, np.full(len(partial), "", dtype=object))
    return np.array([s.rstrip(";") for s in joined], dtype=object)


def _fix_baseline_characteristics(out: pd.DataFrame, baseline_year: int) -> pd.DataFrame:
    for column in BASELINE_CHARACTERISTICS:
        if column not in out or not (out[YEAR] == baseline_year).any():
            continue
        at_baseline = out.loc[out[YEAR] == baseline_year].set_index(MUNICIPALITY)[column]
        out[column] = out[MUNICIPALITY].map(at_baseline)
    return out


def harmonise_to_boundaries(
    panel: pd.DataFrame,
    target_year: int,
    history: BoundaryCrosswalks,
    *,
    baseline_year: int = BASELINE_YEAR,
    roles: Mapping[str, Role | tuple] | None = None,
    weight: str | None = AUTO_WEIGHT,
) -> pd.DataFrame:
    """Map every year of a panel onto the municipal boundaries of ``target_year``.

    Rows of year ``Y`` are on year-``Y`` boundaries and are mapped with
    ``history.crosswalk(Y, target_year)`` (the identity on
    ``history.municipalities_on(target_year)`` when ``Y == target_year``).

    Every column other than keys, names, provinces and status codes has a role
    (:mod:`analysis.roles`): built in for the panel vocabulary of :mod:`analysis.schema`,
    declared in ``roles`` for anything else. Rules:

    * Counts, denominators and totals are multiplied by the crosswalk weight and summed
      per target unit and year (a merger adds its parts; a split code is divided by its
      weights), so national totals are conserved.
    * Rates (the schema's outcomes, :func:`add_rates`, and declared
      ``rate:NUM/DEN*PER`` columns) are recomputed from the harmonised numerator and
      denominator, never averaged.
    * A column without a role stops harmonisation with :class:`analysis.roles.RoleError`
      naming it: nothing is dropped or averaged silently. A column declared ``drop`` and
      the status codes of rates and dropped columns are left out and listed in
      ``attrs["columns_left_out"]``.
    * If any contributing component of a target unit is missing for a column (missing
      value, or a code the crosswalk assigns there but the panel lacks for that year),
      the target's value is missing rather than a partial sum, and the status codes of
      the missing components are carried to ``<column>_status`` (joined by ``;``).
      ``incomplete`` is True and ``incomplete_columns`` names the columns (``;``
      separated, ``""`` otherwise) where some components had a value and some did
      not, i.e. where harmonisation discarded reported figures. A column missing for
      every component is missing, with its status, but not flagged.
    * ``mean:WEIGHT`` columns (built in: ``budget_change_per_inhabitant``, weighted by
      ``population``) are unit characteristics combined as weighted means of the parts
      (weights ``WEIGHT * crosswalk weight`` of the same year). Baseline
      characteristics (``budget_change_per_inhabitant``) then take the combined unit's
      ``baseline_year`` value in every year. Names and provinces come from ``history``
      for the target year.
    * Boundary corrections (part of a continuing municipality moving) need each
      giver's inhabitants: ``weight`` names the column passed to ``history.crosswalk``
      as ``population``. Splits are divided by the inhabitants CBS lists as moving.
    * ``combined_from`` lists the source codes of a target-year row (``;``
      separated) and ``n_combined`` their number.
    * Size classes are recomputed on the harmonised units at ``baseline_year``
      (:func:`add_size_classes`).

    Parameters
    ----------
    panel : pandas.DataFrame
        Valid panel (see :func:`validate_panel`), each year on its own boundaries.
    target_year : int
        Year whose boundaries all rows are mapped onto.
    history : BoundaryCrosswalks
        Boundary history, e.g. :class:`analysis.boundaries.BoundaryHistory`.
    baseline_year : int
        Year fixing size classes and baseline characteristics.
    roles : mapping, optional
        ``{column: role}`` for columns outside the schema vocabulary (see
        :mod:`analysis.roles`), e.g. ``{"inhabitants_15plus": "denominator",
        "density": "rate:bijstand_recipients/inhabitants_15plus*100"}``. A declared
        role overrides the built-in one.
    weight : str or None
        Column weighting boundary corrections. ``"auto"`` (default): ``population``
        when present, else the first column with role ``denominator``. ``None``: no
        weight, corrections are ignored (each giver keeps weight 1).

    Returns
    -------
    pandas.DataFrame
        One row per target municipality and year, sorted by both; ``attrs`` records
        ``boundary_year``, ``baseline_year``, ``large_threshold``, ``roles`` (column ->
        role as written), ``crosswalk_weight`` and ``columns_left_out`` (column ->
        reason).

    Raises
    ------
    PanelValidationError
        When the panel is invalid.
    RoleError
        When a column has no role, or a role refers to an absent column.
    ValueError
        When a panel code is absent from the crosswalk for its year (naming code and
        year) or a code's crosswalk weights do not sum to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> class History:  # GM0001 and GM0002 merged into GM0003 on 1 January 2016
    ...     def crosswalk(self, from_year, to_year, population=None):
    ...         return pd.DataFrame({"from_code": ["GM0001", "GM0002"],
    ...                              "to_code": ["GM0003", "GM0003"], "weight": 1.0})
    ...     def municipalities_on(self, year):
    ...         return ["GM0003"]
    ...     def name(self, code, year=None):
    ...         return "Merged"
    ...     def province(self, code):
    ...         return "PV20"
    >>> panel = pd.DataFrame({"municipality": ["GM0001", "GM0002", "GM0003"],
    ...                       "year": [2015, 2015, 2016], "wmo_clients": [10, 30, 44],
    ...                       "population": [1000, 3000, 4400]})
    >>> out = harmonise_to_boundaries(panel, 2016, History(), baseline_year=2015)
    >>> out[["municipality", "year", "wmo_clients", "wmo_per_1000", "combined_from"]]
      municipality  year  wmo_clients  wmo_per_1000  combined_from
    0       GM0003  2015         40.0          10.0  GM0001;GM0002
    1       GM0003  2016         44.0          10.0         GM0003
    """
    resolved = resolve_roles(panel.columns, roles, _structural(panel.columns))
    summed = _summed_in_order(resolved)
    means = {c: r.weight for c, r in resolved.items() if isinstance(r, Mean)}
    rates = {c: r for c, r in resolved.items() if isinstance(r, Rate)}
    panel = validate_panel(
        panel,
        counts=[c for c in summed if resolved[c] == COUNT],
        denominators=[c for c in summed if resolved[c] == DENOMINATOR],
        numeric=[c for c in resolved if resolved[c] not in (*SUMMED, TEXT, DROP)],
    )
    texts = [c for c, r in resolved.items() if r == TEXT]
    by = _crosswalk_weight(weight, resolved)
    statuses = [v + STATUS_SUFFIX for v in summed if v + STATUS_SUFFIX in panel]
    kept = [MUNICIPALITY, YEAR, *summed, *statuses, *means, *texts]
    left_out = _left_out(panel.columns, resolved, kept)
    panel = panel[kept]
    values, extras = summed, list(means)

    walks = _crosswalks(
        history, sorted(panel[YEAR].unique()), target_year, _populations_by_year(panel, by)
    )
    _check_coverage(panel, walks, target_year)
    parts = _components(panel, walks)

    sums, partial = _sum_values(parts, values, means)
    out = pd.concat(
        [sums, _statuses(parts, values, sums.index), _texts(parts, texts, sums.index)], axis=1
    )
    out[INCOMPLETE] = partial.any(axis=1)
    out[INCOMPLETE_COLUMNS] = _join_flags(partial)
    out[COMBINED_FROM] = _joined(parts, _FROM)
    out[N_COMBINED] = out[COMBINED_FROM].str.count(";") + 1
    out = out.rename_axis([MUNICIPALITY, YEAR]).reset_index()

    codes = out[MUNICIPALITY].unique()
    names = {code: history.name(code, target_year) for code in codes}
    provinces = {code: history.province(code) for code in codes}
    out.insert(1, NAME, out[MUNICIPALITY].map(names))
    out.insert(3, PROVINCE, out[MUNICIPALITY].map(provinces))
    out = _fix_baseline_characteristics(out, baseline_year)
    out = _recompute_rates(add_rates(out), rates)
    if POPULATION in out:
        out = add_size_classes(out, baseline_year=baseline_year)
    out = out[_column_order(out.columns, values, [*rates, *extras, *texts])]
    out.attrs.update(
        boundary_year=target_year,
        roles={c: str(r) for c, r in resolved.items()},
        crosswalk_weight=by,
        corrections_ignored=walks.attrs.get("corrections_ignored", {}),
        columns_left_out=left_out,
    )
    return out


def _summed_in_order(roles: Mapping[str, Role]) -> list[str]:
    """Counts, then denominators, then totals; the schema's own order first in each."""
    vocabulary = [*COUNTS, *DENOMINATORS]
    summed = [c for c, r in roles.items() if r in SUMMED]
    return sorted(
        summed,
        key=lambda c: (
            SUMMED.index(roles[c]),
            vocabulary.index(c) if c in vocabulary else len(vocabulary),
            summed.index(c),
        ),
    )


def _structural(columns: Iterable[str]) -> list[str]:
    """Columns the panel machinery handles itself: keys, names, statuses, derived outputs."""
    columns = list(columns)
    derived = {MUNICIPALITY, YEAR, NAME, PROVINCE, BASELINE_POPULATION, SIZE_CLASS, LARGE}
    derived |= {INCOMPLETE, INCOMPLETE_COLUMNS, COMBINED_FROM, N_COMBINED}
    statuses = {
        c for c in columns if c.endswith(STATUS_SUFFIX) and c.removesuffix(STATUS_SUFFIX) in columns
    }
    return sorted(derived | statuses)


def _crosswalk_weight(weight: str | None, roles: Mapping[str, Role]) -> str | None:
    """The column whose values weight boundary corrections (see harmonise_to_boundaries)."""
    if weight is None:
        return None
    if weight != AUTO_WEIGHT:
        if roles.get(weight) not in SUMMED:
            raise RoleError(
                f"weight column {weight!r} must be a count or denominator column of the panel"
            )
        return weight
    if roles.get(POPULATION) == DENOMINATOR:
        return POPULATION
    return next((c for c, r in roles.items() if r == DENOMINATOR), None)


def _left_out(columns: Iterable[str], roles: Mapping[str, Role], kept: list[str]) -> dict[str, str]:
    """Input columns absent from the output, with why (names come from the history)."""
    out = {}
    for column in columns:
        if column in kept or column in (NAME, PROVINCE):
            continue
        if roles.get(column) == DROP:
            out[column] = "declared drop"
        elif column.endswith(STATUS_SUFFIX):
            out[column] = "status of a column that is recomputed or dropped"
        elif column not in roles:
            out[column] = "recomputed after harmonisation"
    return out


def _recompute_rates(out: pd.DataFrame, rates: Mapping[str, Rate]) -> pd.DataFrame:
    """Declared rates from the harmonised sums: ``sum(numerator) / sum(denominator) * per``."""
    for column, rate in rates.items():
        numerator, denominator = out[rate.numerator], out[rate.denominator]
        out[column] = numerator / denominator.where(denominator != 0) * rate.per
    return out


def _column_order(columns: pd.Index, values: list[str], extras: list[str]) -> list[str]:
    leading = [MUNICIPALITY, NAME, YEAR, PROVINCE]
    for value in values:
        leading += [value, value + STATUS_SUFFIX]
    leading += [*OUTCOMES, BASELINE_POPULATION, SIZE_CLASS, LARGE, *extras]
    trailing = [INCOMPLETE, INCOMPLETE_COLUMNS, COMBINED_FROM, N_COMBINED]
    ordered = [c for c in dict.fromkeys(leading) if c in columns]
    return ordered + [c for c in columns if c not in ordered and c not in trailing] + trailing
