"""Joint Wald statistics that notice a singular covariance.

A joint test of q estimates inverts their covariance V. When V is singular, or singular up
to rounding, ``np.linalg.solve`` either fails or returns a statistic of 1e16 whose p-value
is 0: a pre-trend "rejected" by rounding error. V is singular when, for example, a
cluster-robust V covers more terms than there are clusters, or when Callaway-Sant'Anna
placebo cells of one-unit cohorts share their comparison units.

Dependent terms are found as collinear regressors are
(:func:`analysis.inference.linear.collinear_columns`): on V scaled to a unit diagonal, a
term whose sampling variation the earlier terms explain up to ``1 - R^2 <``
:data:`~analysis.inference.linear.COLLINEAR_TOL` is dependent. With a dependent term there
is no joint test: the statistic is NaN and a note names the terms. This is R did's
convention (no pre-test for a singular covariance), applied with a stated tolerance rather
than only where ``solve`` happens to fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.inference.linear import COLLINEAR_TOL, collinear_columns


def dependent_terms(vcov: np.ndarray, terms: Sequence[str]) -> list[str]:
    """The ``terms`` whose estimates the earlier ones determine, up to the tolerance.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    >>> dependent_terms(V, ["a", "b", "c"])
    ['b']
    """
    vcov = np.asarray(vcov, dtype=float)
    if not np.isfinite(vcov).all():
        return list(terms)
    return [terms[j] for j in collinear_columns(vcov)]


def wald_chi2(
    estimates: np.ndarray, vcov: np.ndarray, terms: Sequence[str]
) -> tuple[float, str | None]:
    """``b' V^-1 b`` for the joint test that all ``terms`` are 0, or NaN and why not.

    Examples
    --------
    >>> import numpy as np
    >>> wald_chi2(np.array([1.0, 2.0]), np.eye(2), ["a", "b"])
    (5.0, None)
    >>> chi2, note = wald_chi2(np.array([1.0, 1.0]), np.ones((2, 2)), ["a", "b"])
    >>> bool(np.isnan(chi2)), note.split(":")[0]
    (True, 'singular covariance of the 2 tested terms')
    """
    terms = list(terms)
    dependent = dependent_terms(vcov, terms)
    if dependent:
        rank = len(terms) - len(dependent)
        return np.nan, (
            f"singular covariance of the {len(terms)} tested terms: {dependent} are linear "
            f"combinations of the others (tolerance {COLLINEAR_TOL:g} on 1 - R^2; rank "
            f"{rank}, e.g. more terms than clusters or one-unit cohorts), so there is no "
            "joint test; test fewer terms"
        )
    return float(estimates @ np.linalg.solve(vcov, estimates)), None


def no_joint_test(terms: Sequence[str], df: tuple[float, float], note: str) -> dict:
    """The test dict of :meth:`analysis.results.EstimationResult.wald_test` without a joint test."""
    return {"terms": list(terms), "statistic": np.nan, "df": df, "p_value": np.nan,
            "chi2": np.nan, "p_value_chi2": np.nan, "note": note}  # fmt: skip
