"""CBS special values: the signs and sentinel numbers that mean "no figure", never 0.

CBS marks a cell it cannot or will not fill with a sign (``.`` not available, ``x``
confidential, ``-`` nil, ``?`` unreliable), with a v4 ``ValueAttribute`` code
(``Impossible``, ``Confidential``, ...), or, in the district maps, with a negative
sentinel number (``-99999999`` ...). Every reader (the API's v3 and v4 files, the
vendored CSV exports, a user's own CSV, the district map) asks this module, so a special
value becomes missing with a status, never 0 and never a number, the same way everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "CBS_SPECIAL_VALUES",
    "SENTINELS",
    "describe",
    "is_sentinel",
    "is_special",
    "sentinel_status",
]

# CBS special values ("speciale tekens") and the v4 ValueAttribute codes. None may
# ever become 0: the value becomes missing and the code is kept in a status column.
CBS_SPECIAL_VALUES: dict[str, str] = {
    ".": "not available",
    "x": "confidential",
    "-": "nil or not applicable",  # CBS "nihil"; kept missing so a user decides
    "?": "unreliable",
    "Impossible": "impossible (e.g. the municipality did not exist that year)",
    "Confidential": "confidential",
    "NotAvailable": "not available",
    "Unreliable": "unreliable",
}

# CBS's negative sentinels in the district maps ("geheim", "onbekend", "niet van toepassing").
SENTINELS: dict[int, str] = {
    -99999999: "suppressed or unknown (CBS -99999999)",
    -99999998: "not applicable (CBS -99999998)",
    -99999997: "confidential (CBS -99999997)",
    -99997: "confidential (CBS -99997)",
    -99998: "not applicable (CBS -99998)",
    -99999: "unknown (CBS -99999)",
}


def is_special(text: pd.Series) -> pd.Series:
    """Whether each (stripped) cell is a CBS special value; missing cells are not.

    Examples
    --------
    >>> is_special(pd.Series([".", "x", "Impossible", "0", None])).tolist()
    [True, True, True, False, False]
    """
    return text.isin(list(CBS_SPECIAL_VALUES)).fillna(False).astype(bool)


def describe(text: pd.Series) -> pd.Series:
    """The meaning of each special value (``x`` -> ``confidential``); missing elsewhere.

    Examples
    --------
    >>> describe(pd.Series(["x", "12"])).isna().tolist()
    [False, True]
    >>> describe(pd.Series(["x"])).iloc[0]
    'confidential'
    """
    return text.map(lambda v: CBS_SPECIAL_VALUES.get(v))


def is_sentinel(values: pd.Series) -> pd.Series:
    """Whether each number is one of CBS's negative sentinels (:data:`SENTINELS`).

    Examples
    --------
    >>> is_sentinel(pd.Series([-99999999.0, -5.0, 3.0])).tolist()
    [True, False, False]
    """
    return values.isin(list(SENTINELS))


def sentinel_status(values: pd.Series) -> pd.Series:
    """The reason for each sentinel (``unknown (CBS -99999)``); None for any other value.

    Examples
    --------
    >>> sentinel_status(pd.Series([-99999.0, 7.0])).tolist()
    ['unknown (CBS -99999)', None]
    """
    hit = is_sentinel(values)
    status = values.map(lambda v: SENTINELS.get(int(v)) if v in SENTINELS else None)
    return status.astype(object).where(hit, None)


def status_of_symbols(text: pd.Series) -> np.ndarray:
    """Each special value as its own status (``"x"``), None elsewhere (the API's form)."""
    return np.where(is_special(text).to_numpy(), text.fillna("").to_numpy(dtype=object), None)
