"""The real CBS StatLine panel: vendored tables -> one row per municipality and year.

``data/raw/statline/`` holds 19 StatLine tables as ``cbsodata`` wrote them (labels, not
codes) and the 03759ned population and region list (OData v4). This module reads them
into the vocabulary of :mod:`analysis.schema`, each year on its own boundaries; the
harmonisation onto one year's boundaries is the shared one
(:func:`analysis.panel.harmonise_to_boundaries`).

Columns and their tables (yearly rows only; half-years and quarters never enter):

* ``youth_care_users``: young people with youth care under the Jeugdwet, 84134NED
  (2015-2020) then 85099NED (2021-2023), category ``JZ Totaal jeugdzorg``;
* ``youth_care_users_pre2015``: provincial youth care under the old law, 82354NED,
  2011-2014 (a different concept: no level comparison across 2015);
* ``awbz_youth_indications``: young people with an AWBZ indication, 82552NED, 2011-2014;
* ``wmo_clients``: 83262NED (2015-2020) then 84839NED (2021-2023), which agree exactly
  in their overlap 2019-2020; the revised edition 86050NED (2017-2023) differs (up to
  2.9 % nationally in 2018) and is recorded beside them as a seam, not mixed in;
* ``bijstand_recipients`` and ``population_15plus``: 83450NED, 83747NED, 84066NED
  (age ``15 jaar of ouder``; one table per year 2015-2017);
* ``youth_care_cost`` (realised, x 1,000 euro; 83454NED, 2015-2023) and
  ``wmo_spending`` (realised, x 1,000 euro; 84580NED, 2017-2023);
* ``population`` (1 January): 03759ned M000352 from 2019; for 2015-2018 derived from a
  count beside its rate per 1,000 inhabitants (:data:`POPULATION_ROUTES`, first that
  exists), the route in ``population_route``; none before 2015;
* ``youth_population``: young people aged 0-22 (CBS's ``tot 23 jaar``, the reference of
  ``JongerenMetJeugdzorgRelatief_2``, "% bepaalde leeftijdsklasse") derived as
  ``youth_care_users / relative % * 100``, 2015-2023.

Missing stays missing: an empty StatLine cell becomes NaN with the reason in
``<column>_status``; a year no table covers says so.

Identification caveat carried by the panel: there is no population before 2015, so the
baseline year that fixes size classes is 2015 (the first year with population), and
population in 2015-2016 exists only where a municipality reported Wmo or youth care
costs (about half of them in 2015): size classes are missing elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths, schema
from analysis.statline.tables import (
    AGE_15_PLUS,
    AWBZ_TOTAL,
    JZ_TOTAL,
    OLD_LAW_TOTAL,
    SPENDING_TOTAL,
    TABLE_TITLES,
    WMO_TOTAL,
    WMO_TOTAL_NEW,
    Source,
    TableReader,
)

LABEL = "REAL CBS DATA: CBS StatLine (Bron: CBS), vendored in data/raw/statline"
BASELINE_YEAR = 2015  # the first year with a population figure
FIRST_YEAR, LAST_YEAR = 2011, 2023
YOUTH_POPULATION = "youth_population"
POPULATION_15PLUS = "population_15plus"
POPULATION_ROUTE = "population_route"
NOT_IN_BUNDLE = "not in the StatLine bundle (no table for it)"
NO_TABLE = "no vendored StatLine table covers this year"
NO_ROUTE = "no population route: neither Wmo nor youth care cost figures with their rate"
NOT_DERIVABLE = "not derivable: count or % missing or 0"

BIJSTAND = ("83450NED", "83747NED", "84066NED")
BIJSTAND_TOPIC = {"84066NED": "Bijstandsontvangers_2"}
COLUMNS: dict[str, tuple[Source, ...]] = {
    "youth_care_users": (
        Source("84134NED", "JongerenMetJeugdzorg_1", JZ_TOTAL),
        Source("85099NED", "JongerenMetJeugdzorg_1", JZ_TOTAL),
    ),
    "youth_care_users_pre2015": (Source("82354NED", "JongerenInJeugdzorg_1", OLD_LAW_TOTAL),),
    "awbz_youth_indications": (
        Source("82552NED", "JongerenMetAWBZIndicatieInJaar_1", AWBZ_TOTAL),
    ),
    "wmo_clients": (
        Source("83262NED", "WmoClienten_1", WMO_TOTAL, (2015, 2020)),
        Source("84839NED", "WmoClienten_1", WMO_TOTAL_NEW, (2021, 2023)),
    ),
    "bijstand_recipients": tuple(
        Source(t, BIJSTAND_TOPIC.get(t, "Bijstandontvangers_2"), AGE_15_PLUS) for t in BIJSTAND
    ),
    POPULATION_15PLUS: tuple(Source(t, "Inwoners_1", AGE_15_PLUS) for t in BIJSTAND),
    "youth_care_cost": (Source("83454NED", "GerealiseerdeKosten_2", JZ_TOTAL),),
    "wmo_spending": (Source("84580NED", "GerealiseerdeUitgaven_3", SPENDING_TOTAL),),
}
# Editions compared where they overlap (recorded as seams, never mixed into the panel).
CROSS_CHECKS = {
    "wmo_clients": (
        Source("83262NED", "WmoClienten_1", WMO_TOTAL),
        Source("84839NED", "WmoClienten_1", WMO_TOTAL_NEW),
        Source("86050NED", "WmoClienten_1", WMO_TOTAL_NEW),
    ),
}
YOUTH_SOURCES = (
    (Source("84134NED", "JongerenMetJeugdzorg_1", JZ_TOTAL),
     Source("84134NED", "JongerenMetJeugdzorgRelatief_2", JZ_TOTAL)),
    (Source("85099NED", "JongerenMetJeugdzorg_1", JZ_TOTAL),
     Source("85099NED", "JongerenMetJeugdzorgRelatief_2", JZ_TOTAL)),
)  # fmt: skip


@dataclass(frozen=True)
class Route:
    """Population implied by ``count / rate per 1,000 inhabitants * 1,000``."""

    name: str
    count: Source
    rate: Source
    period: str = "year"  # the half-year rows carry the same 1 January population

    def describe(self) -> str:
        return f"{self.count.table} {self.count.topic} / {self.rate.topic} * 1000 ({self.period})"


# First route that gives a value wins. Order by agreement with 03759ned in 2019-2023
# (recorded in the sidecar): Wmo spending (euro per inhabitant, rounding under 0.5 %)
# and Wmo clients match 1 January population with median error 0.0 %; the youth care
# cost rates use another reference population (median +0.2 %), so they come last.
POPULATION_ROUTES = (
    Route("wmo_spending_realised",
          Source("84580NED", "GerealiseerdeUitgaven_3", SPENDING_TOTAL),
          Source("84580NED", "GerealiseerdeUitgavenPer1000Inwoners_4", SPENDING_TOTAL)),
    Route("wmo_spending_budgeted",
          Source("84580NED", "BegroteUitgaven_1", SPENDING_TOTAL),
          Source("84580NED", "BegroteUitgavenPer1000Inwoners_2", SPENDING_TOTAL)),
    Route("wmo_clients",
          Source("83262NED", "WmoClienten_1", WMO_TOTAL),
          Source("83262NED", "WmoClientenPer1000Inwoners_2", WMO_TOTAL)),
    Route("wmo_clients_2nd_half_year",
          Source("83262NED", "WmoClienten_1", WMO_TOTAL),
          Source("83262NED", "WmoClientenPer1000Inwoners_2", WMO_TOTAL), "half-year:2"),
    Route("wmo_clients_1st_half_year",
          Source("83262NED", "WmoClienten_1", WMO_TOTAL),
          Source("83262NED", "WmoClientenPer1000Inwoners_2", WMO_TOTAL), "half-year:1"),
    Route("youth_care_cost_realised",
          Source("83454NED", "GerealiseerdeKosten_2", JZ_TOTAL),
          Source("83454NED", "GerealiseerdeKostenPer1000Inwoners_4", JZ_TOTAL)),
    Route("youth_care_cost_budgeted",
          Source("83454NED", "BegroteKosten_1", JZ_TOTAL),
          Source("83454NED", "BegroteKostenPer1000Inwoners_3", JZ_TOTAL)),
)  # fmt: skip
MEASURED = "03759ned_M000352"
DERIVED_YEARS = (2015, 2018)


def build_statline_panel(raw_dir: str | Path | None = None):
    """The unharmonised StatLine panel, its boundary history and provenance.

    Parameters
    ----------
    raw_dir : str or Path, optional
        The vendored bundle (default ``data/raw/statline`` under ``DECENTRALISATION_DATA``);
        every file is checked against ``manifest.json`` first.

    Returns
    -------
    panel : pandas.DataFrame
        One row per municipality existing on 1 January of each year 2011-2023:
        ``municipality, name, year, province``, the counts and denominators of the module
        docstring with ``<column>_status``, and ``population_route``.
    history : analysis.boundaries.BoundaryHistory
        From ``03759ned/codes-RegioS.json``.
    manifest : dict
        The raw manifest plus ``tables``, ``seams``, and ``statline`` (population routes
        and their check against 03759ned, regional aggregates left out per table, figures
        for municipalities outside their lifetime, municipalities absent per table).

    Raises
    ------
    analysis.build.RawDataError
        When a vendored file is missing or differs from its manifest sha256.
    analysis.statline.names.UnmatchedMunicipalityError
        When a region label is neither a municipality of its year nor a known aggregate.

    Examples
    --------
    >>> panel, history, manifest = build_statline_panel()  # doctest: +SKIP
    >>> panel.query("municipality == 'GM0363' and year == 2019")["population"].item()
    ... # doctest: +SKIP
    862965.0
    """
    from analysis.boundaries import load_boundary_history
    from analysis.build import verify_manifest

    raw_dir = Path(raw_dir) if raw_dir is not None else paths.STATLINE_RAW
    manifest = verify_manifest(raw_dir)
    history = load_boundary_history(raw_dir / "03759ned" / "codes-RegioS.json")
    reader = TableReader(raw_dir / "csv", history)
    columns, seams = {}, []
    for column, sources in COLUMNS.items():
        columns[column], found = _stitch(column, [(s, reader.series(s)) for s in sources])
        seams += found
    seams += _cross_checks(reader)
    measured = _measured_population(raw_dir / "03759ned")
    population, routes = _population(reader, measured)
    columns[schema.POPULATION] = population
    columns[YOUTH_POPULATION] = _youth_population(reader)
    panel = _assemble(columns, history)
    tolerant = PartialPopulationHistory(history)
    out = dict(manifest)
    out.update(
        source="statline",
        synthetic=False,
        label=LABEL,
        tables=_tables_used(manifest),
        seams=seams,
        statline={
            "baseline_year": BASELINE_YEAR,
            "population_routes": routes,
            # filled while the panel is harmonised (the same dict object), then written
            "crosswalk_without_population": tolerant.fallbacks,
            "youth_population": "young people aged 0-22 (CBS: jongeren tot 23 jaar) = "
            "youth_care_users / JongerenMetJeugdzorgRelatief_2 * 100 (84134NED, 85099NED); "
            "counts are rounded to 5 and the % to 0.1 by CBS, so it is approximate",
            "regional_aggregates_left_out": reader.aggregates,
            "n_regional_aggregates_left_out": sum(len(v) for v in reader.aggregates.values()),
            "figures_outside_lifetime_left_out": reader.outside_lifetime,
            "municipalities_absent_from_table": {
                t: {str(y): codes for y, codes in years.items()}
                for t, years in reader.absent.items()
            },
        },
    )
    return panel, tolerant, out


class PartialPopulationHistory:
    """A boundary history whose crosswalk tolerates a year with partial population.

    :meth:`analysis.boundaries.BoundaryHistory.crosswalk` weights a boundary correction
    (part of a continuing municipality moving) by the giver's population and raises when
    a needed population is missing. The StatLine population of 2015-2018 is derived and
    partial, so for such a year the crosswalk is built without population: corrections
    are then ignored (the giver keeps its weight, as the boundary module documents);
    mergers and splits are unaffected. Every year this happened is in ``fallbacks``.
    """

    def __init__(self, history) -> None:
        self._history = history
        self.fallbacks: dict[int, str] = {}

    def crosswalk(self, from_year: int, to_year: int, population=None) -> pd.DataFrame:
        try:
            return self._history.crosswalk(from_year, to_year, population=population)
        except ValueError as exc:
            if population is None or "population" not in str(exc):
                raise
            self.fallbacks[int(from_year)] = (
                f"{exc}; crosswalk {from_year}->{to_year} built without population, so "
                "boundary corrections of continuing municipalities are ignored for this year"
            )
            return self._history.crosswalk(from_year, to_year)

    def __getattr__(self, name: str):
        return getattr(self._history, name)


# --------------------------------------------------------------------------- columns


def _stitch(column: str, parts: list[tuple[Source, pd.DataFrame]]):
    """One column from its editions (their year ranges do not overlap); seams recorded."""
    keys = [schema.MUNICIPALITY, schema.YEAR]
    seams = []
    for (before, a), (after, b) in zip(parts, parts[1:], strict=False):
        seams.append(
            {
                "column": column,
                "from_table": before.table,
                "to_table": after.table,
                "last_year_before": int(a[schema.YEAR].max()),
                "first_year_after": int(b[schema.YEAR].min()),
                "rule": "one table per year: " + "; ".join(s.describe() for s, _ in parts),
            }
        )
    stacked = pd.concat([frame for _, frame in parts], ignore_index=True)
    duplicated = stacked.duplicated(keys, keep=False)
    if duplicated.any():
        raise ValueError(f"{column}: editions overlap in years {sorted(stacked[duplicated].year)}")
    return stacked, seams


def compare_editions(a: pd.DataFrame, b: pd.DataFrame) -> list[dict]:
    """Per overlapping year: how two editions of one count differ, municipality by municipality.

    ``a`` and ``b`` are ``municipality, year, value`` frames. Returns one record per year
    both cover with ``municipalities`` (both filled), ``only_first``/``only_second``,
    ``equal`` (share of identical values), ``total_difference`` (sum b / sum a - 1 on
    municipalities both report), and the median and maximum absolute relative difference
    with the municipality where it is largest.
    """
    keys = [schema.MUNICIPALITY, schema.YEAR]
    both = a[[*keys, "value"]].merge(b[[*keys, "value"]], on=keys, suffixes=("_a", "_b"))
    records = []
    for year, g in both.groupby(schema.YEAR):
        filled = g.dropna(subset=["value_a", "value_b"])
        if filled.empty:
            continue
        rel = (filled["value_b"] / filled["value_a"].where(filled["value_a"] != 0) - 1).abs()
        worst = filled.loc[rel.idxmax()] if rel.notna().any() else None
        records.append(
            {
                "year": int(year),
                "municipalities": len(filled),
                "only_first": int((g["value_a"].notna() & g["value_b"].isna()).sum()),
                "only_second": int((g["value_a"].isna() & g["value_b"].notna()).sum()),
                "equal": round(float((filled["value_a"] == filled["value_b"]).mean()), 4),
                "total_difference": round(
                    float(filled["value_b"].sum() / filled["value_a"].sum() - 1), 5
                ),
                "median_abs_relative_difference": round(float(rel.median()), 5),
                "max_abs_relative_difference": round(float(rel.max()), 4),
                "max_at": None if worst is None else str(worst[schema.MUNICIPALITY]),
            }
        )
    return records


def _cross_checks(reader: TableReader) -> list[dict]:
    seams = []
    for column, sources in CROSS_CHECKS.items():
        frames = {s.table: reader.series(s) for s in sources}
        tables = list(frames)
        for i, first in enumerate(tables):
            for second in tables[i + 1 :]:
                overlap = compare_editions(frames[first], frames[second])
                if overlap:
                    seams.append(
                        {"column": column, "from_table": first, "to_table": second,
                         "overlap_years": [r["year"] for r in overlap], "comparison": overlap,
                         "used_in_panel": all(
                             any(s.table == t for s in COLUMNS[column]) for t in (first, second)
                         )}
                    )  # fmt: skip
    return seams


def _measured_population(v4_dir: Path) -> pd.DataFrame:
    """03759ned M000352 (population on 1 January) per municipality and year."""
    from analysis.sources import read_v4_directory

    frame = read_v4_directory(v4_dir, {"M000352": "population", "M000365": "average"})
    frame = frame[frame[schema.YEAR].between(FIRST_YEAR, LAST_YEAR)]
    return pd.DataFrame(
        {
            schema.MUNICIPALITY: frame[schema.MUNICIPALITY],
            schema.YEAR: frame[schema.YEAR].astype("int64"),
            "value": frame["population"].astype(float),
            "status": frame["population" + schema.STATUS_SUFFIX].where(
                frame["population"].isna()
            ),
        }
    )


def _route_values(reader: TableReader, route: Route) -> pd.DataFrame:
    kind, _, number = route.period.partition(":")
    frame = reader.table(route.count.table, kind)
    if number:
        frame = frame[frame["period_number"] == int(number)]
    for dimension, label in route.count.filters:
        frame = frame[frame[dimension] == label]
    rate = frame[route.rate.topic].where(frame[route.rate.topic] > 0)
    value = (frame[route.count.topic] / rate * 1000).round()
    return pd.DataFrame(
        {
            schema.MUNICIPALITY: frame[schema.MUNICIPALITY].astype(str),
            schema.YEAR: frame["year"].astype("int64"),
            "value": value,
            "bound": 0.5 / rate,  # relative error from the rate's rounding to a whole number
        }
    ).dropna(subset=["value"])


def _population(reader: TableReader, measured: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Measured population from 2019, derived 2015-2018; the route of every value."""
    keys = [schema.MUNICIPALITY, schema.YEAR]
    out = measured.assign(route=MEASURED)
    check = measured.set_index(keys)["value"]
    chosen, validation = [], {}
    taken: set[tuple[str, int]] = set()
    for route in POPULATION_ROUTES:
        values = _route_values(reader, route)
        validation[route.name] = _validate(values, check) | {"rule": route.describe()}
        window = values[values[schema.YEAR].between(*DERIVED_YEARS)]
        fresh = [k not in taken for k in zip(window[schema.MUNICIPALITY], window[schema.YEAR],
                                              strict=True)]  # fmt: skip
        pick = window[fresh].assign(route=route.name, status=None)
        taken |= set(zip(pick[schema.MUNICIPALITY], pick[schema.YEAR], strict=True))
        chosen.append(pick)
    derived = pd.concat(chosen, ignore_index=True).drop(columns="bound")
    out = pd.concat([out, derived], ignore_index=True)
    per_year = out.groupby([schema.YEAR, "route"]).size()
    routes = {
        "rule": "1 January population: 03759ned M000352 from 2019; for 2015-2018 the first "
        "route in this order that gives a value: " + ", ".join(r.name for r in POPULATION_ROUTES)
        + "; none before 2015",
        "routes": {r.name: r.describe() for r in POPULATION_ROUTES},
        "rows_per_year_and_route": {
            str(y): {r: int(n) for r, n in g.droplevel(0).items()}
            for y, g in per_year.groupby(level=0)
        },
        "check_against_03759ned_2019_2023": validation,
    }
    return out, routes


def _validate(values: pd.DataFrame, measured: pd.Series) -> dict:
    """How a route's derived population compares with 03759ned where both exist."""
    keys = [schema.MUNICIPALITY, schema.YEAR]
    joined = values.set_index(keys).join(measured.rename("measured"), how="inner").dropna()
    if joined.empty:
        return {"municipality_years": 0}
    error = joined["value"] / joined["measured"] - 1
    return {
        "municipality_years": len(joined),
        "median_relative_error": round(float(error.median()), 5),
        "q01_relative_error": round(float(error.quantile(0.01)), 5),
        "q99_relative_error": round(float(error.quantile(0.99)), 5),
        "max_abs_relative_error": round(float(error.abs().max()), 5),
        "share_within_rounding": round(
            float((error.abs() <= joined["bound"] + 1e-6 + 0.5 / joined["measured"]).mean()), 4
        ),
    }


def _youth_population(reader: TableReader) -> pd.DataFrame:
    """Young people aged 0-22 implied by the youth care count beside its percentage."""
    frames = []
    for count_source, share_source in YOUTH_SOURCES:
        count, share = reader.series(count_source), reader.series(share_source)
        keys = [schema.MUNICIPALITY, schema.YEAR]
        both = count.merge(share, on=keys, suffixes=("", "_share"))
        usable = (both["value"] > 0) & (both["value_share"] > 0)
        value = (both["value"] / both["value_share"].where(usable) * 100).round()
        # missing: the CBS reason of the count or the %, else "0 or missing" (not derivable)
        status = both["status"].where(both["status"].notna(), both["status_share"])
        status = status.where(status.notna(), NOT_DERIVABLE).where(value.isna())
        frames.append(both[keys].assign(value=value, status=status))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- the panel


def _assemble(columns: dict[str, pd.DataFrame], history) -> pd.DataFrame:
    """Every municipality of every year 2011-2023, each column with its status."""
    keys = [schema.MUNICIPALITY, schema.YEAR]
    grid = pd.DataFrame(
        [(code, year) for year in range(FIRST_YEAR, LAST_YEAR + 1)
         for code in history.municipalities_on(year)],
        columns=keys,
    )  # fmt: skip
    panel = grid
    for column, frame in columns.items():
        status = column + schema.STATUS_SUFFIX
        extra = ["route"] if "route" in frame else []
        part = frame[[*keys, "value", "status", *extra]].rename(
            columns={"value": column, "status": status, "route": POPULATION_ROUTE}
        )
        unknown = part.merge(grid, how="left", indicator=True)
        unknown = unknown[unknown["_merge"] == "left_only"]
        if len(unknown):
            first = unknown.iloc[0]
            raise ValueError(
                f"{column}: {first[schema.MUNICIPALITY]} in {first[schema.YEAR]} is not a "
                "municipality on 1 January of that year"
            )
        panel = panel.merge(part, on=keys, how="left")
        covered = set(frame[schema.YEAR])
        absent = panel[column].isna() & panel[status].isna()
        panel.loc[absent & panel[schema.YEAR].isin(covered), status] = (
            "no row for this municipality in the table"
        )
        panel.loc[absent & ~panel[schema.YEAR].isin(covered), status] = NO_TABLE
        if column == schema.POPULATION:
            panel.loc[
                absent & panel[schema.YEAR].between(*DERIVED_YEARS), status
            ] = NO_ROUTE
    for column in (*schema.COUNTS, *schema.DENOMINATORS):
        if column not in panel:  # vocabulary of other sources (e.g. population 0-17)
            panel[column] = float("nan")
            panel[column + schema.STATUS_SUFFIX] = NOT_IN_BUNDLE
    for column in panel.columns:
        if column.endswith(schema.STATUS_SUFFIX) or column == POPULATION_ROUTE:
            panel[column] = panel[column].astype(object).where(panel[column].notna(), None)
    periods = history.periods  # names never change under one code
    panel.insert(1, schema.NAME, panel[schema.MUNICIPALITY].map(periods["name"]))
    panel.insert(3, schema.PROVINCE, panel[schema.MUNICIPALITY].map(periods["province"]))
    return panel.sort_values([schema.YEAR, schema.MUNICIPALITY], ignore_index=True)


def _tables_used(manifest: dict) -> dict:
    used: dict[str, dict] = {}
    for column, sources in COLUMNS.items():
        for source in sources:
            used.setdefault(source.table, {"title": TABLE_TITLES[source.table], "columns": []})
            used[source.table]["columns"].append(column)
    for route in POPULATION_ROUTES:
        used.setdefault(route.count.table, {"title": TABLE_TITLES[route.count.table],
                                            "columns": []})  # fmt: skip
        if "population" not in used[route.count.table]["columns"]:
            used[route.count.table]["columns"].append("population")
    used["03759ned"] = {"title": "population on 1 January (M000352), region list", "columns": [
        "population", "municipality", "name", "province"]}  # fmt: skip
    for table, entry in used.items():
        name = f"csv/{table}.csv" if table != "03759ned" else "03759ned/observations-page-1.json"
        file = manifest.get("files", {}).get(name, {})
        entry.update(source=file.get("source"), sha256=file.get("sha256"))
    return used


def sidecar_summary(path: str | Path) -> str:
    """A short text of a built panel's StatLine sidecar (routes and unplaced regions)."""
    meta = json.loads(Path(path).read_text(encoding="utf-8"))["statline"]
    routes = meta["population_routes"]["rows_per_year_and_route"]
    lines = [f"{year}: {routes[year]}" for year in sorted(routes)]
    lines.append(f"regional aggregates left out: {meta['n_regional_aggregates_left_out']}")
    return "\n".join(lines)


__all__ = ["build_statline_panel", "compare_editions", "COLUMNS", "POPULATION_ROUTES"]
