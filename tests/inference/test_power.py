"""Power and MDE: calibration recovers the generator, the vectorised engine equals the
designs refitted, the simulated MDE agrees with Bloom's analytic one."""

from __future__ import annotations

import warnings
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import intensity_did, power, twfe
from analysis.data import schema  # noqa: E402
from analysis.data.synthetic.generator import (  # noqa: E402
    DEFAULT_OUTCOMES,
    SyntheticParams,
    _ar1,
    simulate_panel,
)
from analysis.inference.calibration import calibrate, within_part  # noqa: E402
from analysis.inference.power import DESIGNS, _simulate  # noqa: E402
from analysis.studies.evaluation import LARGE_POST, large_at  # noqa: E402

OUTCOME = "spending_per_inhabitant"  # large counts: rounding to whole euros is negligible


def null_params(rho: float = 0.5) -> SyntheticParams:
    """The generator with no reform effect at all: only unit/year effects and AR(1) errors."""
    outcomes = {
        name: replace(dgp, effect_by_size_class=(0.0, 0.0, 0.0, 0.0), intensity_slope=0.0)
        for name, dgp in DEFAULT_OUTCOMES.items()
    }
    return SyntheticParams(rho=rho, outcomes=outcomes)


@pytest.fixture(scope="module")
def null_panel() -> pd.DataFrame:
    return simulate_panel(7, null_params()).panel


def _calibrate(panel: pd.DataFrame, outcome: str = OUTCOME):
    return calibrate(panel[outcome].to_numpy(), None, panel[schema.MUNICIPALITY].to_numpy(),
                     panel[schema.YEAR].to_numpy(), outcome)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.8])
def test_calibration_recovers_the_generators_error_process(rho):
    # Pooled over 5 panels (342 units x 14 years each): the Nickell correction must
    # remove the downward bias of the within autocorrelation (about -(1 + rho)/13).
    cals = [_calibrate(simulate_panel(s, null_params(rho)).panel) for s in range(5)]
    truth = DEFAULT_OUTCOMES[OUTCOME]
    assert np.mean([c.rho for c in cals]) == pytest.approx(rho, abs=0.02)
    assert np.mean([c.rho_within for c in cals]) < rho - 0.03  # the bias that was removed
    assert np.mean([c.sd for c in cals]) == pytest.approx(truth.sd, rel=0.03)
    # unit effects: noise sd plus the log-population gradient (level + slope x log pop)
    pop = simulate_panel(0).panel.drop_duplicates(schema.MUNICIPALITY)
    expected = np.sqrt(truth.unit_sd**2 + truth.size_slope**2
                       * np.var(np.log(pop[schema.BASELINE_POPULATION]), ddof=1))
    assert np.mean([c.unit_sd for c in cals]) == pytest.approx(expected, rel=0.1)


def test_calibrated_generator_reproduces_the_calibration(null_panel):
    cal = _calibrate(null_panel)
    logpop = np.log(null_panel.groupby(schema.MUNICIPALITY)[schema.BASELINE_POPULATION].first())
    params = cal.synthetic_params(null_params(), log_population=logpop)
    again = _calibrate(simulate_panel(8, params).panel)
    assert again.rho == pytest.approx(cal.rho, abs=0.04)
    assert again.sd == pytest.approx(cal.sd, rel=0.05)
    assert again.unit_sd == pytest.approx(cal.unit_sd, rel=0.1)


@pytest.mark.parametrize("balanced", [True, False])
@pytest.mark.parametrize("design", ["large_vs_small", "intensity"])
def test_vectorised_replications_equal_the_design_refitted(null_panel, design, balanced):
    """Replication by replication: estimate, CR1 s.e. and t at a planted effect."""
    if not balanced:  # a missing outcome drops the unit-year (and leaves a gap in its series)
        null_panel = null_panel.copy()
        null_panel.loc[null_panel.index[[3, 400, 401, 2000]], OUTCOME] = np.nan
    result, term = DESIGNS[design].fit(null_panel, OUTCOME, {})
    fit, frame = result.fit, result.fit.extra["frame"]
    j = fit.names.index(term)
    units = pd.factorize(frame[schema.MUNICIPALITY], sort=True)[0]
    years = frame[schema.YEAR].to_numpy()
    cal = calibrate(fit.y_raw, fit.X_raw[:, j], frame[schema.MUNICIPALITY].to_numpy(), years)
    fitted = fit.y_raw - within_part(fit.y_raw, fit.X_raw[:, j], units, years)
    draws = _simulate(result, term, cal, fitted, units, years - years.min(), 14, 3, seed=5)
    errors = _ar1(np.random.default_rng(5), 14, 342 * 3, cal.rho, cal.sd).reshape(14, 342, 3)
    delta = 2.0 * result.std_error(term)
    for r in range(3):
        data = null_panel.loc[frame.index].copy()
        data[OUTCOME] = fitted + errors[years - years.min(), units, r] + delta * fit.X_raw[:, j]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if design == "large_vs_small":
                refit = twfe(large_at(data, schema.LARGE_THRESHOLD), OUTCOME, [LARGE_POST])
            else:
                refit = intensity_did(data, OUTCOME, bins=0)
        t = refit.estimate(term) / refit.std_error(term)
        assert draws.t_stat(delta)[r] == pytest.approx(t, rel=1e-8)
        assert draws.b0[r] + delta * draws.b_planted == pytest.approx(refit.estimate(term))


@pytest.fixture(scope="module")
def result(null_panel):
    return power(null_panel, OUTCOME, reps=1000, seed=3)


def test_simulated_mde_agrees_with_bloom_within_monte_carlo_error(result):
    # Bloom's SE is the design's CR1 s.e. on one panel; its own sampling spread (measured
    # by the simulation as se_rel_sd) adds to the Monte Carlo error of the simulated MDE.
    for row in result.table.itertuples(index=False):
        allowance = 3 * np.hypot(row.mde_mc_se, row.mde_bloom * row.se_rel_sd)
        assert abs(row.mde - row.mde_bloom) <= allowance, row
        # and the CR1 s.e. measures the spread of the estimates it is about
        assert row.mean_se_simulated == pytest.approx(row.sd_estimates, rel=0.06)


def test_size_and_the_power_curve(result):
    for design, curve in result.curves.groupby("design"):
        at_zero = curve.loc[curve["effect"] == 0, "power"].iloc[0]
        assert abs(at_zero - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / 1000), design
        tail = curve[curve["effect_over_se"] >= 1]["power"].to_numpy()
        assert np.all(np.diff(tail) >= 0) and tail[-1] > 0.99
    row = result.table.iloc[0]
    assert 2.5 < row.mde_over_se < 3.1  # (1.97 + 0.84) standard errors
    assert result.plot() is not None


def test_mde_is_where_the_curve_crosses_the_target(result, null_panel):
    row = result.table.set_index("design").loc["large_vs_small"]
    curve = power(null_panel, OUTCOME, designs=["large_vs_small"], reps=1000, seed=3,
                  effects=[row.mde * 0.999, row.mde]).curves["power"].to_numpy()
    assert curve[0] < 0.8 <= curve[1]


def test_bad_input_is_named(null_panel):
    with pytest.raises(ValueError, match="unknown design"):
        power(null_panel, OUTCOME, designs=["discontinuity"])
    with pytest.raises(ValueError, match="reps"):
        power(null_panel, OUTCOME, reps=2)


def with_cohorts(panel: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A merger cohort per unit: about 30% merge in 2016-2022, the rest never (0)."""
    rng = np.random.default_rng(seed)
    units = panel[schema.MUNICIPALITY].unique()
    cohort = np.where(rng.random(len(units)) < 0.3, rng.integers(2016, 2023, len(units)), 0)
    out = panel.copy()
    out["cohort"] = out[schema.MUNICIPALITY].map(dict(zip(units, cohort, strict=True)))
    return out


def test_merger_design_is_linear_in_the_outcome(null_panel):
    from analysis.inference._power_refit import merger_design

    design = merger_design(with_cohorts(null_panel), OUTCOME, {"cohort": "cohort"})
    y0 = design.y + np.random.default_rng(1).normal(0, 5, len(design.y))
    b0, s0, n = design.estimate(y0)
    bx, sx, _ = design.estimate(design.x)
    b, s, _ = design.estimate(y0 + 3.0 * design.x)
    assert bx == pytest.approx(1.0)  # a constant effect of 1 after the merger
    assert b == pytest.approx(b0 + 3.0 * bx, rel=1e-10)
    np.testing.assert_allclose(s, s0 + 3.0 * sx, atol=1e-9 * np.abs(s0).max())
    assert design.se == pytest.approx(np.sqrt(np.sum(design.estimate(design.y)[1] ** 2)) / n)


def test_merger_design_power_beside_bloom(null_panel):
    res = power(with_cohorts(null_panel), OUTCOME, designs=["mergers"], reps=100, seed=1,
                cohort="cohort")
    row = res.table.iloc[0]
    assert row.term == "overall" and row.reps == 100
    allowance = 3 * np.hypot(row.mde_mc_se, row.mde_bloom * row.se_rel_sd)
    assert abs(row.mde - row.mde_bloom) <= allowance
    with pytest.raises(KeyError, match="cohort"):
        power(null_panel, OUTCOME, designs=["mergers"], reps=10)
