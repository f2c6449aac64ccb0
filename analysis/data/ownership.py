"""Folders the toolkit owns: it writes only there and never deletes a file it did not create.

Every folder a command writes into (``data/raw/synthetic``, ``data/raw/cbs``,
``data/processed``, a report folder, an ``--out-dir``) is marked with a file
:data:`MARKER` when the toolkit creates it or first writes there. Ownership is that
marker and nothing else: file names that merely look like the toolkit's own
(``figures/``, ``report/``, ``index.html``, ``panel_*.parquet``, ``*.partial``) make no
folder the toolkit's. Before writing, a command calls :func:`check_writable`; a folder
holding anything without the marker makes it stop with one line naming the folder,
before anything is written:

* an absent or empty folder (a fresh clone's ``.gitkeep`` counts as empty) may be used;
* a marked folder may be written into;
* a folder that is *replaced as a whole* (the synthetic default, a report, one cached
  fetch) must hold only files its marker lists (``files``). A user's file dropped in
  there is never deleted.

A folder filled by a version of the toolkit that did not mark its folders is refused
like any other: move its files away (or delete them) and run the command again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from analysis.data.io import write_bytes_atomic

__all__ = ["MARKER", "ForeignFolderError", "check_writable", "claim", "marker_bytes"]

MARKER = ".decentralisation-owned"
# Placeholders that do not make a folder someone's: git's empty-folder convention.
_PLACEHOLDERS = frozenset({".gitkeep"})
_SHOWN = 3  # foreign names quoted in the error line


class ForeignFolderError(ValueError):
    """A command was pointed at a folder holding files the toolkit did not create."""


def marker_bytes(files: Iterable[str] = ()) -> bytes:
    """Contents of the marker; ``files`` lists what a replaced-as-a-whole folder holds.

    Deterministic (no time stamps), so a folder written twice is byte-identical.
    """
    payload: dict[str, object] = {
        "created_by": "decentralisation-analysis (python -m analysis)",
        "meaning": "this folder is written by the toolkit; do not keep your own files here",
    }
    listed = sorted(set(files) - {MARKER})
    if listed:
        payload["files"] = listed
    return (json.dumps(payload, indent=1) + "\n").encode()


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in _PLACEHOLDERS)


def _listed_files(folder: Path) -> set[str] | None:
    """Names the toolkit says it wrote in ``folder``; None when the folder has no marker."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        listed = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
    except (ValueError, AttributeError, UnicodeDecodeError):
        return set()  # a marker the toolkit cannot read still marks ownership
    return {str(name) for name in listed} if isinstance(listed, list) else set()


def _refuse(folder: Path, foreign: list[str], why: str) -> ForeignFolderError:
    shown = ", ".join(foreign[:_SHOWN]) + (
        f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
    )
    return ForeignFolderError(
        f"{folder} holds files this toolkit did not create ({shown}){why}; nothing was "
        "written: choose a new or empty folder, or move those files elsewhere"
    )


def check_writable(
    folder: str | Path, *, replaced: bool = False, allowed: Iterable[str] | None = None
) -> Path:
    """Raise :class:`ForeignFolderError` unless the toolkit may write into ``folder``.

    Parameters
    ----------
    folder : str or Path
        The folder a command is about to write into.
    replaced : bool
        The command swaps the whole folder for a new one (which deletes what is in it):
        then every file there must be one the toolkit listed as its own.
    allowed : iterable of str, optional
        Further names the caller knows it wrote there (e.g. the files a cached fetch's
        own manifest lists).

    Returns
    -------
    Path
        ``folder``, unchanged; nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> try:
    ...     check_writable(folder)
    ... except ForeignFolderError as err:
    ...     print(str(err).split(" (")[1].split(")")[0])
    notes.txt
    """
    folder = Path(folder)
    if not folder.exists():
        return folder
    if not folder.is_dir():
        raise ForeignFolderError(f"{folder} is a file, not a folder; nothing was written")
    entries = _entries(folder)
    if not entries:
        return folder
    listed = _listed_files(folder)
    if allowed is not None:
        listed = (listed or set()) | set(allowed)
    if listed is None:  # no marker: every name in it is the user's
        raise _refuse(folder, entries, "")
    if replaced:
        foreign = [name for name in entries if name not in listed and name != MARKER]
        if foreign:
            raise _refuse(folder, foreign, " and writing here replaces the whole folder")
    return folder


def claim(folder: str | Path) -> Path:
    """Check ``folder`` (:func:`check_writable`), create it if absent and mark it owned.

    Call it just before the first write, so a command that fails earlier leaves an
    absent folder absent. An already marked folder keeps its marker.
    """
    folder = check_writable(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if _listed_files(folder) is None:
        write_bytes_atomic(folder / MARKER, marker_bytes())
    return folder
