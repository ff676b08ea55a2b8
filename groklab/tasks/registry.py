"""Tasks by name: each task module registers its builder (`@register("name")`) and, where it scores data files for
`groklab evaluate --data`, its reader (`@register_reader("name")`); adding a task is one file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groklab.tasks.base import TaskData

# builder(task config[, fitted state of a trained run]) -> TaskData; every bad value raises ConfigError
BUILDERS: dict[str, Callable[..., TaskData]] = {}
# reader(task config, PATH, the run's fitted state) -> TaskData encoded as the run's model was trained
READERS: dict[str, Callable[..., TaskData]] = {}


def _adder(table: dict[str, Callable[..., TaskData]], names: tuple[str, ...]) -> Callable:
    def add(fn: Callable[..., TaskData]) -> Callable[..., TaskData]:
        for name in names:
            if name in table:
                raise ValueError(f"task {name!r} registered twice ({table[name].__module__}, {fn.__module__})")
            table[name] = fn
        return fn
    return add


def register(*names: str) -> Callable:
    """Register a task builder under one or more `task.name` values."""
    return _adder(BUILDERS, names)


def register_reader(*names: str) -> Callable:
    """Register the reader of evaluation data files for one or more `task.name` values."""
    return _adder(READERS, names)


def fitted_arg(builder: Callable[..., TaskData], cfg: Any, fitted: dict[str, Any] | None) -> TaskData:
    """Call a builder with the fitted state only when there is one (only tasks that fit something take it)."""
    return builder(cfg, fitted) if fitted else builder(cfg)
