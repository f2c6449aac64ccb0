"""The three dependency files must agree: pyproject names, lock pins, environment.yml pins."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _env_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s+- ([A-Za-z0-9_.\-]+)==(\S+)$", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_has_exactly_the_lock_pins() -> None:
    assert _env_pins() == _lock_pins()


def test_every_pyproject_dependency_is_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    lock = {_normalise(k) for k in _lock_pins()}
    missing = [d for d in wanted if _normalise(re.split(r"[<>=!\[; ]", d)[0]) not in lock]
    assert not missing, f"pyproject dependencies not pinned in requirements.lock: {missing}"


def test_design_card_packages_are_pinned() -> None:
    lock = _lock_pins()
    for name in ["jupyterlab", "pandas", "statsmodels", "linearmodels", "seaborn", "nbval"]:
        assert name in lock, name
