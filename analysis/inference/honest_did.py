"""How wrong may parallel trends be? Rambachan-Roth (2023) sensitivity for an event study.

:func:`honest_did` takes an event study (an :class:`~analysis.results.EstimationResult`
from :func:`analysis.event_study`, or the raw ``betahat``/``sigma`` that R's HonestDiD
takes) and reports confidence intervals for ``theta = l'tau_post`` that stay valid when
the differential trend ``delta`` is not zero but lies in a restriction set:

* smoothness ``Delta^SD(M)``: the slope of ``delta`` changes by at most M between
  consecutive periods (M = 0: a linear pre-trend extrapolated); fixed-length CI (FLCI),
  :mod:`analysis.inference._honest_sd`;
* relative magnitudes ``Delta^RM(Mbar)``: no post-period change of ``delta`` exceeds Mbar
  times the largest pre-period change (Mbar = 1: as bad as the worst pre-period);
  Andrews-Roth-Pakes conditional or least-favourable hybrid ("C-LF") confidence set,
  :mod:`analysis.inference._honest_rm`.

Validated against the R package (``tests/inference/test_honest_did.py``), from the same betahat and
sigma: the Medicaid example of HonestDiD's README and of the Mixtape "Advanced DID" exercise.
The Delta^RM intervals are R's to the grid point; the FLCI within 3.1e-5 (R simulates a
quantile that is computed exactly here). With many pre-periods the FLCI's half-length is
nearly flat in directions that move its centre: on the vignette's Lovenheim-Willen example
(9 pre-periods) the widths agree with R's to 0.12% and the centres to 0.4% of the width.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.inference._honest_rm import rm_accept_grid
from analysis.inference._honest_sd import FLCIProblem, flci_solve

TABLE_COLUMNS = ["restriction", "method", "M", "Mbar", "ci_low", "ci_high"]


@dataclass
class HonestDiDResult:
    """Sensitivity of one event-study parameter to violations of parallel trends.

    Attributes
    ----------
    table : DataFrame
        One row per interval: ``restriction`` ("none", "SD", "RM"), ``method``
        ("Original", "FLCI", "C-LF" or "Conditional"), ``M`` (SD rows), ``Mbar``
        (RM rows), ``ci_low``, ``ci_high``.
    breakdown : dict
        ``{"M": ..., "Mbar": ...}``: the smallest M (Mbar) whose interval contains 0,
        refined by bisection between the grid values that bracket it; 0 when even the
        smallest grid value's interval contains 0; NaN when no grid value's does (the
        conclusion survives the whole grid) or the restriction was not run.
    l_vec : numpy.ndarray
        The parameter: weights on the post-period coefficients.
    alpha : float
        One minus the confidence level.
    notes : list of str
        What the reader must know.
    """

    table: pd.DataFrame
    l_vec: np.ndarray
    alpha: float
    notes: list[str] = field(default_factory=list)
    _interval: dict[str, Callable[[float], tuple[float, float]]] = field(
        default_factory=dict, repr=False
    )
    _breakdown: dict[str, float] | None = field(default=None, repr=False)

    @property
    def breakdown(self) -> dict[str, float]:
        if self._breakdown is None:
            self._breakdown = {
                name: _breakdown(self.table, restriction, name, self._interval.get(name))
                for restriction, name in (("SD", "M"), ("RM", "Mbar"))
            }
        return self._breakdown

    def summary(self) -> str:
        """Plain-text summary: the parameter, the intervals and the breakdown values."""
        lines = [
            "Rambachan-Roth sensitivity, theta = l'tau_post with "
            f"l = {np.round(self.l_vec, 4).tolist()}, {100 * (1 - self.alpha):g}% intervals",
            self.table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}"),
        ]
        for name, value in self.breakdown.items():
            if name == "M" and not (self.table["restriction"] == "SD").any():
                continue
            if name == "Mbar" and not (self.table["restriction"] == "RM").any():
                continue
            text = "not reached on the grid" if np.isnan(value) else f"{value:.4g}"
            lines.append(f"breakdown {name} (smallest value whose interval contains 0): {text}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def plot(self, axes=None):
        """Sensitivity plot as HonestDiD's ``createSensitivityPlot``: one panel per restriction,
        the original interval left of the grid, robust intervals against M (Mbar)."""
        import matplotlib.pyplot as plt

        from analysis.results import PALETTE

        ran = set(self.table["restriction"])
        panels = [(r, n) for r, n in (("SD", "M"), ("RM", "Mbar")) if r in ran]
        if axes is None:
            _, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
            axes = axes[0]
        axes = np.atleast_1d(axes)
        original = self.table[self.table["restriction"] == "none"].iloc[0]
        for ax, (restriction, name) in zip(axes, panels, strict=False):
            rows = self.table[self.table["restriction"] == restriction].sort_values(name)
            x = rows[name].to_numpy(float)
            gap = np.min(np.diff(x)) if len(x) > 1 else 1.0
            x0 = x.min() - gap
            ax.vlines(x0, original["ci_low"], original["ci_high"], color=PALETTE[1], lw=2.5,
                      label="original")
            ax.vlines(x, rows["ci_low"], rows["ci_high"], color=PALETTE[0], lw=2.5,
                      label=rows["method"].iloc[0])
            ax.axhline(0, color="black", lw=0.8)
            value = self.breakdown[name]
            if np.isfinite(value):
                ax.axvline(value, color="grey", ls=":", lw=1,
                           label=f"breakdown {name} = {value:.3g}")
            label = "M" if name == "M" else r"$\bar{M}$"
            ax.set_xlabel(label)
            ax.set_ylabel(f"{100 * (1 - self.alpha):g}% interval for theta")
            ax.set_title("Smoothness" if restriction == "SD" else "Relative magnitudes")
            ax.legend(frameon=False, fontsize="small")
        return axes


def _breakdown(table, restriction, name, interval, rel_tol: float = 1e-4) -> float:
    rows = table[table["restriction"] == restriction].sort_values(name)
    if rows.empty or interval is None:
        return float("nan")
    covers = (rows["ci_low"] <= 0) & (rows["ci_high"] >= 0)
    if not covers.any():
        return float("nan")
    first = int(np.argmax(covers.to_numpy()))
    values = rows[name].to_numpy(float)
    if first == 0:
        return float(values[0])
    lo, hi = values[first - 1], values[first]  # lo excludes 0, hi includes it
    while hi - lo > rel_tol * max(abs(values[-1]), 1e-12):
        mid = 0.5 * (lo + hi)
        low, high = interval(mid)
        if low <= 0 <= high:
            hi = mid
        else:
            lo = mid
    return float(hi)


def _from_result(result) -> tuple[np.ndarray, np.ndarray, int, int, list[str]]:
    """betahat, sigma, pre and post counts of an ``event_study`` result, in event-time order."""
    tab = result.table
    if "event_time" not in tab.columns:
        raise ValueError(
            f"honest_did: the result of design {result.design!r} has no event_time column; "
            "pass an event_study result or betahat/sigma"
        )
    ref = result.extra.get("reference_event_time")
    if ref is None:
        raise ValueError("honest_did: the event study result does not record its reference period")
    tab = tab.sort_values("event_time")
    times = tab["event_time"].to_numpy(int)
    full = np.arange(times.min(), times.max() + 1)
    if len(times) != len(full) - 1 or ref not in full or ref in times:
        raise ValueError(
            f"honest_did: event times {times.tolist()} with reference {ref} are not consecutive "
            "around the omitted reference period"
        )
    terms = tab["term"].tolist()
    betahat = tab["estimate"].to_numpy(float)
    sigma = result.vcov.loc[terms, terms].to_numpy(float)
    notes = []
    if "binned" in tab.columns and tab["binned"].any():
        notes.append("binned end points: their coefficients average several periods, so the "
                     "restrictions treat them as one period each")
    if ref != -1:
        notes.append(f"reference event time is {ref}: event times {ref + 1}..-1 count as "
                     "post-periods")
    return betahat, sigma, int((times < ref).sum()), int((times > ref).sum()), notes


def _default_m(betahat, sigma, n_pre) -> np.ndarray:
    """HonestDiD's default M grid: 10 values from 0 to an upper bound for the pre-period
    second differences (their largest one-sided 95% upper confidence bound)."""
    if n_pre == 1:
        return np.linspace(0, np.sqrt(sigma[0, 0]), 10)
    A = np.zeros((n_pre - 1, n_pre + 1))
    for r in range(n_pre - 1):
        A[r, r : r + 3] = (1.0, -2.0, 1.0)
    A = A[:, :n_pre]  # delta_0 = 0 drops out
    A = np.vstack([A, -A])
    diffs = A @ betahat[:n_pre]
    se = np.sqrt(np.diag(A @ sigma[:n_pre, :n_pre] @ A.T))
    return np.linspace(0, float(np.max(diffs + stats.norm.ppf(0.95) * se)), 10)


def _check_inputs(betahat, sigma, n_pre, n_post, l_vec):
    if n_pre < 1 or n_post < 1:
        raise ValueError(
            f"honest_did: need at least one pre- and one post-period (got {n_pre}, {n_post})"
        )
    if betahat.shape != (n_pre + n_post,):
        raise ValueError(
            f"honest_did: betahat has {betahat.size} entries, expected {n_pre} + {n_post}"
        )
    if sigma.shape != (n_pre + n_post,) * 2:
        raise ValueError(f"honest_did: sigma is {sigma.shape}, expected {(n_pre + n_post,) * 2}")
    if not np.all(np.isfinite(betahat)) or not np.all(np.isfinite(sigma)):
        raise ValueError("honest_did: betahat and sigma must be finite")
    if not np.allclose(sigma, sigma.T, rtol=1e-8, atol=1e-14 * np.abs(sigma).max()):
        raise ValueError("honest_did: sigma is not symmetric")
    if np.linalg.eigvalsh((sigma + sigma.T) / 2).min() < -1e-10 * np.abs(sigma).max():
        raise ValueError("honest_did: sigma is not positive semi-definite")
    if l_vec.shape != (n_post,):
        raise ValueError(f"honest_did: l_vec has {l_vec.size} entries for {n_post} post-periods")


def honest_did(
    result=None,
    *,
    betahat: Sequence[float] | None = None,
    sigma: np.ndarray | None = None,
    num_pre_periods: int | None = None,
    num_post_periods: int | None = None,
    l_vec: Sequence[float] | None = None,
    M: Sequence[float] | None = None,
    Mbar: Sequence[float] | None = None,
    restrictions: Sequence[str] = ("SD", "RM"),
    alpha: float = 0.05,
    rm_method: str = "C-LF",
    grid_points: int = 1000,
    grid: str = "stata",
    grid_bounds: tuple[float, float] | None = None,
) -> HonestDiDResult:
    """Rambachan-Roth (2023) robust intervals for an event-study effect, and breakdown values.

    Identifying assumption: instead of exact parallel trends, the differential trend
    ``delta`` (the bias of the event-study coefficients, ``beta = tau + delta`` with
    ``tau_pre = 0``) lies in a restriction set that the researcher is willing to defend,
    indexed by how much post-period violations may exceed what the pre-periods show:
    ``Delta^SD(M)`` (the slope of ``delta`` changes by at most M per period) or
    ``Delta^RM(Mbar)`` (post-period changes at most Mbar times the largest pre-period
    change). The intervals cover ``theta = l'tau_post`` with probability 1 - alpha for
    every ``delta`` in the set, treating ``betahat`` as normal with covariance ``sigma``
    (normal critical values, as HonestDiD; a clustered ``sigma`` with few clusters makes
    them too short). The design fails, i.e. the intervals are not robust, when violations
    can be larger than the chosen M or Mbar, e.g. when something else changed at the
    reform date that left no trace in the pre-periods; the breakdown value says how large
    they must be before the interval contains zero.

    Parameters
    ----------
    result : EstimationResult from :func:`analysis.event_study`, optional
        Leads and lags with their covariance (``result.vcov``); the omitted reference
        period must lie between the pre- and post-periods. Alternatively give
    betahat, sigma, num_pre_periods, num_post_periods :
        As R's HonestDiD: coefficients ordered by event time, pre-periods first, the
        reference period omitted, and their covariance.
    l_vec : weights on the post-period effects (default: the first post-period).
    M : values for Delta^SD (default: HonestDiD's, 10 values from 0 to a bound from the
        pre-period second differences).
    Mbar : values for Delta^RM (default 10 values from 0 to 2, as HonestDiD).
    restrictions : which of "SD" and "RM" to run.
    alpha : 1 - coverage.
    rm_method : "C-LF" (least-favourable hybrid, HonestDiD's default) or "Conditional".
    grid_points, grid, grid_bounds : the RM confidence set is found by test inversion on
        ``grid_points`` (default 1,000) values of theta, so its ends are grid points.
        ``grid="stata"`` (default) centres the grid on ``l'betahat_post`` with half-width
        ``20 se + Mbar * sum_t t |l_t| * (largest pre-period change of betahat)``, as Stata's
        honestdid, moderndid and the rendering of HonestDiD's README (its March 2024 table
        is reproduced exactly); ``grid="r"`` is HonestDiD's master-branch default,
        ``+/- 20 se`` around zero (reproduces its 2022 outputs exactly). ``grid_bounds``
        fixes both ends instead.

    Returns
    -------
    HonestDiDResult with ``.table``, ``.breakdown``, ``.plot()``, ``.summary()``.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis import honest_did
    >>> betahat = np.array([0.01, -0.005, 0.0, 0.002, 0.05, 0.06])
    >>> sigma = np.diag([1e-4] * 6)
    >>> res = honest_did(betahat=betahat, sigma=sigma, num_pre_periods=4,
    ...                  num_post_periods=2, M=[0, 0.01, 0.02], Mbar=[0, 1, 2])
    >>> list(res.table.columns)
    ['restriction', 'method', 'M', 'Mbar', 'ci_low', 'ci_high']
    >>> res.table.iloc[0]["method"]
    'Original'
    >>> bool(res.breakdown["Mbar"] > 0)
    True
    """
    notes: list[str] = []
    if result is not None:
        if betahat is not None or sigma is not None:
            raise ValueError(
                "honest_did: give either an event-study result or betahat/sigma, not both"
            )
        b, V, n_pre, n_post, notes = _from_result(result)
    else:
        if betahat is None or sigma is None or num_pre_periods is None or num_post_periods is None:
            raise ValueError(
                "honest_did: without a result give betahat, sigma, num_pre_periods and "
                "num_post_periods"
            )
        b = np.asarray(betahat, dtype=float).ravel()
        V = np.asarray(sigma, dtype=float)
        n_pre, n_post = int(num_pre_periods), int(num_post_periods)
    lv = np.zeros(n_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if l_vec is None:
        lv[0] = 1.0
    _check_inputs(b, V, n_pre, n_post, lv)
    unknown = set(restrictions) - {"SD", "RM"}
    if unknown:
        raise ValueError(
            f"honest_did: unknown restrictions {sorted(unknown)}; use 'SD' and/or 'RM'"
        )
    if rm_method not in ("C-LF", "Conditional"):
        raise ValueError(
            f"honest_did: rm_method must be 'C-LF' or 'Conditional', not {rm_method!r}"
        )

    theta_hat = float(lv @ b[n_pre:])
    sd_theta = float(np.sqrt(lv @ V[n_pre:, n_pre:] @ lv))
    z = stats.norm.ppf(1 - alpha / 2)
    rows = [{"restriction": "none", "method": "Original", "M": np.nan, "Mbar": np.nan,
             "ci_low": theta_hat - z * sd_theta, "ci_high": theta_hat + z * sd_theta}]
    intervals: dict[str, Callable[[float], tuple[float, float]]] = {}

    if "SD" in restrictions:
        problem = FLCIProblem.build(V, n_pre, lv)

        def sd_interval(m: float) -> tuple[float, float]:
            out = flci_solve(problem, b, n_pre, lv, float(m), alpha)
            return out["ci_low"], out["ci_high"]

        m_values = _default_m(b, V, n_pre) if M is None else np.asarray(M, dtype=float)
        if (m_values < 0).any():
            raise ValueError("honest_did: M must be non-negative")
        for m in m_values:
            lo, hi = sd_interval(m)
            rows.append({"restriction": "SD", "method": "FLCI", "M": float(m), "Mbar": np.nan,
                         "ci_low": lo, "ci_high": hi})
        intervals["M"] = sd_interval

    if "RM" in restrictions:
        if n_pre < 2 and rm_method:
            notes.append("one pre-period: Delta^RM bounds post-period changes by the single "
                         "pre-period change")
        if grid not in ("stata", "r"):
            raise ValueError(f"honest_did: grid must be 'stata' or 'r', not {grid!r}")
        hybrid = "LF" if rm_method == "C-LF" else "ARP"
        max_pre = float(np.abs(np.diff(np.r_[b[:n_pre], 0.0])).max())
        weight = float(np.arange(1, n_post + 1) @ np.abs(lv))

        def rm_interval(mbar: float) -> tuple[float, float]:
            if grid_bounds is not None:
                lo_g, hi_g = grid_bounds
            elif grid == "r":
                lo_g, hi_g = -20 * sd_theta, 20 * sd_theta
            else:
                half = 20 * sd_theta + mbar * weight * max_pre
                lo_g, hi_g = theta_hat - half, theta_hat + half
            theta = np.linspace(lo_g, hi_g, int(grid_points))
            accept = rm_accept_grid(b, V, n_pre, n_post, lv, float(mbar), theta, alpha, hybrid)
            if not accept.any():
                return np.nan, np.nan
            if accept[0] or accept[-1]:
                note = (f"Mbar = {mbar:g}: the confidence set reaches the end of the theta grid; "
                        "widen grid_bounds")
                if note not in notes:
                    notes.append(note)
            return float(theta[accept].min()), float(theta[accept].max())

        mbar_values = np.linspace(0, 2, 10) if Mbar is None else np.asarray(Mbar, dtype=float)
        if (mbar_values < 0).any():
            raise ValueError("honest_did: Mbar must be non-negative")
        for mb in mbar_values:
            lo, hi = rm_interval(mb)
            if np.isnan(lo):
                notes.append(f"Mbar = {mb:g}: every grid value was rejected (empty confidence set)")
            rows.append({"restriction": "RM", "method": rm_method, "M": np.nan, "Mbar": float(mb),
                         "ci_low": lo, "ci_high": hi})
        intervals["Mbar"] = rm_interval

    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return HonestDiDResult(table=table, l_vec=lv, alpha=alpha, notes=notes, _interval=intervals)
