"""Input features of P for learned m-height models, both invariant under the row and column
permutations and sign flips of P that leave h unchanged (§7.7), so that exact-symmetry copies of a row
(``task.augment``) share their features exactly.

``sorted_log_minors``: log2 |minors| of P of every size, sorted. Why: for m = n-k the height is a ratio of sums
of |minors| of [I | P] (mheight.md §2.3), whose maximal minors are the square minors of P of every size;
near-singular minors make the heavy tails of the hard groups. For each size s = 1 .. S (S = the largest
min(k, n-k) present), ``width[s]`` slots (the largest C(k,s) C(n-k,s) present) hold log2 |minor| of P / scale
sorted descending, then ``FILL`` in the unused slots; a minor that is exactly zero (integer P) reads as ``FLOOR``.

``sorted_log_ratios``: log2 of the Cramer ratios ||G_I^-1 g_i||_1 = sum_t |det G_{I-t+i}| / |det G_I| over every
basis I of G = [I_k | P] and column i outside it (vertex.py): the numbers whose max-min is the height. Their
maximum *is* h_{n-k} (§2.3 closed form), so on the m = n-k groups a model only has to pass one input through;
for m < n-k the height is a max-min over sets of them that the sorted list no longer shows. ``RATIO_TOP`` largest
values, then ``RATIO_QUANTILES`` evenly spaced order statistics of all C(n,k)(n-k) of them (descending).
"""

from __future__ import annotations

from math import comb

import numpy as np

from groklab.mheight.minors import minor_offsets, square_minors, square_minors_t
from groklab.mheight.vertex import dual_tables

FLOOR = -60.0  # log2 of an exactly zero minor; nonzero minors of integer P / 100 of size <= 6 stay above -40
FILL = FLOOR - 4.0  # unused slots (fewer minors of that size in this (n, k))
RATIO_TOP, RATIO_QUANTILES = 16, 48


def widths(pairs: list[tuple[int, int]]) -> list[int]:
    """Slots per size s = 1 .. S for the (n, k) pairs present."""
    top = max(min(k, n - k) for n, k in pairs)
    return [max(comb(k, s) * comb(n - k, s) for n, k in pairs) for s in range(1, top + 1)]


def sorted_log_minors(P: np.ndarray, n: np.ndarray, k: np.ndarray, scale: float,
                      pairs: list[tuple[int, int]] | None = None) -> np.ndarray:
    """Features (N, sum(widths)) for zero-padded P (N, K, R) with per-row n, k (module docstring). The slots are
    sized for `pairs` (default: the (n, k) present), so rows scored later get the layout a model was trained on."""
    present = sorted({(int(a), int(b)) for a, b in zip(n, k, strict=True)})
    slots = widths([(int(a), int(b)) for a, b in pairs] if pairs else present)
    starts = np.concatenate([[0], np.cumsum(slots)])
    out = np.full((len(P), int(starts[-1])), FILL, dtype=np.float32)
    for nn, kk in present:
        rows = np.flatnonzero((n == nn) & (k == kk))
        r = nn - kk
        M = np.abs(square_minors(P[rows, :kk, :r] / scale))
        off = minor_offsets(kk, r)
        for s in range(1, len(off) - 1):
            block = np.log2(np.maximum(M[:, off[s]:off[s + 1]], 2.0**FLOOR)).astype(np.float32)
            out[rows, starts[s - 1]:starts[s - 1] + block.shape[1]] = -np.sort(-block, axis=1)
    return out


def sorted_log_ratios(P: np.ndarray, n: np.ndarray, k: np.ndarray, block: int = 4096) -> np.ndarray:
    """Features (N, RATIO_TOP + RATIO_QUANTILES) for zero-padded P (N, K, R) with per-row n, k (module docstring).
    A ratio over a basis whose minor is exactly zero (integer P) reads as -FLOOR = 60, a zero one as FLOOR; a code
    with fewer than RATIO_TOP ratios has FILL in the slots left over."""
    out = np.full((len(P), RATIO_TOP + RATIO_QUANTILES), FILL, dtype=np.float32)
    for nn, kk in sorted({(int(a), int(b)) for a, b in zip(n, k, strict=True)}):
        rows = np.flatnonzero((n == nn) & (k == kk))
        r = nn - kk
        num, den, _ = dual_tables(nn, kk, r, True)
        count = num.shape[1]
        top = min(count, RATIO_TOP)  # a small code has fewer ratios than slots: the rest keep FILL
        pick = np.round(np.linspace(0, count - 1, RATIO_QUANTILES)).astype(int)
        for start in range(0, len(rows), block):
            part = rows[start:start + block]
            Pt = np.ascontiguousarray(P[part, :kk, :r].reshape(len(part), kk * r).T)
            M = np.abs(square_minors_t(Pt, kk, r))
            S = np.take(M, num[0], axis=0)
            for t in range(1, kk):
                S += np.take(M, num[t], axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                U = np.log2(S.reshape(-1, r, len(part)) / np.take(M, den, axis=0)[:, None, :])
            U = np.ascontiguousarray(U.reshape(count, len(part)).T, dtype=np.float32)  # float32 sorts ~3x faster
            np.nan_to_num(U, copy=False, nan=-FLOOR, posinf=-FLOOR, neginf=FLOOR)  # never inf or NaN
            U.sort(axis=1)
            out[part, :top] = U[:, ::-1][:, :top]
            out[part, RATIO_TOP:] = U[:, count - 1 - pick]
    return out
