"""Models by name (models/registry.py): the Power 2022 and Nanda 2023 transformers, the GPT-2 family, one-hot and
concatenated-operand MLPs, the image MLP, the linear student and the m-height regressors (papers.md)."""

from __future__ import annotations

from torch import nn

from groklab.config import ModelConfig
from groklab.errors import ConfigError

# each module registers its builders when imported (models/registry.py)
from groklab.models import concat, gpt2, heads, image_mlp, linear, mlp, moe, tickets, toy, transformer  # noqa: F401
from groklab.models.gpt2 import check_model_keys
from groklab.models.registry import REGISTRY
from groklab.tasks import TaskData

MODELS = tuple(REGISTRY)


def build_model(cfg: ModelConfig, task: TaskData) -> nn.Module:
    check_model_keys(cfg)  # model.linear, model.pos, model.n_memory, model.value_mix
    if cfg.name not in REGISTRY:
        raise ConfigError(f"model.name={cfg.name!r}: expected one of {', '.join(MODELS)}")
    return REGISTRY[cfg.name](cfg, task)


def count_parameters(model: nn.Module, embeddings: bool = True) -> int:
    """Parameter count; embeddings=False leaves out W_E, W_pos and W_U (Power's "non-embedding" count)."""
    skip = () if embeddings else ("W_E", "W_pos", "W_U")
    return sum(p.numel() for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] not in skip)
