"""Time ``analysis.power`` and ``analysis.randomisation_inference`` on the synthetic default.

Panel: ``simulate_panel()`` (342 municipalities x 14 years), outcome ``wmo_per_1000``.
Prints three tables:

1. ``power`` with its defaults (1,000 replications, a 41-point effect grid, the
   large-versus-small TWFE and the intensity design), beside the cost of the naive
   route (refit the design for every replication and grid point), extrapolated
   from a few refits;
2. ``power`` of the merger design (``staggered_did`` refitted per replication, 200
   replications) on random merger cohorts;
3. ``randomisation_inference`` with 9,999 within-province permutations for each
   design (the wild bootstrap switched off, it is timed in ``bench_inference.py``),
   beside refitting the design per permutation, extrapolated likewise.

    python benchmarks/bench_power.py
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared 2-core machine threaded BLAS makes timings swing by 10x.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import did_2x2, event_study, power, randomisation_inference, twfe  # noqa: E402
from analysis.data.synthetic.generator import simulate_panel  # noqa: E402
from analysis.inference.power import DESIGNS  # noqa: E402
from analysis.studies.evaluation import LARGE_POST, large_at  # noqa: E402

OUTCOME = "wmo_per_1000"
REFITS = 10  # refits timed to extrapolate the naive route


def best_of(fn, runs: int = 3) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def per_refit(fn) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()  # warm-up
        start = time.perf_counter()
        for _ in range(REFITS):
            fn()
    return (time.perf_counter() - start) / REFITS


def power_table(panel: pd.DataFrame) -> pd.DataFrame:
    power(panel, OUTCOME, reps=50)  # warm-up (imports)
    seconds, res = best_of(lambda: power(panel, OUTCOME))
    rows = []
    for row in res.table.itertuples(index=False):
        refit = per_refit(lambda row=row: DESIGNS[row.design].fit(panel, OUTCOME, {}))
        grid = int((res.curves["design"] == row.design).sum())
        rows.append({
            "design": row.design, "reps": row.reps, "grid": grid, "mde": row.mde,
            "mde_bloom": row.mde_bloom, "power_s (both designs)": seconds,
            "naive refit per rep x grid s (extrapolated)": refit * row.reps * grid,
        })
    return pd.DataFrame(rows)


def merger_table(panel: pd.DataFrame, reps: int = 200) -> pd.DataFrame:
    """The merger design refits staggered_did per replication; cohorts drawn at random
    (30% of units merge in 2016-2022; the synthetic default has no merger column)."""
    rng = np.random.default_rng(0)
    units = panel["municipality"].unique()
    cohort = np.where(rng.random(len(units)) < 0.3, rng.integers(2016, 2023, len(units)), 0)
    data = panel.assign(cohort=panel["municipality"].map(dict(zip(units, cohort, strict=True))))
    seconds, res = best_of(
        lambda: power(data, OUTCOME, designs=["mergers"], reps=reps, cohort="cohort"), runs=1
    )
    row = res.table.iloc[0]
    return pd.DataFrame([{"design": "mergers", "reps": reps, "mde": row.mde,
                          "mde_mc_se": row.mde_mc_se, "mde_bloom": row.mde_bloom,
                          "power_s": seconds, "per_rep_ms": 1000 * seconds / reps}])


def randomisation_table(panel: pd.DataFrame) -> pd.DataFrame:
    data = large_at(panel, 50_000)
    refits = {
        "twfe": lambda: twfe(data, OUTCOME, [LARGE_POST]),
        "did_2x2": lambda: did_2x2(data, OUTCOME, group="large"),
        "event_study": lambda: event_study(data, OUTCOME, treatment="large"),
    }
    rows = []
    for design, refit in refits.items():
        randomisation_inference(panel, OUTCOME, design=design, draws=99, wild_draws=0)
        seconds, res = best_of(
            lambda design=design: randomisation_inference(
                panel, OUTCOME, design=design, draws=9999, wild_draws=0
            )
        )
        rows.append({
            "design": design, "draws": res.draws, "p_value": res.p_value, "ours_s": seconds,
            "naive refit per draw s (extrapolated)": per_refit(refit) * res.draws,
        })
    return pd.DataFrame(rows)


def main() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    panel = simulate_panel().panel
    print(f"\npower(): {OUTCOME}, 342 units x 14 years, defaults (best of 3, seconds)")
    print(power_table(panel).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\npower(designs=['mergers']): {OUTCOME}, random merger cohorts (one run, seconds)")
    print(merger_table(panel).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nrandomisation_inference(): {OUTCOME}, 9,999 permutations within provinces "
          "(best of 3, seconds)")
    print(randomisation_table(panel).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
