"""Build the harmonised panel: raw files -> validated panel -> one year's boundaries -> parquet.

``data/raw`` is immutable input with a manifest; ``data/processed`` is always rebuilt from it.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data import paths, schema
from analysis.data.io import (
    file_lock,
    package_sha256,
    sha256_bytes,
    sha256_file,
    sweep_temporaries,
    write_atomic,
    write_bytes_atomic,
)
from analysis.data.options import PanelOptions
from analysis.data.ownership import check_writable, claim
from analysis.data.screening import ScreeningSettings, screen_before_harmonising
from analysis.data.sources import read_json_object, read_v4_directory

SOURCES = ("synthetic", "cbs", "statline")
# The StatLine bundle has no population before 2015: its size classes are fixed in 2015.
SOURCE_BASELINE_YEAR = {"statline": 2015}
DEFAULT_BOUNDARY_YEAR = 2023
# Panel attributes of the size definition, kept in the sidecar and restored by read_panel.
SIZING_ATTRS = ("panel_options", "size_rule", "large_threshold", "merger_crossers",
                "merger_crossers_dropped", "size_note")
# Vendored folders beside its own that a source reads (their files count for currency).
SOURCE_EXTRA_RAW = {"statline": ("district_map",)}
# Bump when the panel's columns or meaning change, so stored panels are rebuilt.
PANEL_FORMAT = 5  # 4: size rule, merger crossers, scaled units; 5: screening (<column>_raw)


class RawDataError(ValueError):
    """Raw input is absent, incomplete or does not match its manifest."""


@dataclass
class BuildResult:
    """A harmonised panel and where it was written."""

    panel: pd.DataFrame
    unharmonised: pd.DataFrame
    path: Path
    metadata: dict


def verify_manifest(raw_dir: Path) -> dict:
    """Check every file listed in ``manifest.json`` against its sha256; return the manifest."""
    manifest_path = raw_dir / "manifest.json"
    if not manifest_path.is_file():
        raise RawDataError(f"{manifest_path} is missing: raw data needs its manifest")
    manifest = read_json_object(manifest_path)
    for name, entry in manifest.get("files", {}).items():
        file = raw_dir / name
        if not file.is_file():
            raise RawDataError(f"{file} is listed in the manifest but missing")
        if sha256_file(file) != entry["sha256"]:
            raise RawDataError(
                f"{file} does not match its manifest sha256: raw data is immutable "
                "(regenerate the synthetic default with `python -m analysis synthesize`)"
            )
    return manifest


def ensure_synthetic_raw(raw_dir: Path = paths.SYNTHETIC_RAW) -> dict:
    """Write the synthetic default if it is not there yet; verify it either way."""
    if not (raw_dir / "manifest.json").is_file():
        from analysis.data.synthetic.raw import write_synthetic_raw

        check_writable(raw_dir, replaced=True)  # never replace a user's folder
        write_synthetic_raw(raw_dir)
    return verify_manifest(raw_dir)


def load_raw_panel(source: str, raw_dir: Path | None = None):
    """The unharmonised panel (each year on its own boundaries) and its boundary history."""
    from analysis.data.boundaries import load_boundary_history

    if source == "synthetic":
        raw_dir = raw_dir or paths.SYNTHETIC_RAW
        manifest = ensure_synthetic_raw(raw_dir)
        raw = read_v4_directory(raw_dir, manifest["measures"])
        history = load_boundary_history(raw_dir / "codes-RegioS.json")
        return raw, history, manifest
    if source == "cbs":
        from analysis.data.cbs.api.panel import build_cbs_panel  # the CBS client's table catalogue

        raw_dir = raw_dir or paths.CBS_RAW
        return build_cbs_panel(raw_dir)
    if source == "statline":
        from analysis.data.cbs.exports.panel import build_statline_panel  # vendored real CBS tables

        return build_statline_panel(raw_dir or paths.STATLINE_RAW)
    raise ValueError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")


def build_panel(
    source: str = "synthetic",
    *,
    raw_dir: Path | None = None,
    boundary_year: int = DEFAULT_BOUNDARY_YEAR,
    baseline_year: int | None = None,
    out_dir: Path | None = None,
    options: PanelOptions | None = None,
    screening: ScreeningSettings | None = None,
) -> BuildResult:
    """Build the harmonised panel from raw files and write it to ``data/processed``.

    Parameters
    ----------
    source : {"synthetic", "cbs", "statline"}
        The embedded synthetic default, CBS tables cached by ``python -m analysis fetch``,
        or the real CBS StatLine tables vendored in ``data/raw/statline``.
    boundary_year : int
        Every year is mapped onto the municipal boundaries of 1 January of this year.
    baseline_year : int, optional
        Size classes and the treatment intensity are fixed in this year; default 2014,
        and 2015 for ``statline`` (its first year with a population figure).
    options : PanelOptions, optional
        Size rule, threshold, merger crossers and units with a missing part
        (:class:`analysis.data.options.PanelOptions`); recorded in ``panel_options`` of
        the sidecar. Other than the defaults, the file name carries ``options.tag()``,
        so panels built under different choices sit side by side.
    screening : ScreeningSettings, optional
        The screening of the raw cells before harmonisation
        (:mod:`analysis.data.screening`); default its documented thresholds,
        ``ScreeningSettings(enabled=False)`` keeps every value. The sidecar's
        ``screening`` records the settings and every flag.

    Examples
    --------
    >>> result = build_panel("synthetic", out_dir=Path("/tmp/processed"))  # doctest: +SKIP
    >>> result.panel["municipality"].nunique()  # doctest: +SKIP
    342
    """
    from analysis.data.harmonise import harmonise_to_boundaries
    from analysis.data.rates_and_sizes import add_rates
    from analysis.data.validation import validate_panel

    check_writable(out_dir or paths.PROCESSED)  # before any work: a user's folder stays as it is
    if baseline_year is None:
        baseline_year = SOURCE_BASELINE_YEAR.get(source, schema.BASELINE_YEAR)
    raw, history, manifest = load_raw_panel(source, raw_dir)
    _check_years(raw, boundary_year=boundary_year, baseline_year=baseline_year)
    # each source provides part of the vocabulary (synthetic: no youth population 0-22)
    counts = [c for c in schema.COUNTS if c in raw]
    denominators = [d for d in schema.DENOMINATORS if d in raw]
    for year, frame in raw.groupby(schema.YEAR):
        validate_panel(
            frame,
            known_codes=history.municipalities_on(int(year)),
            counts=counts,
            denominators=denominators,
        )
    roles = {**source_text_roles(raw), **manifest.get("roles", {})}
    screened = screen_before_harmonising(raw, history, screening, roles)
    raw = screened.panel  # flagged cells missing, their raw values in <column>_raw
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = harmonise_to_boundaries(
            raw, boundary_year, history, baseline_year=baseline_year, roles=roles,
            options=options,
        )
    for warning in caught:  # shown to the caller as usual, and kept in the sidecar
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    panel = add_intensity(panel, baseline_year)
    panel = add_rates(panel)
    sizing = {k: panel.attrs.get(k) for k in SIZING_ATTRS}
    panel.attrs.update(
        **sizing,
        source=source,
        seed=manifest.get("seed"),
        synthetic=bool(manifest.get("synthetic", False)),
        label=manifest.get("label", "CBS StatLine (Bron: CBS)"),
        boundary_year=boundary_year,
        baseline_year=baseline_year,
    )
    metadata = _metadata(raw, panel, manifest, source, boundary_year, baseline_year)
    metadata["build_warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    metadata["screening"] = screened.record
    metadata.update(sizing, scaled_cells=panel.attrs.get("scaled_cells", []))
    path = write_panel(panel, metadata, out_dir or paths.PROCESSED)
    return BuildResult(panel, raw, path, metadata)


def source_text_roles(raw: pd.DataFrame) -> dict[str, str]:
    """Text columns of the toolkit's own sources (e.g. a provenance label) carried as text.

    Harmonisation refuses any column without a role; a source's labels are joined across
    merged parts (role ``text``), never dropped. A user's data declare roles themselves.
    """
    from analysis.data.harmonise import _structural

    skip = set(_structural(raw.columns))
    return {
        c: "text"
        for c in raw.columns
        if c not in skip and not pd.api.types.is_numeric_dtype(raw[c])
    }


def _check_years(raw: pd.DataFrame, **years: int) -> None:
    """Boundary and baseline years must be years the data covers."""
    first, last = int(raw[schema.YEAR].min()), int(raw[schema.YEAR].max())
    for option, year in years.items():
        if not first <= year <= last:
            flag = "--" + option.replace("_", "-")
            raise ValueError(f"{flag} {year} is outside the data's years {first}-{last}")


def add_intensity(panel: pd.DataFrame, baseline_year: int) -> pd.DataFrame:
    """Budget change per inhabitant = harmonised budget change / baseline population."""
    if schema.BUDGET_CHANGE not in panel:
        return panel
    base = panel[panel[schema.YEAR] == baseline_year].set_index(schema.MUNICIPALITY)
    per_inhabitant = base[schema.BUDGET_CHANGE] / base[schema.POPULATION]
    panel = panel.copy()
    panel[schema.INTENSITY] = panel[schema.MUNICIPALITY].map(per_inhabitant)
    return panel


def panel_path(
    out_dir: Path, source: str, boundary_year: int, options: PanelOptions | None = None
) -> Path:
    tag = options.tag() if options is not None else ""
    return out_dir / f"panel_{source}_{boundary_year}{tag}.parquet"


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.lock")


def write_panel(panel: pd.DataFrame, metadata: dict, out_dir: Path) -> Path:
    """Write parquet and its metadata sidecar as one unit.

    Both are written atomically under an exclusive lock on ``.panel_<source>_<year>.lock``
    (concurrent builds take turns; readers take it shared), and the sidecar records the
    parquet's sha256 (``panel_sha256``), so a parquet and a sidecar of different builds
    (a build killed between the two writes) are never read as a pair. Temporaries that
    killed builds of this panel left are removed first.
    """
    options = PanelOptions(**metadata["panel_options"]) if "panel_options" in metadata else None
    path = panel_path(claim(out_dir), metadata["source"], metadata["boundary_year"], options)
    frame = panel.copy()
    frame.attrs = {}
    with file_lock(_lock_path(path)):
        for target in (path, path.with_suffix(".json")):
            sweep_temporaries(target)
        write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
        metadata["panel_sha256"] = sha256_file(path)
        sidecar = json.dumps(metadata, indent=1, sort_keys=True) + "\n"
        write_bytes_atomic(path.with_suffix(".json"), sidecar.encode())
    return path


def _read_pair(path: Path, with_panel: bool = True) -> tuple[dict | None, pd.DataFrame | None]:
    """The sidecar and panel at ``path`` when they belong together, else (None, None).

    Read under a shared lock; the parquet's sha256 must equal the sidecar's
    ``panel_sha256``, so a pair left by a killed or a concurrent build is not trusted.
    """
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        return None, None
    with file_lock(_lock_path(path), shared=True):
        try:
            metadata = json.loads(sidecar.read_text())
            data = path.read_bytes()
        except (OSError, ValueError):
            return None, None  # a damaged or vanished sidecar: rebuild
        if not isinstance(metadata, dict) or metadata.get("panel_sha256") != sha256_bytes(data):
            return None, None
    panel = pd.read_parquet(io.BytesIO(data)) if with_panel else None
    return metadata, panel


def read_panel(
    source: str = "synthetic",
    boundary_year: int = DEFAULT_BOUNDARY_YEAR,
    out_dir: Path | None = None,
    options: PanelOptions | None = None,
    screening: ScreeningSettings | None = None,
) -> pd.DataFrame:
    """Read a built panel, building it first when absent or older than its raw files.

    ``data/processed`` is always derived from ``data/raw``: a stored panel whose recorded
    raw sha256 values differ from the raw manifest's (or from an older panel format), or
    whose parquet is not the one its sidecar describes, is rebuilt rather than trusted.
    ``options`` picks the panel built under those choices.
    ``screening`` given: a stored panel screened otherwise is rebuilt with it; None (what
    notebooks pass): the stored panel's screening is kept (a missing panel is built with
    the default), so ``report --screening off`` builds the panel its notebooks then read.
    """
    path = panel_path(out_dir or paths.PROCESSED, source, boundary_year, options)
    metadata, panel = _read_pair(path)
    stale = metadata is None or not _is_current(metadata, source)
    if not stale and screening is not None:
        stale = not screening_matches(metadata, screening)
    if stale:
        if source == "csv":  # own data: only `build --source csv` knows the file and roles
            raise FileNotFoundError(
                f"{path} is missing, older than its input or built by other package code: "
                "run `python -m analysis build "
                f"--source csv --input FILE --boundary-year {boundary_year}` first"
            )
        # A notebook's output must not depend on whether this call built the panel: the
        # build's warnings go to the sidecar (``attrs["build_warnings"]``), not to stderr,
        # and the panel is read back from disk exactly as a later call reads it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_panel(source, boundary_year=boundary_year, out_dir=out_dir, options=options,
                        screening=screening)
        metadata, panel = _read_pair(path)
        if metadata is None:
            raise RawDataError(f"{path}: another build replaced the panel while it was read")
    return _with_attrs(panel, metadata)


def _with_attrs(panel: pd.DataFrame, metadata: dict) -> pd.DataFrame:
    panel.attrs.update(
        {k: metadata[k] for k in ("source", "synthetic", "label", "boundary_year", "baseline_year")}
    )
    panel.attrs["seed"] = metadata.get("raw_manifest", {}).get("seed")
    panel.attrs["build_warnings"] = metadata.get("build_warnings", [])
    panel.attrs.update({k: metadata[k] for k in SIZING_ATTRS if k in metadata})
    panel.attrs["screening"] = metadata.get("screening", {})
    return panel


def screening_matches(metadata: dict, screening: ScreeningSettings) -> bool:
    """Whether a stored panel's sidecar records these screening settings."""
    return metadata.get("screening", {}).get("settings") == screening.describe()


def read_current_panel(
    source: str = "synthetic",
    boundary_year: int = DEFAULT_BOUNDARY_YEAR,
    baseline_year: int | None = None,
    out_dir: Path | None = None,
    options: PanelOptions | None = None,
    screening: ScreeningSettings | None = None,
) -> BuildResult | None:
    """The stored embedded panel (synthetic, statline) when up to date for these options.

    Up to date: same panel format, boundary and baseline year, screening settings
    (default :class:`ScreeningSettings`), and raw sha256 values equal to the raw
    manifest's. A CBS panel is never reported current here (its sidecar does not
    pin the cache it was built from), so ``run --source cbs`` rebuilds it.
    """
    path = panel_path(out_dir or paths.PROCESSED, source, boundary_year, options)
    if source not in ("synthetic", "statline"):
        return None
    if baseline_year is None:
        baseline_year = SOURCE_BASELINE_YEAR.get(source, schema.BASELINE_YEAR)
    metadata, panel = _read_pair(path)  # None: absent, damaged or not one build's pair
    chosen = (options or PanelOptions()).as_dict()
    if metadata is None or metadata.get("baseline_year") != baseline_year:
        return None
    if metadata.get("panel_options") != chosen or not _is_current(metadata, source):
        return None
    if not screening_matches(metadata, screening or ScreeningSettings()):
        return None
    panel = _with_attrs(panel, metadata)
    raw, _, _ = load_raw_panel(source)
    return BuildResult(panel, raw, path, metadata)


def _is_current(metadata: dict, source: str) -> bool:
    """Same panel format, same package code, and (but for cbs) the same raw files."""
    if metadata.get("panel_format") != PANEL_FORMAT:
        return False
    if metadata.get("package_sha256") != package_sha256():
        return False  # the code that built it changed: the panel may differ
    if source == "cbs":
        return True  # CBS raw files are checked against their manifests when built
    if source == "csv":  # own data: current while the input file is unchanged
        source_file = Path(metadata.get("input", ""))
        recorded = metadata.get("raw_files_sha256", {}).get(f"input/{source_file.name}")
        return source_file.is_file() and sha256_file(source_file) == recorded
    raw = {"synthetic": paths.SYNTHETIC_RAW, "statline": paths.STATLINE_RAW}.get(source)
    if raw is None:
        return False
    current = {}
    for folder, prefix in ((raw, ""), *((raw.parent / f, f"../{f}/") for f in
                                        SOURCE_EXTRA_RAW.get(source, ()))):
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            return False
        manifest = read_json_object(manifest_path)
        current |= {prefix + n: e["sha256"] for n, e in manifest.get("files", {}).items()}
    return metadata.get("raw_files_sha256") == current


def _metadata(raw, panel, manifest, source, boundary_year, baseline_year) -> dict:
    combined = panel.loc[panel["n_combined"] > 1, schema.MUNICIPALITY].nunique()
    return {
        "panel_format": PANEL_FORMAT,
        "package_sha256": package_sha256(),  # the code that built it (_is_current)
        "source": source,
        "synthetic": bool(manifest.get("synthetic", False)),
        "label": manifest.get("label", "CBS StatLine (Bron: CBS)"),
        "boundary_year": boundary_year,
        "baseline_year": baseline_year,
        "raw_manifest": {k: manifest.get(k) for k in ("source", "generator_version", "seed")},
        "raw_files_sha256": {n: e["sha256"] for n, e in manifest.get("files", {}).items()},
        "municipalities_per_year_raw": raw.groupby(schema.YEAR).size().astype(int).to_dict(),
        "municipalities_per_year_harmonised": panel.groupby(schema.YEAR)
        .size()
        .astype(int)
        .to_dict(),
        "units_combining_several_codes": int(combined),
        "rows_incomplete": int(panel["incomplete"].sum()) if "incomplete" in panel else 0,
        # CBS source only: which tables fed the panel and where a series switches edition
        "tables": manifest.get("tables", {}),
        "seams": manifest.get("seams", []),
        "columns_left_out": manifest.get("columns_left_out", []),
        # StatLine source only: population routes, regions left out, figures not placed
        **({"statline": manifest["statline"]} if "statline" in manifest else {}),
    }
