"""Training engines behind one loop (`engine.loop.run_loop`): which one trains a config, and groups of members.

`train(cfg)` is the reference (`loop.Single`: a plain nn.Module and torch.optim, every option). `train_many(cfgs)`
trains configs whose models share shapes together (`vectorized.Group`), replaying `train` member by member;
`unsupported(cfg)` names what it cannot replay, and such configs are trained by `train`. `train_one(cfg)` is what
`groklab run` calls: on CUDA (with `train.cuda_graphs`) a vectorisable config trains as a group of one whose step
is captured as a CUDA graph; elsewhere the reference loop (on a CPU it is the faster one for a single run).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.overrides import TorchFunctionMode

from groklab.config import RunConfig, check_integers, check_size, flatten, stop_conditions, validate
from groklab.engine.common import DTYPES, Progress, Schedule, resolve_device
from groklab.engine.graphs import capacity
from groklab.engine.loop import Member, MemorySink, Outcome, Single, Sink, matmul_precision, run_loop
from groklab.engine.vectorized import Group
from groklab.errors import ConfigError
from groklab.io import load_tensors
from groklab.models import build_model
from groklab.optim.vectorized import KINDS
from groklab.probes.live import PROBES, probe_names
from groklab.tasks import TaskData, build_task
from groklab.tasks.base import trivial_baseline

# Keys that may differ between members of one group: they change only the initialisation, the data split or the
# optimizer's hyper-parameters, never a shape or the schedule.
PER_MEMBER = {"seed", "name", "task.split_seed", "task.train_frac", "optim.lr", "optim.weight_decay", "optim.beta1",
              "optim.beta2", "optim.eps", "optim.warmup_steps", "optim.grokfast_alpha", "optim.grokfast_lamb",
              "optim.l1", "train.batch_size", "train.init_from", "train.mask_from", "train.keep_best",
              "train.fixed_norm", "model.init_scale", "optim.momentum", "train.stop_when", "train.stop_after",
              "optim.clip_grad_norm"}
NOT_VMAP_SAFE = {"moe": "its routing picks rows by data-dependent indices"}


def unsupported(cfg: RunConfig) -> str | None:
    """Why `cfg` cannot be vectorised (None if it can): what the group step does not replay, so a feature added
    to `Single` later falls back to it instead of being silently ignored."""
    o, t = cfg.optim, cfg.train
    checks = [
        (o.name in KINDS, f"optim.name={o.name}: Muon's orthogonalised update is not vectorised"),
        (o.grokfast in ("none", "ema"), f"optim.grokfast={o.grokfast}: the MA filter keeps a window of "
         f"{o.grokfast_window} gradients per member (only ema is vectorised)"),
        (t.loss != "mse_violation", "train.loss=mse_violation draws random codewords from the global RNG"),
        (cfg.model.name not in NOT_VMAP_SAFE, f"model.name={cfg.model.name}: {NOT_VMAP_SAFE.get(cfg.model.name)}"),
        (getattr(cfg.model, "dropout", 0) == 0, "model.dropout draws its masks from the global RNG inside the "
         "forward, which a group step cannot replay member by member"),
        (t.device in ("auto", "cpu", "cuda") and resolve_device(t.device).type in ("cpu", "cuda"),
         f"train.device={t.device}"),
    ]
    return next((why for ok, why in checks if not ok), None)


def check(cfg: RunConfig, task: TaskData | None = None) -> TaskData:
    """Everything about a config that can be checked before a folder is written: the config itself, the task
    (built here, and returned so it is built once), the model (built on the meta device: no memory, but every
    model key is checked and its size estimated), the probes, `train.keep_best` and the device."""
    validate(cfg)
    resolve_device(cfg.train.device)
    for name in probe_names(cfg.train.probes):
        if name not in PROBES:
            raise ConfigError(f"train.probes: unknown probe {name!r}; expected some of {', '.join(PROBES)}")
    task = task if task is not None else build_task(cfg.task)
    model = meta_model(cfg, task)
    check_start_files(cfg, model)
    trivial_baseline(task, cfg.train.baseline)  # a baseline asked of a task that has none is refused here
    n_params = parameter_count(model)
    itemsize = DTYPES[cfg.train.dtype].itemsize
    check_size(f"the model ({n_params:,} parameters with gradients and optimizer state)", 5 * n_params * itemsize,
               "choose smaller model sizes")
    known = {f"{s}/{k}" for s in ("train", "val", *task.evals) for k in ("loss", "acc")} | {"params/norm"}
    metrics = [("train.keep_best", cfg.train.keep_best)] + [("train.stop_when", key) for key, _, _ in
                                                            stop_conditions(cfg.train.stop_when)]
    for name, metric in metrics:
        if metric and metric not in known and not probe_names(cfg.train.probes):
            raise ConfigError(f"{name}={metric!r} is not a logged metric; expected one of "
                              f"{', '.join(sorted(known))} (or a probe's key with train.probes)")
    check_integers(cfg)  # a negative count no task or model reads: still refused
    return task


def parameter_count(model: torch.nn.Module | RunConfig, task: TaskData | None = None) -> int:
    """Trainable parameters of a model, or of `cfg`'s model for `task` (built on the meta device: no memory)."""
    if isinstance(model, RunConfig):
        model = meta_model(model, task if task is not None else build_task(model.task))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _SkipInit(TorchFunctionMode):
    """Initialisers on meta tensors do nothing. They would only fill memory that does not exist, and the first
    one imports torch._dynamo (through torch._refs), ~1.4 s of a process's start-up on the dev CPU."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in INITIALISERS:
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, Tensor) and tensor.is_meta:
                return tensor
        return func(*args, **kwargs)


INITIALISERS = {Tensor.normal_, Tensor.uniform_, Tensor.bernoulli_, Tensor.exponential_, Tensor.random_,
                *(getattr(torch.nn.init, f) for f in ("normal_", "uniform_", "trunc_normal_", "xavier_normal_",
                                                      "xavier_uniform_", "kaiming_normal_", "kaiming_uniform_",
                                                      "orthogonal_", "sparse_"))}


def meta_model(cfg: RunConfig, task: TaskData) -> torch.nn.Module:
    """`cfg`'s model on the meta device (shapes and every model key checked, no memory, no initialisation)."""
    with torch.device("meta"), _SkipInit():
        return build_model(cfg.model, task)


def check_start_files(cfg: RunConfig, model: torch.nn.Module) -> None:
    """`train.init_from` must hold {"model": a state dict of this model}, `train.mask_from` {name: mask} of its
    parameters, same shapes; both loaded tensors-only (an untrusted pickle is refused)."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for key, path, what in (("init_from", cfg.train.init_from, "checkpoint"), ("mask_from", cfg.train.mask_from,
                                                                                "mask file")):
        if not path:
            continue
        data = load_tensors(path, f"train.{key} {what}")
        tensors = data.get("model") if key == "init_from" and isinstance(data, dict) else data
        if not isinstance(tensors, dict) or not all(isinstance(v, Tensor) for v in tensors.values()):
            raise ConfigError(f"train.{key}={path}: expected " + ('{"model": state dict}' if key == "init_from"
                                                                   else "{parameter name: 0/1 tensor}"))
        wrong = sorted(k for k, v in tensors.items() if shapes.get(k) != tuple(v.shape))
        missing = sorted(set(shapes) - set(tensors)) if key == "init_from" else []
        if wrong or missing:
            raise ConfigError(f"train.{key}={path} does not fit model.name={cfg.model.name}: "
                              f"{', '.join((wrong + missing)[:4])} (names or shapes differ)")


def build_tasks(cfgs: Sequence[RunConfig]) -> list[TaskData]:
    """The task of every config, each distinct task config built once."""
    built: dict[str, TaskData] = {}
    out = []
    for cfg in cfgs:
        key = json.dumps(cfg.to_dict()["task"], sort_keys=True)
        if key not in built:
            built[key] = build_task(cfg.task)
        out.append(built[key])
    return out


def group_key(cfg: RunConfig, task: TaskData) -> str:
    """Members with equal keys train together: same shapes, data sizes, schedules and numerics."""
    shared = {k: v for k, v in flatten(cfg.to_dict()).items() if k not in PER_MEMBER}
    shared |= {"shapes": {name: [list(x.shape), list(y.shape)] for name, (x, y) in
                          {"train": (task.x_train, task.y_train), "val": (task.x_val, task.y_val),
                           **task.evals}.items()},
               "batch": cfg.train.resolved_batch_size(task.n_train), "device": str(resolve_device(cfg.train.device)),
               "fixed_norm": cfg.train.fixed_norm > 0}  # the norm itself may differ between members
    return json.dumps(shared, sort_keys=True, default=str)


def train(cfg: RunConfig, sink: Sink | None = None, progress: bool = False, init: dict[str, Tensor] | None = None,
          masks: dict[str, Tensor] | None = None, task: TaskData | None = None) -> Outcome:
    """Train `cfg` with the reference step; `init` (a state dict) replaces the initialisation and `masks`
    ({name: 0/1}) multiply the weights after every step; by default both come from `train.init_from` /
    `train.mask_from`. A sink's latest checkpoint resumes the run."""
    validate(cfg)
    sink = sink if sink is not None else MemorySink()
    task = task if task is not None else build_task(cfg.task)
    state = sink.load_latest()
    start = state["step"] if state is not None else 0
    member = Member.of(cfg, sink, state)
    with matmul_precision(cfg.train):
        trainer = Single(cfg, task, resolve_device(cfg.train.device), state, init, masks)
        run_loop(trainer, [member], start, Schedule.of(cfg.train), Progress(cfg.train.steps, start, progress))
    assert member.outcome is not None
    return member.outcome


def train_many(cfgs: Sequence[RunConfig], sinks: Sequence[Sink] | None = None, progress: bool = False,
               max_members: int | None = None, tasks: Sequence[TaskData] | None = None) -> list[Outcome]:
    """Train every config (all must be `unsupported(cfg) is None`); returns their Outcomes in order.

    Configs are grouped by `group_key` and by the step their checkpoint resumes from; each group trains in
    chunks of at most `max_members` (default: all on CPU, what free memory allows on CUDA).
    """
    for cfg in cfgs:
        validate(cfg)
        if (why := unsupported(cfg)) is not None:
            raise ValueError(f"{cfg.run_name} cannot be vectorised: {why}")
    sinks = list(sinks) if sinks is not None else [MemorySink() for _ in cfgs]
    tasks = list(tasks) if tasks is not None else build_tasks(cfgs)
    states = [s.load_latest() for s in sinks]
    members = [Member.of(c, s, st) for c, s, st in zip(cfgs, sinks, states, strict=True)]
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (cfg, task, state) in enumerate(zip(cfgs, tasks, states, strict=True)):
        groups.setdefault((group_key(cfg, task), state["step"] if state else 0), []).append(i)
    for (_, start), index in groups.items():
        cfg0, device = cfgs[index[0]], resolve_device(cfgs[index[0]].train.device)
        size = max_members or capacity(cfg0, tasks[index[0]], device)
        for chunk in (index[i : i + size] for i in range(0, len(index), size)):
            with matmul_precision(cfg0.train), sdpa_kernel([SDPBackend.MATH]):  # vmap has no rule for fused SDPA
                group = Group([cfgs[i] for i in chunk], [tasks[i] for i in chunk], device,
                              [states[i] for i in chunk], start)
                bar = Progress(cfg0.train.steps, start, progress)
                run_loop(group, [members[i] for i in chunk], start, Schedule.of(cfg0.train), bar)
    return [m.outcome for m in members]  # type: ignore[misc]


def train_one(cfg: RunConfig, sink: Sink | None = None, progress: bool = False,
              task: TaskData | None = None) -> Outcome:
    """One run by the fastest path that replays `train`: on CUDA with `train.cuda_graphs`, the captured group
    step (a group of one: on a GPU, launch overhead is what a tiny model's step costs); elsewhere `train`."""
    if cfg.train.cuda_graphs and unsupported(cfg) is None and resolve_device(cfg.train.device).type == "cuda":
        sinks: list[Any] = [sink if sink is not None else MemorySink()]
        return train_many([cfg], sinks, progress=progress, tasks=[task] if task is not None else None)[0]
    return train(cfg, sink, progress=progress, task=task)


__all__ = ["MemorySink", "Outcome", "Sink", "build_tasks", "check", "group_key", "parameter_count", "resolve_device",
           "train",
           "train_many", "train_one", "unsupported"]
