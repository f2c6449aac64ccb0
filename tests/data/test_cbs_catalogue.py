"""The table catalogue: consistent entries, confirmed against real StatLine files where
they exist, and adding a table is one entry."""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from cbs_server import (
    CBSServer,
    serve_world,
    serve_world_bijstand,
    v3_table,
    world_ages,
    world_bijstand_rate,
    world_codes,
)

from analysis.data import schema
from analysis.data.cbs import catalogue
from analysis.data.cbs.api.fetch import TITLE_PREFIX, fetch_table
from analysis.data.cbs.api.http import RetryPolicy
from analysis.data.cbs.api.panel import build_cbs_panel, cached_tables, stitch, table_columns
from analysis.data.cbs.api.v4files import CBSFormatError
from analysis.data.cbs.catalogue import (
    CATALOGUE,
    ColumnSpec,
    TableSpec,
    columns_awaiting_schema,
    default_tables,
    spec_for,
)
from analysis.data.paths import RAW

pytestmark = pytest.mark.network
FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, timeout=5.0)
PANEL_COLUMNS = {*schema.COUNTS, *schema.DENOMINATORS, *schema.SIGNED_TOTALS}
# The columns of the real StatLine panel (issue 9) that the schema may not name yet
REAL_PANEL_COLUMNS = {
    "youth_care_users", "youth_care_users_pre2015", "awbz_youth_indications", "wmo_clients",
    "bijstand_recipients", "youth_care_cost", "wmo_spending", "youth_population",
    "population_15plus",
}  # fmt: skip
# The tables the real panel reads (../shared/cbs/statline-csv): fetched by default
REAL_PANEL_TABLES = {
    "82354NED", "82552NED", "84134NED", "85099NED", "83454NED", "83262NED", "86050NED",
    "84839NED", "84580NED", "83450NED", "83747NED", "84066NED",
}  # fmt: skip


def test_default_tables_feed_panel_columns_or_the_real_panels():
    assert default_tables()[0] == "03759ned"
    assert set(default_tables()) == {"03759ned", *REAL_PANEL_TABLES}
    for table in default_tables():
        spec = CATALOGUE[table]
        assert spec.api in ("v3", "v4"), table
        assert {c.column for c in spec.columns} <= PANEL_COLUMNS | REAL_PANEL_COLUMNS, table
    waiting = {c for cols in columns_awaiting_schema().values() for c in cols}
    assert waiting <= REAL_PANEL_COLUMNS and not waiting & PANEL_COLUMNS


def test_status_is_honest():
    for table, spec in CATALOGUE.items():
        if spec.confirmed:
            assert spec.status == "confirmed" and spec.confirmed_in is None, table
        else:
            assert "NOT confirmed" in spec.evidence, table
        if spec.confirmed_in:
            assert spec.status == "keys confirmed" and spec.confirmed_in in spec.evidence
    assert {CATALOGUE[t].status for t in REAL_PANEL_TABLES} == {"keys confirmed"}


# --------------------------------------------------------------------------- real files


def _csv(spec: TableSpec) -> tuple[list[str], list[dict[str, str]]]:
    path = RAW / spec.confirmed_in  # vendored: a fresh clone has it without ../shared
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return list(rows[0]), rows


CSV_CONFIRMED = [t for t, spec in CATALOGUE.items() if spec.confirmed_in]


@pytest.mark.parametrize("table", CSV_CONFIRMED)
def test_confirmed_keys_and_labels_are_in_the_real_csv(table):
    """Every topic key is a column of the real table, every named dimension is one, every
    category label occurs in it, and no dimension is left for the fetch to guess."""
    spec = CATALOGUE[table]
    header, rows = _csv(spec)
    topics = {h for h in header if re.search(r"_\d+$", h)}  # cbsodata: keys as Key_<n>
    dims = set(header) - topics - {"ID"}
    named = {spec.region_dim, *(d for c in spec.columns for d in c.dims)}
    if spec.single_year:
        assert spec.period_dim is None and "Perioden" not in header
    else:
        named.add(spec.period_dim)
    assert dims == named, f"{table}: the CSV's dimensions {sorted(dims)}"
    for col in spec.columns:
        for key in (col.measure, col.divide_by):
            assert key is None or key in topics, f"{table}: no topic {key}"
        for dim, codes in col.dims.items():
            seen = {row[dim] for row in rows}
            for code in codes:
                assert code.startswith(TITLE_PREFIX), f"{table}: a code the CSV cannot confirm"
                assert code[len(TITLE_PREFIX) :] in seen, f"{table}: {dim} has {sorted(seen)}"
    regions = {row[spec.region_dim].strip() for row in rows}
    assert {"Amsterdam", "Bergen (NH.)", "Bergen (L.)"} <= regions  # municipal rows


@pytest.mark.parametrize("table", [t for t in CSV_CONFIRMED if not CATALOGUE[t].single_year])
def test_catalogued_years_are_the_real_tables_years(table):
    spec = CATALOGUE[table]
    _, rows = _csv(spec)
    years = sorted({int(r["Perioden"]) for r in rows if re.fullmatch(r"\d{4}", r["Perioden"])})
    first, last = spec.years
    assert years[0] == first and (years[-1] == last if last else years[-1] >= 2023), years
    assert years == list(range(years[0], years[-1] + 1))  # yearly, no gaps


def test_real_manifest_lists_every_csv_confirmed_table(shared_cbs):
    import json

    manifest = json.loads((shared_cbs / "statline-csv" / "manifest.json").read_text())
    assert {t for t in CSV_CONFIRMED} <= set(manifest)
    assert REAL_PANEL_TABLES <= set(manifest)


def test_every_count_has_a_default_table_except_spending():
    served = {c.column for t in default_tables() for c in CATALOGUE[t].columns}
    # columns so far only the vendored StatLine bundle provides (analysis.data.cbs.exports)
    statline_only = {"youth_care_users_pre2015", "awbz_youth_indications", "youth_care_cost",
                     "wmo_spending", "youth_population", "population_15plus"}  # fmt: skip
    assert set(schema.COUNTS) - served - statline_only == {"social_spending_keur"}
    assert set(schema.DENOMINATORS) - statline_only <= served


def test_lookup_ignores_case():
    assert spec_for("03759NED") is CATALOGUE["03759ned"]
    assert spec_for("12345NED") is None


def test_adding_a_table_is_one_entry(tmp_path, monkeypatch):
    spec = TableSpec(
        table="99999NED",
        api="v3",
        title="A new bijstand table",
        columns=(ColumnSpec("bijstand_recipients", "title:Tot de AOW-leeftijd"),),
        unit="persons",
        years=(2011, None),
        confirmed=False,
        evidence="test entry",
        period_suffix="MM12",
        region_dim=None,
        period_dim=None,
    )
    monkeypatch.setitem(catalogue.CATALOGUE, spec.table, spec)
    with CBSServer() as server:
        serve_world(server)
        serve_world_bijstand(server, "99999NED")
        for table in ("03759ned", "99999NED"):
            fetch_table(CATALOGUE[table].query(2011), tmp_path, base=server.url, policy=FAST)
    panel, _, manifest = build_cbs_panel(tmp_path)
    assert manifest["raw_only"] == [] and set(manifest["tables"]) == {"03759ned", "99999NED"}
    at = panel.set_index(["municipality", "year"])
    assert at.loc[("GM9103", 2013), "bijstand_recipients_status"] == "x"
    _, adult = world_ages(world_codes(2014)["GM9101"])
    expected = world_bijstand_rate("GM9101", 2014) * 47 * adult / 1000  # December's value
    assert at.loc[("GM9101", 2014), "bijstand_recipients"] == pytest.approx(expected)


# --------------------------------------------------------------------------- served tables


def _pad(text: str, width: int = 8) -> str:
    return text.ljust(width)  # v3 keys arrive padded


def _serve_bijstand_year(server: CBSServer, table: str, year: int, time_dim: bool = False):
    """A v3 table shaped like 83747NED: no time dimension, ages by label, a
    'Regiokenmerken' region dimension. Returns the expected recipients per code."""
    ages = [("52052   ", "15 jaar of ouder", 1.0), ("52053   ", "15 jaar tot AOW-leeftijd", 0.8)]
    rows, expected = [], {}
    for code, pop in world_codes(year).items():
        for key, _, share in ages:
            recipients = "x" if code == "GM9103" else str(round(0.03 * pop * share))
            rows.append({"ID": len(rows), "Leeftijd": key, "Regiokenmerken": _pad(code),
                         "Inwoners_1": str(round(0.8 * pop * share)),
                         "Bijstandontvangers_2": recipients})  # fmt: skip
        expected[code] = np.nan if code == "GM9103" else float(round(0.03 * pop))
    properties = [
        {"Key": "Leeftijd", "Type": "Dimension", "Title": "Leeftijd"},
        {"Key": "Regiokenmerken", "Type": "GeoDimension", "Title": "Regiokenmerken"},
        {"Key": "Inwoners_1", "Type": "Topic", "Title": "Inwoners"},
        {"Key": "Bijstandontvangers_2", "Type": "Topic", "Title": "Bijstandsontvangers"},
    ]
    codes = {
        "Leeftijd": [{"Key": k, "Title": t} for k, t, _ in ages],
        "Regiokenmerken": [{"Key": _pad(c), "Title": c} for c in world_codes(year)],
    }
    if time_dim:
        properties.append({"Key": "Perioden", "Type": "TimeDimension", "Title": "Perioden"})
        codes["Perioden"] = [{"Key": f"{year}JJ00", "Title": str(year)}]
    v3_table(server, table, rows, properties, codes)
    return expected


def test_a_table_without_periods_is_one_year(tmp_path):
    """83747NED has no time dimension: the catalogue's year is its year, the age is
    picked by its label, a confidential value stays missing, and population_15plus
    waits for the schema (left out, not averaged)."""
    with CBSServer() as server:
        serve_world(server)
        expected = _serve_bijstand_year(server, "83747NED", 2016)
        fetch_table(CATALOGUE["03759ned"].query(2011), tmp_path, base=server.url, policy=FAST)
        result = fetch_table(
            CATALOGUE["83747NED"].query(2011), tmp_path, base=server.url, policy=FAST
        )
    filters = result.manifest.filters
    assert filters["resolved"]["dims"]["Leeftijd"] == {"title:15 jaar of ouder": "52052   "}
    assert filters["resolved"]["period_dim"] is None and "Perioden" not in filters["$filter"]
    assert "startswith(Regiokenmerken,'GM')" in filters["$filter"]
    panel, _, manifest = build_cbs_panel(tmp_path)
    got = panel[panel.bijstand_recipients_status.ne("not in fetched data")]
    assert set(got.year) == {2016}
    values = got.set_index("municipality")["bijstand_recipients"].to_dict()
    assert values.keys() == expected.keys()
    assert all(v == expected[k] or np.isnan(v) and np.isnan(expected[k]) for k, v in values.items())
    assert got.set_index("municipality").loc["GM9103", "bijstand_recipients_status"] == "x"
    if "population_15plus" not in PANEL_COLUMNS:
        assert manifest["columns_left_out"] == ["population_15plus"]


def test_a_single_year_table_with_periods_is_refused(tmp_path):
    with CBSServer() as server:
        _serve_bijstand_year(server, "83747NED", 2016, time_dim=True)
        with pytest.raises(CBSFormatError, match=r"83747NED: catalogued as one table for 2016"):
            fetch_table(CATALOGUE["83747NED"].query(2011), tmp_path, base=server.url,
                        policy=FAST)  # fmt: skip
    assert not any(tmp_path.rglob("manifest.json"))


def _serve_youth_care(server: CBSServer, table: str) -> None:
    """A v3 table shaped like 84134NED: count and percentage of young people, a total
    labelled 'JZ Totaal jeugdzorg' (no bare 'Totaal'), half-years beside years."""
    forms = [("T001    ", "JZ Totaal jeugdzorg"), ("A001    ", "Jeugdhulp")]
    cells = {"GM9101": ("400", "8.0"), "GM9102": ("       .", "       ."), "GM9103": ("0", "0")}
    rows = []
    for code, (count, pct) in cells.items():
        for form, _ in forms:
            for period in ("2015JJ00", "2015HJ01"):
                rows.append({"ID": len(rows), "VormenVanJeugdzorg": form, "RegioS": _pad(code),
                             "Perioden": period, "JongerenMetJeugdzorg_1": count,
                             "JongerenMetJeugdzorgRelatief_2": pct,
                             "Jeugdzorgtrajecten_3": "       ."})  # fmt: skip
    properties = [
        {"Key": "VormenVanJeugdzorg", "Type": "Dimension", "Title": "Vormen van jeugdzorg"},
        {"Key": "RegioS", "Type": "GeoDimension", "Title": "Regio's"},
        {"Key": "Perioden", "Type": "TimeDimension", "Title": "Perioden"},
        {"Key": "JongerenMetJeugdzorg_1", "Type": "Topic", "Title": "Jongeren met jeugdzorg"},
        {"Key": "JongerenMetJeugdzorgRelatief_2", "Type": "Topic", "Title": "Relatief"},
        {"Key": "Jeugdzorgtrajecten_3", "Type": "Topic", "Title": "Jeugdzorgtrajecten"},
    ]
    codes = {
        "VormenVanJeugdzorg": [{"Key": k, "Title": t} for k, t in forms],
        "RegioS": [{"Key": _pad(c), "Title": c} for c in cells],
        "Perioden": [{"Key": "2015JJ00", "Title": "2015"}, {"Key": "2015HJ01", "Title": "H1"}],
    }
    v3_table(server, table, rows, properties, codes)


def test_youth_population_is_the_count_over_its_share(tmp_path):
    with CBSServer() as server:
        _serve_youth_care(server, "84134NED")
        fetch_table(CATALOGUE["84134NED"].query(2011), tmp_path, base=server.url, policy=FAST)
    tables, _ = cached_tables(tmp_path)
    frame = table_columns(tables["84134NED"]).set_index("municipality")
    assert frame.year.tolist() == [2015, 2015, 2015]  # the year, not the half-year
    assert frame.loc["GM9101", "youth_care_users"] == 400
    assert frame.loc["GM9101", "youth_population"] == pytest.approx(5000.0)
    # not reported: missing with CBS's symbol; a share of 0 gives no denominator
    assert np.isnan(frame.loc["GM9102", "youth_population"])
    assert frame.loc["GM9102", "youth_population_status"] == "."
    assert frame.loc["GM9103", "youth_care_users"] == 0
    assert np.isnan(frame.loc["GM9103", "youth_population"])
    assert frame.loc["GM9103", "youth_population_status"] == "share is 0"


def test_the_newest_wmo_edition_wins_where_editions_overlap():
    def part(table: str, years: range, value: float) -> tuple[TableSpec, pd.DataFrame]:
        frame = pd.DataFrame({"municipality": "GM0001", "year": list(years),
                              "wmo_clients": value, "wmo_clients_status": None})  # fmt: skip
        return CATALOGUE[table], frame

    parts = [part("86050NED", range(2017, 2024), 3.0), part("83262NED", range(2015, 2021), 1.0),
             part("84839NED", range(2019, 2024), 2.0)]  # fmt: skip
    stitched, seams = stitch("wmo_clients", parts)
    by_year = stitched.set_index("year")["wmo_clients"].to_dict()
    assert by_year == {2015: 1.0, 2016: 1.0, **{y: 3.0 for y in range(2017, 2024)}}
    assert [(s["from_table"], s["to_table"]) for s in seams] == [
        ("83262NED", "84839NED"), ("84839NED", "86050NED")]  # fmt: skip
    assert seams[1]["overlap_years"] == list(range(2019, 2024))
