"""Old module paths from before the package was grouped into subpackages keep working.

``analysis.panel``, ``analysis.build``, ``analysis.cbs.fetch`` ... moved under
``analysis.data``, ``analysis.studies`` and ``analysis.reporting``. A user's script or
notebook that imports an old path gets a module that forwards every attribute to the new
one(s), with a ``FutureWarning`` naming where to import from. The public API
(``analysis.twfe``, ``analysis.load_boundary_history``, ...) never moved.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

# old module -> the module(s) that now hold its names (split modules have several)
MOVED: dict[str, tuple[str, ...]] = {
    "analysis.paths": ("analysis.data.paths",),
    "analysis.io": ("analysis.data.io",),
    "analysis.ownership": ("analysis.data.ownership",),
    "analysis.schema": ("analysis.data.schema",),
    "analysis.sources": ("analysis.data.sources",),
    "analysis.merger_cohorts": ("analysis.data.merger_cohorts",),
    "analysis.build": ("analysis.data.build",),
    "analysis.roles": ("analysis.data.roles",),
    "analysis.owndata_cli": ("analysis.data.owndata.cli",),
    "analysis.owndata": ("analysis.data.owndata.panel", "analysis.data.owndata.read"),
    # own data as one package (analysis.data.owndata itself is now that package)
    **{
        f"analysis.data.owndata_{name}": (f"analysis.data.owndata.{name}",)
        for name in ("read", "build", "cli", "numbers")
    },
    "analysis.boundaries": ("analysis.data.boundaries", "analysis.data.boundary_parser"),
    "analysis.panel": (
        "analysis.data.harmonise",
        "analysis.data.validation",
        "analysis.data.rates_and_sizes",
    ),
    "analysis.synthetic": (
        "analysis.data.synthetic",
        "analysis.data.synthetic.generator",
        "analysis.data.synthetic.raw",
    ),
    "analysis.synthetic_descriptions": ("analysis.data.synthetic.descriptions",),
    "analysis.synthetic_geography": ("analysis.data.synthetic.geography",),
    "analysis.cbs": ("analysis.data.cbs",),
    "analysis.statline": ("analysis.data.cbs.exports",),
    # the CBS source as one package: the API client under cbs.api, the CSV exports under
    # cbs.exports (they were analysis.data.statline)
    **{
        f"analysis.data.cbs.{name}": (f"analysis.data.cbs.api.{name}",)
        for name in (
            "cache", "cli", "fetch", "http", "panel", "staging", "table_ids", "v3files",
            "v4files",
        )
    },  # fmt: skip
    "analysis.data.statline": ("analysis.data.cbs.exports",),
    **{
        f"analysis.{name}": (f"analysis.studies.{name}",)
        for name in (
            "evaluation", "since2015", "prereform", "small_claim", "size_views",
            "mergers_evaluation", "sensitivity_report", "trends",
        )
    },  # fmt: skip
    **{
        f"analysis.{name}": (f"analysis.reporting.{name}",)
        for name in ("report", "execute", "style", "summary", "truth")
    },
}
# their submodules moved with them
_PACKAGES = ("analysis.cbs", "analysis.statline", "analysis.data.statline")


def _one_step(old: str) -> tuple[str, ...] | None:
    if old in MOVED:
        return MOVED[old]
    for package in _PACKAGES:
        if old.startswith(package + "."):
            return (MOVED[package][0] + old[len(package) :],)
    return None


def new_location(old: str) -> tuple[str, ...] | None:
    """The module(s) that hold what ``old`` held, or None when ``old`` did not move.

    A path that moved twice (``analysis.cbs.fetch`` -> ``analysis.data.cbs.fetch`` ->
    ``analysis.data.cbs.api.fetch``) resolves to where it is now, with one warning.
    """
    names = _one_step(old)
    if names is None:
        return None
    resolved: list[str] = []
    for name in names:
        resolved.extend(new_location(name) or (name,))
    return tuple(resolved)


class _Forwarding(types.ModuleType):
    """A stand-in for an old module: attributes are looked up in the new modules."""

    def __init__(self, name: str, targets: list[types.ModuleType]) -> None:
        super().__init__(name, f"Moved: use {', '.join(t.__name__ for t in targets)}.")
        self._targets = targets
        if any(hasattr(t, "__path__") for t in targets):
            self.__path__: list[str] = []  # a package: its old submodules are found here too

    def __getattr__(self, name: str) -> Any:
        for target in self._targets:
            if hasattr(target, name):
                return getattr(target, name)
        raise AttributeError(f"module {self.__name__!r} (moved) has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({n for t in self._targets for n in dir(t)})


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):  # noqa: ARG002 (finder protocol)
        if new_location(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        names = new_location(spec.name)
        warnings.warn(
            f"{spec.name} moved to {' / '.join(names)}; import from there "
            "(the old path will be removed)",
            FutureWarning,
            stacklevel=2,
        )
        return _Forwarding(spec.name, [importlib.import_module(n) for n in names])

    def exec_module(self, module) -> None:
        return None


def install() -> None:
    """Put the finder last on ``sys.meta_path``: only names no real module has reach it."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
