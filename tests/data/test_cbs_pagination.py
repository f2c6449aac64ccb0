"""Pagination always ends, and no fetch leaves its staging folder behind.

Against the local server (tests/cbs_server.py): a nextLink to the page itself, a cycle
of two pages, an empty page that links on, more rows than the service's count, no count
and no end. Each must end in one error line naming the table and the page; termination
is asserted through that error (the timeout marker only guards a regression from hanging
the suite). A fetch killed with SIGKILL leaves its marked staging folder; the next fetch,
of any table, removes it, and never a folder it did not create.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cbs_server import CBSServer, Reply
from test_cbs_client import FAST, QUERY, _serve_v4

from analysis.cli import main
from analysis.data.cbs.api import fetch as fetch_module
from analysis.data.cbs.api.fetch import PaginationError, Query, fetch_table
from analysis.data.cbs.api.staging import MARKER, FetchStaging, sweep_orphans

pytestmark = [pytest.mark.network, pytest.mark.timeout(60)]

PAGE = "/99991NED/Observations?$skip={}"


def _page(server: CBSServer, skip: int, rows: int, link_skip: int | None) -> None:
    payload: dict[str, object] = {"value": [_row(skip + k) for k in range(rows)]}
    if link_skip is not None:
        payload["@odata.nextLink"] = server.url + PAGE.format(link_skip)
    server.add(PAGE.format(skip), Reply(payload=payload))


def _row(i: int) -> dict:
    return {"Id": i, "Measure": "M1", "ValueAttribute": "None", "Value": 1.0,
            "StringValue": None, "RegioS": "GM0001", "Perioden": "2014JJ00"}  # fmt: skip


def _cli_fetch(server: CBSServer, tmp_path, capsys) -> list[str]:
    argv = ["fetch", "--tables", "99991NED", "--api", "v4", "--base-url", server.url,
            "--raw-dir", str(tmp_path), "--from-year", "2014", "--retries", "1"]  # fmt: skip
    assert main(argv) == 2
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def _no_staging_left(tmp_path) -> bool:
    return not list(tmp_path.rglob("*.partial")) and not list(tmp_path.rglob(MARKER))


def test_a_page_linking_to_itself_stops_with_one_line(tmp_path, capsys):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        _page(server, 7, 7, link_skip=7)
        with pytest.raises(PaginationError, match=r"^99991NED: "
                           r"observations page 2 links back to page 2"):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
        assert server.hits[PAGE.format(7)] == 1
        errors = _cli_fetch(server, tmp_path, capsys)
    assert len(errors) == 1
    assert errors[0].startswith("error: 99991NED: observations page 2 links back to page 2")
    assert _no_staging_left(tmp_path)


def test_a_cycle_of_two_pages_stops_with_one_line(tmp_path, capsys):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        _page(server, 7, 7, link_skip=14)
        _page(server, 14, 7, link_skip=7)
        with pytest.raises(PaginationError, match=r"^99991NED: "
                           r"observations page 3 links back to page 2"):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
        assert server.hits[PAGE.format(7)] == 1 and server.hits[PAGE.format(14)] == 1
        errors = _cli_fetch(server, tmp_path, capsys)
    assert len(errors) == 1 and "page 3 links back to page 2" in errors[0]
    assert _no_staging_left(tmp_path)


def test_an_empty_page_that_links_on_stops_with_one_line(tmp_path, capsys):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        _page(server, 7, 0, link_skip=14)
        with pytest.raises(PaginationError, match=r"^99991NED: "
                           r"observations page 2 has no rows but"):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
        assert server.hits[PAGE.format(14)] == 0
        errors = _cli_fetch(server, tmp_path, capsys)
    assert len(errors) == 1 and "page 2 has no rows but links on" in errors[0]
    assert _no_staging_left(tmp_path)


def test_more_rows_than_the_service_counted_stops(tmp_path):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        server.add("/99991NED/Observations/$count", Reply(body=b"10"))
        with pytest.raises(
            PaginationError,
            match=r"^99991NED: observations page 2 brings the rows to 14, the service's",
        ):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
        assert server.hits[PAGE.format(14)] == 0
    assert _no_staging_left(tmp_path)


def test_without_a_count_the_documented_cap_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch_module, "MAX_ROWS_WITHOUT_COUNT", 10)
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        server.add("/99991NED/Observations/$count", Reply(404))
        with pytest.raises(PaginationError, match=r"page 2: 14 rows in 2 pages .* cap of 10 rows"):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
    assert _no_staging_left(tmp_path)


def test_an_interrupted_fetch_removes_its_staging_folder(tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        monkeypatch.setattr(fetch_module._Run, "_service_count", interrupt)
        with pytest.raises(KeyboardInterrupt):
            fetch_table(QUERY, tmp_path, base=server.url, policy=FAST)
    assert _no_staging_left(tmp_path)
    # nor the table folder it created; only the marker that claims the cache folder stays
    assert [p.name for p in tmp_path.iterdir()] in ([], [".decentralisation-owned"])


KILLED_FETCH = """
import sys
from analysis.data.cbs.api.fetch import Query, fetch_table
from analysis.data.cbs.api.http import RetryPolicy
query = Query("99991NED", "v4", from_year=2014, to_year=2016, measures=("M1", "M2"))
fetch_table(query, sys.argv[1], base=sys.argv[2], policy=RetryPolicy(attempts=1, timeout=120))
"""


def _fetch_in_subprocess(server: CBSServer, tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", KILLED_FETCH, str(tmp_path), server.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(path_glob, tmp_path, proc) -> list:
    deadline = time.monotonic() + 45  # a guard for a broken setup, not a measurement
    while time.monotonic() < deadline:
        found = list(tmp_path.glob(path_glob))
        if found or proc.poll() is not None:
            return found
        time.sleep(0.05)
    return []


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_next_fetch_removes_what_a_killed_fetch_left(tmp_path, how):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        server.add(PAGE.format(14), Reply(delay=40))  # page 3 hangs: kill it there
        proc = _fetch_in_subprocess(server, tmp_path)
        try:
            found = _wait_for("99991NED/*.partial/observations-page-2.json", tmp_path, proc)
            assert found, proc.stderr.read().decode() if proc.poll() is not None else "no page 2"
            proc.send_signal(how)
            proc.wait(timeout=30)
        finally:
            proc.kill()
        staging = found[0].parent
        if how == signal.SIGTERM:  # the fetch cleaned up after itself
            assert proc.returncode == 128 + signal.SIGTERM
            assert not staging.exists() and not (tmp_path / "99991NED").exists()
            return
        assert (staging / MARKER).is_file()  # SIGKILL: nothing ran, the folder is left
        foreign = tmp_path / "99991NED" / "mine.partial"  # a folder the toolkit did not make
        foreign.mkdir()
        (foreign / "notes.txt").write_text("keep me")
        reported: list[str] = []
        server.add(PAGE.format(14), Reply(payload={"value": [_row(14 + k) for k in range(7)],
                   "@odata.nextLink": server.url + PAGE.format(21)}))  # fmt: skip
        other = Query("99991NED", "v4", from_year=2015, to_year=2016, measures=("M1",))
        server.add("/99991NED/Observations/$count", Reply(404))
        fetch_table(other, tmp_path, base=server.url, policy=FAST, report=reported.append)
    assert not staging.exists()
    assert [line for line in reported if "interrupted fetch" in line] == [
        f"removed the staging folder of an interrupted fetch: {staging}"
    ]
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.rglob("*.partial")) == ["mine.partial"]


def test_a_running_fetch_keeps_its_staging_folder(tmp_path):
    with FetchStaging(tmp_path / "99991NED" / "v4-abc") as staging:
        assert sweep_orphans(tmp_path, print) == []
        assert (staging.path / MARKER).is_file()
        with pytest.raises(BlockingIOError, match="another fetch .* is running"):
            FetchStaging(tmp_path / "99991NED" / "v4-abc").__enter__()
    assert not staging.path.exists() and not (tmp_path / "99991NED").exists()
    assert os.listdir(tmp_path) == []


def test_off_a_terminal_a_fetch_prints_lines_not_progress_bars(tmp_path, capsys):
    with CBSServer() as server:
        _serve_v4(server, page_size=7)
        argv = ["fetch", "--tables", "99991NED", "--api", "v4", "--base-url", server.url,
                "--raw-dir", str(tmp_path), "--from-year", "2014"]  # fmt: skip
        assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["fetching 99991NED (v4) ..."]
    assert "\r" not in captured.out
    assert captured.out.splitlines()[0].startswith("99991NED (v4, raw only): fetched 30 rows -> ")
