"""Heights of codewords and the public entry points for the m-height of a code.

Definitions follow mheight.md §1: with magnitudes sorted |c_(0)| >= |c_(1)| >= ..., the m-height of a
codeword is |c_(0)| / |c_(m)| (the (m+1)-th largest, 0-indexed position m; pitfall §7.1), +inf when
c != 0 but c_(m) = 0. The m-height of a code is the max over its nonzero codewords; +inf is a value
(``math.inf``), never an error (pitfall §7.2).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from groklab.errors import GroklabError
from groklab.mheight.lp import lp_height
from groklab.mheight.minors import generator_minors
from groklab.mheight.vertex import exact_vertex_height, generator_height, vertex_heights

Method = Literal["vertex", "lp", "exact"]
METHODS: tuple[str, ...] = ("vertex", "lp", "exact")


def check_nkm(n: int, k: int, m: int) -> None:
    """Reject (n, k, m) outside the definition: 1 <= k < n and 1 <= m <= n-1 (mheight.md §1)."""
    for name, value in (("n", n), ("k", k), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise GroklabError(f"{name} must be an integer, got {value!r}")
    if k < 1 or k >= n:
        raise GroklabError(f"need 1 <= k < n, got n={n}, k={k}")
    if not 1 <= m <= n - 1:
        raise GroklabError(f"m must be in 1..n-1 = 1..{n - 1} for n={n}, got m={m}")


def _as_float_array(x: object, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GroklabError(f"{what} must be an array of real numbers ({exc})") from None
    if not np.all(np.isfinite(arr)):
        raise GroklabError(f"{what} has NaN or infinite entries")
    return arr


def as_P_batch(P: object, n: int | None = None, k: int | None = None) -> np.ndarray:
    """Validate a stack of parity parts P with shape (B, k, n-k) and return it as float64."""
    arr = _as_float_array(P, "P")
    if arr.ndim != 3 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise GroklabError(f"P batch must have shape (B, k, n-k) with k, n-k >= 1, got {arr.shape}")
    if k is not None or n is not None:
        kk = arr.shape[1] if k is None else k
        want = (kk, arr.shape[2] if n is None else n - kk)
        if arr.shape[1:] != want:
            raise GroklabError(f"P must have shape k x (n-k) = {want[0]} x {want[1]}, got "
                               f"{arr.shape[1]} x {arr.shape[2]}")
    return arr


def as_P(P: object, n: int | None = None, k: int | None = None) -> np.ndarray:
    """Validate one parity part P of shape (k, n-k): finite reals; n, k checked when given."""
    arr = _as_float_array(P, "P")
    if arr.ndim != 2:
        raise GroklabError(f"P must be a 2-D k x (n-k) matrix, got shape {arr.shape}")
    return as_P_batch(arr[None], n, k)[0]


def generator_matrix(P: np.ndarray) -> np.ndarray:
    """G = [I_k | P] for one P (k, r) or a stack (B, k, r)."""
    P = np.asarray(P, dtype=np.float64)
    k = P.shape[-2]
    eye = np.broadcast_to(np.eye(k), (*P.shape[:-2], k, k))
    return np.concatenate([eye, P], axis=-1)


def codeword_height(c: object, m: int) -> float | np.ndarray:
    """h_m(c) = |c_(0)| / |c_(m)| over the last axis; inf when c_(m) = 0 (mheight.md §1).

    Works on one codeword (returns a float) or a stack (returns an array). The zero codeword has no
    height, so it is rejected.
    """
    arr = _as_float_array(c, "codeword")
    if arr.ndim == 0 or arr.shape[-1] < 2:
        raise GroklabError("a codeword needs at least 2 coordinates")
    n = arr.shape[-1]
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 <= m <= n - 1:
        raise GroklabError(f"m must be an integer in 0..{n - 1}, got {m!r}")
    mags = -np.sort(-np.abs(arr), axis=-1)
    top, den = mags[..., 0], mags[..., m]
    if np.any(top == 0):
        raise GroklabError("the zero codeword has no height")
    with np.errstate(divide="ignore"):
        h = np.where(den > 0, top / np.where(den > 0, den, 1.0), np.inf)
    return float(h) if h.ndim == 0 else h


def heights(P: object, m: int, *, method: Method = "vertex", device: str | None = None) -> np.ndarray:
    """Exact m-heights of the codes [I | P_b] for a stack P of shape (B, k, n-k); inf where infinite.

    ``method="vertex"`` (default) is the batched dual-vertex enumeration (vertex.py; mheight.md §2.1, §2.3), on
    ``device`` (None: numpy on the CPU; a torch device name: torch there). ``method="lp"`` solves Roth's LPs on
    HiGHS (§2.1) and ``method="exact"`` enumerates the primal vertices in rational arithmetic (§2.3), one code
    at a time: two independent cross-checks, thousands of times slower.
    """
    arr = as_P_batch(P)
    k, r = arr.shape[1], arr.shape[2]
    check_nkm(k + r, k, m)
    if method == "vertex":
        return vertex_heights(arr, m, device)
    return np.array([_one(g, m, method) for g in generator_matrix(arr)], dtype=np.float64)


def _one(G: np.ndarray, m: int, method: str) -> float:
    """One code's height by the per-code methods."""
    if method == "lp":
        return lp_height(G, m)
    if method == "exact":
        return exact_vertex_height(G, m)
    if method == "vertex":
        return generator_height(G, m)
    raise GroklabError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def height(P: object, m: int, *, method: Method = "vertex", n: int | None = None,
           k: int | None = None) -> float:
    """Exact m-height of the code generated by [I_k | P] (P of shape k x (n-k)); math.inf if infinite."""
    arr = as_P(P, n, k)
    return float(heights(arr[None], m, method=method)[0])


def height_of_generator(G: object, m: int, *, method: Method = "vertex") -> float:
    """Exact m-height of the code spanned by the rows of any full-rank k x n matrix G (mheight.md §3)."""
    arr = _as_float_array(G, "G")
    if arr.ndim != 2:
        raise GroklabError(f"G must be a 2-D k x n matrix, got shape {arr.shape}")
    check_nkm(arr.shape[1], arr.shape[0], m)
    if not generator_minors(arr).any():  # exact: some k x k minor is nonzero
        raise GroklabError(f"G must have full row rank {arr.shape[0]}")
    return _one(arr, m, method)


def sampled_lower_bound(P: object, m: int, *, n_samples: int = 1000,
                        rng: np.random.Generator | int | None = None) -> float:
    """max of h_m(uG) over Gaussian u: a lower bound on the exact height, loose (mheight.md §2.4, §6)."""
    arr = as_P(P)
    k, r = arr.shape
    check_nkm(k + r, k, m)
    if n_samples < 1:
        raise GroklabError(f"n_samples must be >= 1, got {n_samples}")
    gen = np.random.default_rng(rng)
    u = gen.standard_normal((n_samples, k))
    codewords = u @ generator_matrix(arr)
    codewords = codewords[np.any(codewords != 0, axis=1)]
    if len(codewords) == 0:
        return 1.0
    return float(np.max(codeword_height(codewords, m)))


__all__ = [
    "METHODS", "Method", "as_P", "as_P_batch", "check_nkm", "codeword_height",
    "generator_matrix", "height", "height_of_generator", "heights", "sampled_lower_bound",
]
