"""Which StatLine table and topic feeds which panel column, and how a table is placed.

A :class:`Source` names one table, one topic and the category labels that pin its other
dimensions to their totals. :class:`TableReader` reads each table once: it keeps the
yearly rows (never half-years or quarters), maps region labels to GM codes with
:func:`analysis.data.cbs.exports.names.match_municipalities` and records what it could not
place (regional aggregates; values for a municipality in a year it did not exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.data import schema
from analysis.data.cbs.exports import names as nm
from analysis.data.cbs.exports.reader import read_statline_csv

if TYPE_CHECKING:
    from analysis.data.boundaries import BoundaryHistory

# The bijstand tables have no period column: one year per table.
TABLE_YEAR = {"83450NED": 2015, "83747NED": 2016, "84066NED": 2017}
JZ_TOTAL = (("VormenVanJeugdzorg", "JZ Totaal jeugdzorg"),)
OLD_LAW_TOTAL = (("VormenVanJeugdzorg", "Totaal alle vormen van jeugdzorg"),)
AWBZ_TOTAL = (("IndicatieWelNietJeugdwet", "Totaal"),)
AGE_15_PLUS = (("Leeftijd", "15 jaar of ouder"),)
WMO_TOTAL = (("TypeMaatwerkarrangement", "Totaal"),)
WMO_TOTAL_NEW = (("TypeMaatwerkvoorziening", "Totaal"),)
SPENDING_TOTAL = (("MaatwerkvoorzieningenType", "Totaal"),)

TABLE_TITLES = {
    "82354NED": "young people in youth care under the old Wet op de jeugdzorg, 2011-2014",
    "82552NED": "young people with an AWBZ indication, 2011-2014",
    "84134NED": "young people with youth care (Jeugdwet), count and %, 2015-2020",
    "85099NED": "young people with youth care (Jeugdwet), count and %, 2021-2023",
    "83262NED": "Wmo clients with a maatwerkarrangement, 2015-2020",
    "84839NED": "Wmo clients with a maatwerkvoorziening, 2019-2023",
    "86050NED": "Wmo clients with a maatwerkvoorziening, revised edition 2017-2023",
    "84751NED": "Wmo clients per wijk 2017 (municipal rows with GM codes)",
    "84752NED": "Wmo clients per wijk 2018 (municipal rows with GM codes)",
    "84753NED": "Wmo clients per wijk 2019 (municipal rows with GM codes)",
    "85047NED": "Wmo clients per wijk 2021 (municipal rows with GM codes)",
    "83450NED": "bijstand, inhabitants 15+ and recipients, 2015",
    "83747NED": "bijstand, inhabitants 15+ and recipients, 2016",
    "84066NED": "bijstand, inhabitants 15+ and recipients, 2017",
    "83454NED": "youth care costs, budgeted and realised (x 1,000 euro), 2015-2023",
    "84580NED": "Wmo spending, budgeted and realised (x 1,000 euro), 2017-2023",
    "82972NED": "% of young people with youth care in kind, protection, probation, 2015-2020",
    "85098NED": "% of young people with youth care in kind, protection, probation, 2021-2023",
    "82966NED": "youth care by combination of forms, 2015-2017 (older edition)",
}


@dataclass(frozen=True)
class Source:
    """One topic of one table, its other dimensions pinned, optionally limited in years."""

    table: str
    topic: str
    filters: tuple[tuple[str, str], ...] = ()
    years: tuple[int, int] | None = None  # inclusive; None: every year the table has

    def describe(self) -> str:
        pinned = ", ".join(f"{k} = {v!r}" for k, v in self.filters)
        span = f", {self.years[0]}-{self.years[1]}" if self.years else ""
        return f"{self.table} {self.topic}" + (f" ({pinned})" if pinned else "") + span


@dataclass
class TableReader:
    """Reads vendored tables once each and records what could not be placed."""

    csv_dir: Path
    history: BoundaryHistory
    aggregates: dict[str, list[str]] = field(default_factory=dict)
    outside_lifetime: list[dict] = field(default_factory=list)
    absent: dict[str, dict[int, list[str]]] = field(default_factory=dict)
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, table: str, kind: str = "year") -> pd.DataFrame:
        """Rows of one period kind with ``municipality`` (GM code) and ``how``."""
        key = f"{table}:{kind}"
        if key not in self._cache:
            self._cache[key] = self._read(table, kind)
        return self._cache[key]

    def _read(self, table: str, kind: str) -> pd.DataFrame:
        frame = read_statline_csv(self.csv_dir / f"{table}.csv", year=TABLE_YEAR.get(table))
        topics = frame.attrs["topics"]
        frame = frame[frame["period_kind"] == kind].copy()
        matched = nm.match_municipalities(frame["region"], frame["year"], self.history)
        frame[schema.MUNICIPALITY] = matched["code"]
        frame["how"] = matched["how"]
        found = set(frame.loc[frame["how"] == nm.AGGREGATE, "region"])
        self.aggregates[table] = sorted(found | set(self.aggregates.get(table, [])))
        empty = frame[topics].isna().all(axis=1)
        outside = frame["how"] == nm.OUTSIDE
        for row in frame[outside & ~empty].itertuples():
            filled = [t for t in topics if pd.notna(getattr(row, t))]
            self.outside_lifetime.append(
                {"table": table, "name": row.region, "year": int(row.year), "topics": filled,
                 "why": "a figure for a municipality in a year it did not exist: left out"}
            )  # fmt: skip
        # StatLine writes a row for both names of a municipality renamed mid-year; the
        # one under the other name is empty (checked): drop it, keep the named one.
        renamed_empty = (frame["how"] == nm.RENAMED) & empty
        frame = frame[frame[schema.MUNICIPALITY].notna() & ~renamed_empty]
        return frame.reset_index(drop=True)

    def series(self, source: Source) -> pd.DataFrame:
        """``municipality, year, value, status`` of one source (one row per code-year)."""
        frame = self.table(source.table)
        for dimension, label in source.filters:
            if dimension not in frame:
                raise KeyError(f"{source.table} has no dimension {dimension!r}")
            frame = frame[frame[dimension] == label]
        if source.years:
            frame = frame[frame["year"].between(*source.years)]
        if source.topic not in frame:
            raise KeyError(f"{source.table} has no numeric topic {source.topic!r}")
        out = pd.DataFrame(
            {
                schema.MUNICIPALITY: frame[schema.MUNICIPALITY].astype(str),
                schema.YEAR: frame["year"].astype("int64"),
                "value": frame[source.topic].astype(float),
                "status": frame[source.topic + schema.STATUS_SUFFIX],
            }
        )
        duplicated = out.duplicated([schema.MUNICIPALITY, schema.YEAR], keep=False)
        if duplicated.any():
            first = out[duplicated].iloc[0]
            raise ValueError(
                f"{source.describe()}: two rows for {first[schema.MUNICIPALITY]} in "
                f"{first[schema.YEAR]} (two labels of one municipality, both filled)"
            )
        self._record_absent(source.table, out)
        return out.reset_index(drop=True)

    def _record_absent(self, table: str, out: pd.DataFrame) -> None:
        """Municipalities of a year with no row at all in the table (not just empty)."""
        absent = {}
        for year, group in out.groupby(schema.YEAR):
            alive = set(self.history.municipalities_on(int(year)))
            missing = sorted(alive - set(group[schema.MUNICIPALITY]))
            if missing:
                absent[int(year)] = missing
        if absent:
            self.absent.setdefault(table, {}).update(absent)
