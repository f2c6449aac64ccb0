"""The table catalogue: consistent entries, and adding a table is one entry."""

from __future__ import annotations

import pytest
from cbs_server import (
    CBSServer,
    serve_world,
    serve_world_bijstand,
    world_ages,
    world_bijstand_rate,
    world_codes,
)

from analysis import schema
from analysis.cbs import catalogue
from analysis.cbs.catalogue import CATALOGUE, ColumnSpec, TableSpec, default_tables, spec_for
from analysis.cbs.fetch import fetch_table
from analysis.cbs.http import RetryPolicy
from analysis.cbs.panel import build_cbs_panel

pytestmark = pytest.mark.network
FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, timeout=5.0)
PANEL_COLUMNS = {*schema.COUNTS, *schema.DENOMINATORS, *schema.SIGNED_TOTALS}


def test_default_tables_feed_only_panel_columns():
    assert default_tables()[0] == "03759ned"
    for table in default_tables():
        spec = CATALOGUE[table]
        assert spec.api in ("v3", "v4"), table
        assert {c.column for c in spec.columns} <= PANEL_COLUMNS, table
        assert spec.confirmed or "NOT confirmed" in spec.evidence, table


def test_every_count_has_a_default_table_except_spending():
    served = {c.column for t in default_tables() for c in CATALOGUE[t].columns}
    # columns so far only the vendored StatLine bundle provides (analysis.statline)
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
