"""Models by name: each model module registers its builder (`@register("name")`, groklab/registry.py). A builder
takes the model config and the task's data (sizes, vocabulary, fitted layout) and returns the module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from groklab.config import MODELS, ModelConfig
from groklab.errors import ConfigError
from groklab.registry import Registry
from groklab.tasks.base import TaskData

Builder = Callable[[ModelConfig, TaskData], nn.Module]
REGISTRY = Registry("model")


def register(*names: str, settings: type[ModelConfig] = ModelConfig) -> Callable:
    """A decorator registering a builder under `names`, and `settings`, the frozen dataclass of the keys it reads
    (a subclass of ModelConfig), as the schema `model.name` selects."""
    MODELS.register(*names)(settings)
    return REGISTRY.register(*names)


def token_sizes(cfg: ModelConfig, task: TaskData, own_init: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shapes every sequence-classification model (transformers, one-hot MLPs) takes from a token task, and the
    widths it takes from the config. Keys these models ignore are refused here rather than trained past silently;
    `own_init`: the model family reads model.init itself (the GPT-2 family's model.init=gpt2)."""
    if cfg.act not in ("relu", "gelu") or not cfg.bias or not (own_init or cfg.init == "torch") or cfg.init_scale != 1:
        raise ConfigError(f"model.name={cfg.name} takes model.act=relu or gelu; model.bias, model.init and "
                          "model.init_scale apply to mlp_concat and liu_toy only (model.init=gpt2: the GPT-2 family)")
    if task.vocab_size is None or task.n_classes is None:
        raise ConfigError(f"model.name={cfg.name} needs a token classification task")
    sizes = dict(d_vocab=task.vocab_size, d_out=task.n_classes, n_ctx=task.seq_len)
    if task.meta.get("padding") == "right":  # the transformers read each row's answer at its last real token
        sizes["pad_token"] = task.meta["pad_token"]
    common = dict(d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads, d_mlp=cfg.d_mlp, act=cfg.act)
    return sizes, common
