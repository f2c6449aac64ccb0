"""The screening rules on small frames: each planted error is flagged, genuine changes are not."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.data.harmonise import harmonise_to_boundaries
from analysis.data.screening import OFF, ScreeningSettings, screen_panel
from analysis.reporting.flags import screening_html, screening_table

YEARS = range(2015, 2023)


def frame(n: int = 8, column: str = "youth_care_cost", per_capita: float = 300.0) -> pd.DataFrame:
    """``n`` municipalities of 10,000-17,000 inhabitants, costs x 1,000 euro, a gentle trend."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(1, n + 1):
        population = 10_000.0 + 1_000 * i
        for year in YEARS:
            level = per_capita * (1 + 0.03 * (year - 2015)) * rng.uniform(0.9, 1.1)
            rows.append((f"GM{i:04d}", f"M{i}", year, level * population / 1000, population))
    return pd.DataFrame(rows, columns=["municipality", "name", "year", column, "population"])


def at(data: pd.DataFrame, code: str, year: int) -> pd.Series:
    return (data["municipality"] == code) & (data["year"] == year)


def reasons(result) -> list[tuple[str, int, str]]:
    return [tuple(r) for r in result.flags[["municipality", "year", "reason"]].to_numpy()]


def test_clean_data_raise_no_flag_and_keep_every_value():
    data = frame()
    result = screen_panel(data)
    assert result.flags.empty
    assert result.panel["youth_care_cost"].equals(data["youth_care_cost"])
    assert result.panel["youth_care_cost_raw"].equals(data["youth_care_cost"])


def test_a_planted_unit_error_is_flagged_as_a_power_of_ten():
    data = frame()
    data.loc[at(data, "GM0004", 2019), "youth_care_cost"] /= 1000  # thousands booked as euro
    result = screen_panel(data)
    assert reasons(result) == [("GM0004", 2019, "screen:power_of_ten")]
    row = result.panel[at(result.panel, "GM0004", 2019)].iloc[0]
    assert np.isnan(row["youth_care_cost"])
    planted = data.loc[at(data, "GM0004", 2019), "youth_care_cost"].item()
    assert row["youth_care_cost_raw"] == planted
    assert row["youth_care_cost_status"] == "screen:power_of_ten"
    flag = result.flags.iloc[0]
    assert flag["ratio"] == pytest.approx(1e-3, rel=0.2) and flag["name"] == "M4"
    assert flag["comparison"] == pytest.approx(flag["raw_value"] * 1000, rel=0.2)


def test_a_one_year_jump_beyond_the_factor_is_flagged_and_one_within_it_is_not():
    data = frame()
    data.loc[at(data, "GM0002", 2018), "youth_care_cost"] *= 3.5
    data.loc[at(data, "GM0005", 2020), "youth_care_cost"] *= 1.8  # within the 2.5 default
    result = screen_panel(data)
    assert reasons(result) == [("GM0002", 2018, "screen:jump")]
    strict = screen_panel(data, settings=ScreeningSettings(jump_factor=1.5))
    assert ("GM0005", 2020, "screen:jump") in reasons(strict)


def test_a_level_shift_shared_by_the_neighbours_is_not_flagged():
    data = frame()
    data.loc[data["year"] >= 2019, "youth_care_cost"] *= 4  # a new law: every unit at once
    assert screen_panel(data).flags.empty
    alone = frame()
    alone.loc[at(alone, "GM0003", 2019), "youth_care_cost"] *= 4  # the same step, one unit
    assert reasons(screen_panel(alone)) == [("GM0003", 2019, "screen:jump")]


def test_a_zero_where_the_neighbours_report_is_flagged_a_small_unit_zero_is_not():
    data = frame()
    data.loc[at(data, "GM0006", 2017), "youth_care_cost"] = 0.0
    assert reasons(screen_panel(data)) == [("GM0006", 2017, "screen:zero")]
    tiny = frame(per_capita=0.5)  # about 5-8 (x 1,000 euro) a year: below small_value 50
    tiny.loc[at(tiny, "GM0006", 2017), "youth_care_cost"] = 0.0
    assert screen_panel(tiny).flags.empty


def test_a_budget_without_its_realised_figure_is_flagged_not_the_reverse():
    data = frame()
    data["youth_care_budget"] = data["youth_care_cost"] * 0.95
    data.loc[at(data, "GM0001", 2016), "youth_care_cost"] = np.nan  # budget, no realised
    data.loc[at(data, "GM0002", 2017), "youth_care_budget"] = np.nan  # the reverse
    data.loc[at(data, "GM0003", 2018), "youth_care_budget"] = 0.0  # "not reported"
    result = screen_panel(data)
    flags = result.flags.set_index(["municipality", "year"])
    assert flags.loc[("GM0001", 2016), "reason"] == "screen:budget_without_realised"
    assert flags.loc[("GM0001", 2016), "column"] == "youth_care_budget"
    # a realised figure without a budget is not implausible (budgets are reported
    # selectively): kept
    assert ("GM0002", 2017) not in flags.index
    # a budget of 0 is "not reported": flagged itself; its realised figure is kept
    budget = result.flags[result.flags["column"] == "youth_care_budget"]
    assert budget.set_index(["municipality", "year"]).loc[("GM0003", 2018), "reason"] == (
        "screen:zero")
    assert not (result.flags["column"] == "youth_care_cost").any()
    assert len(flags) == 2
    assert result.record["pairs_applied"] == [["youth_care_budget", "youth_care_cost"]]
    # a declared pair whose budget column is absent is skipped, not an error
    assert screen_panel(frame()).record["pairs_applied"] == []


class History:
    """GM0007 and GM0008 merge into GM0009 on 1 January 2021."""

    def municipalities_on(self, year):
        codes = [f"GM{i:04d}" for i in range(1, 7)]
        return codes + (["GM0009"] if year >= 2021 else ["GM0007", "GM0008"])

    def crosswalk(self, from_year, to_year, population=None):
        codes = self.municipalities_on(from_year)
        to = [("GM0009" if c in ("GM0007", "GM0008") and to_year >= 2021 else c) for c in codes]
        return pd.DataFrame({"from_code": codes, "to_code": to, "weight": 1.0})

    def name(self, code, year=None):
        return code

    def province(self, code):
        return "PV20"


def test_the_last_year_before_a_merger_is_flagged_when_it_under_reports():
    data = frame()
    data = data[~(data["municipality"].isin(["GM0007", "GM0008"]) & (data["year"] >= 2021))]
    data.loc[at(data, "GM0007", 2020), "youth_care_cost"] *= 0.55  # dissolving: too low
    data.loc[at(data, "GM0002", 2020), "youth_care_cost"] *= 0.55  # continuing: within 2.5
    result = screen_panel(data, History())
    assert reasons(result) == [("GM0007", 2020, "screen:pre_merger")]
    assert screen_panel(data).flags.empty  # without a history nothing is known to dissolve


def test_a_code_absorbing_a_neighbour_starts_a_new_series():
    class Absorb(History):  # GM0008 joins GM0007 on 1 January 2019 (GM0007 continues)
        def municipalities_on(self, year):
            return [f"GM{i:04d}" for i in range(1, 8)] + (["GM0008"] if year < 2019 else [])

        def crosswalk(self, from_year, to_year, population=None):
            codes = self.municipalities_on(from_year)
            to = ["GM0007" if c == "GM0008" and to_year >= 2019 else c for c in codes]
            return pd.DataFrame({"from_code": codes, "to_code": to, "weight": 1.0})

    data = frame(column="youth_care_users_pre2015")  # a count compared without population
    data = data[~((data["municipality"] == "GM0008") & (data["year"] >= 2019))]
    data.loc[(data["municipality"] == "GM0007") & (data["year"] >= 2019),
             "youth_care_users_pre2015"] *= 3  # its territory trebled  # fmt: skip
    assert screen_panel(data, Absorb()).flags.empty
    assert len(screen_panel(data).flags) > 0  # without the history it looks like a jump


def test_costs_booked_by_a_region_are_flagged_against_the_regions_shares():
    data = frame(n=10)
    low = data["municipality"] == "GM0002"
    data.loc[low, "youth_care_cost"] *= 0.2  # every year: a regional body books its costs
    regions = {f"GM{i:04d}": "east" if i <= 5 else "west" for i in range(1, 11)}
    result = screen_panel(data, regions=regions)
    assert set(result.flags["municipality"]) == {"GM0002"}
    assert set(result.flags["reason"]) == {"screen:regional_booking"}
    assert len(result.flags) == len(YEARS)
    assert result.flags["ratio"].between(0.15, 0.3).all()
    assert "within youth-care regions (2 regions given)" in result.record["regions"]
    fallback = screen_panel(data)  # no regions: the size-class neighbours of the year
    assert set(fallback.flags["municipality"]) == {"GM0002"}
    assert "size-class neighbours" in fallback.record["regions"]


def test_screening_off_keeps_everything_and_thresholds_are_checked():
    data = frame()
    data.loc[at(data, "GM0004", 2019), "youth_care_cost"] /= 1000
    result = screen_panel(data, settings=OFF)
    assert result.panel is data and result.flags.empty
    assert result.record["enabled"] is False and result.record["settings"]["jump_factor"] == 2.5
    with pytest.raises(ValueError, match="jump_factor must be above 1"):
        ScreeningSettings(jump_factor=0.5)


def test_a_flagged_part_makes_the_merged_unit_missing_with_its_code_carried():
    data = frame()
    data = data[~(data["municipality"].isin(["GM0007", "GM0008"]) & (data["year"] >= 2021))]
    data.loc[at(data, "GM0008", 2017), "youth_care_cost"] *= 1000
    result = screen_panel(data, History())
    assert reasons(result) == [("GM0008", 2017, "screen:power_of_ten")]
    out = harmonise_to_boundaries(result.panel, 2021, History(), baseline_year=2016,
                                  roles=result.roles)  # fmt: skip
    row = out[at(out, "GM0009", 2017)].iloc[0]
    assert np.isnan(row["youth_care_cost"])
    assert row["youth_care_cost_status"] == "screen:power_of_ten"
    assert row["incomplete"] and "youth_care_cost" in row["incomplete_columns"]
    parts = data[data["municipality"].isin(["GM0007", "GM0008"]) & (data["year"] == 2017)]
    assert row["youth_care_cost_raw"] == pytest.approx(parts["youth_care_cost"].sum())
    other = out[at(out, "GM0009", 2018)].iloc[0]
    assert other["youth_care_cost"] == pytest.approx(other["youth_care_cost_raw"])


def test_the_report_block_lists_every_flag(tmp_path):
    data = frame()
    data.loc[at(data, "GM0004", 2019), "youth_care_cost"] /= 1000
    record = screen_panel(data).record
    (tmp_path / "panel_synthetic_2023.json").write_text(
        json.dumps({"screening": record}))  # fmt: skip
    block = screening_html("synthetic", 2023, tmp_path)
    assert "Screening flags (1)" in block and "GM0004" in block and "power_of_ten 1" in block
    assert screening_table({"screening": record}).shape == (1, 8)
    off = screen_panel(data, settings=OFF).record
    (tmp_path / "panel_synthetic_2023.json").write_text(json.dumps({"screening": off}))
    assert "Screening: off" in screening_html("synthetic", 2023, tmp_path)


def test_youth_care_regions_come_from_cbs_for_cbs_codes_only():
    from analysis.data.screening import youth_care_regions

    real = pd.DataFrame({"municipality": ["GM0599", "GM0597", "GM0613"], "year": 2019})
    regions = youth_care_regions(real)
    assert regions["GM0599"] == regions["GM0597"] == regions["GM0613"]  # Rijnmond
    assert youth_care_regions(frame().assign(municipality="GM7001")) is None  # synthetic
