"""Modified uniformly redundant arrays (MURA, Gottesman & Fenimore 1989, Appl. Opt. 28, 4344).

For a prime p ≡ 1 (mod 4) let C_i = +1 when i is a non-zero quadratic residue modulo p and
−1 otherwise. The basic p × p pattern (1 = open) is

    A[0, j] = 0,   A[i, 0] = 1 (i ≠ 0),   A[i, j] = 1 if C_i · C_j = +1 else 0,

open fraction (p² − 1)/(2p²) ≈ 0.5. Its balanced decoding array G = 2A − 1 with G[0, 0] = +1
has a delta-function periodic cross-correlation with A. ISGRI's mask is the order-53 pattern
replicated cyclically to 95 × 95 elements.
"""
from __future__ import annotations

import numpy as np

__all__ = ["quadratic_residue_signs", "mura_basic", "mura_decoder", "replicate_cyclic"]


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n ** 0.5) + 1))


def quadratic_residue_signs(p: int) -> np.ndarray:
    """C_i for i = 0..p−1 (C_0 = −1 by convention; it is never used)."""
    residues = {(k * k) % p for k in range(1, p)}
    return np.array([1 if i in residues else -1 for i in range(p)], dtype=np.int8)


def mura_basic(p: int) -> np.ndarray:
    """The basic p × p MURA (uint8, 1 = open) for a prime p ≡ 1 (mod 4)."""
    if not (_is_prime(p) and p % 4 == 1):
        raise ValueError(f"order: a square MURA needs a prime p = 1 (mod 4), got {p}")
    c = quadratic_residue_signs(p)
    a = ((np.outer(c, c) == 1)).astype(np.uint8)
    a[0, :] = 0
    a[1:, 0] = 1
    return a


def mura_decoder(a: np.ndarray) -> np.ndarray:
    """Balanced decoding array G = 2A − 1 with G[0, 0] = +1."""
    g = 2 * a.astype(np.int8) - 1
    g[0, 0] = 1
    return g


def replicate_cyclic(basic: np.ndarray, size: int, first: int) -> np.ndarray:
    """``size`` × ``size`` cyclic extension whose element (i, j) is basic[(i − first) mod p, (j − first) mod p]."""
    p = basic.shape[0]
    idx = (np.arange(size) - first) % p
    return basic[np.ix_(idx, idx)]
