"""The rules of the screening step, one column at a time (see :mod:`analysis.data.screening`).

Every rule works on one column of the unharmonised panel (each year on its own
boundaries) and returns, per flagged cell, a reason code, the figure the cell was
compared with and the ratio of the two. :func:`flag_column` applies them in a fixed
order of precedence (the first rule that fires names the cell):

1. ``screen:power_of_ten``: the cell's deviation from its own series (after removing the
   year's movement of its neighbours) is a factor near ``10^k``, ``|k| >= 1``;
2. ``screen:zero``: exactly 0 where most neighbours of the year report a positive figure;
3. ``screen:budget_without_realised`` (declared pairs; ``realised_without_budget`` is kept as a
   code but never flagged: budgets are reported selectively);
4. ``screen:pre_merger``: the last year of a municipality dissolving on 1 January of the
   next year, below its own series by more than a stated factor;
5. ``screen:jump``: away from its own series by more than a stated factor;
6. ``screen:regional_booking``: an amount whose share of its region's total is far from
   its share of the region's population (regional purchasing booked elsewhere), the
   region's total per inhabitant being its other members' median (see _regional_ratio).

The "own series" of a cell is the median, over the unit's *other* years, of its level
relative to the median of its neighbours (same year, same size class); a cell needs
``min_other_years`` other years for the rules 1, 4 and 5. A "unit" is a code on unchanged
territory: a code that absorbs another municipality starts a new series that year.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.data.schema import YEAR

PREFIX = "screen:"  # CBS's status codes never start with it (see cbs.special_values)
POWER_OF_TEN = PREFIX + "power_of_ten"
ZERO = PREFIX + "zero"
BUDGET_ONLY = PREFIX + "budget_without_realised"
REALISED_ONLY = PREFIX + "realised_without_budget"
PRE_MERGER = PREFIX + "pre_merger"
JUMP = PREFIX + "jump"
REGIONAL = PREFIX + "regional_booking"
REASONS = (POWER_OF_TEN, ZERO, BUDGET_ONLY, REALISED_ONLY, PRE_MERGER, JUMP, REGIONAL)

GROUP = "_group"  # neighbour group of a row (size class of its own population)
REGION = "_region"  # region of a row for the regional-booking rule
DISSOLVING = "_dissolving"  # True in the last year of a municipality that ends
UNIT = "_unit"  # a code's series on unchanged territory (a code absorbing others restarts)


def per_capita(frame: pd.DataFrame, column: str, denominator: str | None) -> pd.Series:
    """``column / denominator`` with the denominator filled from the code's nearest year.

    The fill is for comparison only (a code's population moves slowly; a code that
    absorbs a neighbour changes level once, which the own-series rules then see). Without
    a denominator the count itself is compared.
    """
    value = frame[column].astype(float)
    if denominator is None:
        return value
    den = frame[denominator].astype(float).where(frame[denominator] > 0)
    filled = den.groupby(frame[UNIT]).transform(lambda s: s.ffill().bfill())
    return value / filled


def relative_levels(frame: pd.DataFrame, x: pd.Series, min_neighbours: int) -> pd.Series:
    """log(x) minus the median log(x) of the row's neighbours in its year (NaN for x <= 0)."""
    lx = np.log(x.where(x > 0))
    by_group = lx.groupby([frame[YEAR], frame[GROUP]])
    median = by_group.transform("median")
    enough = by_group.transform("count") >= min_neighbours
    national = lx.groupby(frame[YEAR]).transform("median")
    return lx - median.where(enough, national)


def own_deviation(frame: pd.DataFrame, r: pd.Series, min_other_years: int) -> pd.Series:
    """Each cell's relative level minus the median of its unit's other years (leave-one-out)."""
    out = pd.Series(np.nan, index=r.index)
    valid = r.notna()
    for _, index in r[valid].groupby(frame.loc[valid, UNIT]).groups.items():
        values = r.loc[index].to_numpy()
        if len(values) <= min_other_years:
            continue
        others = np.array([np.median(np.delete(values, i)) for i in range(len(values))])
        out.loc[index] = values - others
    return out


def _near_power_of_ten(d: pd.Series, tolerance: float) -> pd.Series:
    k = np.round(d / np.log(10))
    return (k != 0) & ((d / np.log(10) - k).abs() <= np.log10(tolerance))


def flag_column(
    frame: pd.DataFrame,
    column: str,
    denominator: str | None,
    settings,
    pairs: Mapping[str, tuple[str, str]],
) -> pd.DataFrame:
    """Flags of one column: ``index`` (row label), ``reason``, ``comparison``, ``ratio``, ``basis``.

    ``frame`` carries the helper columns ``_group``, ``_region`` (may be all missing) and
    ``_dissolving``; ``pairs`` maps a column to ``(role, partner)`` with role ``budget``
    or ``realised``.
    """
    value = frame[column].astype(float)
    x = per_capita(frame, column, denominator)
    r = relative_levels(frame, x, settings.min_neighbours)
    d = own_deviation(frame, r, settings.min_other_years)
    expected = value * np.exp(-d)  # the cell's own series, moved with its neighbours
    d = d.where((value >= settings.small_value) | (expected >= settings.small_value))
    unit = f"per {denominator}" if denominator else "as a count"
    found: list[pd.DataFrame] = []
    taken = pd.Series(False, index=frame.index)

    def add(mask, reason, comparison, ratio, basis):
        mask = mask.fillna(False).astype(bool) & ~taken & value.notna()
        if mask.any():
            found.append(pd.DataFrame({
                "reason": reason, "comparison": comparison[mask], "ratio": ratio[mask],
                "basis": basis}, index=frame.index[mask]))  # fmt: skip
            taken.loc[mask] = True

    own = f"own series of other years ({unit}), moved with the neighbours' median"
    power = _near_power_of_ten(d, settings.power_tolerance) & (d.abs() > np.log(2))
    add(power, POWER_OF_TEN, expected, np.exp(d), own)

    keys = [frame[YEAR], frame[GROUP]]
    n_positive = (value > 0).groupby(keys).transform("sum")
    counted = value.notna().groupby(keys).transform("sum") - 1  # the others of a 0 cell
    positive = n_positive / counted.where(counted > 0)
    usual = _others_median(frame, value)  # a unit that usually has few has truly none
    zero = (value == 0) & (positive >= settings.zero_share) & (counted >= settings.min_neighbours)
    zero &= usual.isna() | (usual >= settings.small_value)
    add(zero, ZERO, positive, pd.Series(0.0, index=frame.index),
        "share of neighbours (same year, size class) reporting a positive figure")  # fmt: skip

    if column in pairs:
        role, partner = pairs[column]
        other = frame[partner].astype(float)
        # Only a budget is judged by its partner. A realised figure without a budget is not
        # implausible: municipalities report budgets selectively (no youth-care budget at
        # all in 2015, 22 of 342 units in 2016), and flagging realised figures there would
        # remove 340 real youth-care costs and 135 Wmo spending figures.
        if role == "budget":
            add((value > 0) & other.isna(), BUDGET_ONLY, other,
                pd.Series(np.nan, index=frame.index), f"{partner} (the declared realised figure)")
        if role == "budget":  # a budget of exactly 0 beside realised costs: not reported
            add((value == 0) & (other > 0), ZERO, other, pd.Series(0.0, index=frame.index),
                f"{partner} (realised) beside a budget of 0")  # fmt: skip

    low = d < -np.log(settings.pre_merger_factor)
    add(frame[DISSOLVING] & low, PRE_MERGER, expected, np.exp(d),
        own + "; the municipality dissolves on 1 January of the next year")  # fmt: skip

    add(d.abs() > np.log(settings.jump_factor), JUMP, expected, np.exp(d), own)

    if column in settings.cost_columns and denominator is not None:
        share = _regional_ratio(frame, value.where(~taken), denominator, settings.min_neighbours)
        basis = ("figure at the median amount per inhabitant of the other members of its "
                 "youth-care region"
                 if frame[REGION].notna().any() else
                 "figure at the median amount per inhabitant of the other members of its "
                 "size class that year (no youth-care regions given)")  # fmt: skip
        off = (share < 1 / settings.regional_factor) | (share > settings.regional_factor)
        at_region = value / share
        off &= (value > 0) & ((value >= settings.small_value) | (at_region >= settings.small_value))
        add(off, REGIONAL, at_region, share, basis)
    if not found:
        return pd.DataFrame(columns=["reason", "comparison", "ratio", "basis"])
    return pd.concat(found).sort_index()


def _others_median(frame: pd.DataFrame, value: pd.Series) -> pd.Series:
    """Median of the unit's other years (NaN without any)."""
    out = pd.Series(np.nan, index=value.index)
    valid = value.notna()
    for _, index in value[valid].groupby(frame.loc[valid, UNIT]).groups.items():
        values = value.loc[index].to_numpy()
        if len(values) > 1:
            out.loc[index] = [np.median(np.delete(values, i)) for i in range(len(values))]
    return out


def _regional_ratio(
    frame: pd.DataFrame, value: pd.Series, denominator: str, min_members: int
) -> pd.Series:
    """A unit's amount per inhabitant over that of the other members of its region, per year.

    This is the unit's share of the region's total over its share of the region's
    population, with the region's total taken as its other members' median amount per
    inhabitant times the region's population: a centre municipality that books the whole
    region's sheltered housing (Amsterdam, Vlissingen) dominates a pooled total and would
    make every other member look low, while the median of the others is not moved by it.
    Cells flagged by an earlier rule are missing in ``value`` and left out. Regions come
    from ``_region`` where given, else the row's size class in that year; a region needs
    ``min_members`` other reporting members (2 for declared regions).
    """
    den = frame[denominator].astype(float)
    both = value.notna() & den.notna() & (den > 0)
    x = (value / den).where(both)
    declared = frame[REGION].notna().any()
    region = frame[REGION] if declared else frame[GROUP]
    need = 2 if declared else min_members
    reference = pd.Series(np.nan, index=value.index)
    for _, index in x.groupby([frame[YEAR], region]).groups.items():
        values = x.loc[index]
        present = values.dropna()
        if len(present) <= need:
            continue
        for label in present.index:
            reference.loc[label] = np.median(present.drop(label).to_numpy())
    return x / reference
