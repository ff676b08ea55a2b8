"""Binary operation tables of Power et al. 2022 (papers.md §01): modular arithmetic and S5 permutations.

The model sees `[a, op, b, =]` (the re-implementations' layout) or `[a, b, =]` (Nanda 2023) and classifies the
answer c from the last position. Residues (or permutations) are tokens 0..n-1, then `op` = n and `=` = n+1.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import Split, TaskData, split_indices
from groklab.tasks.registry import register

Table = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def _div(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    return (x * np.array([pow(int(v), -1, p) if v else 0 for v in y.ravel()]).reshape(y.shape)) % p


def _div_or_sub(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    return np.where(y % 2 == 1, _div(x, y, p), (x - y) % p)


# Every operation of Power et al. 2022, Appendix A.1.1; all arithmetic mod p.
MODULAR_OPS: dict[str, Table] = {
    "x+y": lambda x, y, p: (x + y) % p,
    "x-y": lambda x, y, p: (x - y) % p,
    "x*y": lambda x, y, p: (x * y) % p,
    "x/y": _div,
    "x/y_or_x-y": _div_or_sub,  # x/y if y is odd, else x-y
    "x^2+y^2": lambda x, y, p: (x**2 + y**2) % p,
    "x^2+xy+y^2": lambda x, y, p: (x**2 + x * y + y**2) % p,
    "x^2+xy+y^2+x": lambda x, y, p: (x**2 + x * y + y**2 + x) % p,
    "x^3+xy": lambda x, y, p: (x**3 + x * y) % p,
    "x^3+xy^2+y": lambda x, y, p: (x**3 + x * y**2 + y) % p,
}
NEEDS_PRIME = {"x/y", "x/y_or_x-y"}  # b has an inverse mod p for every b != 0 only when p is prime
# op(a, b) == op(b, a): with `task.pairs=unordered` only a <= b is kept, so that no validation pair is the mirror
# of a training pair (Liu 2022's toy and Minegishi 2023's reference split the unordered pairs).
SYMMETRIC = {"x+y", "x*y", "x^2+y^2", "x^2+xy+y^2"}
# S5 operations, named as in openai/grok: x∘y, x∘y∘x⁻¹ (conjugation), x∘y∘x.
S5_OPS = ("s5", "s5conj", "s5aba")
OPERATIONS = (*MODULAR_OPS, *S5_OPS)
LAYOUTS = ("a_op_b_eq", "a_b_eq")
PAIRS = ("all", "unordered")


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def s5_elements() -> list[tuple[int, ...]]:
    """The 120 permutations of {0..4} in lexicographic order; token i is element i."""
    return list(itertools.permutations(range(5)))


def compose(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    """(x∘y)(i) = x(y(i)): apply y first."""
    return tuple(x[y[i]] for i in range(len(y)))


def inverse(x: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(x)
    for i, xi in enumerate(x):
        inv[xi] = i
    return tuple(inv)


def s5_table(op: str) -> np.ndarray:
    """answer[a, b] for all 120 × 120 pairs."""
    elems = s5_elements()
    index = {e: i for i, e in enumerate(elems)}
    fn = {
        "s5": lambda x, y: compose(x, y),
        "s5conj": lambda x, y: compose(compose(x, y), inverse(x)),
        "s5aba": lambda x, y: compose(compose(x, y), x),
    }[op]
    return np.array([[index[fn(x, y)] for y in elems] for x in elems], dtype=np.int64)


def operation_table(op: str, p: int | None, unordered: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """All valid (a, b) pairs (only a <= b when `unordered`) and their answers: (a, b, c, n_symbols)."""
    if op in S5_OPS:
        table, n = s5_table(op), 120
        a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        return a.ravel(), b.ravel(), table.ravel(), n
    assert p is not None
    a, b = np.meshgrid(np.arange(p, dtype=np.int64), np.arange(p, dtype=np.int64), indexing="ij")
    a, b = a.ravel(), b.ravel()
    if op == "x/y":  # division is defined for b != 0 only: p(p-1) pairs (papers.md §0)
        a, b = a[b != 0], b[b != 0]
    if unordered:
        a, b = a[a <= b], b[a <= b]
    return a, b, MODULAR_OPS[op](a, b, p), p


def op_label(op: str) -> str:
    """An operation as a part of a folder name: x/y -> xdivy, x*y -> xmuly, x^2+y^2 -> xpow2_ypow2."""
    op = op.replace("/", "div").replace("*", "mul").replace("^", "pow")
    return "".join(c if c.isalnum() else "_" for c in op).strip("_")


@dataclass(frozen=True)
class ModularConfig(Split, TaskConfig):
    """`task.name=modular`: one operation table of Power et al. 2022 (Appendix A.1.1), S5 included."""

    name: str = "modular"
    op: str = "x/y"  # one of OPERATIONS; x/y mod 97 is Power et al.'s headline task (their Figure 1)
    p: int | None = 97  # modulus; None (null) for the S5 operations
    layout: str = "a_op_b_eq"  # token layout: a_op_b_eq ([a, op, b, =], Power re-impls) or a_b_eq (Nanda 2023)
    pairs: str = "all"  # all ordered pairs, or unordered (a <= b; symmetric operations only: no validation pair is
    # the mirror of a training pair, as in Liu 2022's toy and Minegishi 2023)

    def check(self) -> None:
        if self.op not in OPERATIONS:
            raise ConfigError(f"task.op={self.op!r} is unknown; expected one of {', '.join(OPERATIONS)}")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"task.layout={self.layout!r}: expected one of {', '.join(LAYOUTS)}")
        if self.pairs not in PAIRS:
            raise ConfigError(f"task.pairs={self.pairs!r}: expected {' or '.join(PAIRS)}")
        if self.pairs == "unordered" and self.op not in SYMMETRIC:
            raise ConfigError(f"task.pairs=unordered needs a symmetric operation ({', '.join(sorted(SYMMETRIC))}); "
                              f"task.op={self.op} is not")
        if self.op in S5_OPS:
            if self.p is not None:
                raise ConfigError(f"task.op={self.op} is an S5 permutation task: set task.p=null (got p={self.p})")
            return
        if self.p is None or self.p < 2:
            raise ConfigError(f"task.p must be an integer >= 2 for task.op={self.op} (got {self.p})")
        # all p^2 pairs as int64 tokens (4 per pair) and answers, with numpy's temporaries: about 100 bytes a pair
        check_size(f"task.p={self.p} ({self.p**2:,} pairs)", 100 * self.p**2, "choose a smaller task.p")
        if self.op in NEEDS_PRIME and not is_prime(self.p):
            raise ConfigError(f"task.p={self.p} is not prime, but task.op={self.op} needs inverses mod p")

    def label(self) -> str:
        return op_label(self.op)

    def describe(self) -> str:
        return f"{self.op} mod {self.p}" if self.p else self.op


@register("modular", settings=ModularConfig)
def build_modular(cfg: ModularConfig) -> TaskData:
    cfg.check()
    a, b, c, n = operation_table(cfg.op, cfg.p, unordered=cfg.pairs == "unordered")
    op_tok, eq_tok = n, n + 1
    if cfg.layout == "a_op_b_eq":
        x = np.stack([a, np.full_like(a, op_tok), b, np.full_like(a, eq_tok)], axis=1)
        vocab = n + 2
    else:
        x = np.stack([a, b, np.full_like(a, op_tok)], axis=1)  # `=` is token n when there is no op token
        vocab = n + 1
    train, val = split_indices(len(c), cfg.train_frac, cfg.split_seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(np.asarray(c, dtype=np.int64))
    return TaskData(
        x_train=xs[train], y_train=ys[train], x_val=xs[val], y_val=ys[val],
        kind="classification", n_classes=n, vocab_size=vocab,
        meta={"op": cfg.op, "p": cfg.p, "n_symbols": n, "layout": cfg.layout, "n_pairs": len(c),
              "pairs": cfg.pairs},
    )
