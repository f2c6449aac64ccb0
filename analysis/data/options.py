"""The researcher's choices a panel is built under: size definition and units with a missing part.

A specification curve builds one panel per combination; :class:`PanelOptions` names the
combination, travels into :func:`analysis.data.harmonise.harmonise_to_boundaries` and
:func:`analysis.data.build.build_panel`, and is recorded in the panel's ``attrs`` and its
sidecar (``panel_options``). The defaults reproduce the panel as it always was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analysis.data.schema import LARGE_THRESHOLD
from analysis.data.sizing import DEFAULT_SIZE_RULE, SIZE_RULES

MISSING, SCALE = "missing", "scale"
MISSING_PARTS = (MISSING, SCALE)
DEFAULT_MAX_MISSING_SHARE = 0.05


@dataclass(frozen=True)
class PanelOptions:
    """How size classes are defined and how a unit with a part without a figure is treated.

    Parameters
    ----------
    size_rule : {"sum", "largest_part"}
        A harmonised unit's base-year size: the sum of its parts, or its largest
        predecessor's own population (:mod:`analysis.data.sizing`).
    threshold : float
        Inhabitants in the base year that make a unit ``large`` (50,000; a specification
        curve also uses 20,000 and 100,000). Also the line ``large_by_merger`` refers to.
    drop_merger_crossers : bool
        Leave out the units that reach ``threshold`` only through a merger.
    missing_parts : {"missing", "scale"}
        ``"missing"`` (default): a unit is missing when any part is. ``"scale"``: when the
        parts without a figure hold less than ``max_missing_share`` of the unit's
        inhabitants that year, the value is the reporting parts' sum times (unit
        population / reporting parts' population), flagged in ``<column>_status``
        (:mod:`analysis.data.partial_units`).
    max_missing_share : float
        See ``missing_parts``; default 0.05 (5 % of the unit's inhabitants).

    Examples
    --------
    >>> PanelOptions().tag()
    ''
    >>> PanelOptions(size_rule="largest_part", missing_parts="scale").tag()
    '_largest_part_scale5'
    """

    size_rule: str = DEFAULT_SIZE_RULE
    threshold: float = LARGE_THRESHOLD
    drop_merger_crossers: bool = False
    missing_parts: str = MISSING
    max_missing_share: float = DEFAULT_MAX_MISSING_SHARE

    def __post_init__(self) -> None:
        if self.size_rule not in SIZE_RULES:
            raise ValueError(f"size_rule {self.size_rule!r}: choose one of {', '.join(SIZE_RULES)}")
        if self.missing_parts not in MISSING_PARTS:
            raise ValueError(f"missing_parts {self.missing_parts!r}: choose one of "
                             f"{', '.join(MISSING_PARTS)}")
        if not 0 < self.max_missing_share < 1:
            raise ValueError(f"max_missing_share {self.max_missing_share}: must lie in (0, 1)")
        if not self.threshold > 0:
            raise ValueError(f"threshold {self.threshold}: must be a positive population")

    def sizing(self) -> dict:
        """The keywords of :func:`analysis.data.sizing.add_unit_size_classes`."""
        return {"size_rule": self.size_rule, "threshold": self.threshold,
                "drop_merger_crossers": self.drop_merger_crossers}

    def as_dict(self) -> dict:
        return asdict(self)

    def tag(self) -> str:
        """File-name suffix of a panel built under these options (``""`` for the defaults)."""
        parts = []
        if self.size_rule != DEFAULT_SIZE_RULE:
            parts.append(self.size_rule)
        if self.threshold != LARGE_THRESHOLD:
            parts.append(f"t{self.threshold:g}")
        if self.drop_merger_crossers:
            parts.append("no_merger_crossers")
        if self.missing_parts == SCALE:
            parts.append(f"scale{self.max_missing_share * 100:g}")
        return "".join("_" + p for p in parts)


__all__ = ["MISSING_PARTS", "PanelOptions"]
