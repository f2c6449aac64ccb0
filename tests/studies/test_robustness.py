"""headline_table: one row per outcome from its specification curve; the headline
interval covers the synthetic truth; the grid is stated; screening flags counted."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data import schema
from analysis.data.synthetic.generator import simulate_panel
from analysis.studies.robustness import grid_text, headline_table, notebook_grid, screening_flags

OUTCOME = "wmo_per_1000"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_panel(0).panel


def test_headline_covers_the_truth_and_states_the_grid(panel):
    curves: dict = {}
    table = headline_table(panel, [OUTCOME], log=False, draws=999, curves=curves)
    row = table.iloc[0]
    assert row["outcome"] == OUTCOME and row["specifications"] == len(curves[OUTCOME].table)
    grid = notebook_grid(panel, OUTCOME)
    assert row["specifications"] == (len(grid["base_year"]) * 2 * 3 * len(grid["cluster"]) * 2)
    assert row["headline_ci_low"] <= row["truth"] <= row["headline_ci_high"]
    # the headline interval is the widest over the clusters among the default choices
    t = curves[OUTCOME].estimated
    default = t[(t["base_year"] == grid["base_year"][0]) & (t["sample"] == "all")
                & (t["threshold"] == 50_000) & (t["weighting"] == "none")]
    widths = default["ci_high"] - default["ci_low"]
    assert row["headline_ci_high"] - row["headline_ci_low"] == pytest.approx(widths.max())
    assert 0 <= row["share_agreeing_excluding_zero"] <= 1
    assert table.attrs["grid"][OUTCOME] == grid and table.attrs["draws"] == 999
    assert "threshold in {100000, 20000, 50000}" in grid_text(table)


def test_screening_flags_count_the_outcome_and_its_parts(panel):
    out = panel.copy()
    out["wmo_clients_status"] = pd.Series([None] * len(out), dtype="object")
    out.loc[out.index[:3], "wmo_clients_status"] = "screen:jump"
    out.loc[out.index[2:5], "population_status"] = "screen:power_of_ten;x"
    out.loc[out.index[7], "wmo_clients_status"] = "confidential"  # a CBS code, not screening
    assert screening_flags(out, OUTCOME) == 5  # unit-years, not codes
    assert screening_flags(out, "bijstand_per_1000") == 0
    assert schema.OUTCOMES[OUTCOME].numerator == "wmo_clients"
