"""From the raw CBS cache to the unharmonised panel: one row per municipality and year.

Each catalogued table's latest complete fetch (``data/raw/cbs/<table>/<key>/``) is
verified against its manifest, read (v3 or v4) into long form and mapped to panel
columns by its :class:`~analysis.data.cbs.catalogue.TableSpec`. Columns served by several
tables (editions) are stitched and every seam is recorded. The boundary history comes
from 03759ned's ``codes-RegioS`` list, so the panel can be harmonised across mergers.

Missing stays missing: a CBS special value becomes NaN with its code in
``<column>_status``; a year a table does not cover gets status ``"not in fetched data"``; a
panel column no fetched table provides gets status ``"not fetched"``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.data import paths, schema
from analysis.data.cbs.api.cache import Manifest, latest_fetch, verify
from analysis.data.cbs.api.fetch import TOTAL
from analysis.data.cbs.api.v3files import read_v3_observations
from analysis.data.cbs.api.v4files import (
    CBSFormatError,
    parse_period,
    read_codes,
    read_observations,
)
from analysis.data.cbs.catalogue import CATALOGUE, ColumnSpec, TableSpec

if TYPE_CHECKING:
    from analysis.data.boundaries import BoundaryHistory

POPULATION_TABLE = "03759ned"  # population (denominators), names and the boundary history
LABEL = "CBS StatLine (Bron: CBS)"
NOT_FETCHED = "not fetched"
NOT_IN_TABLE = "not in fetched data"
INCOMPLETE_SUM = "incomplete sum"  # a summed column lacks some of its components


class CBSCacheError(ValueError):
    """The raw CBS cache lacks a table, or a cached file no longer matches its manifest."""


@dataclass(frozen=True)
class CachedTable:
    """One verified fetch of one catalogued table."""

    spec: TableSpec
    directory: Path
    manifest: Manifest


def build_cbs_panel(
    raw_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, BoundaryHistory, dict]:
    """The unharmonised panel, its boundary history and provenance, from cached CBS data.

    Parameters
    ----------
    raw_dir : str or Path, optional
        The raw CBS cache written by ``python -m analysis fetch`` (default
        ``data/raw/cbs`` under ``DECENTRALISATION_DATA``).

    Returns
    -------
    panel : pandas.DataFrame
        One row per municipality code and year on that year's boundaries, in the
        vocabulary of :mod:`analysis.data.schema` (``municipality, name, year, province``,
        every count and denominator, and ``<column>_status``).
    history : analysis.data.boundaries.BoundaryHistory
        Parsed from 03759ned's ``codes-RegioS`` code list.
    manifest : dict
        ``source``, ``label``, ``files`` (path -> sha256), ``tables`` (what was used),
        ``seams`` (where a column switches from one table edition to the next) and
        ``raw_only`` (cached tables without a panel mapping) and ``columns_left_out``
        (catalogue columns that are not in :mod:`analysis.data.schema`, hence not harmonised).

    Raises
    ------
    CBSCacheError
        When 03759ned was never fetched or a cached file changed since its fetch.

    Examples
    --------
    >>> panel, history, manifest = build_cbs_panel("data/raw/cbs")  # doctest: +SKIP
    >>> panel.loc[panel.municipality.eq("GM0363") & panel.year.eq(2019), "population"]
    ... # doctest: +SKIP
    862965.0
    """
    raw_dir = Path(raw_dir) if raw_dir is not None else paths.CBS_RAW
    tables, raw_only = cached_tables(raw_dir)
    if POPULATION_TABLE not in tables:
        raise CBSCacheError(
            f"no complete fetch of {POPULATION_TABLE} (population, municipal boundaries) under "
            f"{raw_dir}: run `python -m analysis fetch` first, or build the synthetic default "
            "with `python -m analysis build`"
        )
    population = tables[POPULATION_TABLE]
    history = _boundary_history(population)
    per_column: dict[str, list[tuple[TableSpec, pd.DataFrame]]] = {}
    for cached in tables.values():
        frame = table_columns(cached)
        for col in cached.spec.columns:
            part = frame[[schema.MUNICIPALITY, schema.YEAR, col.column, _status(col.column)]]
            per_column.setdefault(col.column, []).append((cached.spec, part))
    # Only schema columns enter the panel: harmonisation sums counts and denominators but
    # would average any other numeric column, which is wrong for a count.
    known = {*schema.COUNTS, *schema.DENOMINATORS, *schema.SIGNED_TOTALS}
    left_out = sorted(set(per_column) - known)
    stitched, seams = {}, []
    for column, parts in per_column.items():
        if column in left_out:
            continue
        stitched[column], found = stitch(column, parts)
        seams += found
    panel = _assemble(stitched, _regions(population), history)
    manifest = _manifest(raw_dir, tables, seams, raw_only)
    manifest["columns_left_out"] = left_out
    return panel, history, manifest


def cached_tables(raw_dir: Path) -> tuple[dict[str, CachedTable], list[str]]:
    """Latest verified fetch of each catalogued table; ids of cached raw-only tables."""
    tables, raw_only = {}, []
    for table_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir()) if raw_dir.is_dir() else ():
        spec = CATALOGUE.get(table_dir.name)
        found = _latest_matching(table_dir, spec)
        if found is None:
            if latest_fetch(table_dir) is not None:
                raw_only.append(table_dir.name)
            continue
        directory, manifest = found
        problems = verify(directory, manifest)
        if problems:
            raise CBSCacheError(
                f"{problems[0]} ({len(problems)} problem(s)); refetch with "
                f"`python -m analysis fetch --tables {table_dir.name} --refresh`"
            )
        tables[table_dir.name] = CachedTable(spec, directory, manifest)
    return tables, raw_only


def _latest_matching(table_dir: Path, spec: TableSpec | None) -> tuple[Path, Manifest] | None:
    # Only a fetch made for the catalogue entry (same API, same measures) can be mapped;
    # anything fetched with other options is kept raw and left out of the panel.
    if spec is None:
        return None
    wanted = list(spec.query().measures)
    found = []
    for sub in table_dir.iterdir():
        manifest = _read(sub)
        if manifest and manifest.api == spec.api and manifest.filters.get("measures") == wanted:
            found.append((manifest.retrieved_at, sub, manifest))
    if not found:
        return None
    _, directory, manifest = max(found, key=lambda t: t[0])
    return directory, manifest


def _read(directory: Path) -> Manifest | None:
    from analysis.data.cbs.api.cache import read_manifest

    return read_manifest(directory) if directory.is_dir() else None


# --------------------------------------------------------------------------- one table


def read_long(cached: CachedTable) -> pd.DataFrame:
    """A cached fetch in long form: dimension columns, ``Measure``, ``value``, ``status``."""
    pages = [cached.directory / f.name for f in cached.manifest.data_files()]
    if cached.manifest.api == "v4":
        if not any(f.rows for f in cached.manifest.data_files()):
            return pd.DataFrame(columns=["Measure", "value", "status"])
        return read_observations(pages)
    return read_v3_observations(pages, cached.directory / "DataProperties.json")


def table_columns(cached: CachedTable) -> pd.DataFrame:
    """The panel columns of one table: ``municipality, year, <column>, <column>_status``."""
    spec, long = cached.spec, read_long(cached)
    resolved = cached.manifest.filters.get("resolved") or {}
    region = resolved.get("region_dim") or spec.region_dim
    period = resolved.get("period_dim") or spec.period_dim
    if spec.single_year:
        period = None  # one table per year, without a time dimension
    for dim in (region, period):
        if len(long) and dim is not None and dim not in long:
            raise CBSFormatError(f"{spec.table}: the cached data has no dimension {dim!r}")
    if len(long):
        long = long[long[region].str.startswith("GM")]
        if period is not None:
            long = long[long[period].str.endswith(spec.period_suffix)]
    if period is None:
        years = pd.Series(spec.years[0], index=long.index, dtype="int64")
    else:
        years = long.get(period, pd.Series(dtype=str)).map(lambda code: parse_period(code).year)
    long = long.assign(
        **{schema.MUNICIPALITY: long.get(region, pd.Series(dtype=str)), schema.YEAR: years}
    )
    out = None
    for col in spec.columns:
        if spec.other_dims_total:  # the dimensions the fetch pinned to their totals
            auto = {d: (TOTAL,) for d in resolved.get("dims", {}) if d not in col.dims}
            col = replace(col, dims={**auto, **col.dims})
        part = _column(spec.table, col, long, resolved)
        out = part if out is None else out.merge(part, how="outer")
    return out


ZERO_NOT_REPORTED = "0 in the CBS table: not reported (left missing)"


def _column(table: str, col: ColumnSpec, long: pd.DataFrame, resolved: dict) -> pd.DataFrame:
    """One panel column per municipality and year: a sum, or a count over its share."""
    if col.divide_by is None:
        summed = _summed(table, col, col.measure, long, resolved)
        if col.zero_is_missing and len(summed):
            zero = summed[col.column].astype(float) == 0
            summed.loc[zero, _status(col.column)] = ZERO_NOT_REPORTED
            summed.loc[zero, col.column] = np.nan
        return summed
    keys = [schema.MUNICIPALITY, schema.YEAR]
    value, status = col.column, _status(col.column)
    count = _summed(table, col, col.measure, long, resolved)
    share = _summed(table, col, col.divide_by, long, resolved)
    both = count.merge(share, on=keys, how="outer", suffixes=("", "_share"))
    ratio = both[value].astype(float) / both[f"{value}_share"].astype(float).replace(0.0, np.nan)
    both[value] = ratio * col.scale
    why = both[status].fillna(both[f"{status}_share"])
    # a share of 0 carries no denominator: say so rather than divide by it
    why = why.where(~(both[value].isna() & why.isna()), "share is 0")
    both[status] = why.where(both[value].isna())
    return both[[*keys, value, status]]


def _summed(
    table: str, col: ColumnSpec, measure_key: str, long: pd.DataFrame, resolved: dict
) -> pd.DataFrame:
    """Sum one measure over the column's codes per municipality and year; missing if any
    component is missing."""
    keys = [schema.MUNICIPALITY, schema.YEAR]
    measure = _strip(resolved.get("measures", {}).get(measure_key, measure_key))
    rows = long[long["Measure"].astype(str).str.strip() == measure] if len(long) else long
    expected = 1
    for dim, codes in col.dims.items():
        mapping = resolved.get("dims", {}).get(dim, {})
        wanted = {_strip(mapping.get(code, code)) for code in codes}
        if len(rows) and dim not in rows:
            raise CBSFormatError(f"{table}: the cached data has no dimension {dim!r}")
        rows = rows[rows[dim].isin(wanted)] if len(rows) else rows
        expected *= len(wanted)
    value, status = col.column, _status(col.column)
    if rows.empty:
        return pd.DataFrame(columns=[*keys, value, status])
    grouped = rows.groupby(keys, sort=True)
    frame = pd.DataFrame(
        {
            "sum": grouped["value"].sum(min_count=1),
            "present": grouped["value"].count(),
            "rows": grouped.size(),
            "codes": grouped["status"].agg(_join_codes),
        }
    )
    complete = (frame["present"] == expected) & (frame["rows"] == expected)
    frame[value] = frame["sum"].where(complete) * (1.0 if col.divide_by else col.scale)
    frame[status] = frame["codes"].where(~complete)
    frame.loc[~complete & frame[status].isna(), status] = INCOMPLETE_SUM
    return frame[[value, status]].reset_index()


def _join_codes(codes: pd.Series) -> str | None:
    found = sorted({str(c) for c in codes.dropna()})
    return ";".join(found) if found else None


def _strip(code: object) -> str:
    return str(code).strip()  # v3 keys arrive padded ("GM0363  "); the readers strip them


def _status(column: str) -> str:
    return column + schema.STATUS_SUFFIX


# --------------------------------------------------------------------------- editions


def stitch(
    column: str, parts: list[tuple[TableSpec, pd.DataFrame]]
) -> tuple[pd.DataFrame, list[dict]]:
    """One column from several table editions; where two overlap, the one with the higher
    ``precedence`` wins, and among equals the later one.

    Returns the stitched ``municipality, year, <column>, <column>_status`` frame and one
    seam record per switch from one table to the next (table ids, last and first year,
    and the years both covered, which the later edition overrode).
    """
    keys = [schema.MUNICIPALITY, schema.YEAR]
    ordered = sorted(parts, key=lambda p: (p[0].precedence, _first_year(p[1]), p[0].years[0]))
    seams, previous = [], None
    for spec, frame in ordered:
        years = sorted(int(y) for y in frame[schema.YEAR].unique())
        if previous is not None and years:
            before_spec, before_years = previous
            seams.append(
                {
                    "column": column,
                    "from_table": before_spec.table,
                    "to_table": spec.table,
                    "last_year_before": max(before_years),
                    "first_year_after": min(years),
                    "overlap_years": sorted(set(before_years) & set(years)),
                }
            )
        if years:
            previous = (spec, years)
    frames = [frame.assign(_order=k) for k, (_, frame) in enumerate(ordered) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=[*keys, column, _status(column)]), seams
    stacked = pd.concat(frames, ignore_index=True).sort_values([*keys, "_order"])
    return stacked.drop_duplicates(keys, keep="last").drop(columns="_order"), seams


def _first_year(frame: pd.DataFrame) -> int:
    return int(frame[schema.YEAR].min()) if len(frame) else 10_000


# --------------------------------------------------------------------------- the panel


def _assemble(
    columns: dict[str, pd.DataFrame], regions: pd.DataFrame, history: BoundaryHistory
) -> pd.DataFrame:
    keys = [schema.MUNICIPALITY, schema.YEAR]
    panel = None
    for frame in columns.values():
        frame = frame.astype({schema.YEAR: "int64"})
        panel = frame if panel is None else panel.merge(frame, on=keys, how="outer")
    values = [c for c in panel.columns if c not in keys and not c.endswith(schema.STATUS_SUFFIX)]
    for column in values:
        panel[column] = pd.to_numeric(panel[column]).astype(float)
        # a year outside a table's coverage is absent from its frame: say so
        panel.loc[panel[column].isna() & panel[_status(column)].isna(), _status(column)] = (
            NOT_IN_TABLE
        )
    # CBS lists codes in years they did not exist (Impossible, "."): drop such a row unless
    # it carries a value, which validation then reports as an unknown code for that year.
    exists = pd.Series(False, index=panel.index)
    for year, rows in panel.groupby(schema.YEAR).groups.items():
        alive = set(history.municipalities_on(int(year)))
        exists[rows] = panel.loc[rows, schema.MUNICIPALITY].isin(alive)
    panel = panel[exists | panel[values].notna().any(axis=1)].copy()
    for column in (*schema.COUNTS, *schema.DENOMINATORS):
        if column not in panel:
            panel[column] = float("nan")
            panel[_status(column)] = NOT_FETCHED
    names = regions.set_index("Identifier")
    panel.insert(1, schema.NAME, panel[schema.MUNICIPALITY].map(names["Title"]))
    group = panel[schema.MUNICIPALITY].map(names.get("DimensionGroupId", pd.Series(dtype=str)))
    panel.insert(3, schema.PROVINCE, group.str.extract(r"(PV\d+)", expand=False))
    for column in panel.columns:
        if column.endswith(schema.STATUS_SUFFIX):
            panel[column] = panel[column].astype(object).where(panel[column].notna(), None)
    return panel.sort_values([schema.YEAR, schema.MUNICIPALITY], ignore_index=True)


def _regions(population: CachedTable) -> pd.DataFrame:
    pages = _code_pages(population, "codes-RegioS")
    frames = [read_codes(page) for page in pages]
    return pd.concat(frames, ignore_index=True)


def _code_pages(cached: CachedTable, prefix: str) -> list[Path]:
    names = [f.name for f in cached.manifest.files]
    if f"{prefix}.json" in names:
        return [cached.directory / f"{prefix}.json"]
    pages = [n for n in names if n.startswith(f"{prefix}-page-")]
    if not pages:
        raise CBSCacheError(f"{cached.directory}: the fetch has no {prefix} code list")
    return [cached.directory / n for n in pages]  # manifest order is nextLink order


def _boundary_history(population: CachedTable) -> BoundaryHistory:
    from analysis.data.boundaries import load_boundary_history

    pages = _code_pages(population, "codes-RegioS")
    if len(pages) == 1:
        return load_boundary_history(pages[0])
    # load_boundary_history reads one file: join the pages of a paged code list first
    rows = [row for page in pages for row in json.loads(page.read_bytes())["value"]]
    with tempfile.TemporaryDirectory() as tmp:
        joined = Path(tmp) / "codes-RegioS.json"
        joined.write_text(json.dumps({"value": rows}), encoding="utf-8")
        return load_boundary_history(joined)


def _manifest(raw_dir: Path, tables: dict[str, CachedTable], seams, raw_only) -> dict:
    files, used = {}, {}
    for table, cached in tables.items():
        for entry in cached.manifest.files:
            path = (cached.directory / entry.name).relative_to(raw_dir)
            files[str(path)] = {"sha256": entry.sha256, "rows": entry.rows}
        used[table] = {
            "api": cached.manifest.api,
            "base_url": cached.manifest.base_url,
            "retrieved_at": cached.manifest.retrieved_at,
            "directory": str(cached.directory.relative_to(raw_dir)),
            "confirmed": cached.spec.confirmed,
            "status": cached.spec.status,
            "columns": [c.column for c in cached.spec.columns],
        }
    return {
        "source": "cbs",
        "synthetic": False,
        "label": LABEL,
        "files": files,
        "tables": used,
        "seams": seams,
        "raw_only": raw_only,
    }
