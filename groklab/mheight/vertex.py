"""Exact m-heights, batched over many codes of one (n, k): Roth's LPs (mheight.md §2.1) solved at the vertices of
their duals, from the minors of the generator matrix alone.

Why it is exact. For an m-subset S and i in S, Roth's LP  max u.g_i  s.t. |u.g_j| <= 1 (j not in S)  has the dual
min ||y||_1  s.t.  G_{S^c} y = g_i  (§2.1, "the same source has a dual form"), with the same value (strong
duality). An LP with an optimum has a basic optimal solution: y supported on a basis I of G_{S^c} (split
y = y+ - y-; columns g_j and -g_j are never both basic), where y_I = G_I^-1 g_i, and every basis gives a feasible
y. By Cramer's rule ||G_I^-1 g_i||_1 = sum_{t in I} |det G_{I-t+i}| / |det G_I| =: U(I, i). Hence

    h_m(C) = max over i and T (|T| = m-1, i not in T) of  min over k-subsets I of [n] - T - {i} with det G_I != 0
             of U(I, i),

where S = T + {i}. An empty min (n-m columns without a basis) is +inf, which is exactly the h = inf test of §1
(a nonzero codeword of weight <= m); it is decided on the exact zero pattern of the minors (minors.py). For
m = n-k the inner set is a single basis and this is the closed form of §2.3. The optimum of the primal at the same
basis is the vertex codeword s G_I^-1 G of §2.3, so the values agree with the vertex enumeration to rounding (the
tests compare with it and with the LPs). Integer P: exact until the one final division (§7.6).

Cost per code: C(n,k)(n-k) sums of k minors, then n C(n-1, m-1) C(n-m, k) min/max steps, all as array
operations over a block of codes in a (minors, codes) layout, in numpy, or in torch on a GPU (``device``).
"""

from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np

from groklab.errors import GroklabError
from groklab.mheight.arrays import CPU, Arrays, Buffers
from groklab.mheight.minors import (
    combo_index,
    combos,
    exact_int_minors,
    generator_minors,
    square_minors_t,
    systematic_index,
    to_int_matrix,
)

_BUDGET = 1 << 18  # float64 values per work array on the CPU (2 MB; the fastest of 2**14..2**19 on the dev CPU)
_GPU_BUDGET = 1 << 26


@cache
def dual_tables(n: int, k: int, m: int, systematic: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(num, den, pick). Row a*(n-k) + p of U is U(I_a, i) for the p-th column i outside basis I_a:
    num[t, row] = the minor det G_{I_a - I_a[t] + i}, den[a] = det G_{I_a} (positions in the minor vector: P's
    square minors when ``systematic``, else combos(n, k) order); pick[c, q] = the row of U(I, i) for the c-th
    basis I inside [n] - T - {i}, q = (i, T) in lexicographic order. Built with column subsets as bitmasks."""
    bases = combos(n, k)
    r, bit = n - k, 1 << np.arange(n)
    mask = bit[bases].sum(axis=1)  # (C,)
    index = np.full(1 << n, -1, dtype=np.intp)
    index[mask] = np.arange(len(bases))
    slot = systematic_index(n, k) if systematic else np.arange(len(bases))
    outside = np.array([[c for c in range(n) if not (a >> c) & 1] for a in mask.tolist()], dtype=np.intp)  # (C, r)
    swapped = mask[:, None, None] - bit[bases][:, :, None] + bit[outside][:, None, :]  # (C, k, r): t out, i in
    num = slot[index[swapped]].transpose(1, 0, 2).reshape(k, -1)
    pick = []
    for i in range(n):
        T = bit[combos(n - 1, m - 1)]  # the (m-1)-subsets of the other columns: skip column i
        T = np.where(bit[i] <= T, T << 1, T).sum(axis=1)
        inside = ((1 << n) - 1) & ~(T | bit[i])  # (Q_i,) the n-m columns a basis may use
        a = np.nonzero((mask[None, :] & ~inside[:, None]) == 0)[1].reshape(len(T), -1)  # bases inside, ascending
        pick.append(a * r + np.argmax(outside[a] == i, axis=-1))  # row of U(I_a, i)
    return num, slot, np.concatenate(pick).T.copy()


def _max_min(M, n: int, k: int, m: int, systematic: bool, ar: Arrays, buf: Buffers):
    """h per column of M = |minors| (rows, B): +inf where infinite, NaN never (an empty min reads as inf)."""
    num, den, pick = (ar.table(a) for a in dual_tables(n, k, m, systematic))
    xp, B, r = ar.xp, M.shape[1], n - k
    S, tmp = buf("S", (num.shape[1], B)), buf("tmp", (num.shape[1], B))
    ar.rows(M, num[0], out=S)
    for t in range(1, k):
        S += ar.rows(M, num[t], out=tmp)
    U = xp.reshape(S, (-1, r, B))
    with np.errstate(divide="ignore", invalid="ignore"):  # D_I = 0 gives inf, or NaN where S = 0 too
        xp.divide(U, ar.rows(M, den, out=buf("D", (len(den), B)))[:, None, :], out=U)
    low, tmp = buf("low", (pick.shape[1], B)), buf("tmp2", (pick.shape[1], B))
    ar.rows(S, pick[0], out=low)
    for c in range(1, len(pick)):
        xp.fmin(low, ar.rows(S, pick[c], out=tmp), out=low)  # fmin skips NaN (0/0): a zero D_I is no basis
    h = xp.amax(low, axis=0)
    return xp.where(xp.isnan(h), xp.inf, h)


@cache
def _contain(n: int, k: int, m: int) -> np.ndarray:
    """contain[a, J] = 1 if basis a lies inside the (n-m)-subset J of columns."""
    bits = 1 << np.arange(n)
    mask_i = bits[combos(n, k)].sum(axis=1)
    mask_j = bits[combos(n, n - m)].sum(axis=1)
    return ((mask_i[:, None] & ~mask_j[None, :]) == 0).astype(np.float32)


def infinite_mask(nonzero: np.ndarray, n: int, k: int, m: int) -> np.ndarray:
    """Exact h = inf test from the zero pattern of the maximal minors (B, C(n, k)) (mheight.md §1)."""
    if n - m < k:
        return np.ones(len(nonzero), dtype=bool)
    counts = nonzero.astype(np.float32) @ _contain(n, k, m)
    return np.any(counts == 0, axis=1)


def _check_overflow(h: np.ndarray, nonzero: np.ndarray, n: int, k: int, m: int) -> None:
    """An inf that the zero pattern does not explain is a ratio of minors beyond float64: refuse it."""
    inf = np.flatnonzero(np.isinf(h))
    if len(inf) and not infinite_mask(nonzero[inf], n, k, m).all():
        raise GroklabError("a finite m-height exceeds the float64 range (1.8e308): P is too close to singular")


def vertex_heights(P: np.ndarray, m: int, device: str | None = None) -> np.ndarray:
    """Exact m-heights (inf where infinite) of the codes [I_k | P_b] for a stack P (B, k, n-k) of float64.

    ``device`` None runs numpy on the CPU; a torch device name ("cuda", "cuda:1", "cpu") runs the same array code
    in torch there (float64; the rare rows whose minors need exact integers are redone on the CPU)."""
    B, k, r = P.shape
    n = k + r
    if n - m < k:  # every n-m columns lack a basis: a codeword of weight <= m always exists (§0)
        return np.full(B, np.inf)
    ar = CPU if device is None else Arrays(device)
    buf = Buffers(ar)
    widest = max(len(combos(n, k)) * r, dual_tables(n, k, m, True)[2].shape[1], len(combos(n, k)))
    block = max(16, (_BUDGET if device is None else _GPU_BUDGET) // widest)
    flat = np.ascontiguousarray(P.reshape(B, k * r).T)
    out = np.empty(B)
    for start in range(0, B, block):
        Pt = ar.array(np.ascontiguousarray(flat[:, start:start + block]))
        M = ar.xp.abs(square_minors_t(Pt, k, r, ar))
        h = ar.numpy(_max_min(M, n, k, m, True, ar, buf))
        if np.isinf(h).any():
            den = ar.numpy(ar.rows(M, ar.table(systematic_index(n, k))))
            _check_overflow(h, den.T != 0, n, k, m)
        out[start:start + len(h)] = h
    return out


def generator_height(G: np.ndarray, m: int) -> float:
    """Exact m-height of the code spanned by the rows of one k x n matrix G (any full-rank G, not only [I | P]);
    its minors are computed with exact integers, so this is for single codes."""
    k, n = G.shape
    D = generator_minors(G)
    if not D.any():
        raise GroklabError(f"G must have full row rank {k}")
    if n - m < k:
        return float("inf")
    h = _max_min(np.abs(D)[:, None], n, k, m, False, CPU, Buffers(CPU))
    _check_overflow(h, (D != 0)[None], n, k, m)
    return float(h[0])


@cache
def _vertex_tables(n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """idx[t, j, a]: the minor of basis a with column t replaced by its j-th outside column; sgn: its sign
    (moving that column to sorted position); signs: the sign vectors with s_0 = +1 (-s gives the same |c|)."""
    bases = combos(n, k)
    where = combo_index(n, k)
    idx = np.empty((k, n - k, len(bases)), dtype=np.intp)
    sgn = np.empty((k, n - k, len(bases)))
    for a, basis in enumerate(bases.tolist()):
        outside = [c for c in range(n) if c not in basis]
        for t in range(k):
            for j, col in enumerate(outside):
                new = sorted(basis[:t] + basis[t + 1:] + [col])
                idx[t, j, a] = where[tuple(new)]
                sgn[t, j, a] = (-1.0) ** abs(new.index(col) - t)
    signs = np.array([(1, *s) for s in product((1, -1), repeat=k - 1)], dtype=np.float64)
    return idx, sgn, signs


def exact_vertex_height(G: np.ndarray, m: int) -> float:
    """The primal vertex enumeration of mheight.md §2.3 in exact rational arithmetic, one code: every basis I and
    sign vector s, h_m of the codeword s G_I^-1 G. Slow (C(n,k) 2^(k-1) codewords in Python integers); it is
    the ``exact`` method and the independent reference the tests hold the batched method to.

    Returns the exact height rounded once to float, or inf.
    """
    G = np.asarray(G, dtype=np.float64)
    k, n = G.shape
    D = exact_int_minors(to_int_matrix(G)[0])
    nonzero = np.array([[d != 0 for d in D]])
    if not nonzero.any():
        raise GroklabError(f"the generator matrix has rank < k = {k}")
    if infinite_mask(nonzero, n, k, m)[0]:
        return float("inf")
    idx, sgn, signs = _vertex_tables(n, k)
    best_num, best_den = 0, 1
    for a in range(len(D)):
        if D[a] == 0:
            continue
        numer = [[int(sgn[t, j, a]) * D[idx[t, j, a]] for j in range(n - k)] for t in range(k)]
        for s in signs.astype(int).tolist():
            x = [abs(sum(s[t] * numer[t][j] for t in range(k))) for j in range(n - k)]
            vals = sorted(x + [abs(D[a])] * k, reverse=True)
            if vals[m] == 0:  # a weight <= m codeword, which the exact rank test already ruled out
                raise RuntimeError("inconsistent exact vertex computation")
            if vals[0] * best_den > best_num * vals[m]:
                best_num, best_den = vals[0], vals[m]
    return best_num / best_den
