"""Staging folders of CBS fetches: marked, locked, removed when a fetch fails or is stopped.

A fetch writes every response into ``<table>/<query-key>.partial/`` and swaps that folder
in for the cached fetch only when complete. The folder carries a marker file
(:data:`MARKER`) that the running fetch holds an exclusive ``flock`` on. The lock dies
with the process, however it ends (even SIGKILL), so a later fetch can tell an orphan
from a fetch still running: a ``*.partial`` folder with the marker and no lock holder is
an orphan and is removed; folders without the marker are never touched, whoever made
them. Where ``fcntl`` is missing (Windows) orphans are only removed by the next fetch of
the same query.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from analysis.data.ownership import ForeignFolderError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

SUFFIX = ".partial"
MARKER = ".decentralisation-fetch-staging"


class FetchStaging:
    """The staging folder of one fetch of ``target``; a context manager.

    On a normal exit the caller has called :meth:`commit`; on any other exit (an error,
    KeyboardInterrupt, SIGTERM turned into SystemExit by :func:`sigterm_as_exit`) the
    folder is removed, and so is the table folder when this fetch created it and it is
    left empty.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with FetchStaging(root / "T1" / "v4-abc") as staging:
    ...     _ = (staging.path / "page.json").write_text("{}")
    ...     staging.commit(lambda path: path.rename(root / "T1" / "v4-abc"))
    >>> sorted(p.name for p in (root / "T1" / "v4-abc").iterdir())
    ['page.json']
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.with_name(target.name + SUFFIX)
        self._created_parent = not target.parent.exists()
        self._lock: int | None = None
        self._committed = False

    def __enter__(self) -> FetchStaging:
        if self.path.exists():  # an earlier fetch of this query stopped half-way
            if not (self.path / MARKER).is_file():  # not a fetch's: never removed
                raise ForeignFolderError(
                    f"{self.path} is in the way of this fetch's staging folder and was not "
                    "made by a fetch; nothing was written: move it elsewhere"
                )
            if _is_locked(self.path / MARKER):
                raise BlockingIOError(
                    f"another fetch of the same table and filters is running "
                    f"(its staging folder {self.path} is locked); wait for it to finish"
                )
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        marker = self.path / MARKER
        self._lock = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
        if fcntl is not None:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        info = {"pid": os.getpid(), "target": self.target.name}
        os.write(self._lock, json.dumps(info).encode())
        return self

    def commit(self, swap: Callable[[Path], None]) -> None:
        """Unmark the complete folder and let ``swap`` move it into place."""
        self._release()
        (self.path / MARKER).unlink()
        swap(self.path)
        self._committed = True

    def __exit__(self, *exc: object) -> None:
        self._release()
        if not self._committed:
            shutil.rmtree(self.path, ignore_errors=True)
            if self._created_parent:
                _remove_if_empty(self.target.parent)

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor drops the flock
            self._lock = None


def sweep_orphans(raw_dir: Path, report: Callable[[str], None]) -> list[Path]:
    """Remove the staging folders that fetches killed earlier left in ``raw_dir``.

    Only ``<table>/*.partial`` folders holding :data:`MARKER`, whose lock no running
    process holds, are removed (with a table folder they leave empty). Returns them.
    """
    if fcntl is None or not raw_dir.is_dir():
        return []
    removed = []
    for folder in sorted(raw_dir.glob(f"*/*{SUFFIX}")):
        marker = folder / MARKER
        if not folder.is_dir() or folder.is_symlink() or not marker.is_file():
            continue
        if _is_locked(marker):
            continue  # a fetch running now
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(folder.parent)
        report(f"removed the staging folder of an interrupted fetch: {folder}")
        removed.append(folder)
    return removed


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while the block runs, so its cleanup runs.

    Python's default for SIGTERM ends the process at once, skipping ``finally``; a
    ``kill`` or a stopped container would then leave the staging folder behind. Only in
    the main thread, and only when nobody installed a handler of their own.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _is_locked(marker: Path) -> bool:
    """True when a live process holds the marker's lock."""
    if fcntl is None or not marker.is_file():
        return False
    fd = os.open(marker, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails, harmlessly, when anything is in it
