"""Did budgets hold? Realised against budgeted youth care and Wmo (real data).

83454NED (youth care, 2015-) and 84580NED (Wmo maatwerk, 2017-) give per municipality
its **own budget** (begroting) beside the realised amount, x 1,000 euro. These are the
municipalities' budgets, not the state's allocation to them (the integration and
general-fund money is not in these tables). A budget of exactly 0 is "not reported" and
missing (:mod:`analysis.data.cbs.exports.forms`).

* :func:`reporting` : who reports a budget, by size class and year (the selection);
* :func:`overrun_by_size` : among municipalities reporting both, realised minus budgeted
  per inhabitant (summed euros over summed inhabitants) and in % (summed realised over
  summed budget), and the share of municipalities overspending, with intervals:
  the share by Wilson's score interval, the aggregate % by a percentile bootstrap over
  municipalities (9,999 resamples; these intervals treat the reporting municipalities as
  a random sample of municipalities, which the selection shown by :func:`reporting`
  contradicts: read them as the variation among reporters, not as national certainty);
* :func:`size_gap` : the large-versus-small design on each municipality's overrun in %
  (:func:`analysis.studies.since2015.size_gap_table`, level and growth), CR1 by
  municipality and the wild cluster bootstrap by province.

Identifying assumption of the size comparison: municipalities of both sizes budget with
the same optimism, so a gap in overrun reflects a gap in spending against plan. It fails
when small municipalities budget differently (e.g. copying a regional plan) or report
selectively (a municipality that overspends may report later, or not at all).

Examples
--------
>>> from analysis.data.build import read_panel
>>> table = overrun_by_size(read_panel("statline", 2023), "youth")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data import schema

PAIRS = {
    "youth": ("youth_care_budget", "youth_care_cost", "youth care (83454NED)"),
    "wmo": ("wmo_budget", "wmo_spending", "Wmo maatwerk (84580NED)"),
}
NAMES = {"youth": "youth care", "wmo": "Wmo"}
OVERRUN = "{}_overrun_pct"  # 100 * (realised / budget - 1) per municipality-year
NOT_REAL = ("the panel has no budgets: they exist only in the real StatLine bundle "
            "(83454NED, 84580NED); run with source = \"statline\"")


def unavailable(panel: pd.DataFrame) -> str | None:
    """Why this study cannot run on ``panel`` (None when it can)."""
    columns = [c for budget, real, _ in PAIRS.values() for c in (budget, real)]
    if any(c not in panel or panel[c].isna().all() for c in columns):
        return NOT_REAL
    return None


FACTOR = 10.0  # budget and realised more than this factor apart: a probable unit error


def with_overrun(panel: pd.DataFrame, drop_implausible: bool = False) -> pd.DataFrame:
    """The panel with ``<kind>_overrun_pct`` (missing unless both amounts are reported).

    With ``drop_implausible`` a municipality-year whose budget and realised amount are
    more than :data:`FACTOR` apart (e.g. West Maas en Waal 2019: a Wmo budget of
    920,478 thousand euro beside 3,287 realised, euros entered as thousands by the look
    of it) has its budget set missing: a sensitivity check until the screening rule
    covers budget/realised pairs, never the default.
    """
    out = panel.copy()
    for kind, (budget, real, _) in PAIRS.items():
        if drop_implausible:
            ratio = out[real] / out[budget].where(out[budget] > 0)
            odd = (ratio > FACTOR) | (ratio < 1 / FACTOR)
            out.loc[odd, budget] = np.nan
        both = out[budget].gt(0) & out[real].notna()
        out[OVERRUN.format(kind)] = (100 * (out[real] / out[budget] - 1)).where(both)
    return out


def implausible(panel: pd.DataFrame) -> pd.DataFrame:
    """Municipality-years whose budget and realised amount are over :data:`FACTOR` apart."""
    rows = []
    for kind, (budget, real, _) in PAIRS.items():
        ratio = panel[real] / panel[budget].where(panel[budget] > 0)
        odd = panel[(ratio > FACTOR) | (ratio < 1 / FACTOR)]
        rows.append(odd[[schema.MUNICIPALITY, schema.NAME, schema.YEAR, budget, real]]
                    .rename(columns={budget: "budget", real: "realised"}).assign(kind=kind))
    return pd.concat(rows, ignore_index=True)


def reporting(panel: pd.DataFrame) -> pd.DataFrame:
    """Per kind, year and size class: municipalities, how many report a budget, and both."""
    rows = []
    for kind, (budget, real, _) in PAIRS.items():
        for (year, size), g in _by_size(panel):
            if g[real].isna().all() and g[budget].isna().all():
                continue
            rows.append({"kind": kind, schema.YEAR: year, schema.SIZE_CLASS: size,
                         "municipalities": len(g), "with_budget": int(g[budget].notna().sum()),
                         "with_realised": int(g[real].notna().sum()),
                         "with_both": int((g[budget].notna() & g[real].notna()).sum())})
    table = pd.DataFrame(rows)
    table["share_with_budget"] = table["with_budget"] / table["municipalities"]
    order = [*schema.SIZE_CLASSES, "all"]
    table[schema.SIZE_CLASS] = pd.Categorical(table[schema.SIZE_CLASS], order, ordered=True)
    return table


def _by_size(panel: pd.DataFrame):
    data = panel[panel[schema.YEAR] >= 2015]
    for (year, size), g in data.groupby([schema.YEAR, schema.SIZE_CLASS], observed=True):
        yield (int(year), str(size)), g
    for year, g in data.groupby(schema.YEAR):
        yield (int(year), "all"), g


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's score interval for a proportion (95% by default)."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _bootstrap_ratio(real: np.ndarray, budget: np.ndarray, draws: int, rng) -> tuple[float, float]:
    """Percentile interval of 100 * (sum real / sum budget - 1) over resampled municipalities."""
    if len(real) < 2:
        return float("nan"), float("nan")
    idx = rng.integers(0, len(real), size=(draws, len(real)))
    ratios = 100 * (real[idx].sum(axis=1) / budget[idx].sum(axis=1) - 1)
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def overrun_by_size(panel: pd.DataFrame, kind: str, draws: int = 9999,
                    seed: int = 0) -> pd.DataFrame:
    """Realised minus budgeted, per year and size class, among those reporting both.

    Columns: ``reporting_both``, ``with_population``, ``overrun_per_inhabitant`` (euro,
    summed over summed inhabitants, for those with a population),
    ``overrun_pct`` (summed realised / summed budget - 1, in %) with its bootstrap
    ``overrun_pct_low/high``, ``median_overrun_pct`` (the middle municipality),
    ``share_overspending`` with its Wilson ``share_low/high``.
    """
    budget, real, _ = PAIRS[kind]
    rng = np.random.default_rng(seed)
    rows = []
    for (year, size), g in _by_size(panel):
        both = g[g[budget].gt(0) & g[real].notna()]
        if both.empty:
            continue
        b, r = both[budget].to_numpy(float), both[real].to_numpy(float)
        sized = both[both[schema.POPULATION].notna()]
        over = int((r > b).sum())
        low, high = _bootstrap_ratio(r, b, draws, rng)
        share_low, share_high = wilson(over, len(both))
        rows.append({
            schema.YEAR: year, schema.SIZE_CLASS: size, "reporting_both": len(both),
            "with_population": len(sized),
            "overrun_per_inhabitant": 1000 * (sized[real] - sized[budget]).sum()
            / sized[schema.POPULATION].sum() if len(sized) else np.nan,
            "overrun_pct": 100 * (r.sum() / b.sum() - 1), "overrun_pct_low": low,
            "overrun_pct_high": high, "median_overrun_pct": float(np.median(100 * (r / b - 1))),
            "share_overspending": over / len(both), "share_low": share_low,
            "share_high": share_high,
        })
    table = pd.DataFrame(rows)
    order = [*schema.SIZE_CLASSES, "all"]
    table[schema.SIZE_CLASS] = pd.Categorical(table[schema.SIZE_CLASS], order, ordered=True)
    return table.sort_values([schema.SIZE_CLASS, schema.YEAR], ignore_index=True)


def pooled(panel: pd.DataFrame, kind: str, years: tuple[int, int], draws: int = 9999,
           seed: int = 0) -> dict:
    """The national overrun over ``years`` pooled (municipality-years reporting both).

    The bootstrap resamples municipalities (all their years together), so a
    municipality that overspends every year counts once per draw, not three times.
    """
    budget, real, _ = PAIRS[kind]
    data = panel[panel[schema.YEAR].between(*years) & panel[budget].gt(0) & panel[real].notna()]
    sums = data.groupby(schema.MUNICIPALITY)[[real, budget]].sum()
    rng = np.random.default_rng(seed)
    low, high = _bootstrap_ratio(sums[real].to_numpy(float), sums[budget].to_numpy(float),
                                 draws, rng)
    over = int((data[real] > data[budget]).sum())
    share_low, share_high = wilson(over, len(data))
    return {"kind": kind, "years": years, "municipality_years": len(data),
            "municipalities": len(sums),
            "overrun_pct": 100 * (data[real].sum() / data[budget].sum() - 1),
            "overrun_pct_low": low, "overrun_pct_high": high,
            "median_overrun_pct": float((100 * (data[real] / data[budget] - 1)).median()),
            "share_overspending": over / len(data), "share_low": share_low,
            "share_high": share_high}


def size_gap(panel: pd.DataFrame, draws: int = 9999, seed: int = 0) -> pd.DataFrame:
    """Large versus small on the municipal overrun in % (level from 2017 and growth)."""
    from analysis.studies.since2015 import size_gap_table

    data = with_overrun(panel)
    outcomes = [OVERRUN.format(k) for k in PAIRS]
    level = size_gap_table(data, outcomes, design="level", first_year=2017, draws=draws,
                           seed=seed)
    growth = size_gap_table(data, outcomes, design="growth", draws=draws, seed=seed)
    return pd.concat([level, growth], ignore_index=True).drop(columns=["truth"])


def plot_overrun(tables: dict[str, pd.DataFrame], report: pd.DataFrame, panel: pd.DataFrame):
    """Overrun % by size class and year (with the national bootstrap band), the share
    overspending, and the share of municipalities reporting a budget."""
    import matplotlib.pyplot as plt

    from analysis.reporting.style import finish

    fig, axes = plt.subplots(len(tables), 3, figsize=(11, 3.3 * len(tables)), squeeze=False)
    for row, (kind, table) in zip(axes, tables.items(), strict=True):
        label = PAIRS[kind][2]
        for size, g in table.groupby(schema.SIZE_CLASS, observed=True):
            style = {"color": "black", "lw": 2.2} if size == "all" else {"lw": 1.1}
            row[0].plot(g[schema.YEAR], g["overrun_pct"], marker=".", label=str(size), **style)
            row[1].plot(g[schema.YEAR], 100 * g["share_overspending"], marker=".", **style)
            if size == "all":
                row[0].fill_between(g[schema.YEAR], g["overrun_pct_low"], g["overrun_pct_high"],
                                    color="black", alpha=0.12)
                row[1].fill_between(g[schema.YEAR], 100 * g["share_low"],
                                    100 * g["share_high"], color="black", alpha=0.12)
        rep = report[report["kind"] == kind]
        for size, g in rep.groupby(schema.SIZE_CLASS, observed=True):
            style = {"color": "black", "lw": 2.2} if size == "all" else {"lw": 1.1}
            row[2].plot(g[schema.YEAR], 100 * g["share_with_budget"], marker=".", **style)
        row[0].axhline(0, color="grey", lw=0.8)
        row[1].axhline(50, color="grey", lw=0.8)
        row[0].set_title(f"{label}: realised vs budget (%)", fontsize="small")
        row[1].set_title("municipalities overspending (%)", fontsize="small")
        row[2].set_title("municipalities reporting a budget (%)", fontsize="small")
    axes[0][0].legend(fontsize="x-small", title="size (2015)", title_fontsize="x-small")
    return finish(fig, panel, "Municipalities' own budgets against realised spending "
                  "(black: all; band: 95% interval)")


def reading(youth: dict, wmo: dict, report: pd.DataFrame, boundary_year: int,
            screened: dict | None = None) -> str:
    """The finding in words, generated from :func:`pooled` and :func:`reporting`
    (``screened``: ``{kind: pooled(...)}`` without the implausible pairs)."""
    rep = report[(report["kind"] == "youth") & (report[schema.SIZE_CLASS] == "all")]
    rep = rep.set_index(schema.YEAR)["with_budget"]
    first = int(rep[rep > 0].index.min())

    def one(p: dict, what: str) -> str:
        return (f"{what} {p['years'][0]}-{p['years'][1]}: realised {p['overrun_pct']:+.1f}% "
                f"against budget (95% bootstrap interval over municipalities "
                f"{p['overrun_pct_low']:+.1f}% to {p['overrun_pct_high']:+.1f}%), "
                f"{100 * p['share_overspending']:.0f}% of {p['municipality_years']} "
                f"municipality-years overspent ({100 * p['share_low']:.0f}-"
                f"{100 * p['share_high']:.0f}%)")

    extra = "".join(
        f" Without the municipality-years whose budget and realised are over {FACTOR:g}x "
        f"apart: {one(p, NAMES[kind])}." for kind, p in (screened or {}).items())
    return (f"Real CBS data, municipalities' own budgets (not the state's allocation), among "
            f"those reporting both: {one(youth, 'youth care')}; {one(wmo, 'Wmo')}.{extra} "
            f"Reporting "
            f"is selective: {rep[first]} units reported a youth-care budget in {first}, "
            f"{rep.iloc[-1]} in {int(rep.index.max())} (on {boundary_year} boundaries).")


__all__ = ["Budgets", "implausible", "overrun_by_size", "plot_overrun", "pooled", "reading",
           "reporting", "size_gap", "unavailable", "wilson", "with_overrun"]


# --------------------------------------------------------------------------- notebook 11

POOLED_YEARS = (2017, 2019)


class Budgets:
    """Everything notebook 11 shows, computed once; on a panel without budgets every
    method shows why instead (the synthetic default has none)."""

    def __init__(self, panel: pd.DataFrame, draws: int = 9999, seed: int = 0) -> None:
        self.panel = panel
        self.reason = unavailable(panel)
        if self.reason:
            return
        self.report = reporting(panel)
        self.tables = {k: overrun_by_size(panel, k, draws, seed) for k in PAIRS}
        self.pooled = {k: pooled(panel, k, POOLED_YEARS, draws, seed) for k in PAIRS}
        screened = with_overrun(panel, drop_implausible=True)
        self.screened = {k: pooled(screened, k, POOLED_YEARS, draws, seed) for k in PAIRS}
        self.odd = implausible(panel)
        self.gap = size_gap(panel, draws=draws, seed=seed)

    def _skip(self) -> bool:
        if self.reason:
            print("not shown:", self.reason)
        return bool(self.reason)

    def show_reporting(self) -> pd.DataFrame | None:
        """Who reports a budget: share by size class and year (rows: kind, size class)."""
        if self._skip():
            return None
        wide = self.report.pivot_table(index=["kind", schema.SIZE_CLASS], columns=schema.YEAR,
                                       values="with_budget", observed=True)
        return wide.astype("Int64")

    def show_overrun(self, kind: str) -> pd.DataFrame | None:
        """The overrun table of one kind (``youth`` or ``wmo``)."""
        if self._skip():
            return None
        return self.tables[kind].round(2)

    def show_figure(self) -> None:
        from analysis.reporting.style import show

        if not self._skip():
            show(plot_overrun(self.tables, self.report, self.panel))

    def show_pooled(self) -> pd.DataFrame | None:
        """The pooled 2017-2019 figures, all reporters and without implausible pairs."""
        if self._skip():
            return None
        rows = [{**p, "sample": "all reporting both"} for p in self.pooled.values()]
        rows += [{**p, "sample": f"without pairs over {FACTOR:g}x apart"}
                 for p in self.screened.values()]
        return pd.DataFrame(rows).drop(columns=["years"]).round(3)

    def show_implausible(self) -> pd.DataFrame | None:
        return None if self._skip() else self.odd

    def show_size_gap(self) -> pd.DataFrame | None:
        if self._skip():
            return None
        columns = ["outcome", "design", "group", "base_year", "last_year", "municipalities",
                   "in_group", "estimate", "ci_low", "ci_high", "wild_ci_low", "wild_ci_high",
                   "wild_p"]
        return self.gap[columns].round(3)

    def gap_reading(self) -> str:
        """The size comparison in words (generated from the table)."""
        if self.reason:
            return f"not estimated: {self.reason}"
        lines = []
        for row in self.gap.itertuples():
            who = "small" if row.group == "small" else "large"
            what = ("level gap in overrun, from 2017" if row.design == "level"
                    else f"growth of the overrun since {row.base_year}")
            lines.append(f"- {row.outcome} ({what}): {who} municipalities {row.estimate:+.1f} "
                         f"points (95% wild-bootstrap interval {row.wild_ci_low:+.1f} to "
                         f"{row.wild_ci_high:+.1f}, p = {row.wild_p:.3f})")
        return "\n".join(lines)

    def finding(self):
        from analysis.reporting.report import finding

        if self.reason:
            return finding(f"Not estimated on this panel: {self.reason}.")
        year = int(self.panel.attrs.get("boundary_year", 2023))
        changed = {k: p for k, p in self.screened.items()
                   if p["municipality_years"] != self.pooled[k]["municipality_years"]}
        return finding(reading(self.pooled["youth"], self.pooled["wmo"], self.report, year,
                               changed))
