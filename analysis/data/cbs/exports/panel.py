"""The real CBS StatLine panel: vendored tables -> one row per municipality and year.

``data/raw/statline/`` holds 19 StatLine tables as ``cbsodata`` wrote them (labels, not
codes) and the 03759ned population and region list (OData v4). This module reads them
into the vocabulary of :mod:`analysis.data.schema`, each year on its own boundaries; the
harmonisation onto one year's boundaries is the shared one
(:func:`analysis.data.harmonise.harmonise_to_boundaries`).

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
* ``youth_care_budget`` and ``wmo_budget``: the municipalities' own budgets beside them
  (same tables and unit; an exact 0 is "not reported" and stays missing);
* the forms of youth care (82972NED 2015-2020, 85098NED 2021-2023): five CBS shares
  (in kind, residential, protection, protection with residence, probation; rounded to
  0.1) and their counts on the 0-22 base, roles declared (:mod:`analysis.data.cbs.exports.forms`);
* ``population`` (1 January): 03759ned M000352 from 2019; in 2015 and 2018 the CBS
  district maps' ``AANT_INW`` (``data/raw/district_map``, all 393 and 380
  municipalities); for 2016-2017 derived from a count beside its rate per 1,000
  inhabitants (:data:`POPULATION_ROUTES`, first that exists); the route of every cell in
  ``population_route``; none before 2015;
* ``youth_population``: young people aged 0-22 (CBS's ``tot 23 jaar``, the reference of
  ``JongerenMetJeugdzorgRelatief_2``, "% bepaalde leeftijdsklasse") derived as
  ``youth_care_users / relative % * 100``, 2015-2023.

Missing stays missing: an empty StatLine cell becomes NaN with the reason in
``<column>_status``; a year no table covers says so.

Identification caveat carried by the panel: there is no population before 2015, so the
baseline year that fixes size classes is 2015 (the first year with population; every
municipality has one, from the district map), and population in 2016-2017 exists only
where a municipality reported Wmo or youth care costs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data import paths, schema
from analysis.data.cbs.exports.forms import BUDGETS, budget_series, form_columns, form_roles
from analysis.data.cbs.exports.population import (
    DERIVED_YEARS,
    FIRST_YEAR,
    LAST_YEAR,
    POPULATION_ROUTES,
    PartialPopulationHistory,
    derive_population,
    district_map_population,
    measured_population,
    youth_population,
)
from analysis.data.cbs.exports.tables import (
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
YOUTH_POPULATION = "youth_population"
POPULATION_15PLUS = "population_15plus"
POPULATION_ROUTE = "population_route"
NOT_IN_BUNDLE = "not in the StatLine bundle (no table for it)"
NO_TABLE = "no vendored StatLine table covers this year"
NO_ROUTE = "no population route: neither Wmo nor youth care cost figures with their rate"

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


def build_statline_panel(
    raw_dir: str | Path | None = None, district_map_dir: str | Path | None = None
):
    """The unharmonised StatLine panel, its boundary history and provenance.

    Parameters
    ----------
    raw_dir : str or Path, optional
        The vendored bundle (default ``data/raw/statline`` under ``DECENTRALISATION_DATA``);
        every file is checked against ``manifest.json`` first.
    district_map_dir : str or Path, optional
        The vendored CBS district maps 2015 and 2018 (default ``data/raw/district_map``),
        whose ``AANT_INW`` is the population of 1 January of every municipality (routes
        ``district_map_<year>_AANT_INW``); its files join ``manifest["files"]`` as
        ``../district_map/<name>``, so a changed map rebuilds a stored panel.

    Returns
    -------
    panel : pandas.DataFrame
        One row per municipality existing on 1 January of each year 2011-2023:
        ``municipality, name, year, province``, the counts and denominators of the module
        docstring with ``<column>_status``, and ``population_route``.
    history : PartialPopulationHistory
        The boundary history of ``03759ned/codes-RegioS.json``, whose crosswalk falls back
        to no population for a year whose derived population is partial (recorded).
    manifest : dict
        The raw manifest plus ``tables``, ``seams``, and ``statline`` (population routes
        and their check against 03759ned, regional aggregates left out per table, figures
        for municipalities outside their lifetime, municipalities absent per table).

    Raises
    ------
    analysis.data.build.RawDataError
        When a vendored file is missing or differs from its manifest sha256.
    analysis.data.cbs.exports.names.UnmatchedMunicipalityError
        When a region label is neither a municipality of its year nor a known aggregate.

    Examples
    --------
    >>> panel, history, manifest = build_statline_panel("data/raw/statline")
    >>> panel.query("municipality == 'GM0363' and year == 2019")["population"].item()
    862965.0
    >>> manifest["statline"]["n_regional_aggregates_left_out"]
    426
    """
    from analysis.data.boundaries import load_boundary_history
    from analysis.data.build import verify_manifest

    raw_dir = Path(raw_dir) if raw_dir is not None else paths.STATLINE_RAW
    manifest = verify_manifest(raw_dir)
    history = load_boundary_history(raw_dir / "03759ned" / "codes-RegioS.json")
    reader = TableReader(raw_dir / "csv", history)
    columns, seams = {}, []
    for column, sources in COLUMNS.items():
        columns[column], found = _stitch(column, [(s, reader.series(s)) for s in sources])
        seams += found
    seams += _cross_checks(reader)
    coded = _check_printed_codes(reader)
    half_only = _half_year_only(reader)
    measured = measured_population(raw_dir / "03759ned")
    district_dir = Path(district_map_dir) if district_map_dir else paths.RAW / "district_map"
    district = district_map_population(district_dir)
    population, routes = derive_population(reader, measured, district)
    columns[schema.POPULATION] = population
    columns[YOUTH_POPULATION] = youth_population(reader)
    columns.update({column: budget_series(reader, column) for column in BUDGETS})
    columns.update(form_columns(reader, columns[YOUTH_POPULATION]))
    panel = _assemble(columns, history)
    tolerant = PartialPopulationHistory(history)
    out = dict(manifest)
    out["files"] = {**manifest.get("files", {}), **{
        f"../district_map/{name}": entry
        for name, entry in verify_manifest(district_dir).get("files", {}).items()}}
    out.update(
        source="statline",
        synthetic=False,
        label=LABEL,
        roles=form_roles(),  # the form columns are not schema vocabulary: declared here
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
            "names_checked_against_printed_gm_codes": coded,
            "half_year_figures_without_year_figure_left_missing": half_only,
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


def _half_year_only(reader: TableReader) -> dict[str, dict[str, int]]:
    """Municipality-years with a half-year figure but no yearly one (kept missing).

    A yearly figure is never made from half-years: a client in both halves is one client
    in the year, so neither the sum nor the larger half is the yearly count.
    """
    found: dict[str, dict[str, int]] = {}
    for column, sources in COLUMNS.items():
        for source in sources:
            halves = reader.table(source.table, "half-year")
            if halves.empty:
                continue
            for dimension, label in source.filters:
                halves = halves[halves[dimension] == label]
            filled = halves[halves[source.topic].notna()][[schema.MUNICIPALITY, "year"]]
            year = reader.series(source)
            missing = year[year["value"].isna()].rename(columns={schema.YEAR: "year"})
            both = missing.merge(filled.drop_duplicates(), on=[schema.MUNICIPALITY, "year"])
            if len(both):
                counts = both.groupby("year").size()
                found[f"{column} ({source.table})"] = {str(y): int(n) for y, n in counts.items()}
    return found


# The Wmo-per-district tables print the GM code (Codering_3) beside each municipal name.
CODED_TABLES = ("84751NED", "84752NED", "84753NED", "85047NED")


def _check_printed_codes(reader: TableReader) -> dict[str, int]:
    """Every name mapped in a table that prints GM codes must land on the printed code."""
    checked = {}
    for table in CODED_TABLES:
        frame = reader.table(table)
        printed = frame["Codering_3"].str.strip()
        wrong = frame[frame[schema.MUNICIPALITY] != printed]
        if len(wrong):
            first = wrong.iloc[0]
            raise ValueError(
                f"{table}: {first['region']!r} in {first['year']} maps to "
                f"{first[schema.MUNICIPALITY]} but CBS prints {first['Codering_3']}"
            )
        reader.series(Source(table, "WmoClienten_5", WMO_TOTAL_NEW))  # records absentees
        checked[table] = len(frame)
    return checked


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
    for column, source in BUDGETS.items():
        used[source.table]["columns"].append(column)
    for table in ("82972NED", "85098NED"):
        used[table] = {"title": TABLE_TITLES[table], "columns": ["forms of youth care"]}
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


__all__ = ["COLUMNS", "build_statline_panel", "compare_editions"]
