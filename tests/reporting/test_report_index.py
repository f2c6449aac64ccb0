"""The index pages: each notebook's section and the one page frame, without executing notebooks."""

from __future__ import annotations

from pathlib import Path

from analysis.reporting.report import Page, _index, default_parameters
from analysis.reporting.report_index import _full_index, _page


def pages() -> list[Page]:
    return [
        Page("00_text", "Text only", "A finding, nothing drawn.", 0, Path("00_text.html"), None),
        Page("01_one", "One figure", "A finding with one figure.", 1, Path("01_one.html"),
             Path("figures/01_one.png")),
        Page("02_many", "Three figures", "A finding with three.", 3, Path("02_many.html"),
             Path("figures/02_many.png")),
    ]


def as_dicts(listed: list[Page]) -> list[dict]:
    return [{"name": p.name, "title": p.title, "finding": p.finding, "figures": p.figures,
             "html": p.html.name, "thumbnail": p.thumbnail.name if p.thumbnail else None}
            for p in listed]


def test_a_page_without_figures_says_nothing_about_figures():
    per_source = _index(pages(), default_parameters("synthetic"))
    full = _full_index([("synthetic", as_dicts(pages()), default_parameters("synthetic"), [])])
    for text in (per_source, full):
        assert "0 figure" not in text and "figure(s)" not in text
        assert "<p class=meta>1 figure</p>" in text and "<p class=meta>3 figures</p>" in text
        text_only = text.split("Text only")[1].split("</section>")[0]
        assert "figure" not in text_only  # no count, no thumbnail


def test_the_per_source_index_uses_the_one_page_frame():
    # the per-source index once had its own copy of the page template (without the
    # style of a real banner); now both indexes are framed by _page
    per_source = _index(pages(), default_parameters("synthetic"))
    head, _ = _page("BODY").split("BODY")
    assert per_source.startswith(head)
    assert ".banner.statline" in per_source
    assert '<p class="banner">SYNTHETIC DATA' in per_source  # its banner keeps its class
    assert 'href="01_one.html">One figure</a></h2>' in per_source
    assert 'src="figures/01_one.png"' in per_source
