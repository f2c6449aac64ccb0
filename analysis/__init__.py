"""Measure what the 2015 Dutch decentralisation of the social domain did.

Data flows one way: sources (CBS StatLine or the synthetic default) -> panel
(harmonised onto one year's municipal boundaries) -> design -> results -> notebook/report.

Public entry points are imported lazily so that ``python -m analysis`` starts fast
and a module that is not used is never imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from analysis import _moved

__version__ = "0.1.0"

_moved.install()  # old module paths (analysis.panel, analysis.build, ...) keep working

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data: boundaries and panel
    "load_boundary_history": "analysis.data.boundaries",
    "BoundaryHistory": "analysis.data.boundaries",
    "merger_cohorts": "analysis.data.merger_cohorts",
    "harmonise_to_boundaries": "analysis.data.harmonise",
    "validate_panel": "analysis.data.validation",
    "panel_from_frame": "analysis.data.owndata.panel",
    "PanelOptions": "analysis.data.options",
    "load_regions": "analysis.data.regions",
    "load_risk_profile_2015": "analysis.data.risk_profile",
    "OUTCOMES": "analysis.data.schema",
    # data: the synthetic default
    "simulate_panel": "analysis.data.synthetic",
    "write_synthetic_raw": "analysis.data.synthetic",
    # designs
    "did_2x2": "analysis.designs.did_2x2",
    "twfe": "analysis.designs.twfe",
    "event_study": "analysis.designs.event_study",
    "intensity_did": "analysis.designs.intensity",
    "triple_diff": "analysis.designs.triple_diff",
    "placebo_in_time": "analysis.designs.placebo",
    "placebo_outcomes": "analysis.designs.placebo",
    "run_many": "analysis.designs.run_many",
    "staggered_did": "analysis.designs.staggered_did",
    "imputation_did": "analysis.designs.imputation",
    "specification_curve": "analysis.designs.specification_curve",
    # studies: the growth design, for data without a year before 2015
    "evaluate_mergers": "analysis.studies.mergers_evaluation",
    "level_gap_by_year": "analysis.studies.levels_by_year",
    "size_gap_table": "analysis.studies.since2015",
    "growth_gap": "analysis.studies.since2015",
    "growth_path": "analysis.studies.since2015",
    "level_gap": "analysis.studies.since2015",
    "complete_sizes": "analysis.studies.since2015",
    "mark_size": "analysis.studies.since2015",
    # inference and results
    "wild_cluster_bootstrap": "analysis.inference.wild_bootstrap",
    "honest_did": "analysis.inference.honest_did",
    "randomisation_inference": "analysis.inference.randomisation",
    "power": "analysis.inference.power",
    "fay_herriot": "analysis.inference.fay_herriot",
    "EstimationResult": "analysis.results",
    "side_by_side": "analysis.results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
