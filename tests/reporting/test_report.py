"""``python -m analysis report``: every notebook executed, rendered, indexed; nothing half-done."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.data.ownership import MARKER, marker_bytes
from analysis.reporting.report import (
    FINDING_MIME,
    NOTEBOOKS,
    build_report,
    default_parameters,
    runs_on,
)

ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SYNTHETIC = [n for n in ALL if runs_on(n, "synthetic")]  # 10, 11: real data only


def stored_figure_count(path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report"
    return build_report(default_parameters("synthetic"), out_dir=out)


def test_every_notebook_has_a_page_a_title_and_a_finding_on_the_index(report):
    index = report.read_text()
    assert "SYNTHETIC DATA" in index
    for notebook in SYNTHETIC:
        assert f'href="{notebook.stem}.html"' in index
        assert (report.parent / f"{notebook.stem}.html").is_file()
    for notebook in set(ALL) - set(SYNTHETIC):
        assert f"Not run here: {notebook.stem} (real data only" in index
    sections = re.findall(r"<section>.*?</section>", index, flags=re.S)
    assert len(sections) == len(SYNTHETIC)
    for section in sections:
        finding = re.search(r"</h2><p>(.*?)</p>", section, flags=re.S).group(1)
        assert len(finding) > 20, section


def test_each_page_contains_its_figures(report):
    index = report.read_text()
    for notebook in SYNTHETIC:
        page = (report.parent / f"{notebook.stem}.html").read_text()
        figures = stored_figure_count(notebook)
        assert len(re.findall(r'<img[^>]*src="data:image/png;base64', page)) == figures
        if figures:
            assert (report.parent / "figures" / f"{notebook.stem}.png").is_file()
            assert f'src="figures/{notebook.stem}.png"' in index
    assert sum(stored_figure_count(n) for n in SYNTHETIC) >= len(SYNTHETIC) - 1


def test_each_notebook_declares_a_parameters_cell_and_a_finding():
    for notebook in ALL:
        nb = nbformat.read(notebook, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, notebook.name
        assert "source =" in tagged[0].source
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert any(FINDING_MIME in o.get("data", {}) for o in outputs), notebook.name


def test_a_failing_notebook_becomes_a_section_saying_why_and_the_rest_is_written(tmp_path):
    from analysis.reporting.report import ReportIncomplete

    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("previous report")
    (out / MARKER).write_bytes(marker_bytes(["index.html"]))  # a report the toolkit wrote
    good = new_notebook(cells=[new_markdown_cell("# Fine"), new_code_cell("1 + 1")])
    bad = new_notebook(cells=[new_markdown_cell("# Broken"), new_code_cell("1 / 0")])
    for nb, name in [(good, "00_good.ipynb"), (bad, "01_bad.ipynb")]:
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, tmp_path / name)
    with pytest.raises(ReportIncomplete, match=r"1 notebook\(s\) failed: 01_bad.ipynb; the "
                                               r"report at .* has the others.*ZeroDivisionError"):
        build_report(
            {}, out_dir=out, notebooks=[tmp_path / "00_good.ipynb", tmp_path / "01_bad.ipynb"]
        )
    index = (out / "index.html").read_text()
    assert 'href="00_good.html">Fine</a>' in index and 'href="01_bad.html">Broken</a>' in index
    assert "FAILED: notebook 01_bad.ipynb failed in cell In [2]: ZeroDivisionError" in index
    assert "ZeroDivisionError" in (out / "01_bad.html").read_text()
    assert (out / "00_good.html").is_file() and not (out / "01_bad.ipynb").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def test_a_real_only_notebook_runs_only_in_the_real_section(tmp_path):
    from analysis.reporting.report import build_full_report

    for name, sources in (("00_any.ipynb", None), ("01_real.ipynb", ["statline"])):
        nb = new_notebook(cells=[new_markdown_cell(f"# {name}"), new_code_cell("1 + 1")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        if sources:
            nb.metadata["decentralisation"] = {"sources": sources, "why": "real data only"}
        nbformat.write(nb, tmp_path / name)
    notebooks = [tmp_path / "00_any.ipynb", tmp_path / "01_real.ipynb"]
    index = build_full_report(("statline", "synthetic"), out_dir=tmp_path / "r",
                              notebooks=notebooks, workers=1)
    text = index.read_text()
    assert (index.parent / "statline" / "01_real.html").is_file()
    assert not (index.parent / "synthetic" / "01_real.html").exists()
    assert (index.parent / "synthetic" / "00_any.html").is_file()
    assert text.count("Not run here: 01_real (real data only)") == 1
    assert text.index("Not run here") > text.index("SYNTHETIC DATA")


def test_one_report_has_a_real_and_a_synthetic_section(tmp_path):
    from analysis.reporting.report import build_full_report

    quick = [n for n in ALL if n.name.startswith("00_")]
    index = build_full_report(("statline", "synthetic"), out_dir=tmp_path / "r", notebooks=quick)
    text = index.read_text()
    real, synthetic = text.index("REAL CBS DATA"), text.index("SYNTHETIC DATA")
    assert real < synthetic
    assert "data/raw/statline/manifest.json" in text and "82354NED" in text and "84134NED" in text
    for source in ("statline", "synthetic"):
        assert (index.parent / source / "00_quickstart.html").is_file()
        assert f'href="{source}/00_quickstart.html"' in text
    real_page = (index.parent / "statline" / "00_quickstart.html").read_text()
    assert "REAL CBS DATA" in real_page and "real CBS data" in real_page


def test_each_source_names_outcomes_its_panel_has():
    from analysis.data import schema
    from analysis.reporting.report import default_outcomes

    for source in ("synthetic", "statline", "cbs"):
        assert set(default_outcomes(source)) <= set(schema.OUTCOMES)
    assert "youth_care_per_1000_0_22" in default_outcomes("statline")


def test_stored_real_copies_come_from_the_notebooks_with_source_statline():
    for notebook in ALL:
        copy = NOTEBOOKS / "real" / notebook.name
        assert copy.is_file(), f"{copy} missing: run `make notebooks`"
        nb = nbformat.read(copy, as_version=4)
        assert "REAL CBS DATA" in nb.cells[0].source
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and 'source = "statline"' in injected[0].source
        source = [c.source for c in nbformat.read(notebook, as_version=4).cells]
        assert [c.source for c in nb.cells if "injected-parameters" not in
                c.metadata.get("tags", [])][1:] == source, f"{copy} is stale: run `make notebooks`"
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert any(FINDING_MIME in o.get("data", {}) for o in outputs), copy.name
