"""The SCP trend view: ratio-of-sums rates, indexing, risk profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.synthetic.generator import simulate_panel
from analysis.studies.trends import (
    index_to_year,
    rates_by_group,
    risk_profile,
    unexplained_by_region,
)


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(3).panel


def test_group_rate_is_ratio_of_sums_not_mean_of_rates():
    df = pd.DataFrame(
        {
            "municipality": ["GM0001", "GM0002"],
            "year": [2015, 2015],
            "size_class": ["<20k", "<20k"],
            "wmo_clients": [10.0, 300.0],
            "population": [1000.0, 10000.0],
        }
    )
    rates = rates_by_group(df, ["wmo_per_1000"])
    # (10 + 300) / (1,000 + 10,000) * 1,000 = 28.18..., while the mean of 10 and 30 is 20
    assert rates["rate"].iloc[0] == pytest.approx(310 / 11000 * 1000)
    assert rates["municipalities"].iloc[0] == 2


def test_missing_component_leaves_the_municipality_out_of_both_sums():
    df = pd.DataFrame(
        {
            "municipality": ["GM0001", "GM0002"],
            "year": [2015, 2015],
            "wmo_clients": [np.nan, 300.0],
            "population": [1000.0, 10000.0],
        }
    )
    rates = rates_by_group(df, ["wmo_per_1000"], by=None)
    assert rates["rate"].iloc[0] == pytest.approx(30.0)
    assert rates["municipalities"].iloc[0] == 1


def test_national_rate_equals_sum_over_panel(panel):
    rates = rates_by_group(panel, ["bijstand_per_1000"], by=None).set_index("year")
    p2019 = panel[panel["year"] == 2019]
    expected = p2019["bijstand_recipients"].sum() / p2019["population_18_64"].sum() * 1000
    assert rates.loc[2019, "rate"] == pytest.approx(expected, rel=1e-12)


def test_index_is_100_in_the_index_year_for_every_group(panel):
    indexed = index_to_year(rates_by_group(panel, ["wmo_per_1000", "youth_care_per_1000"]))
    at_2015 = indexed[indexed["year"] == 2015]["index"]
    assert np.allclose(at_2015, 100.0)
    assert len(at_2015) == 8


def test_index_without_base_year_names_the_group():
    rates = pd.DataFrame(
        {"outcome": ["wmo_per_1000"], "group": ["<20k"], "year": [2016], "rate": [5.0]}
    )
    with pytest.raises(ValueError, match="<20k"):
        index_to_year(rates, 2015)


def test_risk_profile_recovers_the_generators_size_gradient(panel):
    # The generator's unit effect of bijstand rises by 9 per 1,000 per unit of log population.
    fit = risk_profile(panel, "bijstand_per_1000", 2012, ["log_population"])
    slope = fit.coefficients.set_index("term").loc["log_population"]
    assert abs(slope["estimate"] - 9.0) < 3 * slope["std_error (HC1)"]
    assert fit.n == 342
    assert fit.residuals["unexplained"].abs().sum() > 0


def test_unexplained_by_region_covers_every_municipality(panel):
    table = unexplained_by_region(risk_profile(panel, "wmo_per_1000", 2019))
    assert table["municipalities"].sum() == 342
    assert table["mean_unexplained"].is_monotonic_increasing


def test_risk_profile_names_a_missing_column(panel):
    with pytest.raises(KeyError, match="income"):
        risk_profile(panel, "wmo_per_1000", 2019, ["income"])


def test_outcomes_without_data_are_left_out_and_named(panel, capsys):
    from analysis.reporting.summary import outcomes_with_data

    real_like = panel.assign(spending_per_inhabitant=np.nan)
    kept = outcomes_with_data(real_like, ["wmo_per_1000", "spending_per_inhabitant"])
    assert kept == ["wmo_per_1000"]
    assert "spending_per_inhabitant" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown outcome"):
        outcomes_with_data(panel, ["wmo"])
