"""Size classes of harmonised units, defined as a researcher would: base-year municipalities.

A unit on later boundaries may be a merger of municipalities that were all small in the
base year (e.g. four villages of 15,000 that became one municipality of 60,000 in 2019).
Whether such a unit counts as large is a choice, and it must be stated:

* ``size_rule="sum"`` (default, what harmonisation always did): the unit's base-year
  population is the sum of its parts, i.e. the population living within its later
  boundaries in the base year;
* ``size_rule="largest_part"``: the unit takes the class of its largest predecessor, the
  municipality that existed in the base year and contributed most inhabitants, sized by
  that municipality's own base-year population (its own boundaries then).

Either way ``large_by_merger`` marks the units whose parts' sum reaches the threshold
while their largest part does not (they crossed it only through a merger), and
``drop_merger_crossers=True`` leaves them out of the panel. The rule, the threshold and
the units left out are in ``attrs`` and in a one-line ``attrs["size_note"]`` that the
notebooks print.

Assumption behind ``largest_part``: the merged unit's administration, and so its
capacity, continues that of its largest predecessor. It fails for mergers of equals
(no dominant part), where ``sum`` is the better description.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.rates_and_sizes import add_size_classes
from analysis.data.schema import (
    BASELINE_POPULATION,
    LARGE,
    LARGE_THRESHOLD,
    MUNICIPALITY,
    POPULATION,
    SIZE_CLASS,
    YEAR,
    size_class,
)

SIZE_RULES = ("sum", "largest_part")
DEFAULT_SIZE_RULE = "sum"
BASELINE_POPULATION_SUM = "baseline_population_sum"
BASELINE_POPULATION_LARGEST = "baseline_population_largest_part"
LARGEST_PART = "largest_part"  # code of the predecessor contributing most inhabitants
LARGE_BY_MERGER = "large_by_merger"
SIZE_COLUMNS = (BASELINE_POPULATION_SUM, BASELINE_POPULATION_LARGEST, LARGEST_PART,
                LARGE_BY_MERGER)
_TO, _FROM, _WEIGHT = "to_code", "from_code", "weight"


def unit_parts(parts: pd.DataFrame, baseline_year: int) -> pd.DataFrame:
    """Per unit: its parts' population sum, its largest part and that part's own population.

    ``parts`` has ``to_code, year, from_code, weight, population`` (the from-code's own
    population that year, as harmonisation sees it). The largest part is the from-code
    contributing most inhabitants (``population * weight``); ties go to the lower code.
    A unit with a part of unknown population has both figures missing.
    """
    base = parts.loc[parts[YEAR] == baseline_year, [_TO, _FROM, _WEIGHT, POPULATION]].copy()
    base["inhabitants"] = base[POPULATION].astype(float) * base[_WEIGHT]
    unknown = base.groupby(_TO)["inhabitants"].apply(lambda s: s.isna().any())
    total = base.groupby(_TO)["inhabitants"].sum(min_count=1).where(~unknown)
    top = base.sort_values([_TO, "inhabitants", _FROM], ascending=[True, False, True])
    top = top.drop_duplicates(_TO).set_index(_TO)
    return pd.DataFrame({
        BASELINE_POPULATION_SUM: total,
        LARGEST_PART: top[_FROM],
        BASELINE_POPULATION_LARGEST: top[POPULATION].astype(float).where(~unknown),
    })


def large_by_merger(panel: pd.DataFrame, threshold: float = LARGE_THRESHOLD) -> pd.Series:
    """Units whose parts' sum reaches ``threshold`` while their largest part does not."""
    total, largest = panel[BASELINE_POPULATION_SUM], panel[BASELINE_POPULATION_LARGEST]
    flag = pd.Series((total >= threshold) & (largest < threshold), index=panel.index,
                     dtype="boolean")
    return flag.mask(total.isna() | largest.isna())


def add_unit_size_classes(
    panel: pd.DataFrame,
    parts: pd.DataFrame,
    *,
    baseline_year: int,
    threshold: float = LARGE_THRESHOLD,
    size_rule: str = DEFAULT_SIZE_RULE,
    drop_merger_crossers: bool = False,
) -> pd.DataFrame:
    """Baseline population, size class and ``large`` of every harmonised unit, by ``size_rule``.

    Parameters
    ----------
    panel : pandas.DataFrame
        Harmonised panel (``municipality``, ``year``, ``population``).
    parts : pandas.DataFrame
        The harmonisation's components: ``to_code, year, from_code, weight, population``.
    baseline_year : int
        Year whose municipalities and population fix the classes.
    threshold : float
        ``large`` when the unit's baseline population (by the rule) is at least this.
    size_rule : {"sum", "largest_part"}
        See the module docstring.
    drop_merger_crossers : bool
        Leave out the units with ``large_by_merger`` (listed in ``attrs``).

    Returns
    -------
    pandas.DataFrame
        ``baseline_population`` (by the rule), ``size_class``, ``large``, and
        ``baseline_population_sum``, ``baseline_population_largest_part``,
        ``largest_part`` (code), ``large_by_merger`` (nullable boolean). ``attrs``:
        ``size_rule``, ``large_threshold``, ``baseline_year``, ``merger_crossers``
        (codes), ``merger_crossers_dropped`` (bool), ``size_note``.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"municipality": ["GM0003"] * 2, "year": [2015, 2016],
    ...                       "population": [60_000.0, 61_000.0]})
    >>> parts = pd.DataFrame({"to_code": "GM0003", "year": 2015, "weight": 1.0,
    ...                       "from_code": ["GM0001", "GM0002"],
    ...                       "population": [35_000.0, 25_000.0]})
    >>> out = add_unit_size_classes(panel, parts, baseline_year=2015, size_rule="largest_part")
    >>> out[["size_class", "large", "large_by_merger"]].drop_duplicates().to_dict("records")
    [{'size_class': '20-50k', 'large': False, 'large_by_merger': True}]
    """
    if size_rule not in SIZE_RULES:
        raise ValueError(f"size_rule {size_rule!r}: choose one of {', '.join(SIZE_RULES)}")
    out = add_size_classes(panel, baseline_year=baseline_year, threshold=threshold)
    sizes = unit_parts(parts, baseline_year)
    units = out[MUNICIPALITY]
    for column in (BASELINE_POPULATION_SUM, LARGEST_PART, BASELINE_POPULATION_LARGEST):
        out[column] = units.map(sizes[column])
    if size_rule == "largest_part":
        population = out[BASELINE_POPULATION_LARGEST]
        out[BASELINE_POPULATION] = population
        out[SIZE_CLASS] = size_class(population)
        out[LARGE] = pd.Series(population >= threshold, index=out.index,
                               dtype="boolean").mask(population.isna())
    out[LARGE_BY_MERGER] = large_by_merger(out, threshold)
    crossers = sorted(out.loc[out[LARGE_BY_MERGER].fillna(False), MUNICIPALITY].unique())
    if drop_merger_crossers:
        out = out[~units.isin(crossers)].reset_index(drop=True)
    out.attrs.update(
        size_rule=size_rule, large_threshold=threshold, baseline_year=baseline_year,
        merger_crossers=crossers, merger_crossers_dropped=bool(drop_merger_crossers),
        size_note=size_note(size_rule, baseline_year, threshold, len(crossers),
                            drop_merger_crossers),
    )
    return out


def size_note(rule: str, baseline_year: int, threshold: float, crossers: int,
              dropped: bool) -> str:
    """The size definition in one sentence, for every table that shows size classes."""
    how = ("the sum of its parts (the population within its boundaries)" if rule == "sum"
           else "its largest predecessor's own population")
    return (f"size classes: population of 1 January {baseline_year}, each unit sized by {how} "
            f"(size_rule={rule!r}); {crossers} units reach {threshold:,.0f} only through a "
            f"merger ({'left out' if dropped else 'kept'}; column {LARGE_BY_MERGER})")


__all__ = ["SIZE_RULES", "add_unit_size_classes", "large_by_merger", "size_note", "unit_parts"]
