"""Ground truth beside the estimate, for panels built from the synthetic default.

The synthetic generator stores every unit-year's true reform effect
(``true_effect__<outcome>``). A linear design's estimand is that same design run on
the true-effect column: what the estimator would return with no noise and no unit or
year effects. Showing it beside the estimate lets a reader see whether a design
recovers the truth, and by how much it misses when its assumption fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analysis.data import schema
from analysis.data.synthetic.generator import DEFAULT_SEED, simulate_panel

TRUE_PREFIX = "true_effect__"


def attach_true_effects(panel: pd.DataFrame) -> pd.DataFrame:
    """Add ``true_effect__<outcome>`` columns to a synthetic panel built from files.

    The built panel lies on the generator's own 2023 boundaries, so its units are the
    generator's units; the effects are drawn again in memory from the manifest's seed.

    Raises
    ------
    ValueError
        When the panel is not synthetic (real data has no known truth) or its
        municipalities are not the generator's.
    """
    if not panel.attrs.get("synthetic", False):
        raise ValueError("only the synthetic default has a known truth; this panel is real data")
    if any(c.startswith(TRUE_PREFIX) for c in panel.columns):
        return panel
    seed = int(panel.attrs.get("seed", DEFAULT_SEED))
    sim = simulate_panel(seed).panel
    keys = [schema.MUNICIPALITY, schema.YEAR]
    effects = sim[keys + [c for c in sim.columns if c.startswith(TRUE_PREFIX)]]
    merged = panel.merge(effects, on=keys, how="left", validate="one_to_one")
    unmatched = merged.loc[merged[effects.columns[-1]].isna(), schema.MUNICIPALITY].unique()
    if len(unmatched):
        raise ValueError(
            f"{len(unmatched)} municipalities are not the generator's (e.g. {unmatched[0]}): "
            "build on the generator's boundary year 2023 to compare with the truth"
        )
    merged.attrs = dict(panel.attrs)
    return merged


def true_estimate(
    design: Callable[..., object], panel: pd.DataFrame, outcome: str, **options: object
) -> pd.Series:
    """The design's estimand: the design run on the true-effect column of ``outcome``.

    Returns the point estimate of every term, indexed by term.

    Examples
    --------
    >>> from analysis.designs.did_2x2 import did_2x2  # doctest: +SKIP
    >>> true_estimate(did_2x2, attach_true_effects(panel), "wmo_per_1000")  # doctest: +SKIP
    """
    column = TRUE_PREFIX + outcome
    if column not in panel:
        raise KeyError(f"{column!r} not in the panel: call attach_true_effects first")
    result = design(panel, outcome=column, **options)
    table = result.table.set_index("term")["estimate"]
    return table.rename("truth")


def beside_truth(result: object, truth: pd.Series) -> pd.DataFrame:
    """Estimate, 95% CI and truth per term, and whether the interval covers the truth."""
    table = result.table[["term", "estimate", "ci_low", "ci_high"]].copy()
    table["truth"] = table["term"].map(truth)
    table["covered"] = (table["ci_low"] <= table["truth"]) & (table["truth"] <= table["ci_high"])
    return table
