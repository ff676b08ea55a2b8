"""Models and tasks register themselves by name: no central if-chain, no hand-kept tuple of names."""

import re
from pathlib import Path

import pytest

from groklab.config import ModelConfig, TaskConfig
from groklab.errors import ConfigError
from groklab.models import MODELS, build_model
from groklab.models.registry import REGISTRY, register
from groklab.tasks import BUILDERS, READERS, build_task
from groklab.tasks.modular import ModularConfig
from groklab.tasks.registry import register as register_task

GROKLAB = Path(__file__).resolve().parents[1] / "groklab"


def test_every_model_and_task_module_registers_itself():
    assert set(MODELS) == set(REGISTRY) >= {"power_transformer", "nanda_transformer", "gpt2_meta", "mlp_concat",
                                            "liu_toy", "image_mlp", "linear", "group_heads", "resnet_mlp", "moe",
                                            "mlp", "tickets_mlp"}
    assert set(BUILDERS) >= {"modular", "multiterm", "toy_addition", "mheight", "variable_binding", "mnist",
                             "kg_composition", "kg_comparison", "linear_teacher"}
    assert set(READERS) == {"mheight", "mnist"}


def test_a_name_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register("mlp")(lambda cfg, task: None)
    with pytest.raises(ValueError, match="registered twice"):
        register_task("modular")(lambda cfg: None)


def test_unknown_names_are_one_line_naming_the_registered_ones():
    task = build_task(ModularConfig(p=7))
    with pytest.raises(ConfigError, match=r"model.name='nope': expected one of .*power_transformer"):
        build_model(ModelConfig(name="nope"), task)
    with pytest.raises(ConfigError, match=r"task.name='nope': expected one of .*modular"):
        build_task(TaskConfig(name="nope"))


def test_no_dispatch_chain_on_the_model_name_and_no_issue_numbers_in_the_code():
    init = (GROKLAB / "models" / "__init__.py").read_text()
    assert "cfg.name ==" not in init and "MODELS +=" not in init
    history = [f"{p.relative_to(GROKLAB)}:{i}" for p in GROKLAB.rglob("*.py")
               for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\b[Ii]ssues? \d+\b", line)]
    assert not history, history
