"""Execute every notebook on the real CBS panel into ``notebooks/real/`` (``make notebooks``).

The copies are the stored outputs that nbval checks for the real data: each is the
parametrised notebook ``notebooks/NN_*.ipynb`` run by papermill with the parameters of
``python -m analysis report --source statline``, so every notebook keeps one source of
logic. Edit the notebook in ``notebooks/``, never its copy, then run this script.
Volatile metadata (timestamps, durations) is removed so a re-run changes only what changed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill
from nbformat.v4 import new_markdown_cell

from analysis.data.io import write_bytes_atomic
from analysis.reporting.execute import kernel_config
from analysis.reporting.report import KERNEL, NOTEBOOKS, default_parameters

OUT = NOTEBOOKS / "real"
BANNER = (
    "**REAL CBS DATA** (CBS StatLine tables vendored in `data/raw/statline/`, files and sha256 in "
    "its `manifest.json`; Bron: CBS, CC BY 4.0). This is `../{name}` executed with "
    "`source = \"statline\"` by `make notebooks` (`scripts/real_notebooks.py`): edit that "
    "notebook, not this copy."
)


def execute(source: Path, parameters: dict) -> nbformat.NotebookNode:
    """Run one notebook with papermill and return it without volatile metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / source.name
        papermill.execute_notebook(
            str(source), str(target), parameters=parameters, kernel_name=KERNEL,
            cwd=str(source.parent), progress_bar=False,
            config=kernel_config(),  # encrypted kernel channels, as `run` and `report` use
        )
        notebook = nbformat.read(target, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    notebook.cells.insert(0, new_markdown_cell(BANNER.format(name=source.name)))
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all NN_*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        notebooks = [n for n in notebooks if any(n.name.startswith(k) for k in args.names)]
    OUT.mkdir(exist_ok=True)
    parameters = default_parameters("statline")
    for source in notebooks:
        print(f"executing {source.name} on statline ...", flush=True)
        notebook = execute(source, parameters)
        write_bytes_atomic(OUT / source.name, nbformat.writes(notebook).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
