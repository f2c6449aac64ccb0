"""Size classes from the base year's municipalities (size_rule) and units with a missing part."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.data.build import build_panel, read_current_panel
from analysis.data.harmonise import harmonise_to_boundaries
from analysis.data.options import PanelOptions
from analysis.data.sizing import large_by_merger


class History:
    """GM0001 (35,000) + GM0002 (25,000) -> GM0003 in 2016; GM0004 and GM0005 stay."""

    MERGED = {"GM0001": "GM0003", "GM0002": "GM0003"}

    def crosswalk(self, from_year, to_year, population=None):
        codes = ["GM0001", "GM0002", "GM0004", "GM0005"] if from_year < 2016 else \
            ["GM0003", "GM0004", "GM0005"]  # fmt: skip
        return pd.DataFrame({"from_code": codes, "to_code": [self.MERGED.get(c, c) for c in codes],
                             "weight": 1.0})

    def municipalities_on(self, year):
        return ["GM0001", "GM0002", "GM0004", "GM0005"] if year < 2016 else \
            ["GM0003", "GM0004", "GM0005"]  # fmt: skip

    def name(self, code, year=None):
        return code

    def province(self, code):
        return "PV20"


def small_panel() -> pd.DataFrame:
    rows = [("GM0001", 2015, 35_000, 350.0), ("GM0002", 2015, 25_000, 250.0),
            ("GM0004", 2015, 120_000, 1200.0), ("GM0005", 2015, 15_000, 150.0),
            ("GM0003", 2016, 61_000, 610.0), ("GM0004", 2016, 121_000, 1210.0),
            ("GM0005", 2016, 15_100, 151.0)]  # fmt: skip
    return pd.DataFrame(rows, columns=["municipality", "year", "population", "wmo_clients"])


def harmonise(panel, **options):
    return harmonise_to_boundaries(panel, 2016, History(), baseline_year=2015,
                                   options=PanelOptions(**options))


def by_unit(out):
    return out.drop_duplicates("municipality").set_index("municipality")


def test_sum_rule_is_the_population_within_the_unit_and_marks_the_merger():
    unit = by_unit(harmonise(small_panel())).loc["GM0003"]
    assert unit["baseline_population"] == 60_000 == unit["baseline_population_sum"]
    assert unit["size_class"] == "50-100k" and bool(unit["large"])
    assert unit["largest_part"] == "GM0001"
    assert unit["baseline_population_largest_part"] == 35_000
    assert bool(unit["large_by_merger"])


def test_largest_part_rule_sizes_by_the_largest_predecessor():
    out = harmonise(small_panel(), size_rule="largest_part")
    units = by_unit(out)
    assert units.loc["GM0003", "size_class"] == "20-50k" and not units.loc["GM0003", "large"]
    assert bool(units.loc["GM0003", "large_by_merger"])
    # units that did not merge are sized as before
    assert units.loc["GM0004", "size_class"] == ">=100k"
    assert not units.loc["GM0004", "large_by_merger"]
    assert out.attrs["size_rule"] == "largest_part"
    assert "size_rule='largest_part'" in out.attrs["size_note"]
    assert out.attrs["merger_crossers"] == ["GM0003"]


def test_merger_crossers_can_be_left_out_and_the_threshold_moves_the_line():
    out = harmonise(small_panel(), drop_merger_crossers=True)
    assert "GM0003" not in set(out["municipality"]) and out.attrs["merger_crossers_dropped"]
    assert "left out" in out.attrs["size_note"]
    # at 100,000 no merger crosses; at 30,000 GM0003's largest part (35,000) is large itself
    for threshold in (100_000, 30_000):
        assert not harmonise(small_panel(), threshold=threshold)["large_by_merger"].any()
    panel = harmonise(small_panel())
    assert large_by_merger(panel, 60_000).groupby(panel["municipality"]).first()["GM0003"]


def test_a_part_without_base_year_population_leaves_the_size_unknown():
    panel = small_panel()
    panel.loc[0, "population"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = by_unit(harmonise(panel, size_rule="largest_part")).loc["GM0003"]
    assert pd.isna(unit["baseline_population"]) and pd.isna(unit["large_by_merger"])


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="size_rule 'biggest'"):
        PanelOptions(size_rule="biggest")
    with pytest.raises(ValueError, match="missing_parts 'fill'"):
        PanelOptions(missing_parts="fill")
    with pytest.raises(ValueError, match="max_missing_share 1.5"):
        PanelOptions(max_missing_share=1.5)


# ------------------------------------------------------------------ missing parts


def partial_panel(missing_share: float) -> pd.DataFrame:
    """GM0002 holds ``missing_share`` of GM0003's 2015 inhabitants and has no Wmo figure."""
    panel = small_panel()
    small = 60_000 * missing_share
    panel.loc[panel["municipality"] == "GM0001", ["population", "wmo_clients"]] = \
        [60_000 - small, (60_000 - small) / 100]  # fmt: skip
    panel.loc[panel["municipality"] == "GM0002", ["population", "wmo_clients"]] = [small, np.nan]
    return panel


def test_a_unit_missing_two_percent_is_scaled_and_flagged():
    panel = partial_panel(0.02)
    default = harmonise(panel).set_index(["municipality", "year"]).loc[("GM0003", 2015)]
    assert np.isnan(default["wmo_clients"])
    out = harmonise(panel, missing_parts="scale")
    cell = out.set_index(["municipality", "year"]).loc[("GM0003", 2015)]
    # 588 clients among 58,800 reporting inhabitants, scaled to the unit's 60,000
    assert cell["wmo_clients"] == pytest.approx(588 * 60_000 / 58_800)
    assert cell["wmo_per_1000"] == pytest.approx(10.0)
    assert cell["wmo_clients_status"].startswith("scaled: 2.0% of inhabitants")
    assert "GM0002" in cell["wmo_clients_status"] and bool(cell["incomplete"])
    assert out.attrs["scaled_cells"] == [{"municipality": "GM0003", "year": 2015,
                                          "column": "wmo_clients", "missing_share": 0.02,
                                          "missing_parts": "GM0002"}]
    assert out.attrs["panel_options"]["missing_parts"] == "scale"


def test_a_unit_missing_ten_percent_stays_missing():
    out = harmonise(partial_panel(0.10), missing_parts="scale")
    cell = out.set_index(["municipality", "year"]).loc[("GM0003", 2015)]
    assert np.isnan(cell["wmo_clients"]) and out.attrs["scaled_cells"] == []
    # ... unless the stated share allows it
    wide = harmonise(partial_panel(0.10), missing_parts="scale", max_missing_share=0.15)
    assert wide.set_index(["municipality", "year"]).loc[("GM0003", 2015), "wmo_clients"] > 0


# ------------------------------------------------------------------ the real panel


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panels = {
            "default": build_panel("statline", out_dir=out),
            "largest": build_panel("statline", out_dir=out, options=PanelOptions(
                size_rule="largest_part", missing_parts="scale")),
        }
    return out, panels


def test_real_panel_every_unit_is_sized_on_2015(real):
    _, panels = real
    units = by_unit(panels["default"].panel)
    assert len(units) == 342 and units["size_class"].notna().all()
    assert units["baseline_population"].sum() == 16_900_726  # CBS, 1 January 2015
    assert not any("baseline year" in w for w in panels["default"].metadata["build_warnings"])


def test_real_panel_units_changing_class_under_each_rule(real):
    _, panels = real
    total, largest = by_unit(panels["default"].panel), by_unit(panels["largest"].panel)
    # 86 large units under the sum rule, 10 of them only through a merger
    assert int(total["large"].sum()) == 86 and int(total["large_by_merger"].sum()) == 10
    assert int(largest["large"].sum()) == 76
    changed = total["size_class"].astype(str) != largest["size_class"].astype(str)
    assert int(changed.sum()) == 13  # the 10 crossing 50,000 and 3 crossing 20,000
    assert set(total.index[total["large_by_merger"]]) <= set(total.index[changed])
    # e.g. Het Hogeland (2019): four municipalities of 6,000-15,000 (crosses 20,000);
    # the 10 crossing 50,000 are Gooise Meren, Meierijstad, Midden-Groningen, Altena,
    # Vijfheerenlanden, Hoeksche Waard, Westerkwartier, Land van Cuijk, Maashorst,
    # Voorne aan Zee
    assert total.loc["GM1966", "size_class"] == "20-50k"
    assert largest.loc["GM1966", "size_class"] == "<20k"
    for threshold, expected in ((20_000, 4), (100_000, 0)):
        flags = large_by_merger(total, threshold)
        assert int(flags.sum()) == expected, threshold


def test_real_amsterdam_wmo_2018_scaled_under_the_option_missing_by_default(real):
    _, panels = real
    default = panels["default"].panel.set_index(["municipality", "year"])
    scaled = panels["largest"].panel.set_index(["municipality", "year"])
    assert np.isnan(default.loc[("GM0363", 2018), "wmo_clients"])
    cell = scaled.loc[("GM0363", 2018)]
    # Amsterdam's own 67,870 clients x (unit population / Amsterdam's), district map 2018
    assert cell["wmo_clients"] == pytest.approx(67_870 * (854_047 + 19_147) / 854_047)
    assert cell["wmo_clients_status"].startswith("scaled: 2.2% of inhabitants")
    # 2021: Amsterdam itself has no figure (98 % missing): stays missing
    assert np.isnan(scaled.loc[("GM0363", 2021), "wmo_clients"])
    sidecar = json.loads(panels["largest"].path.with_suffix(".json").read_text())
    assert sidecar["panel_options"]["size_rule"] == "largest_part"
    cells = [c for c in sidecar["scaled_cells"] if c["municipality"] == "GM0363"]
    assert {c["year"] for c in cells if c["column"] == "wmo_clients"} == {2016, 2018, 2019,
                                                                          2020, 2022}
    assert all(c["missing_share"] < 0.05 for c in sidecar["scaled_cells"])


def test_panels_under_other_options_sit_side_by_side(real):
    out, panels = real
    assert panels["default"].path.name == "panel_statline_2023.parquet"
    assert panels["largest"].path.name == "panel_statline_2023_largest_part_scale5.parquet"
    again = read_current_panel("statline", 2023, out_dir=out)
    assert again is not None and again.panel.attrs["size_rule"] == "sum"
    other = read_current_panel("statline", 2023, out_dir=out, options=PanelOptions(
        size_rule="largest_part", missing_parts="scale"))
    assert other is not None and "largest predecessor" in other.panel.attrs["size_note"]
    assert read_current_panel("statline", 2023, out_dir=out,
                              options=PanelOptions(threshold=20_000)) is None
