"""The one-screen robustness summary: each outcome's headline read from its specification curve.

Per outcome, :func:`headline_table` runs
:func:`~analysis.designs.specification_curve.specification_curve` on a grid small
enough for a notebook run and keeps one row: the
headline estimate (the default choices), its widest interval over the cluster choices,
the share of specifications that agree with it in sign and exclude 0, the number of
specifications, and how many cells of the outcome the screening flagged. The share is
not a p-value: the specifications share their data and are strongly dependent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.designs._spec_grid import CLUSTERS, PanelBuilder, default_base_years
from analysis.designs.specification_curve import SpecificationCurve, specification_curve

SCREEN_PREFIX = "screen:"
SUMMARY_DRAWS = 999
SUMMARY_COLUMNS = [
    "outcome", "headline_estimate", "headline_ci_low", "headline_ci_high", "headline_cluster",
    "share_agreeing_excluding_zero", "specifications", "estimated", "screening_flags", "log",
]


def notebook_grid(panel: pd.DataFrame, outcome: str, base_years: int = 2) -> dict[str, list]:
    """The summary's grid: the first ``base_years`` base years x sample (all, balanced) x
    threshold (20k, 50k, 100k) x the cluster columns the panel has (province, youth-care
    region, municipality) x weighting (none, population): at most 72 specifications."""
    return {
        "base_year": default_base_years(panel, outcome)[:base_years],
        "sample": ["all", "balanced"], "threshold": [20_000, 50_000, 100_000],
        "cluster": [c for c in CLUSTERS if c == "municipality" or c in panel],
        "weighting": ["none", "population"],
    }


def screening_flags(panel: pd.DataFrame, outcome: str) -> int:
    """Unit-years of ``outcome`` whose ``<column>_status`` carries a ``screen:`` code, for
    the outcome's own column or (a rate, :data:`analysis.data.schema.OUTCOMES`) its
    numerator's or denominator's."""
    from analysis.data import schema

    spec = schema.OUTCOMES.get(outcome)
    columns = [outcome] + ([spec.numerator, spec.denominator] if spec is not None else [])
    hit = pd.Series(False, index=panel.index)
    for column in columns:
        status = panel.get(f"{column}_status")
        if status is not None:
            hit |= status.astype("string").str.contains(SCREEN_PREFIX, regex=False).fillna(False)
    return int(hit.sum())


def headline_table(
    panel: pd.DataFrame | PanelBuilder,
    outcomes: Sequence[str],
    grid: Mapping[str, Sequence] | None = None,
    log: bool = True,
    draws: int = SUMMARY_DRAWS,
    seed: int = 0,
    curves: dict[str, SpecificationCurve] | None = None,
) -> pd.DataFrame:
    """One row per outcome: the headline of its specification curve (growth design).

    Identifying assumption (each specification, as :func:`specification_curve`): without
    a size-specific effect of the reform, large and small municipalities' outcomes would
    have grown alike after the base year. The table shows how far the answer moves with
    the choices that assumption leaves open; it fails as a check when every
    specification shares one flaw (a booking change common to the large cities).

    Inference: the restricted wild cluster bootstrap (WCR11, Rademacher, ``draws`` draws,
    all sign vectors when ``2^G <= draws``) by each cluster choice; the headline interval
    is the widest over the clusters, never the narrowest.

    Parameters
    ----------
    panel : the panel or a :class:`PanelBuilder`
        (e.g. :func:`~analysis.designs.specification_curve.source_panels`).
    outcomes : outcome columns; one without an estimable headline is a row whose
        estimate is missing.
    grid : the same grid for every outcome; None: :func:`notebook_grid` per outcome.
    log : log scale (estimates in log points, ``percent_`` columns added).
    draws, seed : of the wild bootstrap.
    curves : a dict that receives each outcome's curve (for ``curve.plot()``).

    Returns
    -------
    DataFrame with :data:`SUMMARY_COLUMNS` (and ``percent_`` columns when ``log``);
    ``attrs["grid"]`` holds each outcome's grid, ``attrs["draws"]`` the draws.

    Examples
    --------
    >>> from analysis import simulate_panel
    >>> table = headline_table(simulate_panel(1).panel, ["wmo_per_1000"], log=False,
    ...                        draws=99)  # doctest: +SKIP
    """
    default = panel if isinstance(panel, pd.DataFrame) else panel()
    rows, grids = [], {}
    for outcome in outcomes:
        spec_grid = dict(grid) if grid is not None else notebook_grid(default, outcome)
        grids[outcome] = {k: list(v) for k, v in spec_grid.items()}
        curve = specification_curve(panel, outcome, spec_grid, log=log, draws=draws, seed=seed)
        if curves is not None:
            curves[outcome] = curve
        rows.append(_row(curve, screening_flags(default, outcome)))
    table = pd.DataFrame(rows)
    table.attrs = {"grid": grids, "draws": draws, "inference": "wild cluster bootstrap (WCR11)",
                   "design": "growth", "log": log}
    return table


def _row(curve: SpecificationCurve, flags: int) -> dict[str, Any]:
    row: dict[str, Any] = {"outcome": curve.outcome, "specifications": len(curve.table),
                           "estimated": len(curve.estimated), "screening_flags": flags,
                           "log": curve.log}
    try:
        s = curve.summary_table().iloc[0]
    except ValueError:  # no estimated headline: the row says so by its missing estimate
        return {**row, "headline_estimate": float("nan"), "headline_ci_low": float("nan"),
                "headline_ci_high": float("nan"), "headline_cluster": None,
                "share_agreeing_excluding_zero": float("nan")}
    row.update({k: s[k] for k in SUMMARY_COLUMNS if k in s and k not in row})
    if "truth" in curve.table and curve.headline.notna().get("truth", False):
        row["truth"] = curve.headline["truth"]  # synthetic: the known effect, same scale
    if curve.log:
        row.update({k: s[k] for k in s.index if str(k).startswith("percent_headline")})
    return row


def grid_text(table: pd.DataFrame) -> str:
    """The grid of a :func:`headline_table` in words, one outcome's dimensions."""
    grids = table.attrs.get("grid", {})
    if not grids:
        return ""
    parts = []
    for dim in next(iter(grids.values())):
        values = sorted({str(v) for g in grids.values() for v in g.get(dim, [])})
        parts.append(f"{dim} in {{{', '.join(values)}}}")
    return (f"grid: {'; '.join(parts)}; {table.attrs.get('draws')} wild-bootstrap draws; "
            "headline: sample all, threshold 50,000, weighting none, widest interval over "
            "the clusters")



def curve_rows(curves: Mapping[str, SpecificationCurve]) -> pd.DataFrame:
    """Every specification of every outcome, one table with ``outcome, estimate, ci_low,
    ci_high`` (in percent when the curve is on the log scale), as
    :func:`analysis.reporting.readings.interval_sentences` takes for ``curve=``."""
    frames = []
    for outcome, curve in curves.items():
        rows = curve.estimated
        cols = (["percent_estimate", "percent_ci_low", "percent_ci_high"] if curve.log
                else ["estimate", "ci_low", "ci_high"])
        frames.append(pd.DataFrame({"outcome": outcome, "estimate": rows[cols[0]].to_numpy(),
                                    "ci_low": rows[cols[1]].to_numpy(),
                                    "ci_high": rows[cols[2]].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


__all__ = ["curve_rows", "grid_text", "headline_table", "notebook_grid", "screening_flags"]
