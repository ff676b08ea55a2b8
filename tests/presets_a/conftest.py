import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import torch

from groklab.config import RunConfig
from groklab.engine import MemorySink, train


def _history(cfg: RunConfig) -> dict[str, list[Any]]:
    """Train on the CPU without checkpoints; the history as columns (None where a row lacks the key)."""
    sink = MemorySink()
    overrides = {"device": "cpu", "log_checkpoints": 0, "checkpoint_every": cfg.train.steps}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these nets are tiny: one thread is faster than two fighting over 2 shared cores
    try:
        train(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **overrides)), sink)
    finally:
        torch.set_num_threads(threads)
    keys = sorted(set().union(*sink.rows))
    return {k: [row.get(k) for row in sink.rows] for k in keys}


@pytest.fixture
def history() -> Callable[[RunConfig], dict[str, list[Any]]]:
    return _history
