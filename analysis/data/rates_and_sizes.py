"""Rates recomputed from numerator and denominator, and baseline size classes.

Rates are always recomputed from their parts (never averaged), and a municipality's
size class comes from its population in the baseline year and holds for all its years.
"""

from __future__ import annotations

import warnings

import pandas as pd

from analysis.data.schema import (
    BASELINE_POPULATION,
    BASELINE_YEAR,
    LARGE,
    LARGE_THRESHOLD,
    MUNICIPALITY,
    OUTCOMES,
    POPULATION,
    SIZE_CLASS,
    YEAR,
    size_class,
)
from analysis.data.validation import as_numbers

__all__ = ["MissingBaselineWarning", "add_rates", "add_size_classes"]


class MissingBaselineWarning(UserWarning):
    """Some municipalities have no baseline population, so no size class."""



def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Recompute every rate outcome from its numerator and denominator.

    ``rate = numerator / denominator * per`` for each outcome in
    :data:`analysis.data.schema.OUTCOMES` whose two columns are present. A missing
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
        numerator = as_numbers(out[outcome.numerator])
        denominator = as_numbers(out[outcome.denominator])
        out[outcome.name] = numerator / denominator.where(denominator != 0) * outcome.per
    return out


def add_size_classes(
    df: pd.DataFrame, baseline_year: int = BASELINE_YEAR, threshold: float = LARGE_THRESHOLD
) -> pd.DataFrame:
    """Attach each municipality's baseline population, size class and large flag.

    The classes come from the ``population`` of ``baseline_year`` and hold for every
    year of the municipality, so a unit that grows past the threshold later keeps its
    baseline class (the classification must not respond to the reform). The class
    edges are :data:`analysis.data.schema.SIZE_CLASS_EDGES`; ``threshold`` sets ``large``.

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
    baseline = as_numbers(at_baseline.set_index(MUNICIPALITY)[POPULATION])
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
