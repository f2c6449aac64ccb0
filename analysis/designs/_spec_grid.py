"""The grid of a specification curve: its dimensions, specifications, seeds and panels.

Two kinds of dimension:

* **panel-level** choices change the panel itself (how sizes are defined, whether the
  build screens cells): a :class:`PanelBuilder` declares them, and each distinct
  combination is built once (:func:`build_panels`);
* **design-level** choices (:data:`DESIGN_DIMENSIONS`) are applied to a built panel:
  the base year, the sample, the size threshold, the cluster and the weighting.

A specification is a tuple of ``(dimension, value)`` pairs in a fixed order; its key
(``"base_year=2017|sample=all|..."``) seeds its bootstrap, so results do not depend on
the order in which the specifications run nor on the machine they run on.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import pandas as pd

from analysis.data import schema

DESIGN_DIMENSIONS = ("base_year", "sample", "threshold", "cluster", "weighting")
# balanced: municipalities with the outcome in every year used; no_merger_crossers: without
# the units whose parts reach the threshold only together (analysis.data.sizing)
SAMPLES = ("all", "balanced", "no_merger_crossers")
WEIGHTINGS = ("none", "population")  # population: weighted by baseline inhabitants
THRESHOLDS = (20_000, 50_000, 100_000)
# "municipality" names the unit itself; any other value names a panel column
CLUSTERS = ("province", "youth_care_region", "municipality")
DEFAULTS: dict[str, Any] = {
    "sample": "all", "threshold": schema.LARGE_THRESHOLD, "weighting": "none",
}

Spec = tuple[tuple[str, Any], ...]


@dataclass
class PanelBuilder:
    """Builds the panel of one combination of panel-level choices.

    ``dimensions`` maps each panel-level dimension to ``(allowed values, default)``;
    ``build(**choices)`` returns the panel for one combination. With no dimensions the
    builder stands for one fixed panel.
    """

    build: Callable[..., pd.DataFrame]
    dimensions: dict[str, tuple[tuple, Any]] = field(default_factory=dict)
    name: str = "panel"

    def __call__(self, **choices: Any) -> pd.DataFrame:
        return self.build(**choices)


def fixed_panel(panel: pd.DataFrame) -> PanelBuilder:
    """A builder with no panel-level dimension: every specification uses ``panel``."""
    return PanelBuilder(lambda: panel, {}, "the given panel")


def source_panels(source: str = "statline", boundary_year: int = 2023) -> PanelBuilder:
    """The built panel of a source for each panel-level choice, with youth-care regions.

    Dimensions (first value the build's default):

    * ``screening``: ``"on"`` or ``"off"`` (:mod:`analysis.data.screening`);
    * ``size_rule``: ``"sum"`` of a merged unit's parts or its ``"largest_part"``
      (:mod:`analysis.data.sizing`), in the base year of the build;
    * ``missing_parts``: ``"missing"`` (a unit is missing when any part is) or ``"scale"``
      (scaled from its reporting parts when the others hold under 5 % of its inhabitants;
      :mod:`analysis.data.partial_units`).

    Panels are stored as the build stores them (``data/processed``, one file per
    options' tag); a screening other than the stored default panel's goes to
    ``data/processed/speccurve_screening_<choice>/``, so the panel the notebooks read is
    never replaced. The youth-care region (CBS 83287NED,
    :func:`~analysis.data.regions.load_regions`) is added when the panel lacks it; sizes as
    :func:`analysis.studies.since2015.complete_sizes`.
    """
    from analysis.data.options import MISSING_PARTS
    from analysis.data.sizing import SIZE_RULES

    def build(screening: str = "on", size_rule: str = SIZE_RULES[0],
              missing_parts: str = MISSING_PARTS[0]) -> pd.DataFrame:
        return _source_panel(source, boundary_year, screening, size_rule, missing_parts)

    return PanelBuilder(build, {"screening": (("on", "off"), "on"),
                                "size_rule": (tuple(SIZE_RULES), SIZE_RULES[0]),
                                "missing_parts": (tuple(MISSING_PARTS), MISSING_PARTS[0])},
                        f"{source} panel on {boundary_year} boundaries")


def _source_panel(source: str, boundary_year: int, screening: str, size_rule: str,
                  missing_parts: str) -> pd.DataFrame:
    import json

    from analysis.data import paths
    from analysis.data.build import panel_path, read_panel
    from analysis.data.options import PanelOptions
    from analysis.data.screening import ScreeningSettings
    from analysis.studies.since2015 import complete_sizes

    settings = ScreeningSettings(enabled=screening == "on")
    options = PanelOptions(size_rule=size_rule, missing_parts=missing_parts)
    sidecar = panel_path(paths.PROCESSED, source, boundary_year, options).with_suffix(".json")
    # The stored panel is used (and rebuilt if stale) unless it was screened the other
    # way (on/off); when there is none yet, only the default screening may become it, as
    # read_panel(screening=None), what the notebooks call, keeps what is stored.
    if sidecar.is_file():
        recorded = json.loads(sidecar.read_text()).get("screening", {}).get("settings", {})
        stored = recorded.get("enabled", True) == settings.enabled
    else:
        stored = screening == "on"
    out_dir = paths.PROCESSED if stored else paths.PROCESSED / f"speccurve_screening_{screening}"
    panel = read_panel(source, boundary_year, out_dir=out_dir, options=options,
                       screening=settings)
    return complete_sizes(with_regions(panel, boundary_year))


def with_regions(panel: pd.DataFrame, boundary_year: int) -> pd.DataFrame:
    """Add ``youth_care_region`` (CBS 83287NED) unless the panel has it; the synthetic
    default's codes are not CBS's, so it is left without (a cluster choice on it is then
    a row with that reason)."""
    from analysis.data.regions import YOUTH_CARE_REGION, load_regions

    if YOUTH_CARE_REGION in panel or panel.attrs.get("synthetic", False):
        return panel
    regions = load_regions(boundary_year).set_index(schema.MUNICIPALITY)[YOUTH_CARE_REGION]
    out = panel.assign(**{YOUTH_CARE_REGION: panel[schema.MUNICIPALITY].map(regions)})
    out.attrs = dict(panel.attrs)
    return out


def check_grid(grid: Mapping[str, Sequence], builder: PanelBuilder) -> dict[str, list]:
    """Validate the grid; every dimension gets a list of distinct values.

    Panel-level dimensions the grid leaves out take the builder's default; design-level
    ones must all be given (:func:`default_grid` fills them).

    Raises
    ------
    ValueError
        Naming the dimension: unknown, empty, repeated or invalid values.
    """
    known = [*builder.dimensions, *DESIGN_DIMENSIONS]
    unknown = [d for d in grid if d not in known]
    if unknown:
        raise ValueError(f"specification_curve: unknown grid dimension(s) {unknown}; "
                         f"this panel builder knows {known}")
    out: dict[str, list] = {}
    for dim in known:
        if dim not in grid:
            if dim in builder.dimensions:
                out[dim] = [builder.dimensions[dim][1]]
                continue
            raise ValueError(f"specification_curve: the grid has no {dim!r} values")
        values = [grid[dim]] if isinstance(grid[dim], str | Real) else list(grid[dim])
        if not values:
            raise ValueError(f"specification_curve: grid dimension {dim!r} has no values")
        if len(set(values)) < len(values):
            raise ValueError(f"specification_curve: grid dimension {dim!r} repeats a value "
                             f"({values})")
        _check_values(dim, values, builder)
        out[dim] = values
    return out


def _check_values(dim: str, values: list, builder: PanelBuilder) -> None:
    allowed = {"sample": SAMPLES, "weighting": WEIGHTINGS}.get(dim)
    if dim in builder.dimensions:
        allowed = builder.dimensions[dim][0]
    bad = [v for v in values if allowed is not None and v not in allowed]
    if dim == "threshold":
        bad = [v for v in values if not isinstance(v, Real) or isinstance(v, bool) or v <= 0]
    if dim == "base_year":
        bad = [v for v in values if not isinstance(v, Integral) or isinstance(v, bool)]
    if dim == "cluster":
        bad = [v for v in values if not isinstance(v, str) or not v]
    if bad:
        what = f"one of {list(allowed)}" if allowed is not None else {
            "threshold": "positive numbers of inhabitants", "base_year": "integer years",
            "cluster": "column names (or 'municipality')"}[dim]
        raise ValueError(f"specification_curve: grid dimension {dim!r} has invalid value(s) "
                         f"{bad}: give {what}")


def default_base_years(panel: pd.DataFrame, outcome: str, n: int = 3) -> list[int]:
    """The first ``n`` base years that cover most municipalities and leave two later years.

    The first is :func:`analysis.studies.since2015.base_year_for`, the notebooks' choice.
    """
    from analysis.studies.since2015 import MIN_COVERAGE

    units = panel[schema.MUNICIPALITY].nunique()
    known = panel.loc[panel[outcome].notna()].groupby(schema.YEAR)[schema.MUNICIPALITY].nunique()
    good = [int(y) for y, k in known.items()
            if y >= schema.REFORM_YEAR and k >= MIN_COVERAGE * units]
    usable = [y for y in good if sum(g > y for g in good) >= 2]
    if not usable:
        raise ValueError(f"{outcome}: no base year from {schema.REFORM_YEAR} covers "
                         f"{MIN_COVERAGE:.0%} of the municipalities with two later years")
    return usable[:n]


def default_grid(panel: pd.DataFrame, outcome: str, builder: PanelBuilder) -> dict[str, list]:
    """The referee's grid: 3 base years x the samples (``no_merger_crossers`` when the
    panel has part sizes) x 3 thresholds x the cluster columns the panel has (of
    :data:`CLUSTERS`) x 2 weightings x every panel-level choice."""
    from analysis.data.sizing import BASELINE_POPULATION_LARGEST

    clusters = [c for c in CLUSTERS if c == "municipality" or c in panel]
    samples = [s for s in SAMPLES if s != "no_merger_crossers" or BASELINE_POPULATION_LARGEST
               in panel]
    return {
        **{d: list(allowed) for d, (allowed, _) in builder.dimensions.items()},
        "base_year": default_base_years(panel, outcome),
        "sample": samples, "threshold": list(THRESHOLDS), "cluster": clusters,
        "weighting": list(WEIGHTINGS),
    }


def specifications(grid: dict[str, list]) -> list[Spec]:
    """Every combination, panel-level dimensions first, in the grid's value order."""
    dims = list(grid)
    return [tuple(zip(dims, combo, strict=True)) for combo in itertools.product(*grid.values())]


def spec_key(spec: Spec) -> str:
    return "|".join(f"{d}={v}" for d, v in spec)


def spec_seed(seed: int, spec: Spec) -> int:
    """A bootstrap seed from the fixed ``seed`` and the specification's key (sha256), so
    each specification's draws are the same on any backend, in any order."""
    digest = hashlib.sha256(f"{int(seed)}|{spec_key(spec)}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def panel_key(spec: Spec, builder: PanelBuilder) -> tuple:
    return tuple((d, v) for d, v in spec if d in builder.dimensions)


def build_panels(builder: PanelBuilder, specs: Sequence[Spec]) -> dict[tuple, pd.DataFrame]:
    """Each distinct combination of panel-level choices built once, in order of first use."""
    panels: dict[tuple, pd.DataFrame] = {}
    for spec in specs:
        key = panel_key(spec, builder)
        if key not in panels:
            panels[key] = builder(**dict(key))
    return panels
