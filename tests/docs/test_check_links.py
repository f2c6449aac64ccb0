"""The docs site's offline link check finds broken files and anchors, and fetches nothing."""

from __future__ import annotations

import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location("check_links", ROOT / "docs" / "check_links.py")
check_links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_links)


def _site(tmp_path, body):
    (tmp_path / "a.html").write_text(f'<html><body><h1 id="top">A</h1>{body}</body></html>')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html").write_text('<p id="here">b</p><a href="../a.html#top">a</a>')
    return tmp_path


def test_broken_files_and_anchors_are_reported_and_external_links_only_listed(tmp_path):
    site = _site(tmp_path, '<a href="sub/b.html#here">ok</a><a href="#top">self</a>'
                           '<a href="sub/b.html#gone">bad anchor</a><a href="nope.html">bad</a>'
                           '<a href="https://example.org/x">out</a>')
    broken, external = check_links.check(site)
    broken = [b for b in broken if not b.startswith("gallery:")]  # no notebooks in this site
    assert len(broken) == 2
    assert "no anchor #gone in b.html" in broken[0] or "no anchor #gone in b.html" in broken[1]
    assert any("nope.html" in b for b in broken)
    assert external == ["https://example.org/x"]


def test_every_notebook_needs_its_gallery_page(tmp_path):
    broken, _ = check_links.check(_site(tmp_path, ""))
    missing = {b for b in broken if b.startswith("gallery:")}
    notebooks = list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    notebooks += list((ROOT / "notebooks" / "real").glob("[0-9][0-9]_*.ipynb"))
    assert len(missing) == len(notebooks) > 0
