"""The CBS client against a local HTTP server: pagination, retries, errors, the cache."""

from __future__ import annotations

import json

import pytest
from cbs_server import CBSServer, Reply, paged, v3_table, v4_table

from analysis.data.cbs.api.cache import read_manifest, verify
from analysis.data.cbs.api.fetch import Query, fetch_table
from analysis.data.cbs.api.http import CBSHTTPError, CBSUnreachable, RetryPolicy
from analysis.data.cbs.api.v3files import read_v3_observations
from analysis.data.cbs.api.v4files import CBSFormatError, read_observations

pytestmark = pytest.mark.network

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01, timeout=2.0)
MUNIS = [f"GM000{i}" for i in range(1, 6)]
YEARS = [2014, 2015, 2016]


def _codes() -> dict[str, list[dict]]:
    regions = [{"Identifier": c, "Title": f"Gemeente {c[-1]}"} for c in [*MUNIS, "NL01"]]
    periods = [{"Identifier": f"{y}JJ00", "Title": str(y)} for y in YEARS]
    periods.append({"Identifier": "2015KW01", "Title": "2015 1e kwartaal"})
    return {"RegioS": regions, "Perioden": periods}


def _observations() -> list[dict]:
    rows = []
    for muni in MUNIS:
        for year in YEARS:
            for measure, value in (("M1", 100.0), ("M2", 7.0)):
                rows.append(
                    {
                        "Id": len(rows),
                        "Measure": measure,
                        "ValueAttribute": "None",
                        "Value": value + int(muni[-1]),
                        "StringValue": None,
                        "RegioS": muni,
                        "Perioden": f"{year}JJ00",
                    }
                )
    return rows


def _serve_v4(server: CBSServer, page_size: int = 7) -> None:
    measures = [{"Identifier": "M1", "Title": "Eén"}, {"Identifier": "M2", "Title": "Twee"}]
    v4_table(server, "99991NED", _observations(), _codes(), measures, page_size=page_size)


QUERY = Query("99991NED", "v4", from_year=2014, to_year=2016, measures=("M1", "M2"))


def _fetch(server: CBSServer, tmp_path, **kwargs):
    return fetch_table(QUERY, tmp_path, base=server.url, policy=FAST, **kwargs)


def _leftovers(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob("*") if ".part" in p.name)


def test_all_pages_are_followed_and_counted(tmp_path):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        result = _fetch(server, tmp_path)
    manifest = result.manifest
    assert manifest.data_rows == 30 and manifest.service_count == 30
    pages = manifest.data_files()
    assert [f.name for f in pages] == [f"observations-page-{k}.json" for k in range(1, 6)]
    assert [f.rows for f in pages] == [7, 7, 7, 7, 2]
    obs = read_observations(result.directory / f.name for f in pages)
    assert len(obs) == 30
    assert obs.loc[(obs.RegioS == "GM0003") & (obs.Measure == "M2"), "value"].tolist() == [10.0] * 3
    # server-side filter: municipalities, the year periods in range only, the measures
    sent = [r for r in server.requests if r.startswith("/99991NED/Observations?")][0]
    assert "startswith(RegioS,'GM')" in sent
    assert "Perioden eq '2015JJ00'" in sent and "2015KW01" not in sent
    assert "(Measure eq 'M1' or Measure eq 'M2')" in sent


def test_manifest_records_provenance(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        result = _fetch(server, tmp_path)
    raw = json.loads((result.directory / "manifest.json").read_text())
    assert raw["api"] == "v4" and raw["table"] == "99991NED"
    assert raw["filters"]["from_year"] == 2014
    assert "startswith(RegioS,'GM')" in raw["filters"]["$filter"]
    assert raw["retrieved_at"].endswith("+00:00")
    names = {f["name"] for f in raw["files"]}
    assert {"properties.json", "dimensions.json", "codes-RegioS.json"} <= names
    assert all(len(f["sha256"]) == 64 and f["url"].startswith(server.url) for f in raw["files"])


def test_second_fetch_uses_the_cache_and_refresh_refetches(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        first = _fetch(server, tmp_path)
        hits = sum(server.hits.values())
        second = _fetch(server, tmp_path)
        assert sum(server.hits.values()) == hits  # not a single request
        third = _fetch(server, tmp_path, refresh=True)
        assert sum(server.hits.values()) == 2 * hits
    assert not first.from_cache and second.from_cache and not third.from_cache
    assert second.directory == first.directory


def test_a_changed_cached_file_is_reported_and_refetched(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        first = _fetch(server, tmp_path)
        page = first.directory / "observations-page-2.json"
        page.write_bytes(page.read_bytes() + b" ")
        lines: list[str] = []
        again = _fetch(server, tmp_path, report=lines.append)
    assert not again.from_cache
    assert len(lines) == 1 and "observations-page-2.json" in lines[0] and "sha256" in lines[0]
    assert verify(again.directory, again.manifest) == []
    assert not page.read_bytes().endswith(b" ")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_is_retried(tmp_path, status):
    with CBSServer() as server:
        _serve_v4(server)
        route = "/99991NED/Observations?$skip=14"
        server.add(route, Reply(status), *server.routes[route])
        result = _fetch(server, tmp_path)
        assert server.hits["/99991NED/Observations?$skip=14"] == 2
    assert result.manifest.data_rows == 30


def test_timeout_is_retried(tmp_path):
    policy = RetryPolicy(attempts=3, backoff=0.001, timeout=0.3)
    with CBSServer() as server:
        _serve_v4(server)
        ok = server.routes["/99991NED/MeasureCodes"][0]
        server.add("/99991NED/MeasureCodes", Reply(payload=ok.payload, delay=1.0), ok)
        result = fetch_table(QUERY, tmp_path, base=server.url, policy=policy)
        assert server.hits["/99991NED/MeasureCodes"] == 2
    assert result.manifest.data_rows == 30


def test_truncated_body_is_retried(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        ok = server.routes["/99991NED/Observations?$skip=7"][0]
        server.add("/99991NED/Observations?$skip=7", Reply(payload=ok.payload, extra_length=50), ok)
        result = _fetch(server, tmp_path)
        assert server.hits["/99991NED/Observations?$skip=7"] == 2
    assert result.manifest.data_rows == 30


def test_404_is_not_retried_and_nothing_is_cached(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        server.add("/99991NED/Properties", Reply(404, {"error": "table not found"}))
        with pytest.raises(CBSHTTPError, match="HTTP 404") as err:
            _fetch(server, tmp_path)
        assert server.hits["/99991NED/Properties"] == 1
    assert err.value.status == 404
    assert list(tmp_path.rglob("*.json")) == [] and _leftovers(tmp_path) == []


def test_persistent_failure_is_one_clear_line_and_leaves_nothing(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        server.add("/99991NED/Observations?$skip=21", Reply(503))
        with pytest.raises(CBSUnreachable) as err:
            _fetch(server, tmp_path)
        assert server.hits["/99991NED/Observations?$skip=21"] == FAST.attempts
    message = str(err.value)
    assert "\n" not in message and "HTTP 503" in message
    assert "synthetic default" in message and "cached" in message
    assert list(tmp_path.rglob("*.json")) == [] and _leftovers(tmp_path) == []


def test_connection_refused_is_unreachable(tmp_path):
    with CBSServer() as server:
        dead = server.url  # the port is closed once the server stops
    with pytest.raises(CBSUnreachable, match="connection failed"):
        fetch_table(QUERY, tmp_path, base=dead, policy=FAST)


def test_malformed_json_is_a_format_error(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        server.add("/99991NED/Observations?$skip=7", Reply(body=b'{"value": [{"Id": 1,'))
        with pytest.raises(CBSFormatError, match=r"not valid JSON.*skip=7|skip=7.*not valid JSON"):
            _fetch(server, tmp_path)
        assert server.hits["/99991NED/Observations?$skip=7"] == 1
    assert list(tmp_path.rglob("*.json")) == []


def test_row_count_mismatch_is_not_cached(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        server.add("/99991NED/Observations/$count", Reply(body=b"31"))
        with pytest.raises(CBSFormatError, match="received 30 rows but CBS reported 31"):
            _fetch(server, tmp_path)
    assert list(tmp_path.rglob("manifest.json")) == []


def test_count_not_reported_is_tolerated(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        server.add("/99991NED/Observations/$count", Reply(404))
        result = _fetch(server, tmp_path)
    assert result.manifest.service_count is None and result.manifest.data_rows == 30


def test_failed_refresh_keeps_the_previous_complete_fetch(tmp_path):
    with CBSServer() as server:
        _serve_v4(server)
        first = _fetch(server, tmp_path)
        server.add("/99991NED/Observations?$skip=14", Reply(503))
        with pytest.raises(CBSUnreachable):
            _fetch(server, tmp_path, refresh=True)
    kept = read_manifest(first.directory)
    assert kept is not None and verify(first.directory, kept) == []
    assert _leftovers(tmp_path) == [] and not list(tmp_path.rglob("*.partial"))


def test_unknown_measure_names_what_the_table_has(tmp_path):
    query = Query("99991NED", "v4", measures=("M9",))
    with CBSServer() as server:
        _serve_v4(server)
        with pytest.raises(
            CBSFormatError, match=r"measure 'M9' is not in the table \(it has: M1: Eén; M2: Twee\)"
        ):
            fetch_table(query, tmp_path, base=server.url, policy=FAST)


def test_base_url_from_the_environment(tmp_path, monkeypatch):
    with CBSServer() as server:
        _serve_v4(server)
        monkeypatch.setenv("CBS_V4_BASE_URL", server.url + "/")
        result = fetch_table(QUERY, tmp_path, policy=FAST)
    assert result.manifest.base_url == server.url


def _serve_v3(server: CBSServer) -> None:
    properties = [
        {"Type": "Dimension", "Key": "Geslacht"},
        {"Type": "GeoDimension", "Key": "RegioS"},
        {"Type": "TimeDimension", "Key": "Perioden"},
        {"Type": "Topic", "Key": "Bijstand_1", "Unit": "aantal"},
        {"Type": "Topic", "Key": "Anders_2", "Unit": "aantal"},
    ]
    codes = {
        "Geslacht": [{"Key": "T001038 ", "Title": "Totaal"}, {"Key": "3000   ", "Title": "Mannen"}],
        "RegioS": [{"Key": f"{m}  ", "Title": m} for m in MUNIS],
        "Perioden": [{"Key": "2015JJ00", "Title": "2015"}, {"Key": "2016JJ00", "Title": "2016"}],
    }
    rows = []
    for muni in MUNIS:
        for year in (2015, 2016):
            value = {"GM0002": "       x", "GM0004": "       ."}.get(muni, f"{int(muni[-1]) * 10}")
            rows.append(
                {
                    "ID": len(rows),
                    "Geslacht": "T001038 ",
                    "RegioS": f"{muni}  ",
                    "Perioden": f"{year}JJ00",
                    "Bijstand_1": value,
                }
            )
    v3_table(server, "99993NED", rows, properties, codes, page_size=4)


def test_v3_table_with_padded_keys_select_and_nextlink(tmp_path):
    query = Query(
        "99993NED", "v3", from_year=2015, measures=("Bijstand_1",), dims={"Geslacht": ("T001038",)}
    )
    with CBSServer() as server:
        _serve_v3(server)
        result = fetch_table(query, tmp_path, base=server.url, policy=FAST)
        sent = [r for r in server.requests if r.startswith("/99993NED/UntypedDataSet?")][0]
    assert "Geslacht eq 'T001038 '" in sent  # the padded key, verbatim
    assert "$select=Geslacht,RegioS,Perioden,Bijstand_1" in sent
    pages = result.manifest.data_files()
    assert len(pages) == 3 and result.manifest.data_rows == 10
    obs = read_v3_observations(
        [result.directory / f.name for f in pages], result.directory / "DataProperties.json"
    )
    assert set(obs.RegioS) == set(MUNIS)  # padding stripped
    row = obs[(obs.RegioS == "GM0002") & (obs.Perioden == "2015JJ00")].iloc[0]
    assert row.status == "x" and row.value != row.value  # missing, never 0
    row = obs[(obs.RegioS == "GM0004") & (obs.Perioden == "2016JJ00")].iloc[0]
    assert row.status == "."
    row = obs[(obs.RegioS == "GM0005") & (obs.Perioden == "2016JJ00")].iloc[0]
    assert row.value == 50.0 and row.status is None


def test_paged_helper_serves_empty_results(tmp_path):
    # A filter that matches nothing is one empty page and a count of 0, not an error.
    query = Query("99991NED", "v4", measures=("M1",))
    with CBSServer() as server:
        _serve_v4(server)
        paged(server, "/99991NED/Observations", [], 7, "v4")
        result = fetch_table(query, tmp_path, base=server.url, policy=FAST)
    assert result.manifest.data_rows == 0 and len(result.manifest.data_files()) == 1


def test_total_prefers_the_plain_total_and_names_ambiguity():
    from analysis.data.cbs.api.fetch import TOTAL, _pick

    types = [("T001", "Totaal"), ("T002", "Totaal exclusief verblijf en opvang"), ("A1", "Hbh")]
    assert _pick("T", "code", TOTAL, types) == "T001"
    assert _pick("T", "code", TOTAL, [("X", "Wel of geen jeugdbescherming"), ("Y", "Wel")]) == "X"
    two = [("M", "Totaal mannen en vrouwen"), ("V", "Totaal vrouwen")]
    with pytest.raises(CBSFormatError, match=r"'TOTAL' matches several .*M: Totaal mannen"):
        _pick("T9", "code of dimension 'Geslacht'", TOTAL, two)


def test_region_dimension_found_by_kind_or_a_clear_error(tmp_path):
    query = Query("99991NED", "v4", measures=("M1",), region_dim=None, period_dim=None)
    with CBSServer() as server:
        _serve_v4(server)
        result = fetch_table(query, tmp_path / "a", base=server.url, policy=FAST)
    assert result.manifest.filters["resolved"]["region_dim"] == "RegioS"
    sent = result.manifest.filters["$filter"]
    assert "startswith(RegioS,'GM')" in sent and "Perioden eq '2015JJ00'" in sent
    with CBSServer() as server:
        measures = [{"Identifier": "M1", "Title": "Eén"}]
        kinds = {"RegioS": "Dimension"}
        v4_table(server, "99991NED", _observations(), _codes(), measures, kinds=kinds)
        with pytest.raises(CBSFormatError, match=r"99991NED: expected one geo dimension, found"):
            fetch_table(query, tmp_path / "b", base=server.url, policy=FAST)
    assert not any((tmp_path / "b").rglob("manifest.json"))
