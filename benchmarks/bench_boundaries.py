"""Time parsing the real CBS region list and building crosswalks; prints the figures.

Usage: python benchmarks/bench_boundaries.py [path/to/codes-RegioS.json]
(default: ../shared/cbs/v4/03759ned/codes-RegioS.json beside the repository).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from analysis.data.boundaries import load_boundary_history

DEFAULT = Path(__file__).resolve().parents[2] / "shared/cbs/v4/03759ned/codes-RegioS.json"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    start = time.perf_counter()
    history = load_boundary_history(path)
    parsed = time.perf_counter()
    crosswalk = history.crosswalk(2010, 2023)
    done = time.perf_counter()
    print(f"parse {path.name}: {parsed - start:.3f} s, {len(history.events)} event rows")
    print(f"crosswalk 2010->2023: {done - parsed:.3f} s, {len(crosswalk)} rows")


if __name__ == "__main__":
    main()
