"""Regional classifications of every municipality: youth-care region, labour market, COROP.

Since 2015 municipalities buy youth care through 42 youth-care regions (*jeugdzorgregio's*)
and run work and income through 35 labour-market regions, so these, not provinces, are
the natural clusters of a design. CBS publishes the memberships in *Gebieden in
Nederland* (table 83287NED); the 2016 edition is vendored in ``data/raw/regions/``
(source, commit and sha256 in its ``manifest.json``): the 390 municipalities of
1 January 2016 with the code of each region they belong to.

:func:`load_regions` carries the 2016 memberships onto any later year's boundaries
through CBS's boundary history (:class:`analysis.data.boundaries.BoundaryHistory`), and
onto 2015's by each 2015 municipality's 2016 successor. A unit whose 2016 predecessors
lay in different regions of a classification takes the region holding the largest share
of its inhabitants on 1 January 2015 (district map, :mod:`analysis.data.district_map`,
carried onto the 2016 codes by the same history), and the unit is flagged when another
region holds at least 0.5 % of them (:data:`SPLIT_MIN_SHARE`). The province is the one
CBS's boundary history gives the unit itself (Vijfheerenlanden, 2019: Utrecht, although
most of its 2015 inhabitants lived in Zuid-Holland).

Assumption: memberships stay as they were in 2016 apart from mergers. Fails where a
municipality changed region without merging, or where a merged unit joined the region of
a smaller predecessor (e.g. a region chosen by the new council rather than by size):
both show up only against a later edition of 83287NED, which is not vendored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.data import paths, schema

REGIONS_FILE = "83287NED.json"
REGIONS_YEAR = 2016  # the edition's municipalities: 1 January 2016
YOUTH_CARE_REGION = "youth_care_region"
LABOUR_MARKET_REGION = "labour_market_region"
COROP = "corop"
# panel name -> key of the classification in 83287NED.json
CLASSIFICATIONS: dict[str, str] = {
    YOUTH_CARE_REGION: "Jeugdzorgregios",
    LABOUR_MARKET_REGION: "Arbeidsmarktregio's",
    COROP: "COROP-gebieden",
    schema.PROVINCE: "Provincies",
}
SPLIT = "regions_split"  # classifications whose predecessors lay in different regions
SHARE_SUFFIX = "_share"  # share of the unit's 2015 inhabitants in the chosen region
# A unit is flagged when another region holds at least this share of its inhabitants: a
# merger across regions, not a boundary correction of a few streets (the share column
# shows those too).
SPLIT_MIN_SHARE = 0.005


def _memberships(raw_dir: Path) -> pd.DataFrame:
    from analysis.data.build import RawDataError, verify_manifest

    verify_manifest(raw_dir)
    data = json.loads((raw_dir / REGIONS_FILE).read_text(encoding="utf-8"))
    try:
        frame = pd.DataFrame({"code": data["reg"],
                              **{c: data[k] for c, k in CLASSIFICATIONS.items()}})
    except (KeyError, ValueError) as exc:  # a list absent or of another length
        raise RawDataError(
            f"{raw_dir / REGIONS_FILE}: not a 83287NED region list ({exc})"
        ) from None
    if frame["code"].duplicated().any():
        raise RawDataError(f"{REGIONS_FILE}: {frame['code'][frame['code'].duplicated()].iloc[0]} "
                           "appears twice")
    return frame.set_index("code")


def _pieces(history, boundary_year: int, population: pd.Series) -> pd.DataFrame:
    """``unit`` (a code of ``boundary_year``), ``code`` (of 2016), ``inhabitants`` (2015)."""
    from analysis.data.district_map import YEAR as DISTRICT_YEAR

    to_2016 = history.crosswalk(DISTRICT_YEAR, REGIONS_YEAR, population=population.to_dict())
    to_2016["inhabitants"] = to_2016["from_code"].map(population) * to_2016["weight"]
    if boundary_year < REGIONS_YEAR:  # each 2015 code through its 2016 successors
        return to_2016.rename(columns={"from_code": "unit", "to_code": "code"})
    in_2016 = to_2016.groupby("to_code")["inhabitants"].sum()
    walk = history.crosswalk(REGIONS_YEAR, boundary_year, population=in_2016.to_dict())
    walk["inhabitants"] = walk["from_code"].map(in_2016) * walk["weight"]
    return walk.rename(columns={"to_code": "unit", "from_code": "code"})


def load_regions(
    boundary_year: int = 2023,
    *,
    history=None,
    raw_dir: str | Path | None = None,
    population: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Youth-care region, labour-market region, COROP and province of every municipality.

    Parameters
    ----------
    boundary_year : int
        Municipalities of 1 January of this year (2015 or later).
    history : BoundaryHistory, optional
        Default: the vendored CBS history ``data/raw/statline/03759ned/codes-RegioS.json``.
    raw_dir : str or Path, optional
        Folder of the vendored 83287NED file (default ``data/raw/regions``).
    population : mapping, optional
        Inhabitants per 2015 code weighting a choice between regions; default the
        district map's ``AANT_INW`` (1 January 2015).

    Returns
    -------
    pandas.DataFrame
        One row per municipality of ``boundary_year``: ``municipality``, ``name``,
        ``youth_care_region`` (JZ01-JZ42), ``labour_market_region`` (AM..), ``corop``
        (CR..), ``province`` (PV..; the code CBS's boundary history gives the unit, the
        population-share choice only where the history has none), ``<column>_share``
        (share of the unit's 2015 inhabitants living in the chosen region: 1 unless the
        predecessors lay in different regions) and ``regions_split`` (the classifications
        in which another region holds at least 0.5 % of them, ``;``-joined, ``""`` when
        none). ``attrs``: ``rule``,
        ``source``, ``boundary_year``, ``split_units`` (code -> classifications).

    Raises
    ------
    ValueError
        When ``boundary_year`` is before 2015 or a unit has no 2016 predecessor.

    Examples
    --------
    >>> regions = load_regions(2023)
    >>> len(regions), regions["youth_care_region"].nunique()
    (342, 42)
    >>> amsterdam = regions.set_index("municipality").loc["GM0363"]
    >>> amsterdam[["youth_care_region", "regions_split"]].tolist()
    ['JZ13', 'youth_care_region;labour_market_region;corop']
    """
    from analysis.data.boundaries import load_boundary_history
    from analysis.data.district_map import YEAR as DISTRICT_YEAR
    from analysis.data.district_map import population_2015

    if boundary_year < DISTRICT_YEAR:
        raise ValueError(f"load_regions: boundary year {boundary_year} is before 2015, the year "
                         "of the population that weighs a merged unit's region")
    raw_dir = Path(raw_dir) if raw_dir is not None else paths.RAW / "regions"
    members = _memberships(raw_dir)
    if history is None:
        history = load_boundary_history(paths.STATLINE_RAW / "03759ned" / "codes-RegioS.json")
    weights = pd.Series(population, dtype=float) if population is not None else population_2015()
    pieces = _pieces(history, boundary_year, weights)
    absent = sorted(set(pieces["code"]) - set(members.index))
    if absent:
        raise ValueError(f"{REGIONS_FILE} has no regions for 2016 code(s) {absent[:5]}")
    units = history.municipalities_on(boundary_year)
    out = pd.DataFrame({schema.MUNICIPALITY: units})
    out[schema.NAME] = [history.name(c) for c in units]
    total = pieces.groupby("unit")["inhabitants"].sum()
    split: dict[str, list[str]] = {}
    for column in CLASSIFICATIONS:
        by_region = (pieces.assign(region=pieces["code"].map(members[column]))
                     .groupby(["unit", "region"])["inhabitants"].sum())
        share = by_region / total.reindex(by_region.index, level="unit")
        best = share.reset_index(name="share").sort_values(
            ["unit", "share", "region"], ascending=[True, False, True]).drop_duplicates("unit")
        chosen = out[schema.MUNICIPALITY].map(best.set_index("unit")["region"])
        if column == schema.PROVINCE:  # the province CBS's history gives the unit itself
            listed = out[schema.MUNICIPALITY].map(history.province)
            chosen = listed.where(listed.notna(), chosen)
        out[column] = chosen
        out[column + SHARE_SUFFIX] = [
            float(share.get((u, r), 0.0)) for u, r in zip(out[schema.MUNICIPALITY], chosen,
                                                          strict=True)]
        others = share[share >= SPLIT_MIN_SHARE].reset_index().groupby("unit")["region"].nunique()
        for code in others[others > 1].index:
            split.setdefault(code, []).append(column)
    unplaced = out.loc[out[YOUTH_CARE_REGION].isna(), schema.MUNICIPALITY].tolist()
    if unplaced:
        raise ValueError(f"load_regions: {unplaced[:5]} have no predecessor among the 2016 codes")
    out[SPLIT] = out[schema.MUNICIPALITY].map(lambda c: ";".join(split.get(c, [])))
    out.attrs.update(
        boundary_year=boundary_year,
        source="CBS 83287NED Gebieden in Nederland 2016 (Bron: CBS), data/raw/regions",
        rule="memberships of 1 January 2016 carried through CBS's boundary history; a unit "
        "whose 2016 predecessors lay in different regions takes the region holding most of "
        "its inhabitants of 1 January 2015 (district map AANT_INW), flagged in regions_split "
        f"when another region holds at least {SPLIT_MIN_SHARE:.1%} of them; province from the "
        "boundary history",
        split_units={c: v for c, v in split.items() if c in set(units)},
    )
    return out


__all__ = ["COROP", "LABOUR_MARKET_REGION", "YOUTH_CARE_REGION", "load_regions"]
