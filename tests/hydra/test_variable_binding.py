"""The variable-binding task: its answers against an independent interpreter, its structure, its bad input."""

import dataclasses

import pytest
import torch

from groklab.cli import main
from groklab.errors import ConfigError
from groklab.tasks import build_task
from groklab.tasks.binding import BindingConfig

BASE = BindingConfig(n_vars=6, n_values=5, chain=3, distractors=2, n_examples=3000)


def decode(row: list[int], n_values: int, n_vars: int) -> tuple[list[tuple[str, str]], str]:
    """Tokens -> ([(lhs, rhs)], queried name), names as text: values '0'.., variables 'v0'.."""
    eq, query = n_values + n_vars, n_values + n_vars + 1

    def name(t: int) -> str:
        assert 0 <= t < n_values + n_vars, t
        return str(t) if t < n_values else f"v{t - n_values}"

    *body, q, target = row
    assert q == query and len(body) % 3 == 0
    statements = []
    for i in range(0, len(body), 3):
        lhs, sym, rhs = body[i : i + 3]
        assert sym == eq and lhs >= n_values
        statements.append((name(lhs), name(rhs)))
    return statements, name(target)


def interpret(statements: list[tuple[str, str]], target: str) -> int:
    """Run the assignments in order; a right-hand side is a literal or a variable's current value."""
    env: dict[str, int] = {}
    for lhs, rhs in statements:
        env[lhs] = int(rhs) if rhs.isdigit() else env[rhs]  # KeyError: use before assignment
    return env[target]


def hops(statements: list[tuple[str, str]], target: str) -> int:
    """Assignments followed from the queried variable back to a literal."""
    rhs_of = dict(statements)
    n, name = 1, rhs_of[target]
    while not name.isdigit():
        n, name = n + 1, rhs_of[name]
    return n


@pytest.mark.parametrize("cfg", [BASE, dataclasses.replace(BASE, chain=1, distractors=4, n_values=7),
                                 dataclasses.replace(BASE, n_vars=4, chain=4, distractors=0, n_examples=100)])
def test_answers_agree_with_an_interpreter(cfg):
    data = build_task(cfg)
    assert data.n_classes == cfg.n_values and data.vocab_size == cfg.n_values + cfg.n_vars + 2
    assert data.seq_len == 3 * (cfg.chain + cfg.distractors) + 2
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        for row, answer in zip(x.tolist(), y.tolist(), strict=True):
            statements, target = decode(row, cfg.n_values, cfg.n_vars)
            assert interpret(statements, target) == answer
            assert hops(statements, target) == cfg.chain
            lhs = [s[0] for s in statements]
            assert len(set(lhs)) == len(lhs)  # single assignment: the answer is unambiguous


def test_distinct_programs_split_by_the_split_seed_only():
    a, b = build_task(BASE), build_task(dataclasses.replace(BASE, split_seed=1))
    rows = {tuple(r) for r in torch.cat([a.x_train, a.x_val]).tolist()}
    assert len(rows) == BASE.n_examples and len(a.x_train) == round(BASE.n_examples * BASE.train_frac)
    assert not {tuple(r) for r in a.x_train.tolist()} & {tuple(r) for r in a.x_val.tolist()}
    assert rows == {tuple(r) for r in torch.cat([b.x_train, b.x_val]).tolist()}  # same programs
    assert not torch.equal(a.x_train, b.x_train)  # another split
    assert torch.equal(build_task(BASE).x_train, a.x_train)  # reproducible
    counts = torch.bincount(a.y_train, minlength=BASE.n_values)
    assert counts.min() > 0.7 * counts.float().mean()  # answers spread over the values


def test_distractors_copy_variables_too():
    data = build_task(dataclasses.replace(BASE, chain=1, distractors=4))
    copies = 0
    for row in data.x_train[:200].tolist():
        statements, target = decode(row, BASE.n_values, BASE.n_vars)
        copies += sum(not rhs.isdigit() for lhs, rhs in statements if lhs != target)
    assert copies > 100  # so "copy the value next to a variable" does not answer


@pytest.mark.parametrize("extra, needle", [
    ({"chain": 7}, "task.chain=7 needs that many distinct variables, but task.n_vars=6"),
    ({"chain": 4, "distractors": 3}, "task.chain + task.distractors = 7 assignments"),
    ({"chain": 0}, "task.chain must be >= 1"),
    ({"n_values": 1}, "task.n_values >= 2"),
    ({"n_vars": 2, "n_values": 2, "chain": 1, "distractors": 0, "n_examples": 10}, "only 4 distinct programs"),
])
def test_bad_binding_keys_are_one_line_config_errors(extra, needle):
    with pytest.raises(ConfigError) as err:
        build_task(dataclasses.replace(BASE, **extra))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_cli_refuses_more_chain_steps_than_variables(capsys, tmp_path):
    code = main(["run", "task.name=variable_binding", "task.n_vars=3", "task.chain=4", "--out", str(tmp_path),
                 "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "task.chain=4 needs that many distinct variables" in err[0]
    assert not any(tmp_path.iterdir())
