"""Calibrate the synthetic generator's error process to a panel (for :func:`analysis.power`).

The generator (:mod:`analysis.data.synthetic.generator`) draws ``y_it = a_i + g_t + e_it`` with
stationary AR(1) errors ``e``. :func:`calibrate` estimates, from any panel, what that
process needs: the within residuals ``e`` of ``y ~ x | unit + year`` give the AR(1)
coefficient and the stationary error s.d. Demeaning by unit biases both downwards
(Nickell 1981); the bias is removed exactly for an AR(1): with ``R(rho)`` the
correlation matrix of a unit's observed years and ``M`` its demeaning matrix, ``rho``
solves ``sum e_t e_t-1 / sum e^2 = sum tr(L M R M) / sum tr(M R M)`` and
``sd^2 = sum e^2 / sum tr(M R M)`` (the year effects' own O(1/n) share is ignored).
The unit-effect s.d. is reported net of the error that averaging leaves in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.data.synthetic.generator import YEARS as SYNTHETIC_YEARS
from analysis.data.synthetic.generator import OutcomeDGP, SyntheticParams
from analysis.inference.fe import FixedEffect, demean


@dataclass(frozen=True)
class Calibration:
    """The panel's error process and effects, as the synthetic generator parametrises them."""

    outcome: str
    rho: float  # AR(1) coefficient of the errors (Nickell-corrected)
    sd: float  # stationary s.d. of the AR(1) errors
    rho_within: float  # raw lag-1 autocorrelation of the within residuals
    residual_sd: float  # s.d. of the within residuals
    unit_sd: float  # s.d. of the unit effects, net of averaged error
    unit_share: float  # unit_sd^2 / (unit_sd^2 + sd^2)
    n_units: int
    n_years: int
    unit_effects: pd.Series = field(repr=False)
    year_effects: pd.Series = field(repr=False)

    def synthetic_params(
        self, base: SyntheticParams | None = None, log_population: pd.Series | None = None
    ) -> SyntheticParams:
        """``SyntheticParams`` for :func:`analysis.simulate_panel` with this calibration.

        The outcome gets this panel's error s.d., unit-effect s.d. and year path
        (which needs the generator's years, 2010-2023) and no reform effect; ``rho``
        is shared by all outcomes in the generator. With ``log_population`` (per
        unit, as the unit effects) the unit effects' level and slope in log
        population are fitted as well.
        """
        base = base or SyntheticParams()
        years = tuple(int(y) for y in self.year_effects.index)
        if years != SYNTHETIC_YEARS:
            raise ValueError(
                f"the generator simulates {SYNTHETIC_YEARS[0]}-{SYNTHETIC_YEARS[-1]}; this panel "
                f"has years {years[0]}-{years[-1]} ({len(years)})"
            )
        level, slope, unit_sd = float(self.unit_effects.mean()), 0.0, self.unit_sd
        if log_population is not None:
            x = log_population.loc[self.unit_effects.index].to_numpy() - 10.4
            slope, level = np.polyfit(x, self.unit_effects.to_numpy(), 1)
            # what the gradient explains leaves the generator's unit-effect noise
            unit_sd = float(np.sqrt(max(unit_sd**2 - slope**2 * np.var(x, ddof=1), 0.0)))
        # the unit effects are centred and the year effects carry the level; the generator's
        # year path starts at 0 in its first year, so that year's effect moves to the level
        level += float(self.year_effects.iloc[0])
        dgp = OutcomeDGP(
            level=float(level), size_slope=float(slope), unit_sd=unit_sd, sd=self.sd,
            year_path=tuple(float(v) for v in self.year_effects - self.year_effects.iloc[0]),
            effect_by_size_class=(0.0, 0.0, 0.0, 0.0), intensity_slope=0.0,
        )
        return replace(base, rho=self.rho, outcomes={**base.outcomes, self.outcome: dgp})


def _unit_patterns(units: np.ndarray, years: np.ndarray) -> dict[tuple, list[int]]:
    """Units grouped by the calendar years they are observed in."""
    out: dict[tuple, list[int]] = {}
    for u in np.unique(units):
        out.setdefault(tuple(np.sort(years[units == u])), []).append(int(u))
    return out


def _moments(rho: float, patterns: dict[tuple, list[int]]) -> tuple[float, float, float]:
    """Expected sum e^2, sum e_t e_t-1 (consecutive years) and sum of unit-mean variances
    of unit-demeaned AR(1) errors with unit variance."""
    total = lag = mean_var = 0.0
    for pattern, members in patterns.items():
        t = np.asarray(pattern, dtype=float)
        R = rho ** np.abs(t[:, None] - t[None, :])
        T = len(t)
        M = np.eye(T) - 1.0 / T
        C = M @ R @ M
        n = len(members)
        total += n * np.trace(C)
        consecutive = np.flatnonzero(np.diff(t) == 1)
        lag += n * float(C[consecutive + 1, consecutive].sum())
        mean_var += n * R.sum() / T**2
    return total, lag, mean_var


def calibrate(
    y: np.ndarray, x: np.ndarray | None, units: np.ndarray, years: np.ndarray, outcome: str = "y"
) -> Calibration:
    """Calibrate the generator's error process to ``y ~ x | unit + year`` (see module doc).

    ``units`` and ``years`` are per observation (years as calendar integers); ``x`` is
    the design's regressor (kept out of the residuals) or None. Assumes errors that are
    one AR(1) process for all units; it fails (raises) when the residual
    autocorrelation is beyond what an AR(1) with ``|rho| < 1`` gives after demeaning.

    Examples
    --------
    >>> from analysis.inference.calibration import calibrate
    >>> from analysis.data.synthetic.generator import simulate_panel
    >>> p = simulate_panel(1).panel  # generator: rho 0.5, error s.d. 20 euro
    >>> cal = calibrate(p["spending_per_inhabitant"], p["true_effect__spending_per_inhabitant"],
    ...                 p["municipality"], p["year"])
    >>> bool(abs(cal.rho - 0.5) < 0.05 and abs(cal.sd / 20 - 1) < 0.05)
    True
    """
    y = np.asarray(y, dtype=float)
    ucodes, uniques = pd.factorize(units, sort=True)
    years = np.asarray(years, dtype=int)
    tcodes, tuniq = pd.factorize(years, sort=True)
    effects = [FixedEffect("unit", ucodes, len(uniques)), FixedEffect("year", tcodes, len(tuniq))]
    cols = [y] if x is None else [y, np.asarray(x, dtype=float)]
    both = demean(np.column_stack(cols), effects)
    e = both[:, 0]
    b = 0.0
    if x is not None:
        b = float(both[:, 1] @ both[:, 0] / (both[:, 1] @ both[:, 1]))
        e = both[:, 0] - b * both[:, 1]
    fitted = y - (0.0 if x is None else b * cols[1]) - e  # unit + year effects
    patterns = _unit_patterns(ucodes, years)
    order = np.lexsort((years, ucodes))
    es, us, ys = e[order], ucodes[order], years[order]
    pair = (us[1:] == us[:-1]) & (ys[1:] - ys[:-1] == 1)
    ratio = float(es[1:][pair] @ es[:-1][pair] / (e @ e))

    def gap(rho: float) -> float:
        total, lag, _ = _moments(rho, patterns)
        return lag / total - ratio

    lo, hi = -0.95, 0.995
    if gap(lo) > 0 or gap(hi) < 0:
        raise ValueError(
            f"{outcome}: residual autocorrelation {ratio:.3f} is outside what an AR(1) with "
            f"|rho| < 1 can give after demeaning; the panel may have too few years per unit"
        )
    rho = float(optimize.brentq(gap, lo, hi, xtol=1e-10))
    total, _, mean_var = _moments(rho, patterns)
    sd = float(np.sqrt(e @ e / total))
    year_fx = pd.Series(fitted, index=tuniq[tcodes]).groupby(level=0).mean()
    unit_fx = pd.Series(fitted - year_fx.loc[years].to_numpy(), index=uniques[ucodes])
    unit_fx = unit_fx.groupby(level=0).mean()
    unit_var = max(float(unit_fx.var(ddof=1)) - sd**2 * mean_var / len(uniques), 0.0)
    return Calibration(
        outcome=outcome, rho=rho, sd=sd, rho_within=ratio,
        residual_sd=float(np.sqrt(e @ e / len(e))), unit_sd=float(np.sqrt(unit_var)),
        unit_share=float(unit_var / (unit_var + sd**2)), n_units=len(uniques), n_years=len(tuniq),
        unit_effects=unit_fx, year_effects=year_fx,
    )


def within_part(y: np.ndarray, x: np.ndarray, units: np.ndarray, years: np.ndarray):
    """``b x + e`` of ``y = unit + year + b x + e``: what is not a unit or year effect."""
    tcodes, tuniq = pd.factorize(years, sort=True)
    effects = [FixedEffect("unit", units, int(units.max()) + 1),
               FixedEffect("year", tcodes, len(tuniq))]
    both = demean(np.column_stack([y, x]), effects)
    b = both[:, 1] @ both[:, 0] / (both[:, 1] @ both[:, 1])
    return b * x + (both[:, 0] - b * both[:, 1])
