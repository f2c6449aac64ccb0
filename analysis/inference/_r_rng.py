"""R's default random-number stream (``set.seed``; Mersenne-Twister, inversion normals).

HonestDiD draws the least-favourable critical value of its hybrid test from 1,000
simulated normal vectors after ``set.seed(0)``. With only 1,000 draws the 99.5%
quantile moves by several per cent from one stream to another, so a faithful
reproduction of the package's published intervals needs the very same draws. This
module recreates them: R seeds its Mersenne-Twister with a linear congruential
scramble of the seed (``RNG_Init`` in R's ``src/main/RNG.c``), turns each 32-bit
output into ``u = y * 2^-32`` and makes a normal by inversion from two uniforms
(``u = floor(2^27 u1) + u2; qnorm(u / 2^27)``). ``mvtnorm::rmvnorm`` then
multiplies the ``n x p`` matrix of normals, filled by rows, with the symmetric
square root of the covariance (its default ``method = "eigen"``).

Checked against values printed by R: ``set.seed(0); rnorm(3)`` gives
``1.2629543, -0.3262334, 1.3297993`` (``tests/inference/test_honest_did.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import ndtri

_TWO_M32 = 2.3283064365386963e-10  # 2^-32, as R's MT_genrand
_BIG = 134217728.0  # 2^27, R's INVERSION normal


def _mt_state(seed: int) -> np.ndarray:
    """The 624-word Mersenne-Twister state R's ``set.seed(seed)`` leaves."""
    s = seed & 0xFFFFFFFF
    for _ in range(50):  # initial scrambling
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint64)
    for j in range(625):  # word 0 is R's position counter (dummy[0]), reset to 624
        s = (69069 * s + 1) & 0xFFFFFFFF
        words[j] = s
    return words[1:].astype(np.uint32)


def r_uniforms(n: int, seed: int = 0) -> np.ndarray:
    """``set.seed(seed); runif(n)`` in R (default RNG kind)."""
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": {"key": _mt_state(seed), "pos": 624}}
    u = bitgen.random_raw(n).astype(np.float64) * _TWO_M32
    # R's fixup keeps draws inside (0, 1)
    return np.clip(u, 0.5 * _TWO_M32, 1.0 - 0.5 * _TWO_M32)


@lru_cache(maxsize=4)
def _r_normals_cached(n: int, seed: int) -> np.ndarray:
    u = r_uniforms(2 * n, seed)
    out = ndtri((np.floor(_BIG * u[0::2]) + u[1::2]) / _BIG)
    out.setflags(write=False)
    return out


def r_normals(n: int, seed: int = 0) -> np.ndarray:
    """``set.seed(seed); rnorm(n)`` in R (Mersenne-Twister, inversion)."""
    return _r_normals_cached(int(n), int(seed))


def r_rmvnorm(n: int, sigma: np.ndarray, seed: int = 0) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n, sigma = sigma)`` (mean zero, eigen root)."""
    p = sigma.shape[0]
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    root = (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T
    z = r_normals(n * p, seed).reshape(n, p)  # R fills by rows
    return z @ root
