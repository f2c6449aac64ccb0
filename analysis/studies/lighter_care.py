"""Did lighter help replace heavier care? The forms of youth care since 2015 (real data).

The reform promised that help close to home (youth help in kind without residence) would
replace residential care, child protection and probation. On the real StatLine panel
(:mod:`analysis.data.cbs.exports.forms`) this module gives

* :func:`form_trends`: each form by year and size class (aggregated as CBS aggregates:
  summed counts over summed bases), with **residential help per 100 young people**
  beside the residential share of users (that share falls mechanically when light help
  is added to the same users, so it cannot answer the question alone);
* :func:`light_help_dose`: per municipality, how much light help (in kind without
  residence, per 100 young people) grew from 2015 to 2018;
* :func:`intensity_table` and :func:`event_paths`: the continuous-intensity design
  (:func:`analysis.intensity_did`, :func:`analysis.event_study` with a continuous dose):
  did municipalities whose light help grew faster see residential help, protection or
  probation move differently afterwards? CR1 by municipality and the restricted wild
  cluster bootstrap by the 12 provinces;
* :func:`combined_use`: the combinations of forms in 82966NED (2015-2017).

Identifying assumption of the intensity design: without the difference in light-help
growth, municipalities would have followed parallel paths in the heavier forms. It fails
when light help grew where need grew (a growing need raises both; the slope is then an
association, not substitution), when a municipality's registration changed (new
providers reporting, a break CBS notes between 2020 and 2021), or through regression to
the mean in a dose measured on a few rounded shares. The dose is measured in 2015-2018,
so the 2016-2018 estimates overlap the years the dose is built from.

What the data cannot show: care in kind only (personal budgets, pgb, are not in these
tables), every share is rounded to 0.1 by CBS (a municipality of 2,000 young people
moves in steps of 2 people), and the counts on the 0-22 base are weights, not users.

Examples
--------
>>> from analysis.data.build import read_panel
>>> panel = read_panel("statline", 2023)  # doctest: +SKIP
>>> form_trends(panel).query("size_class == 'all' and year == 2023")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from analysis.data import schema
from analysis.data.cbs.exports.forms import FORMS, ROUNDING
from analysis.designs.event_study import event_study
from analysis.designs.intensity import intensity_did
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.results import EstimationResult

RESIDENTIAL_RATE = "residential_per_100"  # residential youth help per 100 young people
LIGHT_RATE = "light_help_per_100"  # youth help in kind without residence per 100 young people
DOSE = "light_help_growth"  # change in light help per 100 young people, dose window
DOSE_YEARS = (2015, 2018)
OUTCOMES = {
    RESIDENTIAL_RATE: "residential youth help per 100 under-18s",
    "youth_help_residential_pct": "residential share of youth-help users (%)",
    "youth_protection_pct": "child protection, % of under-18s",
    "youth_probation_pct": "probation, % of 12-22s",
}
NOT_REAL = ("the panel has no forms of youth care: they exist only in the real StatLine "
            "bundle (82972NED/85098NED); run with source = \"statline\"")


def unavailable(panel: pd.DataFrame) -> str | None:
    """Why this study cannot run on ``panel`` (None when it can)."""
    missing = [f.share for f in FORMS if f.share not in panel or panel[f.share].isna().all()]
    return NOT_REAL if missing else None


def add_rates(panel: pd.DataFrame) -> pd.DataFrame:
    """Residential and light help per 100 young people (on the 0-22 base of the counts).

    ``residential_per_100 = youth_help_residential_022 / youth_population * 100``, i.e.
    the in-kind share times the residential share / 100: CBS's bases make it residential
    help per 100 under-18s. Light help is the rest of the help in kind.
    """
    out = panel.copy()
    base = out[schema.YOUTH_POPULATION].where(out[schema.YOUTH_POPULATION] > 0)
    out[RESIDENTIAL_RATE] = out["youth_help_residential_022"] / base * 100
    light = out["youth_help_in_kind_022"] - out["youth_help_residential_022"]
    out[LIGHT_RATE] = light / base * 100
    return out


def _aggregate(rows: pd.DataFrame) -> dict[str, float]:
    out = {}
    for form in FORMS:
        ok = rows[form.count].notna() & rows[form.base].notna()
        out[form.share] = rows.loc[ok, form.count].sum() / rows.loc[ok, form.base].sum() * 100
        out[f"n_{form.share}"] = int(ok.sum())
    ok = rows["youth_help_residential_022"].notna()
    youth = rows.loc[ok, schema.YOUTH_POPULATION].sum()
    out[RESIDENTIAL_RATE] = rows.loc[ok, "youth_help_residential_022"].sum() / youth * 100
    return out


def form_trends(panel: pd.DataFrame) -> pd.DataFrame:
    """Each form by year and size class (and ``all``), aggregated from counts.

    A class's share is ``sum(count) / sum(base) * 100`` over the municipalities with a
    figure (``n_<share>`` of them): CBS's own aggregation, on the panel's 0-22 weights.
    Municipalities whose small figure CBS suppressed are left out, so the classes of
    small municipalities are biased towards those with more use for probation and
    protection with residence (see ``n_``).
    """
    data = panel[panel[schema.YEAR] >= 2015]
    rows = []
    for (year, size), group in data.groupby([schema.YEAR, schema.SIZE_CLASS], observed=True):
        rows.append({schema.YEAR: int(year), schema.SIZE_CLASS: str(size), **_aggregate(group)})
    for year, group in data.groupby(schema.YEAR):
        rows.append({schema.YEAR: int(year), schema.SIZE_CLASS: "all", **_aggregate(group)})
    order = [*schema.SIZE_CLASSES, "all"]
    table = pd.DataFrame(rows)
    table[schema.SIZE_CLASS] = pd.Categorical(table[schema.SIZE_CLASS], order, ordered=True)
    return table.sort_values([schema.SIZE_CLASS, schema.YEAR], ignore_index=True)


def plot_trends(table: pd.DataFrame, panel: pd.DataFrame):
    """One panel per form: its share by year, one line per size class."""
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish

    shown = [FORMS[0].share, RESIDENTIAL_RATE, *(f.share for f in FORMS[1:])]
    labels = {f.share: f"{f.label}\n(% of {f.cbs_base})" for f in FORMS}
    labels[RESIDENTIAL_RATE] = "residential youth help\n(per 100 under-18s)"
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.4))
    for ax, column in zip(axes.flat, shown, strict=True):
        for size, rows in table.groupby(schema.SIZE_CLASS, observed=True):
            style = {"color": "black", "lw": 2.2} if size == "all" else {"lw": 1.2}
            ax.plot(rows[schema.YEAR], rows[column], marker=".", label=str(size), **style)
        ax.set_title(labels[column], fontsize="small")
        ax.axvline(2020.5, color="grey", ls=":", lw=1)  # 82972NED -> 85098NED, CBS's break
    axes.flat[0].legend(fontsize="x-small", title="size (2015)", title_fontsize="x-small")
    return finish(fig, panel, "Forms of youth care in kind by size class, 2015-2023 "
                  "(dotted: edition switch and CBS's 2020/2021 break)")


def light_help_dose(panel: pd.DataFrame, years: tuple[int, int] = DOSE_YEARS) -> pd.DataFrame:
    """Per municipality the growth of light help per 100 young people over ``years``.

    Returns the panel (with :func:`add_rates`) restricted to municipalities with both
    years, with ``light_help_growth`` constant per municipality; ``attrs["dose_note"]``
    says how many were left out.
    """
    data = add_rates(panel)
    data = data[data[schema.YEAR] >= 2015]
    first, last = years
    wide = data.pivot(index=schema.MUNICIPALITY, columns=schema.YEAR, values=LIGHT_RATE)
    growth = (wide[last] - wide[first]).dropna()
    out = data[data[schema.MUNICIPALITY].isin(growth.index)].copy()
    out[DOSE] = out[schema.MUNICIPALITY].map(growth)
    out.attrs = dict(panel.attrs)
    out.attrs["dose_note"] = (
        f"dose: light help per 100 young people, {last} minus {first}, for {len(growth)} of "
        f"{wide.shape[0]} municipalities (the others lack a figure in one of the years); "
        f"median {growth.median():+.2f}, interquartile range {growth.quantile(0.25):+.2f} to "
        f"{growth.quantile(0.75):+.2f}"
    )
    return out


def intensity_table(
    data: pd.DataFrame, outcomes: Sequence[str] = tuple(OUTCOMES), reform_year: int = 2016,
    draws: int = 9999, seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, EstimationResult]]:
    """The dose slope per outcome: shift after ``reform_year - 1`` per point of dose.

    ``y_it = a_i + l_t + b (D_i - mean D) 1[t >= reform_year] + u_it`` on 2015-2023
    (:func:`analysis.intensity_did`), CR1 by municipality (Stata's small-sample factor)
    and the restricted wild cluster bootstrap by province (Rademacher, all 4,096 sign
    vectors of 12 provinces; Roodman et al. 2019). Also scaled to one interquartile range of
    the dose (``per_iqr``).
    """
    dose = data.drop_duplicates(schema.MUNICIPALITY)[DOSE]
    iqr = float(dose.quantile(0.75) - dose.quantile(0.25))
    rows, fits = [], {}
    for outcome in outcomes:
        res = intensity_did(data, outcome, dose=DOSE, reform_year=reform_year, baseline_year=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "few clusters": the wild bootstrap answers it
            by_province = intensity_did(data, outcome, dose=DOSE, reform_year=reform_year,
                                        baseline_year=None, cluster=schema.PROVINCE, bins=0)
        boot = wild_cluster_bootstrap(by_province, term=f"{DOSE}:post", draws=draws, seed=seed)
        hit = res.table.set_index("term").loc[f"{DOSE}:post"]
        rows.append({
            "outcome": outcome, "label": OUTCOMES.get(outcome, outcome),
            "municipalities": int(res.fit.extra["frame"][schema.MUNICIPALITY].nunique()),
            "estimate": hit["estimate"], "ci_low": hit["ci_low"], "ci_high": hit["ci_high"],
            "p_value": hit["p_value"], "wild_ci_low": boot.ci_low, "wild_ci_high": boot.ci_high,
            "wild_p": boot.p_value, "per_iqr": hit["estimate"] * iqr, "dose_iqr": iqr,
        })
        fits[outcome] = res
    return pd.DataFrame(rows), fits


def event_paths(data: pd.DataFrame, outcomes: Sequence[str] = tuple(OUTCOMES)):
    """Per outcome the year-by-year slope on the dose, relative to 2015 (event study)."""
    return {o: event_study(data, o, treatment=DOSE, reform_year=2016, reference=2015,
                           baseline_year=None) for o in outcomes}


def plot_event_paths(paths: dict[str, EstimationResult], panel: pd.DataFrame):
    """Event-time plots of :func:`event_paths`, one per outcome."""
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish

    fig, axes = plt.subplots(1, len(paths), figsize=(3.3 * len(paths), 3.4), squeeze=False)
    for ax, (outcome, res) in zip(axes[0], paths.items(), strict=True):
        res.plot(ax=ax)
        ax.set_title(OUTCOMES.get(outcome, outcome), fontsize="small")
        ax.set_xlabel("years since 2015", fontsize="x-small")
        ax.set_ylabel("per point of light-help growth", fontsize="x-small")
        ax.axvspan(0.5, DOSE_YEARS[1] - 2015 + 0.5, color="grey", alpha=0.12)
    return finish(fig, panel, "Slope on light-help growth 2015-2018 (shaded: the years the "
                  "dose is built from), 95% CI, CR1 by municipality")


def dose_windows(panel: pd.DataFrame, windows: Sequence[tuple[int, int]] = (
        (2015, 2018), (2016, 2019), (2015, 2020), (2016, 2023)), draws: int = 9999,
) -> pd.DataFrame:
    """The residential slope under other dose windows (post = the years after the first)."""
    rows = []
    for window in windows:
        data = light_help_dose(panel, window)
        data = data[data[schema.YEAR] >= window[0]]
        table, _ = intensity_table(data, [RESIDENTIAL_RATE], reform_year=window[0] + 1,
                                   draws=draws)
        rows.append(table.assign(dose_window=f"{window[0]}-{window[1]}"))
    return pd.concat(rows, ignore_index=True)


def reading(table: pd.DataFrame, trends: pd.DataFrame) -> str:
    """The finding in words, generated from :func:`intensity_table` and :func:`form_trends`."""
    nat = trends[trends[schema.SIZE_CLASS] == "all"].set_index(schema.YEAR)
    first, last = int(nat.index.min()), int(nat.index.max())
    res = table.set_index("outcome").loc[RESIDENTIAL_RATE]
    sure = ("excludes" if res.wild_ci_low > 0 or res.wild_ci_high < 0 else "includes")
    return (
        f"Real CBS data: nationally, youth help in kind rose from "
        f"{nat.loc[first, 'youth_help_in_kind_pct']:.1f}% to "
        f"{nat.loc[last, 'youth_help_in_kind_pct']:.1f}% of under-18s ({first}-{last}) while "
        f"residential help went from {nat.loc[first, RESIDENTIAL_RATE]:.2f} to "
        f"{nat.loc[last, RESIDENTIAL_RATE]:.2f} per 100 under-18s and its share of users "
        f"from {nat.loc[first, 'youth_help_residential_pct']:.1f}% to "
        f"{nat.loc[last, 'youth_help_residential_pct']:.1f}%. Across {res.municipalities} "
        f"municipalities, one interquartile range more light-help growth (2015-2018, "
        f"{res.dose_iqr:.2f} per 100) goes with {res.per_iqr:+.3f} residential per 100 after "
        f"2015 (slope {res.estimate:+.3f}, 95% wild-bootstrap interval by province "
        f"{res.wild_ci_low:+.3f} to {res.wild_ci_high:+.3f}, which {sure} 0; CR1 "
        f"{res.ci_low:+.3f} to {res.ci_high:+.3f}): an association, not substitution."
    )


CURVE_GRID = {"base_year": [2015, 2016, 2017], "sample": ["all", "balanced"],
              "threshold": [20_000, 50_000, 100_000], "cluster": ["province", "municipality"],
              "weighting": ["none", "population"]}


def size_curve(panel: pd.DataFrame, draws: int = 9999, seed: int = 0):
    """Large versus small growth in residential help per 100 under-18s over
    :data:`CURVE_GRID` (:func:`analysis.designs.specification_curve.specification_curve`,
    log scale, WCR wild bootstrap per specification)."""
    from analysis.designs.specification_curve import specification_curve

    return specification_curve(add_rates(panel), RESIDENTIAL_RATE, grid=CURVE_GRID,
                               design="growth", log=True, draws=draws, seed=seed)


def curve_reading(curve) -> str:
    """The specification curve's headline and range in one sentence (generated)."""
    s = curve.summary_table().iloc[0]
    more = "more" if s.percent_headline_estimate > 0 else "less"
    return (f"Large versus small (50,000): residential help per 100 under-18s grew "
            f"{abs(s.percent_headline_estimate):.1f}% {more} in large municipalities since "
            f"2015 (95% interval {s.percent_headline_ci_low:+.1f}% to "
            f"{s.percent_headline_ci_high:+.1f}%, the widest over the clusters); over "
            f"{int(s.estimated)} specifications from {s.percent_min_estimate:+.1f}% to "
            f"{s.percent_max_estimate:+.1f}%, {100 * s.share_excluding_zero:.0f}% of the "
            f"intervals excluding 0.")


# --------------------------------------------------------------------------- 82966NED


def combined_use(raw_dir=None) -> pd.DataFrame:
    """Combinations of forms (82966NED, 2015-2017), summed over municipalities by year.

    Counts are rounded to 5 and small cells suppressed by CBS, so each sum covers the
    municipalities that have that cell (``n_`` columns); ``edition_gap`` compares the
    table's total with the revised 84134NED over the same municipalities.
    """
    from analysis.data.cbs.exports.forms import read_combined_use

    frame = read_combined_use(raw_dir)
    rows = []
    for year, group in frame.groupby(schema.YEAR):
        both = group.dropna(subset=["total", "revised_total"])
        protected = group.dropna(subset=["protection", "protection_and_help"])
        probation = group.dropna(subset=["probation", "probation_and_help"])
        rows.append({
            schema.YEAR: int(year), "municipalities": len(group),
            "young_people_with_care": group["total"].sum(),
            "help_only_pct": 100 * group["help_only"].sum() / group["total"].sum(),
            "protected_with_help_pct": 100 * protected["protection_and_help"].sum()
            / protected["protection"].sum(), "n_protection": len(protected),
            "probation_with_help_pct": 100 * probation["probation_and_help"].sum()
            / probation["probation"].sum(), "n_probation": len(probation),
            "edition_gap_pct": 100 * (both["total"].sum() / both["revised_total"].sum() - 1),
        })
    return pd.DataFrame(rows)


__all__ = ["ROUNDING", "LighterCare", "combined_use", "dose_windows", "event_paths", "form_trends",
           "intensity_table", "light_help_dose", "plot_event_paths", "plot_trends",
           "reading", "unavailable"]


# --------------------------------------------------------------------------- notebook 10


class LighterCare:
    """Everything notebook 10 shows, computed once; on a panel without the forms every
    method shows why instead (the synthetic default has none)."""

    def __init__(self, panel: pd.DataFrame, draws: int = 9999, seed: int = 0) -> None:
        self.panel = panel
        self.reason = unavailable(panel)
        if self.reason:
            return
        self.trends = form_trends(panel)
        self.data = light_help_dose(panel)
        self.table, self.fits = intensity_table(self.data, draws=draws, seed=seed)
        self.paths = event_paths(self.data)
        self.windows = dose_windows(panel, draws=draws)
        self.curve = size_curve(panel, draws=draws, seed=seed)

    def _skip(self) -> bool:
        if self.reason:
            print("not shown:", self.reason)
        return bool(self.reason)

    def show_trends(self) -> pd.DataFrame | None:
        """The trend figure, and the national rows of the trend table."""
        from analysis.reporting.style import show

        if self._skip():
            return None
        show(plot_trends(self.trends, self.panel))
        shown = [schema.YEAR, *(f.share for f in FORMS), RESIDENTIAL_RATE]
        return self.trends[self.trends[schema.SIZE_CLASS] == "all"][shown].round(2)

    def show_intensity(self) -> pd.DataFrame | None:
        """The dose note, the slopes table and the event-time figure."""
        from analysis.reporting.style import show

        if self._skip():
            return None
        print(self.data.attrs["dose_note"])
        show(plot_event_paths(self.paths, self.panel))
        return self.table.drop(columns=["outcome"]).round(4)

    def show_windows(self) -> pd.DataFrame | None:
        """The residential slope under other dose windows."""
        if self._skip():
            return None
        columns = ["dose_window", "municipalities", "estimate", "wild_ci_low", "wild_ci_high",
                   "wild_p", "per_iqr"]
        return self.windows[columns].round(4)

    def show_curve(self) -> None:
        """The specification curve of the large-versus-small growth in residential help."""
        from analysis.reporting.style import show

        if self._skip():
            return
        print(self.curve.summary())
        show(self.curve.plot())

    def show_combined(self) -> pd.DataFrame | None:
        """82966NED's combinations of forms, 2015-2017."""
        if self._skip():
            return None
        return combined_use().round(2)

    def finding(self):
        """The one-line finding (:func:`reading`) or why there is none."""
        from analysis.reporting.report import finding

        if self.reason:
            return finding(f"Not estimated on this panel: {self.reason}.")
        return finding(reading(self.table, self.trends) + " " + curve_reading(self.curve))
