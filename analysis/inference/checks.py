"""What every estimator refuses, and what it handles, before any arithmetic.

Every design calls :func:`check_design_input` first, and the wild cluster bootstrap
calls :func:`check_level` and :func:`check_draws`, so a bad input stops at the
entry with a sentence that names the column, term or argument and says what to
do, never deep inside numpy or pandas. The policy:

=====================================  ===========================================
input                                  outcome
=====================================  ===========================================
column not in the data                 ``KeyError`` listing the columns there are
the same regressor listed twice        ``ValueError`` naming it
text, categorical or date regressor    ``TypeError`` naming it: make dummies
                                       (``pd.get_dummies``) or numbers
                                       (``pd.to_numeric``)
``inf`` / ``-inf`` in a used column    ``ValueError`` naming the column and the
                                       first rows (usually a rate divided by a
                                       population of 0): set them to NaN to drop
weights zero or negative               ``ValueError`` naming the column
text time column where a design        ``TypeError``: convert the periods to
compares periods with a reform year    numbers
missing entity, time or subgroup       rows dropped and reported in the notes,
                                       like rows with a missing outcome
=====================================  ===========================================

The rest is checked where it can be seen, in :func:`analysis.inference.linear.fit_linear`:
a regressor absorbed by the fixed effects, (near-)collinear regressors, an
outcome without variation or fitted exactly, and no residual degrees of freedom
(N <= K) each raise a ``ValueError`` naming the terms.

Example
-------
>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"unit": [1, 1, 2, 2], "year": [2014, 2015, 2014, np.nan],
...                    "y": [1.0, 2.0, 3.0, 4.0], "x": ["a", "b", "a", "b"]})
>>> data, notes = check_design_input(df, "twfe", outcome="y", ids=["unit", "year"])
>>> len(data), notes[0][:37]
(3, 'dropped 1 of 4 rows with a missing id')
>>> check_design_input(df, "twfe", outcome="y", numeric=["x"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: twfe: column 'x' holds text ('a', 'b'), not numbers: a regression needs numbers; ...
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd


def require_columns(df: pd.DataFrame, columns: Sequence[str], design: str) -> None:
    """``KeyError`` naming the columns that are not in ``df``."""
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise KeyError(
            f"{design}: column(s) {missing} not in the data; available: {list(df.columns)}"
        )


def _describe(values: pd.Series) -> str:
    return ", ".join(repr(v) for v in pd.unique(values.dropna())[:3])


def _require_numeric(
    df: pd.DataFrame, column: str, design: str, role: str, override: str | None = None
) -> None:
    s = df[column]
    if pd.api.types.is_bool_dtype(s) or (
        pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
    ):
        return
    if isinstance(s.dtype, pd.CategoricalDtype):
        kind, fix = "categories", (
            "make one 0/1 column per category (pd.get_dummies) and give those, leaving one "
            "out as the reference"
        )
    elif pd.api.types.is_datetime64_any_dtype(s):
        kind, fix = "dates", "convert them to numbers, e.g. df[col].dt.year"
    else:
        kind, fix = "text", (
            "convert it with pd.to_numeric if it holds numbers written as text, or make "
            "one 0/1 column per value (pd.get_dummies) if it is a category"
        )
    raise TypeError(
        f"{design}: column {column!r} holds {kind} ({_describe(s)}), not numbers: "
        f"{role}; {fix if override is None else override}"
    )


def _where(df: pd.DataFrame, mask: pd.Series, ids: Sequence[str]) -> str:
    """The first offending rows, by their ids where there are any (else their index)."""
    rows = df.loc[mask, list(ids)].head(3) if ids else df.loc[mask].head(3)
    if ids:
        return "; ".join(
            ", ".join(f"{c}={v!r}" if isinstance(v, str) else f"{c}={v}" for c, v in r.items())
            for r in rows.to_dict("records")
        )
    return "rows " + ", ".join(map(str, rows.index))


def _refuse_infinite(df: pd.DataFrame, column: str, design: str, ids: Sequence[str]) -> None:
    values = df[column].to_numpy(dtype=float, na_value=np.nan)
    bad = pd.Series(np.isinf(values), index=df.index)
    if bad.any():
        raise ValueError(
            f"{design}: column {column!r} is infinite in {int(bad.sum())} row(s) "
            f"({_where(df, bad, ids)}); often a rate divided by a population of 0. A "
            "regression cannot use them: fix the source, or set them to NaN "
            "(df[col].replace([np.inf, -np.inf], np.nan)) to drop those rows with a note"
        )


def _refuse_repeats(names: Sequence[str], design: str) -> None:
    seen: set[str] = set()
    repeats = [n for n in names if n in seen or seen.add(n)]
    if repeats:
        raise ValueError(
            f"{design}: regressor(s) {sorted(set(repeats))} listed more than once: a "
            "coefficient is identified once; list each column once"
        )


def _drop_missing_ids(
    df: pd.DataFrame, ids: Sequence[str], design: str
) -> tuple[pd.DataFrame, list[str]]:
    if not ids:
        return df, []
    missing = df[list(ids)].isna()
    bad = missing.any(axis=1)
    if not bad.any():
        return df, []
    counts = ", ".join(f"{c}: {int(n)}" for c, n in missing.sum().items() if n)
    note = (
        f"dropped {int(bad.sum())} of {len(df)} rows with a missing id ({counts}), "
        f"e.g. rows {list(df.index[bad][:3])}"
    )
    if bad.all():
        raise ValueError(f"{design}: every row has a missing id ({counts})")
    return df.loc[~bad], [note]


def check_design_input(
    df: pd.DataFrame,
    design: str,
    *,
    outcome: str,
    numeric: Sequence[str] = (),
    ids: Sequence[str | None] = (),
    time: str | None = None,
    weights: str | None = None,
    other: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Check a design's data at its entry; return the rows it can use and the notes.

    Parameters
    ----------
    df : the data as the user gave it.
    design : name used in the messages.
    outcome : outcome column (numeric, finite or missing).
    numeric : regressor-like columns the user named (covariates, treatment, dose,
        size): numeric, finite or missing, each listed once.
    ids : entity, time, subgroup columns (None entries are skipped): rows where
        one is missing are dropped and reported.
    time : the period column when the design compares periods with a reform
        year (it must then be numeric and finite); None when periods are only labels.
    weights : regression weights column: numeric, finite and positive where present.
    other : further columns that must exist (e.g. cluster columns).

    Returns
    -------
    (data, notes): ``df`` without rows missing an id (a copy), and what was dropped.

    Raises
    ------
    KeyError, TypeError, ValueError
        As in the module's table.
    """
    id_cols = list(dict.fromkeys(c for c in ids if c))
    numeric = list(numeric)
    require_columns(df, [outcome, *numeric, *id_cols, *(c for c in (time, weights) if c),
                         *other], design)
    _refuse_repeats(numeric, design)
    _require_numeric(df, outcome, design, f"the outcome {outcome!r} must be numeric")
    for c in numeric:
        _require_numeric(df, c, design, "a regression needs numbers")
    if time:
        _require_numeric(
            df, time, design, f"{design} compares periods with the reform year",
            "convert the periods to numbers (pd.to_numeric, or .dt.year for dates)",
        )
    if weights:
        _require_numeric(df, weights, design, "regression weights must be numbers")
    data, notes = _drop_missing_ids(df, id_cols, design)
    for c in dict.fromkeys([outcome, *numeric, *(c for c in (time, weights) if c)]):
        _refuse_infinite(data, c, design, id_cols)
    if weights:
        w = data[weights]
        bad = w.notna() & (w <= 0)
        if bad.any():
            raise ValueError(
                f"{design}: weights column {weights!r} is zero or negative in "
                f"{int(bad.sum())} row(s) ({_where(data, bad, id_cols)}); weights must be "
                "positive: drop those rows or set their weight to NaN to drop them with a note"
            )
    return data.copy(), notes


def check_level(level: float, name: str = "level") -> float:
    """A confidence level strictly between 0 and 1 (0.95, not 95)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1 (e.g. 0.95 for a 95% "
            f"interval), not {level!r}"
        )
    return float(level)


def check_draws(draws: int, name: str = "draws") -> int:
    """A positive whole number of bootstrap draws."""
    if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
        raise ValueError(
            f"{name} must be a whole number of bootstrap draws of at least 1 (9999 is "
            f"usual; with few clusters every sign vector is enumerated), not {draws!r}"
        )
    return int(draws)
