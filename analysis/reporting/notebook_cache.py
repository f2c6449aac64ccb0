"""Executed notebooks kept by their inputs, so a run re-executes only what changed.

A notebook's outputs are a function of its code, its parameters, the data it reads,
the package's code and the installed environment. :class:`NotebookCache` hashes all of
them into one key and keeps the executed notebook under ``data/processed/notebook_cache``
with that key inside it. A later run whose key is the same reuses the stored notebook
instead of starting a kernel; any change (a cell, a parameter, a data file, a line of
``analysis/``, a package version) gives another key, and the notebook is executed
again. The idea is jupyter-cache's (Jupyter Book), with the package and data added to
the key, because here they change more often than the notebooks do.

What the key covers:

* the notebook's cells (type and source; stored outputs are ignored);
* the parameters papermill injects, and the kernel name;
* every file of ``data/raw/<source>/`` and ``data/examples/``, and the panel file and
  sidecar the notebook reads (``data/processed/panel_<source>_<year>.*``);
* every ``.py`` file of the ``analysis`` package;
* the Python version and the name and version of every installed distribution.

Writes are atomic and the key travels inside the stored notebook, so an interrupted run
never leaves a notebook that a later run could take for another key's.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from analysis.data import paths
from analysis.data.io import files_sha256, package_sha256, write_bytes_atomic
from analysis.data.ownership import claim

__all__ = ["NotebookCache"]

FOLDER = "notebook_cache"
KEY = "decentralisation_inputs_sha256"  # notebook metadata entry holding the key
PACKAGE = Path(__file__).resolve().parents[1]  # the analysis package


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())  # framed: no two splits hash alike
    return h.hexdigest()


def _files_digest(folders: Iterable[Path], pattern: str = "*") -> str:
    """Names (relative: a clone elsewhere has the same key) and contents of every file."""
    return files_sha256(folders, pattern)


@cache
def _package_digest() -> str:
    return package_sha256()


@cache
def _environment_digest() -> str:
    installed = sorted(
        f"{d.metadata['Name']}=={d.version}".lower() for d in metadata.distributions()
    )
    return _digest([sys.version.encode(), *(name.encode() for name in installed)])


def _cells_digest(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return _digest(f"{c['cell_type']}\0{''.join(c['source'])}".encode() for c in cells)


@dataclass
class NotebookCache:
    """Executed notebooks under ``folder``, reused while their inputs are unchanged.

    Parameters
    ----------
    folder : Path, optional
        Default ``data/processed/notebook_cache``.

    Examples
    --------
    >>> import tempfile, nbformat
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> nbformat.write(nbformat.v4.new_notebook(), tmp / "nb.ipynb")
    >>> cache, params = NotebookCache(tmp / "cache"), {"source": "synthetic"}
    >>> cache.restore(tmp / "nb.ipynb", tmp / "out.ipynb", params, "python3")  # nothing stored
    False
    >>> cache.store(tmp / "nb.ipynb", tmp / "nb.ipynb", params, "python3")
    >>> cache.restore(tmp / "nb.ipynb", tmp / "out.ipynb", params, "python3")  # inputs unchanged
    True
    """

    folder: Path = field(default_factory=lambda: paths.PROCESSED / FOLDER)
    _data: dict[tuple, str] = field(default_factory=dict, repr=False)

    def key(self, notebook: Path, parameters: Mapping[str, object], kernel: str) -> str:
        """The sha256 of everything the executed notebook's outputs depend on."""
        return _digest(
            [
                _cells_digest(notebook).encode(),
                json.dumps(dict(parameters), sort_keys=True, default=str).encode(),
                kernel.encode(),
                self._data_digest(parameters).encode(),
                _package_digest().encode(),
                _environment_digest().encode(),
            ]
        )

    def _data_digest(self, parameters: Mapping[str, object]) -> str:
        source = str(parameters.get("source", ""))
        year = str(parameters.get("boundary_year", ""))
        if (source, year) not in self._data:
            stem = paths.PROCESSED / f"panel_{source}_{year}"
            panel = [stem.with_suffix(".parquet"), stem.with_suffix(".json")]
            self._data[source, year] = _digest(
                [
                    _files_digest([paths.RAW / source, paths.ROOT / "data" / "examples"]).encode(),
                    *(p.read_bytes() if p.is_file() else b"absent" for p in panel),
                ]
            )
        return self._data[source, year]

    def _path(self, notebook: Path, parameters: Mapping[str, object]) -> Path:
        return self.folder / f"{parameters.get('source', 'default')}-{notebook.name}"

    def restore(
        self, notebook: Path, target: Path, parameters: Mapping[str, object], kernel: str
    ) -> bool:
        """Write the stored execution to ``target`` if its key matches; say whether it did."""
        stored = self._path(notebook, parameters)
        if not stored.is_file():
            return False
        try:
            content = json.loads(stored.read_text(encoding="utf-8"))
        except ValueError:
            return False  # not a notebook the cache wrote whole: execute again
        if content.get("metadata", {}).pop(KEY, None) != self.key(notebook, parameters, kernel):
            return False
        write_bytes_atomic(target, _notebook_bytes(content))
        return True

    def store(
        self, notebook: Path, executed: Path, parameters: Mapping[str, object], kernel: str
    ) -> None:
        """Keep ``executed`` (the run of ``notebook`` with ``parameters``) with its key."""
        content = json.loads(executed.read_text(encoding="utf-8"))
        content.setdefault("metadata", {})[KEY] = self.key(notebook, parameters, kernel)
        claim(self.folder)
        write_bytes_atomic(self._path(notebook, parameters), _notebook_bytes(content))


def _notebook_bytes(content: dict) -> bytes:
    return (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
