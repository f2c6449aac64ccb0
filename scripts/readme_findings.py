"""Rewrite the README's "What the real data say" from the real panel (``make readme-findings``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.reporting.findings import update_readme  # noqa: E402

if __name__ == "__main__":
    print("README.md " + ("updated" if update_readme() else "already up to date"))
