"""Notebook 09's logic: how wrong may parallel trends be, randomisation inference, power.

:func:`sensitivity_and_power` runs, on one panel, the three checks a reviewer asks for
after the large-versus-small difference-in-differences:

1. Rambachan-Roth sensitivity (:func:`analysis.honest_did`) of the event study's first
   post-reform coefficient (2015, reference 2014) for the headline outcome;
2. randomisation inference (:func:`analysis.randomisation_inference`): the size labels
   permuted within provinces, the p-value beside the wild cluster bootstrap's;
3. power (:func:`analysis.power`): the minimum detectable effect at 80% power of the
   large-versus-small, intensity and merger designs on this panel.

Each check runs only where the panel allows it; otherwise the report carries one line
saying why (the real StatLine bundle has no outcome with one definition across 2015).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.data import schema

MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)  # relative magnitudes: 0 to twice the worst pre-period
# A merger cohort needs this many units: with fewer, staggered_did's covariance of the
# pre-period ATT(g,t) is near-singular and some power replications cannot be tested.
MIN_COHORT = 5


@dataclass
class SensitivityReport:
    """What notebook 09 shows; every table is rounded to 4 significant digits."""

    headline: str | None
    honest: object | None  # HonestDiDResult of the headline outcome
    honest_truth: float  # true first post-period coefficient (synthetic), else NaN
    randomisation: dict[str, object]  # outcome -> RandomisationResult
    power: dict[str, object]  # outcome -> PowerResult
    truth: dict[str, float]  # outcome -> true large_x_post effect (synthetic)
    reasons: list[str] = field(default_factory=list)  # what could not run, and why
    means: dict[str, float] = field(default_factory=dict)  # outcome -> its mean in the panel

    def honest_table(self) -> pd.DataFrame:
        """Robust intervals by M (smoothness) and Mbar (relative magnitudes)."""
        if self.honest is None:
            return pd.DataFrame()
        return _round(self.honest.table)

    def breakdown_table(self) -> pd.DataFrame:
        """Breakdown values: the smallest M and Mbar whose interval contains zero."""
        if self.honest is None:
            return pd.DataFrame()
        b = self.honest.breakdown
        rows = [{"restriction": "smoothness", "parameter": "M", "breakdown": b["M"]},
                {"restriction": "relative magnitudes", "parameter": "Mbar", "breakdown": b["Mbar"]}]
        return _round(pd.DataFrame(rows))

    def p_value_table(self) -> pd.DataFrame:
        """Randomisation, wild-bootstrap and CR1 p-values per outcome, truth beside."""
        frames = []
        for outcome, ri in self.randomisation.items():
            wide = {"outcome": outcome, "estimate": ri.estimate}
            if outcome in self.truth:
                wide["truth"] = self.truth[outcome]
            wide.update(randomisation_p=ri.p_value, randomisation_mc_se=ri.mc_se,
                        wild_p=ri.wild.p_value if ri.wild is not None else np.nan,
                        cr1_p=ri.cr1_p)
            frames.append(wide)
        return _round(pd.DataFrame(frames))

    def mde_table(self) -> pd.DataFrame:
        """MDE at 80% power per outcome and design, with Bloom's approximation and the truth."""
        frames = []
        for outcome, result in self.power.items():
            table = result.table[["design", "effect_unit", "se", "mde", "mde_mc_se", "mde_bloom"]]
            mean = float(self.means.get(outcome, np.nan))
            share = np.where(table["design"] == "intensity", np.nan, 100 * table["mde"] / mean)
            table = table.assign(outcome=outcome, mde_pct_of_mean=share)  # not for a dose slope
            if outcome in self.truth:
                table["truth"] = np.where(table["design"] == "large_vs_small",
                                          self.truth[outcome], np.nan)
            frames.append(table)
        if not frames:
            return pd.DataFrame()
        out = pd.concat(frames, ignore_index=True)
        return _round(out[["outcome", *[c for c in out if c != "outcome"]]])

    def reading(self) -> str:
        """The plain-language reading of the three sections."""
        parts = []
        if self.honest is not None:
            b = self.honest.breakdown
            parts.append(
                f"{self.headline}: the 2015 large-small difference stays away from zero unless "
                f"the post-2015 violation of parallel trends is more than {_fmt(b['Mbar'])} times "
                f"the largest pre-2015 change between years (breakdown Mbar), or the trend's "
                f"slope may change by more than {_fmt(b['M'])} per year (breakdown M)")
        if self.headline in self.randomisation:  # the other outcomes are in the table
            ri = self.randomisation[self.headline]
            wild = ri.wild.p_value if ri.wild is not None else float("nan")
            parts.append(f"randomisation p = {ri.p_value:.3g} beside wild-bootstrap "
                         f"p = {wild:.3g}")
        for outcome, result in list(self.power.items())[:1]:
            t = result.table.set_index("design")
            mean = self.means.get(outcome, np.nan)
            text = ", ".join(f"{d} {t.loc[d, 'mde']:.3g}"
                             + (f" ({100 * t.loc[d, 'mde'] / mean:.2g}% of its mean)"
                                if d != "intensity" else " per unit of dose")
                             for d in t.index)
            parts.append(f"{outcome}: MDE at 80% power {text}")
        return "; ".join(parts) + "." if parts else "nothing could be estimated on this panel."


def _fmt(value: float) -> str:
    return "(not reached on the grid)" if not np.isfinite(value) else f"{value:.3g}"


def _round(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Numbers to ``digits`` significant digits, so stored notebook outputs are stable."""
    out = frame.copy()
    for column in out.select_dtypes("number"):
        values = out[column].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(np.isfinite(values) & (values != 0),
                             10.0 ** (digits - 1 - np.floor(np.log10(np.abs(values)))), 1.0)
            out[column] = np.round(values * scale) / scale
    return out


def _large_post_truth(panel: pd.DataFrame, outcome: str, threshold: float) -> float | None:
    """The true large x post effect of the TWFE design (synthetic panels only)."""
    from analysis.designs.twfe import twfe
    from analysis.reporting.truth import true_estimate
    from analysis.studies.evaluation import LARGE_POST, large_at, with_truth

    data = large_at(with_truth(panel), threshold)
    if f"true_effect__{outcome}" not in data:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(true_estimate(twfe, data, outcome, regressors=[LARGE_POST])[LARGE_POST])


def _joined(runs: list) -> object:
    """One PowerResult from runs on different rows (mergers use the units with cohorts)."""
    first = runs[0]
    return replace(
        first,
        table=pd.concat([r.table for r in runs], ignore_index=True),
        curves=pd.concat([r.curves for r in runs], ignore_index=True),
        calibration={k: v for r in runs for k, v in r.calibration.items()},
        notes=[n for r in runs for n in r.notes],
    )


def _with_cohorts(panel: pd.DataFrame, raw: tuple | str, boundary_year: int,
                  outcome: str) -> tuple[pd.DataFrame | None, str | None]:
    """The panel with merger cohorts that the merger design can use, or why not.

    Mergers before the outcome's first year are outside its window (cohort 0, as
    :func:`analysis.data.merger_cohorts` does with ``first_year``); a cohort of one unit is
    left out with its units when it has fewer than :data:`MIN_COHORT` units or fewer than
    two pre-periods in the outcome's years. ``raw`` is :func:`_raw_panel`'s answer: the
    unharmonised panel and its boundary history, or why there are none.
    """
    from analysis.data.merger_cohorts import merger_cohorts

    if isinstance(raw, str):
        return None, raw
    raw, history = raw
    # staggered_did wants a balanced panel: the units observed in every year the outcome has
    observed = panel[panel[outcome].notna()]
    years = observed[schema.YEAR]
    complete = observed.groupby(schema.MUNICIPALITY)[schema.YEAR].nunique() == years.nunique()
    if complete.sum() < 20:
        return None, (f"mergers ({outcome}): only {int(complete.sum())} municipalities have it "
                      f"in every year {int(years.min())}-{int(years.max())}")
    populations = raw[[schema.MUNICIPALITY, schema.YEAR, schema.POPULATION]]
    cohorts = merger_cohorts(history, boundary_year, populations, first_year=int(years.min()))
    size = cohorts["cohort"].map(cohorts["cohort"].value_counts())
    first = int(years.min())  # a cohort needs two pre-periods for its pre-trend test
    last = int(years.max())  # a merger after the outcome's last year is never observed
    usable = (size >= MIN_COHORT) & (cohorts["cohort"] >= first + 2) & (cohorts["cohort"] <= last)
    kept = cohorts[(cohorts["cohort"] == 0) | usable]
    if (kept["cohort"] > 0).sum() < 2:
        return None, (f"mergers ({outcome}): fewer than two merged units between {first + 2} "
                      f"and {last} (two pre-years needed)")
    cohort = kept.set_index("code")["cohort"].rename("cohort")
    units = cohort.index.intersection(complete.index[complete])
    observed_size = cohort[units].map(cohort[units].value_counts())
    units = units[(cohort[units] == 0).to_numpy() | (observed_size >= MIN_COHORT).to_numpy()]
    if (cohort[units] > 0).sum() < 2:
        return None, (f"mergers ({outcome}): fewer than two merged units observed in every "
                      f"year {int(years.min())}-{int(years.max())}")
    data = observed[observed[schema.MUNICIPALITY].isin(units)]
    return data.join(cohort, on=schema.MUNICIPALITY), None


def _raw_panel(source: str) -> tuple | str:
    """The source's unharmonised panel and boundary history, or why there are none.

    Read once per report: on the real bundle it reads and matches 19 tables (about 4 s).
    """
    from analysis.data.build import load_raw_panel

    try:
        raw, history, _ = load_raw_panel(source)
    except (FileNotFoundError, ValueError) as error:
        return f"mergers: no boundary history for source {source!r} ({error})"
    return raw, history


def sensitivity_and_power(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    source: str = "synthetic",
    boundary_year: int = 2023,
    threshold: float = schema.LARGE_THRESHOLD,
    draws: int = 999,
    reps: int = 200,
    seed: int = 0,
) -> SensitivityReport:
    """Sensitivity to parallel trends, randomisation inference and power on one panel.

    The headline outcome is the first of ``outcomes`` with one definition across 2015.
    Its event study by size (reference 2014) goes into :func:`analysis.honest_did` (the
    first post-period, default M grid and Mbar in :data:`MBAR`). Every outcome with one
    definition across 2015 gets the TWFE large-versus-small randomisation test (labels
    permuted within provinces, ``draws`` draws, wild bootstrap with as many) and the power
    of the large-versus-small and intensity designs (``reps`` replications); the merger
    design is added where the boundary history has merger cohorts within the outcome's
    years, so it also runs where nothing spans 2015 (the real youth-care series).

    Identifying assumptions are those of each method: bounded violations of parallel
    trends (honest_did), exchangeable size labels within a province (randomisation),
    AR(1) errors common to all units and a constant effect (power). None of them is
    testable from this panel alone; the notebook says what each answer means.

    Examples
    --------
    >>> from analysis.studies.sensitivity_report import sensitivity_and_power
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> report = sensitivity_and_power(simulate_panel(1).panel, ["wmo_per_1000"], source="none",
    ...                                draws=99, reps=20)
    >>> report.headline
    'wmo_per_1000'
    """
    from analysis.inference.honest_did import honest_did
    from analysis.inference.power import power
    from analysis.inference.randomisation import randomisation_inference
    from analysis.studies.evaluation import event_studies, event_study_table
    from analysis.studies.prereform import across_reform_reason, budget_reason

    reasons = [r for o in outcomes if (r := across_reform_reason(panel, o))]
    across = [o for o in outcomes if across_reform_reason(panel, o) is None]
    headline = across[0] if across else None
    honest, honest_truth = None, float("nan")
    if headline is not None:
        study = event_studies(panel, [headline], threshold=threshold)
        honest = honest_did(study[headline], Mbar=list(MBAR))
        table = event_study_table(study, panel)
        if "truth" in table:
            honest_truth = float(table.loc[table["event_time"] == 0, "truth"].iloc[0])
    else:
        reasons.append("sensitivity and randomisation inference need a before and an after "
                       "2015 in one series; no outcome here has one")
    truth = {o: t for o in across if (t := _large_post_truth(panel, o, threshold)) is not None}
    randomisation = {o: randomisation_inference(panel, o, threshold=threshold, draws=draws,
                                                wild_draws=draws, seed=seed) for o in across}
    if (no_budget := budget_reason(panel)):
        reasons.append(f"intensity: {no_budget}")
    results = {}
    raw = _raw_panel(source)
    for outcome in outcomes:
        designs = [d for d in ("large_vs_small", "intensity") if outcome in across
                   and (d == "large_vs_small" or not no_budget)]
        data, why = _with_cohorts(panel, raw, boundary_year, outcome)
        if why:
            reasons.append(why)
        runs = [power(panel, outcome, designs=designs, reps=reps, seed=seed,
                      threshold=threshold)] if designs else []
        if data is not None:  # on the units with usable cohorts only
            try:
                runs.append(power(data, outcome, designs=["mergers"], reps=reps, seed=seed,
                                  cohort="cohort"))
            except np.linalg.LinAlgError:  # a replication's pre-trend covariance is singular
                reasons.append(f"mergers ({outcome}): the merger design's pre-period "
                               "covariance is singular on these cohorts; power not simulated")
        if runs:
            results[outcome] = _joined(runs)
    means = {o: float(panel[o].mean()) for o in results}
    return SensitivityReport(headline, honest, honest_truth, randomisation, results, truth,
                             list(dict.fromkeys(reasons)), means)
