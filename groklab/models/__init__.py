"""Models by name (models/registry.py): the Power 2022 and Nanda 2023 transformers, the GPT-2 family, one-hot and
concatenated-operand MLPs, the image MLP, the linear student and the m-height regressors (papers.md)."""

from __future__ import annotations

from torch import nn

from groklab.config import MODELS as SCHEMAS
from groklab.config import ModelConfig
from groklab.errors import ConfigError

# each module registers its builders when imported (models/registry.py)
from groklab.models import concat, gpt2, heads, image_mlp, linear, mlp, moe, tickets, toy, transformer  # noqa: F401
from groklab.models.registry import REGISTRY
from groklab.tasks import TaskData

MODELS = tuple(REGISTRY)


def build_model(cfg: ModelConfig, task: TaskData) -> nn.Module:
    """The model `cfg` names, for `task`; its settings must be the schema its name selects, and pass its rules."""
    schema = SCHEMAS.schema(cfg.name)  # an unknown name: one line listing the registered ones
    if type(cfg) is not schema:
        raise ConfigError(f"model.name={cfg.name} takes {schema.__name__} settings (got {type(cfg).__name__})")
    cfg.check()
    return REGISTRY[cfg.name](cfg, task)


def count_parameters(model: nn.Module, embeddings: bool = True) -> int:
    """Parameter count; embeddings=False leaves out W_E, W_pos and W_U (Power's "non-embedding" count)."""
    skip = () if embeddings else ("W_E", "W_pos", "W_U")
    return sum(p.numel() for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] not in skip)
