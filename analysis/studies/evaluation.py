"""The evaluations the notebooks show, as functions a test can reach.

Each function runs one or more designs from :mod:`analysis.designs` over the chosen
outcomes and returns one tidy table; on the synthetic default it adds the truth (the
same design run on the true-effect column, see :mod:`analysis.reporting.truth`) so a reader sees
whether the design recovers it. Numbers are left unrounded; notebooks round for display.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs.did_2x2 import did_2x2
from analysis.designs.event_study import event_study
from analysis.designs.intensity import intensity_did
from analysis.designs.twfe import twfe
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.reporting.truth import attach_true_effects, true_estimate
from analysis.results import EstimationResult

LARGE_POST = "large_x_post"
COLUMNS = ["estimate", "std_error", "ci_low", "ci_high", "p_value"]


def with_truth(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with true-effect columns when it is synthetic, unchanged otherwise."""
    return attach_true_effects(panel) if panel.attrs.get("synthetic", False) else panel


def large_at(panel: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Add ``large`` (baseline population >= ``threshold``) and ``large_x_post``."""
    out = panel.copy()
    out[schema.LARGE] = (out[schema.BASELINE_POPULATION] >= threshold).astype(float)
    post = (out[schema.YEAR] >= schema.REFORM_YEAR).astype(float)
    out[LARGE_POST] = out[schema.LARGE] * post
    out.attrs = dict(panel.attrs)
    return out


def _row(result: EstimationResult, term: str, **labels: object) -> dict:
    hit = result.table.set_index("term").loc[term]
    return {**labels, **{c: float(hit[c]) for c in COLUMNS}, "n_clusters": result.n_clusters}


def _truth(design: Callable, panel: pd.DataFrame, outcome: str, term: str, **kw) -> float:
    if f"true_effect__{outcome}" not in panel:
        return np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the noise-free fit's own warnings are not news
        return float(true_estimate(design, panel, outcome, **kw)[term])


def large_vs_small(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    threshold: float = schema.LARGE_THRESHOLD,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """2x2 DiD and TWFE of large versus small municipalities, with wild-bootstrap p-values.

    The 2x2 compares the before/after change of municipalities with at least
    ``threshold`` inhabitants in 2014 with that of smaller ones (pooled, clustered by
    municipality); TWFE regresses the outcome on ``large x post`` with municipality and
    year effects. Both estimate how much more the outcome changed in large
    municipalities; a negative estimate on a use rate means large ones grew less.

    Returns
    -------
    DataFrame
        One row per outcome and design: estimate, CR1 standard error, CI, p-value,
        wild cluster bootstrap p-value and CI (WCR, Rademacher, ``draws``), and
        ``truth`` on the synthetic default.

    Examples
    --------
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> table = large_vs_small(simulate_panel(1).panel, ["wmo_per_1000"], draws=99)
    >>> list(table["design"])
    ['2x2 DiD', 'TWFE']
    """
    data = large_at(with_truth(panel), threshold)
    rows = []
    for outcome in outcomes:
        fits = {
            "2x2 DiD": (did_2x2, {"group": schema.LARGE}, f"{schema.LARGE}:post"),
            "TWFE": (twfe, {"regressors": [LARGE_POST]}, LARGE_POST),
        }
        for name, (design, options, term) in fits.items():
            result = design(data, outcome=outcome, **options)
            boot = wild_cluster_bootstrap(result, term=term, draws=draws, seed=seed)
            rows.append(
                {
                    **_row(result, term, outcome=outcome, design=name),
                    "wild_p": boot.p_value,
                    "wild_ci_low": boot.ci_low,
                    "wild_ci_high": boot.ci_high,
                    "truth": _truth(design, data, outcome, term, **options),
                }
            )
    return pd.DataFrame(rows)


def event_studies(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    treatment: str = schema.LARGE,
    threshold: float = schema.LARGE_THRESHOLD,
) -> dict[str, EstimationResult]:
    """An event study per outcome (reference year 2014), by size group or a dose column."""
    data = large_at(with_truth(panel), threshold)
    return {o: event_study(data, outcome=o, treatment=treatment) for o in outcomes}


def event_study_table(
    results: dict[str, EstimationResult], panel: pd.DataFrame
) -> pd.DataFrame:
    """Leads and lags of every outcome with the truth beside them (synthetic default)."""
    data = with_truth(panel)
    frames = []
    for outcome, result in results.items():
        table = result.table[["term", "event_time", *COLUMNS]].copy()
        if f"true_effect__{outcome}" in data:
            treatment = result.extra.get("treatment", schema.LARGE)
            data_t = large_at(data, result.extra.get("threshold", schema.LARGE_THRESHOLD))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                truth = true_estimate(event_study, data_t, outcome, treatment=treatment)
            table["truth"] = table["term"].map(truth)
        frames.append(table.assign(outcome=outcome))
    return pd.concat(frames, ignore_index=True)


def pretrend_tests(results: dict[str, EstimationResult]) -> pd.DataFrame:
    """The joint Wald test that all leads are zero, per outcome."""
    rows = []
    for outcome, result in results.items():
        test = result.extra["pretrend_test"]
        rows.append(
            {
                "outcome": outcome,
                "leads": len(test["terms"]),
                "F": test["statistic"],
                "p_value": test["p_value"],
            }
        )
    return pd.DataFrame(rows)


def add_baseline_caseload(
    panel: pd.DataFrame, outcome: str, year: int = schema.BASELINE_YEAR
) -> tuple[pd.DataFrame, str]:
    """Add the outcome's own rate in ``year`` as a dose column; return it and its name."""
    name = f"baseline_{outcome}"
    base = panel.loc[panel[schema.YEAR] == year].set_index(schema.MUNICIPALITY)[outcome]
    out = panel.copy()
    out[name] = out[schema.MUNICIPALITY].map(base)
    out.attrs = dict(panel.attrs)
    return out, name


def intensity_effects(
    panel: pd.DataFrame, outcomes: Sequence[str], dose: str = schema.INTENSITY
) -> tuple[pd.DataFrame, dict[str, EstimationResult]]:
    """Continuous-intensity DiD per outcome: the slope per unit of dose, with truth."""
    data = with_truth(panel)
    results, rows = {}, []
    for outcome in outcomes:
        result = intensity_did(data, outcome=outcome, dose=dose)
        term = result.extra["term"]
        results[outcome] = result
        rows.append(
            {
                **_row(result, term, outcome=outcome, dose=dose),
                "truth": _truth(intensity_did, data, outcome, term, dose=dose),
            }
        )
    return pd.DataFrame(rows), results


def threshold_sensitivity(
    panel: pd.DataFrame,
    outcomes: Sequence[str],
    thresholds: Sequence[float] = (20_000, 50_000, 100_000),
) -> pd.DataFrame:
    """The 2x2 DiD with "large" defined at each threshold."""
    data = with_truth(panel)
    rows = []
    for threshold in thresholds:
        marked = large_at(data, threshold)
        for outcome in outcomes:
            result = did_2x2(marked, outcome=outcome, group=schema.LARGE)
            term = f"{schema.LARGE}:post"
            rows.append(
                {
                    **_row(result, term, outcome=outcome, threshold=int(threshold)),
                    "large_municipalities": int(
                        marked.drop_duplicates(schema.MUNICIPALITY)[schema.LARGE].sum()
                    ),
                    "truth": _truth(did_2x2, marked, outcome, term, group=schema.LARGE),
                }
            )
    return pd.DataFrame(rows)


CLUSTERINGS: dict[str, dict] = {
    "municipality (CR1)": {"cluster": "entity"},
    "province (CR1, 12 clusters)": {"cluster": schema.PROVINCE},
    "municipality and year (two-way)": {"cluster": ["entity", "time"]},
    "Driscoll-Kraay": {"vcov": "driscoll_kraay"},
    "heteroskedastic only (HC1)": {"vcov": "hetero"},
}


def clustering_choices(
    panel: pd.DataFrame,
    outcome: str,
    threshold: float = schema.LARGE_THRESHOLD,
    draws: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """One TWFE estimate, its standard error under each clustering choice.

    With 12 provinces the cluster-robust t-test over-rejects; the wild cluster
    bootstrap by province enumerates all 2^12 sign vectors, so its p-value is exact.
    """
    data = large_at(panel, threshold)
    rows = []
    notes: list[str] = []
    for name, options in CLUSTERINGS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = twfe(data, outcome=outcome, regressors=[LARGE_POST], **options)
        notes += [f"{name}: {w.message}" for w in caught]
        rows.append({**_row(result, LARGE_POST, clustering=name), "se_type": result.se_type})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few-clusters warning is what the bootstrap answers
        base = twfe(data, outcome=outcome, regressors=[LARGE_POST], cluster=schema.PROVINCE)
        boot = wild_cluster_bootstrap(base, term=LARGE_POST, draws=draws, seed=seed)
    rows.append(
        {
            "clustering": "province, wild bootstrap (WCR, all 2^12 sign vectors)"
            if boot.enumerated
            else f"province, wild bootstrap ({boot.draws} draws)",
            "estimate": boot.estimate,
            "std_error": np.nan,
            "ci_low": boot.ci_low,
            "ci_high": boot.ci_high,
            "p_value": boot.p_value,
            "n_clusters": boot.n_clusters,
            "se_type": "wild cluster bootstrap",
        }
    )
    table = pd.DataFrame(rows)
    table.attrs["notes"] = list(dict.fromkeys(notes))
    return table


def plain_reading(table: pd.DataFrame, design: str = "2x2 DiD", level: float = 0.05) -> str:
    """The large-versus-small result in words, one sentence per outcome.

    Uses the wild-bootstrap interval and p-value, and says whether the interval excludes
    0 (``level`` is kept for callers; the interval is the 95% one). "Changed more" is
    not "coped better": whether a rise in use is good depends on need, which these data
    do not see.
    """
    lines = []
    for row in table[table["design"] == design].itertuples(index=False):
        spec = schema.OUTCOMES[row.outcome]
        direction = "more" if row.estimate > 0 else "less"
        excludes = row.wild_ci_low > 0 or row.wild_ci_high < 0
        lines.append(
            f"- {spec.label}: after 2015 it changed by {abs(row.estimate):.2f} {spec.unit} "
            f"{direction} in large municipalities than in small ones (95% wild-bootstrap "
            f"interval {row.wild_ci_low:.2f} to {row.wild_ci_high:.2f}, p = {row.wild_p:.3f}): "
            f"the interval {'excludes' if excludes else 'includes'} 0."
        )
    return "\n".join(lines)
