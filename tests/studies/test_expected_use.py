"""Expected use from a risk profile: binomial variances, coverage of known remainders, counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import schema
from analysis.inference.fay_herriot import fay_herriot
from analysis.studies import expected_use as eu

M = 300


def _world(seed: int = 0):
    """Fixed municipalities: populations like the Dutch ones, two profile covariates."""
    rng = np.random.default_rng(seed)
    population = np.round(np.exp(rng.normal(np.log(30_000), 0.8, M))).clip(1_000)
    profile = pd.DataFrame({"a": rng.normal(size=M), "b": rng.uniform(0, 1, M)},
                           index=[f"GM{9000 + i}" for i in range(M)])
    return population, profile


def _panel(count, population, profile, year=2017):
    return pd.DataFrame({
        schema.MUNICIPALITY: profile.index, schema.NAME: [f"Test-{c}" for c in profile.index],
        schema.YEAR: year, schema.SIZE_CLASS: schema.size_class(pd.Series(population)),
        "wmo_clients": count, schema.POPULATION: population,
    })


def _draw(rng, population, profile, sd_u=5.0, shift=None):
    theta = 50 + 4 * profile["a"].to_numpy() - 6 * profile["b"].to_numpy()
    u = rng.normal(0, sd_u, M)
    if shift is not None:
        u = u + shift
    count = rng.binomial(population.astype(int), (theta + u) / 1000)
    return count.astype(float), u, theta


def test_sampling_variance_is_binomial_per_1000():
    population, profile = _world()
    panel = _panel(np.full(M, 500.0), population, profile)
    d = eu.direct_estimates(panel, "wmo_per_1000", 2017)
    p = 500 / population
    np.testing.assert_allclose(d["observed"], 1000 * p)
    np.testing.assert_allclose(d["sampling_variance"], 1e6 * p * (1 - p) / population)
    d4 = eu.direct_estimates(panel, "wmo_per_1000", 2017, variance_factor=4)
    np.testing.assert_allclose(d4["sampling_variance"], 4 * d["sampling_variance"])


def test_zero_counts_and_amounts_are_refused_by_name():
    population, profile = _world()
    count = np.full(M, 500.0)
    count[3] = 0
    with pytest.raises(ValueError, match=r"wmo_per_1000 2017: wmo_clients is 0 .*GM9003"):
        eu.direct_estimates(_panel(count, population, profile), "wmo_per_1000", 2017)
    d = eu.direct_estimates(_panel(count, population, profile), "wmo_per_1000", 2017,
                            zero_counts="continuity")
    p0 = 0.5 / (population[3] + 1)
    assert d["observed"].iloc[3] == 0 and d["zero_count"].sum() == 1
    assert d["sampling_variance"].iloc[3] == pytest.approx(1e6 * p0 * (1 - p0) / population[3])
    count[3] = population[3]
    with pytest.raises(ValueError, match="not below population for"):
        eu.direct_estimates(_panel(count, population, profile), "wmo_per_1000", 2017,
                            zero_counts="continuity")
    with pytest.raises(ValueError, match="not a count of persons"):
        eu.direct_estimates(_panel(count, population, profile), "spending_per_inhabitant", 2017)
    assert eu.person_outcomes(["wmo_per_1000", "spending_per_inhabitant"]) == ["wmo_per_1000"]


def test_remainder_intervals_from_binomial_counts_cover_the_true_remainders():
    """The whole chain (counts -> binomial D from the observed rate -> FH on the standardised
    profile): the remainder intervals cover the known u_i at 93-97 % over 60 replications."""
    population, profile = _world()
    rng = np.random.default_rng(42)
    covered = []
    for _ in range(60):
        count, u, _ = _draw(rng, population, profile)
        d = eu.direct_estimates(_panel(count, population, profile), "wmo_per_1000", 2017)
        X = eu._design(profile, d.index)[0]
        fit = fay_herriot(d["observed"], d["sampling_variance"], X).areas
        covered.append(np.mean((fit["remainder_low"].to_numpy() <= u)
                               & (u <= fit["remainder_high"].to_numpy())))
    assert 0.93 <= np.mean(covered) <= 0.97


def test_expected_use_table_counts_and_reading_agree():
    population, profile = _world()
    count, u, theta = _draw(np.random.default_rng(1), population, profile)
    panel = _panel(count, population, profile)
    result = eu.expected_use(panel, profile, "wmo_per_1000", 2017)
    t = result.table
    assert len(t) == M and result.left_out == []
    np.testing.assert_allclose(t["expected"], theta, atol=2.0)  # the profile is recovered
    assert ((t["rank_low"] <= t["rank"]) & (t["rank"] <= t["rank_high"])).mean() > 0.9
    chance = eu.chance_table(result).set_index("group")
    assert chance.loc["all", "n"] == M
    assert chance.drop(index="all")["n"].sum() == M
    assert chance.loc["all", "differ"] == (t["differs"] != 0).sum()
    assert chance.loc["all", "expected_by_chance"] == pytest.approx(0.05 * M)
    assert (chance.loc["all", "chance_low"], chance.loc["all", "chance_high"]) == (8, 23)
    text = eu.reading([result])
    assert f"{chance.loc['all', 'differ']} of {M} municipalities" in text
    assert "binomial range 8-23" in text


def test_a_municipality_without_profile_is_left_out_and_listed():
    population, profile = _world()
    count, _, _ = _draw(np.random.default_rng(2), population, profile)
    holed = profile.copy()
    holed.iloc[5, 0] = np.nan
    result = eu.expected_use(_panel(count, population, profile), holed, "wmo_per_1000", 2017)
    assert result.left_out == ["GM9005"] and len(result.table) == M - 1


def test_size_class_gap_recovers_a_known_shift_of_small_municipalities():
    population, profile = _world()
    small = (population < 20_000).astype(float)
    count, _, _ = _draw(np.random.default_rng(3), population, profile, shift=-8.0 * small)
    gaps = eu.size_class_gaps(_panel(count, population, profile), profile, "wmo_per_1000", 2017,
                              reference="20-50k")
    row = gaps.set_index("size_class").loc["<20k"]
    assert row["ci_low"] <= -8.0 <= row["ci_high"] and row["ci_high"] < 0


def test_persistence_of_a_fixed_remainder_across_two_years():
    population, profile = _world()
    rng = np.random.default_rng(4)
    theta = 50 + 4 * profile["a"].to_numpy() - 6 * profile["b"].to_numpy()
    u = rng.normal(0, 5.0, M)  # the same remainder in both years
    panels = [_panel(rng.binomial(population.astype(int), (theta + u) / 1000).astype(float),
                     population, profile, year) for year in (2017, 2023)]
    panel = pd.concat(panels, ignore_index=True)
    assert eu.outcomes_in_year(panel, ["wmo_per_1000"], 2023) == ["wmo_per_1000"]
    assert eu.outcomes_in_year(panel, ["wmo_per_1000"], 2019) == []
    first, later = (eu.expected_use(panel, profile, "wmo_per_1000", y) for y in (2017, 2023))
    p = eu.persistence(first, later)
    assert p["n"] == M and p["correlation"] > 0.8
    assert p["table"].to_numpy().sum() == M
    assert p["table"].loc[-1, 1] == 0 and p["table"].loc[1, -1] == 0  # never flips sign
