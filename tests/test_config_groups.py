"""Config groups: `task.name` selects the schema its task module registered, and `task.KEY` is checked against that
schema only, so a key no part of the run reads is refused in one line instead of training without a word."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys

import pytest

from groklab.cli import main
from groklab.config import TASKS, RunConfig, TaskConfig, apply_overrides, every_key, validate
from groklab.errors import ConfigError
from groklab.presets import resolve

# The flat TaskConfig every task shared before each task had its own schema: its defaults are what run folder
# names were hashed against (RunConfig.digest hashes the values that differ from them), so each schema keeps them.
FLAT_DEFAULTS = {
    "op": "x/y", "p": 97, "train_frac": 0.5, "split_seed": 0, "layout": "a_op_b_eq", "pairs": "all", "terms": 2,
    "coeffs": "", "template_dim": 30, "data": "", "groups": "all", "per_group": 5_000, "val_per_group": 500,
    "augment": 0, "n_vars": 6, "n_values": 10, "chain": 2, "distractors": 2, "n_examples": 20_000, "source": "auto",
    "data_dir": "", "n_train": 1_000, "sample": "first", "n_test": 0, "d_in": 1000, "d_out": 1, "n_val": 10_000,
    "eps": 1e-3, "n_entities": 2000, "n_relations": 200, "out_degree": 20, "phi": 18.0, "ood_frac": 0.05,
    "n_attributes": 20, "padding": "left", "features": "raw",
}


def test_a_key_of_another_task_exits_2_naming_its_task_and_writes_nothing(capsys, tmp_path):
    code = main(["run", "power2022", "task.n_attributes=5", "--out", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    takes = ", ".join(TASKS.keys_of("modular"))
    assert lines == [f"groklab: error: task.n_attributes applies to task.name=kg_comparison; this task is modular "
                     f"(it takes {takes})"]
    assert "op, p" in takes and "n_attributes" not in takes
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("order", [("task.name", "task.n_train"), ("task.n_train", "task.name")])
def test_the_name_selects_the_schema_whatever_the_order(order):
    values = {"task.name": "mnist", "task.n_train": "500"}
    cfg = resolve("power2022", {key: values[key] for key in order})
    assert type(cfg.task).__name__ == "MnistConfig" and cfg.task.n_train == 500 and cfg.task.source == "auto"
    validate(cfg)
    assert cfg.run_name.startswith("power2022-mnist_auto-")


def test_switching_tasks_keeps_the_shared_keys_only():
    cfg = apply_overrides(RunConfig(), {"task.split_seed": "3", "task.op": "x+y"})
    switched = apply_overrides(cfg, {"task.name": "multiterm"})
    assert (switched.task.split_seed, switched.task.op) == (3, "x+y")  # both tasks take them
    mnist = apply_overrides(cfg, {"task.name": "mnist"})
    assert mnist.task.split_seed == 3 and not hasattr(mnist.task, "op")


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"task.n_trian": "5"}, "unknown config key 'task.n_trian' (did you mean task.n_train?)"),
    ({"task.name": "mnsit"}, "task.name='mnsit' (did you mean mnist?): expected one of"),
    ({"task.name": "mnist", "task.sourse": "idx"}, "(did you mean task.source?)"),
])
def test_a_typo_gets_a_did_you_mean(overrides, needle):
    with pytest.raises(ConfigError) as info:
        resolve("power2022", overrides)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_every_schema_keeps_the_flat_defaults_and_no_key_is_lost():
    """Run folder names of unchanged configs stay, and every task key users typed before still exists."""
    taken = set()
    for name, schema in TASKS.load().items():
        assert issubclass(schema, TaskConfig) and schema().name == name
        fields = [f for f in dataclasses.fields(schema) if f.name != "name"]
        assert fields, name
        for f in fields:
            assert f.default == FLAT_DEFAULTS[f.name], f"{name}: task.{f.name} default {f.default!r}"
            taken.add(f.name)
    assert taken == set(FLAT_DEFAULTS)
    assert {k.removeprefix("task.") for k in every_key() if k.startswith("task.")} == set(FLAT_DEFAULTS) | {"name"}


def reads(schema: type) -> set[str]:
    """The attributes its module reads from a settings object of `schema`: `cfg.X` in every function whose `cfg`
    (any argument) is annotated with the schema or one of its bases, and `self.X` in their methods."""
    classes = {cls.__name__ for cls in schema.__mro__}
    tree = ast.parse(inspect.getsource(sys.modules[schema.__module__]))
    out: set[str] = set()

    def collect(fn: ast.AST, names: set[str]) -> None:
        out.update(node.attr for node in ast.walk(fn) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Name) and node.value.id in names)

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef):
                    collect(fn, {"self"})
        elif isinstance(node, ast.FunctionDef):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            typed = {a.arg for a in args if isinstance(a.annotation, ast.Name) and a.annotation.id in classes}
            collect(node, typed)
    return out


@pytest.mark.parametrize("name", sorted(TASKS.load()))
def test_a_schema_holds_exactly_the_keys_its_module_reads(name):
    """No key a task never reads can hide in its schema (it would be accepted and do nothing), and the module reads
    no setting its schema lacks."""
    schema = TASKS.schema(name)
    fields = {f.name for f in dataclasses.fields(schema)}
    read = reads(schema)
    assert fields - {"name"} <= read, f"{name} never reads {sorted(fields - {'name'} - read)}"
    assert read <= fields | set(dir(schema)), f"{name} reads {sorted(read - fields - set(dir(schema)))}"


@pytest.mark.parametrize(("overrides", "label"), [
    ({}, "xdivy"), ({"task.op": "x^2+y^2"}, "xpow2_ypow2"), ({"task.name": "multiterm", "task.op": "sum"}, "sum"),
    ({"task.name": "toy_addition", "task.op": "x+y"}, "x_y"), ({"task.name": "mnist"}, "mnist_auto"),
    ({"task.name": "mnist", "task.source": "fashion"}, "mnist_fashion"), ({"task.name": "mheight"}, "mheight"),
    ({"task.name": "linear_teacher"}, "linear_teacher"), ({"task.name": "kg_composition"}, "composition"),
    ({"task.name": "kg_comparison"}, "comparison"), ({"task.name": "variable_binding"}, "variable_binding"),
])
def test_each_schema_labels_its_run_folders(overrides, label):
    assert apply_overrides(RunConfig(), overrides).task.label() == label


def test_rules_between_groups_read_schema_properties():
    """train.loss=mse_violation needs a task that defines the penalty (TaskConfig.losses), not a name test."""
    assert TASKS.schema("mheight").losses == ("mse_violation",) and TaskConfig.losses == ()
    validate(resolve("mheight", {"train.loss": "mse_violation"}))
    with pytest.raises(ConfigError, match=r"train\.loss=mse_violation needs task\.name=mheight"):
        validate(resolve("power2022", {"train.loss": "mse_violation"}))


def test_make_checks_like_overrides():
    assert TASKS.make("mnist", n_train=500).n_train == 500
    with pytest.raises(ConfigError, match=r"task\.n_attributes applies to task\.name=kg_comparison"):
        TASKS.make("mnist", n_attributes=5)
    with pytest.raises(ConfigError, match=r"task\.pairs='some': expected all or unordered"):
        validate(RunConfig(task=TASKS.make("modular", pairs="some")))


def test_each_schema_describes_its_task():
    from groklab.cli import describe_config

    described = {name: describe_config(resolve(name)).split(" · ")[0] for name in
                 ("power2022", "omnigrok2022", "mheight", "wang2024")}
    assert described == {"power2022": "x/y mod 97", "omnigrok2022": "mnist (auto, 1,000 images)",
                         "mheight": "m-height (all groups, 2,000 rows each)", "wang2024": "kg_composition"}
