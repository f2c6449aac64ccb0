"""Designs that guide: data that cannot support a design get the name of one that can,
and the designs use a built panel's own size groups and baseline year."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import analysis

EXAMPLE = ROOT / "data" / "examples" / "youth_care_2016_2022.csv"
OUTCOME = "youth_care_per_1000_0_22"


@pytest.fixture(scope="module")
def since2016():
    """The shipped example (2016-2022, no year before the reform), sized in 2019."""
    own = pd.read_csv(EXAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analysis.panel_from_frame(own, 2022, baseline_year=2019)


@pytest.mark.parametrize("design", ["did_2x2", "event_study", "intensity_did"])
def test_a_before_after_design_on_data_from_2016_names_the_growth_design(since2016, design):
    kwargs = {"dose": "population"} if design == "intensity_did" else {}
    with pytest.raises(ValueError, match=r"no year before 2015 \(the data start in 2016\)"
                                         r".*analysis\.size_gap_table.*analysis\.growth_path"):
        getattr(analysis, design)(since2016, OUTCOME, **kwargs)


def test_a_baseline_year_before_the_data_says_where_they_start():
    p = analysis.simulate_panel(1).panel
    p = p[p["year"] >= 2012]
    with pytest.raises(ValueError, match=r"missing in baseline year 2011.*the data start in "
                                         r"2012: give baseline_year= a year they cover"):
        analysis.did_2x2(p, "wmo_per_1000", baseline_year=2011)


def test_the_growth_design_named_in_the_error_runs_on_the_same_data(since2016):
    table = analysis.size_gap_table(since2016, [OUTCOME], draws=99)
    assert table.loc[0, ["base_year", "last_year", "municipalities"]].tolist() == [2016, 2022, 345]
    path = analysis.growth_path(analysis.mark_size(since2016), OUTCOME)
    assert path.table["event_time"].tolist() == [0, 1, 2, 3, 4, 5]  # 2017-2022 against 2016


def _panel():
    p = analysis.simulate_panel(1).panel
    base = p[p["year"] == 2011].set_index("municipality")["population"]
    p["baseline_population"] = p["municipality"].map(base)  # as a build sized in 2011 writes
    p.attrs["baseline_year"] = 2011
    return p


def test_did_2x2_takes_the_panels_own_baseline_year_and_size_groups():
    p = _panel()
    own = analysis.did_2x2(p, "wmo_per_1000")
    explicit = analysis.did_2x2(p, "wmo_per_1000", baseline_year=2011)
    assert own.estimate("large:post") == pytest.approx(explicit.estimate("large:post"))
    in2014 = analysis.did_2x2(p, "wmo_per_1000", baseline_year=2014)
    assert own.estimate("large:post") != pytest.approx(in2014.estimate("large:post"))


def test_did_2x2_uses_the_panels_completed_sizes_where_a_baseline_population_is_missing():
    p = _panel()
    gap = p["municipality"] == p["municipality"].iloc[0]
    p.loc[gap & (p["year"] == 2011), "population"] = np.nan  # sized later (complete_sizes)
    res = analysis.did_2x2(p, "wmo_per_1000")
    assert np.isfinite(res.estimate("large:post"))
    p.attrs["large_threshold"] = 20_000  # the panel's own threshold, too
    own = analysis.did_2x2(p, "wmo_per_1000").estimate("large:post")
    assert own == pytest.approx(analysis.did_2x2(p, "wmo_per_1000", threshold=20_000)
                                .estimate("large:post"))
    assert own != pytest.approx(res.estimate("large:post"))


def test_the_growth_design_and_side_by_side_are_top_level_names():
    for name in ("size_gap_table", "growth_gap", "growth_path", "level_gap", "complete_sizes",
                 "mark_size", "side_by_side"):
        assert name in analysis.__all__
        assert callable(getattr(analysis, name))
