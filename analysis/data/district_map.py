"""CBS's district-and-neighbourhood maps (2015, 2018) at municipal level: the vendored DBFs.

``data/raw/district_map/gem_2015.dbf`` is the dBASE attribute table of CBS's *Wijk- en
buurtkaart 2015* (municipalities; UTF-8, as its ``.cpg`` says), vendored with its source
and sha256 in ``manifest.json``. It has 484 rows: the 393 land municipalities of
1 January 2015 (``WATER == "NEE"``), 90 water areas (``"JA"``) and one placeholder
(``GM9999``). ``gemeente_2018_v2.dbf`` is the 2018 map (380 land municipalities of
1 January 2018; population, age, households, migration and housing, but no income or
benefit attributes). Both are read with ``pyshp`` (``shapefile.Reader(dbf=...)``), a
maintained pure-Python reader of shapefiles and their dBASE tables.

CBS marks a figure it suppresses or does not know with a negative sentinel
(:data:`~analysis.data.cbs.special_values.SENTINELS`, e.g. ``-99999999``): it becomes
missing with the reason in
``<column>_status``, never a number. A negative value that is not a known sentinel
stops the read with an error naming the municipality and column (no attribute of the
file can be negative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import paths, schema
from analysis.data.cbs.special_values import SENTINELS, is_sentinel, sentinel_status

DBF = "gem_2015.dbf"
YEAR = 2015  # boundaries and population of 1 January 2015
FILES = {2015: DBF, 2018: "gemeente_2018_v2.dbf"}  # year -> file (boundaries of 1 January)
ENCODING = "utf-8"
KEYS = ("GM_CODE", "GM_NAAM", "WATER")


class DistrictMapError(ValueError):
    """The district-map file is absent, unreadable or holds a value that is not a figure."""


def read_district_map(
    raw_dir: str | Path | None = None, land_only: bool = True, year: int = YEAR
) -> pd.DataFrame:
    """The vendored municipal attributes of ``year``, one row per municipality of 1 January.

    Parameters
    ----------
    raw_dir : str or Path, optional
        Folder holding ``gem_2015.dbf`` and its ``manifest.json`` (default
        ``data/raw/district_map``); the file is checked against its sha256 first.
    land_only : bool, default True
        Keep the land municipalities (``WATER == "NEE"``; 393 in 2015) only.
    year : {2015, 2018}
        Which map (:data:`FILES`).

    Returns
    -------
    pandas.DataFrame
        ``municipality`` (``GM_CODE``), ``name`` (``GM_NAAM``), ``WATER`` and every
        numeric attribute under its CBS name as float, a sentinel made missing; for each
        attribute with a sentinel a ``<CBS name>_status`` column (the reason, else None).
        ``attrs``: ``source`` (the manifest entry), ``sentinels`` (column -> cells).

    Raises
    ------
    analysis.data.build.RawDataError
        When the file is missing or differs from its manifest sha256.
    DistrictMapError
        When a value is negative but not a CBS sentinel, or a code repeats.

    Examples
    --------
    >>> frame = read_district_map()
    >>> len(frame), int(frame["AANT_INW"].sum())
    (393, 16900726)
    >>> frame.loc[frame["municipality"] == "GM0003", ["name", "AANT_INW"]].to_dict("records")
    [{'name': 'Appingedam', 'AANT_INW': 12011.0}]
    """
    import shapefile  # pyshp

    from analysis.data.build import verify_manifest

    if year not in FILES:
        raise DistrictMapError(f"no district map vendored for {year}: {sorted(FILES)}")
    dbf = FILES[year]
    raw_dir = Path(raw_dir) if raw_dir is not None else paths.RAW / "district_map"
    manifest = verify_manifest(raw_dir)
    with (raw_dir / dbf).open("rb") as handle:
        reader = shapefile.Reader(dbf=handle, encoding=ENCODING)
        names = [f[0] for f in reader.fields if f[0] != "DeletionFlag"]
        frame = pd.DataFrame([list(r) for r in reader.records()], columns=names)
    if land_only:
        frame = frame[frame["WATER"] == "NEE"].reset_index(drop=True)
    repeated = frame.loc[frame["GM_CODE"].duplicated(), "GM_CODE"]
    if len(repeated):
        raise DistrictMapError(f"{dbf}: municipality {repeated.iloc[0]} appears twice")
    out = pd.DataFrame({schema.MUNICIPALITY: frame["GM_CODE"].str.strip(),
                        schema.NAME: frame["GM_NAAM"].str.strip(), "WATER": frame["WATER"]})
    sentinels: dict[str, int] = {}
    columns = {}
    for column in (c for c in names if c not in KEYS):
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        hit = is_sentinel(values)
        bad = (values < 0) & ~hit
        if bad.any():
            row = frame.loc[bad.idxmax()]
            raise DistrictMapError(
                f"{dbf}: {row['GM_CODE']} ({row['GM_NAAM']}) has {column} = "
                f"{values[bad.idxmax()]:g}, negative but not a CBS sentinel"
            )
        columns[column] = values.mask(hit)
        if hit.any():
            sentinels[column] = int(hit.sum())
            columns[column + schema.STATUS_SUFFIX] = sentinel_status(values)
    out = pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
    out.attrs.update(source=manifest["files"][dbf], sentinels=sentinels, year=year)
    return out


def population_2015(raw_dir: str | Path | None = None, year: int = YEAR) -> pd.Series:
    """Inhabitants on 1 January (``AANT_INW``) per municipality code of ``year`` (2015).

    Examples
    --------
    >>> float(population_2015()["GM0363"]), float(population_2015(year=2018)["GM0363"])
    (821752.0, 854047.0)
    """
    frame = read_district_map(raw_dir, year=year)
    population = frame.set_index(schema.MUNICIPALITY)["AANT_INW"]
    if population.isna().any() or not np.all(population > 0):
        raise DistrictMapError(f"{FILES[year]}: AANT_INW is missing or 0 for some municipality")
    return population.rename(schema.POPULATION)


__all__ = ["FILES", "SENTINELS", "DistrictMapError", "population_2015", "read_district_map"]
