"""Who uses more or less than the population's risk profile predicts? Fay-Herriot remainders.

"Some municipalities made it work": a general evaluation is said to hide municipalities that
did better. The SCP's answer is a risk-profile model: predict each municipality's use of
youth care, Wmo or bijstand from who lives there, and show the remainder *with its
uncertainty*. This study does that with the area-level Fay-Herriot model
(:func:`analysis.inference.fay_herriot.fay_herriot`):

* the direct estimate is the municipality's rate in one year, ``y_i = per * count_i / N_i``;
* its sampling variance is binomial, ``D_i = per^2 * p_i (1 - p_i) / N_i`` with
  ``p_i = count_i / N_i``. The assumption: the municipal count is a draw from the
  municipality's own propensity ``theta_i / per`` for each of its ``N_i`` residents
  independently (a super-population view: the register counts everyone, so the noise is
  that of the process, not of a sample). It ignores CBS's rounding of counts (variance
  ``5^2 / 12`` on a count rounded to 5, negligible beside ``count * (1 - p)``) and any
  clustering of use within households (which would make ``D_i`` too small, and more
  municipalities look different from expectation than are);
* the linking model regresses ``theta_i`` on the 2015 risk profile (standardised covariates
  and an intercept); the remainder ``u_i = theta_i - x_i' beta`` is predicted with
  empirical-Bayes shrinkage, and its interval is ``u_hat_i +- 1.96 sqrt(MSE)``.

How many municipalities can be told apart from expectation at all: the number whose
remainder interval excludes 0, against the number expected by chance if no municipality
differed (``(1 - level) * n``, with its central binomial 95 % range). Shrinkage makes that
benchmark an upper bound (with ``u_i = 0`` an interval excludes 0 less often than
``1 - level``), so a count above the range is evidence that some municipalities differ, not
an error rate. The ranks come with intervals from independent normal draws of the remainders.

What it cannot show: a remainder is not performance (lower use can be unmet need, higher use
good outreach); the profile is 2015's, so later population change is in the remainder; a
covariate the profile leaves out (supply of providers, the region's care market, the
municipality's registration) is in the remainder too; and the binomial ``D_i`` is the
smallest honest sampling variance, so the count of municipalities that differ is an upper
bound in that respect.

Examples
--------
>>> from analysis.data.synthetic.generator import simulate_panel
>>> panel = simulate_panel(1).panel
>>> result = expected_use(panel, synthetic_profile(panel), "wmo_per_1000", 2017)
>>> result.table.shape[0], int(chance_table(result)["n"].iloc[0])
(342, 342)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from analysis.data import schema
from analysis.inference.fay_herriot import FayHerriotResult, fay_herriot
from analysis.reporting.style import SIZE_CLASS_COLOURS, finish

RANK_DRAWS = 2000
# The 2015 risk profile (analysis.data.risk_profile, CBS district map 2015): age shares
# (25-44 left out: the five shares sum to 100), household composition, migration, income,
# social minimum and urbanity (CBS's class 1-5, entered as a number).
RISK_PROFILE = (
    "share_0_14", "share_15_24", "share_45_64", "share_65_plus",
    "share_one_person_households", "share_households_with_children", "share_non_western",
    "income_per_inhabitant_keur", "share_low_income_households",
    "share_social_minimum_households", "urbanity",
)
# outcomes whose numerator counts persons (a binomial variance applies); amounts do not
PERSON_COUNTS = ("bijstand_recipients", "youth_care_users", "wmo_clients")


@dataclass
class ExpectedUse:
    """One outcome's Fay-Herriot fit on the risk profile, and its per-municipality table."""

    outcome: str
    year: int
    covariates: list[str]
    fit: FayHerriotResult
    table: pd.DataFrame
    left_out: list[str] = field(default_factory=list)  # municipalities without data
    synthetic: bool = False
    variance_factor: float = 1.0


def person_outcomes(outcomes: Sequence[str]) -> list[str]:
    """The outcomes a binomial sampling variance applies to (counts of persons)."""
    return [o for o in outcomes if schema.OUTCOMES[o].numerator in PERSON_COUNTS]


def risk_profile(panel: pd.DataFrame) -> pd.DataFrame:
    """The profile for a panel: the 2015 district-map attributes of :data:`RISK_PROFILE` on
    the panel's boundaries (real data), or :func:`synthetic_profile` (synthetic panel)."""
    if panel.attrs.get("synthetic", False):
        return synthetic_profile(panel)
    from analysis.data.risk_profile import load_risk_profile_2015

    boundary_year = int(panel.attrs.get("boundary_year", 2023))
    profile = load_risk_profile_2015(boundary_year).set_index(schema.MUNICIPALITY)
    return profile[list(RISK_PROFILE)].astype(float)


def synthetic_profile(panel: pd.DataFrame) -> pd.DataFrame:
    """The synthetic generator's own municipal characteristics as a stand-in risk profile.

    The synthetic panel has no district-map attributes; what the generator knows per unit
    is its baseline population (log), and its shares aged 0-17 and 18-64. One row per
    municipality, in the baseline year.
    """
    base = panel.attrs.get("baseline_year", schema.BASELINE_YEAR)
    rows = panel[panel[schema.YEAR] == base].set_index(schema.MUNICIPALITY)
    if rows.empty:
        raise ValueError(f"synthetic_profile: the panel has no rows in {base}")
    return pd.DataFrame({
        "log_population": np.log(rows[schema.BASELINE_POPULATION]),
        "share_0_17": rows[schema.POPULATION_0_17] / rows[schema.POPULATION],
        "share_18_64": rows[schema.POPULATION_18_64] / rows[schema.POPULATION],
    })


ZERO_COUNTS = ("refuse", "continuity")


def direct_estimates(
    panel: pd.DataFrame, outcome: str, year: int, variance_factor: float = 1.0,
    zero_counts: str = "refuse",
) -> pd.DataFrame:
    """Rate, count, denominator and binomial sampling variance per municipality in ``year``.

    ``D = variance_factor * per^2 * p (1 - p) / N`` with ``p = count / N``
    (``variance_factor`` > 1: overdispersion, e.g. use clustered in households).
    Municipalities without a count or denominator are left out (listed by
    :func:`expected_use`); a count not below the denominator is refused. A zero count has
    binomial variance 0: it is refused (``zero_counts="refuse"``) or, with
    ``"continuity"``, its variance uses ``p = 0.5 / (N + 1)`` (the rate stays 0; column
    ``zero_count`` marks it).
    """
    if zero_counts not in ZERO_COUNTS:
        raise ValueError(f"zero_counts must be one of {ZERO_COUNTS}, not {zero_counts!r}")
    spec = schema.OUTCOMES[outcome]
    if not variance_factor > 0:
        raise ValueError(f"{outcome}: variance_factor must be positive, not {variance_factor}")
    if spec.numerator not in PERSON_COUNTS:
        raise ValueError(f"{outcome}: its numerator {spec.numerator} is not a count of persons, "
                         "so a binomial sampling variance does not apply")
    rows = panel[panel[schema.YEAR] == year]
    if rows.empty:
        raise ValueError(f"{outcome}: the panel has no rows in {year}")
    rows = rows.set_index(schema.MUNICIPALITY)
    count, n = rows[spec.numerator].astype(float), rows[spec.denominator].astype(float)
    ok = count.notna() & n.notna()
    p = count[ok] / n[ok]
    bad = p.index[(p < 0) | (p >= 1)]
    if len(bad):
        raise ValueError(f"{outcome} {year}: {spec.numerator} is negative or not below "
                         f"{spec.denominator} for {list(bad[:5])}: no binomial variance")
    zero = p == 0
    if zero.any() and zero_counts == "refuse":
        raise ValueError(f"{outcome} {year}: {spec.numerator} is 0 for {list(p.index[zero][:5])}:"
                         " its binomial variance is 0 (zero_counts='continuity' uses 0.5/(N+1))")
    p_var = p.where(~zero, 0.5 / (n[ok] + 1))
    return pd.DataFrame({
        "name": rows.loc[ok, schema.NAME], "size_class": rows.loc[ok, schema.SIZE_CLASS],
        "count": count[ok], "denominator": n[ok], "observed": spec.per * p,
        "sampling_variance": variance_factor * spec.per**2 * p_var * (1 - p_var) / n[ok],
        "zero_count": zero,
    })


def _design(profile: pd.DataFrame, units: pd.Index, extra: pd.DataFrame | None = None):
    X = profile.reindex(units)
    missing = X.index[X.isna().any(axis=1)]
    z = (X - X.mean()) / X.std(ddof=0)
    z.insert(0, "intercept", 1.0)
    if extra is not None:
        z = z.join(extra)
    return z, list(missing)


def _rank_intervals(remainder: np.ndarray, mse: np.ndarray, level: float, seed: int):
    rng = np.random.default_rng(seed)
    draws = remainder[None, :] + np.sqrt(mse)[None, :] * rng.standard_normal(
        (RANK_DRAWS, len(remainder)))
    ranks = draws.argsort(axis=1).argsort(axis=1) + 1  # 1 = furthest below expectation
    tail = 50 * (1 - level)
    return np.percentile(ranks, [tail, 100 - tail], axis=0)


def expected_use(
    panel: pd.DataFrame,
    profile: pd.DataFrame,
    outcome: str,
    year: int,
    level: float = 0.95,
    seed: int = 0,
    variance_factor: float = 1.0,
    zero_counts: str = "refuse",
) -> ExpectedUse:
    """Fit the Fay-Herriot model of one outcome in one year on the risk profile.

    Parameters
    ----------
    panel : DataFrame
        The harmonised panel (one row per municipality and year).
    profile : DataFrame
        Risk-profile covariates, one row per municipality of the panel's boundaries
        (index: municipality code). Every column is used, standardised.
    outcome : str
        A rate outcome of :data:`analysis.data.schema.OUTCOMES` counting persons.
    year : int
        The year of the direct estimates.
    level : float
        Coverage of every interval.
    seed : int
        Seed of the rank draws.
    variance_factor : float
        Multiplies the binomial sampling variance (1: pure binomial; a sensitivity check).
    zero_counts : {"refuse", "continuity"}
        What a zero count's variance is (:func:`direct_estimates`).

    Returns
    -------
    ExpectedUse
        ``table`` per municipality: ``name, size_class, count, denominator, observed``
        (the rate), ``expected`` (from the profile), ``eblup`` with ``eblup_low/high``,
        ``remainder`` with ``remainder_low/high``, ``differs`` (-1 below, 0, +1 above
        expectation), ``shrinkage``, ``rank`` with ``rank_low/high`` (1 = furthest below).
        Municipalities without data or without a profile are in ``left_out``.
    """
    direct = direct_estimates(panel, outcome, year, variance_factor, zero_counts)
    X, no_profile = _design(profile, direct.index)
    keep = direct.index.difference(pd.Index(no_profile), sort=False)
    no_data = sorted(set(panel.loc[panel[schema.YEAR] == year, schema.MUNICIPALITY])
                     - set(direct.index))
    direct, X = direct.loc[keep], X.loc[keep]
    fit = fay_herriot(direct["observed"], direct["sampling_variance"], X, level=level,
                      index=direct.index)
    areas = fit.areas
    low, high = _rank_intervals(areas["remainder"].to_numpy(),
                                areas["remainder_mse"].to_numpy(), level, seed)
    table = direct.assign(
        expected=areas["synthetic"], eblup=areas["eblup"], eblup_low=areas["eblup_low"],
        eblup_high=areas["eblup_high"], remainder=areas["remainder"],
        remainder_low=areas["remainder_low"], remainder_high=areas["remainder_high"],
        differs=areas["differs"], shrinkage=areas["shrinkage"],
        rank=areas["remainder"].rank(method="first").astype(int), rank_low=low, rank_high=high,
    )
    return ExpectedUse(outcome, int(year), list(profile.columns), fit, table,
                       left_out=sorted(set(no_data) | set(no_profile)),
                       synthetic=bool(panel.attrs.get("synthetic", False)),
                       variance_factor=float(variance_factor))


def chance_table(result: ExpectedUse) -> pd.DataFrame:
    """How many municipalities differ from expectation, overall and by size class, vs chance.

    ``expected_by_chance = (1 - level) * n`` and its central binomial range at ``level``
    (``chance_low``, ``chance_high``); ``mean_remainder`` is the class's average remainder.
    """
    level = result.fit.level
    t = result.table
    groups = [("all", t)] + [(str(k), g) for k, g in t.groupby("size_class", observed=True)]
    rows = []
    for name, g in groups:
        n = len(g)
        rows.append({
            "outcome": result.outcome, "group": name, "n": n,
            "below": int((g["differs"] < 0).sum()), "above": int((g["differs"] > 0).sum()),
            "differ": int((g["differs"] != 0).sum()), "expected_by_chance": (1 - level) * n,
            "chance_low": int(stats.binom.ppf((1 - level) / 2, n, 1 - level)),
            "chance_high": int(stats.binom.ppf(1 - (1 - level) / 2, n, 1 - level)),
            "mean_remainder": g["remainder"].mean(),
        })
    return pd.DataFrame(rows)


def size_class_gaps(
    panel: pd.DataFrame, profile: pd.DataFrame, outcome: str, year: int, level: float = 0.95,
    reference: str = ">=100k", zero_counts: str = "refuse",
) -> pd.DataFrame:
    """Is the remainder of small municipalities lower? Size-class terms in the FH regression.

    The same model with indicators of the size classes added (``reference`` left out): each
    coefficient is the class's use minus that of the reference class *with the same risk
    profile*, with its GLS standard error at the REML variance and a normal interval.
    """
    direct = direct_estimates(panel, outcome, year, zero_counts=zero_counts)
    dummies = pd.get_dummies(direct["size_class"], dtype=float)
    dummies = dummies.drop(columns=[reference]).loc[:, lambda d: d.sum() > 0]
    X, no_profile = _design(profile, direct.index, dummies)
    keep = direct.index.difference(pd.Index(no_profile), sort=False)
    fit = fay_herriot(direct.loc[keep, "observed"], direct.loc[keep, "sampling_variance"],
                      X.loc[keep], level=level)
    ci = fit.coef_ci().loc[list(dummies.columns)]
    return ci.rename_axis("size_class").reset_index().assign(
        outcome=outcome, year=int(year), reference=reference)


def caterpillar(result: ExpectedUse, panel: pd.DataFrame) -> plt.Figure:
    """Sorted remainders with their intervals, coloured by size class; 0 is the expectation."""
    t = result.table.sort_values("remainder")
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    x = np.arange(len(t))
    for size, colour in SIZE_CLASS_COLOURS.items():
        on = (t["size_class"] == size).to_numpy()
        ax.vlines(x[on], t["remainder_low"][on], t["remainder_high"][on], colour, lw=0.8,
                  alpha=0.6)
        ax.plot(x[on], t["remainder"][on], "o", ms=2, color=colour, label=size)
    ax.axhline(0, color="black", lw=0.8)
    spec = schema.OUTCOMES[result.outcome]
    ax.set(xlabel="municipalities, sorted by remainder",
           ylabel=f"shrunken estimate minus expected\n({spec.unit})")
    ax.legend(title="2015 size", ncol=2, fontsize="small", loc="upper left")
    return finish(fig, panel, f"{spec.label} {result.year}: remainder after the risk profile "
                              f"({int(100 * result.fit.level)}% intervals)")


def ranking(result: ExpectedUse, n: int = 10) -> pd.DataFrame:
    """The ``n`` furthest below and above expectation, each with its rank interval."""
    cols = ["name", "size_class", "observed", "expected", "remainder", "remainder_low",
            "remainder_high", "rank", "rank_low", "rank_high"]
    t = result.table.sort_values("rank")
    return pd.concat([t.head(n), t.tail(n)])[cols]


def reading(
    results: Sequence[ExpectedUse], gaps: pd.DataFrame | None = None,
    sensitivity: Sequence[ExpectedUse] = (),
) -> str:
    """The finding in words, generated from the results (one paragraph per outcome).

    ``sensitivity``: the same fits with a larger ``variance_factor``, reported beside.
    """
    lines = []
    wider = {s.outcome: s for s in sensitivity}
    for r in results:
        spec = schema.OUTCOMES[r.outcome]
        c = chance_table(r).set_index("group")
        a = c.loc["all"]
        pct = int(round(100 * r.fit.level))
        lines.append(
            f"- {spec.label} ({spec.unit}), {r.year}: {a['differ']} of {a['n']} municipalities "
            f"have a {pct}% interval of their remainder that excludes the risk-profile "
            f"expectation ({a['below']} below, {a['above']} above); chance alone would give "
            f"at most about {a['expected_by_chance']:.0f} (binomial range {a['chance_low']}-"
            f"{a['chance_high']}). Between-municipality s.d. of the remainder "
            f"{np.sqrt(r.fit.variance):.1f} (REML), median shrinkage weight on the observed "
            f"rate {r.table['shrinkage'].median():.2f}."
        )
        by = [f"{g}: {int(row.differ)} of {int(row.n)} (chance {row.chance_low}-"
              f"{row.chance_high})" for g, row in c.drop(index="all").iterrows()]
        lines.append("  By 2015 size class: " + "; ".join(by) + ".")
        if gaps is not None:
            g = gaps[gaps["outcome"] == r.outcome]
            parts = [f"{row.size_class} {row.estimate:+.1f} ({row.ci_low:+.1f} to "
                     f"{row.ci_high:+.1f})" for row in g.itertuples()]
            if parts:
                lines.append(f"  Use relative to {g['reference'].iloc[0]} with the same "
                             f"profile ({pct}% intervals): " + "; ".join(parts) + ".")
        if r.outcome in wider:
            w = chance_table(wider[r.outcome]).set_index("group").loc["all"]
            lines.append(f"  With the sampling variance x {wider[r.outcome].variance_factor:g}: "
                         f"{w['differ']} of {w['n']} differ.")
        zeros = int(r.table["zero_count"].sum())
        if zeros:
            lines.append(f"  {zeros} municipalities with a count of 0 (variance from 0.5/(N+1)).")
        if r.left_out:
            lines.append(f"  Left out (no count, denominator or profile): {len(r.left_out)}.")
    return "\n".join(lines)


def outcomes_in_year(panel: pd.DataFrame, outcomes: Sequence[str], year: int) -> list[str]:
    """The outcomes with a count and a denominator for at least half the units in ``year``."""
    rows = panel[panel[schema.YEAR] == year]
    keep = []
    for o in outcomes:
        spec = schema.OUTCOMES[o]
        known = rows[spec.numerator].notna() & rows[spec.denominator].notna()
        if len(rows) and known.mean() >= 0.5:
            keep.append(o)
    return keep


def persistence(first: ExpectedUse, later: ExpectedUse) -> dict:
    """Do the same municipalities stay above or below expectation? Two years of one outcome.

    The correlation of the remainders (municipalities in both fits) and a cross-table of
    ``differs`` (-1 below, 0, +1 above) in the first year (rows) against the later year.
    """
    cols = ["remainder", "differs"]
    both = first.table[cols].add_suffix("_first").join(
        later.table[cols].add_suffix("_later"), how="inner")
    return {
        "outcome": first.outcome, "years": (first.year, later.year), "n": len(both),
        "correlation": float(both["remainder_first"].corr(both["remainder_later"])),
        "table": pd.crosstab(both["differs_first"], both["differs_later"]),
    }


def headline(results: Sequence[ExpectedUse]) -> str:
    """One line per notebook: per outcome, how many differ from expectation against chance."""
    parts = []
    for r in results:
        a = chance_table(r).set_index("group").loc["all"]
        parts.append(f"{schema.OUTCOMES[r.outcome].label} {r.year}: {a['differ']} of {a['n']} "
                     f"municipalities differ from their risk-profile expectation (chance alone: "
                     f"{a['chance_low']}-{a['chance_high']})")
    source = "synthetic data" if results and results[0].synthetic else "real CBS data"
    return "; ".join(parts) + f" ({source}; 95% intervals, binomial sampling variance)"


__all__ = [
    "headline", "outcomes_in_year", "persistence",
    "ExpectedUse", "expected_use", "chance_table", "size_class_gaps", "caterpillar", "ranking",
    "reading", "direct_estimates", "risk_profile", "synthetic_profile", "person_outcomes",
    "RISK_PROFILE",
]
