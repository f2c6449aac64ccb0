"""Merger cohorts from the boundary history: hand-made fixture and the real CBS code list."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.data.boundaries import load_boundary_history
from analysis.data.merger_cohorts import merger_cohorts, merger_counts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def small():
    return load_boundary_history(FIXTURES / "regios_small.json")


@pytest.fixture(scope="module")
def real(shared_cbs):
    return load_boundary_history(shared_cbs / "v4" / "03759ned" / "codes-RegioS.json")


def test_fixture_cohorts(small):
    m = merger_cohorts(small, 2021).set_index("code")
    # Ceedee: created 2016 from Cee and Dee, took in part of the dissolved Eeland in 2019
    assert m.loc["GM9003", ["cohort", "first_merger", "n_mergers", "kind"]].tolist() == [
        2019, 2016, 2, "absorbed"]  # fmt: skip
    assert m.loc["GM9003", "predecessors"] == "GM9003;GM9005"
    # Zuidwaard: new code from Eeland (part) and Gee
    assert m.loc["GM9006", ["cohort", "kind", "predecessors"]].tolist() == [
        2019, "new code", "GM9005;GM9009"]  # fmt: skip
    # Aastad and Beedorp only took in the uninhabited polder: not a merger
    assert m.loc[["GM9001", "GM9002"], "cohort"].tolist() == [0, 0]
    # De Hoeve was only renamed (1 July 2017)
    assert m.loc["GM9010", ["cohort", "n_mergers"]].tolist() == [0, 0]


def test_fixture_before_a_merger_and_window(small):
    m = merger_cohorts(small, 2018).set_index("code")
    assert m.loc["GM9003", ["cohort", "n_mergers"]].tolist() == [2016, 1]
    assert "GM9006" not in m.index  # did not exist yet
    late = merger_cohorts(small, 2021, first_year=2016).set_index("code")
    assert late.loc["GM9003", ["cohort", "first_merger", "n_mergers"]].tolist() == [2019, 2019, 1]
    assert merger_cohorts(small, 2018, first_year=2016)["cohort"].eq(0).all()


def test_fixture_size_jump(small):
    pop = pd.DataFrame(
        [("GM9003", 2018, 10_000), ("GM9005", 2018, 4_000), ("GM9009", 2018, 2_000),
         ("GM9001", 2018, 9_000), ("GM9002", 2018, 4_000), ("GM9004", 2018, 800),
         ("GM9003", 2019, 11_000), ("GM9006", 2019, 5_000)],
        columns=["municipality", "year", "population"],
    )  # fmt: skip
    m = merger_cohorts(small, 2021, populations=pop).set_index("code")
    # Ceedee: its own 10,000 plus 1/4 of Eeland's 4,000 (CBS: 1,000 of 4,000 moved)
    assert m.loc["GM9003", "inhabitants_before"] == pytest.approx(
        (10_000**2 + 1_000 * 4_000) / 11_000
    )
    assert m.loc["GM9003", "inhabitants_after"] == 11_000
    # Zuidwaard: 3,000 from Eeland (size 4,000) and all 2,000 of Gee (size 2,000)
    assert m.loc["GM9006", "inhabitants_before"] == pytest.approx(
        (3_000 * 4_000 + 2_000 * 2_000) / 5_000
    )
    assert m.loc["GM9006", "size_jump"] == pytest.approx(5_000 / 3_200)
    assert m.loc["GM9001", ["inhabitants_before", "size_jump"]].isna().all()


def test_populations_need_the_panel_columns(small):
    with pytest.raises(KeyError, match="population"):
        merger_cohorts(small, 2021, populations=pd.DataFrame({"municipality": [], "year": []}))


def test_real_altena_and_counts(real):
    m = merger_cohorts(real, 2023, first_year=2010).set_index("code")
    assert len(m) == 342
    altena = m.loc["GM1959"]
    assert (altena["name"], altena["cohort"], altena["kind"]) == ("Altena", 2019, "new code")
    assert altena["predecessors"] == "GM0738;GM0870;GM0874"  # Aalburg, Werkendam, Woudrichem
    assert m.loc["GM1948", "cohort"] == 2017  # Meierijstad
    counts = merger_counts(m.reset_index(), years=range(2011, 2024)).to_dict()
    assert counts == {2011: 5, 2012: 1, 2013: 2, 2014: 3, 2015: 6, 2016: 2, 2017: 1,
                      2018: 6, 2019: 12, 2020: 0, 2021: 5, 2022: 4, 2023: 2}  # fmt: skip
    assert (m["cohort"] == 0).sum() == 293


@pytest.mark.parametrize("year", range(2011, 2024))
def test_real_every_dissolved_municipality_is_a_predecessor(real, year):
    """Each inhabited municipality ending on 1 January ``year`` went into a cohort-``year`` unit."""
    m = merger_cohorts(real, year)
    merged = set(";".join(m.loc[m["cohort"] == year, "predecessors"].dropna()).split(";"))
    p, e = real.periods, real.events
    ended = set(p[(p["end"] == pd.Timestamp(year, 1, 1)) & p["municipality"]]["code"])
    renamed = set(e[(e["kind"] == "renamed") & (e["date"] == pd.Timestamp(year, 1, 1))]["code"])
    assert ended - renamed <= merged
