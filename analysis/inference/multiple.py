"""Multiple testing: Holm, Benjamini-Hochberg and the Romano-Wolf step-down.

Testing the reform's effect on several outcomes (bijstand, youth care, Wmo,
spending) at 5% each rejects at least one true null far more often than 5%.

* Holm (1979) controls the family-wise error rate (FWER) under any dependence.
* Benjamini-Hochberg (1995) controls the false discovery rate, under independence
  or positive dependence of the tests.
* Romano-Wolf (2005) step-down controls the FWER and uses the bootstrap joint
  distribution of the t-statistics, so correlated outcomes (the same municipalities,
  the same shocks) are penalised less than Holm does. Its bootstrap t-statistics must
  come from the *same* draws for every hypothesis: :func:`analysis.run_many` uses one
  seed and one set of clusters for all outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests

METHODS = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}


def adjust_pvalues(p_values: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values by ``statsmodels.stats.multitest.multipletests``.

    Parameters
    ----------
    p_values : unadjusted p-values; missing values stay missing and are not counted
        as hypotheses.
    method : ``"holm"``, ``"bh"`` (Benjamini-Hochberg) or ``"bonferroni"``.

    Returns
    -------
    numpy.ndarray of adjusted p-values in the input order.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(2).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh").round(2).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, not {method!r}")
    p = np.asarray(p_values, dtype=float)
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ValueError(f"p-values must lie in [0, 1]; got {p[bad][:3].tolist()}")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=METHODS[method])[1]
    return out


def romano_wolf(t_obs: Sequence[float] | np.ndarray, t_boot: np.ndarray) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values from bootstrap t-statistics.

    Hypotheses are ordered by ``|t|``, largest first. The adjusted p-value of the
    s-th is the share of draws in which the largest ``|t*|`` among the hypotheses
    not yet stepped past (the s-th and all less significant ones) is at least
    its ``|t|``; monotonicity is then enforced along the order (Romano & Wolf
    2005, 2016; Clarke, Romano & Wolf 2020, algorithm 2).

    Parameters
    ----------
    t_obs : observed t-statistics, one per hypothesis (length S).
    t_boot : S x B bootstrap t-statistics *under the null* (e.g. WCR), the b-th
        column from the same bootstrap draw for every hypothesis.

    Returns
    -------
    numpy.ndarray of adjusted p-values in the input order.

    Examples
    --------
    >>> t_boot = np.array([[0.5, -2.5, 1.0, 3.0], [1.0, 0.2, -0.1, 0.3]])
    >>> romano_wolf([2.0, 0.8], t_boot).tolist()
    [0.5, 0.5]
    """
    t = np.abs(np.asarray(t_obs, dtype=float))
    boot = np.abs(np.asarray(t_boot, dtype=float))
    if boot.ndim != 2 or boot.shape[0] != t.shape[0]:
        raise ValueError(
            f"t_boot must be hypotheses x draws ({t.shape[0]} x B), got shape {boot.shape}"
        )
    if np.isnan(t).any() or np.isnan(boot).any():
        raise ValueError("romano_wolf: missing t-statistics; drop those hypotheses first")
    order = np.argsort(-t, kind="stable")
    # running max from the least significant hypothesis upwards: row s is
    # max over the hypotheses order[s:], for every draw
    tail_max = np.maximum.accumulate(boot[order][::-1], axis=0)[::-1]
    tol = 1 - 1e-9  # exact ties (e.g. an enumerated identity draw) count as exceeding
    p_sorted = np.mean(tail_max >= (t[order] * tol)[:, None], axis=1)
    p_sorted = np.maximum.accumulate(p_sorted)
    out = np.empty_like(p_sorted)
    out[order] = p_sorted
    return out
