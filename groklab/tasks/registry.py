"""Tasks by name: each task module registers its builder (`@register("name")`) and, where it scores data files for
`groklab evaluate --data`, its reader (`@register_reader("name")`); adding a task is one file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groklab.config import TASKS, TaskConfig
from groklab.registry import Registry
from groklab.tasks.base import TaskData

# builder(task config[, fitted state of a trained run]) -> TaskData; every bad value raises ConfigError
BUILDERS = Registry("task")
# reader(task config, PATH, the run's fitted state) -> TaskData encoded as the run's model was trained
READERS = Registry("task reader")
register_reader = READERS.register


def register(*names: str, settings: type[TaskConfig] = TaskConfig) -> Callable:
    """A decorator registering a builder under `names`, and `settings`, the frozen dataclass of the keys it reads
    (a subclass of TaskConfig; TaskConfig itself takes the common keys only), as the schema `task.name` selects."""
    TASKS.register(*names)(settings)
    return BUILDERS.register(*names)


def fitted_arg(builder: Callable[..., TaskData], cfg: Any, fitted: dict[str, Any] | None) -> TaskData:
    """Call a builder with the fitted state only when there is one (only tasks that fit something take it)."""
    return builder(cfg, fitted) if fitted else builder(cfg)
