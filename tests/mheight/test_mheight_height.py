"""Heights of codewords and codes: definition, hand-checkable vectors (mheight.md §3, §7), properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.mheight import (
    COURSE_GROUPS,
    codeword_height,
    exact_vertex_height,
    generator_matrix,
    height,
    height_of_generator,
    heights,
    sampled_lower_bound,
)
from groklab.mheight.minors import combos, minor_index, square_minors, systematic_index

COURSE_P = [[0.4759809, 0.9938236, 0.819425], [-0.8960798, -0.7442706, 0.3345122]]
EXACT_COURSE_H = 1.9242385746669923  # exact for the 7-digit P; the evaluator prints 1.9242387 (6.5e-8 rel.)

VECTORS = [  # (G, m, h) from mheight.md §3
    ([[1, 0, 1], [0, 1, 1]], 1, 2.0),
    ([[1, 0, 1], [0, 1, 1]], 2, math.inf),
    ([[1, -2, 4]], 1, 2.0),
    ([[1, -2, 4]], 2, 4.0),
    ([[0, 1, 2, 4]], 3, math.inf),
    ([[0, 0, 1, 2]], 1, 2.0),
    ([[0, 0, 1, 2]], 2, math.inf),
    ([[1, 0, 1, 3, 3, -2], [0, 1, -2, 1, 3, -2]], 2, 3.0),
]


@pytest.mark.parametrize("method", ["vertex", "lp", "exact"])
def test_course_evaluator_example(method: str) -> None:
    h = height(COURSE_P, 2, method=method, n=5, k=2)
    assert h == pytest.approx(1.9242387, rel=1e-7)
    assert h == pytest.approx(EXACT_COURSE_H, rel=1e-12)


@pytest.mark.parametrize("method", ["vertex", "lp", "exact"])
@pytest.mark.parametrize(("G", "m", "h"), VECTORS)
def test_hand_checkable_vectors(G: list, m: int, h: float, method: str) -> None:
    got = height_of_generator(G, m, method=method)
    assert got == h if math.isinf(h) else got == pytest.approx(h, rel=1e-12)


def test_exact_oracle_on_vectors() -> None:
    for G, m, h in VECTORS:
        assert exact_vertex_height(np.array(G, float), m) == h


@pytest.mark.parametrize("g", [[3.0, -1.0, 0.5, 2.0, 0.0], [1.0, 1.0, 2.0, 7.0], [5.0, -4.0, 3.0, 2.0, 1.0]])
def test_k1_is_a_ratio_of_order_statistics(g: list[float]) -> None:
    mags = sorted(np.abs(g), reverse=True)
    for m in range(1, len(g)):
        want = math.inf if mags[m] == 0 else mags[0] / mags[m]
        assert height_of_generator([g], m) == pytest.approx(want)


def test_codeword_height_definition() -> None:
    c = np.array([3.0, -6.0, 1.0, 0.0, 2.0])
    assert codeword_height(c, 0) == 1.0
    assert codeword_height(c, 1) == 2.0  # 6 / 3: the (m+1)-th largest, not the m-th (pitfall §7.1)
    assert codeword_height(c, 3) == 6.0
    assert codeword_height(c, 4) == math.inf
    batch = codeword_height(np.stack([c, -2 * c]), 1)
    assert batch.tolist() == [2.0, 2.0]
    with pytest.raises(GroklabError):
        codeword_height(np.zeros(4), 1)


def test_infinite_iff_low_weight_codeword() -> None:
    P = np.array([[3.0, 0.0, 5.0], [1.0, 2.0, -4.0]])  # row 0 of [I|P] has weight 3 = n-k
    assert height(P, 3) == math.inf
    assert math.isfinite(height(P, 2))
    assert height(P, 3, method="lp") == math.inf
    P2 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0]])  # singular 2x2 minor: a weight-3 codeword
    assert height(P2, 3) == height(P2, 3, method="lp") == math.inf


def test_exactly_singular_minor_with_fractional_entries() -> None:
    P = np.array([[0.5, 1.5, 0.25], [1.0, 3.0, -0.75]])  # 0.5*3 - 1.5*1 = 0: needs the exact path
    assert height(P, 3) == math.inf
    P[1, 1] = 3.0 + 2.0**-50  # tiny but nonzero: finite, huge, and equal to the rational oracle
    h = height(P, 3)
    assert math.isfinite(h) and h > 1e13
    assert h == pytest.approx(exact_vertex_height(generator_matrix(P), 3), rel=1e-9)


def test_square_minors_match_numpy_det() -> None:
    rng = np.random.default_rng(1)
    P = rng.uniform(-3, 3, size=(4, 3, 4))
    P[0, 1] = 2 * P[0, 0]  # a singular 2 x 2 and 3 x 3 minors with non-integer entries: exact zeros
    got = square_minors(P)
    for s in range(1, 4):
        for R in itertools.combinations(range(3), s):
            for F in itertools.combinations(range(4), s):
                want = np.linalg.det(P[:, list(R)][:, :, list(F)])
                col = got[:, minor_index(3, 4, R, F)]
                assert np.allclose(col, want, atol=1e-9)
                assert np.array_equal(col == 0, np.abs(want) < 1e-12)
    assert np.all(got[:, 0] == 1) and np.any(got[0] == 0)


def test_systematic_minors_are_the_maximal_minors_of_G() -> None:
    P = np.random.default_rng(2).uniform(-5, 5, size=(3, 3, 4))
    G = generator_matrix(P)
    want = np.array([[np.linalg.det(g[:, list(c)]) for c in combos(7, 3)] for g in G])
    assert np.allclose(np.abs(square_minors(P)[:, systematic_index(7, 3)]), np.abs(want), rtol=1e-12)


def _course_cases() -> list:
    return [pytest.param(n, k, m, id=f"{n}-{k}-{m}") for n, k, m in COURSE_GROUPS]


@pytest.mark.parametrize(("n", "k", "m"), _course_cases())
def test_batched_equals_exact_per_code_method_on_course_groups(n: int, k: int, m: int) -> None:
    """The batched dual-vertex heights against the primal vertex enumeration in rational arithmetic, one code at
    a time: continuous P (to 1e-9), and integer P with zeros and singular minors (bit for bit, inf included)."""
    rng = np.random.default_rng(100 * n + 10 * k + m)
    P_real = rng.uniform(-100, 100, size=(2, k, n - k))
    P_int = rng.integers(-100, 100, size=(3, k, n - k), endpoint=True).astype(float)
    P_int[0, 0, 0] = 0.0  # row 0 of [I|P] has weight <= n-k: inf for m = n-k
    P_int[1, :2, :2] = [[3.0, 6.0], [-5.0, -10.0]]  # a singular 2 x 2 minor
    for P in (P_real, P_int):
        got = heights(P, m)
        want = np.array([exact_vertex_height(g, m) for g in generator_matrix(P)])
        assert np.array_equal(np.isinf(got), np.isinf(want))
        fin = np.isfinite(want)
        assert np.allclose(got[fin], want[fin], rtol=1e-9, atol=0)
        if P is P_int:
            assert np.array_equal(got, want)  # integer data is exact up to the one final division (§7.6)
            assert np.isinf(got[0]) == (m == n - k)


@pytest.mark.parametrize(("n", "k"), [(6, 2), (6, 3), (7, 3), (7, 4)])
def test_batched_equals_exact_on_small_codes_every_m(n: int, k: int) -> None:
    rng = np.random.default_rng(n * 10 + k)
    P_int = rng.integers(-3, 4, size=(5, k, n - k)).astype(float)  # zeros and ties: every code path
    P_real = rng.uniform(-100, 100, size=(5, k, n - k))
    for P in (P_int, P_real):
        G = generator_matrix(P)
        for m in range(1, n):
            got = heights(P, m)
            want = np.array([exact_vertex_height(g, m) for g in G])
            assert np.array_equal(np.isinf(got), np.isinf(want))
            fin = np.isfinite(want)
            assert np.allclose(got[fin], want[fin], rtol=1e-9, atol=0)


@pytest.mark.parametrize(("n", "k", "m"), [(9, 4, 5), (10, 5, 3), (10, 6, 2), (5, 2, 2)])
def test_torch_path_equals_numpy_path(n: int, k: int, m: int) -> None:
    """The same array code on torch (the GPU path, run here on the CPU) gives the same bits as numpy."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(n + k + m)
    P = np.concatenate([rng.uniform(-100, 100, size=(40, k, n - k)),
                        rng.integers(-3, 4, size=(40, k, n - k)).astype(float)])
    P[-1, :2, :2] = [[0.5, 1.5], [1.0, 3.0]]  # fractional and singular: the exact-integer redo path
    assert np.array_equal(heights(P, m, device="cpu"), heights(P, m))


def test_method_exact_and_generator_path() -> None:
    assert height(COURSE_P, 2, method="exact") == pytest.approx(EXACT_COURSE_H, rel=1e-15)
    G = [[2.0, 0.0, 1.0, 3.0, -1.0], [1.0, 1.0, 0.0, 2.0, 2.0]]  # not of the form [I | P]
    for m in (1, 2, 3):
        want = exact_vertex_height(np.array(G), m)
        assert height_of_generator(G, m) == pytest.approx(want, rel=1e-12)
        assert height_of_generator(G, m, method="exact") == want


def test_height_properties_and_sampled_bound() -> None:
    rng = np.random.default_rng(7)
    for n, k in [(6, 3), (9, 4), (10, 5)]:
        P = rng.uniform(-100, 100, size=(k, n - k))
        hs = [height(P, m) for m in range(1, n)]
        assert hs[0] >= 1 and all(a <= b for a, b in itertools.pairwise(hs))
        assert all(math.isinf(h) for h in hs[n - k:])  # m > n-k: always infinite (Singleton)
        for m in range(1, n - k + 1):
            lb = sampled_lower_bound(P, m, n_samples=2000, rng=m)
            assert 1 <= lb <= hs[m - 1] * (1 + 1e-12)


@pytest.mark.parametrize(("n", "k", "m"), [(9, 4, 3), (9, 5, 4), (10, 6, 2), (10, 4, 6)])
def test_symmetries_of_P(n: int, k: int, m: int) -> None:
    rng = np.random.default_rng(n + k + m)
    P = rng.uniform(-100, 100, size=(4, k, n - k))
    base = heights(P, m)
    rows, cols = rng.permutation(k), rng.permutation(n - k)
    flips_r = rng.choice([-1.0, 1.0], size=(k, 1))
    flips_c = rng.choice([-1.0, 1.0], size=(1, n - k))
    both = (P * flips_r * flips_c)[:, rows][:, :, cols]
    for Q in (P[:, rows], P[:, :, cols], P * flips_r, P * flips_c, both):
        assert np.allclose(heights(Q, m), base, rtol=1e-10)


@pytest.mark.parametrize(("P", "m", "kw"), [
    ([[1.0, 2.0], [3.0, 4.0]], 2, {"n": 5}),  # wrong shape for n
    ([[1.0, 2.0], [3.0, 4.0]], 2, {"k": 3}),
    ([[1.0, float("nan")]], 1, {}),
    ([[1.0, float("inf")]], 1, {}),
    ([[1.0, 2.0]], 0, {}),  # m outside 1..n-1
    ([[1.0, 2.0]], 3, {}),
    ([1.0, 2.0], 1, {}),  # not a matrix
    ([["a", "b"]], 1, {}),
])
def test_bad_inputs_raise_one_line(P: object, m: int, kw: dict) -> None:
    with pytest.raises(GroklabError) as info:
        height(P, m, **kw)
    assert "\n" not in str(info.value)


def test_bad_generator_and_method() -> None:
    with pytest.raises(GroklabError):
        height_of_generator([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]], 1)  # rank 1
    with pytest.raises(GroklabError):
        height_of_generator([[1.0, 2.0], [0.0, 1.0]], 1)  # k = n
    with pytest.raises(GroklabError):
        height(COURSE_P, 2, method="simplex")  # type: ignore[arg-type]
