"""CUDA-graph capture of the vectorised step, and how many members fit on the device.

A vectorised step is hundreds of small kernels, and on a GPU the Python and launch overhead of issuing them
(vmap's batching rules, functional_call, the optimizer's foreach ops) costs far more than the kernels. Captured
once, the whole step replays as one launch. On a CPU nothing here is used: graphs are off and the capacity is
unbounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from groklab.config import RunConfig
from groklab.engine.common import DTYPES, EVAL_CHUNK
from groklab.models import build_model
from groklab.tasks import TaskData


class GraphedStep:
    """Calls `fn(key)` (a training step that reads and writes fixed tensors in place); with `enabled`, each `key`
    (a batch shape) as its own CUDA graph.

    As torch's CUDA-graph recipe asks, the first `warmup` calls of a key run eagerly on a side stream (they are
    real steps: lazy initialisation of cuBLAS handles, autograd and the allocator happens there), the next call
    captures and replays, later calls only replay. A capture bakes in the addresses of the tensors it reads, so
    `fn` must update its state in place, and `reset()` must be called when those tensors are replaced (a member
    leaving the group).
    """

    def __init__(self, fn: Callable[[int], None], enabled: bool, warmup: int = 2) -> None:
        self.fn, self.enabled, self.warmup = fn, enabled, warmup
        self.calls: dict[int, int] = {}
        self.graphs: dict[int, Any] = {}
        self.captured = 0  # how many captures were made (tests, benchmarks)

    def reset(self) -> None:
        self.calls, self.graphs = {}, {}

    def __call__(self, key: int) -> None:
        if not self.enabled:
            self.fn(key)
        elif key in self.graphs:
            self.graphs[key].replay()
        elif self.calls.get(key, 0) < self.warmup:
            self.calls[key] = self.calls.get(key, 0) + 1
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.fn(key)
            torch.cuda.current_stream().wait_stream(side)
        else:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.fn(key)
            self.graphs[key], self.captured = graph, self.captured + 1
            graph.replay()


def activation_bytes(cfg: RunConfig, task: TaskData, n: int) -> int:
    """A generous estimate of one member's activation memory for a forward and backward over n examples."""
    m = dataclasses.asdict(cfg.model)  # the widths this model has: an MLP has no heads, tickets_mlp one layer
    seq = task.x_train.shape[1] if task.x_train.dim() > 1 else 1
    per_token = 6 * m.get("d_model", m["d_mlp"]) + 2 * m["d_mlp"] + 3 * m.get("n_heads", 1) * seq
    return n * seq * per_token * m.get("n_layers", 1) * 8 + n * (task.n_classes or 1) * 16


def capacity(cfg: RunConfig, task: TaskData, device: torch.device) -> int:
    """Members per group: unbounded on CPU; on CUDA what half the free memory holds (params, grads, moments,
    and three training steps' activations: the eager warm-up's cached blocks and the private memory pools of
    the two captured batch shapes)."""
    if device.type != "cuda":
        return 1 << 30
    free, _ = torch.cuda.mem_get_info(device)
    model = build_model(cfg.model, task)
    n_params = sum(p.numel() for p in model.parameters())
    itemsize = torch.finfo(DTYPES[cfg.train.dtype]).bits // 8
    batch = cfg.train.resolved_batch_size(task.n_train)
    per_member = 6 * n_params * itemsize + 3 * activation_bytes(cfg, task, batch)
    return max(1, int(0.5 * free // per_member))


def eval_chunk(cfg: RunConfig, task: TaskData, n_members: int, device: torch.device) -> int:
    """Members per vmapped evaluation forward, so that an evaluation over a whole split fits in memory."""
    budget = torch.cuda.mem_get_info(device)[0] // 4 if device.type == "cuda" else 2 << 30
    largest = max([task.n_train, len(task.x_val), *(len(x) for x, _ in task.evals.values())])
    per_member = activation_bytes(cfg, task, min(EVAL_CHUNK, largest))
    return max(1, min(n_members, int(budget // max(per_member, 1))))
