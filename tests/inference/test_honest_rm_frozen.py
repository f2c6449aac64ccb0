"""Delta^RM intervals frozen before the vectorised rewrite of issue 22.

The literal numbers below were printed by the code of commit 32c5205 (before the
relative-magnitudes test was restructured for speed) for simulated event studies with
9, 3 and 1 post-periods, several Mbar, both RM methods and three ``l`` vectors. The
rewrite must give the same intervals (to 1e-6, a small fraction of the theta-grid
spacing, so any change of accepted grid points fails) and the same notes.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis import honest_did


def _simulated(n_pre, n_post, seed=0):
    rng = np.random.default_rng(seed)
    n = n_pre + n_post
    root = rng.normal(size=(n, n))
    sigma = (root @ root.T / n + np.eye(n)) * 1e-4
    beta = rng.multivariate_normal(np.r_[np.zeros(n_pre), np.full(n_post, 0.03)], sigma)
    return beta, sigma


def _l_vec(name, n_post):
    return {"first": None, "avg": np.full(n_post, 1 / n_post), "last": np.eye(n_post)[-1]}[name]


# (n_pre, n_post, l, rm_method, Mbar, number of notes, ci_low, ci_high)
FROZEN = [
    (4, 9, 'first', 'C-LF', [0.5, 1.5], 0,
     [-0.01187971057738807, -0.06256749710981069],
     [0.07113340221898407, 0.12265931793380314]),
    (4, 9, 'first', 'Conditional', [0.5, 1.5], 0,
     [-0.01187971057738807, -0.061954163285162955],
     [0.07057626723377353, 0.12143265028450767]),
    (4, 9, 'avg', 'C-LF', [0.5, 1.5], 1,
     [-0.11944619456915134, -0.26282253916680565],
     [0.17497875800312734, 0.3195629998421038]),
    (4, 9, 'avg', 'Conditional', [0.5, 1.5], 1,
     [-0.11733237439683755, -0.26282253916680565],
     [0.17316691214114405, 0.3195629998421038]),
    (4, 3, 'first', 'C-LF', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.0009810619932500708, -0.018467794387869274, -0.043444972631861506, -0.09605583600005482],
     [0.04138856885000569, 0.05418784090326162, 0.07746303208488647, 0.12948239753316323]),
    (4, 3, 'first', 'Conditional', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.001427058107389606, -0.018467794387869274, -0.04295347667772839, -0.09605583600005482],
     [0.04183456496414523, 0.05418784090326162, 0.07697153613075336, 0.12948239753316323]),
    (4, 3, 'avg', 'C-LF', [0.0, 0.5, 1.0, 2.0], 0,
     [2.2439381209188314e-05, -0.04299791830779087, -0.09695584391944936, -0.2064657745869436],
     [0.03295726337903096, 0.07366741641995683, 0.12735234299165382, 0.2368378092072181]),
    (4, 3, 'avg', 'Conditional', [0.0, 0.5, 1.0, 2.0], 0,
     [2.2439381209188314e-05, -0.042227850091766134, -0.09609477602343745, -0.20542270733095733],
     [0.03295726337903096, 0.0728973482039321, 0.1264912750956419, 0.2357947419512318]),
    (4, 3, 'last', 'C-LF', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.020270612255456566, -0.08226626509677143, -0.16086771720821955, -0.3225115828613323],
     [0.04338690583699234, 0.09958645601343985, 0.17922743523116258, 0.3409815658774703]),
    (4, 3, 'last', 'Conditional', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.020270612255456566, -0.08081723943055458, -0.16007495461512075, -0.3225115828613323],
     [0.04338690583699234, 0.09886194318033148, 0.177641910044965, 0.3409815658774703]),
    (3, 1, 'first', 'C-LF', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.011172350219106342, -0.022468810860097943, -0.04212907048523484, -0.08633990082850296],
     [0.05616298263997688, 0.06397385203519068, 0.07855072345474579, 0.11637036595879785]),
    (3, 1, 'first', 'Conditional', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.010492195341741839, -0.021771692610942417, -0.04070090724334158, -0.08409587573491661],
     [0.055482827762612374, 0.06327673378603516, 0.07712256021285252, 0.11487434922974027]),
    (3, 1, 'avg', 'C-LF', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.011172350219106342, -0.022468810860097943, -0.04212907048523484, -0.08633990082850296],
     [0.05616298263997688, 0.06397385203519068, 0.07855072345474579, 0.11637036595879785]),
    (3, 1, 'avg', 'Conditional', [0.0, 0.5, 1.0, 2.0], 0,
     [-0.010492195341741839, -0.021771692610942417, -0.04070090724334158, -0.08409587573491661],
     [0.055482827762612374, 0.06327673378603516, 0.07712256021285252, 0.11487434922974027]),
]


@pytest.mark.parametrize(
    ("n_pre", "n_post", "l_name", "method", "mbar", "n_notes", "low", "high"), FROZEN
)
def test_rm_intervals_unchanged(n_pre, n_post, l_name, method, mbar, n_notes, low, high):
    b, V = _simulated(n_pre, n_post)
    res = honest_did(betahat=b, sigma=V, num_pre_periods=n_pre, num_post_periods=n_post,
                     l_vec=_l_vec(l_name, n_post), Mbar=mbar, restrictions=["RM"],
                     rm_method=method)
    rm = res.table[res.table["restriction"] == "RM"]
    np.testing.assert_allclose(rm["Mbar"], mbar)
    np.testing.assert_allclose(rm["ci_low"], low, rtol=0, atol=1e-6)
    np.testing.assert_allclose(rm["ci_high"], high, rtol=0, atol=1e-6)
    assert len(res.notes) == n_notes
