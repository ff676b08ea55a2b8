"""Variable binding: follow a chain of assignments to the value a queried variable holds.

An example is a program of single assignments and one query, e.g. `d = 7, a = 3, b = a, e = d, c = b, ? c` -> 3
(`task.chain=3`: a=3, b=a, c=b lead from the value to the queried variable; `task.distractors=2`: d, e). The
data set of the Hydra re-implementation of Power et al. (`ndtippens/grok-tests`) was a CSV of such chains; here
they are generated, so no file ships and every size is a key.

Generation (a fixed seed, so the data set is a function of the keys; `task.split_seed` moves only the split):
- the chain: `chain` distinct variables c_1..c_L and a value v, with c_1 = v and c_i = c_{i-1}; the query is c_L;
- distractors: `distractors` further variables, each assigned once, either a random value or a variable
  assigned before it in the program (a chain variable included), so that distractor chains look like the real
  one and copying "some value" does not answer;
- the chain's order is kept, the distractors are shuffled in between; every variable is assigned exactly once,
  so a program needs chain + distractors <= n_vars variables and the answer is unambiguous.
`n_examples` distinct programs are drawn (duplicates are redrawn, so no validation program is a training one).

Tokens: values 0..n_values-1 (so the answer class is the value token), variables n_values..n_values+n_vars-1,
then `=` and `?`. A program is `[x, =, y]` per assignment, then `[?, c_L]`; the answer is read at the last position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import Split, TaskData, split_indices
from groklab.tasks.registry import register

GENERATION_SEED = 0
MAX_VOCAB = 1_000_000  # variable names and values together
MAX_DRAWS_PER_EXAMPLE = 50  # redraws tolerated per distinct example before the key space counts as too small


@dataclass(frozen=True)
class BindingConfig(Split, TaskConfig):
    """`task.name=variable_binding`: programs of single assignments and a query (module docstring)."""

    name: str = "variable_binding"
    n_vars: int = 6  # number of variable names
    n_values: int = 10  # values, which are the answer classes
    chain: int = 2  # assignments from the value to the queried variable (a=3, b=a, ?b: 2)
    distractors: int = 2  # extra assignments to other variables
    n_examples: int = 20_000  # distinct programs generated (split by train_frac)

    def check(self) -> None:
        n_vars, n_values, chain, distractors = self.n_vars, self.n_values, self.chain, self.distractors
        if n_vars < 1 or n_values < 2:
            raise ConfigError(f"task.n_vars must be >= 1 and task.n_values >= 2 (got {n_vars}, {n_values})")
        if chain < 1 or distractors < 0:
            raise ConfigError(f"task.chain must be >= 1 and task.distractors >= 0 (got {chain}, {distractors})")
        if chain > n_vars:
            raise ConfigError(f"task.chain={chain} needs that many distinct variables, but task.n_vars={n_vars}; "
                              "raise task.n_vars or lower task.chain")
        if chain + distractors > n_vars:
            raise ConfigError(f"task.chain + task.distractors = {chain + distractors} assignments, each to its "
                              f"own variable, but task.n_vars={n_vars}; raise task.n_vars or lower the others")
        if self.n_examples < 2:
            raise ConfigError(f"task.n_examples must be >= 2 (got {self.n_examples})")
        if n_vars + n_values > MAX_VOCAB:  # each draw permutes the n_vars names
            raise ConfigError(f"task.n_vars + task.n_values = {n_vars + n_values:,} tokens; at most {MAX_VOCAB:,}")
        length = 3 * (chain + distractors) + 2
        check_size(f"task.n_examples={self.n_examples:,} programs of {length} tokens",
                   self.n_examples * (100 * length + 200), "lower task.n_examples")


def tokens_of(n_values: int, n_vars: int) -> dict[str, int]:
    """Token ids of the two symbols; values are 0..n_values-1 and variable i is n_values + i."""
    return {"=": n_values + n_vars, "?": n_values + n_vars + 1}


def draw_program(rng: np.random.Generator, cfg: BindingConfig) -> tuple[list[int], int]:
    """One program's tokens and its answer (the value at the start of the chain)."""
    nv, syms = cfg.n_values, tokens_of(cfg.n_values, cfg.n_vars)
    names = [nv + int(i) for i in rng.permutation(cfg.n_vars)[: cfg.chain + cfg.distractors]]
    chain, others = names[: cfg.chain], names[cfg.chain :]
    value = int(rng.integers(nv))
    n = cfg.chain + cfg.distractors
    is_chain = np.zeros(n, dtype=bool)
    is_chain[rng.choice(n, cfg.chain, replace=False)] = True
    tokens: list[int] = []
    defined: list[int] = []
    k = d = 0
    for slot in range(n):
        if is_chain[slot]:
            lhs, rhs = chain[k], value if k == 0 else chain[k - 1]
            k += 1
        else:
            lhs = others[d]
            d += 1
            rhs = defined[int(rng.integers(len(defined)))] if defined and rng.random() < 0.5 else int(rng.integers(nv))
        tokens += [lhs, syms["="], rhs]
        defined.append(lhs)
    return [*tokens, syms["?"], chain[-1]], value


def generate(cfg: BindingConfig) -> tuple[np.ndarray, np.ndarray]:
    """`n_examples` distinct programs [n, 3·(chain + distractors) + 2] and their answers [n]."""
    rng = np.random.default_rng(GENERATION_SEED)
    seen: dict[tuple[int, ...], int] = {}
    for _ in range(MAX_DRAWS_PER_EXAMPLE * cfg.n_examples):
        tokens, answer = draw_program(rng, cfg)
        seen.setdefault(tuple(tokens), answer)
        if len(seen) == cfg.n_examples:
            break
    else:
        raise ConfigError(f"task.n_examples={cfg.n_examples}: only {len(seen)} distinct programs were found for "
                          "these task.n_vars, n_values, chain and distractors; lower task.n_examples")
    return np.array(list(seen), dtype=np.int64), np.array(list(seen.values()), dtype=np.int64)


@register("variable_binding", settings=BindingConfig)
def build_variable_binding(cfg: BindingConfig) -> TaskData:
    cfg.check()
    x, y = generate(cfg)
    train, val = split_indices(len(y), cfg.train_frac, cfg.split_seed)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    return TaskData(
        x_train=xs[train], y_train=ys[train], x_val=xs[val], y_val=ys[val],
        kind="classification", n_classes=cfg.n_values, vocab_size=cfg.n_values + cfg.n_vars + 2,
        meta={"n_vars": cfg.n_vars, "n_values": cfg.n_values, "chain": cfg.chain, "distractors": cfg.distractors,
              "n_examples": cfg.n_examples, "tokens": "values 0..n_values-1, variables, =, ?"},
    )
