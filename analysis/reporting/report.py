"""``python -m analysis report``: execute the notebooks and render a browsable HTML report.

Each notebook in ``notebooks/`` is executed with papermill (its ``parameters`` cell
receives source, boundary year, outcomes and threshold), several at once on the
available cores (``analysis.reporting.execute``), rendered to HTML with
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.data import paths, schema
from analysis.data.io import replace_directory, write_bytes_atomic
from analysis.data.ownership import MARKER, check_writable, marker_bytes
from analysis.reporting.flags import screening_html
from analysis.reporting.report_index import (
    _full_index,
    _not_run,
    _page,
    page_section,
    source_banner,
)

if TYPE_CHECKING:
    # nbformat costs 1.5 s to import (its JSON-schema validator), and every notebook
    # kernel imports this module (default_outcomes): only _render imports it
    import nbformat

    from analysis.reporting.notebook_cache import NotebookCache

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
            # escaped: nbconvert renders a markdown output's raw HTML (attributes included)
            "text/markdown": f"**Finding:** {html.escape(self.text, quote=False)}",
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


# The rates each source's notebooks show by default (the real bundle has no 18-64
# population and no social-domain spending; it has costs and Wmo spending instead).
SOURCE_OUTCOMES = {
    "synthetic": [
        "bijstand_per_1000", "youth_care_per_1000", "wmo_per_1000", "spending_per_inhabitant",
    ],
    "statline": [
        "youth_care_per_1000_0_22", "youth_care_cost_per_inhabitant", "wmo_per_1000",
        "wmo_spending_per_inhabitant", "bijstand_per_1000_15plus",
    ],
}
# `report --source all` and `run`: one report, the real sections first.
ALL_SOURCES = ("statline", "synthetic")


def notebook_sources(path: Path) -> list[str] | None:
    """The sources a notebook runs on (``metadata.decentralisation.sources``); None: all.

    A real-data-only notebook (e.g. 10_lighter_care: the forms of youth care exist only
    in the vendored StatLine bundle) names ``["statline"]``; the report leaves it out of
    the other sections and says why (``metadata.decentralisation.why``).
    """
    meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
    return meta.get("decentralisation", {}).get("sources")


def runs_on(path: Path, source: str) -> bool:
    """Whether the report executes notebook ``path`` for ``source``."""
    sources = notebook_sources(path)
    return sources is None or source in sources


def _skipped(notebooks: Sequence[Path], source: str) -> list[tuple[str, str]]:
    """``(name, why)`` of each notebook the report does not run for ``source``."""
    return [(Path(p).stem, json.loads(Path(p).read_text(encoding="utf-8"))["metadata"]
             ["decentralisation"].get("why", "")) for p in notebooks if not runs_on(p, source)]


def default_outcomes(source: str) -> list[str]:
    """The outcomes a source's notebooks show when the ``outcomes`` parameter is None."""
    return list(SOURCE_OUTCOMES.get(source, SOURCE_OUTCOMES["synthetic"]))


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
        "outcomes": list(outcomes or default_outcomes(source)),
        "threshold": int(threshold),
    }


def build_report(
    parameters: dict | None = None,
    out_dir: Path | None = None,
    notebooks: Sequence[Path] | None = None,
    progress: bool = False,
    workers: int | None = None,
    cache: NotebookCache | None = None,
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
    cache : NotebookCache, optional
        Reuse executions whose inputs are unchanged (``run`` and ``report`` pass one).

    Raises
    ------
    ReportIncomplete
        After writing the report, when notebooks failed: each is a section saying why.

    Examples
    --------
    >>> index = build_report(default_parameters("synthetic"))  # doctest: +SKIP
    """
    from analysis.reporting.execute import execute_notebooks

    parameters = parameters or default_parameters()
    out_dir = Path(out_dir or paths.PROCESSED / "report")
    notebooks = list(notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS}")
    source = parameters.get("source", "synthetic")
    skipped = _skipped(notebooks, source)
    notebooks = [n for n in notebooks if runs_on(n, source)]
    check_writable(out_dir, replaced=True)  # the old report is swapped out as a whole
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out_dir.parent))
    failures: list[tuple[Path, Path, str]] = []
    try:
        runs = execute_notebooks(
            notebooks, staging, parameters, workers=workers, kernel=KERNEL, progress=progress,
            cache=cache, failures=failures,
        )  # fmt: skip
        with contextlib.closing(runs):  # on an error, wait for running notebooks first
            # render each notebook as it finishes, while the others still run
            rendered = {source: _render(executed, staging) for source, executed in runs}
        for source, target, message in failures:
            rendered[Path(source)] = _failed_page(Path(source), target, message)
        _write_section(staging, [rendered[Path(nb)] for nb in notebooks], parameters, skipped)
        replace_directory(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if failures:
        raise ReportIncomplete(out_dir / "index.html", failures)
    return out_dir / "index.html"


class ReportIncomplete(RuntimeError):
    """The report was written, but these notebooks failed (each is a section saying why)."""

    def __init__(self, index: Path, failures: list[tuple[Path, Path, str]]) -> None:
        self.index, self.failures = index, failures
        names = ", ".join(sorted({f"{t.parent.name}/{s.name}" if t.parent.name in ALL_SOURCES
                                  else s.name for s, t, _ in failures}))
        super().__init__(f"{len(failures)} notebook(s) failed: {names}; the report at {index} "
                         "has the others and says why for each (" + failures[0][2] + ")")


def _failed_page(notebook: Path, target: Path, message: str) -> Page:
    """The section of a notebook that failed: its title and why, in place of its outputs."""
    import nbformat

    title = _title(nbformat.read(notebook, as_version=4), notebook.stem)
    page = target.with_suffix(".html")
    page.write_text(_page(f"<h2>{html.escape(title)}: FAILED</h2><p>This notebook failed, "
                          f"so it shows nothing; the other notebooks of the report are "
                          f"complete.</p><pre>{html.escape(message)}</pre>"), encoding="utf-8")
    target.unlink(missing_ok=True)  # a half-executed notebook is not part of the report
    return Page(notebook.stem, title, f"FAILED: {message}", 0, page, None)


def _write_section(folder: Path, pages: list[Page], parameters: dict,
                   skipped: Sequence[tuple[str, str]] = ()) -> None:
    """A source's index, its pages.json and the marker listing every file it wrote."""
    (folder / "index.html").write_text(_index(pages, parameters, skipped), encoding="utf-8")
    (folder / "pages.json").write_text(_pages_json(pages, parameters, skipped),
                                       encoding="utf-8")
    _mark(folder)


def _mark(staging: Path) -> None:
    """List every file of the report in its marker: only those may be replaced next time."""
    names = {p.name for p in staging.iterdir()}
    write_bytes_atomic(staging / MARKER, marker_bytes(names))


def _render(executed: Path, staging: Path) -> Page:
    import nbformat
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


def _pages_json(pages: list[Page], parameters: dict,
                skipped: Sequence[tuple[str, str]] = ()) -> str:
    rows = [
        {"name": p.name, "title": p.title, "finding": p.finding, "figures": p.figures,
         "html": p.html.name, "thumbnail": p.thumbnail.name if p.thumbnail else None}
        for p in pages
    ]
    left_out = [{"name": name, "why": why} for name, why in skipped]
    return json.dumps({"parameters": parameters, "pages": rows, "not_run": left_out},
                      indent=1) + "\n"


def build_full_report(
    sources: Sequence[str] = ALL_SOURCES,
    out_dir: Path | None = None,
    boundary_year: int = 2023,
    threshold: int = schema.LARGE_THRESHOLD,
    notebooks: Sequence[Path] | None = None,
    progress: bool = False,
    workers: int | None = None,
    cache: NotebookCache | None = None,
) -> Path:
    """One report with a section per source: every notebook run on each, one index.

    Real sections are labelled REAL CBS DATA with the tables and the manifest they
    come from; synthetic sections are labelled SYNTHETIC (their notebooks show the
    truth beside each estimate). Each source's pages go to ``<out_dir>/<source>/``;
    the whole folder is swapped in at the end, so a failure leaves the old report.
    The notebooks of all sources share one pool of ``workers``, the highest-numbered
    (longest) first, and ``cache`` (see :func:`build_report`) skips unchanged ones.
    A notebook that fails becomes a section saying why, the others are written, and
    :class:`ReportIncomplete` (naming the failed ones) is raised once the report is in
    place (as in :func:`build_report`).

    Examples
    --------
    >>> index = build_full_report(("statline", "synthetic"))  # doctest: +SKIP
    """
    from analysis.reporting import headline_summary
    from analysis.reporting.execute import Job, execute_jobs

    out_dir = Path(out_dir or paths.PROCESSED / "report")
    notebooks = list(notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out_dir.parent))
    # the real sections lead with the robustness summary, computed once per build; it
    # needs only the panels, so a thread computes it while the notebooks run (it used to
    # run after them, leaving a core idle for its ~25 s)
    background = ThreadPoolExecutor(max_workers=1)
    try:
        settings = {s: default_parameters(s, boundary_year, None, threshold) for s in sources}
        for source in sources:
            (staging / source).mkdir()
        summaries = {s: background.submit(headline_summary.computed_summary, s, boundary_year)
                     for s in sources if s != "synthetic"}
        # the later notebooks (sensitivity and power, mergers) take longest: start them first
        jobs = [
            Job(notebook, staging / source / notebook.name, settings[source])
            for notebook in reversed(notebooks)
            for source in sources
            if runs_on(notebook, source)
        ]
        failed: list = []
        runs = execute_jobs(
            jobs, workers=workers, kernel=KERNEL, progress=progress, cache=cache, failures=failed
        )
        with contextlib.closing(runs):  # on an error, wait for running notebooks first
            rendered = {
                (job.target.parent.name, job.notebook): _render(job.target, job.target.parent)
                for job in runs
            }
        failures = [(job.notebook, job.target, message) for job, message in failed]
        for notebook, target, message in failures:
            rendered[target.parent.name, notebook] = _failed_page(notebook, target, message)
        sections = []
        for source in sources:
            pages = [rendered[source, nb] for nb in notebooks if runs_on(nb, source)]
            skipped = _skipped(notebooks, source)
            _write_section(staging / source, pages, settings[source], skipped)
            listed = json.loads((staging / source / "pages.json").read_text(encoding="utf-8"))
            sections.append((source, listed["pages"], settings[source], skipped))
        html_of = {s: headline_summary.summary_html(s, boundary_year, staging / s, f.result())
                   for s, f in summaries.items()}
        (staging / "index.html").write_text(_full_index(sections, html_of), encoding="utf-8")
        _mark(staging)
        replace_directory(staging, out_dir)
    finally:
        background.shutdown(wait=True, cancel_futures=True)  # nothing writes after this
        shutil.rmtree(staging, ignore_errors=True)
    if failures:
        raise ReportIncomplete(out_dir / "index.html", failures)
    return out_dir / "index.html"


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


def _index(pages: list[Page], parameters: dict,
           skipped: Sequence[tuple[str, str]] = ()) -> str:
    synthetic = parameters.get("source") == "synthetic"
    banner = (
        "SYNTHETIC DATA: every figure below comes from the embedded synthetic default, "
        "not from CBS."
        if synthetic
        else source_banner(parameters.get("source", "cbs"))
    )
    items = [
        page_section(page.html.name, page.title, page.finding, page.figures,
                     f"figures/{page.thumbnail.name}" if page.thumbnail else None, heading="h2")
        for page in pages
    ]
    params = html.escape(json.dumps(parameters))
    flags = screening_html(parameters.get("source", "cbs"), parameters["boundary_year"])
    return _page(f'<p class="banner">{html.escape(banner)}</p>\n'
                 f"<p class=meta>Parameters: {params}</p>\n{flags}\n"
                 f"{''.join(items)}{_not_run(skipped)}")


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    """``python -m analysis report``; also makes ``run`` end with the report."""
    from analysis.data.build import SOURCES

    parser = sub.add_parser("report", help="execute the notebooks into an HTML report")
    parser.add_argument(
        "--source", choices=["all", *SOURCES], default="all",
        help="all (default): the real CBS bundle and the synthetic default in one report",
    )
    parser.add_argument("--boundary-year", type=int, default=2023)
    parser.add_argument("--threshold", type=int, default=schema.LARGE_THRESHOLD)
    parser.add_argument(
        "--outcomes", nargs="+", choices=list(schema.OUTCOMES), default=None,
        help="one source only: these outcomes instead of the source's own",
    )
    parser.add_argument(
        "--report-dir", type=Path, default=None, help="default data/processed/report"
    )
    from analysis.cli import add_screening_option

    add_screening_option(parser)
    parser.set_defaults(handler=cmd_report)
    if "run" in sub.choices:
        run = sub.choices["run"]
        run.add_argument(
            "--no-report", action="store_true", help="stop after the summary, skip the notebooks"
        )
        run.set_defaults(after_run=_report_after_run)


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.data.build import read_panel
    from analysis.reporting.execute import NotebookFailed
    from analysis.reporting.notebook_cache import NotebookCache

    sources = _sources(args.source)
    check_writable(getattr(args, "report_dir", None) or paths.PROCESSED / "report", replaced=True)
    check_writable(NotebookCache().folder)  # before any notebook runs, not after
    # Build each panel here if it is missing or stale (a no-op when it is up to date), so
    # the notebooks running side by side do not each build it.
    from analysis.cli import screening_settings

    for source in sources:  # built with this --screening when stored otherwise
        read_panel(source, args.boundary_year, screening=screening_settings(args))
    try:
        if len(sources) > 1 or not getattr(args, "outcomes", None):
            print(f"executing the notebooks on {', '.join(sources)} ...", flush=True)
            index = build_full_report(
                sources, out_dir=getattr(args, "report_dir", None),
                boundary_year=args.boundary_year,
                threshold=getattr(args, "threshold", schema.LARGE_THRESHOLD), progress=True,
                cache=NotebookCache(),
            )
        else:
            parameters = default_parameters(
                args.source,
                args.boundary_year,
                args.outcomes,
                getattr(args, "threshold", schema.LARGE_THRESHOLD),
            )
            print(f"executing the notebooks with {json.dumps(parameters)} ...", flush=True)
            index = build_report(
                parameters, out_dir=getattr(args, "report_dir", None), progress=True,
                cache=NotebookCache(),
            )  # fmt: skip
    except ReportIncomplete as exc:
        print(f"error: {exc}", file=sys.stderr)
        args.report_index = exc.index
        return 2
    except NotebookFailed as exc:
        print(f"error: {exc}; no report was written", file=sys.stderr)
        return 2
    print(f"report index: {index}")
    args.report_index = index  # for the closing summary of ``run``
    return 0


def _sources(source: str) -> tuple[str, ...]:
    return ALL_SOURCES if source == "all" else (source,)


def _report_after_run(args: argparse.Namespace) -> int:
    if args.no_report:
        return 0
    return cmd_report(args)
