"""From CBS responses to the panel: real stored responses, the fetch CLI, end to end.

Real responses are read from ``../shared/cbs`` (skipped when absent) and, for the
end-to-end path, served byte for byte from a local server. The CBS-shaped "merger world"
(``cbs_server.serve_world``) is hand-made: it plants a known effect so a design run on
the built panel can be checked exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from cbs_server import (
    WORLD_EFFECT,
    WORLD_YEARS,
    CBSServer,
    Reply,
    serve_world,
    serve_world_bijstand,
    serve_world_youth_care,
    stored_v4_table,
    world_ages,
    world_codes,
)

from analysis.cli import main
from analysis.data.build import build_panel
from analysis.data.cbs.api.fetch import fetch_table
from analysis.data.cbs.api.http import RetryPolicy
from analysis.data.cbs.api.panel import NOT_FETCHED, CBSCacheError, build_cbs_panel
from analysis.data.cbs.api.v3files import read_v3_observations
from analysis.data.cbs.api.v4files import read_observations
from analysis.data.cbs.catalogue import CATALOGUE
from analysis.designs.twfe import twfe

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, timeout=5.0)
WORLD_TABLES = ["03759ned", "80794ned", "84751NED", "84752NED"]
# municipalities with a 2019+ population in the stored 03759ned slice (counted from it)
REAL_COUNTS = {2019: 355, 2020: 355, 2021: 352, 2022: 345, 2023: 342, 2024: 342, 2025: 342}


# --------------------------------------------------------------------------- real files


def _stored_population(shared_cbs: Path) -> pd.DataFrame:
    obs = read_observations([shared_cbs / "v4" / "03759ned" / "observations-page-1.json"])
    return obs[(obs.Measure == "M000352") & obs.RegioS.str.startswith("GM")]


def test_real_03759ned_values_and_counts(shared_cbs):
    pop = _stored_population(shared_cbs)
    in_2019 = pop[pop.Perioden == "2019JJ00"].set_index("RegioS")["value"]
    assert in_2019["GM0363"] == 862965  # Amsterdam
    assert in_2019["GM0088"] == 936  # Schiermonnikoog
    counts = pop[pop.value.notna()].groupby("Perioden").size()
    assert {int(p[:4]): n for p, n in counts.items() if p[:4] != "2026"} == REAL_COUNTS
    # codes that did not exist are Impossible: missing with their status, never 0
    impossible = pop[pop.status == "Impossible"]
    assert len(impossible) > 0 and impossible.value.isna().all()
    assert not (pop.value == 0).any()


def test_real_v3_typed_dataset_value(shared_cbs):
    table = shared_cbs / "v3" / "80137ned"
    obs = read_v3_observations([table / "TypedDataSet.json"], table / "DataProperties.json")
    # TypedDataSet keys are padded ('1 '): the reader strips them
    assert set(obs.Persoonskenmerken) == {str(k) for k in range(1, 10)}
    hit = obs[
        (obs.Persoonskenmerken == "1")
        & (obs.BedrijfstakkenSBI93 == "99")
        & (obs.Perioden == "2001JJ00")
        & (obs.Measure == "Totaal_1")
    ]
    assert hit["value"].tolist() == [8811.0] and hit["status"].isna().all()


def test_real_03759ned_served_fetched_and_built(shared_cbs, tmp_path):
    with CBSServer() as server:
        served = stored_v4_table(server, "03759ned", shared_cbs / "v4" / "03759ned", 5000)
        result = fetch_table(CATALOGUE["03759ned"].query(2019), tmp_path, base=server.url,
                             policy=FAST)  # fmt: skip
    assert result.manifest.data_rows == served == 13568
    assert [f.rows for f in result.manifest.data_files()] == [5000, 5000, 3568]
    panel, history, manifest = build_cbs_panel(tmp_path)
    at = panel.set_index(["municipality", "year"])
    assert at.loc[("GM0363", 2019), "population"] == 862965
    assert at.loc[("GM0363", 2019), "name"] == "Amsterdam"
    assert at.loc[("GM0088", 2019), "population"] == 936
    counts = panel[panel.population.notna()].groupby("year").size().to_dict()
    assert {y: n for y, n in counts.items() if y in REAL_COUNTS} == REAL_COUNTS
    # every row is a municipality that existed on 1 January of its year
    for year, rows in panel.groupby("year"):
        assert set(rows.municipality) <= set(history.municipalities_on(int(year)))
    # the stored slice holds only the total age: the age groups are missing, not 0
    assert panel.population_0_17.isna().all() and (panel.population_0_17_status.notna()).all()
    assert (panel.wmo_clients_status == NOT_FETCHED).all()
    assert manifest["tables"]["03759ned"]["confirmed"] is True
    # the slice starts in 2019, so the baseline year must be one of its years
    built = build_panel("cbs", raw_dir=tmp_path, out_dir=tmp_path / "processed", baseline_year=2019)
    per_year = built.panel.groupby("year").size()
    assert (per_year == 342).all()  # every year on the 342 municipalities of 2023
    assert built.panel.population.notna().all()
    large = built.panel[built.panel.year == 2019].set_index("municipality")["large"]
    assert large["GM0363"] and not large["GM0088"]


# --------------------------------------------------------------------------- merger world


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, DECENTRALISATION_DATA=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    env.pop("CBS_V3_BASE_URL", None)
    env.pop("CBS_V4_BASE_URL", None)
    return env


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_end_to_end_fetch_build_and_a_design(tmp_path):
    """``fetch`` -> ``build --source cbs`` -> ``analysis.designs.twfe`` recovers the
    planted effect (noise-free data, so exactly)."""
    with CBSServer() as server:
        serve_world(server)
        fetch = [*("fetch", "--base-url", server.url, "--from-year", "2011"),
                 "--retries", "2", "--tables", *WORLD_TABLES]  # fmt: skip
        fetched = _run(fetch, tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert "03759ned (v4, panel): fetched 3452 rows" in fetched.stdout
    assert "[mapping unconfirmed]" in fetched.stdout  # 80794ned and the Wmo editions
    raw = tmp_path / "data" / "raw" / "cbs"
    assert sorted(p.name for p in raw.iterdir() if p.is_dir()) == sorted(WORLD_TABLES)
    assert (raw / ".decentralisation-owned").is_file()  # the cache folder is marked as ours
    built = _run(["build", "--source", "cbs", "--boundary-year", "2019"], tmp_path)
    assert built.returncode == 0, built.stderr
    assert "5 municipalities" in built.stdout
    panel = pd.read_parquet(tmp_path / "data" / "processed" / "panel_cbs_2019.parquet")
    _check_world_panel(panel)
    _check_design(panel)


def _check_world_panel(panel: pd.DataFrame) -> None:
    at = panel.set_index(["municipality", "year"])
    # the merged unit sums its parts before 2018
    young_4, _ = world_ages(world_codes(2014)["GM9104"])
    young_5, _ = world_ages(world_codes(2014)["GM9105"])
    assert at.loc[("GM9106", 2014), "population_0_17"] == 18 * (young_4 + young_5)
    assert at.loc[("GM9106", 2014), "combined_from"] == "GM9104;GM9105"
    # special values stay missing with their code, never 0
    assert np.isnan(at.loc[("GM9103", 2013), "bijstand_recipients"])
    assert at.loc[("GM9103", 2013), "bijstand_recipients_status"] == "x"
    assert np.isnan(at.loc[("GM9107", 2012), "population_0_17"])
    assert at.loc[("GM9107", 2012), "population_0_17_status"] == "Confidential"
    # December is the year's bijstand value (November carries a +99 decoy)
    assert at.loc[("GM9101", 2014), "bijstand_per_1000"] == pytest.approx(33.0)
    # Wmo is stitched from two one-year editions, municipalities only (no WK rows)
    wmo = panel.dropna(subset=["wmo_clients"]).groupby("year").size().to_dict()
    assert wmo == {2017: 5, 2018: 5}
    assert at.loc[("GM9101", 2017), "wmo_per_1000"] == pytest.approx(50.0)


def _check_design(panel: pd.DataFrame) -> None:
    data = panel[panel.year.isin(WORLD_YEARS)].copy()
    data["treated_post"] = (data["large"].astype(bool) & (data.year >= 2015)).astype(float)
    # the toy world is noise-free: an exact fit has no standard error, and twfe says so
    with pytest.warns(UserWarning, match="only 5 clusters"):  # a six-code toy world
        with pytest.raises(ValueError, match="fitted exactly"):
            twfe(data, "bijstand_per_1000", ["treated_post"])
    # with fixed, mean-zero noise the planted effect is recovered to the noise's size
    noise = np.random.default_rng(0).normal(0.0, 1e-3, len(data))
    data["outcome"] = data["bijstand_per_1000"] + noise
    with pytest.warns(UserWarning, match="only 5 clusters"):
        result = twfe(data, "outcome", ["treated_post"])
    assert result.estimate("treated_post") == pytest.approx(WORLD_EFFECT, abs=5e-3)
    assert result.n_obs == 5 * len(WORLD_YEARS) - 1  # GM9103 2013 is "x": dropped, reported
    assert any("dropped 1 of" in note for note in result.notes)
    # the same regression written out with dummies (statsmodels) agrees
    used = data.dropna(subset=["outcome"])
    fit = smf.ols("outcome ~ treated_post + C(municipality) + C(year)", used).fit()
    assert fit.params["treated_post"] == pytest.approx(result.estimate("treated_post"))


def test_editions_are_stitched_with_the_seam_recorded(tmp_path):
    _fetch_world(tmp_path)
    panel, _, manifest = build_cbs_panel(tmp_path)
    assert manifest["seams"] == [
        {"column": "wmo_clients", "from_table": "84751NED", "to_table": "84752NED",
         "last_year_before": 2017, "first_year_after": 2018, "overlap_years": []}
    ]  # fmt: skip
    assert set(manifest["tables"]) == set(WORLD_TABLES)
    wmo = panel.dropna(subset=["wmo_clients"])
    assert sorted(wmo.year.unique()) == [2017, 2018]
    # outside the editions' years the column says why it is missing
    assert set(panel.loc[panel.year == 2014, "wmo_clients_status"]) == {"not in fetched data"}


def test_other_dimensions_pinned_to_their_totals(tmp_path):
    # 85101NED's entry names no dimension codes: each "Wel of geen ..." total is found at
    # fetch time, and the measure by its exact title (not the "(relatief)" one)
    _fetch_world(tmp_path, ["03759ned"])
    with CBSServer() as server:
        expected = serve_world_youth_care(server)
        result = fetch_table(CATALOGUE["85101NED"].query(2015), tmp_path, base=server.url,
                             policy=FAST)  # fmt: skip
    resolved = result.manifest.filters["resolved"]
    assert resolved["measures"] == {"title:Totaal jongeren met jeugdzorg": "M1"}
    assert resolved["dims"]["JeugdPGB"] == {"TOTAL": "T001"}
    assert "JeugdPGB eq 'T001'" in result.manifest.filters["$filter"]
    panel, _, _ = build_cbs_panel(tmp_path)
    got = panel.dropna(subset=["youth_care_users"]).set_index(["municipality", "year"])
    assert got["youth_care_users"].to_dict() == expected  # yearly totals, not half-years


def _fetch_world(raw: Path, tables: list[str] = WORLD_TABLES) -> None:
    with CBSServer() as server:
        serve_world(server)
        for table in tables:
            fetch_table(CATALOGUE[table].query(2011), raw, base=server.url, policy=FAST)


def test_a_changed_cached_file_stops_the_build(tmp_path):
    _fetch_world(tmp_path, ["03759ned"])
    page = next((tmp_path / "03759ned").glob("*/observations-page-1.json"))
    page.write_bytes(page.read_bytes().replace(b'"Value": 8', b'"Value": 9', 1))
    with pytest.raises(CBSCacheError, match=r"observations-page-1.json: sha256 does not match"):
        build_cbs_panel(tmp_path)


def test_building_without_population_names_the_fix(tmp_path):
    _fetch_world(tmp_path, ["80794ned"])
    with pytest.raises(CBSCacheError, match=r"no complete fetch of 03759ned.*analysis fetch"):
        build_cbs_panel(tmp_path)


# --------------------------------------------------------------------------- fetch CLI


def test_cli_table_outside_the_catalogue_needs_api(tmp_path, capsys):
    assert main(["fetch", "--tables", "99999NED", "--raw-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pass --api v3 or --api v4" in err
    assert "Traceback" not in err


def test_cli_raw_table_is_cached_but_not_mapped(tmp_path, capsys):
    with CBSServer() as server:
        serve_world(server)
        serve_world_bijstand(server, "99999NED")  # an id outside the catalogue
        args = ["fetch", "--tables", "99999NED", "--api", "v3", "--base-url", server.url,
                "--raw-dir", str(tmp_path), "--retries", "2"]  # fmt: skip
        assert main(args) == 0
        sent = [r for r in server.requests if r.startswith("/99999NED/UntypedDataSet?")]
        assert main(["fetch", "--tables", "03759ned", *args[5:]]) == 0
    out = capsys.readouterr().out
    assert "99999NED (v3, raw only): fetched 154 rows" in out
    # raw: every measure and every period kind (months), municipalities only
    assert "$select" not in sent[0] and "2014MM11" in sent[0] and "2014MM12" in sent[0]
    _, _, manifest = build_cbs_panel(tmp_path)
    assert manifest["raw_only"] == ["99999NED"] and list(manifest["tables"]) == ["03759ned"]


def test_cli_one_failing_table_does_not_stop_the_others(tmp_path, capsys):
    with CBSServer() as server:
        serve_world(server)
        server.add("/80794ned/TableInfos", Reply(404, {"error": "no such table"}))
        args = ["fetch", "--tables", "80794ned", "84751NED", "--base-url", server.url,
                "--raw-dir", str(tmp_path), "--retries", "2"]  # fmt: skip
        assert main(args) == 2
    out, err = capsys.readouterr()
    assert "84751NED (v3, panel): fetched 24 rows" in out
    assert "error: 80794ned: CBS answered HTTP 404" in err and "1 table(s) failed" in err
    assert not (tmp_path / "80794ned").exists() or not any(tmp_path.rglob("80794ned/*/manifest*"))


def test_cli_unreachable_is_one_line_with_the_offline_hint(tmp_path, capsys):
    with CBSServer() as server:
        url = server.url  # a port that nothing listens on once the server is closed
    args = ["fetch", "--tables", "03759ned", "--base-url", url, "--raw-dir", str(tmp_path),
            "--retries", "1"]  # fmt: skip
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(err) == 1
    assert "could not be reached" in err[0] and "python -m analysis run" in err[0]
    assert not any(tmp_path.rglob("manifest.json"))


def test_cli_refresh_refetches(tmp_path, capsys):
    with CBSServer() as server:
        serve_world(server)
        args = ["fetch", "--tables", "84751NED", "--base-url", server.url,
                "--raw-dir", str(tmp_path), "--retries", "2"]  # fmt: skip
        assert main(args) == 0
        assert main(args) == 0
        assert main([*args, "--refresh"]) == 0
        hits = server.hits["/84751NED/UntypedDataSet"]
    out = capsys.readouterr().out
    assert out.count("fetched 24 rows") == 2 and out.count("reused cache 24 rows") == 1
    assert hits == 2
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    assert manifest["filters"]["resolved"]["measures"] == {"WmoClienten_5": "WmoClienten_5"}


def test_cli_build_without_a_cbs_cache_is_one_line(tmp_path, capsys):
    args = ["build", "--source", "cbs", "--raw-dir", str(tmp_path), "--out-dir", str(tmp_path)]
    assert main(args) == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error")]
    assert len(errors) == 1 and "no complete fetch of 03759ned" in errors[0]
    err = errors[0]
    assert "python -m analysis fetch" in err and not any(tmp_path.rglob("*.parquet"))
