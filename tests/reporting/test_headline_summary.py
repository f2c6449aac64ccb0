"""The real report section leads with the robustness summary, computed once per build,
escaped, and stored beside the section's pages."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.reporting import headline_summary


def fake_table() -> pd.DataFrame:
    table = pd.DataFrame([{
        "outcome": "wmo<per>_1000", "headline_estimate": -0.056, "headline_ci_low": -0.111,
        "headline_ci_high": -0.0005, "headline_cluster": "youth_care_region",
        "share_agreeing_excluding_zero": 0.722, "specifications": 72, "estimated": 72,
        "screening_flags": 12, "log": True, "percent_headline_estimate": -5.47,
        "percent_headline_ci_low": -10.51, "percent_headline_ci_high": -0.05,
    }])
    table.attrs = {"grid": {"wmo<per>_1000": {"base_year": [2015, 2016]}}, "draws": 999}
    return table


def test_the_real_section_starts_with_the_summary(tmp_path, monkeypatch):
    from analysis.reporting.report import build_full_report

    calls = []

    def fake(source, boundary_year):
        calls.append((source, boundary_year))
        return fake_table()

    monkeypatch.setattr(headline_summary, "headline_summary", fake)
    nb = new_notebook(cells=[new_markdown_cell("# 00 any"), new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "00_any.ipynb")
    index = build_full_report(("statline", "synthetic"), out_dir=tmp_path / "r",
                              notebooks=[tmp_path / "00_any.ipynb"], workers=1)
    text = index.read_text()
    assert calls == [("statline", 2023)]  # once per build, only for the real source
    real = text.index("REAL CBS DATA")
    section = text[real:text.index("SYNTHETIC DATA")]
    after_banner = section[section.index("</p>") + len("</p>"):]
    assert after_banner.startswith('<div class="headline-summary">')
    assert "wmo&lt;per&gt;_1000" in section and "wmo<per>" not in text
    assert "-5.5%" in section and "-10.5% to -0.1% (youth_care_region)" in section
    assert "72%" in section and "72 of 72" in section and "999 wild-bootstrap draws" in section
    assert "headline-summary" not in text[text.index("SYNTHETIC DATA"):]
    stored = json.loads((index.parent / "statline" / headline_summary.SUMMARY_FILE).read_text())
    assert stored["rows"][0]["screening_flags"] == 12


def test_a_summary_that_cannot_be_computed_says_why(tmp_path, monkeypatch):
    def broken(source, boundary_year):
        raise FileNotFoundError("no panel for statline")

    monkeypatch.setattr(headline_summary, "headline_summary", broken)
    out = headline_summary.summary_html("statline", 2023, tmp_path)
    assert "Robustness summary not computed: FileNotFoundError: no panel for statline" in out


def test_the_summary_is_computed_while_the_notebooks_run(tmp_path, monkeypatch):
    """It needs only the panels: a notebook's page is rendered only once it has begun."""
    import threading

    from analysis.reporting import report

    begun, rendered_after = threading.Event(), []

    def slow(source, boundary_year):
        begun.set()
        return fake_table()

    def render(executed, staging, original=report._render):
        rendered_after.append(begun.wait(timeout=60))  # never set: computed after them
        return original(executed, staging)

    monkeypatch.setattr(headline_summary, "headline_summary", slow)
    monkeypatch.setattr(report, "_render", render)
    nb = new_notebook(cells=[new_markdown_cell("# 00 any"), new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "00_any.ipynb")
    index = report.build_full_report(("statline", "synthetic"), out_dir=tmp_path / "r",
                                     notebooks=[tmp_path / "00_any.ipynb"], workers=1)
    assert rendered_after == [True, True]
    assert "72 of 72" in index.read_text()
    marker = (index.parent / "statline" / report.MARKER).read_text()
    assert headline_summary.SUMMARY_FILE not in marker  # written after the section, as before
