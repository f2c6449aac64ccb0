"""Robustness as a design: one size comparison over every specification a referee asks for.

A specification curve (Simonsohn, Simmons & Nelson 2020) runs the same comparison over a
grid of defensible choices and shows all of them: the estimates sorted, their intervals,
and beneath them which choices each one made. What it answers: does the headline depend
on the analyst's choices? What it does not: a specification is not more credible for
being in the majority, and the share of intervals that exclude zero is not a p-value
(the specifications share their data and are strongly dependent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs._spec_fit import (
    ESTIMATED,
    ROW_COLUMNS,
    excludes_zero,
    fit_specification,
    width,
)
from analysis.designs._spec_grid import (
    DEFAULTS,
    PanelBuilder,
    build_panels,
    check_grid,
    default_grid,
    fixed_panel,
    panel_key,
    spec_key,
    spec_seed,
    specifications,
)
from analysis.inference.checks import check_draws, check_level
from analysis.reporting.truth import TRUE_PREFIX

DESIGNS = ("growth", "level")


@dataclass
class SpecificationCurve:
    """The curve's table (one row per specification) and its headline.

    ``headline`` is the row of the default choices (``headline_choices``) whose
    interval is widest over the cluster choices; the shares are over the estimated
    specifications.
    """

    outcome: str
    design: str
    log: bool
    level: float
    table: pd.DataFrame
    dimensions: list[str]
    headline_choices: dict[str, Any]
    panel_attrs: dict[str, Any] = field(default_factory=dict)
    panels_built: int = 1

    @property
    def estimated(self) -> pd.DataFrame:
        return self.table[self.table["status"] == ESTIMATED]

    @property
    def headline(self) -> pd.Series:
        """The default specification with the widest interval over the cluster choices."""
        rows = self.estimated
        for dim, value in self.headline_choices.items():
            rows = rows[rows[dim] == value]
        if rows.empty:
            raise ValueError(f"{self.outcome}: no estimated specification has the headline "
                             f"choices {self.headline_choices}; see the table's reasons")
        return rows.loc[width(rows).idxmax()]

    def share_excluding_zero(self, agree: bool = False) -> float:
        """Share of estimated specifications whose interval excludes 0 (and, with
        ``agree``, whose estimate has the headline's sign)."""
        rows = self.estimated
        if rows.empty:
            return float("nan")
        hit = excludes_zero(rows)
        if agree:
            hit &= np.sign(rows["estimate"]) == np.sign(self.headline["estimate"])
        return float(hit.mean())

    def summary_table(self) -> pd.DataFrame:
        """One row: the headline, its widest interval, the shares and the range."""
        head, rows = self.headline, self.estimated
        out = {
            "outcome": self.outcome, "design": self.design, "log": self.log,
            "specifications": len(self.table), "estimated": len(rows),
            "not_estimated": int((self.table["status"] != ESTIMATED).sum()),
            "headline_estimate": head["estimate"], "headline_ci_low": head["ci_low"],
            "headline_ci_high": head["ci_high"], "headline_p": head["p_value"],
            "headline_cluster": head["cluster"], "headline_inference": head["inference"],
            "share_excluding_zero": self.share_excluding_zero(),
            "share_agreeing_excluding_zero": self.share_excluding_zero(agree=True),
            "share_same_sign": float((np.sign(rows["estimate"])
                                      == np.sign(head["estimate"])).mean()),
            "min_estimate": rows["estimate"].min(), "median_estimate": rows["estimate"].median(),
            "max_estimate": rows["estimate"].max(),
        }
        if self.log:
            for col in ("headline_estimate", "headline_ci_low", "headline_ci_high",
                        "min_estimate", "median_estimate", "max_estimate"):
                out[f"percent_{col}"] = 100 * np.expm1(out[col])
        return pd.DataFrame([out])

    def summary(self) -> str:
        """The headline and the shares in words, one line each."""
        s = self.summary_table().iloc[0]
        pct = self.log
        fmt = (lambda v: f"{100 * np.expm1(v):+.1f}%") if pct else (lambda v: f"{v:+.3g}")
        lines = [
            f"specification curve ({self.design}{', log scale' if pct else ''}) of "
            f"{self.outcome}: {s['specifications']} specifications, {s['estimated']} estimated"
            + (f", {s['not_estimated']} not (reasons in the table)" if s["not_estimated"] else ""),
            f"headline ({', '.join(f'{k}={v}' for k, v in self.headline_choices.items())}; "
            f"widest interval over the clusters: {s['headline_cluster']}): "
            f"{fmt(s['headline_estimate'])}, {self.level:.0%} interval "
            f"{fmt(s['headline_ci_low'])} to {fmt(s['headline_ci_high'])}, "
            f"p = {s['headline_p']:.3f} ({s['headline_inference']})",
            f"estimates from {fmt(s['min_estimate'])} to {fmt(s['max_estimate'])} "
            f"(median {fmt(s['median_estimate'])}); "
            f"{s['share_same_sign']:.0%} have the headline's sign; "
            f"{s['share_excluding_zero']:.0%} of the intervals exclude 0, "
            f"{s['share_agreeing_excluding_zero']:.0%} excluding 0 with the headline's sign",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, title: str | None = None):
        """The curve: estimates sorted with intervals, the choices marked beneath."""
        from analysis.designs._spec_plot import plot_curve

        return plot_curve(self, title)


def specification_curve(
    panel: pd.DataFrame | PanelBuilder,
    outcome: str,
    grid: Mapping[str, Sequence] | None = None,
    design: str = "growth",
    log: bool = True,
    group: str = schema.LARGE,
    inference: str = "wild",
    draws: int = 9999,
    level: float = 0.95,
    seed: int = 0,
    headline: Mapping[str, Any] | None = None,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> SpecificationCurve:
    """Run the large-versus-small comparison over a grid of specifications.

    Each specification is :func:`analysis.studies.since2015.growth_gap` (``design=
    "growth"``: difference in growth since the base year, municipality and year effects)
    or :func:`~analysis.studies.since2015.level_gap` (``"level"``: the level gap from the
    base year on, year effects) with one value of every grid dimension:

    * ``base_year``: the growth design's base year (level: the first year compared);
      default the first three years with :data:`~analysis.studies.since2015.MIN_COVERAGE`;
    * ``sample``: ``"all"`` or ``"balanced"`` (municipalities reporting every year used);
    * ``threshold``: inhabitants in the baseline year that make a municipality large;
    * ``cluster``: ``"province"``, ``"youth_care_region"`` (when the panel has it),
      ``"municipality"`` or any other column;
    * ``weighting``: ``"none"`` or ``"population"`` (baseline inhabitants);
    * the builder's panel-level dimensions (see :class:`~analysis.designs._spec_grid.PanelBuilder`):
      each distinct panel is built once.

    Identifying assumption (each specification): without a size-specific effect of the
    reform, large and small municipalities' outcomes would have grown alike after the
    base year (growth), or the gap measures who they are, not what size did (level:
    descriptive). The curve does not test it; it shows how far the answer moves with
    choices that assumption does not settle. It fails as a robustness check when every
    specification shares the same flaw (a booking change common to the large cities
    moves every one of them).

    Inference, per specification: CR1 by the cluster (``G/(G-1) (N-1)/(N-K)``, t with
    G-1 df, as Stata and R fixest) and the restricted wild cluster bootstrap by the same
    cluster (WCR11, Rademacher, two-sided, interval by test inversion; all ``2^G`` sign
    vectors when ``2^G <= draws``, as for the 12 provinces at 9,999 draws). ``inference``
    picks which fills ``ci_low, ci_high, p_value``. The bootstrap seed of a
    specification is derived from ``seed`` and the specification's key (sha256), so the
    table is the same on every backend and in every order.

    Parameters
    ----------
    panel : the panel, or a :class:`PanelBuilder` with panel-level dimensions.
    outcome : outcome column.
    grid : dimension -> values; missing design dimensions raise, so pass
        :func:`~analysis.designs._spec_grid.default_grid` edited, or None for it.
    design : ``"growth"`` or ``"level"``.
    log : on the log scale (estimates in log points; ``percent_`` columns added).
    group : the 0/1 group compared with the rest (``large``: large minus small).
    inference : ``"wild"`` (the default) or ``"cr1"``.
    draws, level, seed : of the wild bootstrap.
    headline : the default choices (base year: the first of the grid; sample ``all``,
        threshold 50,000, weighting ``none``, each panel dimension its default). The
        headline is the one among them with the widest interval over the clusters.
    n_jobs, backend : joblib's; None uses the active ``joblib.parallel_config`` (one
        process by default). ``backend="dask"`` runs on the active
        ``dask.distributed.Client`` (the ``dask`` extra).

    Returns
    -------
    SpecificationCurve: ``table`` (one row per specification: the choices, ``status``
    and ``reason``, ``estimate, std_error, ci_low, ci_high, p_value, inference``, both
    inferences' columns, ``n_units, n_in_group, n_clusters``, ``truth`` on the synthetic
    default's level scale, ``seed``), ``summary()``, ``summary_table()`` and ``plot()``.

    Raises
    ------
    ValueError
        For a malformed grid (unknown dimension, bad value) or headline; choices the
        data cannot support are rows with their reason instead.

    Examples
    --------
    >>> from analysis import simulate_panel
    >>> from analysis.designs.specification_curve import specification_curve
    >>> grid = {"base_year": [2015, 2016], "sample": ["all"], "threshold": [20_000, 50_000],
    ...         "cluster": ["province", "municipality"], "weighting": ["none"]}
    >>> curve = specification_curve(simulate_panel(1).panel, "wmo_per_1000", grid, log=False,
    ...                             draws=999)
    >>> len(curve.table), curve.headline["cluster"] in ("province", "municipality")
    (8, True)
    """
    from joblib import Parallel, delayed, parallel_config

    if design not in DESIGNS:
        raise ValueError(f"specification_curve: design must be one of {DESIGNS}, not {design!r}")
    if inference not in ("wild", "cr1"):
        raise ValueError(f"specification_curve: inference must be 'wild' or 'cr1', not "
                         f"{inference!r}")
    draws, level = check_draws(draws), check_level(level)
    builder = fixed_panel(panel) if isinstance(panel, pd.DataFrame) else panel
    defaults = {d: default for d, (_, default) in builder.dimensions.items()}
    first = build_panels(builder, [tuple(defaults.items())])
    default_panel = next(iter(first.values()))
    if outcome not in default_panel:
        raise KeyError(f"specification_curve: the panel has no column {outcome!r}")
    grid = check_grid(default_grid(default_panel, outcome, builder) if grid is None else grid,
                      builder)
    specs = specifications(grid)
    panels = {**first, **build_panels(builder, [s for s in specs
                                                if panel_key(s, builder) not in first])}
    frames = {k: _slim(p, outcome, grid["cluster"]) for k, p in panels.items()}
    heads = _headline(grid, defaults, headline)
    options = {"design": design, "group": group, "log": log, "draws": draws, "level": level,
               "inference": inference}
    tasks = (delayed(fit_specification)(frames[panel_key(s, builder)], outcome, s,
                                        seed=spec_seed(seed, s), **options) for s in specs)
    if backend is None:  # the active joblib.parallel_config, if any, decides
        rows = Parallel(n_jobs=n_jobs)(tasks)
    else:  # parallel_config registers "dask" (joblib's external backend) on first use
        with parallel_config(backend=backend):
            rows = Parallel(n_jobs=n_jobs)(tasks)
    table = pd.DataFrame(rows, columns=[*grid, *ROW_COLUMNS])
    table.insert(0, "key", [spec_key(s) for s in specs])
    if log:
        for col in ("estimate", "ci_low", "ci_high"):
            table[f"percent_{col}"] = 100 * np.expm1(table[col])
    return SpecificationCurve(outcome, design, log, level, table, list(grid), heads,
                              dict(default_panel.attrs), len(panels))


def _slim(panel: pd.DataFrame, outcome: str, clusters: Sequence[str]) -> pd.DataFrame:
    """Only the columns a specification uses: less to send to every worker."""
    wanted = [schema.MUNICIPALITY, schema.YEAR, schema.BASELINE_POPULATION, outcome,
              TRUE_PREFIX + outcome, *clusters]
    out = panel[[c for c in dict.fromkeys(wanted) if c in panel]].copy()
    out.attrs = {}
    return out


def _headline(grid: dict[str, list], defaults: dict, given: Mapping | None) -> dict:
    heads = {**defaults, "base_year": grid["base_year"][0], **DEFAULTS, **dict(given or {})}
    unknown = [d for d in heads if d not in grid or d == "cluster"]
    if unknown:
        raise ValueError(f"specification_curve: headline dimension(s) {unknown} are not grid "
                         "dimensions (the cluster is chosen as the widest interval)")
    outside = {d: v for d, v in heads.items() if v not in grid[d]}
    if outside:
        raise ValueError(f"specification_curve: headline choice(s) {outside} are not in the "
                         "grid")
    return heads
