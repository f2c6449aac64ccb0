"""The CBS tables the toolkit uses, one entry each, and how they map to panel columns.

Adding a table is one ``TableSpec`` in ``_ENTRIES``. A panel column served by several
tables (CBS publishes some series as one table per year, "editions") lists each table
with the same ``column``; ``analysis.cbs.build`` stitches them and records the seams.

``confirmed`` says whether the table id, measure keys and dimension codes were checked
against real CBS responses; ``evidence`` says how. An unconfirmed key is never trusted
silently: a fetch first reads the table's own metadata and stops with an error that lists
the measures the table does have, so a wrong key is a one-line catalogue fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from analysis.cbs.fetch import TITLE_PREFIX, Query
from analysis.schema import POPULATION, POPULATION_0_17, POPULATION_18_64


@dataclass(frozen=True)
class ColumnSpec:
    """One panel column: a measure, summed over the listed codes of each dimension.

    Every dimension of the table other than region and period must be pinned here
    (usually to its total code); listing several codes sums them, e.g. single years of
    age 0..17. A sum with any component missing is missing.
    """

    column: str
    measure: str  # v4 measure code (M000352) or v3 topic key (Totaal_1)
    dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scale: float = 1.0  # multiply CBS's value into the panel's unit


@dataclass(frozen=True)
class TableSpec:
    """One CBS table and its mapping to the panel."""

    table: str
    api: str
    title: str
    columns: tuple[ColumnSpec, ...]
    unit: str
    years: tuple[int, int | None]  # first and last year CBS publishes (None: ongoing)
    confirmed: bool
    evidence: str
    breaks: tuple[str, ...] = ()
    region_dim: str | None = "RegioS"  # None: the table's geographic dimension, by kind
    period_dim: str | None = "Perioden"  # None: the table's time dimension, by kind
    other_dims_total: bool = False  # pin every dimension not named in a column to its total
    period_suffix: str = "JJ00"  # the period code that gives a year's value
    default: bool = True  # fetched and built unless the user names other tables
    names: bool = False  # this table's region titles give the panel's ``name`` column

    def query(self, from_year: int | None = None, to_year: int | None = None) -> Query:
        """The server-side filtered fetch of this table for the panel."""
        dims: dict[str, list[str]] = {}
        for col in self.columns:
            for dim, codes in col.dims.items():
                dims.setdefault(dim, [])
                dims[dim] += [c for c in codes if c not in dims[dim]]
        first = max(from_year, self.years[0]) if from_year else self.years[0]
        return Query(
            table=self.table,
            api=self.api,
            from_year=first,
            to_year=to_year,
            measures=tuple(dict.fromkeys(c.measure for c in self.columns)),
            dims={k: tuple(v) for k, v in dims.items()},
            region_dim=self.region_dim,
            period_dim=self.period_dim,
            period_suffix=self.period_suffix,
            other_dims_total=self.other_dims_total,
        )


def _ages(first: int, last: int) -> tuple[str, ...]:
    # 03759ned Leeftijd codes for single years (codes-Leeftijd.json): 0 -> "10010",
    # 1..99 -> 10000 + 100 * age.
    return tuple("10010" if age == 0 else str(10000 + 100 * age) for age in range(first, last + 1))


_TOTALS_03759 = {"Geslacht": ("T001038",), "BurgerlijkeStaat": ("T001019",)}

_WMO_EDITION_NOTE = (
    "one table per year ('Wmo-cliënten; type maatwerkvoorziening, wijken, <year>'); "
    "the id and title of {table} were seen on its cbs.nl page ({year}: dimensions Type "
    "maatwerkvoorziening, Wijken, Perioden; topics 'Wmo-cliënten' and 'Wmo-cliënten per "
    "1 000 inwoners'); keys are resolved at fetch time (topic by its title, the type by "
    "its total, the region and period dimensions by kind): keys NOT confirmed"
)
_WMO_PROJECT_NOTE = (
    "id from a public project that fetches the yearly Wmo wijken tables; its year and "
    "keys are NOT confirmed (resolved at fetch time as for the other editions)"
)


def _wmo_edition(table: str, year: int, seen: bool, default: bool) -> TableSpec:
    return TableSpec(
        table=table,
        api="v3",
        title=f"Wmo-cliënten; type maatwerkvoorziening, wijken, {year}",
        columns=(ColumnSpec("wmo_clients", TITLE_PREFIX + "Wmo-cliënten"),),
        unit="persons (clients with a Wmo maatwerkvoorziening)",
        years=(year, year),
        confirmed=False,
        evidence=(_WMO_EDITION_NOTE if seen else _WMO_PROJECT_NOTE).format(table=table, year=year),
        breaks=(
            "one edition per year, stitched across table ids; municipal totals of a "
            "wijken table, not the regio table 83262NED: the seam is recorded",
        ),
        region_dim=None,
        period_dim=None,
        other_dims_total=True,
        default=default,
    )


_ENTRIES: tuple[TableSpec, ...] = (
    TableSpec(
        table="03759ned",
        api="v4",
        title="Bevolking op 1 januari en gemiddeld; geslacht, leeftijd en regio",
        columns=(
            ColumnSpec(POPULATION, "M000352", {**_TOTALS_03759, "Leeftijd": ("10000",)}),
            ColumnSpec(POPULATION_0_17, "M000352", {**_TOTALS_03759, "Leeftijd": _ages(0, 17)}),
            ColumnSpec(POPULATION_18_64, "M000352", {**_TOTALS_03759, "Leeftijd": _ages(18, 64)}),
        ),
        unit="persons on 1 January",
        years=(1988, None),
        confirmed=True,
        evidence=(
            "id, measure M000352 ('Bevolking op 1 januari') and the codes T001038, T001019, "
            "10000 confirmed in the stored v4 responses (Amsterdam 2019 = 862965, "
            "Schiermonnikoog 2019 = 936); the single-year Leeftijd codes summed for 0-17 "
            "and 18-64 confirmed in codes-Leeftijd.json, their values not (the stored "
            "slice holds only the total age)"
        ),
        names=True,
    ),
    TableSpec(
        table="85101NED",
        api="v4",
        title="Jongeren met één of meerdere vormen van jeugdzorg; periode",
        columns=(ColumnSpec("youth_care_users", TITLE_PREFIX + "Totaal jongeren met jeugdzorg"),),
        unit="young people (0-22) with any form of youth care in the year",
        years=(2015, None),
        confirmed=False,
        evidence=(
            "id from a public project's schema of the table (dimensions JeugdhulpInNatura, "
            "JeugdPGB, Jeugdbescherming, Jeugdreclassering, RegioS, Perioden); its sibling "
            "85102NED ('...; peildatum') on cbs.nl has the topic 'Totaal jongeren met "
            "jeugdzorg' and totals titled 'Wel of geen ...'. The topic is picked by that "
            "title and every other dimension by its total at fetch time: NOT confirmed"
        ),
        breaks=("2015: Jeugdwet; earlier years are not comparable",),
        other_dims_total=True,
    ),
    TableSpec(
        table="84134NED",
        api="v3",
        title="Kerncijfers over jeugdzorg, 2015-2020",
        columns=(ColumnSpec("youth_care_users", TITLE_PREFIX + "Jongeren met jeugdzorg"),),
        unit="young people with youth care in the year",
        years=(2015, 2020),
        confirmed=False,
        evidence=(
            "id, title and layout seen on its cbs.nl page (dimensions Vormen van jeugdzorg, "
            "Regio's, Perioden; topic 'Jongeren met jeugdzorg (aantal)'; total 'JZ Totaal "
            "jeugdzorg'); municipal rows and keys NOT confirmed. An alternative to "
            "85101NED for 2015-2020, so not fetched by default"
        ),
        breaks=("2015: Jeugdwet; earlier years are not comparable",),
        other_dims_total=True,
        default=False,
    ),
    TableSpec(
        table="82972NED",
        api="v3",
        title="Indicatoren jeugdzorg in natura; gemeenten",
        columns=(
            ColumnSpec(
                "youth_care_in_kind_users", TITLE_PREFIX + "Jongeren met jeugdzorg in natura"
            ),
        ),
        unit="young people with youth care in kind",
        years=(2015, None),
        confirmed=False,
        evidence=(
            "id from the project brief; the topic is picked by title at fetch time, NOT "
            "confirmed; CBS publishes it with municipal size classes"
        ),
        other_dims_total=True,
        default=False,
    ),
    TableSpec(
        table="80794ned",
        api="v3",
        title="Personen met een uitkering; uitkeringsontvangers per regio",
        columns=(ColumnSpec("bijstand_recipients", "BijstandTotDeAOWLeeftijd_7"),),
        unit="persons with bijstand under the AOW age",
        years=(2007, None),
        confirmed=False,
        evidence=(
            "id and topic key BijstandTotDeAOWLeeftijd_7 from a public project's column "
            "model of the table; unit, region coverage and the period code are NOT "
            "confirmed (the table is monthly: December is taken as the year's value)"
        ),
        breaks=("2015: WWB replaced by the Participatiewet",),
        period_suffix="MM12",
    ),
    TableSpec(
        table="83262NED",
        api="v3",
        title="Wmo-cliënten; type maatwerkarrangement, regio, 2015-2020",
        columns=(ColumnSpec("wmo_clients", TITLE_PREFIX + "Wmo-cliënten"),),
        unit="persons (clients with a Wmo maatwerkarrangement)",
        years=(2015, 2020),
        confirmed=False,
        evidence=(
            "id, title and layout seen on its cbs.nl page (dimensions Geslacht, Kenmerken "
            "van personen, Type maatwerkarrangement, Regio's, Perioden; topics "
            "'Wmo-cliënten' and 'Wmo-cliënten per 1 000 inwoners'; totals 'Totaal mannen en "
            "vrouwen', 'Totaal'); keys resolved at fetch time: NOT confirmed"
        ),
        breaks=("2015: Wmo 2015; 2020 is the last year of this table",),
        region_dim=None,
        period_dim=None,
        other_dims_total=True,
    ),
    _wmo_edition("84751NED", 2017, seen=True, default=False),
    _wmo_edition("84752NED", 2018, seen=False, default=False),
    _wmo_edition("84753NED", 2019, seen=False, default=False),
    _wmo_edition("85047NED", 2021, seen=True, default=True),
    TableSpec(
        table="70072NED",
        api="v3",
        title="Regionale kerncijfers Nederland",
        columns=(ColumnSpec("population_kerncijfers", "TotaleBevolking_1"),),
        unit="persons on 1 January",
        years=(1995, None),
        confirmed=False,
        evidence=(
            "id and topic key TotaleBevolking_1 from a public project's use of an older "
            "edition; CBS renumbers keys between editions, so NOT confirmed"
        ),
        default=False,
    ),
)

CATALOGUE: dict[str, TableSpec] = {spec.table: spec for spec in _ENTRIES}


def default_tables() -> list[str]:
    """The tables ``python -m analysis fetch`` fetches when none are named."""
    return [t for t, spec in CATALOGUE.items() if spec.default]


def spec_for(table: str) -> TableSpec | None:
    """The catalogue entry of ``table`` (case-insensitive id), or None."""
    wanted = table.lower()
    return next((s for t, s in CATALOGUE.items() if t.lower() == wanted), None)
