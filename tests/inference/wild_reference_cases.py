"""Cases whose wild-bootstrap outputs are frozen in tests/fixtures/wild_bootstrap/.

The fixture was written by the implementation of commit f47f7cd (before the block-GEMM
rewrite of issue 22) with ``python tests/inference/wild_reference_cases.py``; the test
``test_wild_bootstrap_reference.py`` checks that every later implementation gives the same
p-values to the last draw, the same t-statistics and the same intervals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis import twfe, wild_cluster_bootstrap

FIXTURE = "tests/fixtures/wild_bootstrap/reference.npz"
HEAD = 300


def bench_panel(n_units: int, years: int = 14, seed: int = 0) -> pd.DataFrame:
    """The panel of benchmarks/bench_inference.py."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"unit": np.repeat(np.arange(n_units), years), "year": np.tile(np.arange(years), n_units)}
    )
    shock = rng.normal(size=n_units)[df["unit"]]
    df["x"] = 0.5 * shock + rng.normal(size=len(df))
    df["y"] = 0.02 * df["x"] + shock + 0.1 * df["year"] + rng.normal(size=len(df))
    return df


def grouped_panel(n_groups: int, per_group: int, years: int, seed: int) -> pd.DataFrame:
    """Units nested in groups (the clusters), a group-level treatment, unit weights."""
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    df = pd.DataFrame(
        {"unit": np.repeat(np.arange(n), years), "year": np.tile(np.arange(years), n)}
    )
    df["group"] = df["unit"] // per_group
    treated = rng.permutation(n_groups)[: n_groups // 2]
    df["d"] = df["group"].isin(treated) * (df["year"] >= years // 2).astype(float)
    df["x2"] = rng.normal(size=len(df))
    df["y"] = (0.3 * df["d"] + 0.5 * df["x2"] + rng.normal(size=n)[df["unit"]]
               + rng.normal(size=(n_groups, years))[df["group"], df["year"]]
               + rng.normal(size=len(df)))
    df["w"] = rng.uniform(0.5, 2.0, size=n)[df["unit"]]
    return df


def cases():
    """(name, result, keyword arguments of wild_cluster_bootstrap)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = twfe(bench_panel(350), "y", ["x"], entity="unit", time="year", cluster="unit")
        g30 = grouped_panel(30, 2, 5, seed=1)
        r30 = twfe(g30, "y", ["d", "x2"], entity="unit", time="year", cluster="group")
        r30w = twfe(g30, "y", ["d", "x2"], entity="unit", time="year", cluster="group",
                    weights="w")
        r30t = twfe(g30, "y", ["d", "x2"], entity="unit", time="year", effects=("time",),
                    cluster="group")
        g10 = grouped_panel(10, 3, 6, seed=4)
        r10 = twfe(g10, "y", ["d", "x2"], entity="unit", time="year", cluster="group")
        g12 = grouped_panel(12, 4, 6, seed=2)
        r12 = twfe(g12, "y", ["d", "x2"], entity="unit", time="year", cluster="group")
        r5 = twfe(grouped_panel(5, 4, 6, seed=6), "y", ["d", "x2"], entity="unit", time="year",
                  cluster="group")
        ryear = twfe(g10, "y", ["d", "x2"], entity="unit", time="year", cluster="year")
    out = [
        ("bench_p", bench, dict(term="x", draws=9999, seed=1, ci=False)),
        ("bench_ci", bench, dict(term="x", draws=9999, seed=1)),
        ("bench_webb", bench, dict(term="x", draws=9999, seed=3, weights="webb", ci=False)),
        ("bench_null", bench, dict(term="x", draws=2000, seed=5, null=0.03)),
    ]
    for seed in (0, 7, 123):
        for weights in ("rademacher", "webb"):
            out.append((f"g30_{weights}_{seed}", r30,
                        dict(term="d", draws=999, seed=seed, weights=weights)))
            out.append((f"g30_{weights}_{seed}_p", r30,
                        dict(term="d", draws=999, seed=seed, weights=weights, ci=False,
                             null=0.1)))
    out += [
        ("g30_weighted", r30w, dict(term="d", draws=999, seed=2)),
        ("g30_time_only", r30t, dict(term="d", draws=999, seed=2)),
        ("g30_contrast", r30, dict(contrast={"d": 1.0, "x2": -2.0}, null=-0.5, draws=999,
                                   seed=3)),
        ("g30_level90", r30, dict(term="x2", draws=777, seed=4, level=0.9)),
        ("g10_enum", r10, dict(term="d")),
        ("g10_enum_p", r10, dict(term="d", ci=False, null=0.2)),
        ("g10_webb", r10, dict(term="d", weights="webb", draws=999, seed=1)),
        ("g12_enum", r12, dict(term="d")),
        ("g12_draws", r12, dict(term="d", draws=999, seed=9)),
        ("year_clusters", ryear, dict(term="d")),
        ("g5_unbounded", r5, dict(term="d")),
        ("g10_one_draw", r10, dict(term="d", draws=1, seed=0, weights="webb")),
    ]
    return out


def outputs() -> dict[str, np.ndarray]:
    arrays = {}
    for name, res, kw in cases():
        b = wild_cluster_bootstrap(res, **kw)
        arrays[f"{name}.scalars"] = np.array(
            [b.estimate, b.t_stat, b.p_value, b.ci_low, b.ci_high, b.draws])
        # every draw's t for the small cases; the first 300 of the 9,999-draw ones (the
        # p-value fixes the count of extreme draws among all of them)
        arrays[f"{name}.t_boot"] = b.t_boot[:HEAD] if b.draws > 1000 else b.t_boot
    return arrays


if __name__ == "__main__":
    np.savez_compressed(FIXTURE, **outputs())
