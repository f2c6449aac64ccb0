"""A notebook is re-executed exactly when one of its inputs changed, never otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from analysis.data import paths
from analysis.reporting import notebook_cache
from analysis.reporting.execute import execute_notebooks
from analysis.reporting.notebook_cache import KEY, NotebookCache

pytestmark = pytest.mark.timeout(300)

# A fresh random number on every execution: equal outputs mean the run was reused.
DRAW = "# parameters\nsource = 'synthetic'\nboundary_year = 2023\n"
SHOW = "import secrets\nprint(source, boundary_year, secrets.token_hex(8))"


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    """A data folder of its own: raw files and a panel the key must follow."""
    root = tmp_path / "data"
    (root / "raw" / "synthetic").mkdir(parents=True)
    (root / "raw" / "synthetic" / "table.json").write_text("{}")
    (root / "processed").mkdir()
    (root / "processed" / "panel_synthetic_2023.parquet").write_bytes(b"panel v1")
    monkeypatch.setattr(paths, "RAW", root / "raw")
    monkeypatch.setattr(paths, "PROCESSED", root / "processed")
    return root


def _notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _printed(executed: Path) -> str:
    nb = json.loads(executed.read_text())
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def _run(notebook: Path, out: Path, parameters: dict, capfd) -> tuple[str, str]:
    out.mkdir(exist_ok=True)
    [(_, executed)] = list(
        execute_notebooks([notebook], out, parameters, progress=True, cache=NotebookCache())
    )
    return _printed(executed), capfd.readouterr().err


def test_unchanged_inputs_reuse_the_run_and_any_change_executes_again(tmp_path, data, capfd):
    notebook = _notebook(tmp_path / "00_draw.ipynb", DRAW, SHOW)
    params = {"source": "synthetic", "boundary_year": 2023}
    first, said = _run(notebook, tmp_path / "a", params, capfd)
    assert "executed 00_draw (1/1, synthetic," in said
    again, said = _run(notebook, tmp_path / "b", params, capfd)
    assert again == first and "reused 00_draw (1/1, synthetic, inputs unchanged)" in said
    stored = data / "processed" / "notebook_cache" / "synthetic-00_draw.ipynb"
    assert len(json.loads(stored.read_text())["metadata"][KEY]) == 64
    assert KEY not in json.loads((tmp_path / "b" / "00_draw.ipynb").read_text())["metadata"]

    (data / "processed" / "panel_synthetic_2023.parquet").write_bytes(b"panel v2")
    after_panel, said = _run(notebook, tmp_path / "c", params, capfd)
    assert after_panel != first and "executed" in said

    (data / "raw" / "synthetic" / "table.json").write_text('{"changed": 1}')
    after_raw, _ = _run(notebook, tmp_path / "d", params, capfd)
    assert after_raw != after_panel

    after_parameter, _ = _run(notebook, tmp_path / "e", {**params, "boundary_year": 2022}, capfd)
    assert after_parameter != after_raw

    _notebook(notebook, DRAW, SHOW + "  # an edited cell")
    after_edit, _ = _run(notebook, tmp_path / "f", params, capfd)
    assert after_edit != after_parameter


def test_a_damaged_cache_entry_is_executed_again_and_replaced(tmp_path, data, capfd):
    notebook = _notebook(tmp_path / "00_draw.ipynb", DRAW, SHOW)
    params = {"source": "synthetic", "boundary_year": 2023}
    first, _ = _run(notebook, tmp_path / "a", params, capfd)
    stored = data / "processed" / "notebook_cache" / "synthetic-00_draw.ipynb"
    stored.write_text(stored.read_text()[:100])  # as if cut off (writes are atomic; still)
    second, said = _run(notebook, tmp_path / "b", params, capfd)
    assert second != first and "executed" in said
    assert json.loads(stored.read_text())["metadata"][KEY]


def test_the_key_follows_package_code_and_outputs_do_not_count(tmp_path, data, monkeypatch):
    notebook = _notebook(tmp_path / "00_draw.ipynb", DRAW, SHOW)
    cache, params = NotebookCache(), {"source": "synthetic", "boundary_year": 2023}
    key = cache.key(notebook, params, "python3")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="stored output")]
    nbformat.write(nb, notebook)
    assert cache.key(notebook, params, "python3") == key  # outputs are not inputs
    assert cache.key(notebook, params, "another-kernel") != key
    monkeypatch.setattr(notebook_cache, "_package_digest", lambda: "edited analysis/")
    assert cache.key(notebook, params, "python3") != key


def test_file_digests_do_not_depend_on_where_the_clone_is(tmp_path):
    for where in ("one", "two"):
        (tmp_path / where / "pkg").mkdir(parents=True)
        (tmp_path / where / "pkg" / "m.py").write_text("x = 1\n")
    one = notebook_cache._files_digest([tmp_path / "one" / "pkg"], "*.py")
    assert one == notebook_cache._files_digest([tmp_path / "two" / "pkg"], "*.py")
    (tmp_path / "two" / "pkg" / "m.py").write_text("x = 2\n")
    assert one != notebook_cache._files_digest([tmp_path / "two" / "pkg"], "*.py")
