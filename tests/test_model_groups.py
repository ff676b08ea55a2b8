"""Each model owns its settings: `model.name` selects the schema its module registered, a key of another model is
refused naming its owners, a new name keeps the widths both models take, and every schema key is read by its
model and defaults to what the one flat ModelConfig had (so unchanged configs keep their run folder)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.config import MAX_LAYERS, MAX_WIDTH, MODELS, ModelConfig, RunConfig, apply_overrides
from groklab.errors import ConfigError
from groklab.models import build_model
from groklab.models.registry import REGISTRY
from groklab.tasks import build_task
from groklab.tasks.modular import ModularConfig

MODELS_DIR = Path(__file__).resolve().parents[1] / "groklab" / "models"

# The one flat ModelConfig every model shared before each model owned its settings: a schema's defaults keep
# these values, because the run folder's digest hashes only the values that differ from the defaults.
FLAT = dict(d_model=128, n_layers=2, n_heads=4, d_mlp=512, act="relu", bias=True, init="torch",
            tie_embeddings=False, dropout=0.0, init_scale=1.0, n_experts=6, top_k=2, value_mix="identity",
            n_memory=8, pos="learned", linear="dense")


def refused(capsys, tmp_path, *args: str) -> str:
    code = main(["run", *args, "train.steps=1", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert not any(tmp_path.iterdir())
    return err[0]


def test_a_key_of_another_model_exits_2_naming_its_owners(capsys, tmp_path):
    line = refused(capsys, tmp_path, "model.n_memory=4")
    assert "model.n_memory applies to model.name=gpt2_meta; this model is power_transformer (it takes " in line
    line = refused(capsys, tmp_path, "model.name=nanda_transformer", "model.init_scale=2")
    assert "model.init_scale applies to model.name=mlp_concat or image_mlp or linear or liu_toy; this model is " \
           "nanda_transformer" in line
    assert "model.init_scale must be > 0 (got 0.0)" in refused(capsys, tmp_path, "model.name=mlp_concat",
                                                               "model.init_scale=0")  # where it is a key


def test_a_new_model_name_keeps_the_widths_both_models_take():
    cfg = apply_overrides(RunConfig(), {"model.d_model": "64", "model.n_heads": "2", "model.d_mlp": "100",
                                        "model.n_layers": "3", "model.linear": "bitlinear"})
    meta = apply_overrides(cfg, {"model.name": "gpt2_meta"}).model
    assert (meta.d_model, meta.n_heads, meta.d_mlp, meta.n_layers, meta.linear) == (64, 2, 100, 3, "bitlinear")
    assert meta.n_memory == FLAT["n_memory"] and type(meta) is MODELS["gpt2_meta"]
    mlp = apply_overrides(cfg, {"model.name": "mlp"}).model
    assert (mlp.d_mlp, mlp.n_layers, mlp.linear) == (100, 3, "bitlinear") and not hasattr(mlp, "d_model")
    back = apply_overrides(RunConfig(model=mlp), {"model.name": "power_transformer"}).model
    assert (back.d_mlp, back.n_layers, back.d_model) == (100, 3, FLAT["d_model"])  # mlp had no d_model to keep


def test_every_schema_default_is_the_flat_default():
    for name, schema in MODELS.items():
        fields = {f.name: f.default for f in dataclasses.fields(schema)}
        assert fields.pop("name") in [n for n, s in MODELS.items() if s is schema]  # a shared schema: its first
        assert fields and all(FLAT[k] == v for k, v in fields.items()), (name, fields)
        assert MODELS.make(name).name == name and issubclass(schema, ModelConfig)
    assert {f.name for f in dataclasses.fields(ModelConfig)} == {"name", "d_mlp", "act"}  # what every model reads


def reads(tree: ast.AST, owner: str) -> set[str]:
    """The attributes of `owner` (cfg in a builder, self in a schema) read in `tree`, except inside a `check`
    method (a rule on a key is not a use of it)."""
    out: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == owner:
            out.add(node.attr)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return out


@pytest.mark.parametrize("name", list(MODELS.load()))
def test_every_schema_key_is_read_by_its_model(name):
    """Each field is read from `cfg` in the builder's module, or from `self` by a method (not a check) of the
    schema's classes that the builder calls (TransformerSizes.sizes, the GPT-2 variants' `variant`)."""
    schema = MODELS[name]
    used = reads(ast.parse(inspect.getsource(sys.modules[REGISTRY[name].__module__])), "cfg")
    for cls in schema.__mro__:
        if issubclass(cls, ModelConfig) and cls is not ModelConfig:
            used |= reads(ast.parse(inspect.getsource(cls)), "self")
    unread = [f.name for f in dataclasses.fields(schema) if f.name != "name" and f.name not in used]
    assert not unread, (name, unread)


@pytest.mark.parametrize(("name", "values", "needle"), [
    ("power_transformer", {"d_model": 30}, "model.d_model=30 is not divisible by model.n_heads=4"),
    ("power_transformer", {"n_heads": 0}, "model.n_heads must be >= 1 (got 0)"),
    ("power_transformer", {"act": "tanh"}, "model.act='tanh': model.name=power_transformer takes model.act=relu or"),
    ("mlp", {"n_layers": MAX_LAYERS + 1}, f"model.n_layers must be at most {MAX_LAYERS:,}"),
    ("tickets_mlp", {"d_model": MAX_WIDTH + 1}, f"model.d_model must be at most {MAX_WIDTH:,}"),
    ("resnet_mlp", {"d_mlp": 0}, "model.d_mlp must be >= 1 (got 0)"),
    ("moe", {"top_k": 7}, "model.top_k must be in 1..model.n_experts"),
    ("moe", {"n_experts": MAX_LAYERS + 1, "top_k": 1}, f"model.n_experts must be at most {MAX_LAYERS:,}"),
    ("gpt2_meta", {"n_memory": MAX_WIDTH + 1}, f"model.n_memory must be at most {MAX_WIDTH:,}"),
    ("gpt2_svformer", {"dropout": 1.0}, "model.dropout must be in [0, 1)"),
    ("image_mlp", {"init_scale": -1.0}, "model.init_scale must be > 0 (got -1.0)"),
    ("liu_toy", {}, "model.act='relu': model.name=liu_toy takes model.act=tanh"),
])
def test_each_schema_checks_its_own_keys(name, values, needle):
    settings = MODELS.make(name, **values)
    with pytest.raises(ConfigError) as err:
        settings.check()
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_build_model_takes_only_the_schema_the_name_selects():
    task = build_task(ModularConfig(op="x+y", p=7))
    with pytest.raises(ConfigError, match=r"model\.name=mlp takes MLPConfig settings"):
        build_model(ModelConfig(name="mlp"), task)
    with pytest.raises(ConfigError, match=r"model\.n_heads must be >= 1"):  # the schema's rules run first
        build_model(dataclasses.replace(MODELS.make(), n_heads=0), task)


def test_no_model_dispatches_on_its_name():
    hits = [f"{p.name}:{i}" for p in MODELS_DIR.glob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if "cfg.name ==" in line]
    assert not hits, hits
