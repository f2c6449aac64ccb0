"""The wild bootstrap gives today's p-values to the last draw (frozen fixture).

``tests/fixtures/wild_bootstrap/reference.npz`` holds the outputs of the implementation
of commit f47f7cd (one draw at a time through G x B intermediates) for the cases in
``wild_reference_cases.py``: Rademacher and Webb draws, full enumeration, weights, a
contrast, non-zero nulls, unbounded intervals. Any faster implementation must draw the
same weights and count the same draws as extreme; t-statistics and interval bounds agree
to rounding.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from analysis import wild_cluster_bootstrap

sys.path.insert(0, str(Path(__file__).parent))
from wild_reference_cases import FIXTURE, HEAD, cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = np.load(ROOT / FIXTURE)
CASES = cases()


@pytest.mark.parametrize("name, result, kwargs", CASES, ids=[c[0] for c in CASES])
def test_same_outputs_as_the_frozen_implementation(name, result, kwargs):
    boot = wild_cluster_bootstrap(result, **kwargs)
    est, t, p, lo, hi, draws = REFERENCE[f"{name}.scalars"]
    assert boot.draws == draws
    # the same draws are counted as extreme: p is a count over draws, compared exactly
    assert round(boot.p_value * boot.draws) == round(p * draws)
    assert boot.p_value == p
    assert boot.estimate == pytest.approx(est, rel=1e-12)
    assert boot.t_stat == pytest.approx(t, rel=1e-10)
    t_boot = boot.t_boot[:HEAD] if boot.draws > 1000 else boot.t_boot
    np.testing.assert_allclose(t_boot, REFERENCE[f"{name}.t_boot"], rtol=1e-9, atol=1e-12)
    if np.isnan(lo):
        assert np.isnan(boot.ci_low) and np.isnan(boot.ci_high)
    else:
        # bisection stops within 1e-7 standard errors of the boundary
        tol = 1e-6 * abs(boot.estimate / boot.t_stat)
        for ours, ref in ((boot.ci_low, lo), (boot.ci_high, hi)):
            assert (ours == ref) if np.isinf(ref) else ours == pytest.approx(ref, abs=tol)
