"""Randomisation inference: brute force by hand, exactness under the null, power."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis import did_2x2, event_study, randomisation_inference, twfe
from analysis.data import schema  # noqa: E402
from analysis.data.synthetic.generator import DEFAULT_OUTCOMES, SyntheticParams, simulate_panel  # noqa: E402

YEARS = range(2012, 2017)


def tiny_panel(seed: int = 0, n_units: int = 8, effect: float = 0.0) -> pd.DataFrame:
    """8 units in 2 provinces of 4, 2 large in each: 6 x 6 = 36 assignments."""
    rng = np.random.default_rng(seed)
    rows = []
    large = np.tile([1, 1, 0, 0], n_units // 4)
    for i in range(n_units):
        level, trend = rng.normal(0, 3), rng.normal(0, 0.5)
        for t in YEARS:
            post = t >= schema.REFORM_YEAR
            rows.append({
                schema.MUNICIPALITY: f"GM{i:04d}", schema.YEAR: t,
                schema.PROVINCE: f"PV{20 + i // 4}",
                schema.BASELINE_POPULATION: 80_000.0 if large[i] else 20_000.0,
                "y": level + trend * (t - 2012) + effect * large[i] * post + rng.normal(),
            })
    return pd.DataFrame(rows)


def brute_force(panel: pd.DataFrame, design: str) -> tuple[float, np.ndarray]:
    """Every within-province relabelling, each estimated by the design itself."""
    units = sorted(panel[schema.MUNICIPALITY].unique())
    province = panel.groupby(schema.MUNICIPALITY)[schema.PROVINCE].first()
    per_province = [
        list(itertools.combinations([u for u in units if province[u] == p], 2))
        for p in sorted(province.unique())
    ]
    estimates = []
    for choice in itertools.product(*per_province):
        chosen = {u for pair in choice for u in pair}
        data = panel.copy()
        data[schema.LARGE] = data[schema.MUNICIPALITY].isin(chosen).astype(float)
        data["large_x_post"] = data[schema.LARGE] * (data[schema.YEAR] >= 2015)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if design == "twfe":
                b = twfe(data, "y", ["large_x_post"]).estimate("large_x_post")
            elif design == "did_2x2":
                b = did_2x2(data, "y", group=schema.LARGE).estimate("large:post")
            else:
                b = event_study(data, "y", treatment=schema.LARGE).estimate("large:event+1")
        estimates.append(b)
    return estimates[0], np.array(estimates)


@pytest.mark.parametrize(
    ("design", "balanced"),
    [("twfe", True), ("did_2x2", True), ("event_study", True), ("twfe", False),
     ("did_2x2", False)],  # the event-study statistic is for balanced panels (tested below)
)
def test_exact_p_value_equals_brute_force_enumeration(design, balanced):
    panel = tiny_panel(seed=3, effect=1.0)
    if not balanced:
        panel = panel.drop(index=[5, 17, 33]).reset_index(drop=True)  # three unit-years absent
    ri = randomisation_inference(panel, "y", design=design, term="large:event+1"
                                 if design == "event_study" else None, wild_draws=0)
    observed = ri.estimate
    _, everything = brute_force(panel, design)
    assert ri.enumerated and ri.n_assignments == 36 and ri.draws == 36
    np.testing.assert_allclose(np.sort(ri.null_distribution), np.sort(everything), atol=1e-9)
    by_hand = np.mean(np.abs(everything) >= abs(observed) - 1e-9)
    assert ri.p_value == pytest.approx(by_hand, abs=1e-12)
    assert ri.mc_se == 0.0


def test_event_study_statistic_refuses_an_unbalanced_panel():
    panel = tiny_panel().drop(index=[5]).reset_index(drop=True)
    with pytest.raises(ValueError, match="balanced panels only"):
        randomisation_inference(panel, "y", design="event_study", wild_draws=0)


def test_size_under_the_sharp_null_with_random_labels():
    """Labels drawn at random within provinces, no effect: P(p <= a) <= a for every a.

    The outcome has unit-specific trends (so parallel trends fail for any fixed split),
    yet the randomisation test is exact because the labels really were randomised.
    """
    reps, draws = 150, 99
    rng = np.random.default_rng(11)
    pvals = []
    for r in range(reps):
        panel = tiny_panel(seed=100 + r, n_units=24)
        # re-draw which units are large: 2 of 4 in each province
        large = np.concatenate([rng.permutation([1, 1, 0, 0]) for _ in range(6)])
        pop = np.where(large, 80_000.0, 20_000.0)
        panel[schema.BASELINE_POPULATION] = pop[panel.index // len(YEARS)]
        ri = randomisation_inference(panel, "y", draws=draws, seed=r, wild_draws=0)
        pvals.append(ri.p_value)
    pvals = np.array(pvals)
    for level in (0.05, 0.1, 0.25, 0.5):
        rate = np.mean(pvals <= level)
        assert rate <= level + 3 * np.sqrt(level * (1 - level) / reps), (level, rate)
        assert rate >= level - 3 * np.sqrt(level * (1 - level) / reps), (level, rate)


def test_monte_carlo_p_value_and_its_standard_error():
    panel = tiny_panel(seed=4, n_units=24)  # 6^6 = 46,656 assignments > draws
    ri = randomisation_inference(panel, "y", draws=499, seed=2, wild_draws=0)
    assert not ri.enumerated and ri.n_assignments == 6**6 and ri.draws == 499
    hits = np.sum(np.abs(ri.null_distribution) >= abs(ri.estimate) * (1 - 1e-9))
    assert ri.p_value == pytest.approx((1 + hits) / 500)
    assert ri.mc_se == pytest.approx(np.sqrt(ri.p_value * (1 - ri.p_value) / 499))
    again = randomisation_inference(panel, "y", draws=499, seed=2, wild_draws=0)
    assert again.p_value == ri.p_value  # seeded


@pytest.fixture(scope="module")
def synthetic():
    return simulate_panel(2).panel


def test_planted_effect_is_detected_beside_the_wild_bootstrap(synthetic):
    # Wmo: +0/+1.5 per 1,000 in large classes against -2/-1 in small ones (truth.json)
    ri = randomisation_inference(synthetic, "wmo_per_1000", draws=199, wild_draws=199)
    assert ri.p_value == pytest.approx(1 / 200)
    assert ri.wild.p_value < 0.01
    table = ri.table
    assert list(table.columns) == ["outcome", "term", "estimate", "method", "null", "p_value",
                                   "mc_se"]
    assert table["method"].str.startswith("randomisation").iloc[0]
    assert ri.plot() is not None


def test_threshold_scheme_enumerates_every_distinct_cut(synthetic):
    ri = randomisation_inference(synthetic, "wmo_per_1000", scheme="threshold", strata=None,
                                 wild_draws=0)
    pop = synthetic.drop_duplicates(schema.MUNICIPALITY)[schema.BASELINE_POPULATION]
    inside = np.unique(pop[(pop >= 20_000) & (pop <= 100_000)])
    assert not np.isin([20_000, 100_000], pop).any()
    # one labelling per population in the range, plus "above the last one below 100,000"
    assert ri.enumerated and ri.n_assignments == len(inside) + 1
    assert 0 < ri.p_value <= 1


def test_bad_input_is_named(synthetic):
    with pytest.raises(ValueError, match="design must be"):
        randomisation_inference(synthetic, "wmo_per_1000", design="ols")
    with pytest.raises(ValueError, match="strata=None"):
        randomisation_inference(synthetic, "wmo_per_1000", scheme="threshold")
    with pytest.raises(ValueError, match="must lie in"):
        randomisation_inference(synthetic, "wmo_per_1000", scheme="threshold", strata=None,
                                thresholds=(60_000, 90_000))
    moving = synthetic.copy()
    moving.loc[moving.index[0], schema.PROVINCE] = "PV99"
    with pytest.raises(ValueError, match="changes over time"):
        randomisation_inference(moving, "wmo_per_1000", wild_draws=0)
    with pytest.raises(KeyError, match="baseline_population"):
        randomisation_inference(synthetic.drop(columns=schema.BASELINE_POPULATION),
                                "wmo_per_1000")


def test_labels_correlated_with_trends_reject_although_size_has_no_effect():
    """The failure the docstring names: no effect of the label on anyone, but post-2015
    paths that grow with population. Permuting labels within provinces then rejects: the
    test is of the sharp null under as-if random labels, not of parallel trends."""
    sim = simulate_panel(4, replace(SyntheticParams(), outcomes=_no_effects())).panel
    log_pop = np.log(sim[schema.BASELINE_POPULATION]) - 10.4
    sim["y"] = sim["wmo_per_1000"] + 1.5 * log_pop * (sim[schema.YEAR] - 2010) / 13
    ri = randomisation_inference(sim, "y", draws=199, wild_draws=0)
    assert ri.p_value < 0.05
    flat = randomisation_inference(sim, "wmo_per_1000", draws=199, wild_draws=0)
    assert flat.p_value > ri.p_value


def _no_effects() -> dict:
    return {
        name: replace(dgp, effect_by_size_class=(0.0, 0.0, 0.0, 0.0), intensity_slope=0.0)
        for name, dgp in DEFAULT_OUTCOMES.items()
    }
