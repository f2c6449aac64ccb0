"""Randomisation (permutation) inference for the large-versus-small designs.

The size label ("large": at least ``threshold`` inhabitants in 2014) is re-assigned to
the municipalities many times, the design is re-estimated under every re-assignment,
and the observed estimate is compared with that reference distribution (Fisher 1935;
Imbens & Rubin 2015, ch. 5; for DiD, Conley & Taber 2011 and MacKinnon & Webb 2020).

Nothing is refitted per assignment. Every statistic is a closed form in the 0/1 vector
``D`` of labels, so a whole block of assignments is one matrix product:

* TWFE, ``y ~ D_i post_t | unit + year``: with ``M`` the projection off the effects and
  ``P`` the N x n matrix that maps unit labels to the regressor (``P[it, i] = post_t``),
  ``b(D) = D'P'My / D'(P'MP)D``. ``P'My`` and the n x n matrix ``P'MP`` are built once
  from the design's own demeaning, so this holds in unbalanced panels too;
* the pooled 2x2 DiD is saturated in its four cells, so ``b(D)`` is a difference of
  four cell means, each a ratio of sums that are linear in ``D``;
* the event-study coefficient of event time ``e`` in a balanced panel is
  ``(m1_e - m1_ref) - (m0_e - m0_ref)`` with ``m_g`` the year means of each group.

Each formula is checked against the design's own estimate for the observed labels
before it is used (a mismatch raises rather than reporting a wrong p-value).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import schema
from analysis.designs.did_2x2 import did_2x2
from analysis.designs.event_study import event_study
from analysis.designs.twfe import twfe
from analysis.inference.fe import demean
from analysis.inference.wild_bootstrap import BootstrapResult, wild_cluster_bootstrap
from analysis.results import PALETTE, EstimationResult

DESIGNS = ("twfe", "did_2x2", "event_study")
ALTERNATIVES = ("two-sided", "greater", "less")
_CHUNK = 2_000  # assignments evaluated per block (n x _CHUNK labels in memory)
_TIE = 1e-9  # relative tolerance: an assignment that reproduces |b_obs| counts as a tie


@dataclass
class RandomisationResult:
    """A randomisation test of the sharp null beside the wild bootstrap and CR1 tests."""

    design: str
    outcome: str
    term: str
    estimate: float
    p_value: float
    mc_se: float  # Monte Carlo standard error of p_value (0 when enumerated)
    enumerated: bool
    n_assignments: int  # distinct assignments the scheme allows
    draws: int  # assignments evaluated (all of them when enumerated)
    scheme: str
    alternative: str
    seed: int | None
    null_distribution: np.ndarray = field(repr=False)
    wild: BootstrapResult | None = field(default=None, repr=False)
    cr1_p: float = float("nan")
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """One row per test of ``term = 0``: randomisation, wild bootstrap, CR1 t-test."""
        how = (
            f"exact, all {self.n_assignments} assignments"
            if self.enumerated
            else f"Monte Carlo, {self.draws} draws (seed {self.seed}) of {self.n_assignments:.3g}"
        )
        rows = [
            {"method": f"randomisation ({how})", "null": "sharp: no effect on any unit",
             "p_value": self.p_value, "mc_se": self.mc_se},
        ]
        if self.wild is not None:
            wild_how = "all sign vectors" if self.wild.enumerated else f"{self.wild.draws} draws"
            rows.append(
                {"method": f"wild cluster bootstrap (WCR, {self.wild.n_clusters} clusters, "
                           f"{wild_how})",
                 "null": "average effect 0 (parallel trends)",
                 "p_value": self.wild.p_value, "mc_se": _mc_se(self.wild)}
            )
        rows.append({"method": "CR1 t-test", "null": "average effect 0 (parallel trends)",
                     "p_value": self.cr1_p, "mc_se": 0.0})
        out = pd.DataFrame(rows)
        out.insert(0, "estimate", self.estimate)
        out.insert(0, "term", self.term)
        out.insert(0, "outcome", self.outcome)
        return out

    def summary(self) -> str:
        lines = [
            f"randomisation inference, {self.design}: {self.outcome}, term {self.term}",
            f"scheme: {self.scheme}; alternative: {self.alternative}",
            self.table.drop(columns=["outcome", "term"]).to_string(
                index=False, float_format=lambda v: f"{v:.4g}"
            ),
        ]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, ax=None):
        """Histogram of the estimate under re-assigned labels, with the observed estimate."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        ax.hist(self.null_distribution, bins=min(60, max(10, self.draws // 50)),
                color=PALETTE[0], alpha=0.7, label="re-assigned labels")
        ax.axvline(self.estimate, color=PALETTE[1], lw=2, label="observed")
        if self.alternative == "two-sided":
            ax.axvline(-self.estimate, color=PALETTE[1], lw=1, ls="--",
                       label="minus observed (two-sided)")
        ax.set_xlabel(f"Estimate of {self.term} ({self.outcome})")
        ax.set_ylabel("assignments")
        ax.set_title(f"Randomisation distribution (p = {self.p_value:.3g})")
        ax.legend(frameon=False)
        return ax


def _mc_se(boot: BootstrapResult) -> float:
    if boot.enumerated:
        return 0.0
    return float(np.sqrt(boot.p_value * (1 - boot.p_value) / boot.draws))


# -- the statistic as a function of the labels --------------------------------------------


def _unit_index(result: EstimationResult, entity: str) -> tuple[np.ndarray, pd.Index]:
    frame = result.fit.extra["frame"]
    codes, units = pd.factorize(frame[entity], sort=True)
    return codes, pd.Index(units)


def _twfe_statistic(result: EstimationResult, entity: str, time: str, reform_year: int):
    fit = result.fit
    codes, units = _unit_index(result, entity)
    post = (result.fit.extra["frame"][time].to_numpy() >= reform_year).astype(float)
    P = np.zeros((len(codes), len(units)))
    P[np.arange(len(codes)), codes] = post
    MP = demean(P, fit.effects, fit.weights)
    a = P.T @ fit.y  # P'My: fit.y is already demeaned
    Q = P.T @ MP
    if fit.X.shape[1] != 1:
        raise ValueError("randomisation_inference: the TWFE statistic needs one regressor")

    def statistic(D: np.ndarray) -> np.ndarray:
        return (a @ D) / np.einsum("ib,ib->b", D, Q @ D)

    return statistic, units


def _cell_sums(result: EstimationResult, outcome_values: np.ndarray, entity: str, time: str,
               reform_year: int):
    codes, units = _unit_index(result, entity)
    post = result.fit.extra["frame"][time].to_numpy() >= reform_year
    n = len(units)
    sums = {k: np.bincount(codes[m], outcome_values[m], n) for k, m in
            (("post", post), ("pre", ~post))}
    counts = {k: np.bincount(codes[m], None, n).astype(float) for k, m in
              (("post", post), ("pre", ~post))}
    return sums, counts, units


def _did_statistic(result: EstimationResult, entity: str, time: str, reform_year: int):
    # The pooled 2x2 is saturated in (group, post): b = (m11 - m10) - (m01 - m00).
    sums, counts, units = _cell_sums(result, result.fit.y_raw, entity, time, reform_year)

    def mean(D, key):
        return (sums[key] @ D) / (counts[key] @ D)

    def statistic(D: np.ndarray) -> np.ndarray:
        C = 1.0 - D
        return (mean(D, "post") - mean(D, "pre")) - (mean(C, "post") - mean(C, "pre"))

    return statistic, units


def _event_statistic(result: EstimationResult, term: str, entity: str, time: str):
    if not result.extra["panel"].get("balanced", False):
        raise ValueError(
            "randomisation_inference: the event-study statistic is implemented for balanced "
            "panels only (this one has missing municipality-years); use design='twfe'"
        )
    codes, units = _unit_index(result, entity)
    years, tcodes = np.unique(result.fit.extra["frame"][time].to_numpy(), return_inverse=True)
    Y = np.zeros((len(years), len(units)))
    Y[tcodes, codes] = result.fit.y_raw
    row = result.table.set_index("term").loc[term]
    e = int(row["event_time"])
    reform = result.extra["reform_year"]
    t_e = int(np.searchsorted(years, reform + e))
    t_ref = int(np.searchsorted(years, reform + result.extra["reference_event_time"]))
    diff = Y[t_e] - Y[t_ref]  # each unit's change from the reference year

    def statistic(D: np.ndarray) -> np.ndarray:
        C = 1.0 - D
        return (diff @ D) / D.sum(axis=0) - (diff @ C) / C.sum(axis=0)

    return statistic, units


# -- assignments ------------------------------------------------------------------------


def _strata(data: pd.DataFrame, units: pd.Index, strata: str | None, entity: str) -> np.ndarray:
    if strata is None:
        return np.zeros(len(units), dtype=np.int64)
    if strata not in data.columns:
        raise KeyError(f"randomisation_inference: strata column {strata!r} not in the panel")
    per_unit = data.groupby(entity)[strata].agg(["nunique", "first", "size"])
    per_unit = per_unit.loc[units]
    varies = per_unit.index[per_unit["nunique"] > 1]
    if len(varies):
        raise ValueError(
            f"randomisation_inference: {strata} changes over time for {entity} "
            f"{list(varies[:5])}; strata must be fixed per unit"
        )
    missing = per_unit.index[per_unit["first"].isna()]
    if len(missing):
        raise ValueError(f"randomisation_inference: {strata} is missing for {list(missing[:5])}")
    return pd.factorize(per_unit["first"], sort=True)[0]


def _count_permutations(labels: np.ndarray, strata: np.ndarray) -> int:
    total = 1
    for s in np.unique(strata):
        in_s = labels[strata == s]
        total *= math.comb(len(in_s), int(in_s.sum()))
    return total


def _enumerate_permutations(labels: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """All label vectors with the same number of large units in every stratum (n x A)."""
    per_stratum = []
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        per_stratum.append([(idx, c) for c in itertools.combinations(idx, int(labels[idx].sum()))])
    out = []
    for combo in itertools.product(*per_stratum):
        D = np.zeros(len(labels))
        for _, chosen in combo:
            D[list(chosen)] = 1.0
        out.append(D)
    return np.column_stack(out)


def _draw_permutations(labels, strata, draws, rng) -> itertools.chain:
    """Blocks of label vectors permuted within strata (n x block)."""
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]

    def block(b: int) -> np.ndarray:
        D = np.empty((len(labels), b))
        for idx in groups:
            order = np.argsort(rng.random((len(idx), b)), axis=0)
            D[idx] = labels[idx][order]
        return D

    return (block(min(_CHUNK, draws - s)) for s in range(0, draws, _CHUNK))


def _threshold_assignments(population: np.ndarray, observed: np.ndarray,
                           bounds: tuple[float, float]) -> np.ndarray:
    """Every distinct labelling ``population >= c`` for a cut ``c`` in ``bounds``."""
    lo, hi = bounds
    # c in (p_k, p_k+1] gives population >= p_k+1, so the cuts that matter are the
    # populations in [lo, hi] and hi itself (population > the last one below hi)
    inside = population[(population >= lo) & (population <= hi)]
    cuts = np.unique(np.concatenate([[lo, hi], inside]))
    D = (population[:, None] >= cuts[None, :]).astype(float)
    D = np.unique(np.column_stack([observed, D]), axis=1)
    return D[:, (D.sum(axis=0) > 0) & (D.sum(axis=0) < len(population))]


# -- the public function ------------------------------------------------------------------


def _fit(data, outcome, design, term, cluster, entity, time):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few-cluster warnings: the tests here answer them
        if design == "twfe":
            res = twfe(data, outcome, [schema.LARGE + "_x_post"], entity=entity, time=time,
                       cluster=cluster)
            return res, schema.LARGE + "_x_post"
        if design == "did_2x2":
            res = did_2x2(data, outcome, group=schema.LARGE, entity=entity, time=time,
                          cluster=cluster)
            return res, f"{schema.LARGE}:post"
        res = event_study(data, outcome, treatment=schema.LARGE, entity=entity, time=time,
                          cluster=cluster)
        return res, term or f"{schema.LARGE}:event+0"


def _statistic(result, design, term, entity, time) -> tuple[Callable, pd.Index]:
    reform = result.extra.get("reform_year", schema.REFORM_YEAR)
    if design == "twfe":
        return _twfe_statistic(result, entity, time, reform)
    if design == "did_2x2":
        return _did_statistic(result, entity, time, reform)
    if term not in set(result.table["term"]):
        raise KeyError(f"randomisation_inference: term {term!r} not in the event study; "
                       f"terms: {list(result.table['term'])}")
    return _event_statistic(result, term, entity, time)


def _p_value(null: np.ndarray, observed: float, alternative: str, enumerated: bool):
    tol = _TIE * max(abs(observed), 1e-300)
    if alternative == "two-sided":
        hits = np.abs(null) >= abs(observed) - tol
    elif alternative == "greater":
        hits = null >= observed - tol
    else:
        hits = null <= observed + tol
    if enumerated:
        return float(hits.mean()), 0.0
    # The observed assignment counts as one of B + 1 draws (a valid p-value for any B).
    p = (1.0 + hits.sum()) / (len(null) + 1.0)
    return float(p), float(np.sqrt(p * (1 - p) / len(null)))


def randomisation_inference(
    panel: pd.DataFrame,
    outcome: str,
    design: str = "twfe",
    threshold: float = schema.LARGE_THRESHOLD,
    strata: str | None = schema.PROVINCE,
    scheme: str = "permute",
    thresholds: tuple[float, float] = (20_000, 100_000),
    term: str | None = None,
    draws: int = 9999,
    seed: int = 0,
    alternative: str = "two-sided",
    cluster: str = "entity",
    wild_draws: int = 9999,
    entity: str = schema.MUNICIPALITY,
    time: str = schema.YEAR,
) -> RandomisationResult:
    """Randomisation p-value of the large-versus-small estimate, beside the wild bootstrap.

    The null hypothesis is Fisher's *sharp* null: the reform's effect was the same in
    every municipality, whatever its size label, so that every outcome would have been
    what it was under any other labelling. Under that null and an assignment mechanism
    that is known, the distribution of the estimate over re-assigned labels is known
    exactly, whatever the errors' distribution, correlation or number of clusters.

    Assignment mechanisms (``scheme``):

    * ``"permute"``: the labels are permuted within ``strata`` (default the province),
      keeping the number of large municipalities in each; exchangeability of the
      labels within a stratum is the identifying assumption;
    * ``"threshold"``: the 50,000 cut is treated as one draw of a cut anywhere in
      ``thresholds``; each distinct labelling ``population >= c`` counts once (the
      cut is uniform over the municipalities' ranks in that range). Not stratified
      (``strata`` must be None).

    When the number of distinct assignments is at most ``draws`` all are enumerated and
    the p-value is exact; otherwise ``draws`` assignments are drawn with
    ``numpy.random.default_rng(seed)`` and the p-value ``(1 + #{|b*| >= |b|}) / (draws + 1)``
    comes with its Monte Carlo standard error ``sqrt(p (1 - p) / draws)``.

    When it fails: size labels are *not* as-if random. Large municipalities differ in
    urbanity, caseload and trends, so when the outcome's trend is correlated with size
    the permuted labels are not exchangeable with the real one even within a province,
    and a small p-value says that size *predicts* the post-2015 change, not that size
    *caused* it. It tests the sharp null of no effect for any unit under random
    labelling, not parallel trends; the wild bootstrap and CR1 rows test the average
    effect under parallel trends. Reading the two side by side is the point: agreement
    means the conclusion does not hinge on the sampling model of the errors.

    Parameters
    ----------
    panel : DataFrame with ``baseline_population``
        (see :func:`analysis.studies.evaluation.large_at`).
    outcome : outcome column.
    design : ``"twfe"`` (``large_x_post`` with unit and year effects), ``"did_2x2"``
        (pooled 2x2, term ``large:post``) or ``"event_study"`` (a ``large:event+e`` term,
        balanced panels).
    threshold : population that makes a municipality large.
    strata : column fixed per unit within which labels are permuted, or None.
    scheme : ``"permute"`` or ``"threshold"``.
    thresholds : range of cuts for ``scheme="threshold"``.
    term : event-study term (default ``large:event+0``, the reform year).
    draws : Monte Carlo draws, and the largest number of assignments enumerated.
    seed : seed of the draws (and of the wild bootstrap).
    alternative : ``"two-sided"`` (``|b*| >= |b|``), ``"greater"`` or ``"less"``.
    cluster : cluster column of the design's CR1 errors and of the wild bootstrap.
    wild_draws : draws of the wild cluster bootstrap (0 to skip it).
    entity, time : the panel's identifiers.

    Returns
    -------
    RandomisationResult
        ``.table`` (randomisation, wild bootstrap and CR1 p-values side by side),
        ``.null_distribution`` and ``.plot()``.

    Examples
    --------
    >>> from analysis import randomisation_inference
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> ri = randomisation_inference(simulate_panel(1).panel, "wmo_per_1000", draws=199,
    ...                              wild_draws=99)
    >>> list(ri.table["method"].str.split(" ").str[0])
    ['randomisation', 'wild', 'CR1']
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, not {design!r}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, not {alternative!r}")
    if scheme not in ("permute", "threshold"):
        raise ValueError(f"scheme must be 'permute' or 'threshold', not {scheme!r}")
    if scheme == "threshold" and strata is not None:
        raise ValueError("scheme='threshold' draws one national cut: pass strata=None")
    if scheme == "threshold" and not thresholds[0] <= threshold <= thresholds[1]:
        raise ValueError(f"scheme='threshold': the observed cut {threshold:g} must lie in "
                         f"thresholds={thresholds}, the range it is treated as drawn from")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    from analysis.studies.evaluation import large_at

    for column in (schema.BASELINE_POPULATION, outcome, entity, time):
        if column not in panel.columns:
            raise KeyError(f"randomisation_inference: column {column!r} not in the panel")
    data = large_at(panel, threshold).reset_index(drop=True)  # rows are found by index below
    result, term = _fit(data, outcome, design, term, cluster, entity, time)
    statistic, units = _statistic(result, design, term, entity, time)
    used = data.loc[result.fit.extra["frame"].index]
    per_unit = used.groupby(entity)[[schema.LARGE, schema.BASELINE_POPULATION]].first()
    labels = per_unit.loc[units, schema.LARGE].to_numpy(dtype=float)
    observed = float(statistic(labels[:, None])[0])
    estimate = result.estimate(term)
    if not np.isclose(observed, estimate, rtol=1e-7, atol=1e-9 * max(1.0, abs(estimate))):
        raise RuntimeError(
            f"randomisation_inference: closed-form statistic {observed!r} differs from the "
            f"{design} estimate {estimate!r}; not reporting a p-value"
        )
    notes: list[str] = []
    if scheme == "permute":
        codes = _strata(used, units, strata, entity)
        n_assign = _count_permutations(labels, codes)
        desc = (f"labels permuted within {strata} ({codes.max() + 1} strata, large per "
                "stratum kept)" if strata else "labels permuted (unstratified)")
        enumerated = n_assign <= draws
        blocks = ([_enumerate_permutations(labels, codes)] if enumerated else
                  _draw_permutations(labels, codes, draws, np.random.default_rng(seed)))
    else:
        pop = per_unit.loc[units, schema.BASELINE_POPULATION].to_numpy(dtype=float)
        D = _threshold_assignments(pop, labels, thresholds)
        n_assign, enumerated = D.shape[1], True
        desc = f"cut drawn among {n_assign} distinct labellings in [{thresholds[0]:g}, " \
               f"{thresholds[1]:g}]"
        blocks = [D]
    if n_assign < 2:
        raise ValueError(f"randomisation_inference: the scheme ({desc}) allows only the "
                         "observed assignment; nothing to compare it with")
    null = np.concatenate([statistic(D) for D in blocks])
    p, se = _p_value(null, observed, alternative, enumerated)
    if enumerated and n_assign < 20:
        notes.append(f"only {n_assign} assignments: the smallest attainable p-value is "
                     f"{1 / n_assign:.3g}")
    wild = None
    if wild_draws:
        wild = wild_cluster_bootstrap(result, term=term, draws=wild_draws, seed=seed, ci=False)
    return RandomisationResult(
        design=design, outcome=outcome, term=term, estimate=estimate, p_value=p, mc_se=se,
        enumerated=enumerated, n_assignments=int(n_assign), draws=len(null), scheme=desc,
        alternative=alternative, seed=None if enumerated else seed, null_distribution=null,
        wild=wild, cr1_p=float(result.table.set_index("term").loc[term, "p_value"]),
        notes=notes,
    )
