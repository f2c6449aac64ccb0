"""The package layout: public API, CLI and old import paths survive the regrouping."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

import analysis
from analysis import _moved

HELP = FIXTURES / "cli_help"  # `python -m analysis [CMD] --help` before the regrouping


@pytest.mark.parametrize("command", ["main", "build", "fetch", "run", "report", "synthesize"])
def test_cli_help_is_unchanged_by_the_regrouping(command):
    args = [] if command == "main" else [command]
    env = dict(os.environ, COLUMNS="80")  # argparse wraps at the terminal's width
    out = subprocess.run(
        [sys.executable, "-m", "analysis", *args, "--help"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out == (HELP / f"{command}.txt").read_text()


def test_every_public_name_resolves_to_its_module():
    for name in analysis.__all__:
        value = getattr(analysis, name)
        assert value is getattr(importlib.import_module(analysis._EXPORTS[name]), name)


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_an_old_module_path_still_imports_and_says_where_it_moved(old):
    sys.modules.pop(old, None)
    now = _moved.new_location(old)  # where it is now, even when it moved twice
    with pytest.warns(FutureWarning, match=f"{old} moved to {now[0]}"):
        module = importlib.import_module(old)
    new = [importlib.import_module(name) for name in now]
    public = {n for m in new for n in getattr(m, "__all__", [])}
    for name in public:  # every public name of the new module(s), as the same object
        owner = next(m for m in new if hasattr(m, name))
        assert getattr(module, name) is getattr(owner, name)
    with pytest.raises(AttributeError, match="moved"):
        _ = module.no_such_name


def test_old_names_from_split_modules_and_moved_subpackages():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from analysis.boundaries import KINDS, load_boundary_history
        from analysis.cbs.fetch import fetch_table
        from analysis.panel import add_rates, harmonise_to_boundaries, validate_panel

    from analysis.data.boundary_parser import KINDS as kinds
    from analysis.data.cbs.api.fetch import fetch_table as fetch
    from analysis.data.rates_and_sizes import add_rates as rates

    assert (KINDS, fetch_table, add_rates) == (kinds, fetch, rates)
    assert harmonise_to_boundaries is analysis.harmonise_to_boundaries
    assert validate_panel is analysis.validate_panel
    assert load_boundary_history is analysis.load_boundary_history


@pytest.mark.parametrize(
    ("old", "name", "now"),
    [
        ("analysis.cbs.fetch", "fetch_table", "analysis.data.cbs.api.fetch"),  # moved twice
        ("analysis.data.cbs.v4files", "read_observations", "analysis.data.cbs.api.v4files"),
        ("analysis.data.statline.reader", "read_statline_csv", "analysis.data.cbs.exports.reader"),
        ("analysis.statline.names", "clean_name", "analysis.data.cbs.exports.names"),
    ],
)
def test_a_submodule_of_a_moved_package_says_where_it_is_now(old, name, now):
    sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match=f"{old} moved to {now};") as caught:
        module = importlib.import_module(old)
    assert len([w for w in caught if w.category is FutureWarning]) == 1
    assert getattr(module, name) is getattr(importlib.import_module(now), name)


def test_names_of_the_old_owndata_module_resolve_in_its_package_with_a_warning():
    from analysis.data.owndata.build import build_own_panel
    from analysis.data.owndata.panel import panel_from_frame, prepare

    owndata = importlib.import_module("analysis.data.owndata")
    for name, value in [("panel_from_frame", panel_from_frame), ("prepare", prepare),
                        ("build_own_panel", build_own_panel)]:  # fmt: skip
        with pytest.warns(FutureWarning, match=f"owndata.{name} moved to analysis.data.owndata"):
            assert getattr(owndata, name) is value
    with pytest.raises(AttributeError):
        _ = owndata.no_such_name


def test_a_name_that_never_existed_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("analysis.no_such_module")


def test_no_module_is_much_over_500_lines():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "analysis").rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > 520} == {}


def test_the_package_folders_follow_the_flow():
    folders = {p.name for p in Path(analysis.__file__).parent.iterdir() if p.is_dir()}
    assert {"data", "designs", "inference", "studies", "reporting"} <= folders
    top = sorted(p.name for p in Path(analysis.__file__).parent.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "_moved.py", "cli.py", "results.py"]
