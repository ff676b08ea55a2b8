"""Minors for the m-height: every square minor of P (float, batched, exact zero pattern) and the k x k minors of
any generator matrix G (exact integers, one matrix).

Why: the m-height of [I_k | P] is a max-min of ratios of its maximal minors (vertex.py, mheight.md §2.3), and
the maximal minors of [I_k | P] are, up to sign, the square minors of P of every size (§2.3, last bullet):
det [I | P]_I = +-det P[R, F], where F are the P-columns of I and R the rows whose identity column I leaves
out. Whether h is infinite depends on which of them vanish exactly (§1, §7.6), so the zero pattern must be
exact.

How: one vectorised Laplace expansion along rows computes every minor of every size (level s from level
s-1) on a (minors, batch) layout, so that every gather moves contiguous rows. The rounding error of an s x s
minor is at most eps_s times the permanent of |P[R, F]| (each level adds at most s roundings to a sum of s
products), and that permanent is at most s! max|P|^s, so a minor above twice that bound is *certainly* nonzero.
Integer matrices whose bounds stay below 2**53 are computed without any rounding at all (every partial sum is
an integer in the exact float range), which is the course's integer-P case (§7.4). Rows with a minor still
ambiguous are recomputed with Python integers (floats are dyadic rationals), so the zero pattern is exact.
Building P's minors instead of G's costs 3-7x fewer products for the course's (n, k).

The float code runs on numpy or torch (arrays.py).
"""

from __future__ import annotations

import math
from functools import cache
from itertools import combinations
from math import comb

import numpy as np

from groklab.errors import GroklabError
from groklab.mheight.arrays import CPU, Arrays

_U = 2.0**-53
_EXACT_INT = 2.0**53


@cache
def combos(n: int, s: int) -> np.ndarray:
    """The s-subsets of range(n) in lexicographic order, shape (C(n, s), s)."""
    subsets = list(combinations(range(n), s))
    return np.array(subsets, dtype=np.intp).reshape(len(subsets), s)


@cache
def combo_index(n: int, s: int) -> dict[tuple[int, ...], int]:
    """Position of each s-subset (as a sorted tuple) in ``combos(n, s)``."""
    return {tuple(int(x) for x in c): i for i, c in enumerate(combos(n, s))}


@cache
def minor_offsets(k: int, r: int) -> tuple[int, ...]:
    """Start of each size s = 0 .. min(k, r) in the minor vector (size 0 is the empty minor, 1), then the end.

    Size s holds C(k, s) * C(r, s) minors, the one of rows R and columns F at ``offset[s] + iR * C(r, s) + iF``
    (iR, iF the positions of R and F in ``combos``).
    """
    out = [0, 1]
    for s in range(1, min(k, r) + 1):
        out.append(out[-1] + comb(k, s) * comb(r, s))
    return tuple(out)


def minor_index(k: int, r: int, rows: tuple[int, ...], cols: tuple[int, ...]) -> int:
    """Position of the minor P[rows, cols] (sorted tuples of equal length) in the minor vector."""
    s = len(rows)
    return minor_offsets(k, r)[s] + combo_index(k, s)[rows] * comb(r, s) + combo_index(r, s)[cols]


@cache
def _square_tables(k: int, r: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Level s >= 2: for each s x s minor (rows R, columns F) and j < s, the entry P[R[-1], F[j]] (flat index)
    and the (s-1)-minor P[R[:-1], F - F[j]] (index within level s-1). The cofactor sign is (-1)^(s-1+j)."""
    rows, cols = combos(k, s), combos(r, s)
    prev_r, prev_c = combo_index(k, s - 1), combo_index(r, s - 1)
    nc_prev = comb(r, s - 1)
    entry = np.empty((s, len(rows) * len(cols)), dtype=np.intp)
    sub = np.empty_like(entry)
    for a, R in enumerate(rows.tolist()):
        up = prev_r[tuple(R[:-1])] * nc_prev
        for b, F in enumerate(cols.tolist()):
            x = a * len(cols) + b
            for j in range(s):
                entry[j, x] = R[-1] * r + F[j]
                sub[j, x] = up + prev_c[tuple(F[:j] + F[j + 1:])]
    return entry, sub


@cache
def _error_factor(s: int) -> float:
    """eps_s, |fl(det) - det| <= eps_s perm(|P_RF|) for s x s minors: eps_s = eps_{s-1} + gamma_s (1 + eps_{s-1})."""
    eps = 0.0
    for t in range(2, s + 1):
        gamma = t * _U / (1 - t * _U)
        eps = eps + gamma * (1 + eps)
    return eps


def _expand(Pt, k: int, r: int, ar: Arrays) -> list:
    """Levels 1 .. min(k, r) of the Laplace expansion of Pt = P as (k*r, B): a list of (C(k,s) C(r,s), B)
    arrays, the minors of size s."""
    levels = [Pt]
    for s in range(2, min(k, r) + 1):
        entry, sub = (ar.table(a) for a in _square_tables(k, r, s))
        prev = levels[-1]
        new = ar.rows(Pt, entry[0])
        new *= ar.rows(prev, sub[0])
        if s % 2 == 0:  # cofactor sign (-1)^(s-1+j)
            new = -new
        for j in range(1, s):
            term = ar.rows(Pt, entry[j])
            term *= ar.rows(prev, sub[j])
            if (s - 1 + j) % 2:
                new -= term
            else:
                new += term
        levels.append(new)
    return levels


def to_int_matrix(G: np.ndarray) -> tuple[list[list[int]], int]:
    """(M, e): M = G * 2**e with every entry an exact integer (floats are dyadic), e >= 0 the smallest such."""
    ratios = [[float(x).as_integer_ratio() for x in row] for row in G]
    scale = max(den for row in ratios for _, den in row)
    return [[num * (scale // den) for num, den in row] for row in ratios], scale.bit_length() - 1


def exact_square_minors(Pi: list[list[int]]) -> list[int]:
    """Every square minor of an integer k x r matrix with Python integers, in minor-vector order (1 first)."""
    k, r = len(Pi), len(Pi[0])
    flat = [x for row in Pi for x in row]
    out, prev = [1, *flat], flat
    for s in range(2, min(k, r) + 1):
        entry, sub = (a.T.tolist() for a in _square_tables(k, r, s))
        prev = [sum((-1) ** (s - 1 + j) * flat[e[j]] * prev[b[j]] for j in range(s))
                for e, b in zip(entry, sub, strict=True)]
        out += prev
    return out


def _range_ok(Pt, s: int, xp):
    """True where no product of s entries can underflow or overflow (so the error bound holds)."""
    lim = 2.0 ** (900 // s)
    mag = xp.abs(Pt)
    small = xp.amin(xp.where(mag > 0, mag, 1.0), axis=0) < 1 / lim
    return ~small & (xp.amax(mag, axis=0) < lim)


def _exact_column(P: np.ndarray) -> np.ndarray:
    """Every square minor of one float matrix P (k, r), exact and then rounded once (the zero pattern is exact)."""
    Pi, e = to_int_matrix(P)
    offsets = minor_offsets(*P.shape)
    exact = exact_square_minors(Pi)
    sizes = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets)).tolist()
    try:
        out = np.array([x / (1 << (e * s)) for x, s in zip(exact, sizes, strict=True)])
    except OverflowError:
        raise GroklabError(f"P has entries (largest {np.abs(P).max():.3g}) whose minors overflow float64") from None
    if any((v == 0) != (x == 0) for v, x in zip(out.tolist(), exact, strict=True)):
        raise GroklabError(f"P has entries (smallest {np.abs(P[P != 0]).min():.3g}) whose minors underflow float64")
    return out


def square_minors_t(Pt, k: int, r: int, ar: Arrays = CPU):
    """Every square minor of every size of a stack of k x r matrices given as Pt (k*r, B) (P[b] row-major in
    column b): array (1 + sum_s C(k,s) C(r,s), B), row 0 the empty minor 1, rows ordered as ``minor_offsets``.
    An entry is exactly 0.0 iff that minor is exactly zero. On torch, Pt is a float64 tensor on ``ar.device``.

    Certification: an s x s minor's rounding error is <= eps_s perm(|P_RF|) <= eps_s s! max|P|^s =: bound_s (one
    number per matrix, cheaper than carrying every permanent). |D| > 2 bound_s proves D != 0; integer matrices
    with every s! max|P|^s <= 2**53 are exact; any other matrix with a minor at or below 2 bound_s (an exact or
    near zero; for continuous P that has probability ~1e-10 per minor) is redone with Python integers.
    """
    xp = ar.xp
    with np.errstate(all="ignore"):  # out-of-range matrices may overflow here; they are redone exactly below
        levels = _expand(Pt, k, r, ar)
        top = xp.amax(xp.abs(Pt), axis=0)
    perm = [math.factorial(s) * top**s for s in range(1, len(levels) + 1)]  # bounds perm(|P_RF|) per size
    exact = xp.all(xp.round(Pt) == Pt, axis=0) & (xp.maximum(perm[0], perm[-1]) <= _EXACT_INT)
    unsure = ~_range_ok(Pt, min(k, r), xp)
    for s in range(2, len(levels) + 1):
        small = xp.any(xp.abs(levels[s - 1]) <= (2.0 * _error_factor(s)) * perm[s - 1], axis=0)
        unsure = unsure | (small & ~exact)
    out = xp.concat([xp.ones_like(Pt[:1]), *levels])
    redo = np.flatnonzero(ar.numpy(unsure))
    if len(redo):
        P = ar.numpy(Pt).T[redo].reshape(-1, k, r)
        out[:, ar.index(redo)] = ar.array(np.stack([_exact_column(p) for p in P], axis=1))
    return out


def square_minors(P: np.ndarray) -> np.ndarray:
    """Every square minor of every size of each P in a stack (B, k, r), shape (B, M) (see ``square_minors_t``)."""
    P = np.asarray(P, dtype=np.float64)
    B, k, r = P.shape
    return square_minors_t(np.ascontiguousarray(P.reshape(B, k * r).T), k, r).T


@cache
def _laplace_tables(n: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the k x k minors of a k x n G, level s >= 2: column c_j, index of C minus c_j at level s-1, and the
    cofactor sign, per (C, j) (expansion along row s-1)."""
    cs = combos(n, s)
    prev = combo_index(n, s - 1)
    sub = np.array([[prev[tuple(int(x) for x in np.delete(c, j))] for j in range(s)] for c in cs],
                   dtype=np.intp)
    sign = np.array([(-1.0) ** (s - 1 + j) for j in range(s)])
    return cs, sub, sign


def exact_int_minors(Gi: list[list[int]]) -> list[int]:
    """All maximal minors of an integer k x n matrix with Python integers, in ``combos(n, k)`` order."""
    k, n = len(Gi), len(Gi[0])
    D = list(Gi[0])
    for s in range(2, k + 1):
        cols, sub, sign = _laplace_tables(n, s)
        row = Gi[s - 1]
        sg = [int(x) for x in sign]
        D = [sum(sg[j] * row[c[j]] * D[b[j]] for j in range(s))
             for c, b in zip(cols.tolist(), sub.tolist(), strict=True)]
    return D


def generator_minors(G: np.ndarray) -> np.ndarray:
    """The k x k minors of one k x n matrix in ``combos(n, k)`` order, exact and then scaled by one common
    factor (which leaves every ratio unchanged) and rounded once; exactly 0.0 where a minor vanishes."""
    exact = exact_int_minors(to_int_matrix(G)[0])
    top = max(abs(x) for x in exact)
    out = np.array([x / top if top else 0.0 for x in exact])
    if any((v == 0) != (x == 0) for v, x in zip(out.tolist(), exact, strict=True)):
        raise GroklabError("G has minors too far apart for float64 (a nonzero one rounds to 0)")
    return out


@cache
def systematic_index(n: int, k: int) -> np.ndarray:
    """For each k-subset I of the columns of [I_k | P] (``combos(n, k)`` order), the position in P's minor vector
    of the minor equal to det [I_k | P]_I up to sign: rows R = identity columns left out, columns F = P-columns."""
    r = n - k
    out = np.empty(comb(n, k), dtype=np.intp)
    for a, cols in enumerate(combos(n, k).tolist()):
        F = tuple(c - k for c in cols if c >= k)
        R = tuple(t for t in range(k) if t not in cols)
        out[a] = minor_index(k, r, R, F)
    return out
