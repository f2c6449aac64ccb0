"""Notebook 09's logic (analysis.studies.sensitivity_report) on the synthetic and the real panel."""

import numpy as np
import pandas as pd
import pytest

from analysis.data.build import read_panel
from analysis.studies.sensitivity_report import _round, sensitivity_and_power
from analysis.studies.since2015 import complete_sizes


def test_round_keeps_four_significant_digits_and_missing():
    frame = pd.DataFrame({"x": [123456.0, 0.000123456, -2.71828, 0.0, np.nan], "s": list("abcde")})
    out = _round(frame)
    assert out["x"].iloc[:4].tolist() == [123500.0, 0.0001235, -2.718, 0.0]
    assert np.isnan(out["x"].iloc[4]) and out["s"].tolist() == list("abcde")


@pytest.fixture(scope="module")
def synthetic():
    panel = complete_sizes(read_panel("synthetic", 2023))
    return sensitivity_and_power(panel, ["wmo_per_1000"], source="synthetic", draws=99, reps=20)


def test_synthetic_runs_all_three_checks_with_the_truth(synthetic):
    assert synthetic.headline == "wmo_per_1000"
    table = synthetic.honest_table()
    assert table.iloc[0]["method"] == "Original"
    assert set(table["restriction"]) == {"none", "SD", "RM"}
    original = table.iloc[0]
    # parallel trends hold in the generator: the ordinary interval covers the true coefficient
    assert original["ci_low"] <= synthetic.honest_truth <= original["ci_high"]
    # robust intervals widen with Mbar, so the breakdown is where zero first enters
    rm = table[table["restriction"] == "RM"]
    assert (np.diff(rm["ci_high"] - rm["ci_low"]) >= -1e-3).all()
    p = synthetic.p_value_table()
    assert {"randomisation_p", "wild_p", "cr1_p", "truth"} <= set(p.columns)
    assert p["randomisation_p"].iloc[0] == pytest.approx(0.01)  # 1 / (99 + 1): nothing as extreme
    mde = synthetic.mde_table()
    assert {"large_vs_small", "intensity"} <= set(mde["design"])
    row = mde.set_index("design").loc["large_vs_small"]
    assert row["truth"] > row["mde"]  # the planted effect is one these data detect
    assert "wmo_per_1000" in synthetic.reading()


def test_real_panel_says_why_the_2015_designs_cannot_run():
    panel = complete_sizes(read_panel("statline", 2023))
    report = sensitivity_and_power(panel, ["youth_care_per_1000_0_22"], source="statline",
                                   draws=99, reps=20)
    assert report.honest is None and not report.randomisation
    assert any("different concepts" in r for r in report.reasons)
    assert any("no outcome here has one" in r for r in report.reasons)
    # mergers fall inside the Jeugdwet years, so their design's power is simulated
    assert list(report.mde_table()["design"]) == ["mergers"]
