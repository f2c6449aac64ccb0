"""One design over many outcomes, with multiple-testing adjusted p-values."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.inference.checks import check_draws
from analysis.inference.multiple import adjust_pvalues, romano_wolf
from analysis.inference.wild_bootstrap import wild_cluster_bootstrap
from analysis.results import EstimationResult

Design = str | Callable[..., EstimationResult]
ROW_COLUMNS = [
    "outcome", "term", "estimate", "std_error", "p_value", "ci_low", "ci_high",
    "n_obs", "n_clusters", "se_type",
]


def resolve_design(design: Design) -> tuple[str, Callable[..., EstimationResult]]:
    """A design function from its name (``"did_2x2"``, ``"twfe"``, ...) or itself."""
    if callable(design):
        return getattr(design, "__name__", "design"), design
    import analysis

    names = ("did_2x2", "twfe", "event_study", "intensity_did", "triple_diff")
    if design not in names:
        raise ValueError(f"unknown design {design!r}; one of {names} or a function")
    return design, getattr(analysis, design)


def _terms(result: EstimationResult, term: str | Sequence[str] | None) -> list[str]:
    if term is None:
        # the design's headline term (e.g. "large:post"), else the first reported row
        return [str(result.extra.get("term", result.table["term"].iloc[0]))]
    terms = [term] if isinstance(term, str) else list(term)
    missing = [t for t in terms if t not in set(result.table["term"])]
    if missing:
        raise KeyError(
            f"{result.design} on {result.outcome}: term(s) {missing} not estimated; "
            f"terms: {list(result.table['term'])}"
        )
    return terms


def run_many(
    df: pd.DataFrame,
    outcomes: Sequence[str],
    design: Design = "did_2x2",
    term: str | Sequence[str] | None = None,
    adjust: Sequence[str] = ("holm", "bh"),
    romano_wolf_draws: int | None = None,
    bootstrap_weights: str = "rademacher",
    seed: int = 0,
    bootstrap_cluster: str | None = None,
    **design_kwargs: Any,
) -> pd.DataFrame:
    r"""Run one design on many outcomes and adjust the p-values for multiplicity.

    Every outcome is fitted separately with the same design and arguments; each
    (outcome, term) pair is one hypothesis ``term = 0``, and the family is all of
    them. What each estimate means and when it fails is the design's own
    docstring; the adjustments only answer "which of these effects survive the
    fact that we looked at several outcomes".

    Parameters
    ----------
    df : the panel.
    outcomes : outcome columns (at least one; no duplicates).
    design : ``"did_2x2"``, ``"twfe"``, ``"event_study"``, ``"intensity_did"``,
        ``"triple_diff"`` or a function with the signature ``f(df, outcome, **kw)``
        returning an :class:`~analysis.results.EstimationResult`.
    term : the term(s) to test; default the design's headline term (e.g.
        ``large:post``) or the first row of its table.
    adjust : any of ``"holm"`` (FWER), ``"bh"`` (Benjamini-Hochberg FDR),
        ``"bonferroni"``; applied to the design's own (analytic) p-values.
    romano_wolf_draws : when given, also a restricted wild cluster bootstrap p-value
        per hypothesis (``p_boot``) and the Romano-Wolf step-down FWER p-value
        (``p_romano_wolf``), from this many shared draws (one seed for all outcomes).
    bootstrap_weights : ``"rademacher"`` or ``"webb"``.
    seed : seed of the bootstrap draws.
    bootstrap_cluster : bootstrap cluster column; default each result's cluster.
    \*\*design_kwargs : passed to the design (``group=``, ``cluster=``, ``vcov=``, ...).

    Returns
    -------
    DataFrame
        One row per outcome and term: ``outcome, term, estimate, std_error,
        p_value, ci_low, ci_high, n_obs, n_clusters, se_type``, then ``p_<method>`` for
        each adjustment and, with the bootstrap, ``p_boot, p_romano_wolf``.
        ``attrs["notes"]`` collects the designs' notes (once each).

    Examples
    --------
    >>> from analysis import run_many, simulate_panel
    >>> panel = simulate_panel(seed=1).panel
    >>> table = run_many(panel, ["bijstand_per_1000", "wmo_per_1000"], design="did_2x2")
    >>> table[["outcome", "term"]].values.tolist()
    [['bijstand_per_1000', 'large:post'], ['wmo_per_1000', 'large:post']]
    >>> bool((table["p_holm"] >= table["p_value"]).all())
    True
    """
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("run_many: give at least one outcome")
    dupes = sorted({o for o in outcomes if outcomes.count(o) > 1})
    if dupes:
        raise ValueError(f"run_many: outcome(s) {dupes} listed more than once")
    if romano_wolf_draws is not None:  # before fitting every outcome, not after
        check_draws(romano_wolf_draws, "romano_wolf_draws")
    _, fit = resolve_design(design)
    results: dict[str, EstimationResult] = {}
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for outcome in outcomes:
            try:
                results[outcome] = fit(df, outcome, **design_kwargs)
            except (KeyError, TypeError, ValueError) as err:
                reason = err.args[0] if err.args else err  # KeyError's str() adds quotes
                raise type(err)(f"run_many: outcome {outcome!r}: {reason}") from err
    for w in caught:  # the same warning for every outcome is reported once
        if str(w.message) not in notes:
            warnings.warn(str(w.message), w.category, stacklevel=2)
            notes.append(str(w.message))
    rows, pairs = [], []
    for outcome, res in results.items():
        for t in _terms(res, term):
            row = res.table.set_index("term").loc[t]
            rows.append({"outcome": outcome, "term": t, **{c: row[c] for c in ROW_COLUMNS[2:]}})
            pairs.append((res, t))
        notes += [n for n in res.notes if n not in notes]
    table = pd.DataFrame(rows, columns=ROW_COLUMNS)
    for method in adjust:
        table[f"p_{method}"] = adjust_pvalues(table["p_value"], method)
    if romano_wolf_draws is not None:
        p_boot, p_rw = _bootstrap_family(
            pairs, romano_wolf_draws, bootstrap_weights, seed, bootstrap_cluster
        )
        table["p_boot"], table["p_romano_wolf"] = p_boot, p_rw
    table.attrs["notes"] = notes
    return table


def _bootstrap_family(
    pairs: list[tuple[EstimationResult, str]], draws: int, weights: str, seed: int,
    cluster: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-hypothesis WCR p-values and Romano-Wolf p-values from shared draws."""
    boots = [
        wild_cluster_bootstrap(
            res, term=t, draws=draws, weights=weights, seed=seed, cluster=cluster, ci=False
        )
        for res, t in pairs
    ]
    # The draws are shared only if every fit has the same clusters: same G and the
    # same labels in the same (sorted) order. Otherwise the joint distribution is wrong.
    labels = [_cluster_labels(res, b.cluster) for (res, _), b in zip(pairs, boots, strict=True)]
    for (res, t), lab in zip(pairs, labels, strict=True):
        if not np.array_equal(lab, labels[0]):
            raise ValueError(
                f"run_many: Romano-Wolf needs the same clusters for every outcome, but "
                f"{res.outcome} ({t}) has {len(lab)} clusters and {pairs[0][0].outcome} has "
                f"{len(labels[0])} (missing values drop different units); "
                "use a common sample (drop rows with any outcome missing)"
            )
    t_obs = np.array([b.t_stat for b in boots])
    t_boot = np.vstack([b.t_boot for b in boots])
    return np.array([b.p_value for b in boots]), romano_wolf(t_obs, t_boot)


def _cluster_labels(result: EstimationResult, cluster: str) -> np.ndarray:
    frame = result.fit.extra["frame"]
    return np.sort(pd.unique(frame[cluster]))
