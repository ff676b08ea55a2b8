"""Models by name: each model module registers its builder (`@register("name")`, groklab/registry.py). A builder
takes the model config and the task's data (sizes, vocabulary, fitted layout) and returns the module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from groklab.config import MODELS, ModelConfig
from groklab.errors import ConfigError
from groklab.registry import Registry
from groklab.tasks.base import TaskData

Builder = Callable[[ModelConfig, TaskData], nn.Module]
REGISTRY = Registry("model")
F = TypeVar("F", bound=Callable[..., nn.Module])


def register(*names: str, settings: type[ModelConfig] = ModelConfig) -> Callable:
    """A decorator registering a builder under `names`, and `settings`, the frozen dataclass of the keys it reads
    (a subclass of ModelConfig), as the schema `model.name` selects. Both are added when the decorator is applied,
    so stacked decorators register in one order (bottom-up) in both tables."""
    def add(builder: F) -> F:
        MODELS.register(*names)(settings)
        return REGISTRY.register(*names)(builder)
    return add


def token_sizes(cfg: ModelConfig, task: TaskData) -> dict[str, Any]:
    """The shapes every sequence-classification model (transformers, one-hot MLPs) takes from a token task."""
    if task.vocab_size is None or task.n_classes is None:
        raise ConfigError(f"model.name={cfg.name} needs a token classification task")
    sizes = dict(d_vocab=task.vocab_size, d_out=task.n_classes, n_ctx=task.seq_len)
    if task.meta.get("padding") == "right":  # the transformers read each row's answer at its last real token
        sizes["pad_token"] = task.meta["pad_token"]
    return sizes
