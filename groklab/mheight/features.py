"""Input features of P for learned m-height models: log2 |minors| of every size, sorted (issue 17 §2).

Why: for m = n-k the height is a ratio of sums of |minors| of [I | P] (mheight.md §2.3), whose maximal minors are
the square minors of P of every size; near-singular minors make the heavy tails of the hard groups. A sorted list
of log2 |minors| per size is invariant under the row and column permutations and sign flips of P that leave h
unchanged (§7.7), so exact-symmetry copies of a row (``task.augment``) share its features exactly.

Layout: for each size s = 1 .. S (S = the largest min(k, n-k) present), ``width[s]`` slots (the largest C(k,s)
C(n-k,s) present) hold log2 |minor| of P / scale sorted descending, then ``FILL`` in the unused slots; a minor that
is exactly zero (integer P) reads as ``FLOOR``.
"""

from __future__ import annotations

from math import comb

import numpy as np

from groklab.mheight.minors import minor_offsets, square_minors

FLOOR = -60.0  # log2 of an exactly zero minor; nonzero minors of integer P / 100 of size <= 6 stay above -40
FILL = FLOOR - 4.0  # unused slots (fewer minors of that size in this (n, k))


def widths(pairs: list[tuple[int, int]]) -> list[int]:
    """Slots per size s = 1 .. S for the (n, k) pairs present."""
    top = max(min(k, n - k) for n, k in pairs)
    return [max(comb(k, s) * comb(n - k, s) for n, k in pairs) for s in range(1, top + 1)]


def sorted_log_minors(P: np.ndarray, n: np.ndarray, k: np.ndarray, scale: float) -> np.ndarray:
    """Features (N, sum(widths)) for zero-padded P (N, K, R) with per-row n, k (module docstring)."""
    pairs = sorted({(int(a), int(b)) for a, b in zip(n, k, strict=True)})
    slots = widths(pairs)
    starts = np.concatenate([[0], np.cumsum(slots)])
    out = np.full((len(P), int(starts[-1])), FILL, dtype=np.float32)
    for nn, kk in pairs:
        rows = np.flatnonzero((n == nn) & (k == kk))
        r = nn - kk
        M = np.abs(square_minors(P[rows, :kk, :r] / scale))
        off = minor_offsets(kk, r)
        for s in range(1, len(off) - 1):
            block = np.log2(np.maximum(M[:, off[s]:off[s + 1]], 2.0**FLOOR))
            out[rows, starts[s - 1]:starts[s - 1] + block.shape[1]] = -np.sort(-block, axis=1)
    return out
