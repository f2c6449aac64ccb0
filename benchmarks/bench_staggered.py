"""Time ``staggered_did`` (Callaway-Sant'Anna) on a large staggered panel.

3,000 units x 14 years, 5 treated cohorts plus never-treated units, no covariates
(all three estimators coincide), 999 multiplier-bootstrap draws for the uniform band:
the issue's target is at most 0.2 s. Also times the four aggregations (each with its
own 999-draw band) and ``imputation_did`` on the same panel. Best of three runs after
a warm-up.

With ``--peers`` it also times diff-diff's ``CallawaySantAnna`` and moderndid's
``att_gt`` (999 multiplier draws each) and prints their simple ATT beside ours. They
are benchmark-only peers, not in the lock: run it from a throwaway environment that
has them and this package's runtime dependencies (``PYTHONPATH=. python ...``).

    python benchmarks/bench_staggered.py [--peers]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import imputation_did, staggered_did  # noqa: E402

UNITS, YEARS = 3_000, np.arange(2010, 2024)
COHORTS = (0, 2013, 2015, 2017, 2019, 2021)  # never treated and 5 cohorts


def panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(UNITS), len(YEARS))
    year = np.tile(YEARS, UNITS)
    cohort = np.array(COHORTS)[rng.integers(0, len(COHORTS), UNITS)][unit]
    effect = np.where((cohort > 0) & (year >= cohort), 1.0 + 0.2 * (year - cohort), 0.0)
    y = rng.normal(size=UNITS)[unit] + 0.1 * (year - 2010) + effect + rng.normal(size=len(unit))
    return pd.DataFrame({"unit": unit, "year": year, "cohort": cohort, "y": y})


def best_of(fn: Callable[[], object], runs: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``runs`` calls after a warm-up.

    On a shared machine the wall clock includes waiting for a core; the CPU time of
    this (single-threaded BLAS) process is what the code itself costs.
    """
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main() -> None:
    df = panel()
    kw = {"entity": "unit", "time": "year", "cohort": "cohort"}
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    n_cohorts = len(COHORTS) - 1
    print(f"panel: {UNITS} units x {len(YEARS)} years, {n_cohorts} cohorts; seconds, best of 3")
    fit = staggered_did(df, "y", **kw)
    rows = [
        ("staggered_did, 999 draws (target 0.2 s)", best_of(lambda: staggered_did(df, "y", **kw))),
        ("staggered_did, no bootstrap", best_of(lambda: staggered_did(df, "y", bootstrap=0, **kw))),
    ]
    for kind in ("simple", "group", "dynamic", "calendar"):
        rows.append((f".aggregate({kind!r}), 999 draws", best_of(lambda k=kind: fit.aggregate(k))))
    rows.append(("imputation_did (Gardner SEs)", best_of(lambda: imputation_did(df, "y", **kw))))
    print(f"  {'':<45} {'wall s':>8} {'cpu s':>8}")
    for name, (wall, cpu) in rows:
        print(f"  {name:<45} {wall:8.3f} {cpu:8.3f}")
    simple = fit.aggregate("simple").estimate("overall")
    print(f"  ATT(g,t) cells: {len(fit.table)}; simple ATT {simple:.4f}")


def peers(df: pd.DataFrame) -> None:
    """diff-diff and moderndid on the same panel, 999 multiplier draws each."""
    from importlib.metadata import version

    warnings.simplefilter("ignore")
    print("peers (benchmark-only, not in the lock); best of 3: wall s, cpu s")
    try:
        from diff_diff import CallawaySantAnna

        def dd():
            est = CallawaySantAnna(n_bootstrap=999, seed=1)
            return est.fit(df, outcome="y", unit="unit", time="year", first_treat="cohort")

        att, (wall, cpu) = dd().overall_att, best_of(dd)
        print(f"  diff-diff {version('diff-diff'):<8} CallawaySantAnna  {wall:8.3f} {cpu:8.3f}"
              f"   simple ATT {att:.4f}")  # fmt: skip
    except ImportError:
        print("  diff-diff not installed")
    try:
        import moderndid

        def md():
            return moderndid.att_gt(df, yname="y", tname="year", idname="unit", gname="cohort",
                                    boot=True, biters=999, random_state=1)  # fmt: skip

        att = moderndid.aggte(md(), type="simple").overall_att
        wall, cpu = best_of(md)
        print(f"  moderndid {version('moderndid'):<8} att_gt            {wall:8.3f} {cpu:8.3f}"
              f"   simple ATT {att:.4f}")  # fmt: skip
    except ImportError:
        print("  moderndid not installed")


if __name__ == "__main__":
    main()
    if "--peers" in sys.argv:
        peers(panel())
