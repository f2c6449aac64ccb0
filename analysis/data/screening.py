"""Screening: implausible cells of the raw tables set missing, with a reason, before harmonisation.

Every build (synthetic, cbs, statline, csv) screens the unharmonised panel (each year
on its own boundaries) between reading the raw tables and harmonising them. Each cell
of each count or amount column is compared with its own unit's series and with its
neighbours (same year, same CBS size class of the unit's own population):

==============================  ===========================================================
reason code (``<col>_status``)  the cell is flagged when
==============================  ===========================================================
``screen:power_of_ten``         its ratio to its own series is within ``power_tolerance``
                                of 10^k, k != 0 (a unit error: thousands for euros, ...)
``screen:zero``                 it is exactly 0 while at least ``zero_share`` of its
                                neighbours report a positive figure (or a budget of 0
                                stands beside realised costs): "not reported"
``screen:budget_without_...``   a declared (budget, realised) pair has a budget without the
                                realised figure (``pairs``; skipped while a column is absent;
                                a realised figure without a budget is never flagged)
``screen:pre_merger``           it is the last year of a municipality dissolving on
                                1 January of the next year and lies below its own series
                                by more than ``pre_merger_factor``
``screen:jump``                 it lies above or below its own series by more than
                                ``jump_factor``
``screen:regional_booking``     (amounts in ``cost_columns``) its share of its region's
                                total differs from its share of the region's population
                                by more than ``regional_factor`` (costs booked by a
                                regional body or a centre municipality); the region's
                                level is its other members' median amount per
                                inhabitant, which a dominant centre does not move
==============================  ===========================================================

"Own series": the median over the unit's *other* years of its level per inhabitant
relative to its neighbours' median of that year, so a level shift that all neighbours
share (a national change, a new law) is not a jump; a cell needs ``min_other_years``
other years. Regions are the youth-care regions when ``regions`` (code -> region) is
given: every build of real codes (statline, cbs, csv) passes those of CBS 83287NED
(:func:`youth_care_regions`); otherwise (the synthetic default, whose codes are not CBS's)
the size-class neighbours of the year stand in for the region. The sidecar says which.

A flagged cell's value becomes missing; ``<column>_raw`` keeps every raw value beside
it, and the sidecar gets a row (unit, name, year, column, raw value, reason, comparison
figure, ratio). CBS's own status codes (``not available``, ``confidential``, ...) are
kept; screening codes all start with ``screen:``, which no CBS code does.

How flags travel through harmonisation: a flagged part is a missing part, so under the
default rule ("missing when any part is missing") the merged unit's value is missing,
its ``<column>_status`` carries the part's ``screen:`` code (joined by ``;``) and, when
other parts reported, ``incomplete`` names the column. ``<column>_raw`` is summed like
its column, so it is the unscreened harmonised figure.

Defaults (:class:`ScreeningSettings`): ``jump_factor`` 2.5, ``power_tolerance`` 1.25,
``zero_share`` 0.9, ``small_value`` 50, ``pre_merger_factor`` 1.5, ``regional_factor`` 3,
``min_other_years`` 3, ``min_neighbours`` 5. ``build --screening off`` keeps every value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import pandas as pd

from analysis.data import schema
from analysis.data.screening_rules import (
    DISSOLVING,
    GROUP,
    REASONS,
    REGION,
    UNIT,
    flag_column,
)

__all__ = [
    "RAW_SUFFIX",
    "REASONS",
    "ScreeningResult",
    "ScreeningSettings",
    "screen_panel",
    "youth_care_regions",
]

RAW_SUFFIX = "_raw"
BUDGET_PAIRS = schema.BUDGET_PAIRS  # 83454NED, 84580NED: begroot beside gerealiseerd
SIDECAR_COLUMNS = ["municipality", "name", "year", "column", "raw_value", "reason",
                   "comparison", "ratio", "basis"]  # fmt: skip


@dataclass(frozen=True)
class ScreeningSettings:
    """Thresholds of the screening rules (module docstring); every build records them.

    Attributes
    ----------
    enabled : bool
        False keeps every value (``--screening off``); the sidecar still says so.
    columns : tuple of str
        Columns screened where present: the schema's counts and amounts and the budget
        columns of :data:`BUDGET_PAIRS`.
    cost_columns : tuple of str
        Amounts the regional-booking rule applies to.
    pairs : tuple
        (budget, realised) column names: declared pairs for the budget/realised rule;
        a pair with an absent column is skipped.
    jump_factor, power_tolerance, zero_share, pre_merger_factor, regional_factor : float
        See the module docstring (defaults 2.5, 1.25, 0.9, 1.5, 3.0).
    small_value : float
        In the column's unit (default 50): a cell whose figure and comparison are both
        below it is not judged against its own series, and a 0 is flagged only where the
        unit's other years have a median of at least it (CBS rounds counts to 5; a Wadden
        island can truly have 10 or 0 clients).
    min_other_years, min_neighbours : int
        Years a unit needs besides the cell (3) and reporting neighbours a size class needs
        in a year before its median is used instead of the national one (5).
    """

    enabled: bool = True
    columns: tuple[str, ...] = tuple(dict.fromkeys((*schema.COUNTS, *(b for b, _ in BUDGET_PAIRS))))
    cost_columns: tuple[str, ...] = (
        "youth_care_cost", "wmo_spending", "social_spending_keur",
        *(b for b, _ in BUDGET_PAIRS),
    )  # fmt: skip
    pairs: tuple[tuple[str, str], ...] = BUDGET_PAIRS
    jump_factor: float = 2.5
    power_tolerance: float = 1.25
    zero_share: float = 0.9
    small_value: float = 50.0
    pre_merger_factor: float = 1.5
    regional_factor: float = 3.0
    min_other_years: int = 3
    min_neighbours: int = 5

    def __post_init__(self) -> None:
        for name in ("jump_factor", "power_tolerance", "pre_merger_factor", "regional_factor"):
            if not getattr(self, name) > 1:
                raise ValueError(f"screening {name} must be above 1, got {getattr(self, name)}")
        if not 0 < self.zero_share <= 1:
            raise ValueError(f"screening zero_share must be in (0, 1], got {self.zero_share}")

    def describe(self) -> dict:
        """The settings as plain JSON values (for the sidecar)."""
        return {k: (list(map(list, v)) if k == "pairs" else list(v) if isinstance(v, tuple)
                    else v) for k, v in asdict(self).items()}  # fmt: skip


OFF = ScreeningSettings(enabled=False)


@dataclass
class ScreeningResult:
    """The screened panel, one row per flagged cell, and what the sidecar records."""

    panel: pd.DataFrame
    flags: pd.DataFrame
    record: dict = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)


def screen_panel(
    panel: pd.DataFrame,
    history=None,
    settings: ScreeningSettings | None = None,
    *,
    regions: Mapping[str, str] | None = None,
    columns: Iterable[str] | None = None,
    roles: Mapping[str, object] | None = None,
) -> ScreeningResult:
    """Screen the unharmonised panel's count and amount columns (rules: module docstring).

    Parameters
    ----------
    panel : pandas.DataFrame
        Each year on its own boundaries: ``municipality``, ``year``, the columns, their
        optional ``<column>_status`` and the denominators (``population``, ...).
    history : BoundaryHistory, optional
        Gives ``municipalities_on(year)``: a code present in year Y and absent on 1 January
        Y+1 is dissolving in Y. Without it the pre-merger rule never fires.
    settings : ScreeningSettings, optional
        Thresholds; default :class:`ScreeningSettings` (``enabled=False``: nothing changes).
    regions : mapping, optional
        Municipality code -> youth-care region; default the size-class neighbours.
    columns : iterable of str, optional
        Columns to screen instead of ``settings.columns`` (e.g. a user's own counts).
    roles : mapping, optional
        Roles of columns outside the schema (for ``<column>_raw``'s role and the
        denominator of a user's rate: ``rate:NUM/DEN*PER`` makes DEN the comparison base).

    Returns
    -------
    ScreeningResult
        ``panel``: flagged cells missing, ``<column>_status`` = reason, ``<column>_raw``
        beside each screened column; ``flags``: :data:`SIDECAR_COLUMNS`; ``record``: the
        settings, region basis, counts by column and reason and every flag (for the
        sidecar); ``roles``: the roles of the ``_raw`` columns for harmonisation.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(f"GM{i:04d}", y, 300.0 * (i + 10), 1000.0 * (i + 10))
    ...         for i in range(1, 8) for y in range(2015, 2021)]
    >>> frame = pd.DataFrame(rows, columns=["municipality", "year", "youth_care_cost",
    ...                                     "population"])
    >>> frame.loc[(frame.municipality == "GM0003") & (frame.year == 2017),
    ...           "youth_care_cost"] *= 1000  # euros booked as thousands
    >>> result = screen_panel(frame)
    >>> result.flags[["municipality", "year", "column", "reason"]].to_numpy().tolist()
    [['GM0003', 2017, 'youth_care_cost', 'screen:power_of_ten']]
    >>> cell = result.panel.loc[14]
    >>> cell["youth_care_cost_raw"], cell["youth_care_cost_status"]
    (np.float64(3900000.0), 'screen:power_of_ten')
    """
    settings = settings or ScreeningSettings()
    chosen = [c for c in (columns if columns is not None else settings.columns) if c in panel]
    record = {"enabled": settings.enabled, "settings": settings.describe(),
              "columns": chosen}  # fmt: skip
    if not settings.enabled or not chosen:
        return ScreeningResult(panel, pd.DataFrame(columns=SIDECAR_COLUMNS),
                               {**record, "n_flags": 0, "counts": {}, "flags": []})  # fmt: skip
    frame = _with_context(panel, history, regions)
    record["regions"] = (
        f"Regional booking judged within youth-care regions ({len(set(regions.values()))} "
        "regions given)" if regions else "Regional booking judged within the size-class "
        "neighbours of the year (no youth-care regions given)"
    )  # fmt: skip
    pairs = _pairs(settings.pairs, panel.columns)
    record["pairs_applied"] = [list(p) for p in settings.pairs if set(p) <= set(panel.columns)]
    out = panel.copy()
    flags, raw_roles = [], {}
    for column in chosen:
        denominator = _denominator(column, panel, roles)
        found = flag_column(frame, column, denominator, settings, pairs)
        raw = column + RAW_SUFFIX
        out[raw] = panel[column]
        raw_roles[raw] = _raw_role(column, roles)
        status = column + schema.STATUS_SUFFIX
        if len(found):  # a status column is added only where a cell needs one
            if status not in out:
                out[status] = None
            out[status] = out[status].astype(object)
            out.loc[found.index, column] = float("nan")
            out.loc[found.index, status] = found["reason"].to_numpy()
            rows = panel.loc[found.index]
            flags.append(pd.DataFrame({
                "municipality": rows[schema.MUNICIPALITY].to_numpy(),
                "name": rows[schema.NAME].to_numpy() if schema.NAME in rows else None,
                "year": rows[schema.YEAR].astype(int).to_numpy(), "column": column,
                "raw_value": rows[column].astype(float).to_numpy(),
                **{k: found[k].to_numpy() for k in ("reason", "comparison", "ratio", "basis")},
            }))  # fmt: skip
    table = (pd.concat(flags, ignore_index=True) if flags
             else pd.DataFrame(columns=SIDECAR_COLUMNS))  # fmt: skip
    table = table.sort_values(["column", "reason", "year", "municipality"], ignore_index=True)
    record.update(n_flags=len(table), counts=_counts(table), flags=_records(table))
    return ScreeningResult(out, table, record, raw_roles)


def youth_care_regions(panel: pd.DataFrame) -> dict[str, str] | None:
    """Code -> youth-care region of every code the panel has from 2015 on, else None.

    From CBS 83287NED (Gebieden in Nederland 2016, vendored in ``data/raw/regions``) through
    :func:`analysis.data.regions.load_regions`, one boundary year at a time. None when the
    list does not know at least 90 % of the panel's codes (the synthetic default's codes
    are not CBS's) or a year is outside it: the size-class neighbours then stand in.
    """
    from analysis.data.build import RawDataError
    from analysis.data.regions import YOUTH_CARE_REGION, load_regions

    later = panel[panel[schema.YEAR] >= 2015]
    mapping: dict[str, str] = {}
    for year, rows in later.groupby(schema.YEAR):
        try:
            frame = load_regions(int(year))
        except (FileNotFoundError, ValueError, RawDataError):
            return None
        found = dict(zip(frame[schema.MUNICIPALITY], frame[YOUTH_CARE_REGION], strict=True))
        codes = set(rows[schema.MUNICIPALITY])
        if len(codes & found.keys()) < 0.9 * len(codes):
            return None  # not CBS's codes (synthetic) or another map
        mapping.update(found)
    return mapping or None


REGIONS_SOURCE = ("youth-care regions (jeugdzorgregio's) of CBS 83287NED, Gebieden in "
                  "Nederland 2016, carried through the boundary history (analysis.data.regions)")


def _with_context(panel: pd.DataFrame, history, regions) -> pd.DataFrame:
    """The helper columns the rules read: neighbour group, region, dissolving."""
    frame = panel.sort_values([schema.MUNICIPALITY, schema.YEAR])  # labels kept
    if schema.POPULATION in frame:
        population = frame[schema.POPULATION].astype(float).where(frame[schema.POPULATION] > 0)
        population = population.groupby(frame[schema.MUNICIPALITY]).transform(
            lambda s: s.ffill().bfill()  # in year order: the nearest year's population
        )
        group = pd.Series(schema.size_class(population).astype(str), index=frame.index)
        group = group.where(population.notna(), "unknown")
    else:
        group = pd.Series("all", index=frame.index)
    panel = frame
    context = pd.DataFrame(index=panel.index)
    context[GROUP] = group
    context[REGION] = panel[schema.MUNICIPALITY].map(dict(regions or {}))
    context[DISSOLVING] = _dissolving(panel, history)
    context[UNIT] = _units(panel, history)
    return pd.concat([panel, context], axis=1)


def _units(panel: pd.DataFrame, history) -> pd.Series:
    """``code@first year`` of each row's series on unchanged territory.

    A code that receives another municipality's territory in a merger (CBS's crosswalk
    from Y-1 to Y maps another code onto it) starts a new series in Y: its counts jump
    with its territory, which is no reporting error. Boundary corrections are ignored.
    """
    codes, years = panel[schema.MUNICIPALITY], panel[schema.YEAR].astype(int)
    starts: dict[str, list[int]] = {}
    if history is not None:
        for year in sorted(set(years))[1:]:
            try:
                walk = history.crosswalk(year - 1, year)
            except (KeyError, ValueError):
                continue
            grown = walk[(walk["from_code"] != walk["to_code"]) & (walk["weight"] > 0)]
            for code in set(grown["to_code"]):
                starts.setdefault(code, []).append(year)
    labels = []
    for code, year in zip(codes, years, strict=True):
        begun = [y for y in starts.get(code, ()) if y <= year]
        labels.append(f"{code}@{max(begun)}" if begun else code)
    return pd.Series(labels, index=panel.index)


def _dissolving(panel: pd.DataFrame, history) -> pd.Series:
    """True for a code's year Y when it exists on 1 January Y and not on 1 January Y+1."""
    if history is None:
        return pd.Series(False, index=panel.index)
    ends = {}
    for year in sorted(panel[schema.YEAR].unique()):
        try:
            now, then = set(history.municipalities_on(int(year))), set(
                history.municipalities_on(int(year) + 1))  # fmt: skip
        except (KeyError, ValueError, IndexError):
            continue  # the history ends: nothing is known to dissolve
        ends[int(year)] = now - then
    keys = zip(panel[schema.MUNICIPALITY], panel[schema.YEAR].astype(int), strict=True)
    return pd.Series([c in ends.get(y, ()) for c, y in keys], index=panel.index)


def _pairs(pairs, columns) -> dict[str, tuple[str, str]]:
    out = {}
    for budget, realised in pairs:
        if budget in columns and realised in columns:
            out[budget] = ("budget", realised)
            out[realised] = ("realised", budget)
    return out


def _denominator(column: str, panel: pd.DataFrame, roles) -> str | None:
    """The population a column is compared per: its rate's denominator, else population."""
    from analysis.data.roles import Rate, parse_role

    candidates = [o.denominator for o in schema.OUTCOMES.values() if o.numerator == column]
    for name, role in (roles or {}).items():
        parsed = parse_role(role, name)
        if isinstance(parsed, Rate) and parsed.numerator == column:
            candidates.append(parsed.denominator)
    if column in schema.EXTRA_COUNTS:  # old-law counts 2011-2014: no population beside them
        candidates = []
    candidates.append(schema.POPULATION)
    for name in candidates:
        if name in panel and panel[name].notna().any():
            present = panel[column].notna()
            if (panel.loc[present, name].notna()).mean() >= 0.5 or name == candidates[-1]:
                return name if panel.loc[present, name].notna().any() else None
    return None


def _raw_role(column: str, roles) -> str:
    if roles and column in roles:
        return str(roles[column])
    return "total" if column in schema.SIGNED_TOTALS else "count"


def _counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for (column, reason), n in table.groupby(["column", "reason"]).size().items():
        counts.setdefault(column, {})[reason] = int(n)
    return counts


def _records(table: pd.DataFrame) -> list[dict]:
    out = []
    for row in table.itertuples(index=False):
        out.append({
            "municipality": row.municipality, "name": row.name, "year": int(row.year),
            "column": row.column, "raw_value": _number(row.raw_value), "reason": row.reason,
            "comparison": _number(row.comparison), "ratio": _number(row.ratio),
            "basis": row.basis,
        })  # fmt: skip
    return out


def _number(value) -> float | None:
    value = float(value)
    return None if value != value else round(value, 6)


def screen_before_harmonising(
    panel: pd.DataFrame,
    history,
    settings: ScreeningSettings | None,
    roles: dict,
    columns: list[str] | None = None,
):
    """Screen ``panel`` as every build does: youth-care regions where the codes are CBS's.

    The build and own-data paths share this so that both record the same settings and
    region basis. ``roles`` gains the roles of the ``<column>_raw`` columns.
    """
    settings = settings or ScreeningSettings()
    regions = youth_care_regions(panel) if settings.enabled else None
    screened = screen_panel(panel, history, settings, columns=columns, roles=roles,
                            regions=regions)
    if regions:
        screened.record["regions_source"] = REGIONS_SOURCE
    roles.update(screened.roles)
    return screened
