"""Multi-term modular addition c_1 n_1 + ... + c_S n_S mod p and modular multiplication n_1 ··· n_S mod p
(Gromov 2023, arXiv 2301.02679; Doshi, He, Das, Gromov 2024, "Grokking Modular Polynomials", arXiv 2406.03495;
papers.md §08). Also the plain (a + b) mod p of Prieto et al. 2025 read as concatenated one-hots (Extra B).

Inputs are the S operand tokens only (no op or `=` token), so a model sees exactly the concatenated one-hots.
Every tuple of Z_p^S is an example (p^S of them). Multiplication n_1^c_1 ··· n_S^c_S runs over the group Z_p^*
(operands 1..p-1, p prime), where it is addition of discrete logarithms, the structure Doshi et al.'s solution
uses.
`train_frac` is a fraction of all tuples; the split has its own seed (`split_seed`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from groklab.config import TaskConfig
from groklab.errors import ConfigError
from groklab.tasks.base import Split, TaskData, split_indices
from groklab.tasks.modular import is_prime, op_label
from groklab.tasks.registry import register

OPS = ("sum", "product")
MAX_EXAMPLES = 2_000_000


@dataclass(frozen=True)
class MultitermConfig(Split, TaskConfig):
    """`task.name=multiterm`: c_1 n_1 + ... + c_S n_S mod p, or n_1^c_1 ··· n_S^c_S mod p (Doshi et al. 2024)."""

    name: str = "multiterm"
    op: str = "x/y"  # sum | product; the default is modular's x/y, from which run names hash the difference
    p: int | None = 97  # modulus (prime for product: the group Z_p^*)
    terms: int = 2  # number of operands S (Doshi et al. 2024; Gromov 2023 and Prieto 2025: 2)
    coeffs: str = ""  # comma-separated c_1..c_S (sum: coefficients; product: exponents); "" = all 1

    def check(self) -> None:
        if self.op not in OPS:
            raise ConfigError(f"task.op={self.op!r}: task.name=multiterm expects one of {', '.join(OPS)}")
        if self.terms < 2:
            raise ConfigError(f"task.terms must be >= 2 (got {self.terms})")
        if self.p is None or self.p < 2:
            raise ConfigError(f"task.p must be an integer >= 2 for task.name=multiterm (got {self.p})")
        if self.op == "product" and not is_prime(self.p):
            raise ConfigError(f"task.p={self.p} is not prime, but task.op=product runs over the group Z_p^*")
        values = self.p - 1 if self.op == "product" else self.p
        if self.terms * math.log(max(values, 1)) > math.log(MAX_EXAMPLES):  # p**terms, without computing it
            raise ConfigError(f"task.p={self.p}, task.terms={self.terms} gives {values}^{self.terms} examples "
                              f"(more than {MAX_EXAMPLES:,})")
        coeffs = coefficients(self)
        if self.op == "product" and min(coeffs) < 1:
            raise ConfigError(f"task.coeffs={self.coeffs!r}: task.op=product needs exponents >= 1")

    def label(self) -> str:
        return op_label(self.op)


def coefficients(cfg: MultitermConfig) -> list[int]:
    """`task.coeffs` as integers ("" means all ones), one per term."""
    if not cfg.coeffs.strip():
        return [1] * cfg.terms
    try:
        coeffs = [int(c) for c in cfg.coeffs.split(",")]
    except ValueError:
        raise ConfigError(f"task.coeffs={cfg.coeffs!r}: expected comma-separated integers") from None
    if len(coeffs) != cfg.terms:
        raise ConfigError(f"task.coeffs has {len(coeffs)} values but task.terms={cfg.terms}")
    return coeffs


@register("multiterm", settings=MultitermConfig)
def build_multiterm(cfg: MultitermConfig) -> TaskData:
    cfg.check()
    p = cfg.p
    values = range(1, p) if cfg.op == "product" else range(p)
    coeffs = coefficients(cfg)
    x = torch.tensor(list(itertools.product(values, repeat=cfg.terms)), dtype=torch.int64)
    if cfg.op == "sum":
        y = (x * torch.tensor(coeffs)).sum(1) % p
    else:  # coefficients are exponents: n_1^c_1 ··· n_S^c_S mod p
        y = torch.ones(len(x), dtype=torch.int64)
        for col, c in zip(x.T, coeffs, strict=True):
            for _ in range(c):
                y = y * col % p
    train, val = split_indices(len(x), cfg.train_frac, cfg.split_seed)
    return TaskData(
        x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
        kind="classification", n_classes=p, vocab_size=p,
        meta={"op": cfg.op, "p": p, "terms": cfg.terms, "coeffs": coeffs, "n_tuples": len(x)},
    )
