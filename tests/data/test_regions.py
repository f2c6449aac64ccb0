"""Regional classifications (vendored 83287NED) carried onto every boundary year."""

from __future__ import annotations

import json
import shutil

import pytest

from analysis.data import paths
from analysis.data.boundaries import load_boundary_history
from analysis.data.build import RawDataError
from analysis.data.regions import load_regions
from tests.conftest import SHARED

HISTORY = load_boundary_history(paths.STATLINE_RAW / "03759ned" / "codes-RegioS.json")
REGIONS = paths.RAW / "regions"


@pytest.fixture(scope="module")
def regions_2023():
    return load_regions(2023, history=HISTORY)


def test_every_2023_municipality_has_one_of_42_youth_care_regions(regions_2023):
    assert len(regions_2023) == 342 == len(HISTORY.municipalities_on(2023))
    assert regions_2023["youth_care_region"].notna().all()
    assert regions_2023["youth_care_region"].nunique() == 42
    assert regions_2023["labour_market_region"].nunique() == 35
    assert regions_2023["corop"].nunique() == 40
    assert regions_2023["province"].nunique() == 12
    raw = json.loads((REGIONS / "83287NED.json").read_text())
    assert set(regions_2023["youth_care_region"]) == set(raw["Jeugdzorgregios"])  # JZ40 unused


@pytest.mark.parametrize("year", range(2015, 2024))
def test_each_boundary_year_is_complete(year):
    regions = load_regions(year, history=HISTORY)
    assert list(regions["municipality"]) == HISTORY.municipalities_on(year)
    columns = ["youth_care_region", "labour_market_region", "corop", "province"]
    assert regions[columns].notna().all().all()


def test_2016_is_the_file_itself():
    regions = load_regions(2016, history=HISTORY).set_index("municipality")
    raw = json.loads((REGIONS / "83287NED.json").read_text())
    expected = dict(zip(raw["reg"], raw["Jeugdzorgregios"], strict=True))
    assert expected == regions["youth_care_region"].to_dict()
    assert (regions["regions_split"] == "").all()
    assert (regions["youth_care_region_share"] > 0.9999).all()


def test_merged_units_across_regions_are_flagged_with_the_population_share(regions_2023):
    r = regions_2023.set_index("municipality")
    # Amsterdam took in Weesp (2022), which bought youth care with Gooi en Vechtstreek
    assert r.loc["GM0363", "youth_care_region"] == "JZ13"
    assert "youth_care_region" in r.loc["GM0363", "regions_split"]
    assert r.loc["GM0363", "youth_care_region_share"] == pytest.approx(0.978, abs=1e-3)
    # Vijfheerenlanden (2019): Leerdam and Zederik (Zuid-Holland) and Vianen (Utrecht);
    # the province is Utrecht as CBS lists it, the regions follow the larger part
    assert r.loc["GM1961", "province"] == "PV26"
    assert r.loc["GM1961", "province_share"] == pytest.approx(0.364, abs=1e-3)
    assert r.loc["GM1961", "youth_care_region_share"] == pytest.approx(0.636, abs=1e-3)
    assert set(r.index[r["regions_split"] != ""]) == {
        "GM0363", "GM0394", "GM0824", "GM0855", "GM1900", "GM1952", "GM1960", "GM1961"}
    # a unit that merged within one region is not flagged
    assert r.loc["GM1966", "regions_split"] == ""  # Het Hogeland (2019)


def test_before_2015_is_refused():
    with pytest.raises(ValueError, match="before 2015"):
        load_regions(2014, history=HISTORY)


def test_a_changed_file_is_refused(tmp_path):
    copy = tmp_path / "regions"
    shutil.copytree(REGIONS, copy)
    (copy / "83287NED.json").write_text("{}")
    with pytest.raises(RawDataError, match="sha256"):
        load_regions(2023, history=HISTORY, raw_dir=copy)


def test_vendored_file_is_the_shared_one_byte_for_byte():
    shared = SHARED / "cbs" / "regions" / "83287NED.json"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent (only beside the repo)")
    assert (REGIONS / "83287NED.json").read_bytes() == shared.read_bytes()
