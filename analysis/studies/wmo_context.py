"""What every reading of the Wmo series must say: the 2019 flat fee, and a booking step.

Two national facts move the real Wmo series, and neither is an effect of the 2015 reform
or of municipal size:

* **the flat Wmo fee (abonnementstarief)**: from 1 January 2019 a client of Wmo maatwerk
  support pays a flat contribution of 19 euro per four weeks, whatever their income
  (before, the contribution rose with income and wealth). Support became cheaper for
  clients with middle and high incomes, and Wmo use rose in every municipality from
  2019 (:func:`wmo_fee_sentence` quotes the break in the data);
* **how sheltered housing is booked**: centre municipalities (centrumgemeenten) carry the
  regional tasks of sheltered housing (beschermd wonen) and shelter, and book the
  region's costs in their own accounts. When that booking changes, their Wmo spending
  per inhabitant moves in one year, and a large-minus-small gap in Wmo spending can be
  a single accounting step (:func:`booking_step`).

Examples
--------
>>> import pandas as pd
>>> national = pd.DataFrame({"outcome": "wmo_per_1000", "year": [2017, 2018, 2019],
...                          "rate": [60.0, 62.0, 66.0]})
>>> wmo_fee_sentence(national).split("from 2018 to 2019: ")[1][:31]
'+6.5% (from 2017 to 2018: +3.3%'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data import schema

FEE_YEAR = 2019  # the abonnementstarief: 19 euro per four weeks from 1 January 2019
WMO_OUTCOMES = ("wmo_per_1000", "wmo_spending_per_inhabitant")
# Four of the 43 centre municipalities for sheltered housing (beschermd wonen), by their CBS
# names; the sentence names a fall as a booking change only for a municipality listed here.
KNOWN_CENTRES = ("Amsterdam", "'s-Gravenhage", "Arnhem", "Ede")
FEE_FACT = (
    f"From 1 January {FEE_YEAR} every client of Wmo maatwerk support pays a flat contribution "
    "of 19 euro per four weeks, whatever their income (the abonnementstarief)"
)


def wmo_fee_sentence(
    rates: pd.DataFrame, outcome: str = "wmo_per_1000", synthetic: bool = False
) -> str:
    """The 2019 flat Wmo fee and the break it left in ``rates`` (a ``rates_indexed`` table).

    ``rates`` has ``outcome, year, rate`` and optionally ``group`` (size classes): the
    sentence quotes the 2018-2019 change beside the 2017-2018 change, per group when
    there are groups. On the synthetic default the generator has no such fee.
    """
    if synthetic:
        return (
            f"{FEE_FACT}. On real data that lifted Wmo use everywhere from {FEE_YEAR}; "
            "the synthetic generator has no such break, so it is not in these figures."
        )
    rows = rates[rates["outcome"] == outcome]
    years = set(rows[schema.YEAR])
    if not {FEE_YEAR - 1, FEE_YEAR} <= years:
        return (
            f"{FEE_FACT}: it lifted Wmo use everywhere from {FEE_YEAR}, a national change "
            "this series does not cover."
        )
    by = "group" if "group" in rows and rows["group"].nunique() > 1 else None
    parts = []
    for group, part in rows.groupby(by, sort=False, observed=True) if by else [(None, rows)]:
        rate = part.set_index(schema.YEAR)["rate"]
        step = 100 * (rate[FEE_YEAR] / rate[FEE_YEAR - 1] - 1)
        before = (
            f" (from {FEE_YEAR - 2} to {FEE_YEAR - 1}: "
            f"{100 * (rate[FEE_YEAR - 1] / rate[FEE_YEAR - 2] - 1):+.1f}%)"
            if FEE_YEAR - 2 in rate.index
            else ""
        )
        parts.append(f"{group + ' ' if group else ''}{step:+.1f}%{before}")
    spec = schema.OUTCOMES.get(outcome)
    label = f"{spec.label} ({spec.unit})" if spec else outcome
    return (
        f"{FEE_FACT}: a national change that lifted Wmo use everywhere. {label}, "
        f"from {FEE_YEAR - 1} to {FEE_YEAR}: "
        + "; ".join(parts)
        + ". A break in "
        f"{FEE_YEAR} is the fee, not the 2015 reform; where it differs by size class it says "
        "who gained from the flat fee (clients who paid more before), not how municipalities "
        "ran their support."
    )


@dataclass(frozen=True)
class BookingStep:
    """A one-year step in an outcome and the size gap without it (see :func:`booking_step`)."""

    outcome: str
    step_year: int  # the step is from step_year - 1 to step_year
    windows: pd.DataFrame  # one row per window: growth gap (percent) and its wild bootstrap
    falls: pd.DataFrame  # the largest one-year falls among large units (log points)
    median_change: dict[str, float]  # median one-year log change, large and small units


def booking_step(
    panel: pd.DataFrame,
    outcome: str = "wmo_spending_per_inhabitant",
    step_year: int = 2021,
    threshold: float = schema.LARGE_THRESHOLD,
    draws: int = 9999,
    seed: int = 0,
    top: int = 8,
) -> BookingStep:
    """The large-minus-small growth gap over the whole series and on each side of one step.

    Growth on the log scale (:func:`analysis.studies.since2015.growth_gap`, wild cluster
    bootstrap by province) for the whole series, for the base year to ``step_year - 1``
    and for ``step_year`` on; and the largest falls from ``step_year - 1`` to ``step_year``
    among the large units. When the whole gap sits in the step, it is the step that
    needs explaining, not a steady difference in growth.
    """
    from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
    from analysis.studies.since2015 import base_year_for, growth_gap, mark_size

    data = mark_size(panel, threshold)
    base = base_year_for(data, outcome)
    last = int(data.loc[data[outcome].notna(), schema.YEAR].max())
    rows = []
    for first, final in ((base, last), (base, step_year - 1), (step_year, last)):
        if final <= first:
            continue
        res = growth_gap(data, outcome, base_year=first, last_year=final, log=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 12 provinces: the bootstrap answers it
            prov = growth_gap(
                data, outcome, base_year=first, last_year=final, log=True, cluster=schema.PROVINCE
            )
        term = res.extra["term"]
        boot = wild_cluster_bootstrap(prov, term=term, draws=draws, seed=seed)
        estimate = float(res.table.set_index("term").loc[term, "estimate"])
        rows.append(
            {
                "base_year": first,
                "last_year": final,
                "percent_estimate": 100 * np.expm1(estimate),
                "percent_wild_ci_low": 100 * np.expm1(boot.ci_low),
                "percent_wild_ci_high": 100 * np.expm1(boot.ci_high),
                "wild_p": boot.p_value,
            }
        )
    wide = data.pivot_table(
        index=[schema.MUNICIPALITY, schema.NAME, schema.LARGE], columns=schema.YEAR, values=outcome
    )
    change = np.log(wide[step_year] / wide[step_year - 1]).dropna().rename("log_change")
    change = change.reset_index()
    large = change[change[schema.LARGE] == 1].sort_values("log_change").head(top)
    median = {
        "large": float(change.loc[change[schema.LARGE] == 1, "log_change"].median()),
        "small": float(change.loc[change[schema.LARGE] == 0, "log_change"].median()),
    }
    return BookingStep(
        outcome,
        step_year,
        pd.DataFrame(rows),
        large[[schema.MUNICIPALITY, schema.NAME, "log_change"]].reset_index(drop=True),
        median,
    )


def booking_sentence(step: BookingStep) -> str:
    """:func:`booking_step` in words: the whole gap, the gap on each side of the step."""
    w = step.windows
    label = schema.OUTCOMES[step.outcome].label if step.outcome in schema.OUTCOMES else step.outcome

    def window(row) -> str:
        return (
            f"{row.percent_estimate:+.1f}% ({row.base_year}-{row.last_year}, 95% wild-bootstrap "
            f"interval {row.percent_wild_ci_low:+.1f}% to {row.percent_wild_ci_high:+.1f}%, "
            f"p = {row.wild_p:.3f})"
        )

    rows = list(w.itertuples(index=False))
    names = ", ".join(
        f"{_short(n)} {100 * c:+.0f}"
        for n, c in zip(step.falls[schema.NAME], step.falls["log_change"], strict=True)
    )
    text = (
        f"{label}, large minus small growth: {window(rows[0])} over the whole series. From "
        f"{step.step_year - 1} to {step.step_year} alone the median large municipality's "
        f"figure changed {100 * step.median_change['large']:+.0f} log points "
        f"and the median small one's {100 * step.median_change['small']:+.0f}; the largest falls "
        f"among large municipalities (log points): {names}."
    )
    if len(rows) == 3:
        text += f" Before the step the gap is {window(rows[1])}, after it {window(rows[2])}."
    centres = [n for n in map(_short, step.falls[schema.NAME]) if n in KNOWN_CENTRES]
    if centres:
        names = centres[0] if len(centres) == 1 else ", ".join(centres[:-1]) + " and " + centres[-1]
        text += (
            f" {names} "
            + ("is a centre municipality" if len(centres) == 1 else "are centre municipalities")
            + " for sheltered housing (beschermd wonen), which book the region's costs in "
            "their own accounts: a one-year fall of this size there is a change in how "
            "those costs are booked, not in the support residents received, and the "
            "whole-series gap should not be read as slower growth in large municipalities."
        )
    return text


def _short(name: str) -> str:
    """CBS names carry a qualifier for a few municipalities: "'s-Gravenhage (gemeente)"."""
    return name.replace(" (gemeente)", "")


__all__ = [
    "FEE_YEAR",
    "WMO_OUTCOMES",
    "BookingStep",
    "booking_step",
    "booking_sentence",
    "wmo_fee_sentence",
]
