"""The CBS tables the toolkit uses, one entry each, and how they map to panel columns.

Adding a table is one ``TableSpec`` in ``_ENTRIES``. A panel column served by several
tables (CBS publishes some series as one table per year, "editions") lists each table
with the same ``column``; ``analysis.data.cbs.build`` stitches them and records the seams.

``confirmed`` says whether the table id, measure keys and dimension codes were checked
against real CBS API responses. ``confirmed_in`` names a real StatLine file, vendored
under ``data/raw/`` (path relative to it), that confirms less: a cbsodata CSV holds the
table's topic keys and dimension names in its header and category *labels* (not codes)
in its cells, so it confirms the id, the topic keys, the dimensions and that a category
with that label exists; the category is then picked by that label at fetch time
(``title:<label>``).
``status`` sums this up and ``evidence`` says what was checked in which file. An
unconfirmed key is never trusted silently: a fetch first reads the table's own metadata
and stops with an error that lists what the table does have, so a wrong key is a
one-line catalogue fix.

Columns that :mod:`analysis.data.schema` does not know yet (``columns_awaiting_schema``) are
fetched and recorded by the build as ``columns_left_out``; they enter the panel as soon
as the schema names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from analysis.data import schema
from analysis.data.cbs.api.fetch import TITLE_PREFIX, Query
from analysis.data.schema import POPULATION, POPULATION_0_17, POPULATION_18_64


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
    # A denominator CBS publishes only implicitly (a count beside its percentage):
    # value = measure / divide_by * scale, missing when either is missing or the share is 0.
    divide_by: str | None = None
    # An exact 0 means "not reported" (a municipality's budget of 0 beside realised costs):
    # missing with a status, never a 0 that a sum or a ratio would use.
    zero_is_missing: bool = False


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
    confirmed_in: str | None = None  # vendored real file (under data/raw/) confirming the keys
    single_year: bool = False  # no time dimension: every figure is for ``years[0]``
    precedence: int = 0  # editions: where two overlap, the higher wins (then the later one)

    @property
    def status(self) -> str:
        """``confirmed`` (real API responses), ``keys confirmed`` (a real CSV), or
        ``unconfirmed``."""
        if self.confirmed:
            return "confirmed"
        return "keys confirmed" if self.confirmed_in else "unconfirmed"

    def measures(self) -> tuple[str, ...]:
        """Every measure the columns read, in order, each once."""
        keys = [k for c in self.columns for k in (c.measure, c.divide_by) if k is not None]
        return tuple(dict.fromkeys(keys))

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
            measures=self.measures(),
            dims={k: tuple(v) for k, v in dims.items()},
            region_dim=self.region_dim,
            period_dim=self.period_dim,
            period_suffix=self.period_suffix,
            other_dims_total=self.other_dims_total,
            single_year=self.years[0] if self.single_year else None,
        )


def _ages(first: int, last: int) -> tuple[str, ...]:
    # 03759ned Leeftijd codes for single years (codes-Leeftijd.json): 0 -> "10010",
    # 1..99 -> 10000 + 100 * age.
    return tuple("10010" if age == 0 else str(10000 + 100 * age) for age in range(first, last + 1))


_TOTALS_03759 = {"Geslacht": ("T001038",), "BurgerlijkeStaat": ("T001019",)}

STATLINE_CSV = "statline/csv"  # under data/raw/: the vendored cbsodata CSV dumps of StatLine
_CSV_ORIGIN = "dertje/cbs_datasets@388b47d2e085d621c290a4d8950942744b0bc0bf"


def _label(text: str) -> str:
    """A category picked by its label (its code is resolved at fetch time)."""
    return TITLE_PREFIX + text


def _csv_evidence(table: str, columns: tuple[ColumnSpec, ...], note: str) -> str:
    keys = ", ".join(dict.fromkeys(k for c in columns for k in (c.measure, c.divide_by) if k))
    labels = "; ".join(
        f"{dim} '{code[len(TITLE_PREFIX) :]}'"
        for dim, codes in dict(kv for c in columns for kv in c.dims.items()).items()
        for code in codes
    )
    return (
        f"id, topic key(s) {keys}, the dimension names and the label(s) {labels or '-'} "
        f"confirmed in the header and cells of data/raw/{STATLINE_CSV}/{table}.csv (a cbsodata "
        f"dump, {_CSV_ORIGIN}); that file holds labels, not codes, so category, period "
        f"and region codes are resolved at fetch time and are NOT confirmed. {note}"
    )


def _from_csv(
    table: str, title: str, columns: tuple[ColumnSpec, ...], note: str, **kw: object
) -> TableSpec:
    """An entry whose keys and labels a vendored real StatLine CSV confirms."""
    return TableSpec(
        table=table,
        api="v3",
        title=title,
        columns=columns,
        confirmed=False,
        confirmed_in=f"{STATLINE_CSV}/{table}.csv",
        evidence=_csv_evidence(table, columns, note),
        other_dims_total=True,
        **kw,  # type: ignore[arg-type]
    )


_YOUTH_TOTAL = {"VormenVanJeugdzorg": (_label("JZ Totaal jeugdzorg"),)}
# 82972NED and 85098NED: CBS's five shares of the forms of youth care (no other dimension)
_FORM_COLUMNS = tuple(
    ColumnSpec(share, topic)
    for share, topic in (
        ("youth_help_in_kind_pct", "JongerenMetJeugdhulpInNatura_1"),
        ("youth_help_residential_pct", "JongerenMetJeugdhMetVerblInNat_2"),
        ("youth_protection_pct", "JongerenMetJeugdbescherming_3"),
        ("protection_residential_pct", "JeugdbeschEnJeugdhMetVerblInNat_4"),
        ("youth_probation_pct", "JongerenMetJeugdreclassering_5"),
    )
)


def _youth_care(table: str, years: tuple[int, int | None], note: str) -> TableSpec:
    # 84134NED and its successor 85099NED share their layout (both CSV headers)
    columns = (
        ColumnSpec("youth_care_users", "JongerenMetJeugdzorg_1", _YOUTH_TOTAL),
        ColumnSpec(
            "youth_population",
            "JongerenMetJeugdzorg_1",
            _YOUTH_TOTAL,
            scale=100.0,
            divide_by="JongerenMetJeugdzorgRelatief_2",
        ),
    )
    return _from_csv(
        table,
        f"Jongeren met jeugdzorg (Jeugdwet), regio, {years[0]}-{years[1] or ''}",
        columns,
        "youth_population is derived: the count over its percentage of young people "
        "(JongerenMetJeugdzorgRelatief_2) x 100; both are rounded by CBS, so it is "
        "approximate. " + note,
        unit="young people with youth care (Jeugdwet) in the year",
        years=years,
        breaks=("2015: Jeugdwet; the old-law figures (82354NED) are another concept",),
    )


def _wmo(table: str, years: tuple[int, int | None], note: str, **kw: object) -> TableSpec:
    # 86050NED and 84839NED share their layout; 83262NED has more dimensions
    dims = {"TypeMaatwerkvoorziening": (_label("Totaal"),)}
    return _from_csv(
        table,
        f"Wmo-cliënten; type maatwerkvoorziening, regio, {years[0]}-",
        (ColumnSpec("wmo_clients", "WmoClienten_1", dims),),
        note,
        unit="persons (clients with a Wmo maatwerkvoorziening in the year)",
        years=years,
        breaks=("editions of one series, stitched; the seams are recorded",),
        **kw,
    )


def _bijstand(table: str, year: int, recipients: str, region: str) -> TableSpec:
    # One table per year without a time dimension; the topic key and the region
    # dimension's name change between the editions (both read from the CSV headers).
    age = {"Leeftijd": (_label("15 jaar of ouder"),)}
    return _from_csv(
        table,
        f"Bijstand, re-integratie en Wsw; gemeenten, {year}",
        (
            ColumnSpec("bijstand_recipients", recipients, age),
            ColumnSpec("population_15plus", "Inwoners_1", age),
        ),
        f"The table has no period dimension (none in the CSV): its figures are for {year}. "
        f"Region dimension {region!r}; that its keys start with 'GM' is NOT confirmed.",
        unit="persons aged 15 or over (recipients of bijstand; inhabitants)",
        years=(year, year),
        region_dim=region,
        period_dim=None,
        single_year=True,
        breaks=("2015: WWB replaced by the Participatiewet",),
    )


_WMO_WIJKEN_NOTE = (
    "one table per year ('Wmo-cliënten; type maatwerkvoorziening, wijken, <year>'), "
    "municipal totals of a wijken table (the CSV's municipal rows carry the GM code in "
    "topic Codering_3); superseded by the regio editions 83262NED/86050NED/84839NED, so "
    "not fetched by default"
)


def _wmo_wijken(table: str, year: int) -> TableSpec:
    return _from_csv(
        table,
        f"Wmo-cliënten; type maatwerkvoorziening, wijken, {year}",
        (
            ColumnSpec(
                "wmo_clients", "WmoClienten_5", {"TypeMaatwerkvoorziening": (_label("Totaal"),)}
            ),
        ),
        _WMO_WIJKEN_NOTE,
        unit="persons (clients with a Wmo maatwerkvoorziening)",
        years=(year, year),
        breaks=("one edition per year, stitched across table ids: the seam is recorded",),
        region_dim="Wijken",
        default=False,
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
    # --- youth care: old law (2011-2014), AWBZ indications, Jeugdwet (2015-)
    _from_csv(
        "82354NED",
        "Jeugdzorg (Wet op de jeugdzorg); jongeren in jeugdzorg, regio, 2011-2014",
        (
            ColumnSpec(
                "youth_care_users_pre2015",
                "JongerenInJeugdzorg_1",
                {"VormenVanJeugdzorg": (_label("Totaal alle vormen van jeugdzorg"),)},
            ),
        ),
        "Provincial youth care under the old law: not the Jeugdwet concept.",
        unit="young people in youth care under the Wet op de jeugdzorg in the year",
        years=(2011, 2014),
        breaks=("2015: the Jeugdwet replaced this law; the series ends in 2014",),
    ),
    _from_csv(
        "82552NED",
        "Jongeren met een AWBZ-indicatie; overgang naar de Jeugdwet, regio, 2011-2014",
        (
            ColumnSpec(
                "awbz_youth_indications",
                "JongerenMetAWBZIndicatieInJaar_1",
                {"IndicatieWelNietJeugdwet": (_label("Totaal"),)},
            ),
        ),
        "The total over care that did and did not move to the Jeugdwet.",
        unit="young people with an AWBZ indication in the year",
        years=(2011, 2014),
    ),
    _youth_care("84134NED", (2015, 2020), "The 2015-2020 edition."),
    _youth_care("85099NED", (2021, None), "The edition from 2021 on."),
    _from_csv(
        "83454NED",
        "Kosten jeugdzorg; gemeenten, 2015-",
        (
            ColumnSpec("youth_care_cost", "GerealiseerdeKosten_2", _YOUTH_TOTAL),
            ColumnSpec("youth_care_budget", "BegroteKosten_1", _YOUTH_TOTAL,
                       zero_is_missing=True),
        ),
        "Realised costs (GerealiseerdeKosten_2) and the municipality's own budget "
        "(BegroteKosten_1; an exact 0 is 'not reported' and stays missing; not the state's "
        "allocation). The region dimension is called 'Regio' here, not 'RegioS'; "
        "municipalities that did not report (many in 2015-2017) stay missing.",
        unit="thousand euro (realised youth care costs in the year)",
        years=(2015, None),
        region_dim="Regio",
    ),
    # --- Wmo 2015: clients (three editions) and spending
    _from_csv(
        "83262NED",
        "Wmo-cliënten; type maatwerkarrangement, regio, 2015-2020",
        (
            ColumnSpec(
                "wmo_clients",
                "WmoClienten_1",
                {
                    "Geslacht": (_label("Totaal mannen en vrouwen"),),
                    "KenmerkenVanPersonen": (_label("Totaal personen"),),
                    "TypeMaatwerkarrangement": (_label("Totaal"),),
                },
            ),
        ),
        "The categories are named by label: a bare 'Totaal...' total is ambiguous in "
        "Geslacht ('Totaal mannen en vrouwen', 'Totaal vrouwen' ...).",
        unit="persons (clients with a Wmo maatwerkarrangement in the year)",
        years=(2015, 2020),
        breaks=("2015: Wmo 2015; 2020 is the last year of this edition",),
    ),
    _wmo("84839NED", (2019, 2023), "The 2019-2023 edition; it equals 83262NED in 2019-2020."),
    _wmo(
        "86050NED",
        (2017, None),
        "The newest edition (revised figures from 2017 on): where it overlaps 83262NED "
        "and 84839NED it wins (precedence 1).",
        precedence=1,
    ),
    _from_csv(
        "84580NED",
        "Wmo-uitgaven; maatwerkvoorzieningen, gemeenten, 2017-",
        (
            ColumnSpec(
                "wmo_spending",
                "GerealiseerdeUitgaven_3",
                {"MaatwerkvoorzieningenType": (_label("Totaal"),)},
            ),
            ColumnSpec(
                "wmo_budget",
                "BegroteUitgaven_1",
                {"MaatwerkvoorzieningenType": (_label("Totaal"),)},
                zero_is_missing=True,
            ),
        ),
        "Realised spending (GerealiseerdeUitgaven_3) and the municipality's own budget "
        "(BegroteUitgaven_1; an exact 0 is 'not reported' and stays missing).",
        unit="thousand euro (realised Wmo spending in the year)",
        years=(2017, None),
    ),
    # --- bijstand (Participatiewet), one table per year
    _bijstand("83450NED", 2015, "Bijstandontvangers_2", "RegioS"),
    _bijstand("83747NED", 2016, "Bijstandontvangers_2", "Regiokenmerken"),
    _bijstand("84066NED", 2017, "Bijstandsontvangers_2", "Regiokenmerken"),
    # --- alternatives, not fetched by default
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
            "title and every other dimension by its total at fetch time: NOT confirmed. "
            "An alternative to 84134NED + 85099NED, so not fetched by default"
        ),
        breaks=("2015: Jeugdwet; earlier years are not comparable",),
        other_dims_total=True,
        default=False,
    ),
    _from_csv(
        "82972NED",
        "Indicatoren jeugdzorg in natura; gemeenten, 2015-2020",
        _FORM_COLUMNS,
        "Five percentages rounded to 0.1 with different bases (under 18; users of youth "
        "help in kind; 12-22; see analysis.data.cbs.exports.forms). CBS also publishes rows "
        "per municipal size class. The shares are fetched but not schema columns: the "
        "vendored StatLine panel turns them into counts on its 0-22 youth population, "
        "the live build lists them in columns_left_out. Not fetched by default.",
        unit="percent (of the base each topic names; see analysis.data.cbs.exports.forms)",
        years=(2015, 2020),
        default=False,
    ),
    _from_csv(
        "85098NED",
        "Indicatoren jeugdzorg in natura; gemeenten, 2021-",
        _FORM_COLUMNS,
        "The edition of 82972NED from 2021 on (the same topic keys); not fetched by default.",
        unit="percent (of the base each topic names; see analysis.data.cbs.exports.forms)",
        years=(2021, None),
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
            "confirmed (the table is monthly: December is taken as the year's value). "
            "Recipients under the AOW age, not the 15+ of 83450NED/83747NED/84066NED, so "
            "not fetched by default (the two would be stitched as one series)"
        ),
        breaks=("2015: WWB replaced by the Participatiewet",),
        period_suffix="MM12",
        default=False,
    ),
    _wmo_wijken("84751NED", 2017),
    _wmo_wijken("84752NED", 2018),
    _wmo_wijken("84753NED", 2019),
    _wmo_wijken("85047NED", 2021),
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
PANEL_VOCABULARY = frozenset({*schema.COUNTS, *schema.DENOMINATORS, *schema.SIGNED_TOTALS})


def default_tables() -> list[str]:
    """The tables ``python -m analysis fetch`` fetches when none are named."""
    return [t for t, spec in CATALOGUE.items() if spec.default]


def columns_awaiting_schema() -> dict[str, list[str]]:
    """Columns of default tables that :mod:`analysis.data.schema` does not name yet, by table.

    They are fetched, and the build lists them in ``columns_left_out`` instead of
    harmonising them (it would average what must be summed) until the schema has them.
    """
    out = {}
    for table in default_tables():
        waiting = [c.column for c in CATALOGUE[table].columns if c.column not in PANEL_VOCABULARY]
        if waiting:
            out[table] = waiting
    return out


def spec_for(table: str) -> TableSpec | None:
    """The catalogue entry of ``table`` (case-insensitive id), or None."""
    wanted = table.lower()
    return next((s for t, s in CATALOGUE.items() if t.lower() == wanted), None)
