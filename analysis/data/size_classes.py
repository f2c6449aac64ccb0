"""Municipal size: the large/small threshold and the CBS size classes, side by side.

The reform question "did small municipalities (under 50,000 inhabitants) manage better"
uses :data:`LARGE_THRESHOLD`; the SCP-style tables use the CBS size classes
(gemeentegrootteklassen) of :data:`SIZE_CLASS_EDGES`. Which population a unit is sized on
(baseline year, sum of merger parts or largest part) is decided in
:mod:`analysis.data.sizing`; this module only holds the cut points and the classing.
:mod:`analysis.data.schema` re-exports every name, so ``schema.LARGE_THRESHOLD`` keeps
working.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LARGE_THRESHOLD = 50_000  # "small" municipalities: under 50,000 inhabitants

# CBS size classes (gemeentegrootteklassen) used in SCP reporting, in inhabitants.
SIZE_CLASS_EDGES = (20_000, 50_000, 100_000)
SIZE_CLASSES = ("<20k", "20-50k", "50-100k", ">=100k")
SIZE_CLASS = "size_class"  # panel column holding the class
LARGE = "large"  # panel column: True when baseline population >= LARGE_THRESHOLD


def size_class(population: pd.Series | np.ndarray) -> pd.Categorical:
    """CBS size class of each population figure: <20k, 20-50k, 50-100k, >=100k.

    Examples
    --------
    >>> list(size_class(np.array([19_999, 20_000, 75_000, 100_000, np.nan])))
    ['<20k', '20-50k', '50-100k', '>=100k', nan]
    """
    pop = np.asarray(population, dtype=float)
    codes = np.searchsorted(np.asarray(SIZE_CLASS_EDGES, dtype=float), pop, side="right")
    codes = np.where(np.isnan(pop), -1, codes)
    return pd.Categorical.from_codes(codes, categories=list(SIZE_CLASSES), ordered=True)
