"""Config values at their boundaries (issue 24, class 7), generated from the config schemas (the dataclass fields
every group registers), not listed by hand: every numeric key at 0, negative, huge, NaN/inf and of the wrong type,
alone in each task (or model) it belongs to, and in random combinations of the keys a context takes, is either
refused in one line before anything is written, or accepted; an accepted one then trains without a traceback (a run
may end `diverged`)."""

from __future__ import annotations

import math
import random
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import groklab.config
from groklab.config import MODELS, TASKS, every_key
from groklab.engine import MemorySink, train
from groklab.errors import GroklabError
from groklab.presets import resolve
from groklab.runs import prepare

from .conftest import TINY

BASE = dict(a.split("=", 1) for a in TINY) | {"train.steps": "3", "train.eval_every": "1"}
# One tiny, valid config per task (and the model it takes); the keys of a section are tried in each context whose
# code reads them.
CONTEXTS = {
    "modular": {},
    "multiterm": {"task.name": "multiterm", "task.terms": "3", "task.op": "sum", "model.name": "mlp_concat",
                  "model.n_layers": "1"},
    "toy_addition": {"task.name": "toy_addition", "task.p": "10", "model.name": "liu_toy", "model.act": "tanh",
                     "train.loss": "mse"},
    "variable_binding": {"task.name": "variable_binding", "task.n_examples": "200", "model.name": "gpt2_meta"},
    "mnist": {"task.name": "mnist", "task.source": "sklearn_digits", "task.n_train": "100", "task.n_test": "100",
              "model.name": "image_mlp", "train.probes": "lc,adv"},
    "kg_composition": {"task.name": "kg_composition", "task.n_entities": "60", "task.n_relations": "10",
                       "task.out_degree": "4", "task.phi": "2"},
    "kg_comparison": {"task.name": "kg_comparison", "task.n_entities": "60", "task.n_attributes": "4",
                      "task.n_values": "5"},
    "linear_teacher": {"task.name": "linear_teacher", "task.d_in": "20", "task.n_train": "10", "task.n_val": "50",
                       "model.name": "linear", "model.act": "identity", "train.loss": "mse"},
    "mheight": {"task.name": "mheight", "task.groups": "9,4,2", "task.per_group": "40", "task.val_per_group": "20",
                "model.name": "moe", "train.loss": "mse"},
    "sgd": {"optim.name": "sgd", "optim.momentum": "0.9"},
    "grokfast": {"optim.grokfast": "ma", "optim.l1": "0.01"},
    "muon": {"optim.name": "muon"},
}
SECTIONS = {"model": ["modular", "multiterm", "toy_addition", "variable_binding", "mnist", "linear_teacher", "mheight"],
            "optim": ["modular", "sgd", "grokfast", "muon"], "train": ["modular", "mheight"], "probe": ["mnist"],
            "seed": ["modular"]}
NUMBERS = ["0", "-1", "1e30", str(2**31 - 1)]  # tried in every context that reads the key
BAD = ["nan", "inf", "-inf", "abc", ""]  # never a number: tried once per key


@pytest.fixture(autouse=True)
def small_machine(monkeypatch):
    """A machine of 2 GiB: whatever a check accepts allocates at most ~1 GiB (the limit is half the memory), so
    these tests never hold much of a shared machine's memory."""
    monkeypatch.setattr(groklab.config, "memory_bytes", lambda: 2 * 2**30)


def numeric_keys() -> dict[str, type]:
    """Every config key whose type is int or float (optional ones included), from the dataclasses (every schema of a
    group: optim.momentum is SGD's)."""
    out = {}
    for key, tp in every_key().items():
        kinds = set(typing.get_args(tp)) or {tp}
        if kinds & {int, float}:
            out[key] = int if int in kinds else float
    return out


KEYS = numeric_keys()


def contexts(key: str) -> list[str]:
    """The contexts whose code reads `key`: a task key, the tasks whose schema takes it (so a key a new task reads
    is tried there without a list to update); other sections, SECTIONS."""
    section, field = key.split(".", 1) if "." in key else ("seed", key)
    if section == "model":  # the contexts whose model's schema takes the key
        return [c for c in SECTIONS[section]
                if field in MODELS.keys_of(CONTEXTS[c].get("model.name", MODELS.default_name))]
    if section != "task":
        return SECTIONS[section]
    return TASKS.owners(field)


def takes(overrides: dict[str, str], key: str) -> bool:
    """Whether the config `overrides` select takes `key`: a task or model key must be its schema's."""
    if key.startswith("task."):
        return overrides.get("task.name", "modular") in contexts(key)
    if key.startswith("model."):
        return key.split(".", 1)[1] in MODELS.keys_of(overrides.get("model.name", MODELS.default_name))
    return True


def applicable(ctx: str) -> list[str]:
    """The numeric keys the config of context `ctx` takes: its task's, its model's, and every other section's."""
    return [key for key in KEYS if takes(CONTEXTS[ctx], key)]


CASES = [(ctx, key, value) for key, kind in KEYS.items() for ctx in contexts(key)
         for value in NUMBERS + (["1e-300"] if kind is float else [str(2**63)])]
CASES += [((contexts(key) or ["modular"])[0] if key.startswith(("task.", "model.")) else "modular", key, value)
          for key, kind in KEYS.items() for value in BAD + (["1.5", "true"] if kind is int else [])]


def with_base(overrides: dict[str, str]) -> dict[str, str]:
    """BASE under `overrides`, less BASE's task and model keys that the task and model `overrides` select do not
    take."""
    return {k: v for k, v in BASE.items() if takes(overrides, k)} | overrides


def check(overrides: dict[str, str], tmp_path) -> str | None:
    """prepare() on the config: None if accepted, the message if refused; a traceback-worthy error fails."""
    try:
        prepare(resolve(None, with_base(overrides)), tmp_path)
    except GroklabError as e:
        assert "\n" not in str(e) and str(e).strip(), repr(str(e))
        return str(e)
    assert not any(tmp_path.iterdir()), "a config check wrote something"
    return None


@pytest.mark.parametrize(("ctx", "key", "value"), CASES, ids=[f"{c}-{k}={v}" for c, k, v in CASES])
def test_each_key_at_its_boundaries(tmp_path, ctx, key, value):
    message = check(CONTEXTS[ctx] | {key: value}, tmp_path)
    if value in BAD or (value in ("1.5", "true") and KEYS[key] is int):
        assert message is not None and key in message  # never a number: refused, naming the key
    if KEYS[key] is int and value in ("1e30", str(2**63)):
        assert message is not None  # beyond an int64: no count, size or seed


def accepted_cases() -> list[tuple[str, str, str]]:
    """A sample of the boundary cases a config check accepts: each must also train (3 steps) without a traceback."""
    rng = random.Random(0)
    cases = [c for c in CASES if c[2] not in BAD and c[2] != "1.5"]
    return rng.sample(cases, min(len(cases), 120))


def test_every_task_has_a_context():
    assert set(TASKS.load()) <= set(CONTEXTS)


@pytest.mark.slow
@pytest.mark.parametrize(("ctx", "key", "value"), accepted_cases(), ids=lambda x: str(x))
def test_an_accepted_boundary_value_trains(tmp_path, ctx, key, value):
    overrides = with_base(CONTEXTS[ctx] | {key: value})
    if check(CONTEXTS[ctx] | {key: value}, tmp_path) is not None:
        return
    sink = MemorySink()
    try:
        train(resolve(None, overrides), sink)
    except GroklabError as e:
        assert "\n" not in str(e)
        return
    assert sink.rows, "no row logged"
    last = sink.rows[-1]
    assert all(v is None or not isinstance(v, float) or math.isfinite(v) for v in last.values())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.sampled_from([c for c in CONTEXTS]), st.data())
def test_combinations_of_keys_at_boundaries(tmp_path_factory, ctx, data):
    """Two or three keys at boundary values at once, in any context: what validators compute with (a ratio, a
    product, a comparison of two keys) must not be reached before each key is checked."""
    keys = data.draw(st.lists(st.sampled_from(applicable(ctx)), min_size=2, max_size=3, unique=True), label="keys")
    values = {k: data.draw(st.sampled_from(["0", "-1", "1", "2", "1e30", str(2**31 - 1), "nan"]), label=k)
              for k in keys}
    check(CONTEXTS[ctx] | values, tmp_path_factory.mktemp("combo"))
