"""``python -m analysis report``: execute the notebooks and render a browsable HTML report.

Each notebook in ``notebooks/`` is executed with papermill (its ``parameters`` cell
receives source, boundary year, outcomes and threshold), several at once on the
available cores (``analysis.execute``), rendered to HTML with
nbconvert (figures embedded), and listed on an index page with its title, its one-line
finding and its first figure. Everything is written to a staging folder first and
swapped into ``data/processed/report/`` at the end, so a failed run never leaves a
half report behind.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import html
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from analysis import paths, schema
from analysis.io import replace_directory

NOTEBOOKS = paths.ROOT / "notebooks"
FINDING_MIME = "application/vnd.decentralisation.finding+json"
KERNEL = "python3"


class FindingDisplay:
    """A notebook's one-line finding; the report puts it on the index page."""

    def __init__(self, text: str) -> None:
        self.text = " ".join(text.split())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {
            "text/plain": f"Finding: {self.text}",
            "text/markdown": f"**Finding:** {self.text}",
            FINDING_MIME: {"finding": self.text},
        }


def finding(text: str) -> FindingDisplay:
    """Mark the one-line finding of a notebook (display it as a cell's last value)."""
    return FindingDisplay(text)


@dataclass(frozen=True)
class Page:
    """One executed notebook in the report."""

    name: str
    title: str
    finding: str
    figures: int
    html: Path
    thumbnail: Path | None


def default_parameters(
    source: str = "synthetic",
    boundary_year: int = 2023,
    outcomes: Sequence[str] | None = None,
    threshold: int = schema.LARGE_THRESHOLD,
) -> dict:
    """The parameters every notebook's ``parameters`` cell accepts."""
    return {
        "source": source,
        "boundary_year": int(boundary_year),
        "outcomes": list(outcomes or schema.OUTCOMES),
        "threshold": int(threshold),
    }


def build_report(
    parameters: dict | None = None,
    out_dir: Path | None = None,
    notebooks: Sequence[Path] | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> Path:
    """Execute the notebooks into ``out_dir`` and write ``index.html``; return its path.

    Parameters
    ----------
    parameters : dict, optional
        Passed to every notebook's ``parameters`` cell (see :func:`default_parameters`).
    out_dir : Path, optional
        Default ``data/processed/report``. Replaced as a whole when the run succeeds.
    notebooks : sequence of Path, optional
        Default: every ``notebooks/NN_*.ipynb`` in order.
    workers : int, optional
        Notebooks executed at once; default the available cores.

    Examples
    --------
    >>> index = build_report(default_parameters("synthetic"))  # doctest: +SKIP
    """
    from analysis.execute import execute_notebooks

    parameters = parameters or default_parameters()
    out_dir = Path(out_dir or paths.PROCESSED / "report")
    notebooks = list(notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out_dir.parent))
    try:
        runs = execute_notebooks(
            notebooks, staging, parameters, workers=workers, kernel=KERNEL, progress=progress
        )
        with contextlib.closing(runs):  # on an error, wait for running notebooks first
            # render each notebook as it finishes, while the others still run
            rendered = {source: _render(executed, staging) for source, executed in runs}
        pages = [rendered[Path(source)] for source in notebooks]
        (staging / "index.html").write_text(_index(pages, parameters), encoding="utf-8")
        replace_directory(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "index.html"


def _render(executed: Path, staging: Path) -> Page:
    from nbconvert import HTMLExporter

    notebook = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    page = staging / f"{executed.stem}.html"
    page.write_text(body, encoding="utf-8")
    images = [
        output["data"]["image/png"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    thumbnail = None
    if images:
        thumbnail = staging / "figures" / f"{executed.stem}.png"
        thumbnail.parent.mkdir(exist_ok=True)
        thumbnail.write_bytes(base64.b64decode(images[0]))
    return Page(
        executed.stem,
        _title(notebook, executed.stem),
        _finding(notebook),
        len(images),
        page,
        thumbnail,
    )


def _title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _finding(notebook: nbformat.NotebookNode) -> str:
    found = [
        output["data"][FINDING_MIME]["finding"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if FINDING_MIME in output.get("data", {})
    ]
    return found[-1] if found else ""


def _index(pages: list[Page], parameters: dict) -> str:
    synthetic = parameters.get("source") == "synthetic"
    banner = (
        "SYNTHETIC DATA: every figure below comes from the embedded synthetic default, "
        "not from CBS."
        if synthetic
        else "Data: CBS StatLine (Bron: CBS), harmonised by this toolkit."
    )
    items = []
    for page in pages:
        figure = (
            f'<img src="figures/{page.thumbnail.name}" '
            f'alt="first figure of {html.escape(page.title)}">'
            if page.thumbnail
            else ""
        )
        items.append(
            f'<section><h2><a href="{page.html.name}">{html.escape(page.title)}</a></h2>'
            f"<p>{html.escape(page.finding)}</p><p class=meta>{page.figures} figure(s)</p>"
            f"{figure}</section>"
        )
    params = html.escape(json.dumps(parameters))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>2015 decentralisation: evaluation report</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
.banner {{ background: #fff3cd; border: 1px solid #e0c36a; padding: .6rem; }}
section {{ border-top: 1px solid #ccc; padding: .5rem 0; }}
img {{ max-width: 100%; }} .meta {{ color: #666; font-size: small; }}
</style></head><body>
<h1>What did the 2015 decentralisation do?</h1>
<p class="banner">{html.escape(banner)}</p>
<p class=meta>Parameters: {params}</p>
{"".join(items)}
</body></html>
"""


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    """``python -m analysis report``; also makes ``run`` end with the report."""
    parser = sub.add_parser("report", help="execute the notebooks into an HTML report")
    parser.add_argument("--source", choices=["synthetic", "cbs"], default="synthetic")
    parser.add_argument("--boundary-year", type=int, default=2023)
    parser.add_argument("--threshold", type=int, default=schema.LARGE_THRESHOLD)
    parser.add_argument(
        "--outcomes", nargs="+", choices=list(schema.OUTCOMES), default=list(schema.OUTCOMES)
    )
    parser.add_argument(
        "--report-dir", type=Path, default=None, help="default data/processed/report"
    )
    parser.set_defaults(handler=cmd_report)
    if "run" in sub.choices:
        run = sub.choices["run"]
        run.add_argument(
            "--no-report", action="store_true", help="stop after the summary, skip the notebooks"
        )
        run.set_defaults(after_run=_report_after_run)


def cmd_report(args: argparse.Namespace) -> int:
    parameters = default_parameters(
        args.source,
        args.boundary_year,
        getattr(args, "outcomes", None),
        getattr(args, "threshold", schema.LARGE_THRESHOLD),
    )
    from analysis.build import read_panel
    from analysis.execute import NotebookFailed

    # Build the panel here if it is missing or stale (a no-op when it is up to date), so
    # the notebooks running side by side do not each build it.
    read_panel(args.source, args.boundary_year)
    print(f"executing the notebooks with {json.dumps(parameters)} ...", flush=True)
    try:
        index = build_report(parameters, out_dir=getattr(args, "report_dir", None), progress=True)
    except NotebookFailed as exc:
        print(f"error: {exc}; no report was written", file=sys.stderr)
        return 2
    print(f"report index: {index}")
    args.report_index = index  # for the closing summary of ``run``
    return 0


def _report_after_run(args: argparse.Namespace) -> int:
    if args.no_report:
        return 0
    return cmd_report(args)
