"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


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
    half-new directory that a later run could trust (its manifest is missing).
    """
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    staging.chmod(0o777 & ~current_umask())  # mkdtemp made it 0700
    if target.exists():
        target.rename(old)
    staging.rename(target)
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
