"""Vendor the real CBS StatLine bundle from ``../shared`` into ``data/raw/statline/``.

Copies the 19 cbsodata CSV files of ``shared/cbs/statline-csv/`` byte for byte into
``data/raw/statline/csv/`` and the stored OData v4 responses of 03759ned (population from
2019, ``codes-RegioS`` with the municipal boundary history) into
``data/raw/statline/03759ned/``, and writes ``data/raw/statline/manifest.json`` with, per
file, its sha256, source, row count, what it holds and when it was vendored.

Reproducible and safe: a file already vendored with the same bytes is left alone (its
vendoring time kept); a target that differs from the source is never overwritten, the
script stops and names it. Run from the project root::

    python scripts/vendor_statline.py --shared ../shared
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.data.io import sha256_file, write_bytes_atomic  # noqa: E402

TARGET = ROOT / "data" / "raw" / "statline"
V4_BASE = "https://datasets.cbs.nl/odata/v1/CBS/03759ned"
# stored v4 file -> (endpoint below V4_BASE, what it holds)
V4_FILES = {
    "index.json": ("", "how the 03759ned slice was captured: $filter, pages, capture time"),
    "properties.json": ("/Properties", "table metadata of 03759ned"),
    "dimensions.json": ("/Dimensions", "dimensions of 03759ned"),
    "measure-codes.json": (
        "/MeasureCodes",
        "measure codes: M000352 population on 1 January, M000365 average population",
    ),
    "codes-RegioS.json": (
        "/RegioSCodes",
        "every municipality code CBS issued, with its change history (boundary history)",
    ),
    "codes-Perioden.json": ("/PeriodenCodes", "period codes"),
    "codes-Geslacht.json": ("/GeslachtCodes", "sex codes (slice: total T001038)"),
    "codes-Leeftijd.json": ("/LeeftijdCodes", "age codes (slice: total 10000)"),
    "codes-BurgerlijkeStaat.json": (
        "/BurgerlijkeStaatCodes",
        "marital status codes (slice: total T001019)",
    ),
    "observations-page-1.json": (
        "/Observations",
        "population on 1 January (M000352) and average (M000365) per municipality, "
        "province and the Netherlands, 2019-2026",
    ),
}


def _rows(path: Path) -> int:
    if path.suffix == ".csv":
        with path.open("rb") as fh:
            return sum(1 for _ in fh) - 1  # minus the header
    payload = json.loads(path.read_text(encoding="utf-8"))
    return len(payload["value"]) if isinstance(payload.get("value"), list) else 1


def _copy(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` unless identical; refuse to overwrite a differing file."""
    if target.exists():
        if sha256_file(target) == sha256_file(source):
            return False
        raise SystemExit(
            f"error: {target} exists and differs from {source}: vendored raw data is "
            "immutable; remove it by hand if the source really changed"
        )
    write_bytes_atomic(target, source.read_bytes())
    return True


def vendor(shared: Path, target: Path = TARGET) -> dict:
    csv_dir, v4_dir = shared / "cbs" / "statline-csv", shared / "cbs" / "v4" / "03759ned"
    for folder in (csv_dir, v4_dir):
        if not folder.is_dir():
            raise SystemExit(f"error: {folder} is absent: pass --shared <path to shared/>")
    upstream = json.loads((csv_dir / "manifest.json").read_text(encoding="utf-8"))
    index = json.loads((v4_dir / "index.json").read_text(encoding="utf-8"))
    old_path = target / "manifest.json"
    old = json.loads(old_path.read_text(encoding="utf-8")) if old_path.is_file() else {}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    files: dict[str, dict] = {}

    def record(name: str, source: Path, entry: dict) -> None:
        copied = _copy(source, target / name)
        previous = old.get("files", {}).get(name, {})
        sha = sha256_file(target / name)
        kept = not copied and previous.get("sha256") == sha
        files[name] = {
            "sha256": sha,
            "rows": _rows(target / name),
            **entry,
            "vendored_at": previous["vendored_at"] if kept else now,
        }

    for table, meta in sorted(upstream.items()):
        record(
            f"csv/{table}.csv",
            csv_dir / f"{table}.csv",
            {
                "table": table,
                "what": meta["what"],
                "source": meta["source"],
                "source_sha256": meta["source_sha256"],
                "source_rows": meta["source_rows"],
                "kept": meta["kept"],
                "via": "shared/cbs/statline-csv (filtered copy of the source, see 'kept')",
            },
        )
    for name, (endpoint, what) in V4_FILES.items():
        url = V4_BASE + endpoint
        if name.startswith("observations"):
            url += "?$filter=" + index["sliceFilter"]
        record(
            f"03759ned/{name}",
            v4_dir / name,
            {
                "table": "03759ned",
                "what": what,
                "source": url,
                "retrieved_at": index["capturedAt"],
                "via": "shared/cbs/v4/03759ned (stored OData v4 responses)",
            },
        )
    manifest = {
        "source": "statline",
        "synthetic": False,
        "label": "REAL CBS DATA: CBS StatLine (Bron: CBS), vendored in data/raw/statline",
        "publisher": "Centraal Bureau voor de Statistiek (CBS), StatLine",
        "licence": "CC BY 4.0",
        "attribution": "Bron: CBS",
        "files": dict(sorted(files.items())),
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    if not old_path.is_file() or old_path.read_text(encoding="utf-8") != text:
        write_bytes_atomic(old_path, text.encode("utf-8"))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()
    manifest = vendor(args.shared, args.target)
    print(f"{len(manifest['files'])} files in {args.target} (manifest.json written)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
