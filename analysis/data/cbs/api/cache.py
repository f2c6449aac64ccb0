"""The raw CBS cache: responses stored as received, a manifest per fetch, atomic writes.

Layout::

    data/raw/cbs/<table>/<query-key>/
        manifest.json              written last: its presence means the fetch completed
        properties.json ...        metadata and code lists
        observations-page-1.json   data pages, in nextLink order

``<query-key>`` is a short hash of the API, base URL and filters, so a fetch with other
filters never mixes its pages with an earlier one. Every file is written to a temporary
name in the same directory and renamed into place, so an interrupted fetch leaves either
the old complete file or nothing, never half a file; and without a manifest a directory
is not trusted at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analysis.data.io import sha256_file, write_bytes_atomic

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass
class CachedFile:
    """One stored response."""

    name: str  # file name inside the fetch directory
    url: str  # the URL actually requested (with its query string)
    sha256: str
    bytes: int
    rows: int | None  # len(payload["value"]) for a collection, None otherwise


@dataclass
class Manifest:
    """Provenance of one fetch of one table."""

    table: str
    api: str
    base_url: str
    filters: dict[str, object]
    retrieved_at: str  # UTC, ISO 8601
    files: list[CachedFile] = field(default_factory=list)
    data_rows: int = 0  # rows over all data pages
    service_count: int | None = None  # what CBS reported ($count), when it did
    format: int = MANIFEST_FORMAT

    def data_files(self) -> list[CachedFile]:
        prefix = "observations-page-" if self.api == "v4" else "UntypedDataSet-page-"
        return [f for f in self.files if f.name.startswith(prefix)]

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        raw["files"] = [CachedFile(**f) for f in raw.get("files", [])]
        return cls(**raw)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest in ``directory``, or None when there is none (an incomplete fetch)."""
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        return Manifest.from_json(path.read_bytes())
    except (ValueError, TypeError, KeyError):
        return None  # an unreadable manifest is as good as none: refetch


def write_manifest(directory: Path, manifest: Manifest) -> None:
    write_bytes_atomic(directory / MANIFEST, manifest.to_json())


def verify(directory: Path, manifest: Manifest) -> list[str]:
    """Problems with the cached files: each missing file or hash mismatch, named."""
    problems = []
    for entry in manifest.files:
        path = directory / entry.name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != entry.sha256:
            problems.append(f"{path}: sha256 does not match the manifest (changed or corrupt)")
    return problems


def latest_fetch(table_dir: Path) -> tuple[Path, Manifest] | None:
    """The most recently retrieved complete fetch of one table, or None."""
    found = []
    for sub in table_dir.iterdir() if table_dir.is_dir() else ():
        manifest = read_manifest(sub) if sub.is_dir() else None
        if manifest is not None:
            found.append((manifest.retrieved_at, sub, manifest))
    if not found:
        return None
    _, path, manifest = max(found, key=lambda t: t[0])
    return path, manifest
