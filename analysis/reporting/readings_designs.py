"""The readings of notebooks 08 (mergers) and 09 (sensitivity and power), generated.

Same rules as :mod:`analysis.reporting.readings`: each sentence states what the run's
tables show. In particular

* a pre-test that rejects takes its outcome out of the findings: its estimate is shown,
  never listed as an effect (:func:`merger_reading`, :func:`merger_finding`);
* the count of pre-tests that reject is counted, with what chance alone would give
  (:func:`pretest_sentence`);
* an MDE larger than the estimate is said to mean what it means: the design could not
  reliably detect an effect of the size it estimated (:func:`mde_sentence`);
* a check that did not run is named as not run, never read (:func:`sensitivity_reading`).

Examples
--------
>>> import pandas as pd
>>> summary = pd.DataFrame({"outcome": ["wmo_per_1000", "youth_care_per_1000"],
...     "estimator": ["Callaway-Sant'Anna, not-yet-treated control"] * 2,
...     "pretrend_p": [0.001, 0.40]})
>>> pretest_sentence(summary).split(";")[0]
'The pre-test rejects at 5% for 1 of 2 outcomes (Wmo clients (social support), p = 0.001)'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.data import schema

HEADLINE_ESTIMATOR = "not-yet"  # Callaway-Sant'Anna with the not-yet-merged control


def _label(outcome: str) -> str:
    spec = schema.OUTCOMES.get(outcome)
    return spec.label if spec is not None else outcome


def _unit(outcome: str) -> str:
    spec = schema.OUTCOMES.get(outcome)
    return spec.unit if spec is not None else "in the outcome's unit"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _headline(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["estimator"].str.contains(HEADLINE_ESTIMATOR)].set_index("outcome")


def _at_least(k: int, n: int, level: float) -> float:
    """P(X >= k) for X ~ Binomial(n, level): how often chance alone gives k rejections."""
    return float(sum(math.comb(n, j) * level**j * (1 - level) ** (n - j) for j in range(k, n + 1)))


def pretest_sentence(summary: pd.DataFrame, level: float = 0.05) -> str:
    """How many outcomes' pre-tests reject, and whether chance alone could give that many.

    One test per outcome: the headline estimator's (not-yet-merged control) joint test
    that the pre-merger event times are zero; outcomes without a test are not counted.
    """
    rows = _headline(summary).dropna(subset=["pretrend_p"])
    n = len(rows)
    if n == 0:
        return "No outcome has a pre-test (no cohort has two years before its merger)."
    reject = rows[rows["pretrend_p"] < level]
    k = len(reject)
    listed = "; ".join(f"{_label(o)}, {_p(p)}" for o, p in reject["pretrend_p"].items())
    chance = _at_least(k, n, level)
    text = f"The pre-test rejects at {level:.0%} for {k} of {n} outcomes" + (
        f" ({listed})" if k else ""
    )
    if k == 0:
        return text + "; a pass does not prove the assumption for the years after the merger."
    return text + (
        f"; were the {n} tests independent, {k} or more rejections would happen by chance alone "
        f"with probability {chance:.2g}"
        + (
            ", so this many is what chance allows."
            if chance >= level
            else ", so chance does not explain them: for those outcomes the merged and "
            "not-yet-merged units were already moving apart before the merger, and their "
            "estimates are not "
            "effects of merging."
        )
    )


def _estimate(row: pd.Series, outcome: str) -> str:
    excl = row["ci_low"] > 0 or row["ci_high"] < 0
    return (
        f"{row['estimate']:+.3g} {_unit(outcome)} (95% CI {row['ci_low']:+.3g} to "
        f"{row['ci_high']:+.3g}, {'excludes' if excl else 'includes'} 0; "
        f"{int(row['n_merged'])} merged units)"
    )


def merger_reading(
    summary: pd.DataFrame,
    anticipating: pd.DataFrame | None = None,
    level: float = 0.05,
    event_study: pd.DataFrame | None = None,
) -> str:
    """One paragraph per outcome: the estimate, its pre-test, and the anticipation check.

    An outcome whose pre-test rejects is reported as not read as an effect. With
    ``truth`` in the table (synthetic), whether the interval covers it. With
    ``event_study`` (``MergerEvaluation.event_study``), the headline estimator's
    pre-merger event times of an outcome whose pre-test passes are listed: a pass with
    leads far from zero is weak evidence for the assumption.
    """
    lines = [pretest_sentence(summary, level)]
    head = _headline(summary)
    other = summary[~summary["estimator"].str.contains(HEADLINE_ESTIMATOR)]
    late = _headline(anticipating) if anticipating is not None else None
    for outcome, row in head.iterrows():
        pre = row["pretrend_p"]
        fails = bool(pre < level)
        text = f"- {_label(outcome)}: {_estimate(row, outcome)}, pre-test {_p(pre)}"
        if fails:
            text += "; the pre-test rejects, so this is not read as an effect of merging"
        elif event_study is not None:
            leads = event_study[
                (event_study["outcome"] == outcome)
                & event_study["estimator"].str.contains(HEADLINE_ESTIMATOR)
                & (event_study["event_time"] < 0)
            ].sort_values("event_time")
            if len(leads):
                text += (
                    "; its pre-merger event times are "
                    + ", ".join(
                        f"{r.estimate:+.2g} ({int(r.event_time)})" for r in leads.itertuples()
                    )
                    + ": the pass says they are jointly compatible with 0, not that they are 0"
                )
        alt = other[other["outcome"] == outcome]
        if len(alt):
            text += "; " + "; ".join(
                f"{r.estimator.split(',')[-1].strip()} {r.estimate:+.3g}" for r in alt.itertuples()
            )
        if "truth" in row and pd.notna(row["truth"]):
            covered = row["ci_low"] <= row["truth"] <= row["ci_high"]
            text += (
                f"; truth {row['truth']:+.3g} ({'inside' if covered else 'outside'} the interval)"
            )
        if late is not None and outcome in late.index:
            a = late.loc[outcome]
            a_pre = a["pretrend_p"]
            text += (
                f". With one year of anticipation: {_estimate(a, outcome)}, pre-test "
                + ("not available" if pd.isna(a_pre) else _p(a_pre))
                + ("" if pd.isna(a_pre) or a_pre >= level else ", still rejecting")
            )
        lines.append(text + ".")
    return "\n".join(lines)


def merger_finding(summary: pd.DataFrame, level: float = 0.05) -> str:
    """The notebook's one-line finding: effects only for outcomes whose pre-test passes."""
    head = _headline(summary)
    passing = head[~(head["pretrend_p"] < level)]
    failing = head[head["pretrend_p"] < level]
    parts = [f"{_label(o)} {_estimate(r, o)}" for o, r in passing.iterrows()]
    text = (
        "Effect of a merger (Callaway-Sant'Anna, not-yet-merged control), outcomes whose "
        "pre-test passes: " + ("; ".join(parts) if parts else "none")
    )
    if len(failing):
        text += (
            f". Not read as effects, because their pre-test rejects at {level:.0%}: "
            + ", ".join(_label(o) for o in failing.index)
        )
    return text + "."


def mde_sentence(mde: pd.DataFrame, estimates: pd.DataFrame | None = None) -> str:
    """The MDE per outcome and design, against the design's estimate where one is given.

    ``mde`` is
    :meth:`analysis.studies.sensitivity_report.SensitivityReport.mde_table`;
    ``estimates`` has ``outcome`` and ``estimate`` (e.g. notebook 08's merger summary,
    headline estimator). An MDE above
    the absolute estimate means the design could not reliably detect an effect of the
    size it estimated.
    """
    if estimates is None:
        est = {}
    elif "estimator" in estimates:
        est = dict(_headline(estimates)["estimate"])
    else:
        est = dict(zip(estimates["outcome"], estimates["estimate"], strict=True))
    lines = []
    for row in mde.itertuples(index=False):
        share = (
            ""
            if pd.isna(getattr(row, "mde_pct_of_mean", np.nan))
            else f", {row.mde_pct_of_mean:.2g}% of the outcome's mean"
        )
        text = f"- {_label(row.outcome)}, {row.design}: MDE at 80% power {row.mde:.3g}{share}"
        truth = getattr(row, "truth", np.nan)
        if pd.notna(truth):  # synthetic: the planted large-versus-small effect
            text += (f"; the planted effect ({truth:+.3g}) is "
                     + ("larger" if abs(truth) > row.mde else "smaller") + " than the MDE")
        e = est.get(row.outcome) if row.design == "mergers" else None
        if e is not None and np.isfinite(e):
            if abs(e) < row.mde:
                text += (
                    f", larger than the estimate ({e:+.3g}): the design could not reliably "
                    "detect an effect of the size it estimated (such an effect is found less "
                    "than 80% of the time), so that estimate is weak evidence either way"
                )
            else:
                text += (
                    f", smaller than the estimate ({e:+.3g}): an effect of that size is one "
                    "the design detects at least 80% of the time"
                )
        lines.append(text + ".")
    return "\n".join(lines)


def sensitivity_reading(report, estimates: pd.DataFrame | None = None) -> str:
    """Notebook 09's reading: each section that ran, in words; each that did not, named.

    ``report`` is :func:`analysis.studies.sensitivity_report.sensitivity_and_power` output.
    """
    lines = []
    if report.honest is not None:
        b = report.honest.breakdown
        lines.append(
            f"- Sensitivity ({report.headline}): the 2015 large-small difference's robust "
            f"interval first contains 0 at Mbar = {_fmt(b['Mbar'])} (relative magnitudes) and "
            f"M = {_fmt(b['M'])} (smoothness); a breakdown M of 0 means a linear pre-trend "
            "extrapolated from the pre-years already makes the interval contain zero."
        )
    else:
        lines.append(
            "- Sensitivity to parallel trends: not run on this panel (no outcome has "
            "one series across 2015, so there is no event study around the reform)."
        )
    if report.randomisation:
        table = report.p_value_table()
        lines.append(
            "- Randomisation inference: "
            + "; ".join(
                f"{r.outcome} randomisation p = {r.randomisation_p:.3g}, wild-bootstrap p = "
                + ("0 (no bootstrap statistic as large as the observed one)" if r.wild_p == 0
                   else f"{r.wild_p:.3g}")
                for r in table.itertuples()
            )
            + "."
        )
    else:
        lines.append(
            "- Randomisation inference: not run on this panel (the large-versus-small "
            "design needs years before and after 2015 in one series)."
        )
    if report.power:
        lines.append("- Power:\n" + mde_sentence(report.mde_table(), estimates))
    else:
        lines.append("- Power: no design could be simulated on this panel.")
    return "\n".join(lines)


def sensitivity_finding(report, estimates: pd.DataFrame | None = None) -> str:
    """Notebook 09's one-line finding: what ran; the first MDE against its estimate if given."""
    text = report.reading()
    if not report.power or estimates is None:
        return text
    first = mde_sentence(report.mde_table().head(1), estimates).removeprefix("- ")
    if report.honest is None and not report.randomisation:
        return first  # only power ran: the comparison is the whole finding
    return text + " " + first


def _fmt(value: float) -> str:
    return "(not reached on the grid)" if not np.isfinite(value) else f"{value:.3g}"


__all__ = [
    "pretest_sentence",
    "merger_reading",
    "merger_finding",
    "mde_sentence",
    "sensitivity_reading",
]
