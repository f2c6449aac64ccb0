"""level_gap_by_year: the gap in each year is the difference of the group means, the
coverage is counted, the pooled gap is level_gap's; real StatLine coverage and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import schema
from analysis.data.synthetic.generator import simulate_panel
from analysis.studies.levels_by_year import level_gap_by_year, levels_by_year, plot_levels_by_year
from analysis.studies.since2015 import level_gap, mark_size

OUTCOME = "wmo_per_1000"


@pytest.fixture(scope="module")
def gappy() -> pd.DataFrame:
    """Synthetic panel where a third of the municipalities report nothing before 2018."""
    panel = simulate_panel(2).panel
    units = panel[schema.MUNICIPALITY].unique()[::3]
    early = panel[schema.MUNICIPALITY].isin(units) & (panel[schema.YEAR] < 2018)
    return panel.assign(**{OUTCOME: panel[OUTCOME].mask(early)})


def test_each_year_is_the_difference_of_the_group_means(gappy):
    table = level_gap_by_year(gappy, OUTCOME, log=True, draws=999)
    marked = mark_size(gappy, schema.LARGE_THRESHOLD)
    since = marked[(marked[schema.YEAR] >= 2015) & marked[OUTCOME].notna()]
    logs = np.log(since[OUTCOME])
    means = logs.groupby([since[schema.YEAR], since["small"]]).mean().unstack()
    by_hand = (means[1.0] - means[0.0]).to_numpy()
    assert table["year"].tolist() == list(range(2015, 2024))
    np.testing.assert_allclose(table["estimate"], by_hand, rtol=0, atol=1e-10)
    np.testing.assert_allclose(table["percent_estimate"], 100 * np.expm1(by_hand), atol=1e-8)
    counts = since.groupby(schema.YEAR)["small"].agg(["size", "sum"])
    assert table["reporting"].tolist() == counts["size"].tolist()
    assert table["reporting_group"].tolist() == counts["sum"].tolist()
    n = gappy[schema.MUNICIPALITY].nunique()
    assert table.set_index("year").loc[2017, "reporting"] == n - len(range(0, n, 3))
    assert table.set_index("year").loc[2018, "reporting"] == n
    assert (table["wild_ci_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["wild_ci_high"]).all()
    # the pooled gap is level_gap's (notebook 07's "lower in 2015-2023")
    pooled = level_gap(marked, OUTCOME, log=True).table.set_index("term").loc["small"]
    assert table.attrs["pooled"]["estimate"] == pytest.approx(pooled["estimate"], abs=1e-12)
    assert 0 <= table.attrs["equal_gaps"]["p_value"] <= 1
    assert table.attrs["equal_gaps"]["df"][0] == 8


def test_balanced_years_compare_the_same_municipalities(gappy):
    table = level_gap_by_year(gappy, OUTCOME, log=False, balanced=True, draws=99)
    n = gappy[schema.MUNICIPALITY].nunique()
    assert set(table["reporting"]) == {n - len(range(0, n, 3))}
    assert "percent_estimate" not in table
    assert any("balanced" in note for note in table.attrs["notes"])


def test_a_year_without_one_group_is_a_row_with_a_note():
    panel = simulate_panel(2).panel
    small = panel[schema.BASELINE_POPULATION] < schema.LARGE_THRESHOLD
    thin = panel.assign(**{OUTCOME: panel[OUTCOME].mask(small & (panel[schema.YEAR] == 2016))})
    table = level_gap_by_year(thin, OUTCOME, draws=99).set_index("year")
    assert np.isnan(table.loc[2016, "estimate"])
    assert "fewer than 2 reporting" in table.loc[2016, "note"]
    assert table.loc[2016, "reporting_group"] == 0
    assert table.drop(index=2016)["estimate"].notna().all()


def test_too_few_years_is_refused():
    panel = simulate_panel(2).panel
    with pytest.raises(ValueError, match="fewer than two years"):
        level_gap_by_year(panel, OUTCOME, years=(2023, None), draws=99)


def test_real_coverage_and_gaps_by_year():
    from analysis.data.build import read_panel
    from analysis.studies.since2015 import complete_sizes

    panel = complete_sizes(read_panel("statline", 2023))
    table = levels_by_year(panel, ["youth_care_cost_per_inhabitant", OUTCOME], draws=9999)
    costs = table[table["outcome"] == "youth_care_cost_per_inhabitant"].set_index("year")
    # the reviewer's coverage: 54 municipalities report costs in 2015, 335 in 2023
    assert costs.loc[2015, "reporting"] == 54 and costs.loc[2023, "reporting"] == 335
    # notebook 07's pooled gap (-20.1 %) hides years from -45.5 % (54 reporting) to -16 %
    pooled = table.attrs["by_outcome"]["youth_care_cost_per_inhabitant"]["pooled"]
    assert 100 * np.expm1(pooled["estimate"]) == pytest.approx(-20.11, abs=0.01)
    assert costs.loc[2015, "percent_estimate"] == pytest.approx(-45.53, abs=0.01)
    assert costs.loc[2023, "percent_estimate"] == pytest.approx(-25.35, abs=0.01)
    wmo = table[table["outcome"] == OUTCOME].set_index("year")
    assert wmo.loc[2015, "reporting"] == 158  # Wmo clients: under half in 2015
    assert wmo.loc[2015, "percent_estimate"] < wmo.loc[2023, "percent_estimate"] < 0
    fig = plot_levels_by_year(table, panel)
    assert len(fig.axes) == 4 and "REAL CBS DATA" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt

    plt.close(fig)
