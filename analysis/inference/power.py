"""Power and the minimum detectable effect (MDE) of the designs, on the user's own panel.

The synthetic generator's data-generating process (:mod:`analysis.data.synthetic.generator`: unit
effects, year effects, stationary AR(1) errors, a planted reform effect) is calibrated to
the panel at hand, then replicated on that panel's own units, years, size labels and
doses, so the answer is about the data the user has:

1. **calibrate** (:func:`analysis.inference.calibration.calibrate`): the AR(1)
   coefficient and stationary s.d. of the errors from the within residuals of
   ``y ~ x | unit + year`` (``x`` the design's regressor), corrected for the bias that
   demeaning by unit causes (Nickell 1981); the fitted unit and year effects are kept;
2. **simulate** ``reps`` panels ``y = fitted effects + AR(1) errors`` and plant an
   effect ``delta`` times the design's own regressor (``large x post``,
   ``(dose - mean) x post``, or 1 from a unit's merger on): a constant effect. The
   least-squares designs have a fixed design matrix, so the estimate and the CR1
   cluster scores are linear in ``delta``: one set of draws gives the whole power
   curve (common random numbers, a smooth curve), all replications are estimated at
   once on the design's own demeaned system (``result.fit``), with its own
   small-sample factor and t(G-1) reference. The merger design (Callaway-Sant'Anna)
   is linear in the outcome too, but is refitted once per replication
   (:mod:`analysis.inference._power_refit`);
3. **MDE**: the smallest ``delta`` rejected (two-sided, ``level``) in ``target`` of the
   replications, with its Monte Carlo s.e. ``sqrt(target (1 - target) / reps) /
   slope`` (slope of the normal approximation of the power curve at the MDE). Beside
   it the analytic approximation of Bloom (1995),
   ``MDE = (t_{1-level/2} + t_{target}) SE``, with the design's CR1 SE on the panel.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from analysis.data import schema
from analysis.data.synthetic.generator import _ar1
from analysis.inference._power_refit import RefitDesign, merger_design, refit_draws
from analysis.inference.calibration import Calibration, calibrate, within_part
from analysis.inference.covariance import nested_k
from analysis.inference.fe import demean
from analysis.results import PALETTE, EstimationResult

_CHUNK = 250  # replications simulated at once


# -- designs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerDesign:
    """A design whose power :func:`power` can simulate.

    ``fit(panel, outcome, options)`` returns the design's result on the panel and the
    term tested: any design that is least squares with a fixed design matrix and
    one-way CR1 errors (replications estimated at once). ``refit`` instead returns a
    :class:`RefitDesign` whose estimate and influence function are linear in the
    outcome (each replication refitted, e.g. ``staggered_did``). Add it to :data:`DESIGNS`.
    """

    label: str
    effect_unit: str
    fit: Callable[[pd.DataFrame, str, dict], tuple[EstimationResult, str]] | None = None
    # designs that are not one least-squares fit are refitted per replication instead
    refit: Callable[[pd.DataFrame, str, dict], RefitDesign] | None = None


def _large_vs_small(panel: pd.DataFrame, outcome: str, options: dict):
    from analysis.designs.twfe import twfe
    from analysis.studies.evaluation import LARGE_POST, large_at

    data = large_at(panel, options.get("threshold", schema.LARGE_THRESHOLD))
    return twfe(data, outcome, [LARGE_POST], cluster=options.get("cluster", "entity")), LARGE_POST


def _intensity(panel: pd.DataFrame, outcome: str, options: dict):
    from analysis.designs.intensity import intensity_did

    result = intensity_did(panel, outcome, dose=options.get("dose", schema.INTENSITY), bins=0,
                           cluster=options.get("cluster", "entity"))
    return result, result.extra["term"]


DESIGNS: dict[str, PowerDesign] = {
    "large_vs_small": PowerDesign(
        "large vs small (TWFE, large x post)", "outcome units, large minus small", _large_vs_small
    ),
    "intensity": PowerDesign(
        "intensity (dose x post)", "outcome units per unit of dose", _intensity
    ),
    "mergers": PowerDesign(
        "mergers (Callaway-Sant'Anna, simple ATT)", "outcome units, after the merger",
        refit=merger_design,
    ),
}


# -- simulation ----------------------------------------------------------------------------


@dataclass
class _Draws:
    """Per replication: the null estimate and the squared-CR1 pieces, linear in delta."""

    b0: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    q2: np.ndarray
    b_planted: float
    ssc: float
    df: float
    _crit: tuple[float, float] | None = None  # (level, t critical value), cached

    def t_stat(self, delta: float) -> np.ndarray:
        var = self.ssc * (self.q0 + 2 * delta * self.q1 + delta**2 * self.q2)
        return (self.b0 + delta * self.b_planted) / np.sqrt(var)

    def power(self, delta: float, level: float) -> float:
        if self._crit is None or self._crit[0] != level:
            self._crit = (level, float(stats.t.ppf(1 - level / 2, self.df)))
        return float(np.mean(np.abs(self.t_stat(delta)) > self._crit[1]))


def _simulate(result: EstimationResult, term: str, cal: Calibration, fitted: np.ndarray,
              unit_codes: np.ndarray, year_index: np.ndarray, n_years: int, reps: int,
              seed: int) -> _Draws:
    fit = result.fit
    if len(fit.extra["cluster"]) != 1 or not fit.cov.se_type.startswith("CR1"):
        raise ValueError(f"power: {result.design} must use one-way CR1 errors "
                         f"(it has {fit.cov.se_type})")
    frame = fit.extra["frame"]
    codes = pd.factorize(frame[fit.extra["cluster"][0]], sort=True)[0]
    G = int(codes.max()) + 1
    n, k = fit.X.shape
    ssc = G / (G - 1) * (n - 1) / (n - nested_k(k, fit.effects, [codes]))
    j = fit.names.index(term)
    h = fit.X @ fit.bread[j]  # the term's row of (X'X)^-1 X'
    sw = np.ones(n) if fit.weights is None else np.sqrt(fit.weights)

    # sparse G x N cluster-sum operator with the term's weights h folded in
    summer = sp.csr_matrix((h, (codes, np.arange(n))), shape=(G, n))

    def scores(U: np.ndarray) -> np.ndarray:
        return np.asarray(summer @ U)

    def solve(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Vd = demean(V, fit.effects, fit.weights) * sw[:, None]
        B = fit.bread @ (fit.X.T @ Vd)
        return B[j], scores(Vd - fit.X @ B)

    b_p, s_p = solve(fit.X_raw[:, [j]])
    rng = np.random.default_rng(seed)
    n_units = int(unit_codes.max()) + 1
    parts: dict[str, list] = {"b0": [], "q0": [], "q1": []}
    for start in range(0, reps, _CHUNK):
        r = min(_CHUNK, reps - start)
        errors = _ar1(rng, n_years, n_units * r, cal.rho, cal.sd).reshape(n_years, n_units, r)
        b0, S = solve(fitted[:, None] + errors[year_index, unit_codes])
        parts["b0"].append(b0)
        parts["q0"].append(np.einsum("gr,gr->r", S, S))
        parts["q1"].append(S.T @ s_p[:, 0])
    joined = {key: np.concatenate(v) for key, v in parts.items()}
    return _Draws(joined["b0"], joined["q0"], joined["q1"],
                  np.full(reps, float(s_p[:, 0] @ s_p[:, 0])), float(b_p[0]), ssc,
                  float(fit.cov.df_resid))


def _mde(draws: _Draws, level: float, target: float, scale: float) -> float:
    """Smallest positive delta with power >= target (bisection on the step function)."""
    lo, hi = 0.0, scale
    while draws.power(hi, level) < target:
        lo, hi = hi, 2 * hi
        if hi > 1e6 * scale:
            return float("inf")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if draws.power(mid, level) >= target else (mid, hi)
    return hi


# -- the public function ------------------------------------------------------------------


@dataclass
class PowerResult:
    """Power curves and MDEs of one outcome under each design."""

    outcome: str
    table: pd.DataFrame  # one row per design: MDE simulated and analytic, calibration
    curves: pd.DataFrame  # design, effect, effect_over_se, power, mc_se
    calibration: dict[str, Calibration]
    level: float
    target: float
    reps: int
    seed: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        cols = ["design", "se", "mde", "mde_mc_se", "mde_bloom", "rho", "sd", "unit_share"]
        return (f"power of {self.outcome}: level {self.level}, target power {self.target}, "
                f"{self.reps} replications (seed {self.seed})\n"
                + self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, axes=None):
        """One power curve per design, the target and each MDE marked."""
        import matplotlib.pyplot as plt

        designs = list(self.table["design"])
        if axes is None:
            _, axes = plt.subplots(1, len(designs), figsize=(4.5 * len(designs), 3.8),
                                   squeeze=False)
            axes = axes[0]
        for ax, row in zip(np.atleast_1d(axes), self.table.itertuples(index=False), strict=True):
            curve = self.curves[self.curves["design"] == row.design]
            ax.fill_between(curve["effect"], curve["power"] - 2 * curve["mc_se"],
                            curve["power"] + 2 * curve["mc_se"], color=PALETTE[0], alpha=0.2)
            ax.plot(curve["effect"], curve["power"], color=PALETTE[0], label="simulated")
            ax.axhline(self.target, color="grey", lw=0.8, ls="--")
            ax.axvline(row.mde, color=PALETTE[1], lw=1.5, label=f"MDE {row.mde:.3g}")
            ax.axvline(row.mde_bloom, color=PALETTE[2], lw=1, ls=":",
                       label=f"Bloom {row.mde_bloom:.3g}")
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"Planted effect ({row.effect_unit})")
            ax.set_ylabel(f"Power at level {self.level:g} ({self.outcome})")
            ax.set_title(row.label)
            ax.legend(frameon=False, loc="lower right")
        return axes


def power(
    panel: pd.DataFrame,
    outcome: str,
    designs: Sequence[str] = ("large_vs_small", "intensity"),
    effects: Sequence[float] | None = None,
    reps: int = 1000,
    level: float = 0.05,
    target: float = 0.8,
    seed: int = 0,
    threshold: float = schema.LARGE_THRESHOLD,
    dose: str = schema.INTENSITY,
    cohort: str | None = None,
    cluster: str = "entity",
    entity: str = schema.MUNICIPALITY,
    time: str = schema.YEAR,
) -> PowerResult:
    """Power curves and the minimum detectable effect (MDE) of each design on this panel.

    Answers "could these data have detected an effect of the size we care about?".
    The generator's process (unit and year effects, AR(1) errors) is calibrated to the
    panel (:func:`calibrate`), ``reps`` panels are simulated on the panel's own units,
    years, size labels and doses with an effect ``delta`` planted on the design's
    regressor, each is estimated with the design's own CR1 test, and the share of
    rejections at ``level`` is the power. The MDE is the smallest effect detected in
    ``target`` (80%) of replications; ``mde_bloom`` is Bloom's (1995) approximation
    ``(t_{1-level/2} + t_{target}) x SE`` with the design's standard error on the panel.
    See the module docstring for the method.

    What it assumes, and when it misleads: the errors are an AR(1) common to all
    units (no heteroskedasticity by size, no spatial or common shocks beyond the year
    effects), the effect is constant from 2015 and the design's assumption holds (no
    differential pre-trend). A panel with heavier-tailed, size-dependent or
    cross-sectionally correlated errors has less power than shown. The MDE is for the
    CR1 test (for mergers the influence-function z-test); the wild bootstrap has
    nearly the same power with 342 clusters.

    Parameters
    ----------
    panel : DataFrame with the design's columns (``baseline_population`` for
        ``large_vs_small``, ``dose`` for ``intensity``).
    outcome : outcome column.
    designs : keys of :data:`DESIGNS`: ``"large_vs_small"``, ``"intensity"`` and
        ``"mergers"`` (:func:`analysis.staggered_did` on the merger cohorts in ``cohort``,
        simple aggregation, never-merged controls, influence-function s.e. with normal
        critical values; refitted per replication, about 40 ms each on 342 units).
    effects : planted effects for the curves (in each design's unit, see ``effect_unit``);
        default 0 to 5 standard errors of each design in 41 steps.
    reps : simulated panels (the curves and MDEs reuse the same draws).
    level, target : test level and the power that defines the MDE.
    seed : seed of ``numpy.random.default_rng`` for the errors.
    threshold, dose, cluster : passed to the designs.
    cohort : column of merger cohorts (year the unit became one municipality, 0 never),
        for ``"mergers"``; default ``"cohort"``.
    entity, time : the panel's identifiers.

    Returns
    -------
    PowerResult
        ``.table`` (per design: ``se``, ``mde`` with ``mde_mc_se``, ``mde_bloom``,
        ``sd_estimates`` of the simulated estimates and the calibration), ``.curves``
        and ``.plot()``.

    Examples
    --------
    >>> from analysis import power
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> res = power(simulate_panel(1).panel, "wmo_per_1000", reps=200)
    >>> list(res.table["design"])
    ['large_vs_small', 'intensity']
    >>> bool((abs(res.table["mde"] / res.table["mde_bloom"] - 1) < 0.15).all())
    True
    """
    unknown = [d for d in designs if d not in DESIGNS]
    if unknown:
        raise ValueError(f"power: unknown design(s) {unknown}; available: {sorted(DESIGNS)}")
    if not 0 < level < 1 or not 0 < target < 1:
        raise ValueError(f"power: level and target must be in (0, 1), got {level}, {target}")
    if reps < 10:
        raise ValueError(f"power: reps must be at least 10, got {reps}")
    options = {"threshold": threshold, "dose": dose, "cluster": cluster, "cohort": cohort,
               "entity": entity, "time": time}
    rows, curves, calibrations, notes = [], [], {}, []
    for name in designs:
        spec = DESIGNS[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if spec.refit is not None:
                design = spec.refit(panel, outcome, options)
                frame, y, x, term, se = design.rows, design.y, design.x, design.term, design.se
            else:
                result, term = spec.fit(panel, outcome, options)
                frame, j = result.fit.extra["frame"], result.fit.names.index(term)
                y, x, se = result.fit.y_raw, result.fit.X_raw[:, j], result.std_error(term)
        notes += [f"{name}: {w.message}" for w in caught]
        years = frame[time].to_numpy(dtype=int)
        cal = calibrate(y, x, frame[entity].to_numpy(), years, outcome)
        calibrations[name] = cal
        ucodes = pd.factorize(frame[entity], sort=True)[0]
        fitted = y - within_part(y, x, ucodes, years)
        grid_years = (years - years.min(), int(years.max() - years.min() + 1))
        if spec.refit is not None:
            draws = _Draws(**refit_draws(design, fitted, cal.rho, cal.sd, ucodes, *grid_years,
                                         reps, seed))
        else:
            draws = _simulate(result, term, cal, fitted, ucodes, *grid_years, reps, seed)
        grid = np.linspace(0, 5 * se, 41) if effects is None else np.asarray(effects, float)
        pw = np.array([draws.power(d, level) for d in grid])
        curves.append(pd.DataFrame({"design": name, "effect": grid, "effect_over_se": grid / se,
                                    "power": pw, "mc_se": np.sqrt(pw * (1 - pw) / reps)}))
        rows.append(_summary_row(name, spec, term, se, draws, cal, level, target, reps))
    return PowerResult(outcome, pd.DataFrame(rows), pd.concat(curves, ignore_index=True),
                       calibrations, level, target, reps, seed, list(dict.fromkeys(notes)))


def _summary_row(name, spec, term, se, draws, cal, level, target, reps) -> dict:
    sd_est = float(np.std(draws.b0, ddof=1))
    se_sim = np.sqrt(draws.ssc * draws.q0)  # CR1 s.e. of each replication
    mde = _mde(draws, level, target, se)
    # MC s.e. of the MDE: s.e. of a proportion near `target`, over the curve's slope there
    slope = stats.norm.pdf(stats.norm.ppf(target)) / sd_est
    multiplier = stats.t.ppf(1 - level / 2, draws.df) + stats.t.ppf(target, draws.df)
    return {
        "design": name, "label": spec.label, "term": term, "effect_unit": spec.effect_unit,
        "se": se, "mde": mde, "mde_mc_se": float(np.sqrt(target * (1 - target) / reps) / slope),
        "mde_bloom": float(multiplier * se), "mde_over_se": mde / se,
        "sd_estimates": sd_est,
        "mean_se_simulated": float(np.mean(se_sim)),
        "se_rel_sd": float(np.std(se_sim, ddof=1) / np.mean(se_sim)),
        "power_at_0": draws.power(0.0, level), "rho": cal.rho, "sd": cal.sd,
        "unit_sd": cal.unit_sd, "unit_share": cal.unit_share, "reps": reps,
    }
