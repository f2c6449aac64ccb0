"""The 2015 district map (vendored DBF) and the risk profile harmonised onto later boundaries."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.data import paths
from analysis.data.boundaries import load_boundary_history
from analysis.data.district_map import DistrictMapError, read_district_map
from analysis.data.risk_profile import ATTRIBUTES, load_risk_profile_2015, urbanity
from tests.conftest import SHARED

HISTORY = load_boundary_history(paths.STATLINE_RAW / "03759ned" / "codes-RegioS.json")
CBS_POPULATION_2015 = 16_900_726  # CBS, inhabitants on 1 January 2015 (StatLine 37296ned)


@pytest.fixture(scope="module")
def raw():
    return read_district_map()


@pytest.fixture(scope="module")
def profile_2023():
    return load_risk_profile_2015(2023, history=HISTORY)


def test_dbf_holds_the_393_municipalities_of_2015_and_cbs_total(raw):
    assert len(raw) == 393
    assert sorted(raw["municipality"]) == HISTORY.municipalities_on(2015)
    assert raw["AANT_INW"].sum() == CBS_POPULATION_2015


def test_sentinels_are_missing_with_a_reason_never_numbers(raw):
    assert raw.attrs["sentinels"] == {"P_STADVERW": 356, "G_GAS_APP": 1, "AUTO_HH": 1,
                                      "AUTO_LAND": 1}
    numeric = raw.select_dtypes("number")
    assert (numeric.fillna(0) >= 0).all().all()
    assert raw["P_STADVERW"].isna().sum() == 356
    assert raw.loc[raw["P_STADVERW"].isna(), "P_STADVERW_status"].str.contains("-99999999").all()
    assert raw.loc[raw["P_STADVERW"].notna(), "P_STADVERW_status"].isna().all()


def test_an_unknown_negative_value_is_refused(tmp_path):
    copy = tmp_path / "district_map"
    shutil.copytree(paths.RAW / "district_map", copy)
    data = bytearray((copy / "gem_2015.dbf").read_bytes())
    # Appingedam's AANT_INW (12011) written as -1201 in its 10-character field
    at = data.index(b"     12011")
    data[at:at + 10] = b"     -1201"
    (copy / "gem_2015.dbf").write_bytes(bytes(data))
    manifest = (copy / "manifest.json").read_text()
    new = hashlib.sha256(bytes(data)).hexdigest()
    (copy / "manifest.json").write_text(manifest.replace(
        "1ae81925286293708fb2af64fd71fef0952d353e7c649aa8703dcdc3799ad254", new))
    with pytest.raises(DistrictMapError, match="GM0003 .Appingedam. has AANT_INW = -1201"):
        read_district_map(copy)


def test_2015_boundaries_give_the_file_back(raw):
    profile = load_risk_profile_2015(2015, history=HISTORY).set_index("municipality")
    source = raw.set_index("municipality").loc[profile.index]
    for column, (cbs, _, _) in ATTRIBUTES.items():
        if column == "population_density":  # recomputed from whole hectares: within 1 %
            np.testing.assert_allclose(profile[column], source[cbs], rtol=0.01)
        else:
            np.testing.assert_allclose(profile[column], source[cbs], err_msg=column)
    assert (profile["urbanity"].astype(float) == source["STED"]).all()


def test_later_boundaries_conserve_counts_and_reweight_shares(raw, profile_2023):
    assert len(profile_2023) == 342
    assert profile_2023["population"].sum() == CBS_POPULATION_2015
    for column in ("households", "dwellings", "bijstand_benefits", "land_area_ha"):
        cbs = ATTRIBUTES[column][0]
        assert profile_2023[column].sum() == pytest.approx(raw[cbs].sum())
    assert profile_2023[list(ATTRIBUTES)].notna().all().all()
    # Amsterdam (GM0363) took in Weesp (GM0457) in 2022: shares weighted by each one's
    # own denominator (population for age, households for household composition)
    r = raw.set_index("municipality").loc[["GM0363", "GM0457"]]
    unit = profile_2023.set_index("municipality").loc["GM0363"]
    assert unit["population"] == r["AANT_INW"].sum() == 840_100
    assert unit["share_65_plus"] == pytest.approx(
        (r["P_65_EO_JR"] * r["AANT_INW"]).sum() / r["AANT_INW"].sum())
    assert unit["share_one_person_households"] == pytest.approx(
        (r["P_EENP_HH"] * r["AANTAL_HH"]).sum() / r["AANTAL_HH"].sum())
    assert unit["income_per_recipient_keur"] == pytest.approx(
        (r["INK_ONTV"] * r["AANT_INK"]).sum() / r["AANT_INK"].sum())
    assert unit["population_density"] == pytest.approx(
        r["AANT_INW"].sum() / r["OPP_LAND"].sum() * 100)
    assert unit["combined_from"] == "GM0363;GM0457"


def test_urbanity_follows_cbs_bounds():
    density = pd.Series([2500, 2499, 1500, 1000, 999, 500, 499, np.nan])
    assert urbanity(density).tolist() == [1, 2, 2, 3, 4, 4, 5, pd.NA]


def test_before_2015_is_refused():
    with pytest.raises(ValueError, match="before 2015"):
        load_risk_profile_2015(2014, history=HISTORY)


def test_vendored_dbf_is_the_shared_one_byte_for_byte():
    shared = SHARED / "cbs" / "district-map-2015" / "gem_2015.dbf"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent (only beside the repo)")
    assert (paths.RAW / "district_map" / "gem_2015.dbf").read_bytes() == shared.read_bytes()
