"""Tasks: train/validation tensors plus what the loss and the metrics are (design.md, "Task data")."""

from __future__ import annotations

from groklab.config import TaskConfig
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData
from groklab.tasks.binding import build_variable_binding
from groklab.tasks.images import build_mnist
from groklab.tasks.knowledge_graph import build_knowledge_graph
from groklab.tasks.linear_teacher import build_linear_teacher
from groklab.tasks.mheight import build_mheight
from groklab.tasks.modular import build_modular
from groklab.tasks.multiterm import build_multiterm
from groklab.tasks.toy import build_toy_addition

BUILDERS = {"modular": build_modular, "multiterm": build_multiterm, "toy_addition": build_toy_addition}
BUILDERS["mheight"] = build_mheight  # m-height regression (issue 4; groklab.tasks.mheight)
BUILDERS["variable_binding"] = build_variable_binding  # chains of assignments (issue 16; groklab.tasks.binding)
BUILDERS["mnist"] = build_mnist  # MNIST-like images from offline sources (issue 13; groklab.tasks.images)
BUILDERS["kg_composition"] = BUILDERS["kg_comparison"] = build_knowledge_graph  # Wang 2024 (issue 14)
BUILDERS["linear_teacher"] = build_linear_teacher  # Levi 2023 (issue 14)


def build_task(cfg: TaskConfig) -> TaskData:
    """Build the data of a task config; every bad value raises ConfigError before training starts."""
    if cfg.name not in BUILDERS:
        raise ConfigError(f"task.name={cfg.name!r}: expected one of {', '.join(BUILDERS)}")
    return BUILDERS[cfg.name](cfg)


__all__ = ["TaskData", "build_task"]
