import itertools

import pytest
import torch

from groklab.errors import ConfigError
from groklab.tasks import build_task
from groklab.tasks.modular import MODULAR_OPS, S5_OPS, ModularConfig, compose, inverse, s5_elements, s5_table


def brute(op: str, x: int, y: int, p: int) -> int | None:
    """Plain-Python definitions of Power et al. 2022's operations (None: the pair is not in the table)."""
    inv = next((z for z in range(p) if (y * z) % p == 1), None)
    return {
        "x+y": (x + y) % p,
        "x-y": (x - y) % p,
        "x*y": (x * y) % p,
        "x/y": None if y == 0 else (x * inv) % p,
        "x/y_or_x-y": (x * inv) % p if y % 2 == 1 else (x - y) % p,
        "x^2+y^2": (x * x + y * y) % p,
        "x^2+xy+y^2": (x * x + x * y + y * y) % p,
        "x^2+xy+y^2+x": (x * x + x * y + y * y + x) % p,
        "x^3+xy": (x**3 + x * y) % p,
        "x^3+xy^2+y": (x**3 + x * y * y + y) % p,
    }[op]


def all_pairs(task):
    x = torch.cat([task.x_train, task.x_val])
    y = torch.cat([task.y_train, task.y_val])
    return x, y


@pytest.mark.parametrize("op", list(MODULAR_OPS))
def test_every_operation_matches_brute_force(op):
    p = 11
    task = build_task(ModularConfig(op=op, p=p, train_frac=0.5))
    x, y = all_pairs(task)
    expected = {(a, b): brute(op, a, b, p) for a in range(p) for b in range(p)}
    expected = {k: v for k, v in expected.items() if v is not None}
    got = {(int(r[0]), int(r[2])): int(c) for r, c in zip(x, y, strict=True)}
    assert got == expected
    assert (x[:, 1] == p).all() and (x[:, 3] == p + 1).all()  # [a, op, b, =]


def test_division_uses_p_times_p_minus_1_pairs():
    task = build_task(ModularConfig(op="x/y", p=97, train_frac=0.5))
    assert task.n_train + len(task.x_val) == 97 * 96
    assert task.n_train == 4656


def test_nanda_layout():
    task = build_task(ModularConfig(op="x+y", p=113, train_frac=0.3, layout="a_b_eq"))
    assert task.x_train.shape[1] == 3 and task.vocab_size == 114 and task.n_classes == 113
    assert task.n_train == 3831 or task.n_train == 3830  # round(0.3 * 12769) = 3831
    assert ((task.x_train[:, 0] + task.x_train[:, 1]) % 113 == task.y_train).all()


def test_split_is_disjoint_and_deterministic():
    a = build_task(ModularConfig(op="x+y", p=13, train_frac=0.3, split_seed=1))
    b = build_task(ModularConfig(op="x+y", p=13, train_frac=0.3, split_seed=1))
    c = build_task(ModularConfig(op="x+y", p=13, train_frac=0.3, split_seed=2))
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    train = {tuple(r.tolist()) for r in a.x_train}
    val = {tuple(r.tolist()) for r in a.x_val}
    assert not train & val and len(train | val) == 169 and len(train) == round(0.3 * 169)


def test_s5_group_axioms():
    elems = s5_elements()
    assert len(set(elems)) == 120
    identity = tuple(range(5))
    for x, y, z in itertools.islice(itertools.product(elems, repeat=3), 0, 20000, 97):
        assert compose(compose(x, y), z) == compose(x, compose(y, z))  # associativity
    for x in elems:
        assert compose(x, identity) == x == compose(identity, x)
        assert compose(x, inverse(x)) == identity
    table = s5_table("s5")
    assert all(sorted(row) == list(range(120)) for row in table.tolist())  # a Latin square


@pytest.mark.parametrize("op", S5_OPS)
def test_s5_tasks(op):
    task = build_task(ModularConfig(op=op, p=None, train_frac=0.5))
    assert task.n_classes == 120 and task.n_train + len(task.x_val) == 14400
    elems = s5_elements()
    x, y = all_pairs(task)
    for row, c in list(zip(x, y, strict=True))[:200]:
        a, b = elems[int(row[0])], elems[int(row[2])]
        want = {"s5": compose(a, b), "s5conj": compose(compose(a, b), inverse(a)),
                "s5aba": compose(compose(a, b), a)}[op]
        assert elems[int(c)] == want


@pytest.mark.parametrize(
    "cfg, message",
    [
        (ModularConfig(op="x/y", p=96), "not prime"),
        (ModularConfig(op="x+y", p=1), ">= 2"),
        (ModularConfig(op="s5", p=97), "task.p=null"),
        (ModularConfig(op="x**y"), "unknown"),
        (ModularConfig(train_frac=1.0), "(0, 1)"),
        (ModularConfig(op="x+y", p=3, train_frac=0.01), "empty"),
        (ModularConfig(layout="abc"), "layout"),
        (ModularConfig(op="x-y", p=7, pairs="unordered"), "symmetric"),
    ],
)
def test_bad_task_configs(cfg, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_task(cfg)


def test_unordered_pairs_have_no_mirror_across_the_split():
    """task.pairs=unordered keeps a <= b: p(p+1)/2 pairs, so no validation pair is a training pair read backwards
    (with all p^2 ordered pairs of a symmetric op, ~train_frac of the validation pairs are)."""
    task = build_task(ModularConfig(op="x+y", p=11, train_frac=0.4, layout="a_b_eq", pairs="unordered"))
    pairs = [tuple(r[:2].tolist()) for x in (task.x_train, task.x_val) for r in x]
    assert len(pairs) == 11 * 12 // 2 and all(a <= b for a, b in pairs)
    assert task.meta["n_pairs"] == 66
    y = torch.cat([task.y_train, task.y_val])
    assert all(int(c) == (a + b) % 11 for (a, b), c in zip(pairs, y, strict=True))


def test_pairs_key_is_checked_before_training():
    from groklab.config import RunConfig, apply_overrides, validate

    with pytest.raises(ConfigError, match="all or unordered"):
        validate(RunConfig(task=ModularConfig(pairs="some")))
    with pytest.raises(ConfigError, match=r"task\.name=modular"):
        apply_overrides(RunConfig(), {"task.name": "multiterm", "task.op": "sum", "task.pairs": "unordered"})
