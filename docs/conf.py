"""Sphinx configuration of the docs site (``make docs``).

The gallery and the API pages are generated here from the repository at each build
(into ``docs/gallery/`` and ``docs/api/``, both ignored by git): the notebooks are
copied with their stored outputs and never executed, and there is one API page per
module of the ``analysis`` package.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import analysis  # noqa: E402

project = "decentralisation-analysis"
author = "the decentralisation-analysis authors"
release = analysis.__version__
copyright = "the authors; real data: CBS, CC BY 4.0 (Bron: CBS)"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_nb",
]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve, and are checked
nb_execution_mode = "off"  # the gallery shows the outputs stored in the repository
nb_merge_streams = True
html_theme = "furo"
html_title = "decentralisation-analysis"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# The notebooks' "finding" outputs (a JSON payload the HTML report reads) have no HTML
# form; each sits beside its text/plain form, which the pages show.
suppress_warnings = ["mystnb.unknown_mime_type"]

# numpydoc docstrings, read by napoleon; types in Parameters are text, not cross-references
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_param = False
napoleon_use_rtype = False
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
# every module's own public names; a name a module re-exports is documented only where
# it is defined (a reference to it is resolved by _resolve below)
autodoc_default_options = {"members": True, "ignore-module-all": True}

# Every cross-reference must resolve (nitpicky, -n in `make docs`). Targets outside this
# package (pandas, numpy, the standard library) cannot be looked up without internet
# (no intersphinx inventories), so only they are exempt.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(pd|np|pandas|numpy|scipy|matplotlib|statsmodels|linearmodels|pathlib|"
               r"collections|typing|datetime|os|json|nbformat|requests|dataclasses)(\..*)?"),
    (r"py:.*", r"(Path|DataFrame|Series|Figure|Axes|Callable|Sequence|Mapping|Iterable|"
               r"Any|NDArray|ArrayLike|Literal|Self|Iterator|TypeAlias|Enum)"),
    (r"py:class", r"(dict|tuple|list|set|type|argparse|abc)[\[.].*"),
    (r"py:class", r"(int|float|str|bool|bytes|dict|list|tuple|set|object|type|None|"
                  r"optional|default|callable|array|array-like|sequence|mapping)"),
    (r"py:.*", r"(ValueError|TypeError|KeyError|FileNotFoundError|RuntimeError|OSError|"
               r"UserWarning|Exception|NotImplemented|Ellipsis)"),
]


def _gallery() -> None:
    """Copy both sets of stored notebooks into docs/gallery/ (outputs as committed)."""
    target = DOCS / "gallery"
    shutil.rmtree(target, ignore_errors=True)
    for name, folder in (("synthetic", ROOT / "notebooks"), ("real", ROOT / "notebooks" / "real")):
        (target / name).mkdir(parents=True)
        for nb in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            shutil.copy2(nb, target / name / nb.name)


def _modules() -> list[str]:
    names = ["analysis"]
    for info in pkgutil.walk_packages(analysis.__path__, "analysis."):
        if info.name in _SKIP:
            continue
        names.append(info.name)
    return sorted(names)


_SKIP = {"analysis.__main__", "analysis._moved"}


def _api() -> None:
    """One page per public module; the package page lists the top-level names."""
    target = DOCS / "api"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    modules = _modules()
    for name in modules:
        importlib.import_module(name)
        title = f"``{name}``"
        if name == "analysis":
            rows = "\n".join(
                f"   * - ``analysis.{n}``\n     - :py:obj:`{analysis._EXPORTS[n]}.{n}`"
                for n in analysis.__all__
            )
            body = (".. automodule:: analysis\n   :no-members:\n\n"
                    "The top-level names: ``analysis.<name>`` is the object of the same name "
                    "in the module on the right.\n\n.. list-table::\n   :header-rows: 1\n\n"
                    "   * - name\n     - defined as\n" + rows)
        else:
            body = f".. automodule:: {name}"
        (target / f"{name}.rst").write_text(f"{title}\n{'=' * len(title)}\n\n{body}\n")
    toc = "\n".join(f"   {name}" for name in modules)
    (target / "index.rst").write_text(
        "API reference\n=============\n\nGenerated from the numpydoc docstrings of the "
        "package, one page per module.\n\n.. toctree::\n   :maxdepth: 1\n\n" + toc + "\n"
    )


def _lookup(module: str, path: str):
    """The object ``module.path`` and the module that holds it, or None."""
    try:
        obj = importlib.import_module(module)
    except ImportError:
        return None
    holder = module
    for i, part in enumerate(path.split(".")):
        if not hasattr(obj, part):
            fields = getattr(obj, "__dataclass_fields__", {})
            return (obj, holder) if part in fields and i == len(path.split(".")) - 1 else None
        obj = getattr(obj, part)
        if isinstance(obj, type(sys)):
            holder = obj.__name__
    return obj, holder


def _resolve(app, env, node, contnode):
    """Resolve a reference the way Python would, from the module of the docstring.

    ``analysis.twfe`` (a top-level name) and ``simulate_panel`` (imported into the module
    that mentions it) resolve to the object where it is defined; a constant resolves to
    the page of the module that holds it. A name Python cannot find stays a warning.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    name = target.removeprefix("analysis.")
    if target != name and name in analysis._EXPORTS:
        target = f"{analysis._EXPORTS[name]}.{name}"
    candidates = [(m, target) for m in [node.get("py:module")] if m]
    parts = target.split(".")
    candidates += [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)]
    domain = env.get_domain("py")
    for module, path in candidates:
        found = _lookup(module, path)
        if found is None:
            continue
        obj, holder = found
        owner, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        for kind, full in (("obj", f"{owner}.{qual}"), ("obj", f"{holder}.{path}"),
                           ("mod", holder)):
            hit = domain.resolve_xref(env, node["refdoc"], app.builder, kind, full, node,
                                      contnode)
            if hit is not None:
                return hit
    return None


def setup(app):
    app.connect("missing-reference", _resolve)


_gallery()
_api()
