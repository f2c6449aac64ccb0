"""A fetch trusts only CBS (or the configured mirror), and every fetch ends in bounded time.

Against the local server (tests/cbs_server.py), issue 20: a nextLink or a redirect to
another host, port or path was followed and cached as CBS's; table ids such as
``/abs/olute``, ``../../x`` or ``''`` reached paths and URLs; a server dripping one byte at
a time held a fetch forever (``--timeout`` is per read), and a compressed body expanding
far past any real page was cached whole. Caps are set small here so the tests are fast.
"""

from __future__ import annotations

import gzip
import json
import time

import pytest
from cbs_server import CBSServer, Reply, v4_table
from test_cbs_client import _codes, _observations

from analysis.cli import main
from analysis.data.cbs.api.fetch import Query, check_table_id, fetch_table
from analysis.data.cbs.api.http import (
    CBSLimitError,
    ForeignURLError,
    RetryPolicy,
    check_within,
)

pytestmark = [pytest.mark.network, pytest.mark.timeout(60)]

FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.01, timeout=2.0)
TABLE = "99991NED"
PREFIX = "/odata"  # the mirror's base URL has a path: the prefix every URL must keep
MEASURES = [{"Identifier": "M1", "Title": "Een"}, {"Identifier": "M2", "Title": "Twee"}]
QUERY = Query(TABLE, "v4", from_year=2014, to_year=2016, measures=("M1", "M2"))


def _serve(server: CBSServer, page_size: int = 7) -> None:
    v4_table(server, f"{PREFIX[1:]}/{TABLE}", _observations(), _codes(), MEASURES, page_size)


def _fetch(server: CBSServer, raw, policy: RetryPolicy = FAST):
    return fetch_table(QUERY, raw, base=server.url + PREFIX, policy=policy)


def _nothing_cached(raw) -> bool:
    return not (raw / TABLE).exists() or not any((raw / TABLE).iterdir())


def _link_page_2_to(server: CBSServer, url: str) -> None:
    rows = [r for r in _observations()][:7]
    route = f"{PREFIX}/{TABLE}/Observations"
    server.add(route, Reply(payload={"value": rows, "@odata.nextLink": url}))


def test_a_nextlink_to_another_port_is_not_followed(tmp_path):
    with CBSServer() as server, CBSServer() as stranger:
        _serve(server)
        _serve(stranger)
        _link_page_2_to(server, f"{stranger.url}{PREFIX}/{TABLE}/Observations?$skip=7")
        with pytest.raises(ForeignURLError, match=rf"^{TABLE}: observations page 1's nextLink"):
            _fetch(server, tmp_path)
    assert sum(stranger.hits.values()) == 0  # never even asked
    assert _nothing_cached(tmp_path)


def test_a_nextlink_to_another_host_or_path_is_not_followed(tmp_path):
    with CBSServer() as server:
        _serve(server)
        port = server.url.rsplit(":", 1)[1]
        for url, part in (
            (f"http://localhost:{port}{PREFIX}/{TABLE}/Observations?$skip=7", "host"),
            (f"{server.url}/elsewhere/{TABLE}/Observations?$skip=7", "path"),
            (f"{server.url}{PREFIX}/../elsewhere/x", "path"),
            (f"{server.url}{PREFIX}/%2e%2e/elsewhere/x", "path"),
            (f"https://127.0.0.1:{port}{PREFIX}/{TABLE}/Observations", "scheme"),
        ):
            _link_page_2_to(server, url)
            with pytest.raises(ForeignURLError, match=rf"\({part}"):
                _fetch(server, tmp_path)
            assert _nothing_cached(tmp_path)
        assert not [r for r in server.requests if "elsewhere" in r]


def test_a_redirect_to_another_server_is_not_followed_and_nothing_is_cached(tmp_path, capsys):
    with CBSServer() as server, CBSServer() as stranger:
        _serve(server)
        _serve(stranger)
        server.add(f"{PREFIX}/{TABLE}/Observations", Reply(
            302, body=b"", headers={"Location": f"{stranger.url}{PREFIX}/{TABLE}/Observations"}
        ))  # fmt: skip
        argv = ["fetch", "--tables", TABLE, "--api", "v4", "--base-url", server.url + PREFIX,
                "--raw-dir", str(tmp_path), "--from-year", "2014", "--retries", "1"]  # fmt: skip
        assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "redirect to" in errors[0] and "(port)" in errors[0], errors
    assert stranger.hits[f"{PREFIX}/{TABLE}/Observations"] == 0
    assert _nothing_cached(tmp_path)


def test_a_redirect_within_the_base_url_is_followed(tmp_path):
    with CBSServer() as server:
        _serve(server)
        server.add(f"{PREFIX}/{TABLE}/Dimensions", Reply(
            301, body=b"", headers={"Location": f"{PREFIX}/{TABLE}/Dimensions2"}
        ))  # fmt: skip
        dims = [{"Identifier": d, "Kind": k} for d, k in
                (("RegioS", "GeoDimension"), ("Perioden", "TimeDimension"))]  # fmt: skip
        server.add(f"{PREFIX}/{TABLE}/Dimensions2", Reply(payload={"value": dims}))
        result = _fetch(server, tmp_path)
    assert result.manifest.data_rows == 30
    entry = next(f for f in result.manifest.files if f.name == "dimensions.json")
    assert entry.url.endswith(f"{PREFIX}/{TABLE}/Dimensions2")  # where the bytes came from


@pytest.mark.parametrize("table", ["/abs/olute", "../../x", "", "03759ned/..", "GM0363", "a b"])
def test_a_table_id_that_is_not_cbss_is_refused_before_anything(table, tmp_path, capsys):
    raw = tmp_path / "raw"
    with CBSServer() as server:
        argv = ["fetch", "--tables", table, "--api", "v4", "--base-url", server.url,
                "--raw-dir", str(raw)]  # fmt: skip
        assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert errors == [f"error: table id {table!r} is not a CBS table identifier (five digits "
                      "and letters, e.g. 03759ned or 82354NED)"]  # fmt: skip
    assert not raw.exists() and server.requests == []
    assert not (tmp_path / "abs").exists()


def test_cbs_table_ids_are_accepted():
    for table in ("03759ned", "82354NED", "80030ENG", "7461bev", "7052_95"):
        assert check_table_id(table) == table


def test_a_slow_drip_server_is_stopped_at_the_overall_deadline(tmp_path):
    body = json.dumps({"Identifier": TABLE, "Title": "x" * 200}).encode()  # ~10 s at 0.05 s/byte
    policy = RetryPolicy(attempts=3, backoff=0.001, timeout=2.0, deadline=0.6)
    with CBSServer() as server:
        _serve(server)
        server.add(f"{PREFIX}/{TABLE}/Properties", Reply(body=body, drip=0.05))
        started = time.monotonic()
        with pytest.raises(CBSLimitError, match=r"overall deadline of 0.6 s \(--deadline\)"):
            _fetch(server, tmp_path, policy)
        assert time.monotonic() - started < 3.0  # every single read was well within --timeout
    assert _nothing_cached(tmp_path)


def test_a_compressed_body_expanding_past_the_cap_is_stopped(tmp_path):
    huge = b'{"value": [' + b" " * (32 * 2**20) + b"]}"  # 32 MB of JSON, ~32 kB compressed
    policy = RetryPolicy(attempts=1, timeout=5.0, max_bytes=2**20)
    with CBSServer() as server:
        _serve(server)
        server.add(f"{PREFIX}/{TABLE}/Dimensions",
                   Reply(body=gzip.compress(huge), headers={"Content-Encoding": "gzip"}))
        with pytest.raises(CBSLimitError, match=r"larger than the cap of 1048576 bytes"):
            _fetch(server, tmp_path, policy)
    assert _nothing_cached(tmp_path)


def test_a_body_announced_larger_than_the_cap_is_refused_and_the_flag_sets_it(tmp_path, capsys):
    with CBSServer() as server:
        _serve(server)
        server.add(f"{PREFIX}/{TABLE}/Dimensions", Reply(body=b"[" + b"0," * 400_000 + b"0]"))
        argv = ["fetch", "--tables", TABLE, "--api", "v4", "--base-url", server.url + PREFIX,
                "--raw-dir", str(tmp_path), "--from-year", "2014", "--retries", "1",
                "--max-response-mb", "0.5"]  # fmt: skip
        assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "larger than the cap of 524288 bytes" in errors[0], errors
    assert _nothing_cached(tmp_path)


@pytest.mark.parametrize("flag", ["--deadline", "--max-response-mb", "--timeout"])
def test_a_limit_that_is_not_positive_is_one_clear_line(flag, tmp_path, capsys):
    argv = ["fetch", "--tables", TABLE, "--api", "v4", "--raw-dir", str(tmp_path / "raw"),
            flag, "0"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "must be positive, got 0" in err and not (tmp_path / "raw").exists()


def test_the_base_url_check_itself():
    base = "https://opendata.cbs.nl/ODataFeed/odata"
    assert check_within(f"{base}/03759ned/Page?$skip=1", base)
    assert check_within("https://opendata.cbs.nl:443/ODataFeed/odata/x", base)
    for url in ("https://opendata.cbs.nl/ODataFeed/odatax/x", "http://opendata.cbs.nl/ODataFeed/odata/x",
                "https://opendata.cbs.nl.evil.example/ODataFeed/odata/x",
                "https://opendata.cbs.nl:8443/ODataFeed/odata/x"):  # fmt: skip
        with pytest.raises(ForeignURLError):
            check_within(url, base)
