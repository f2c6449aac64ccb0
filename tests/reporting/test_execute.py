"""Notebooks executed side by side, over an encrypted kernel transport, with quiet output.

Parallelism is asserted by behaviour, not by time: two notebooks that each wait for the
other's file can only both finish when they run at the same time.
"""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.reporting.execute import NotebookFailed, _Progress, execute_notebooks

pytestmark = pytest.mark.timeout(300)

WAIT_FOR = """
import pathlib, time
pathlib.Path(r"{folder}", "{me}").touch()
deadline = time.monotonic() + 120
while not pathlib.Path(r"{folder}", "{other}").exists():
    assert time.monotonic() < deadline, "the other notebook never ran alongside"
    time.sleep(0.05)
"""

ENCRYPTED = """
from ipykernel.kernelapp import IPKernelApp
assert IPKernelApp.instance().curve_secretkey is not None, "unencrypted transport"
"""


def _notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook(cells=[new_markdown_cell(f"# {path.stem}")])
    nb.cells += [new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_two_notebooks_run_at_once_over_an_encrypted_transport(tmp_path, capfd):
    out = tmp_path / "out"
    out.mkdir()
    first = _notebook(
        tmp_path / "00_a.ipynb", WAIT_FOR.format(folder=tmp_path, me="a", other="b"), ENCRYPTED
    )
    second = _notebook(
        tmp_path / "01_b.ipynb", WAIT_FOR.format(folder=tmp_path, me="b", other="a"), ENCRYPTED
    )
    done = list(execute_notebooks([first, second], out, {}, workers=2, progress=True))
    assert sorted(source.name for source, _ in done) == ["00_a.ipynb", "01_b.ipynb"]
    for _, executed in done:
        nb = nbformat.read(executed, as_version=4)
        assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))
    err = capfd.readouterr().err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 2, err  # one line per notebook, no progress bar off a terminal
    assert all("executed 0" in line for line in lines)


def test_a_failing_notebook_is_one_line_naming_notebook_cell_and_error(tmp_path):
    good = _notebook(tmp_path / "00_good.ipynb", "x = 1")
    bad = _notebook(tmp_path / "01_bad.ipynb", "y = 2", "{}['missing']")
    with pytest.raises(NotebookFailed) as err:
        list(execute_notebooks([good, bad], tmp_path, {}, workers=2))
    message = str(err.value)
    assert "\n" not in message
    assert message == "notebook 01_bad.ipynb failed in cell In [2]: KeyError: 'missing'"


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        progress = _Progress(2, True, stream)
        progress.done(Path("00_a.ipynb"), 1.0)
        progress.done(Path("01_b.ipynb"), 2.0)
        progress.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].endswith("executed 01_b (2/2, 2.0 s)")
    assert "\r" not in log.getvalue()
    assert "notebooks: 100%" in terminal.getvalue() and "\r" in terminal.getvalue()
    quiet = io.StringIO()
    _Progress(1, False, quiet).done(Path("00_a.ipynb"), 1.0)
    assert quiet.getvalue() == ""
