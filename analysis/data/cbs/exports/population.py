"""Denominators of the StatLine panel: measured, derived, and how well they agree.

No vendored StatLine table carries a population before 2015. From 2019 it is 03759ned's
M000352 (1 January). For 2015 and 2018 it is the district maps' ``AANT_INW`` (CBS Wijk- en
buurtkaart 2015 and 2018, 1 January, all 393 and 380 municipalities;
:mod:`analysis.data.district_map`, routes :data:`DISTRICT_MAP_ROUTES`). For 2016-2017, and
for 2015 and 2018 when no district map is passed, it is derived from a count beside its
rate per 1,000 inhabitants (``count / rate * 1000``): :data:`POPULATION_ROUTES` in order,
the first that gives a value wins, each route checked against 03759ned on 2019-2023 and
against the district maps in 2015 and 2018 (the checks go in the sidecar). The youth
denominator is the 0-22 population implied by CBS's youth care count beside its
percentage of young people ("jongeren tot 23 jaar").

Identifying assumption: every rate a route divides by refers to the 1 January population
(confirmed for the Wmo rates, median error 0.0 %; the youth care cost rates are 0.2 % off
and come last). Fails where CBS rounds a small rate: a whole-number rate of 10 per 1,000
bounds the population only to +-5 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data import schema
from analysis.data.cbs.exports.tables import (
    JZ_TOTAL,
    SPENDING_TOTAL,
    WMO_TOTAL,
    Source,
    TableReader,
)

FIRST_YEAR, LAST_YEAR = 2011, 2023
NOT_DERIVABLE = "not derivable: count or % missing or 0"

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
# CBS Wijk- en buurtkaart of the year, population of 1 January (data/raw/district_map)
DISTRICT_MAP_ROUTES = {2015: "district_map_2015_AANT_INW", 2018: "district_map_2018_AANT_INW"}
DISTRICT_MAP = DISTRICT_MAP_ROUTES[2015]
DERIVED_YEARS = (2015, 2018)


def district_map_population(raw_dir: Path | None = None) -> pd.DataFrame:
    """Inhabitants on 1 January 2015 and 2018 (vendored district maps).

    ``municipality, year, value, status, route`` (route: :data:`DISTRICT_MAP_ROUTES`).
    """
    from analysis.data.district_map import population_2015

    frames = []
    for year, route in DISTRICT_MAP_ROUTES.items():
        values = population_2015(raw_dir, year=year)
        frames.append(pd.DataFrame({schema.MUNICIPALITY: values.index, schema.YEAR: year,
                                    "value": values.to_numpy(), "status": None, "route": route}))
    return pd.concat(frames, ignore_index=True)


def measured_population(v4_dir: Path) -> pd.DataFrame:
    """03759ned M000352 (population on 1 January), 2019-2023: ``municipality, year, value``."""
    from analysis.data.sources import read_v4_directory

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


def derive_population(
    reader: TableReader, measured: pd.DataFrame, district: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict]:
    """Population per municipality and year with the route of every value.

    Parameters
    ----------
    reader : analysis.data.cbs.exports.tables.TableReader
        Reads the vendored tables the routes need.
    measured : pandas.DataFrame
        :func:`measured_population` (03759ned, 2019 onwards).
    district : pandas.DataFrame, optional
        :func:`district_map_population` (1 January 2015 and 2018): it wins over every
        derived route in its years (its own ``route``).

    Returns
    -------
    population : pandas.DataFrame
        ``municipality, year, value, status, route``: measured from 2019 (03759ned) and in
        the district maps' years (``district``), derived elsewhere in 2015-2018 by the
        first route of :data:`POPULATION_ROUTES` that gives a value.
    routes : dict
        The rule, the rows per year and route, and each route's check against 03759ned
        on 2019-2023 (median, 1st and 99th percentile and largest relative error, and the
        share within the rate's rounding) for the sidecar.

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> from analysis.data.cbs.exports.tables import TableReader
    >>> raw = Path("data/raw/statline")
    >>> reader = TableReader(raw / "csv", load_boundary_history(raw / "03759ned/codes-RegioS.json"))
    >>> population, routes = derive_population(reader, measured_population(raw / "03759ned"))
    >>> population.query("municipality == 'GM1680' and year == 2018")[["value", "route"]].to_dict(
    ...     "records")
    [{'value': 25418.0, 'route': 'wmo_spending_realised'}]
    """
    keys = [schema.MUNICIPALITY, schema.YEAR]
    out = measured.assign(route=MEASURED)
    check = measured.set_index(keys)["value"]
    chosen, validation, against_map = [], {}, {}
    taken: set[tuple[str, int]] = set()
    if district is not None:
        out = pd.concat([out, district], ignore_index=True)
        taken = set(zip(district[schema.MUNICIPALITY], district[schema.YEAR], strict=True))
    for route in POPULATION_ROUTES:
        values = _route_values(reader, route)
        validation[route.name] = _validate(values, check) | {"rule": route.describe()}
        if district is not None:
            against_map[route.name] = _validate(values, district.set_index(keys)["value"])
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
        "rule": "1 January population: 03759ned M000352 from 2019; "
        + ("in 2015 and 2018 the district maps (" + ", ".join(DISTRICT_MAP_ROUTES.values())
           + ", data/raw/district_map); " if district is not None else "")
        + "for 2015-2018 otherwise the first route in this order that gives a value: "
        + ", ".join(r.name for r in POPULATION_ROUTES) + "; none before 2015",
        "routes": {r.name: r.describe() for r in POPULATION_ROUTES},
        "rows_per_year_and_route": {
            str(y): {r: int(n) for r, n in g.droplevel(0).items()}
            for y, g in per_year.groupby(level=0)
        },
        "check_against_03759ned_2019_2023": validation,
        **({"check_against_district_maps_2015_2018": against_map}
           if district is not None else {}),
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


def youth_population(reader: TableReader) -> pd.DataFrame:
    """Young people aged 0-22 implied by the youth care count beside its percentage.

    ``JongerenMetJeugdzorg_1 / JongerenMetJeugdzorgRelatief_2 * 100`` (84134NED, 85099NED),
    rounded to whole persons; missing (with the CBS reason or "not derivable") where the
    count or the % is missing or 0. CBS rounds the count to 5 and the % to 0.1.
    """
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

class PartialPopulationHistory:
    """A boundary history whose crosswalk tolerates a year with partial population.

    :meth:`analysis.data.boundaries.BoundaryHistory.crosswalk` weights a boundary correction
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
                if "population" in str(exc):
                    raise ValueError(
                        f"{exc} (the StatLine bundle has no population before 2015: choose "
                        "--boundary-year 2015 or later)"
                    ) from None
                raise
            self.fallbacks[int(from_year)] = (
                f"{exc}; crosswalk {from_year}->{to_year} built without population, so "
                "boundary corrections of continuing municipalities are ignored for this year"
            )
            try:
                return self._history.crosswalk(from_year, to_year)
            except ValueError as again:  # mapping backwards needs population: none here
                raise ValueError(
                    f"{again} (the StatLine bundle has too little population to map "
                    f"{from_year} back onto {to_year}: choose --boundary-year 2015 or later)"
                ) from None

    def __getattr__(self, name: str):
        return getattr(self._history, name)


__all__ = ["DISTRICT_MAP", "DISTRICT_MAP_ROUTES", "POPULATION_ROUTES", "PartialPopulationHistory",
           "derive_population", "district_map_population", "measured_population",
           "youth_population"]
