"""Forms of youth care (82972NED, 85098NED) and budgets (83454NED, 84580NED) for the panel.

**Forms of youth care.** CBS's "Indicatoren jeugdzorg in natura; gemeenten" publish, per
municipality and year, five percentages rounded to **0.1** (2015-2020 in 82972NED, 2021-
in 85098NED, the same topic keys). Their bases differ, which the panel keeps:

* ``youth_help_in_kind_pct`` (``JongerenMetJeugdhulpInNatura_1``): young people under 18
  with youth help in kind, % of all under 18; count ``youth_help_in_kind_022``;
* ``youth_help_residential_pct`` (``JongerenMetJeugdhMetVerblInNat_2``): those with
  residential help (met verblijf), % of the young people with youth help in kind; count
  ``youth_help_residential_022``;
* ``youth_protection_pct`` (``JongerenMetJeugdbescherming_3``): child protection
  (jeugdbescherming), % of all under 18; count ``youth_protection_022``;
* ``protection_residential_pct`` (``JeugdbeschEnJeugdhMetVerblInNat_4``): protected young
  people who also have residential help, % of those with protection; count
  ``protection_residential_022``;
* ``youth_probation_pct`` (``JongerenMetJeugdreclassering_5``): probation
  (jeugdreclassering), % of young people aged 12-22; count ``youth_probation_022``.

The bases were checked on the data: the in-kind share of Aa en Hunze in 2020 (11.8) is
CBS's "% of young people under 18" in its Landelijke Jeugdmonitor; it exceeds the
youth-care share of all young people aged 0-22 (84134NED) in most municipalities, so its
base is smaller than 0-22; the residential share exceeds the in-kind share in many
municipalities, so it is a share of users; the protection and probation counts of
82966NED over these % imply bases of about 0.8 and 0.5 of the 0-22 population (under 18,
12-22). Everything is in kind: personal budgets (pgb) are not in these tables.

**Counts.** The bundle has no population under 18 or aged 12-22, only the 0-22
``youth_population``. The count columns (suffix ``_022``) are therefore each share
applied to the 0-22 population (``share / 100 * youth_population``) or, for a share of
users, to its parent count: the number the share gives **on the 0-22 base**. They are
not numbers of users (they overstate the in-kind users by the 18-22s) but weights: the
harmonised share of merged municipalities is ``sum(count) / sum(base)``, the 0-22-
weighted mean of the parts' shares where CBS weights by under-18s (or 12-22s); for an
unmerged municipality it is CBS's figure exactly. Aggregated by CBS's size classes they
reproduce CBS's own size-class rows (tests/data/test_statline_forms.py).

**Budgets.** ``youth_care_budget`` (``BegroteKosten_1``, 83454NED) and ``wmo_budget``
(``BegroteUitgaven_1``, 84580NED), x 1,000 euro, summed across mergers like the realised
amounts. A budget of exactly 0 means "not reported" (10 youth-care budgets in 2016, beside
realised costs): a convention of these tables, so it is missing with status
:data:`ZERO_BUDGET` as read, whether or not the build screens. :data:`BUDGET_PAIRS`
(``schema.BUDGET_PAIRS``) declares the pairs to the screening's budget/realised rule
(:mod:`analysis.data.screening`), which flags a budget without its realised figure.
These are the municipalities' own budgets, not the state's allocation to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.data import schema
from analysis.data.cbs.exports.tables import JZ_TOTAL, SPENDING_TOTAL, Source, TableReader

FORM_TABLES = (("82972NED", (2015, 2020)), ("85098NED", (2021, 2023)))
ROUNDING = 0.1  # CBS rounds every share of these tables to 0.1 percentage point
ZERO_BUDGET = "budget of exactly 0 in the StatLine table: not reported (left missing)"
NO_BASE = "no base: the share or the count it applies to is missing"


@dataclass(frozen=True)
class Form:
    """One form of youth care: CBS's share, its base, and the panel's two columns."""

    share: str  # panel column: CBS's percentage
    count: str  # panel column: the share applied to the 0-22 base (a weight, see module)
    topic: str  # CBS topic key in 82972NED and 85098NED
    base: str  # the column the share is a percentage of in the panel
    label: str
    cbs_base: str  # what CBS divides by

    @property
    def role(self) -> str:
        """Harmonisation role of the share, recomputed from the summed counts."""
        return f"rate:{self.count}/{self.base}*100"


FORMS: tuple[Form, ...] = (
    Form("youth_help_in_kind_pct", "youth_help_in_kind_022", "JongerenMetJeugdhulpInNatura_1",
         schema.YOUTH_POPULATION, "youth help in kind", "young people under 18"),
    Form("youth_help_residential_pct", "youth_help_residential_022",
         "JongerenMetJeugdhMetVerblInNat_2", "youth_help_in_kind_022",
         "residential youth help (met verblijf)", "young people with youth help in kind"),
    Form("youth_protection_pct", "youth_protection_022", "JongerenMetJeugdbescherming_3",
         schema.YOUTH_POPULATION, "child protection (jeugdbescherming)",
         "young people under 18"),
    Form("protection_residential_pct", "protection_residential_022",
         "JeugdbeschEnJeugdhMetVerblInNat_4", "youth_protection_022",
         "protection with residential help", "young people with child protection"),
    Form("youth_probation_pct", "youth_probation_022", "JongerenMetJeugdreclassering_5",
         schema.YOUTH_POPULATION, "probation (jeugdreclassering)", "young people aged 12-22"),
)
FORMS_BY_SHARE = {f.share: f for f in FORMS}

# Budgeted beside realised (x 1,000 euro): (budget column, realised column, source).
BUDGETS = {
    "youth_care_budget": Source("83454NED", "BegroteKosten_1", JZ_TOTAL),
    "wmo_budget": Source("84580NED", "BegroteUitgaven_1", SPENDING_TOTAL),
}
BUDGET_PAIRS = schema.BUDGET_PAIRS  # declared for the screening's budget/realised rule


def form_roles() -> dict[str, str]:
    """Harmonisation roles of the form columns: counts summed, shares recomputed."""
    roles = {f.count: "count" for f in FORMS}
    roles.update({f.share: f.role for f in FORMS})
    return roles


def budget_series(reader: TableReader, column: str) -> pd.DataFrame:
    """A budget column; an exact 0 becomes missing with status :data:`ZERO_BUDGET`."""
    frame = reader.series(BUDGETS[column])
    zero = frame["value"] == 0
    frame.loc[zero, "status"] = ZERO_BUDGET
    frame.loc[zero, "value"] = float("nan")
    return frame


def form_columns(reader: TableReader, youth: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every share and count column of :data:`FORMS` as ``municipality, year, value, status``.

    ``youth`` is the ``youth_population`` frame (0-22) of
    :func:`analysis.data.cbs.exports.population.youth_population`.

    Examples
    --------
    >>> from pathlib import Path
    >>> from analysis.data.boundaries import load_boundary_history
    >>> from analysis.data.cbs.exports.population import youth_population
    >>> raw = Path("data/raw/statline")
    >>> reader = TableReader(raw / "csv", load_boundary_history(raw / "03759ned/codes-RegioS.json"))
    >>> cols = form_columns(reader, youth_population(reader))
    >>> share = cols["youth_help_in_kind_pct"].set_index(["municipality", "year"])["value"]
    >>> float(share["GM1680", 2020])  # Aa en Hunze: CBS's 11.8 % of under-18s
    11.8
    """
    keys = [schema.MUNICIPALITY, schema.YEAR]
    out: dict[str, pd.DataFrame] = {}
    bases = {schema.YOUTH_POPULATION: youth}
    for form in FORMS:
        share = pd.concat(
            [reader.series(Source(table, form.topic, (), years)) for table, years in FORM_TABLES],
            ignore_index=True,
        )
        if share.duplicated(keys).any():
            raise ValueError(f"{form.share}: 82972NED and 85098NED overlap")
        base = bases[form.base]
        both = share.merge(base, on=keys, how="left", suffixes=("", "_base"))
        value = both["value"] / 100 * both["value_base"]
        status = both["status"].where(both["status"].notna(), both["status_base"])
        status = status.where(status.notna(), NO_BASE).where(value.isna())
        out[form.share] = share
        out[form.count] = both[keys].assign(value=value, status=status)
        bases[form.count] = out[form.count]
    return out


# 82966NED: young people by combination of forms (exclusive categories), 2015-2017.
COMBINED = {
    "total": "TotaalJongerenMetJeugdzorg_1", "help_only": "AlleenJeugdhulp_3",
    "protection": "TotaalJeugdbescherming_7", "protection_only": "AlleenJeugdbescherming_8",
    "probation": "TotaalJeugdreclassering_12", "probation_only": "AlleenJeugdreclassering_13",
}


def read_combined_use(raw_dir=None) -> pd.DataFrame:
    """82966NED per municipality and year (its own boundaries), beside 84134NED's total.

    ``protection_and_help`` and ``probation_and_help`` are the protected (probation)
    young people with any other form: the total minus those with that form alone (the
    three-way cells are mostly suppressed, so the other form is help or, rarely, the
    third). ``revised_total`` is the revised edition's count (84134NED).
    """
    from pathlib import Path

    from analysis.data import paths
    from analysis.data.boundaries import load_boundary_history
    from analysis.data.build import verify_manifest

    raw_dir = Path(raw_dir) if raw_dir is not None else paths.STATLINE_RAW
    verify_manifest(raw_dir)
    reader = TableReader(raw_dir / "csv",
                         load_boundary_history(raw_dir / "03759ned" / "codes-RegioS.json"))
    keys = [schema.MUNICIPALITY, schema.YEAR]
    out = None
    for name, topic in COMBINED.items():
        part = reader.series(Source("82966NED", topic)).rename(columns={"value": name})
        out = part[[*keys, name]] if out is None else out.merge(part[[*keys, name]], on=keys)
    revised = reader.series(Source("84134NED", "JongerenMetJeugdzorg_1", JZ_TOTAL))
    out = out.merge(revised[[*keys, "value"]].rename(columns={"value": "revised_total"}),
                    on=keys, how="left")
    out["protection_and_help"] = out["protection"] - out["protection_only"]
    out["probation_and_help"] = out["probation"] - out["probation_only"]
    return out


__all__ = ["BUDGETS", "BUDGET_PAIRS", "FORMS", "ROUNDING", "budget_series", "form_columns",
           "form_roles", "read_combined_use"]
