"""Write environment.yml from requirements.lock so conda users get the same pins.

Run through `make lock`; tests/test_pins.py fails when the two disagree.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.split(";")[0].strip()
    return pins


def main() -> None:
    pins = read_lock(ROOT / "requirements.lock")
    lines = [
        "# Generated from requirements.lock by scripts/write_environment_yml.py (make lock).",
        "# Same pins as the lock; pip inside conda installs them from PyPI.",
        "name: decentralisation-analysis",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={version}" for name, version in sorted(pins.items())]
    lines.append("      - -e .")
    (ROOT / "environment.yml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
