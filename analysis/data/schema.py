"""The panel's vocabulary: column names, outcomes, size classes, CBS special values.

Every stage (sources -> panel -> designs -> notebooks) speaks these names, so a design
written for the synthetic default runs unchanged on a panel built from real CBS data.

One row per municipality and year (``MUNICIPALITY``, ``YEAR``). Outcomes are *rates*
computed from a count (numerator) and a population (denominator); harmonisation sums
the counts and recomputes rates, never averages them.
"""

from __future__ import annotations

from dataclasses import dataclass

# the table of CBS special values lives with the CBS source; its old name stays here
from analysis.data.cbs.special_values import CBS_SPECIAL_VALUES  # noqa: F401
from analysis.data.size_classes import (  # noqa: F401  (re-exported: schema.X keeps working)
    LARGE,
    LARGE_THRESHOLD,
    SIZE_CLASS,
    SIZE_CLASS_EDGES,
    SIZE_CLASSES,
    size_class,
)

MUNICIPALITY = "municipality"  # CBS gemeente code, GMxxxx
NAME = "name"
YEAR = "year"  # reference year; stocks are measured on 1 January or as a year average
PROVINCE = "province"  # CBS province code, PVxx (12 provinces: few clusters)

REFORM_YEAR = 2015  # Jeugdwet, Wmo 2015 and Participatiewet took effect on 1 January 2015
BASELINE_YEAR = 2014  # size classes and treatment intensity are fixed in this year
# The threshold and the size classes live together in size_classes; re-exported here.
BASELINE_POPULATION = "baseline_population"
INTENSITY = "budget_change_per_inhabitant"  # euro per inhabitant, a baseline characteristic
# The intensity's numerator: change in the social-domain budget 2015 vs 2014 in euro. Kept as
# a count so it can be summed across mergers; divided by baseline population after harmonising.
BUDGET_CHANGE = "budget_change_eur"
# Totals that may be negative but add up across mergers like counts do.
SIGNED_TOTALS = (BUDGET_CHANGE,)

POPULATION = "population"  # inhabitants on 1 January
POPULATION_0_17 = "population_0_17"
POPULATION_18_64 = "population_18_64"
# Real StatLine panel (analysis.data.cbs.exports): young people aged 0-22, the reference of CBS's
# youth care percentage, and inhabitants aged 15+ of the bijstand tables.
YOUTH_POPULATION = "youth_population"
POPULATION_15PLUS = "population_15plus"
DENOMINATORS = (POPULATION, POPULATION_0_17, POPULATION_18_64, YOUTH_POPULATION, POPULATION_15PLUS)

STATUS_SUFFIX = "_status"  # e.g. "bijstand_recipients_status": why a count is missing


@dataclass(frozen=True)
class Outcome:
    """A rate outcome: ``numerator / denominator * per``."""

    name: str
    numerator: str
    denominator: str
    per: float
    label: str
    unit: str


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome(
            "bijstand_per_1000",
            "bijstand_recipients",
            POPULATION_18_64,
            1000.0,
            "Welfare (bijstand) recipients",
            "per 1,000 inhabitants aged 18-64",
        ),
        Outcome(
            "youth_care_per_1000",
            "youth_care_users",
            POPULATION_0_17,
            1000.0,
            "Young people with youth care (Jeugdwet)",
            "per 1,000 inhabitants aged 0-17",
        ),
        Outcome(
            "wmo_per_1000",
            "wmo_clients",
            POPULATION,
            1000.0,
            "Wmo clients (social support)",
            "per 1,000 inhabitants",
        ),
        Outcome(
            "spending_per_inhabitant",
            "social_spending_keur",
            POPULATION,
            1000.0,  # numerator in thousands of euro -> euro per inhabitant
            "Social-domain spending",
            "euro per inhabitant",
        ),
        # real StatLine panel (analysis.data.cbs.exports)
        Outcome(
            "youth_care_per_1000_0_22",
            "youth_care_users",
            YOUTH_POPULATION,
            1000.0,
            "Young people with youth care (Jeugdwet)",
            "per 1,000 young people aged 0-22",
        ),
        Outcome(
            "bijstand_per_1000_15plus",
            "bijstand_recipients",
            POPULATION_15PLUS,
            1000.0,
            "Welfare (bijstand) recipients",
            "per 1,000 inhabitants aged 15+",
        ),
        Outcome(
            "youth_care_cost_per_inhabitant",
            "youth_care_cost",
            POPULATION,
            1000.0,  # x 1,000 euro -> euro per inhabitant
            "Youth care costs (realised)",
            "euro per inhabitant",
        ),
        Outcome(
            "wmo_spending_per_inhabitant",
            "wmo_spending",
            POPULATION,
            1000.0,  # x 1,000 euro -> euro per inhabitant
            "Wmo spending (realised)",
            "euro per inhabitant",
        ),
    )
}
# Counts without a rate outcome in the panel: old-law youth care and AWBZ indications
# (2011-2014) have no population beside them; they are summed across mergers like counts.
EXTRA_COUNTS = ("youth_care_users_pre2015", "awbz_youth_indications")
# Municipalities' own budgets beside the realised amounts (x 1,000 euro; 83454NED, 84580NED),
# summed across mergers like the realised amounts. Not the state's allocation.
BUDGETS = ("youth_care_budget", "wmo_budget")
# (budget, realised) pairs for the screening's budget/realised rule (analysis.data.screening)
BUDGET_PAIRS = (("youth_care_budget", "youth_care_cost"), ("wmo_budget", "wmo_spending"))
COUNTS = tuple(
    dict.fromkeys([*(o.numerator for o in OUTCOMES.values()), *EXTRA_COUNTS, *BUDGETS])
)
