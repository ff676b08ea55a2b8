"""Analytic predictions of a run's dynamics, by task name: the run code stores `predict(config, task)` in
summary.json as `prediction`, next to what the run measures (Levi 2023: the step at which validation accuracy
crosses 95%). A task with a closed-form theory registers it here; the loop knows nothing about it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groklab.probes.linear_teacher import predict_grokking
from groklab.tasks.base import TaskData

Prediction = Callable[[Any, TaskData], dict[str, Any]]

PREDICTIONS: dict[str, Prediction] = {"linear_teacher": predict_grokking}


def predict(cfg: Any, task: TaskData) -> dict[str, Any] | None:
    """The registered prediction for the run config's task, or None when the task has none."""
    prediction = PREDICTIONS.get(cfg.task.name)
    return prediction(cfg, task) if prediction is not None else None
