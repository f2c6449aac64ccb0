"""Simulation study: the designs recover the synthetic default's true effects.

Replications ``r = 0..R-1`` draw ``simulate_panel(seed=r)`` (the geography, and with it
every true effect, stays fixed; the unit effects and AR(1) errors are redrawn). The
estimand of each design is that design run on the ``true_effect__<outcome>`` column
(``analysis.data.synthetic.generator``'s definition; ``tests/designs/test_designs.py``
checks it against the DGP formula by hand):

* ``did_2x2`` and ``twfe`` on ``large x post``: the post-2015 mean effect of large minus
  small municipalities (ramp-weighted);
* ``event_study`` event time e: ``ramp_e`` times that gap after 2015, 0 before;
* ``intensity_did``: the TWFE slope of the true effect on the centred dose, i.e.
  ``mean(ramp) * (beta + the size-class effects' projection on the dose)``.

Criteria (R replications, SD = s.d. of the estimate across replications):

* bias: ``|mean - truth| < 3 SD / sqrt(R)`` (three Monte Carlo standard errors). The
  issue's "|bias| < 0.05 SD" cannot be asserted at these R without failing unbiased
  estimators: the Monte Carlo s.e. of the bias is SD/sqrt(R) = 0.071 SD at R = 200 and
  0.032 SD at R = 1,000. The printed table shows bias/SD for the reader.
* 95% CI coverage within 95 +- 3 MC s.e.: [90.4, 99.6]% at R = 200 (default run) and
  [93.0, 97.0]% at R = 1,000 (``-m slow``). The estimand is conditional on the fixed
  municipalities, so unit-level effect heterogeneity that a design does not model (size
  classes and doses inside "large", say) stays in its residuals and inflates the
  cluster-robust s.e. without adding sampling variance: the interval is then
  conservative for this estimand (Abadie, Athey, Imbens & Wooldridge 2020). The s.e. of
  the design on the noise-free truth measures that part (``het_se_over_sd``), giving an
  expected coverage ``2 Phi(1.96 sqrt(1 + het^2)) - 1``. Where it exceeds 95.5% only the
  lower end of the band is asserted (no under-coverage); elsewhere (e.g. the leads, whose
  heterogeneity s.e. is 0) the two-sided band is.
* pre-trend Wald test (all leads zero, F(4, G-1)) at 5%: with the pre-trend knob off it
  rejects within 5 +- 3 MC s.e. ([0.4, 9.6]% at 200, [2.9, 7.1]% at 1,000); with
  ``SyntheticParams(pretrend=0.25)`` (large units trend 0.25 error s.d. per year before
  2015) it rejects in at least 90% of R/4 replications (R/4: power near 100% needs few).

Run with ``-s`` to see the figures. Seeds are 0..R-1, never chosen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.data.schema import INTENSITY, LARGE, MUNICIPALITY, POPULATION, REFORM_YEAR, YEAR
from analysis.data.synthetic.generator import SyntheticParams, simulate_panel
from analysis.designs.did_2x2 import did_2x2
from analysis.designs.event_study import event_study
from analysis.designs.intensity import intensity_did
from analysis.designs.twfe import twfe

DEFAULT_OUTCOME = "wmo_per_1000"
CHECKED_EVENT_TIMES = (-3, 0, 8)  # a lead, the reform year, the last year
PRETREND_ON = 0.25
# power near 100% needs few replications to show: a quarter of R
KNOB_REPS_DIVISOR = 4
# expected coverage up to this (heterogeneity s.e. < ~0.2 SD) counts as "the design models
# the effect": the two-sided band applies
HOMOGENEOUS_COVERAGE = 95.5


def _row(res, term: str) -> tuple[float, float, float, float]:
    r = res.table.set_index("term").loc[term]
    return float(r["estimate"]), float(r["std_error"]), float(r["ci_low"]), float(r["ci_high"])


def _estimates(panel: pd.DataFrame, outcome: str) -> dict[str, tuple]:
    """Every checked estimate of one panel: name -> (estimate, se, ci_low, ci_high)."""
    df = panel.assign(large_post=panel[LARGE].astype(float) * (panel[YEAR] >= REFORM_YEAR))
    out = {
        "did_2x2": _row(did_2x2(df, outcome), "large:post"),
        "twfe": _row(twfe(df, outcome, ["large_post"]), "large_post"),
        "intensity_did": _row(intensity_did(df, outcome, bins=0), f"{INTENSITY}:post"),
    }
    es = event_study(df, outcome)
    for e in CHECKED_EVENT_TIMES:
        out[f"event_study e={e:+d}"] = _row(es, f"large:event{e:+d}")
    out["pretrend_p"] = (es.extra["pretrend_test"]["p_value"],) * 4
    return out


def _truth(outcome: str, params: SyntheticParams) -> dict[str, tuple[float, float]]:
    """The designs on the true-effect column (the same in every replication).

    Returns (estimand, heterogeneity s.e.): the second is the standard error the design
    reports on the noise-free truth, i.e. how much of every replication's cluster-robust
    s.e. comes from effect heterogeneity the design does not model.
    """
    panel = simulate_panel(seed=0, params=params).panel
    panel[outcome] = panel[f"true_effect__{outcome}"]
    with np.errstate(divide="ignore", invalid="ignore"):  # the leads' s.e. is exactly 0
        estimates = _estimates(panel, outcome)
    return {k: v[:2] for k, v in estimates.items() if k != "pretrend_p"}


def _panel(seed: int, params: SyntheticParams, outcomes: list[str]) -> pd.DataFrame:
    """The columns the designs use (copying the name/province strings costs time)."""
    panel = simulate_panel(seed=seed, params=params).panel
    return panel[[MUNICIPALITY, YEAR, LARGE, POPULATION, INTENSITY, *outcomes]]


def _study(n_reps: int, outcomes: list[str], params: SyntheticParams) -> pd.DataFrame:
    records = []
    for seed in range(n_reps):
        panel = _panel(seed, params, outcomes)
        for outcome in outcomes:
            for name, (est, se, lo, hi) in _estimates(panel, outcome).items():
                records.append((seed, outcome, name, est, se, lo, hi))
    return pd.DataFrame(
        records, columns=["seed", "outcome", "estimator", "estimate", "se", "ci_low", "ci_high"]
    )


def _summarise(draws: pd.DataFrame, truths: dict[str, dict[str, tuple]]) -> pd.DataFrame:
    rows = []
    for (outcome, name), g in draws.groupby(["outcome", "estimator"], sort=False):
        if name == "pretrend_p":
            continue
        truth, se_het = truths[outcome][name]
        sd = g["estimate"].std(ddof=1)
        # E[se^2] ~ sd^2 + se_het^2, so the interval covers the fixed estimand with
        # probability ~ 2 Phi(1.96 sqrt(1 + (se_het/sd)^2)) - 1 (conservative, see docstring)
        expected = 2 * stats.norm.cdf(1.96 * np.sqrt(1 + (se_het / sd) ** 2)) - 1
        bias = g["estimate"].mean() - truth
        covered = (g["ci_low"] <= truth) & (truth <= g["ci_high"])
        rows.append({
            "outcome": outcome, "estimator": name, "truth": truth, "bias": bias, "sd": sd,
            "bias_over_sd": bias / sd, "mc_se_bias": sd / np.sqrt(len(g)),
            "mean_se_over_sd": g["se"].mean() / sd, "het_se_over_sd": se_het / sd,
            "coverage": 100 * covered.mean(), "expected_coverage": 100 * expected,
        })
    return pd.DataFrame(rows)


def _rejection(draws: pd.DataFrame) -> pd.Series:
    p = draws[draws["estimator"] == "pretrend_p"]
    return 100 * (p["estimate"] < 0.05).groupby(p["outcome"], sort=False).mean()


def _band(n_reps: int, p: float) -> tuple[float, float]:
    half = 3 * np.sqrt(p * (1 - p) / n_reps)
    return 100 * (p - half), 100 * (p + half)


def _pretrend_rejection_with_knob(n_reps: int, outcomes: list[str]) -> pd.Series:
    """Share of replications (in %) whose pre-trend test rejects at 5%, knob on."""
    params = SyntheticParams(pretrend=PRETREND_ON)
    rejected = {y: 0 for y in outcomes}
    for seed in range(n_reps):
        panel = _panel(seed, params, outcomes)
        for y in outcomes:
            rejected[y] += event_study(panel, y).extra["pretrend_test"]["p_value"] < 0.05
    return pd.Series({y: 100 * n / n_reps for y, n in rejected.items()})


def _check(n_reps: int, outcomes: list[str], coverage_band: tuple[float, float]) -> None:
    params = SyntheticParams()
    truths = {y: _truth(y, params) for y in outcomes}
    draws = _study(n_reps, outcomes, params)
    summary = _summarise(draws, truths)
    off = _rejection(draws)
    on = _pretrend_rejection_with_knob(n_reps // KNOB_REPS_DIVISOR, outcomes)
    print(f"\nRecovery on the synthetic default, R = {n_reps} (seeds 0..{n_reps - 1})")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("pre-trend test rejection at 5% (%), knob off:", off.round(1).to_dict())
    print(f"pre-trend test rejection at 5% (%), pretrend={PRETREND_ON} "
          f"({n_reps // KNOB_REPS_DIVISOR} replications):", on.round(1).to_dict())

    failures = []
    for r in summary.itertuples():
        if abs(r.bias) >= 3 * r.mc_se_bias:
            failures.append(f"{r.outcome} {r.estimator}: bias {r.bias:.4g} >= 3 MC s.e.")
        # two-sided where the design models the effect (expected ~95%); where fixed
        # heterogeneity inflates the s.e. the interval may over-cover but never under-cover
        upper = coverage_band[1] if r.expected_coverage <= HOMOGENEOUS_COVERAGE else 100.0
        if not coverage_band[0] <= r.coverage <= upper:
            failures.append(f"{r.outcome} {r.estimator}: coverage {r.coverage:.1f}% "
                            f"outside [{coverage_band[0]}, {upper}]")
    lo, hi = _band(n_reps, 0.05)
    for y, rate in off.items():
        if not lo <= rate <= hi:
            failures.append(f"{y}: pre-trend rejection {rate:.1f}% outside [{lo:.1f}, {hi:.1f}]")
    for y, rate in on.items():
        if rate < 90:
            failures.append(f"{y}: pre-trend rejection with the knob on only {rate:.1f}%")
    assert not failures, "\n".join(failures)


def test_band_arithmetic():
    """The bands stated in the module docstring."""
    assert np.round(_band(200, 0.95), 1).tolist() == [90.4, 99.6]
    assert np.round(_band(1000, 0.95), 1).tolist() == [92.9, 97.1]  # issue: [93.0, 97.0]
    assert np.round(_band(200, 0.05), 1).tolist() == [0.4, 9.6]
    assert np.round(_band(1000, 0.05), 1).tolist() == [2.9, 7.1]


def test_recovery_default_run():
    """200 replications on one outcome (about 40 s on 2 cores)."""
    _check(200, [DEFAULT_OUTCOME], (90.4, 99.6))


@pytest.mark.slow
def test_recovery_1000_replications_all_outcomes():
    """1,000 replications on every outcome of the default (several minutes)."""
    _check(1000, list(SyntheticParams().outcomes), (93.0, 97.0))
