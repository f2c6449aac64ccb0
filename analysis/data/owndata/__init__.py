"""A researcher's own municipal figures (a tidy CSV or a StatLine export) as a panel.

Go here for ``python -m analysis build --own FILE``:

* :mod:`analysis.data.owndata.read`: read the CSV (or a StatLine export) and its errors;
* :mod:`analysis.data.owndata.numbers`: decimal conventions and CBS signs in the cells;
* :mod:`analysis.data.owndata.panel`: codes and names matched to the boundary history,
  roles checked, harmonised (:func:`~analysis.data.owndata.panel.panel_from_frame`);
* :mod:`analysis.data.owndata.build`: write the panel and its sidecar;
* :mod:`analysis.data.owndata.cli`: the command-line options.
"""

from __future__ import annotations

import importlib
import warnings

# this package replaced the module analysis.data.owndata: its names still resolve here
_OLD_HOMES = ("analysis.data.owndata.panel", "analysis.data.owndata.build")


__all__: list[str] = []  # the names live in the submodules


def __getattr__(name: str):
    if name.startswith("__"):  # module protocol (tools ask for __path__, __wrapped__ ...)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for home in _OLD_HOMES:
        module = importlib.import_module(home)
        if name in vars(module):
            warnings.warn(
                f"analysis.data.owndata.{name} moved to {home}; import from there "
                "(the old path will be removed)",
                FutureWarning,
                stacklevel=2,
            )
            return vars(module)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
