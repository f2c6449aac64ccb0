"""Power of designs that are not one least-squares fit: refit per replication.

The merger design (:func:`analysis.staggered_did`, Callaway-Sant'Anna, simple
aggregation) is linear in the outcome without covariates: its estimate and its
influence function of ``y0 + delta p`` are those of ``y0`` plus ``delta`` times those of
``p``. So each replication is estimated once, at ``delta = 0``, and the planted pattern
once; the power at every ``delta`` follows as for the least-squares designs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.data.synthetic.generator import _ar1

_CHUNK = 50  # replications whose errors are drawn at once

# y (aligned with rows) -> estimate, cluster-summed influence function, its scale n
EstimateFn = Callable[[np.ndarray], tuple[float, np.ndarray, int]]


@dataclass
class RefitDesign:
    """What the refit engine needs of a design on the user's panel."""

    rows: pd.DataFrame  # the rows the design uses (entity, time, design columns)
    y: np.ndarray  # the outcome on those rows
    x: np.ndarray  # the treatment pattern: the planted effect per unit of delta
    term: str
    se: float  # the design's standard error on the panel
    estimate: EstimateFn


def merger_design(panel: pd.DataFrame, outcome: str, options: dict) -> RefitDesign:
    """Callaway-Sant'Anna on merger cohorts (``options["cohort"]``, 0 never merged)."""
    from analysis.designs.staggered_did import staggered_did

    cohort = options.get("cohort") or "cohort"
    entity, time = options.get("entity", schema.MUNICIPALITY), options.get("time", schema.YEAR)
    for column in (cohort, outcome, entity, time):
        if column not in panel.columns:
            raise KeyError(
                f"power: the merger design needs column {column!r} (cohort: the year a unit "
                "became one municipality, 0 if never merged; see analysis.data.merger_cohorts)"
            )
    rows = panel[[entity, time, cohort, outcome]].dropna().reset_index(drop=True)
    kw = dict(entity=entity, time=time, cohort=cohort, est_method="reg", bootstrap=0,
              control_group=options.get("control_group", "never_treated"))
    data = rows.copy()

    def estimate(y: np.ndarray) -> tuple[float, np.ndarray, int]:
        data[outcome] = y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agg = staggered_did(data, outcome, **kw).aggregate("simple")
        return (float(agg.table["estimate"].iloc[0]), agg.extra["influence_function"][:, 0],
                int(agg.extra["n_units"]))

    g = rows[cohort].to_numpy(dtype=float)
    x = ((g > 0) & (rows[time].to_numpy() >= g)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        observed = staggered_did(rows, outcome, **kw).aggregate("simple")
    return RefitDesign(rows, rows[outcome].to_numpy(dtype=float), x, "overall",
                       float(observed.table["std_error"].iloc[0]), estimate)


def refit_draws(design: RefitDesign, fitted: np.ndarray, rho: float, sd: float,
                unit_codes: np.ndarray, year_index: np.ndarray, n_years: int, reps: int,
                seed: int) -> dict[str, np.ndarray | float]:
    """Per replication the null estimate and the influence-function variance pieces."""
    b_p, s_p, n = design.estimate(design.x)
    rng = np.random.default_rng(seed)
    n_units = int(unit_codes.max()) + 1
    b0, q0, q1 = [], [], []
    for start in range(0, reps, _CHUNK):
        r = min(_CHUNK, reps - start)
        errors = _ar1(rng, n_years, n_units * r, rho, sd).reshape(n_years, n_units, r)
        for k in range(r):
            est, s, _ = design.estimate(fitted + errors[year_index, unit_codes, k])
            b0.append(est)
            q0.append(float(s @ s))
            q1.append(float(s @ s_p))
    return {"b0": np.array(b0), "q0": np.array(q0), "q1": np.array(q1),
            "q2": np.full(reps, float(s_p @ s_p)), "b_planted": float(b_p),
            "ssc": 1.0 / n**2, "df": np.inf}
