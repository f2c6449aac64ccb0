"""A stored panel and its sidecar are one unit: never paired across builds, never half-swept.

Issue 20: the parquet and the sidecar were written one after the other without a lock; a
build killed between the two writes, or two concurrent builds, paired a parquet built
with one baseline year with the sidecar of another, and ``run`` reused it as up to date.
Killed builds left 0-byte ``.tmp`` files that were never swept.
"""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest
from conftest import ROOT

from analysis.data import build as build_module
from analysis.data.build import build_panel, read_current_panel, read_panel, write_panel

COMMITTED_RAW = ROOT / "data" / "raw" / "synthetic"
fcntl = pytest.importorskip("fcntl", reason="the build lock needs fcntl (POSIX)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build with the default baseline (2014) and a copy of its pair."""
    out = tmp_path_factory.mktemp("processed")
    result = build_panel("synthetic", raw_dir=COMMITTED_RAW, out_dir=out)
    keep = tmp_path_factory.mktemp("kept")
    for suffix in (".parquet", ".json"):
        shutil.copy2(result.path.with_suffix(suffix), keep / f"pair{suffix}")
    return result, keep


def _copy(built, tmp_path):
    result, keep = built
    out = tmp_path / "processed"
    shutil.copytree(result.path.parent, out)
    return out, out / result.path.name, keep


def test_a_build_killed_between_parquet_and_sidecar_is_not_reused(built, tmp_path, monkeypatch):
    out, path, _ = _copy(built, tmp_path)
    assert read_current_panel("synthetic", out_dir=out) is not None  # the pair as built

    real = build_module.write_bytes_atomic

    def killed(target, data):  # the process dies after the parquet, before the sidecar
        if str(target).endswith(".json") and "panel_" in str(target):
            raise KeyboardInterrupt
        return real(target, data)

    monkeypatch.setattr(build_module, "write_bytes_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        build_panel("synthetic", raw_dir=COMMITTED_RAW, out_dir=out, baseline_year=2013)
    monkeypatch.undo()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["baseline_year"] == 2014  # the old sidecar beside the 2013 parquet
    assert read_current_panel("synthetic", out_dir=out) is None  # not trusted: rebuilt
    assert read_current_panel("synthetic", out_dir=out, baseline_year=2013) is None


def test_a_parquet_of_another_build_beside_the_sidecar_is_rebuilt_on_read(built, tmp_path):
    out, path, keep = _copy(built, tmp_path)
    build_panel("synthetic", raw_dir=COMMITTED_RAW, out_dir=out, baseline_year=2013)
    shutil.copy2(keep / "pair.parquet", path)  # a concurrent 2014 build's parquet
    assert read_current_panel("synthetic", out_dir=out, baseline_year=2013) is None
    panel = read_panel("synthetic", out_dir=out)  # rebuilt, then read as one pair
    metadata = json.loads(path.with_suffix(".json").read_text())
    assert panel.attrs["baseline_year"] == metadata["baseline_year"] == 2014
    assert metadata["panel_sha256"] == build_module.sha256_file(path)


def test_concurrent_builds_take_turns_on_the_lock(built, tmp_path):
    out, path, _ = _copy(built, tmp_path)
    panel, metadata = built[0].panel, {**built[0].metadata, "baseline_year": 2013}
    lock = os.open(out / f".{path.stem}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # another build is writing this panel
    done = threading.Event()
    worker = threading.Thread(target=lambda: (write_panel(panel, metadata, out), done.set()))
    worker.start()
    try:
        assert not done.wait(1.0)  # this build waits while the other one holds the lock
        assert json.loads(path.with_suffix(".json").read_text())["baseline_year"] == 2014
    finally:
        os.close(lock)
    worker.join(30)
    assert done.is_set()
    assert json.loads(path.with_suffix(".json").read_text())["baseline_year"] == 2013


def test_stale_temporaries_of_killed_builds_are_swept_and_nothing_else(built, tmp_path):
    out, path, _ = _copy(built, tmp_path)
    stale = [out / f".{path.name}.ab12cd_9.tmp", out / f".{path.stem}.json.zz99xx00.tmp"]
    others = [out / ".notes.tmp", out / f".{path.name}.mine.tmp", out / "keep.tmp"]
    for file in stale + others:
        file.write_bytes(b"")
    build_panel("synthetic", raw_dir=COMMITTED_RAW, out_dir=out)
    assert [f.exists() for f in stale] == [False, False]
    assert all(f.exists() for f in others)
