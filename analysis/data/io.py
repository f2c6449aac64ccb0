"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the content hash still guards
    fcntl = None


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result into ``path`` (same directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp made it 0600
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
    return path


def sweep_temporaries(path: str | Path) -> list[Path]:
    """Remove what killed :func:`write_atomic` calls for ``path`` left beside it.

    Only files named exactly as :func:`write_atomic` names its temporaries for this
    ``path`` (``.<name>.<8 random characters>.tmp``); call it while holding the lock that
    every writer of ``path`` takes (:func:`file_lock`), so none is a write in progress.
    """
    path = Path(path)
    own = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")
    removed = []
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        if own.fullmatch(tmp.name) and tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def file_lock(path: str | Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (created if absent) while the block runs.

    Writers take it exclusively, readers shared, so a reader never sees one writer's
    file beside another's. Where the lock file cannot be created (a read-only folder)
    or ``fcntl`` is missing, the block runs unlocked.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    except OSError:
        if not shared:
            raise
        fd = None
    try:
        if fd is not None and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing drops the lock


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    return write_atomic(path, write)


def replace_directory(staging: Path, target: Path) -> None:
    """Swap a complete ``staging`` directory in for ``target`` (same parent).

    Between the two renames ``target`` does not exist, so a crash there leaves no
    half-new directory that a later run could trust (its manifest is missing). The old
    ``target`` is moved into a fresh hidden folder of its own before it is removed, so
    nothing else beside it (whatever its name) is ever deleted.
    """
    staging.chmod(0o777 & ~current_umask())  # mkdtemp made it 0700
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        target.rename(old / target.name)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None:  # put the old one back: never leave neither
            (old / target.name).rename(target)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def current_umask() -> int:
    """The process's umask, so toolkit files get the modes any other file would get."""
    try:  # Linux reports it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere reading it means setting it: put it straight back
    os.umask(mask)
    return mask


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(folders, pattern: str = "*") -> str:
    """One sha256 over the names (relative, so a clone elsewhere agrees) and contents of
    every file under ``folders`` matching ``pattern`` (``__pycache__`` left out)."""
    files = sorted(
        (f.name, str(p.relative_to(f)), p)
        for f in map(Path, folders)
        if f.is_dir()
        for p in f.rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    )
    h = hashlib.sha256()
    for top, rel, p in files:
        for part in (f"{top}/{rel}".encode(), p.read_bytes()):
            h.update(hashlib.sha256(part).digest())  # framed: no two splits hash alike
    return h.hexdigest()


def package_sha256() -> str:
    """The sha256 of every ``.py`` file of the ``analysis`` package (its code)."""
    return files_sha256([Path(__file__).resolve().parents[1]], "*.py")
