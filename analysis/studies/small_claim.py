"""Do municipalities under 50,000 inhabitants cope better? The claim put to the data.

The public debate holds that small municipalities (under 50,000 inhabitants) handle
the 2015 tasks better, or report fewer problems. What registers can test is narrower:
whether small municipalities show *lower use and cost* per inhabitant (level), and
whether their use and cost *grew less* after 2015 (growth), compared with large ones
in the same years. Each comparison is one hypothesis; testing several outcomes at 5%
each finds "something" too often, so the family is adjusted (Holm and
Benjamini-Hochberg on the wild-bootstrap p-values, and the Romano-Wolf step-down on
the shared bootstrap draws of :func:`analysis.run_many`). Inference is the restricted
wild cluster bootstrap by the 12 provinces; the CR1 interval by municipality is beside it.

What a result cannot mean: lower use is not better coping (it can be unmet need);
a level gap mixes management with population (age, income, urbanity); and size
goes with region and history, so neither design isolates size itself.

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> table = claim_tests(simulate_panel(1).panel, ["wmo_per_1000", "bijstand_per_1000"],
...                     draws=99)
>>> sorted(table["design"].unique())
['growth', 'level']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from analysis.data import schema
from analysis.designs.run_many import run_many
from analysis.inference.multiple import adjust_pvalues
from analysis.studies.since2015 import DESIGNS, SMALL, _sure, describe, mark_size, size_gap_table

THRESHOLDS = (20_000, 50_000, 100_000)


def claim_family(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    design: str = "growth",
    threshold: float = schema.LARGE_THRESHOLD,
    log: bool = True,
    draws: int = 9999,
    seed: int = 0,
    group: str = SMALL,
) -> pd.DataFrame:
    """Small minus large on every outcome, one design, with the family adjusted.

    Returns the :func:`analysis.studies.since2015.size_gap_table` rows (group ``small``) with
    ``p_holm`` and ``p_bh`` (on the wild-bootstrap p-values) and ``p_romano_wolf``.
    A common sample is not imposed: every outcome keeps its own years, but the
    bootstrap clusters (the provinces) are the same, which Romano-Wolf needs.
    """
    table = size_gap_table(panel, outcomes, design=design, threshold=threshold,
                           group=group, log=log, draws=draws, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few clusters: that is why the bootstrap is used
        family = run_many(mark_size(panel, threshold), outcomes, design=DESIGNS[design],
                          adjust=(), romano_wolf_draws=draws, seed=seed, group=group,
                          log=log, cluster=schema.PROVINCE)
    table["p_holm"] = adjust_pvalues(table["wild_p"], "holm")
    table["p_bh"] = adjust_pvalues(table["wild_p"], "bh")
    table["p_romano_wolf"] = family["p_romano_wolf"].to_numpy()
    return table


def claim_tests(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    threshold: float = schema.LARGE_THRESHOLD,
    log: bool = True,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """Both designs (level, growth) at one threshold; each design is its own family."""
    return pd.concat(
        [claim_family(panel, outcomes, design, threshold, log, draws, seed)
         for design in ("level", "growth")],
        ignore_index=True,
    )


def threshold_sensitivity(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    thresholds: Sequence[float] = THRESHOLDS,
    log: bool = True,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`claim_tests` with "small" defined at each threshold."""
    return pd.concat(
        [claim_tests(panel, outcomes, t, log, draws, seed) for t in thresholds],
        ignore_index=True,
    )


def plain_claim(table: pd.DataFrame, level: float = 0.05) -> str:
    """The claim's test in words: one sentence per comparison and a verdict.

    Reads ``percent_*`` columns (log scale). The verdict counts comparisons whose
    Romano-Wolf p-value is below ``level`` and says in which direction they go.
    """
    lines = []
    for row in table.itertuples(index=False):
        label, _ = describe(row.outcome)
        lower = row.estimate < 0
        what = (f"{abs(row.percent_estimate):.1f}% {'lower' if lower else 'higher'} "
                f"in {row.base_year}-{row.last_year}" if row.design == "level" else
                f"grew {abs(row.percent_estimate):.1f}% {'less' if lower else 'more'} from "
                f"{row.base_year} to {row.base_year + 1}-{row.last_year}")
        lines.append(
            f"- {label}: {what} in municipalities under {row.threshold:,} than in larger ones "
            f"(95% wild-bootstrap interval {row.percent_wild_ci_low:+.1f}% to "
            f"{row.percent_wild_ci_high:+.1f}%; Romano-Wolf p = {row.p_romano_wolf:.3f}): "
            f"{_sure(row.p_romano_wolf, level)} after adjusting for the family."
        )
    lines.append(verdict(table, level))
    return "\n".join(lines)


def verdict(table: pd.DataFrame, level: float = 0.05) -> str:
    """One sentence: how many comparisons survive Romano-Wolf, and which way they point."""
    hits = table[table["p_romano_wolf"] < level]
    lower = hits[hits["estimate"] < 0]
    if hits.empty:
        return (f"Verdict: none of the {len(table)} comparisons distinguishes municipalities "
                f"under the threshold from larger ones after adjustment; the data do not "
                "support the claim that they fare better, nor that they fare worse.")
    names = "; ".join(f"{describe(r.outcome)[0]} ({r.design})" for r in hits.itertuples())
    return (f"Verdict: {len(hits)} of {len(table)} comparisons survive the Romano-Wolf "
            f"adjustment ({names}); {len(lower)} of them show lower use or cost in small "
            "municipalities. Lower use is not by itself better coping.")


__all__ = ["claim_family", "claim_tests", "threshold_sensitivity", "plain_claim", "verdict"]
