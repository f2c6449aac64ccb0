"""Municipal boundary history: parsing CBS RegioS descriptions, code lifetimes, crosswalks.

Real-file tests read ``shared/cbs/v4/03759ned/codes-RegioS.json`` (skipped when absent);
hand-made fixtures in ``tests/fixtures/`` use synthetic GM9xxx codes in CBS's exact wording.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.data.boundaries import BoundaryParseError, load_boundary_history
from analysis.data.boundary_parser import KINDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

OFFICIAL_COUNTS = {
    2010: 431, 2011: 418, 2012: 415, 2013: 408, 2014: 403, 2015: 393, 2016: 390,
    2017: 388, 2018: 380, 2019: 355, 2020: 355, 2021: 352, 2022: 345, 2023: 342,
}  # fmt: skip


@pytest.fixture(scope="session")
def real(shared_cbs):
    return load_boundary_history(shared_cbs / "v4" / "03759ned" / "codes-RegioS.json")


@pytest.fixture(scope="module")
def small():
    return load_boundary_history(FIXTURES / "regios_small.json")


def weights(cw: pd.DataFrame, code: str) -> dict[str, float]:
    rows = cw[cw["from_code"] == code]
    return dict(zip(rows["to_code"], rows["weight"], strict=True))


def write_codes(tmp_path: Path, descriptions: dict[str, str]) -> Path:
    """A RegioSCodes file whose descriptions are given with \\n; written with CBS's \\r\\n."""
    value = [
        {"Identifier": code, "Index": i, "Title": f"Gemeente {code[-2:]}",
         "Description": text.replace("\n", "\r\n"), "DimensionGroupId": "GMPV99"}
        for i, (code, text) in enumerate(descriptions.items(), start=1)
    ]  # fmt: skip
    path = tmp_path / "codes-RegioS.json"
    path.write_text(json.dumps({"value": value}), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the real CBS file


@pytest.mark.parametrize("year", sorted(OFFICIAL_COUNTS))
def test_real_file_reproduces_official_municipality_counts(real, year):
    codes = real.municipalities_on(year)
    assert len(codes) == OFFICIAL_COUNTS[year]
    assert codes == sorted(codes)
    assert "GM0998" not in codes and "GM0997" not in codes


def test_real_file_parses_with_nothing_unknown(real):
    assert real.unparsed == []
    assert set(real.events["kind"]) == set(KINDS)
    assert list(real.notes) == ["GM0997"]  # the population register's explanatory prose
    assert real.periods["code"].str.startswith("GM").all()
    assert len(real.periods) == 835


def test_real_file_giver_and_receiver_sides_agree(real):
    """Why the crosswalk reads moves from the giver: both sides list the same inhabitants."""
    e = real.events.dropna(subset=["counterpart_code"])
    e = e[e["kind"].isin(["dissolved", "boundary_correction", "changed", "created", "absorbed"])]
    e = e[e["code"] != e["counterpart_code"]]
    key = ["date", "giver", "receiver"]
    as_giver = {"code": "giver", "counterpart_code": "receiver"}
    as_receiver = {"code": "receiver", "counterpart_code": "giver"}
    gave = e[e["direction"] == "to"].rename(columns=as_giver)
    got = e[e["direction"] == "from"].rename(columns=as_receiver)
    both = gave[key + ["inhabitants"]].merge(got[key + ["inhabitants"]], on=key)
    assert len(both) > 1300
    assert (both["inhabitants_x"] == both["inhabitants_y"]).all()


def test_real_aalburg_merges_into_altena(real):
    rows = real.events[(real.events["code"] == "GM0738") & (real.events["kind"] == "dissolved")]
    assert rows[["counterpart_code", "inhabitants"]].values.tolist() == [["GM1959", 13321.0]]
    assert rows["date"].iloc[0] == pd.Timestamp("2019-01-01")
    assert real.exists_on("GM0738", "2018-12-31") and not real.exists_on("GM0738", "2019-01-01")
    assert weights(real.crosswalk(2018, 2019), "GM0738") == {"GM1959": 1.0}
    assert real.name("GM1959") == "Altena" and real.province("GM1959") == "PV30"


def test_real_littenseradiel_split_by_inhabitants(real):
    got = weights(real.crosswalk(2017, 2018), "GM0140")
    total = 3394 + 5411 + 1878  # to Leeuwarden, Súdwest-Fryslân, Waadhoeke (new)
    assert got == pytest.approx({"GM0080": 3394 / total, "GM1900": 5411 / total,
                                 "GM1949": 1878 / total})  # fmt: skip
    assert sum(got.values()) == pytest.approx(1.0)


def test_real_crosswalk_2010_to_2023_is_complete(real):
    cw = real.crosswalk(2010, 2023)
    assert set(cw["from_code"]) == set(real.municipalities_on(2010))
    assert set(cw["to_code"]) == set(real.municipalities_on(2023))
    assert cw.groupby("from_code")["weight"].sum().to_numpy() == pytest.approx(1.0)
    assert (cw["weight"] > 0).all()
    # chains: Skarsterlân and Boarnsterhim were split in 2014 (partly into De Friese
    # Meren, GM1921, renamed De Fryske Marren, GM1940, on 1 July 2015); no later move of
    # their successors carries inhabitants beyond a handful, so shares stay the 2014 ones
    skarsterlan = 26921 + 580
    assert weights(cw, "GM0051") == pytest.approx(
        {"GM1940": 26921 / skarsterlan, "GM0074": 580 / skarsterlan})  # fmt: skip
    boarnsterhim = 783 + 6018 + 11024 + 1653
    assert weights(cw, "GM0055") == pytest.approx(
        {"GM1940": 783 / boarnsterhim, "GM0074": 6018 / boarnsterhim,
         "GM0080": 11024 / boarnsterhim, "GM1900": 1653 / boarnsterhim})  # fmt: skip
    # a 2010 code merged in 2011 into Súdwest-Fryslân, which later absorbed more: stays 1
    assert weights(cw, "GM0064") == {"GM1900": 1.0}
    assert weights(cw, "GM0363") == {"GM0363": 1.0}  # Amsterdam continues


def test_real_gooise_meren_begins_with_its_creation_not_its_begindatum(real):
    # CBS lists "Begindatum 01-01-2015" but "Ontstaan per 01-01-2016" (Bussum ends then)
    assert not real.exists_on("GM1942", "2015-01-01")
    assert real.exists_on("GM1942", "2016-01-01") and real.exists_on("GM0381", "2015-01-01")


def test_real_ignored_corrections_without_population_are_the_documented_ones(real):
    """Without population, boundary corrections from continuing codes keep weight 1."""
    moves = real.changes_between(2010, 2023)
    moves = moves[moves["kind"].isin(["boundary_correction", "changed"])]
    large = moves[(moves["direction"] == "to") & (moves["inhabitants"] > 1000)]
    assert sorted(zip(large["code"], large["inhabitants"], strict=True)) == [
        ("GM0040", 1033.0), ("GM1930", 1209.0)]  # fmt: skip
    assert weights(real.crosswalk(2016, 2017), "GM0040") == {"GM0040": 1.0}


def test_real_boundary_correction_with_population(real):
    population = dict.fromkeys(real.municipalities_on(2016), 100_000.0) | {"GM0040": 15_000.0}
    got = weights(real.crosswalk(2016, 2017, population=population), "GM0040")
    assert got == pytest.approx({"GM0014": 1033 / 15_000, "GM0040": 1 - 1033 / 15_000})


def test_real_backward_needs_population_for_a_split_into_continuing_codes(real):
    with pytest.raises(ValueError, match="GM0757.*2021-01-01.*population"):
        real.crosswalk(2021, 2020)
    population = dict.fromkeys(real.municipalities_on(2021), 100_000.0)
    back = real.crosswalk(2021, 2020, population=population)
    assert weights(back, "GM0757") == pytest.approx(
        {"GM0757": 1 - 2149 / 100_000, "GM0788": 2149 / 100_000})  # fmt: skip
    assert set(back["to_code"]) <= set(real.municipalities_on(2020))


def test_real_backward_merger_is_clean_without_population(real):
    back = real.crosswalk(2019, 2018)
    total = 13321 + 27295 + 14770
    assert weights(back, "GM1959") == pytest.approx(
        {"GM0738": 13321 / total, "GM0870": 27295 / total, "GM0874": 14770 / total})  # fmt: skip
    assert back.groupby("from_code")["weight"].sum().to_numpy() == pytest.approx(1.0)


def test_real_province_and_names(real):
    assert real.province("GM0997") is None  # DimensionGroupId OVERIG
    assert real.province("GM0140") == "PV21"
    assert real.name("GM0140", 2017) == "Littenseradiel"
    with pytest.raises(KeyError, match="GM0140.*2018"):
        real.name("GM0140", 2018)
    with pytest.raises(KeyError, match="GM0998"):
        real.name("GM0998")  # Buitenland is only a counterpart, not a listed code


# ---------------------------------------------------------------- hand-made fixtures


def test_fixture_lifetimes(small):
    assert small.municipalities_on(2015) == [
        "GM9001", "GM9002", "GM9004", "GM9005", "GM9007", "GM9008", "GM9009", "GM9011"]  # fmt: skip
    assert small.municipalities_on(2016) == [
        "GM9001", "GM9002", "GM9003", "GM9004", "GM9005", "GM9009", "GM9011"]  # fmt: skip
    assert small.municipalities_on(2021) == ["GM9001", "GM9002", "GM9003", "GM9006", "GM9010"]
    assert "NL01" not in set(small.periods["code"])


def test_fixture_merger(small):
    cw = small.crosswalk(2015, 2016)
    assert weights(cw, "GM9007") == {"GM9003": 1.0}
    assert weights(cw, "GM9008") == {"GM9003": 1.0}
    assert weights(cw, "GM9001") == {"GM9001": 1.0}  # untouched code maps to itself
    created = small.events[(small.events["code"] == "GM9003") & (small.events["kind"] == "created")]
    assert created["direction"].tolist() == ["from", "from"]
    assert created["inhabitants"].sum() == 10_000
    assert created[["hectares", "dwellings"]].iloc[0].tolist() == [1800.0, 2500.0]


def test_fixture_split_into_continuing_and_new_code(small):
    cw = small.crosswalk(2018, 2019)
    assert weights(cw, "GM9005") == {"GM9003": 0.25, "GM9006": 0.75}
    assert weights(cw, "GM9003") == {"GM9003": 1.0}  # the absorbing code continues


def test_fixture_chained_crosswalk_and_counts_preserved(small):
    cw = small.crosswalk(2015, 2021)
    assert weights(cw, "GM9005") == {"GM9003": 0.25, "GM9006": 0.75}
    assert weights(cw, "GM9004") == {"GM9010": 1.0}  # renamed mid-2017
    counts = pd.Series({"GM9001": 10.0, "GM9002": 20.0, "GM9004": 5.0, "GM9005": 40.0,
                        "GM9007": 6.0, "GM9008": 4.0, "GM9009": 8.0, "GM9011": 0.0})  # fmt: skip
    harmonised = (cw["weight"] * cw["from_code"].map(counts)).groupby(cw["to_code"]).sum()
    assert harmonised.to_dict() == {"GM9001": 10.0, "GM9002": 20.0, "GM9003": 20.0,
                                    "GM9006": 38.0, "GM9010": 5.0}  # fmt: skip


def test_fixture_uninhabited_split_falls_back_to_hectares(small):
    assert weights(small.crosswalk(2020, 2021), "GM9011") == {"GM9001": 0.75, "GM9002": 0.25}


def test_uninhabited_land_without_hectares_is_split_equally(tmp_path):
    path = write_codes(tmp_path, {
        "GM9101": "Opgeheven per 01-01-2020, overgegaan naar:\n- Gemeente 02 (GM9102),\n"
                  "... 0 hectare met 0 woningen en 0 inwoners\n- Gemeente 03 (GM9103),\n"
                  "... 0 hectare met 0 woningen en 0 inwoners\n\nBegindatum voor 1830\n",
        "GM9102": "Begindatum voor 1830\n",
        "GM9103": "Begindatum voor 1830\n",
    })  # fmt: skip
    cw = load_boundary_history(path).crosswalk(2019, 2020)
    assert weights(cw, "GM9101") == {"GM9102": 0.5, "GM9103": 0.5}


def test_fixture_boundary_correction_ignored_without_population(small):
    cw = small.crosswalk(2019, 2020)
    assert weights(cw, "GM9001") == {"GM9001": 1.0}
    assert weights(cw, "GM9006") == {"GM9006": 1.0}


def test_fixture_boundary_correction_with_population(small):
    population = {"GM9001": 10_000.0, "GM9006": 6_000.0}
    cw = small.crosswalk(2019, 2020, population=population)
    assert weights(cw, "GM9001") == pytest.approx({"GM9001": 0.95, "GM9002": 0.05})
    assert weights(cw, "GM9006") == pytest.approx({"GM9006": 0.95, "GM9002": 0.05})
    assert weights(cw, "GM9002") == {"GM9002": 1.0}


def test_fixture_population_carried_through_earlier_changes(small):
    # Zuidwaard (GM9006) is created in 2019 from 3/4 of Eeland and all of Gee:
    # carried population 0.75 * 4000 + 2000 = 5000, of which 300 move in 2020.
    population = {"GM9001": 10_000.0, "GM9005": 4_000.0, "GM9009": 2_000.0}
    cw = small.crosswalk(2015, 2021, population=population)
    assert weights(cw, "GM9009") == pytest.approx({"GM9006": 0.94, "GM9002": 0.06})
    assert weights(cw, "GM9005") == pytest.approx(
        {"GM9003": 0.25, "GM9006": 0.75 * 0.94, "GM9002": 0.75 * 0.06})  # fmt: skip
    with pytest.raises(ValueError, match="GM9006.*2020-01-01"):
        small.crosswalk(2015, 2021, population={"GM9001": 10_000.0, "GM9005": 4_000.0})
    with pytest.raises(ValueError, match="GM9001.*500 inhabitants moved.*400"):
        small.crosswalk(2019, 2020, population={"GM9001": 400.0, "GM9006": 6_000.0})


def test_fixture_backward_crosswalk(small):
    back = small.crosswalk(2021, 2015)
    assert weights(back, "GM9003") == pytest.approx(
        {"GM9005": 1 / 11, "GM9007": 10 / 11 * 0.6, "GM9008": 10 / 11 * 0.4})  # fmt: skip
    assert weights(back, "GM9006") == pytest.approx({"GM9005": 0.6, "GM9009": 0.4})
    assert weights(back, "GM9010") == {"GM9004": 1.0}
    with_population = small.crosswalk(2021, 2019, population={"GM9002": 4_000.0})
    assert weights(with_population, "GM9002") == pytest.approx(
        {"GM9002": 0.8, "GM9001": 0.125, "GM9006": 0.075})  # fmt: skip


def test_fixture_name_change_mid_year(small):
    assert small.exists_on("GM9004", "2017-06-30") and not small.exists_on("GM9004", "2017-07-01")
    assert small.exists_on("GM9010", "2017-07-01")
    assert weights(small.crosswalk(2017, 2018), "GM9004") == {"GM9010": 1.0}
    renamed = small.events[small.events["kind"] == "renamed"].set_index("code")
    assert renamed.loc["GM9004", ["direction", "counterpart_code"]].tolist() == ["to", "GM9010"]
    assert renamed.loc["GM9010", ["direction", "counterpart_code"]].tolist() == ["from", "GM9004"]
    assert small.name("GM9010") == "De Hoeve"
    with pytest.raises(KeyError, match="GM9004"):
        small.name("GM9004", 2018)


def test_fixture_province_and_changes_between(small):
    assert small.province("GM9001") == "PV99"
    change = small.events[small.events["kind"] == "province_changed"]
    assert change[["code", "counterpart_name"]].values.tolist() == [["GM9009", "Utrecht"]]
    changes = small.changes_between(2018, 2019)
    assert set(changes["date"]) == {pd.Timestamp("2019-01-01")}
    assert set(changes["kind"]) == {"dissolved", "created", "absorbed"}
    assert small.crosswalk(2019, 2019)["weight"].eq(1.0).all()


# ---------------------------------------------------------------- bad input


def test_unknown_event_kind_is_an_error_naming_code_and_line():
    with pytest.raises(BoundaryParseError, match=r"GM9001 \(Aastad\), description line 1.*Samen"):
        load_boundary_history(FIXTURES / "regios_unknown_event.json")


def test_unknown_event_kind_reported_when_not_strict():
    with pytest.warns(UserWarning, match="Samenvoeging"):
        history = load_boundary_history(FIXTURES / "regios_unknown_event.json", strict=False)
    assert len(history.unparsed) == 1 and "GM9001" in history.unparsed[0]
    dissolved = history.events[history.events["kind"] == "dissolved"]
    assert dissolved["code"].tolist() == ["GM9002"]  # the rest of the file still parses


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Opgeheven per 01-01-2019, overgegaan naar:\n\nBegindatum voor 1830\n", "no counterpart"),
        ("Grenswijziging per 01-01-2019, overgegaan naar:\n... 3 inwoners\n", "amounts without"),
        ("Begindatum voor 1830\n- Gemeente 02 (GM9102),\n", "line in a begin event"),
        ("Opgeheven per 2019-01-01, overgegaan naar:\n", "line outside an event"),
        ("Naamswijziging per 01-01-2019,\n- Gemeente 02 (GM9102),\n", "renamed event"),
        ("Grenswijziging per 01-01-2019, ontvangen van:\n- Gemeente 02 (GM9102),\n"
         "... 3 hectare met 1 woning en 2 inwoners\n", "no Begindatum and no Ontstaan"),
    ],
)
def test_malformed_descriptions_are_errors(tmp_path, text, message):
    path = write_codes(tmp_path, {"GM9101": text, "GM9102": "Begindatum voor 1830\n"})
    with pytest.raises(BoundaryParseError, match=message):
        load_boundary_history(path)


def test_not_a_codes_file_is_an_error(tmp_path):
    path = tmp_path / "codes-RegioS.json"
    path.write_text("<html>", encoding="utf-8")
    with pytest.raises(BoundaryParseError, match="not a CBS RegioSCodes JSON"):
        load_boundary_history(path)
