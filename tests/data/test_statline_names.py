"""StatLine municipality names to GM codes, on the vendored CBS region list and tables.

Everything here reads ``data/raw/statline`` (in the repository), so nothing is skipped.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT

from analysis.data.boundaries import load_boundary_history
from analysis.data.cbs.exports.names import (
    UnmatchedMunicipalityError,
    is_regional_aggregate,
    match_municipalities,
    municipality_codes,
)
from analysis.data.cbs.exports.reader import read_statline_csv
from analysis.data.cbs.exports.tables import TABLE_YEAR

RAW = ROOT / "data" / "raw" / "statline"
TABLES = sorted(p.stem for p in (RAW / "csv").glob("*.csv"))
OFFICIAL = {2011: 418, 2012: 415, 2013: 408, 2014: 403, 2015: 393, 2016: 390, 2017: 388,
            2018: 380, 2019: 355, 2020: 355, 2021: 352, 2022: 345, 2023: 342}  # fmt: skip


@pytest.fixture(scope="module")
def history():
    return load_boundary_history(RAW / "03759ned" / "codes-RegioS.json")


@pytest.fixture(scope="module")
def tables():
    return {t: read_statline_csv(RAW / "csv" / f"{t}.csv", year=TABLE_YEAR.get(t)) for t in TABLES}


def code(history, name, year):
    return municipality_codes([name], year, history).iloc[0]


def test_nineteen_tables_are_vendored():
    assert len(TABLES) == 19


@pytest.mark.parametrize(("year", "count"), OFFICIAL.items())
def test_region_list_gives_the_official_number_of_municipalities(history, year, count):
    assert len(history.municipalities_on(year)) == count


# ------------------------------------------------------------------ the traps, one by one


def test_bergen_limburg_and_bergen_noord_holland_are_two_codes(history):
    assert code(history, "Bergen (L.)", 2017) == "GM0893"
    assert code(history, "Bergen (NH.)", 2017) == "GM0373"


def test_bergen_without_qualifier_is_ambiguous_and_never_guessed(history):
    with pytest.raises(UnmatchedMunicipalityError, match=r"'Bergen' in 2017 \(ambiguous") as err:
        code(history, "Bergen", 2017)
    assert "GM0373 Bergen (NH.)" in str(err.value) and "GM0893 Bergen (L.)" in str(err.value)


def test_a_qualifier_without_dots_is_a_municipality_not_an_aggregate(history):
    # "(NH)" looks like a region-type suffix such as "(JZ)"; the municipality wins
    assert code(history, "Bergen (NH)", 2017) == "GM0373"
    assert code(history, "Rijswijk (ZH)", 2017) == "GM0603"
    assert code(history, "Hengelo (O)", 2017) == "GM0164"
    assert match_municipalities(["Groningen (AM)"], 2017, history)["how"].item() == "aggregate"


def test_a_qualifier_dropped_by_a_table_is_restored_when_unique(history):
    # 84751NED writes "Beek", "Hengelo", "Groningen" for the qualified CBS titles
    assert code(history, "Beek", 2017) == "GM0888"  # Beek (L.), not Beek en Donk
    assert code(history, "Hengelo", 2017) == "GM0164"  # Hengelo (Gld.) ended in 2005
    assert code(history, "Groningen", 2017) == "GM0014"  # Groningen (gemeente)
    assert code(history, "Hengelo (Gld.)", 2003) == "GM0248"


def test_renamed_municipality_resolves_to_the_code_of_that_year(history):
    # De Friese Meren (GM1921) became De Fryske Marren (GM1940) on 1 July 2015
    assert code(history, "De Friese Meren", 2015) == "GM1921"
    assert code(history, "De Fryske Marren", 2015) == "GM1921"
    assert code(history, "De Fryske Marren", 2016) == "GM1940"
    # Groesbeek (GM0241) became Berg en Dal (GM1945) on 1 January 2016
    assert code(history, "Groesbeek", 2015) == "GM0241"
    assert code(history, "Berg en Dal", 2016) == "GM1945"
    matched = match_municipalities(["De Fryske Marren", "Berg en Dal"], 2015, history)
    assert matched["how"].tolist() == ["renamed", "renamed"]


def test_het_bildt_exists_until_2018_only(history):
    assert code(history, "het Bildt", 2017) == "GM0063"
    matched = match_municipalities(["het Bildt"], 2018, history)
    assert matched["how"].item() == "outside_lifetime"
    assert pd.isna(matched["code"].item())
    with pytest.raises(UnmatchedMunicipalityError, match=r"'het Bildt' in 2018 .*until 2018-01-01"):
        code(history, "het Bildt", 2018)


def test_names_valid_only_in_some_years(history):
    assert code(history, "Haaren", 2020) == "GM0788"
    assert match_municipalities(["Haaren"], 2021, history)["how"].item() == "outside_lifetime"
    assert match_municipalities(["Altena"], 2018, history)["how"].item() == "outside_lifetime"
    assert code(history, "Altena", 2019) == "GM1959"


def test_diacritics_padding_and_case(history):
    assert code(history, "Súdwest-Fryslân", 2016) == "GM1900"
    assert code(history, "Sudwest-Fryslan", 2016) == "GM1900"
    assert code(history, "Aa en Hunze                             ", 2016) == "GM1680"
    assert code(history, "  's-Gravenhage  ", 2016) == "GM0518"
    nfd = "Su\u0301dwest-Frysla\u0302n"  # decomposed accents, as some exports write them
    assert match_municipalities([nfd], 2016, history)["how"].item() == "exact"


def test_regional_aggregates_are_recognised_not_mapped(history):
    labels = ["Twente (JZ)", "Groningen (AM)", "Geen stadsgewest (SG)", "Nederland",
              "Minder dan 20 000 inwoners", "Gemeenten: 5 000 tot 10 000 inwoners",
              "Friesland (Fryslân) (JZ)", "Buitenland (ZK)"]  # fmt: skip
    matched = match_municipalities(labels, 2016, history)
    assert (matched["how"] == "aggregate").all()
    assert matched["code"].isna().all()
    assert not is_regional_aggregate("Bergen (NH.)")
    assert not is_regional_aggregate("Utrecht (gemeente)")


def test_unknown_names_are_all_named_with_their_years(history):
    with pytest.raises(UnmatchedMunicipalityError) as err:
        municipality_codes(["Atlantis", "Aa en Hunze", "Atlantis", "Lilliput"], [2016, 2016,
                           2017, 2016], history)  # fmt: skip
    assert "'Atlantis' in 2016, 2017" in str(err.value)
    assert "'Lilliput' in 2016" in str(err.value)
    assert sorted(err.value.unmatched["name"]) == ["Atlantis", "Lilliput"]


def test_result_is_aligned_with_a_series_index(history):
    names = pd.Series(["Bergen (L.)", "Twente (JZ)"], index=[10, 20])
    codes = municipality_codes(names, [2017, 2017], history)
    assert codes.index.tolist() == [10, 20]
    assert codes.iloc[0] == "GM0893" and pd.isna(codes.iloc[1])


def test_one_year_per_name_is_required(history):
    with pytest.raises(ValueError, match="2 names but 3 years"):
        municipality_codes(["Aa en Hunze", "Aalten"], [2016, 2017, 2018], history)


# ------------------------------------------------------------------ every vendored table


@pytest.mark.parametrize("table", TABLES)
def test_every_label_of_every_table_is_a_municipality_or_a_known_aggregate(
    tables, history, table
):
    frame = tables[table]
    matched = match_municipalities(frame["region"], frame["year"], history)  # raises if not
    assert set(matched["how"]) <= {"exact", "renamed", "qualifier", "aggregate",
                                   "outside_lifetime"}  # fmt: skip
    outside = frame[matched["how"] == "outside_lifetime"]
    filled = outside[frame.attrs["topics"]].notna().any(axis=1)
    # StatLine writes a row for a municipality in years it did not exist; only one such
    # row in the whole bundle carries figures (Vijfheerenlanden 2018 in 84580NED)
    expected = {("84580NED", "Vijfheerenlanden", 2018)}
    found = {(table, r, int(y)) for r, y in outside.loc[filled, ["region", "year"]].to_numpy()}
    assert found <= expected


# Tables with a row for every municipality of every year they cover (the Wmo per-district
# tables hold only the municipalities that took part in that survey).
COMPLETE = ["82354NED", "82552NED", "82966NED", "82972NED", "83262NED", "83450NED",
            "83454NED", "83747NED", "84066NED", "84134NED", "84580NED", "84839NED",
            "85098NED", "85099NED", "86050NED"]  # fmt: skip


@pytest.mark.parametrize("table", COMPLETE)
def test_every_municipality_of_each_year_is_in_the_table(tables, history, table):
    frame = tables[table]
    frame = frame[frame["period_kind"] == "year"]
    matched = match_municipalities(frame["region"], frame["year"], history)
    for year, codes in matched.dropna(subset=["code"]).groupby("year")["code"]:
        assert set(codes) == set(history.municipalities_on(int(year))), (table, year)
        assert codes.nunique() == OFFICIAL[int(year)]


@pytest.mark.parametrize("table", ["84751NED", "84752NED", "84753NED", "85047NED"])
def test_names_agree_with_the_gm_codes_cbs_prints_beside_them(tables, history, table):
    frame = tables[table]
    matched = match_municipalities(frame["region"], frame["year"], history)
    printed = frame["Codering_3"].str.strip()
    assert printed.str.fullmatch(r"GM\d{4}").all()
    assert (matched["code"] == printed).all(), frame.loc[matched["code"] != printed, "region"]
    # and the municipalities they hold (a subset each year) are reported, not assumed
    year = int(frame["year"].iloc[0])
    absent = set(history.municipalities_on(year)) - set(printed)
    assert 0 < len(absent) < OFFICIAL[year] / 4
