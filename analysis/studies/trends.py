"""The SCP overall-report view: use per 1,000 inhabitants by year and size class.

SCP's reports on the social domain describe use of youth care, Wmo support and welfare
per 1,000 inhabitants of the relevant age group, by municipal size class, indexed to
2015 (the first year under the new laws; CBS's youth-care series starts a new
definition there). Group rates are *ratios of sums* (all users over all inhabitants
of the group), so a group's rate is the rate of its inhabitants, not the mean of its
municipalities' rates. Municipal differences are then split into what a risk profile of
population characteristics explains and what remains, by region.

Descriptive only: nothing here identifies an effect of the reform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import statsmodels.formula.api as smf

from analysis.data import schema
from analysis.reporting.style import (
    SIZE_CLASS_COLOURS,
    finish,
    honest_range,
    panel_title,
    year_axis,
)


def rates_by_group(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    by: str | None = schema.SIZE_CLASS,
) -> pd.DataFrame:
    """Rate of each outcome per year and group as a ratio of sums.

    Parameters
    ----------
    panel : DataFrame
        Harmonised panel with the numerator and denominator of every outcome.
    outcomes : sequence of str
        Outcome names from :data:`analysis.data.schema.OUTCOMES`.
    by : str or None
        Grouping column (default the baseline size class); ``None`` for the whole country.

    Returns
    -------
    DataFrame
        ``outcome, group, year, rate, municipalities`` where ``municipalities`` counts
        those with both numerator and denominator known (others are left out of both).

    Examples
    --------
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> rates = rates_by_group(simulate_panel(1).panel, ["wmo_per_1000"])
    >>> sorted(rates["group"].unique())
    ['20-50k', '50-100k', '<20k', '>=100k']
    """
    frames = []
    for name in outcomes:
        spec = schema.OUTCOMES[name]
        cols = [spec.numerator, spec.denominator]
        known = panel.dropna(subset=cols)
        keys = [schema.YEAR] if by is None else [by, schema.YEAR]
        sums = known.groupby(keys, observed=True)[cols].sum()
        out = pd.DataFrame(
            {
                "rate": sums[spec.numerator] / sums[spec.denominator] * spec.per,
                "municipalities": known.groupby(keys, observed=True).size(),
            }
        ).reset_index()
        out["group"] = "Netherlands" if by is None else out.pop(by).astype(str)
        frames.append(out.assign(outcome=name))
    tidy = pd.concat(frames, ignore_index=True)
    return tidy[["outcome", "group", schema.YEAR, "rate", "municipalities"]]


def index_to_year(rates: pd.DataFrame, year: int = schema.REFORM_YEAR) -> pd.DataFrame:
    """Add ``index``: the rate as a percentage of the same group's rate in ``year``.

    Raises
    ------
    ValueError
        Naming the outcome and group that have no rate in ``year``.
    """
    base = rates[rates[schema.YEAR] == year].set_index(["outcome", "group"])["rate"]
    keys = pd.MultiIndex.from_frame(rates[["outcome", "group"]])
    absent = sorted(set(keys) - set(base.dropna().index))
    if absent:
        raise ValueError(f"no rate in {year} to index to for (outcome, group) {absent}")
    out = rates.copy()
    out["index"] = 100.0 * out["rate"].to_numpy() / base.reindex(keys).to_numpy()
    return out


def plot_indexed_trends(indexed: pd.DataFrame, panel: pd.DataFrame, year: int) -> plt.Figure:
    """One panel per outcome: index (``year`` = 100) by size class."""
    outcomes = list(dict.fromkeys(indexed["outcome"]))
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(3.6 * len(outcomes), 3.8), sharey=False, squeeze=False
    )
    for ax, name in zip(axes[0], outcomes, strict=True):
        data = indexed[indexed["outcome"] == name]
        sns.lineplot(
            data=data,
            x=schema.YEAR,
            y="index",
            hue="group",
            marker="o",
            ax=ax,
            palette=SIZE_CLASS_COLOURS if set(data["group"]) <= set(SIZE_CLASS_COLOURS) else None,
        )
        ax.axvline(schema.REFORM_YEAR - 0.5, color="grey", linestyle="--", linewidth=1)
        ax.axhline(100, color="grey", linewidth=0.5)
        panel_title(ax, schema.OUTCOMES[name].label)
        ax.set_xlabel("year")
        year_axis(ax)
        honest_range(ax, reference=100)
        ax.set_ylabel(f"index ({year} = 100)")
        ax.legend(title="size class (2014)", fontsize="x-small", title_fontsize="x-small")
    return finish(fig, panel, f"Use per inhabitant by municipal size class, indexed to {year}")


@dataclass(frozen=True)
class RiskProfile:
    """What population characteristics explain of municipal differences in one year.

    ``coefficients`` is the OLS table, ``r_squared`` the share of the variance across
    municipalities explained, ``residuals`` each municipality's unexplained part
    (observed minus predicted rate) with its province.
    """

    outcome: str
    year: int
    coefficients: pd.DataFrame
    r_squared: float
    n: int
    residuals: pd.DataFrame


def risk_profile(
    panel: pd.DataFrame,
    outcome: str,
    year: int,
    characteristics: Sequence[str] | None = None,
) -> RiskProfile:
    """Regress an outcome rate on population characteristics across municipalities.

    The SCP explains municipal differences in use by a risk profile of the population
    (age structure, size, income). With the toolkit's own panel the default
    characteristics are log population, the young share (:data:`YOUNG_SHARES`: aged 0-17,
    or 0-22 on the real panel) and the share aged 18-64; any other numeric columns can
    be named.

    Parameters
    ----------
    panel : DataFrame
    outcome : str
        A rate column, e.g. ``"youth_care_per_1000"``.
    year : int
        Cross-section year.
    characteristics : sequence of str, optional
        Regressors; default :func:`profile_characteristics` of the panel
        (``log_population``, ``share_0_17`` or ``share_0_22``, ``share_18_64``).

    Examples
    --------
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> fit = risk_profile(simulate_panel(1).panel, "wmo_per_1000", 2019)
    >>> fit.n
    342
    """
    data = with_characteristics(panel[panel[schema.YEAR] == year])
    regressors = list(characteristics or profile_characteristics(data))
    missing = [c for c in [outcome, *regressors] if c not in data]
    if missing:
        raise KeyError(f"risk_profile: column(s) {missing} not in the panel")
    used = data.dropna(subset=[outcome, *regressors])
    if len(used) <= len(regressors) + 1:
        raise ValueError(f"risk_profile: only {len(used)} municipalities with data in {year}")
    fit = smf.ols(f"{outcome} ~ {' + '.join(regressors)}", data=used).fit(cov_type="HC1")
    table = pd.DataFrame(
        {
            "term": fit.params.index,
            "estimate": fit.params.to_numpy(),
            "std_error (HC1)": fit.bse.to_numpy(),
            "p_value": fit.pvalues.to_numpy(),
        }
    )
    residuals = used[[schema.MUNICIPALITY, schema.NAME, schema.PROVINCE]].assign(
        observed=used[outcome], predicted=fit.fittedvalues, unexplained=fit.resid
    )
    return RiskProfile(outcome, year, table, float(fit.rsquared), int(fit.nobs), residuals)


# The young share is named after the ages its denominator counts: 0-17 (population_0_17,
# synthetic default and 03759ned) or 0-22 (youth_population, CBS's youth-care reference on
# the real StatLine panel).
YOUNG_SHARES = {"share_0_17": schema.POPULATION_0_17, "share_0_22": schema.YOUTH_POPULATION}
SHARE_AGES = {"share_0_17": "0-17", "share_0_22": "0-22", "share_18_64": "18-64"}


def with_characteristics(panel: pd.DataFrame) -> pd.DataFrame:
    """Add ``log_population``, the young share and ``share_18_64`` (fractions).

    Only those whose columns the panel has. The young share is ``share_0_17`` from
    ``population_0_17`` where the panel has it, else ``share_0_22`` from
    ``youth_population`` (the real StatLine panel's young people are aged 0-22); the
    real panel has no 18-64 population.

    Examples
    --------
    >>> import pandas as pd
    >>> real = pd.DataFrame({"population": [1000.0], "youth_population": [250.0]})
    >>> with_characteristics(real)["share_0_22"].tolist()
    [0.25]
    """
    out = panel.copy()
    out["log_population"] = np.log(out[schema.POPULATION])
    def has(column: str) -> bool:  # the real panel carries the vocabulary's columns empty
        return column in out and bool(out[column].notna().any())

    young = next((s for s, c in YOUNG_SHARES.items() if has(c)), None)
    shares = ([(young, YOUNG_SHARES[young])] if young else []) + [
        ("share_18_64", schema.POPULATION_18_64)]
    for share, column in shares:
        if has(column):
            out[share] = out[column] / out[schema.POPULATION]
    return out


def young_share(panel: pd.DataFrame) -> str:
    """The young-share column :func:`with_characteristics` adds: ``share_0_17`` or ``share_0_22``.

    Raises
    ------
    KeyError
        When the panel has neither ``population_0_17`` nor ``youth_population`` figures.
    """
    found = [s for s in YOUNG_SHARES if s in with_characteristics(panel)]
    if not found:
        raise KeyError("young_share: the panel has no population_0_17 or youth_population figures")
    return found[0]


def profile_characteristics(panel: pd.DataFrame) -> list[str]:
    """The risk-profile regressors the panel has: log population, young share, 18-64 share."""
    out = with_characteristics(panel)
    return [c for c in ("log_population", *YOUNG_SHARES, "share_18_64") if c in out]


def unexplained_by_region(profile: RiskProfile, region: str = schema.PROVINCE) -> pd.DataFrame:
    """Mean unexplained rate per region, with its spread and number of municipalities.

    A region whose mean is far from zero relative to ``std_error`` differs in use by
    more than its population profile predicts.
    """
    grouped = profile.residuals.groupby(region)["unexplained"]
    out = pd.DataFrame(
        {
            "municipalities": grouped.size(),
            "mean_unexplained": grouped.mean(),
            "std_error": grouped.std(ddof=1) / np.sqrt(grouped.size()),
        }
    )
    return out.sort_values("mean_unexplained").reset_index()
