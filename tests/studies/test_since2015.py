"""Designs for what real data identify: growth since 2015, level gaps, inherited caseload,
pre-2015 trends, the under-50,000 claim. Checked on synthetic panels with planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import did_2x2, simulate_panel
from analysis.data import schema
from analysis.studies.prereform import (
    AWBZ,
    INHERITED,
    OLD_LAW,
    YOUTH_POPULATION,
    across_reform_reason,
    add_inherited_caseload,
    budget_reason,
    counts_indexed,
    inherited_effects,
    pre_reform_tests,
)
from analysis.studies.since2015 import (
    base_year_for,
    growth_gap,
    growth_path,
    level_gap,
    mark_size,
    plain_growth,
    size_gap_table,
)
from analysis.studies.small_claim import claim_family, plain_claim, threshold_sensitivity


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return mark_size(simulate_panel(3).panel)


def planted(sim: pd.DataFrame, effect: float, log: bool = False, seed: int = 0) -> pd.DataFrame:
    """y = unit + year + effect * large * (year > 2015) + noise, from 2015 on."""
    rng = np.random.default_rng(seed)
    out = sim[sim[schema.YEAR] >= 2015].copy()
    codes = out[schema.MUNICIPALITY].astype("category").cat.codes.to_numpy()
    unit = rng.normal(0, 1, codes.max() + 1)[codes]
    year = (out[schema.YEAR] - 2015) * 0.05
    y = unit + year + effect * out[schema.LARGE] * (out[schema.YEAR] > 2015)
    y = y + rng.normal(0, 0.2, len(out))
    out["y"] = np.exp(y) if log else y + 10
    return out


def statline_like(seed: int = 3, trend: float = 0.0) -> pd.DataFrame:
    """A synthetic panel with the real panel's columns: youth care changes concept in 2015."""
    panel = mark_size(simulate_panel(seed).panel)
    panel.attrs["synthetic"] = False  # treated as real: no truth, concept break
    pre = panel[schema.YEAR] < 2015
    panel[YOUTH_POPULATION] = panel[schema.POPULATION_0_17]
    drift = np.exp(trend * panel[schema.LARGE] * (panel[schema.YEAR] - 2014))
    panel[OLD_LAW] = (0.4 * panel["youth_care_users"] * drift).round().where(pre)
    panel[AWBZ] = (0.2 * panel["youth_care_users"]).round().where(pre)
    panel.loc[pre, ["youth_care_users", "youth_care_per_1000"]] = np.nan
    panel["youth_care_per_1000_0_22"] = panel["youth_care_per_1000"]
    return panel


def test_growth_gap_equals_the_2x2_from_the_base_year_on_a_balanced_panel(sim):
    res = growth_gap(sim, "wmo_per_1000")
    since = sim[sim[schema.YEAR] >= 2015]
    did = did_2x2(since, "wmo_per_1000", group="large", reform_year=2016, baseline_year=None)
    assert res.extra["base_year"] == 2015
    assert res.estimate("large:growth") == pytest.approx(did.estimate("large:post"), abs=1e-9)


@pytest.mark.parametrize("log", [False, True])
def test_growth_gap_recovers_a_planted_difference(sim, log):
    effect = 0.1 if log else 0.8
    data = planted(sim, effect, log=log)
    table = size_gap_table(data, ["y"], log=log, draws=4096)
    row = table.iloc[0]
    assert abs(row["estimate"] - effect) < 3 * row["std_error"]
    assert row["wild_ci_low"] < effect < row["wild_ci_high"]
    assert row["provinces"] == 12 and row["wild_enumerated"]
    if log:
        assert row["percent_estimate"] == pytest.approx(100 * np.expm1(row["estimate"]))


def test_no_difference_is_not_found_where_there_is_none(sim):
    row = size_gap_table(planted(sim, 0.0, seed=5), ["y"], draws=999).iloc[0]
    assert row["wild_ci_low"] < 0 < row["wild_ci_high"]


def test_growth_gap_leaves_out_units_without_a_base_value_and_says_so(sim):
    data = sim.copy()
    gone = data[schema.MUNICIPALITY].iloc[0]
    data.loc[(data[schema.MUNICIPALITY] == gone) & (data[schema.YEAR] == 2015),
             "wmo_per_1000"] = np.nan
    res = growth_gap(data, "wmo_per_1000")
    assert res.extra["units_without_base"] == [gone]
    assert any(gone in note for note in res.notes)
    without = growth_gap(sim[sim[schema.MUNICIPALITY] != gone], "wmo_per_1000")
    assert res.estimate("large:growth") == pytest.approx(without.estimate("large:growth"))


def test_base_year_is_the_first_year_most_municipalities_report(sim):
    data = sim.copy()
    units = data[schema.MUNICIPALITY].unique()
    silent = data[schema.MUNICIPALITY].isin(units[: len(units) // 3])
    data.loc[silent & data[schema.YEAR].isin([2015, 2016]), "wmo_per_1000"] = np.nan
    assert base_year_for(data, "wmo_per_1000") == 2017
    assert growth_gap(data, "wmo_per_1000").extra["base_year"] == 2017
    data.loc[data[schema.YEAR] >= 2017, "wmo_per_1000"] = np.nan
    with pytest.raises(ValueError, match="wmo_per_1000: fewer than two years"):
        base_year_for(data, "wmo_per_1000")


def test_growth_path_has_one_coefficient_per_year_after_the_base(sim):
    res = growth_path(planted(sim, 0.8), "y")
    assert res.table["event_time"].tolist() == list(range(0, 8))
    assert np.allclose(res.table["estimate"], 0.8, atol=0.15)


def test_level_gap_is_the_difference_in_means_on_a_balanced_panel(sim):
    res = level_gap(sim, "wmo_per_1000")
    since = sim[sim[schema.YEAR] >= 2015]
    means = since.groupby(since["small"])["wmo_per_1000"].mean()
    assert res.estimate("small") == pytest.approx(means[1.0] - means[0.0], rel=1e-9)


def test_mark_size_names_a_municipality_without_baseline_population(sim):
    data = sim.copy()
    data.loc[data.index[0], schema.BASELINE_POPULATION] = np.nan
    with pytest.raises(ValueError, match=data[schema.MUNICIPALITY].iloc[0]):
        mark_size(data)


def test_inherited_caseload_by_hand_and_missing_stays_missing():
    panel = statline_like()
    code = panel[schema.MUNICIPALITY].iloc[0]
    panel.loc[(panel[schema.MUNICIPALITY] == panel[schema.MUNICIPALITY].iloc[-1])
              & (panel[schema.YEAR] == 2014), AWBZ] = np.nan
    out = add_inherited_caseload(panel)
    row14 = panel[(panel[schema.MUNICIPALITY] == code) & (panel[schema.YEAR] == 2014)].iloc[0]
    young = panel[(panel[schema.MUNICIPALITY] == code) & (panel[schema.YEAR] == 2015)]
    expected = (row14[OLD_LAW] + row14[AWBZ]) / young[YOUTH_POPULATION].iloc[0] * 1000
    assert out.loc[out[schema.MUNICIPALITY] == code, INHERITED].iloc[0] == pytest.approx(expected)
    last = out[out[schema.MUNICIPALITY] == panel[schema.MUNICIPALITY].iloc[-1]]
    assert last[INHERITED].isna().all()
    with pytest.raises(KeyError, match="youth_care_users_pre2015"):
        add_inherited_caseload(simulate_panel(3).panel)


def test_inherited_effects_recover_a_planted_dose_slope():
    panel = add_inherited_caseload(statline_like())
    rng = np.random.default_rng(4)
    dose = panel[INHERITED] - panel.drop_duplicates(schema.MUNICIPALITY)[INHERITED].mean()
    panel["y"] = 5 + 0.3 * dose * (panel[schema.YEAR] > 2015) + rng.normal(0, 0.5, len(panel))
    panel.loc[panel[schema.YEAR] < 2015, "y"] = np.nan
    table, results = inherited_effects(panel, ["y"], draws=999)
    row = table.iloc[0]
    assert row["base_year"] == 2015
    assert abs(row["estimate"] - 0.3) < 3 * row["std_error"]
    assert row["wild_ci_low"] < 0.3 < row["wild_ci_high"]
    assert "dose_response" in results["y"].extra


def test_pre_reform_tests_find_a_planted_drift_and_not_a_missing_one():
    flat, _ = pre_reform_tests(statline_like(trend=0.0), series=[AWBZ], draws=999)
    drift, studies = pre_reform_tests(statline_like(trend=0.08), series=[OLD_LAW], draws=999)
    assert flat.loc[0, "wild_ci_low"] < 0 < flat.loc[0, "wild_ci_high"]
    assert drift.loc[0, "trend_ci_low"] < 0.08 < drift.loc[0, "trend_ci_high"]
    assert drift.loc[0, "wild_p"] < 0.01 and drift.loc[0, "leads_p"] < 0.01
    assert studies[OLD_LAW].table["event_time"].tolist() == [-4, -3, -2]


def test_reasons_name_the_concept_break_on_real_data_only():
    real = statline_like()
    reason = across_reform_reason(real, "youth_care_per_1000_0_22")
    assert "different concepts" in reason and "82354NED" in reason
    assert across_reform_reason(real, "wmo_per_1000").startswith("wmo_per_1000")
    assert across_reform_reason(simulate_panel(3).panel, "youth_care_per_1000") is None
    assert budget_reason(simulate_panel(3).panel) is None
    assert "synthetic" in budget_reason(real.drop(columns=[schema.INTENSITY]))


def test_counts_indexed_is_100_in_the_base_year_and_skips_gappy_units():
    panel = statline_like()
    gap = panel[schema.MUNICIPALITY].iloc[0]
    panel.loc[(panel[schema.MUNICIPALITY] == gap) & (panel[schema.YEAR] == 2012), OLD_LAW] = np.nan
    table = counts_indexed(panel, [OLD_LAW], base_year=2014)
    assert np.allclose(table.loc[table[schema.YEAR] == 2014, "index"], 100)
    assert table.groupby("group")["municipalities"].first().sum() == panel[
        schema.MUNICIPALITY].nunique() - 1


def test_claim_family_adjusts_and_keeps_the_bootstrap_p_values(sim):
    outcomes = ["wmo_per_1000", "bijstand_per_1000", "youth_care_per_1000"]
    table = claim_family(sim, outcomes, draws=999)
    assert (table["group"] == "small").all()
    assert (table["p_holm"] >= table["wild_p"] - 1e-12).all()
    assert (table["p_romano_wolf"] >= table["wild_p"] - 1e-12).all()
    assert (table["p_bh"] <= table["p_holm"] + 1e-12).all()
    text = plain_claim(table)
    assert text.count("under 50,000") == 3 and "Verdict:" in text


def test_threshold_sensitivity_moves_the_line(sim):
    table = threshold_sensitivity(sim, ["wmo_per_1000"], draws=99)
    groups = table[table["design"] == "growth"].set_index("threshold")["in_group"]
    assert list(groups.index) == [20_000, 50_000, 100_000]
    assert groups.is_monotonic_increasing


def test_plain_growth_states_direction_interval_and_certainty(sim):
    table = size_gap_table(planted(sim, 0.8), ["y"], draws=999)
    text = plain_growth(table)
    assert "more" in text and "wild-bootstrap interval" in text
    assert "can tell apart from zero" in text


def test_sidecar_tables_list_tables_seams_routes_and_what_was_not_placed():
    from analysis.reporting.summary import sidecar_tables

    metadata = {
        "tables": {"82354NED": {"title": "old law", "columns": ["youth_care_users_pre2015"]}},
        "seams": [{"column": "wmo_clients", "from_table": "83262NED", "to_table": "84839NED",
                   "last_year_before": 2020, "first_year_after": 2021}],
        "statline": {
            "population_routes": {"rows_per_year_and_route": {"2015": {"wmo_clients": 179}}},
            "regional_aggregates_left_out": {"84134NED": ["Achterhoek (JZ)"]},
            "figures_outside_lifetime_left_out": [
                {"table": "84580NED", "name": "Vijfheerenlanden", "year": 2018, "why": "x"}],
            "municipalities_absent_from_table": {"84751NED": {"2017": ["GM0003", "GM0005"]}},
        },
    }
    out = sidecar_tables(metadata)
    assert out["tables"]["table"].tolist() == ["82354NED"]
    assert out["seams"].loc[0, "to"] == "84839NED"
    assert out["population"].loc["2015", "wmo_clients"] == 179
    assert out["not placed"]["n"].tolist() == [1, 1, 2]
    assert out["not placed"]["what"].iloc[-1].endswith("in 2017")
    assert all(frame.empty for frame in sidecar_tables({}).values())


def test_complete_sizes_uses_the_first_later_population_and_says_so(sim):
    from analysis.studies.since2015 import complete_sizes

    assert complete_sizes(sim) is sim
    data = sim.copy()
    code = data[schema.MUNICIPALITY].iloc[0]
    mine = data[schema.MUNICIPALITY] == code
    data.loc[mine, schema.BASELINE_POPULATION] = np.nan
    data.loc[mine & (data[schema.YEAR] < 2017), schema.POPULATION] = np.nan
    out = complete_sizes(data)
    expected = data.loc[mine & (data[schema.YEAR] == 2017), schema.POPULATION].iloc[0]
    assert (out.loc[mine, schema.BASELINE_POPULATION] == expected).all()
    note = out.attrs["size_note"]
    assert "1 of 342 municipalities" in note and "2017: 1" in note
    data.loc[mine, schema.POPULATION] = np.nan
    with pytest.raises(ValueError, match=code):
        complete_sizes(data)


def test_a_later_first_year_moves_the_base_year(sim):
    table = size_gap_table(sim, ["wmo_per_1000"], first_year=2016, draws=99)
    assert table.loc[0, "base_year"] == 2016
    direct = growth_gap(mark_size(sim), "wmo_per_1000", base_year=2016)
    assert table.loc[0, "estimate"] == pytest.approx(direct.estimate("large:growth"))
