"""Tasks: train/validation tensors plus what the loss and the metrics are (design.md, "Task data")."""

from __future__ import annotations

from typing import Any

from groklab.config import TaskConfig
from groklab.errors import ConfigError

# each module registers its builder (and reader) when imported (tasks/registry.py)
from groklab.tasks import binding, images, knowledge_graph, linear_teacher, mheight, modular, multiterm, toy  # noqa: F401
from groklab.tasks.base import TaskData
from groklab.tasks.registry import BUILDERS, READERS, fitted_arg


def build_task(cfg: TaskConfig, fitted: dict[str, Any] | None = None) -> TaskData:
    """Build the data of a task config; every bad value raises ConfigError before training starts. `fitted` is a
    trained run's TaskData.fitted: the task encodes its rows with those statistics instead of fitting new ones
    (only tasks that fit something have a non-empty one, and only their builders take it)."""
    if cfg.name not in BUILDERS:
        raise ConfigError(f"task.name={cfg.name!r}: expected one of {', '.join(BUILDERS)}")
    return fitted_arg(BUILDERS[cfg.name], cfg, fitted)


def read_data(cfg: TaskConfig, path: str, fitted: dict[str, Any]) -> TaskData:
    """The evaluation data at `path` for a run of task config `cfg` (its READERS entry); one line for a task that
    reads no data files."""
    if cfg.name not in READERS:
        raise ConfigError(f"--data: task.name={cfg.name} reads no data files ({', '.join(READERS)} do); score it "
                          "on other data of its own with KEY=VALUE task overrides (e.g. task.split_seed=1)")
    return READERS[cfg.name](cfg, path, fitted)


__all__ = ["TaskData", "build_task", "read_data"]
