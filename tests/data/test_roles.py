"""Harmonisation by column role: summed, recomputed, declared, or refused; never guessed.

Uses the hand-written merger/split history of ``test_panel`` (GM0001-3 merge into
GM0100; GM0010 splits 0.3/0.7 into GM0011 and GM0012) and, for boundary corrections,
the real CBS history vendored in ``data/raw/statline``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from test_panel import BEFORE, TARGET, example_history, example_panel, row

from analysis.data.boundaries import load_boundary_history
from analysis.data.harmonise import harmonise_to_boundaries
from analysis.data.rates_and_sizes import MissingBaselineWarning
from analysis.data.roles import Mean, Rate, RoleError, parse_role, read_roles_file

HISTORY = ROOT / "data" / "raw" / "statline" / "03759ned" / "codes-RegioS.json"


def harmonise(panel: pd.DataFrame, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingBaselineWarning)
        return harmonise_to_boundaries(
            panel, TARGET, kwargs.pop("history", example_history()), **kwargs
        )


def with_recipients() -> pd.DataFrame:
    """A count under a name the schema does not know (the issue's ~1,300 missing)."""
    panel = example_panel()
    return panel.assign(recipients=panel["bijstand_recipients"] + 7)


def test_a_count_without_a_role_is_refused_not_averaged():
    with pytest.raises(RoleError, match=r"no role for column\(s\) 'recipients': declare each"):
        harmonise(with_recipients())


def test_a_declared_count_is_summed_so_national_totals_are_exact():
    panel = with_recipients()
    out = harmonise(panel, roles={"recipients": "count"})
    assert (
        out.groupby("year")["recipients"].sum().to_dict()
        == panel.groupby("year")["recipients"].sum().to_dict()
    )
    merged = row(out, "GM0100", 2015)
    parts = panel[(panel.year == 2015) & panel.municipality.isin(BEFORE[:3])]
    assert merged["recipients"] == parts["recipients"].sum()
    assert out.attrs["roles"]["recipients"] == "count"


def test_text_column_without_role_is_refused_and_declared_text_is_joined():
    panel = example_panel().assign(
        source=lambda d: np.where(d.municipality == "GM0002", "own count", "register")
    )
    with pytest.raises(RoleError, match=r"no role for column\(s\) 'source'"):
        harmonise(panel)
    out = harmonise(panel, roles={"source": "text"})
    assert row(out, "GM0100", 2015)["source"] == "register;own count"  # in code order
    assert row(out, "GM0020", 2015)["source"] == "register"


def test_declared_drop_is_left_out_and_listed():
    panel = with_recipients()
    out = harmonise(panel, roles={"recipients": "drop"})
    assert "recipients" not in out
    assert out.attrs["columns_left_out"] == {"recipients": "declared drop"}


def test_declared_rate_is_the_ratio_of_harmonised_sums():
    panel = with_recipients().assign(share=lambda d: d.recipients / d.population * 100)
    rate = "rate:recipients/population*100"
    out = harmonise(panel, roles={"recipients": "count", "share": rate})
    merged = row(out, "GM0100", 2016)
    assert merged["share"] == pytest.approx(merged["recipients"] / merged["population"] * 100)
    parts = panel[(panel.year == 2016) & panel.municipality.isin(BEFORE[:3])]
    assert merged["share"] != pytest.approx(parts["share"].mean())  # not the averaged rates
    split = row(out, "GM0011", 2016)  # a split keeps its parent's rate
    parent = panel[(panel.year == 2016) & (panel.municipality == "GM0010")].iloc[0]
    assert split["share"] == pytest.approx(parent["share"])


def test_rate_needs_summed_parts():
    panel = with_recipients().assign(share=1.0)
    with pytest.raises(RoleError, match="rate column 'share' needs 'recipients'.*role drop"):
        harmonise(panel, roles={"recipients": "drop", "share": "rate:recipients/population"})
    with pytest.raises(RoleError, match="needs 'people' .*not in the data"):
        harmonise(panel, roles={"recipients": "count", "share": "rate:recipients/people"})


def test_declared_mean_is_weighted_by_the_named_column():
    panel = example_panel()
    panel["income"] = panel.municipality.map({"GM0001": 10.0, "GM0002": 20.0, "GM0003": 40.0})
    panel["income"] = panel["income"].fillna(30.0)
    out = harmonise(panel, roles={"income": "mean:population_0_17"})
    parts = panel[(panel.year == 2015) & panel.municipality.isin(BEFORE[:3])]
    expected = np.average(parts["income"], weights=parts["population_0_17"])
    assert row(out, "GM0100", 2015)["income"] == pytest.approx(expected, rel=1e-12)


def test_weight_column_reaches_the_crosswalk_and_is_recorded():
    panel = with_recipients()
    history = example_history()
    out = harmonise(panel, history=history, roles={"recipients": "count"})
    assert out.attrs["crosswalk_weight"] == "population"  # default: population
    assert history.populations[2015]["GM0001"] == row(panel, "GM0001", 2015)["population"]
    history = example_history()
    out = harmonise(panel, history=history, roles={"recipients": "count"}, weight="recipients")
    assert out.attrs["crosswalk_weight"] == "recipients"
    assert history.populations[2015]["GM0001"] == row(panel, "GM0001", 2015)["recipients"]
    history = example_history()
    out = harmonise(panel, history=history, roles={"recipients": "count"}, weight=None)
    assert out.attrs["crosswalk_weight"] is None and history.populations[2015] is None
    with pytest.raises(RoleError, match="weight column 'name'"):
        harmonise(panel, roles={"recipients": "count"}, weight="name")


def test_without_population_the_first_denominator_weights():
    panel = example_panel().drop(columns="population").rename(columns={"wmo_clients": "clients"})
    panel = panel.drop(columns=["social_spending_keur"])
    out = harmonise(panel, roles={"clients": "count", "population_0_17": "denominator"})
    assert out.attrs["crosswalk_weight"] == "population_0_17"


def test_corrections_of_codes_without_a_weight_are_ignored_and_listed():
    history = load_boundary_history(HISTORY)
    # Slochteren gave 1,033 inhabitants to Groningen on 1 January 2017
    with pytest.raises(ValueError, match="population of GM0040"):
        history.crosswalk(2016, 2017, population={"GM0014": 200_000.0})
    walk = history.crosswalk(2016, 2017, population={"GM0014": 200_000.0}, missing="ignore")
    assert "GM0040" in walk.attrs["corrections_ignored"]
    kept = walk[(walk.from_code == "GM0040") & (walk.to_code == "GM0040")]["weight"]
    assert kept.tolist() == [1.0]
    weighted = history.crosswalk(2016, 2017, population={"GM0040": 15_000.0}, missing="ignore")
    moved = weighted[(weighted.from_code == "GM0040") & (weighted.to_code == "GM0014")]
    assert moved["weight"].iloc[0] == pytest.approx(1033 / 15_000)


@pytest.mark.parametrize(
    "text, role",
    [
        ("count", "count"),
        (" Denominator ", "denominator"),
        ("rate:a/b", Rate("a", "b", 1.0)),
        ("rate: a / b * 1000", Rate("a", "b", 1000.0)),
        ("mean:population", Mean("population")),
        (("rate", "a", "b", 100), Rate("a", "b", 100.0)),
    ],
)
def test_roles_are_written_simply(text, role):
    assert parse_role(text) == role


@pytest.mark.parametrize("text", ["sum", "rate:a", "rate:a/b*x", "mean:", ("rate", "a")])
def test_a_malformed_role_names_the_column(text):
    with pytest.raises(RoleError, match="column 'c': role .* is not one of count, denominator"):
        parse_role(text, "c")


def test_roles_file(tmp_path):
    path = tmp_path / "roles.txt"
    path.write_text(
        "# bijstand\nrecipients = count   # people\n\nshare = rate:recipients/pop*100\n"
    )
    assert read_roles_file(path) == {"recipients": "count", "share": Rate("recipients", "pop", 100)}
    path.write_text("recipients count\n")
    with pytest.raises(RoleError, match="line 1: expected COLUMN = ROLE"):
        read_roles_file(path)


def test_a_role_for_star_applies_to_every_column_without_one():
    panel = with_recipients().assign(note="x")
    out = harmonise(panel, roles={"*": "drop"})
    assert "recipients" not in out and "note" not in out
    assert out.attrs["columns_left_out"] == {"recipients": "declared drop", "note": "declared drop"}
    assert "bijstand_recipients" in out  # built-in roles are kept
