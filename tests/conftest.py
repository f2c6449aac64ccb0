"""Shared test fixtures.

Real CBS responses live in ``../shared`` beside the project (never copied in);
tests that need them skip with a reason when it is absent, as on a user's fresh clone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# DECENTRALISATION_SHARED points elsewhere (e.g. from a git worktree one level deeper)
SHARED = Path(os.environ.get("DECENTRALISATION_SHARED", ROOT.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_cbs() -> Path:
    path = SHARED / "cbs"
    if not path.is_dir():
        pytest.skip(f"real CBS responses not available: {path} is absent (only beside the repo)")
    return path
