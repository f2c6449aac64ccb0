"""Files and folders the toolkit writes get the modes the user's umask gives.

Atomic writes go through ``tempfile.mkstemp`` / ``mkdtemp``, which create 0600 files and
0700 folders whatever the umask: without a fix a colleague in the same group, or a
notebook server running as another user, could not read the panel or the report.
"""

from __future__ import annotations

import os
import stat

import nbformat
import pytest
from cbs_server import CBSServer, v4_table
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.data.build import build_panel
from analysis.data.cbs.api.fetch import Query, fetch_table
from analysis.data.cbs.api.http import RetryPolicy
from analysis.data.io import current_umask, replace_directory, write_bytes_atomic
from analysis.reporting.report import build_report


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_atomic_file_and_replaced_folder_follow_the_umask(tmp_path, umask):
    file = write_bytes_atomic(tmp_path / "a.json", b"{}")
    assert mode(file) == 0o666 & ~umask
    staging = tmp_path / ".staging"
    staging.mkdir(mode=0o700)
    replace_directory(staging, tmp_path / "target")
    assert mode(tmp_path / "target") == 0o777 & ~umask


def test_panel_and_sidecar_are_readable_by_the_group(tmp_path):
    previous = os.umask(0o022)
    try:
        result = build_panel("synthetic", out_dir=tmp_path)
    finally:
        os.umask(previous)
    assert mode(result.path) == 0o644
    assert mode(result.path.with_suffix(".json")) == 0o644


def test_cbs_cache_files_and_folders_are_readable_by_the_group(tmp_path):
    codes = {
        "RegioS": [{"Identifier": "GM0001", "Title": "A"}],
        "Perioden": [{"Identifier": "2015JJ00", "Title": "2015"}],
    }
    rows = [{"Id": 0, "Measure": "M1", "ValueAttribute": "None", "Value": 1.0,
             "StringValue": None, "RegioS": "GM0001", "Perioden": "2015JJ00"}]  # fmt: skip
    previous = os.umask(0o022)
    try:
        with CBSServer() as server:
            v4_table(server, "99991NED", rows, codes, [{"Identifier": "M1", "Title": "Een"}])
            result = fetch_table(
                Query("99991NED", "v4", measures=("M1",)),
                tmp_path,
                base=server.url,
                policy=RetryPolicy(attempts=1, timeout=5.0),
            )
    finally:
        os.umask(previous)
    assert mode(result.directory) == 0o755
    assert mode(result.directory.parent) == 0o755
    for file in result.directory.iterdir():
        assert mode(file) == 0o644, file.name


def test_report_folder_and_files_are_readable_by_the_group(tmp_path):
    notebook = new_notebook(cells=[new_markdown_cell("# Tiny"), new_code_cell("1 + 1")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, tmp_path / "00_tiny.ipynb")
    previous = os.umask(0o022)
    try:
        source = tmp_path / "00_tiny.ipynb"
        index = build_report({}, out_dir=tmp_path / "report", notebooks=[source])
    finally:
        os.umask(previous)
    assert mode(index.parent) == 0o755
    assert mode(index) == 0o644
    assert mode(index.parent / "00_tiny.html") == 0o644
