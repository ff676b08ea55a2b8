"""Tasks: train/validation tensors plus what the loss and the metrics are (design.md, "Task data")."""

from __future__ import annotations

from typing import Any

from groklab.config import TaskConfig
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData
from groklab.tasks.binding import build_variable_binding
from groklab.tasks.images import build_mnist, read_mnist
from groklab.tasks.knowledge_graph import build_knowledge_graph
from groklab.tasks.linear_teacher import build_linear_teacher
from groklab.tasks.mheight import build_mheight, read_mheight
from groklab.tasks.modular import build_modular
from groklab.tasks.multiterm import build_multiterm
from groklab.tasks.toy import build_toy_addition

BUILDERS = {"modular": build_modular, "multiterm": build_multiterm, "toy_addition": build_toy_addition}
BUILDERS["mheight"] = build_mheight  # m-height regression (issue 4; groklab.tasks.mheight)
BUILDERS["variable_binding"] = build_variable_binding  # chains of assignments (issue 16; groklab.tasks.binding)
BUILDERS["mnist"] = build_mnist  # MNIST-like images from offline sources (issue 13; groklab.tasks.images)
BUILDERS["kg_composition"] = BUILDERS["kg_comparison"] = build_knowledge_graph  # Wang 2024 (issue 14)
BUILDERS["linear_teacher"] = build_linear_teacher  # Levi 2023 (issue 14)


# Readers of evaluation data for `groklab evaluate --data PATH`: (task config, PATH, the run's fitted statistics)
# -> TaskData encoded as the run's model was trained.
READERS = {"mheight": read_mheight, "mnist": read_mnist}


def build_task(cfg: TaskConfig, fitted: dict[str, Any] | None = None) -> TaskData:
    """Build the data of a task config; every bad value raises ConfigError before training starts. `fitted` is a
    trained run's TaskData.fitted: the task encodes its rows with those statistics instead of fitting new ones
    (only tasks that fit something have a non-empty one, and only their builders take it)."""
    if cfg.name not in BUILDERS:
        raise ConfigError(f"task.name={cfg.name!r}: expected one of {', '.join(BUILDERS)}")
    return BUILDERS[cfg.name](cfg, fitted) if fitted else BUILDERS[cfg.name](cfg)


def read_data(cfg: TaskConfig, path: str, fitted: dict[str, Any]) -> TaskData:
    """The evaluation data at `path` for a run of task config `cfg` (its READERS entry); one line for a task that
    reads no data files."""
    if cfg.name not in READERS:
        raise ConfigError(f"--data: task.name={cfg.name} reads no data files ({', '.join(READERS)} do); score it "
                          "on other data of its own with KEY=VALUE task overrides (e.g. task.split_seed=1)")
    return READERS[cfg.name](cfg, path, fitted)


__all__ = ["TaskData", "build_task", "read_data"]
