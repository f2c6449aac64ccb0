"""Time ``specification_curve`` on the real StatLine panel: one outcome, 200+ specifications.

Outcome ``wmo_per_1000`` (growth since the base year, log scale). Grid: the first five
base years with 75% coverage x sample (all, balanced) x five thresholds (20k, 30k, 50k,
75k, 100k) x the cluster columns the panel has (province, youth-care region when vendored,
municipality) x weighting (none, population): at least 200 specifications. Every one gets
CR1 and the restricted wild cluster bootstrap with 9,999 draws (the 12 provinces: all
4,096 sign vectors). Timed serially and with ``n_jobs=2`` (loky processes); the tables
must be identical. The panel is built (or read) before the clock starts.

    python benchmarks/bench_speccurve.py
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared 2-core machine threaded BLAS makes timings swing by 10x.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from analysis.designs._spec_grid import (  # noqa: E402
    CLUSTERS,
    default_base_years,
    fixed_panel,
    source_panels,
)
from analysis.designs.specification_curve import specification_curve  # noqa: E402

OUTCOME = "wmo_per_1000"
THRESHOLDS = (20_000, 30_000, 50_000, 75_000, 100_000)
DRAWS = 9999


def main() -> None:
    panel = source_panels("statline", 2023)()
    grid = {
        "base_year": default_base_years(panel, OUTCOME, n=5), "sample": ["all", "balanced"],
        "threshold": list(THRESHOLDS),
        "cluster": [c for c in CLUSTERS if c == "municipality" or c in panel],
        "weighting": ["none", "population"],
    }
    n = 1
    for values in grid.values():
        n *= len(values)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"{OUTCOME}: {n} specifications ({', '.join(f'{k} {len(v)}' for k, v in grid.items())}), "
          f"wild bootstrap {DRAWS} draws")
    builder = fixed_panel(panel)
    tables = {}
    for label, n_jobs in (("serial", 1), ("n_jobs=2 (loky)", 2)):
        start = time.perf_counter()
        curve = specification_curve(builder, OUTCOME, grid, draws=DRAWS, n_jobs=n_jobs)
        seconds = time.perf_counter() - start
        tables[label] = curve.table
        print(f"{label:>16}: {seconds:6.1f} s ({1000 * seconds / n:.0f} ms per specification)")
    pd.testing.assert_frame_equal(*tables.values(), check_exact=True)
    print("tables identical; load average at end", f"{os.getloadavg()[0]:.1f}")
    print(curve.summary())


if __name__ == "__main__":
    main()
