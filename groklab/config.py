"""Frozen dataclass configs, dotted overrides (`optim.lr=3e-4`) and validation.

Every value a run depends on lives here, so that `config.json` is a complete record and the same resolved config
always gives the same run name. Validation happens before anything is written (design.md).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import json
import math
import os
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from groklab.errors import ConfigError

S = TypeVar("S", bound=type)


class Group(dict[str, type]):
    """A config group (Hydra's term): `task`, `model` or `optim`. `<group>.name` selects one registered schema, a
    frozen dataclass of the settings its module reads, and `<group>.KEY` is checked against that schema only.

    The module that builds a task, model or optimizer defines its schema and registers it (`@TASKS.register("x")`),
    so nothing here names them; `package` is imported on first use so that its modules have registered (the way
    timm's `create_model` finds models its package registered)."""

    def __init__(self, key: str, default: str, package: str) -> None:
        super().__init__()
        self.key, self.default_name, self.package = key, default, package

    def register(self, *names: str) -> Callable[[S], S]:
        """A class decorator adding a schema under each of `names` (its `name` default is the first)."""
        def add(cls: S) -> S:
            for name in names:
                if name in self and self[name] is not cls:
                    raise ValueError(f"{self.key} {name!r} registered twice ({self[name].__module__}, "
                                     f"{cls.__module__})")
                self[name] = cls
            return cls
        return add

    def load(self) -> Group:
        if not self:
            importlib.import_module(self.package)
        import_plugins()
        return self

    def schema(self, name: str) -> type:
        """The schema selected by `<group>.name=name`, or a one-line ConfigError listing the names."""
        if name not in self.load():
            close = difflib.get_close_matches(name, list(self), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{self.key}.name={name!r}{hint}: expected one of {', '.join(self)}")
        return self[name]

    def make(self, name: str | None = None, **values: Any) -> Any:
        """The settings of `name` (the group's default when None) with `values`, checked like overrides."""
        name = name or self.default_name
        base = self.schema(name)(name=name)
        return _apply_group(self, base, {f"{self.key}.{k}": v for k, v in values.items()})

    def default(self) -> Any:
        return self.make()

    def owners(self, key: str) -> list[str]:
        """The names whose schema takes `key`."""
        return [name for name, cls in self.load().items() if key in {f.name for f in dataclasses.fields(cls)}]

    def keys_of(self, name: str) -> list[str]:
        return [f.name for f in dataclasses.fields(self.schema(name)) if f.name != "name"]


PLUGINS = "GROKLAB_PLUGINS"  # modules (a.b) or files (path/x.py), comma-separated, that register tasks or models
_plugins: set[str] = set()  # those imported (or being imported) in this process


def import_plugins() -> None:
    """Import the user's modules named in $GROKLAB_PLUGINS, once per process, so that what they register is found by
    name like groklab's own: by the CLI, and by a sweep's worker processes and SLURM jobs, which inherit the
    variable. A file is imported under its stem as module name, as `import stem` would from its folder."""
    for item in filter(None, (i.strip() for i in os.environ.get(PLUGINS, "").split(","))):
        if item in _plugins:
            continue
        _plugins.add(item)  # first: a module that asks for a schema while it is imported must not import it again
        try:
            _import_file(Path(item)) if item.endswith(".py") else importlib.import_module(item)
        except Exception as e:
            _plugins.discard(item)
            raise ConfigError(f"{PLUGINS}: cannot import {item} ({type(e).__name__}: {e})") from None


def _import_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError("no such file")
    loaded = sys.modules.get(path.stem)
    if loaded is not None:  # imported already (by the user's script, or a worker's parent): the same file only
        where = getattr(loaded, "__file__", None)
        if where is not None and Path(where).resolve() == path.resolve():
            return
        raise ImportError(f"a module named {path.stem} is already imported from {where or 'built-ins'}; rename the "
                          "file")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError("not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses and typing.get_type_hints look a class's module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[path.stem]
        raise


@dataclass(frozen=True)
class TaskConfig:
    """What every task's settings hold; each task module subclasses it with the keys its builder reads (e.g.
    groklab.tasks.modular.ModularConfig) and registers the subclass as the schema `task.name` selects."""

    name: str = "modular"  # the registered task (groklab.tasks): modular, mnist, mheight, ...
    split_seed: int = 0  # seeds the task's data draws and train/validation split, separately from the init seed
    # train.loss values that need this task's own term of the objective (TaskData.penalty), e.g. mse_violation
    losses: ClassVar[tuple[str, ...]] = ()

    def check(self) -> None:
        """The schema's own value rules (one-line ConfigErrors); `validate` calls it."""

    def label(self) -> str:
        """The middle part of the run folder's name: what the data is."""
        return self.name

    def describe(self) -> str:
        """What the task is, in a few words (`groklab presets`)."""
        return self.name


@dataclass(frozen=True)
class ModelConfig:
    """What every model's settings hold; each model module subclasses it with the keys its builder reads (its
    schema, registered with the builder: groklab.models.registry.register)."""

    name: str = "power_transformer"  # a registered model (groklab.models): it selects the schema of the other keys
    d_mlp: int = 512  # hidden width: a transformer block's feed-forward width, an MLP's hidden layers
    act: str = "relu"  # the hidden nonlinearity, one of the model's ACTS

    ACTS: ClassVar[tuple[str, ...]] = ("relu", "gelu")  # the activations a model implements

    def check(self) -> None:
        """The schema's own value rules (one-line ConfigErrors); `validate` and `build_model` call it. A subclass
        adds its keys' rules and calls this one."""
        if self.act not in self.ACTS:
            raise ConfigError(f"model.act={self.act!r}: model.name={self.name} takes model.act="
                              f"{' or '.join(self.ACTS)}")
        check_count("d_mlp", self.d_mlp, MAX_WIDTH)


def check_count(key: str, value: int, most: int, least: int = 1) -> None:
    """A model size or count: at least `least`, and at most `most` (a model is built, on the meta device, layer by
    layer before its memory is estimated, so a typo of 10**9 layers must stop before that)."""
    if value < least:
        raise ConfigError(f"model.{key} must be >= {least} (got {value})")
    if value > most:
        raise ConfigError(f"model.{key} must be at most {most:,} (got {value:,})")


@dataclass(frozen=True)
class OptimConfig:
    """What every optimizer takes: the learning rate, its warm-up, weight decay, and what the training step does
    around any optimizer (an L1 term in the loss, Grokfast's gradient filter, gradient clipping). Each optimizer's
    own settings extend it (groklab.optim: adam, sgd, muon)."""

    name: str = "adamw"  # adamw | adam | sgd | muon (groklab.optim; each has its own settings)
    lr: float = 1e-3
    weight_decay: float = 1.0
    warmup_steps: int = 10  # linear warm-up from lr/warmup_steps to lr over this many steps (0 = off)
    l1: float = 0.0  # L1 penalty coefficient added to the loss (sum of |w| over all parameters)
    grokfast: str = "none"  # none | ema | ma: amplify slow gradients (Lee et al. 2024, papers.md Extra A)
    grokfast_alpha: float = 0.98  # EMA momentum
    grokfast_lamb: float = 2.0  # amplification λ (paper: 2 for EMA, 5 for MA)
    grokfast_window: int = 100  # MA window
    clip_grad_norm: float = 0.0  # > 0: clip the global gradient norm to this (torch.nn.utils.clip_grad_norm_)

    def check(self) -> None:
        """The schema's own value rules (one-line ConfigErrors); `validate` calls it."""
        checks = [
            (self.lr > 0, f"optim.lr must be > 0 (got {self.lr})"),
            (self.weight_decay >= 0, f"optim.weight_decay must be >= 0 (got {self.weight_decay})"),
            (self.warmup_steps >= 0, f"optim.warmup_steps must be >= 0 (got {self.warmup_steps})"),
            (self.l1 >= 0, f"optim.l1 must be >= 0 (got {self.l1})"),
            (self.grokfast in GROKFAST, f"optim.grokfast={self.grokfast!r}: expected one of {', '.join(GROKFAST)}"),
            (0 <= self.grokfast_alpha < 1, f"optim.grokfast_alpha must be in [0, 1) (got {self.grokfast_alpha})"),
            (0 < self.grokfast_window <= 10_000,
             f"optim.grokfast_window must be in 1..10000 (got {self.grokfast_window})"),
            (self.clip_grad_norm >= 0, f"optim.clip_grad_norm must be >= 0 (0 = off; got {self.clip_grad_norm})"),
        ]
        refuse_first(checks)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 5_000  # optimizer steps
    batch_size: str = "auto"  # auto = min(512, ceil(N_train / 2)) (Power et al. 2022); full; or a positive int
    eval_every: int = 100  # evaluate every N steps, besides a dense early, log-spaced schedule
    dtype: str = "float32"  # float32 | float64 (parameters and activations)
    loss: str = "ce"  # ce (cross-entropy) | stablemax (Prieto 2025) | mse (to one-hot: Gromov, Omnigrok) | mse
    loss_dtype: str = "float32"  # precision of the loss: float16 | float32 | float64 (papers.md §03 pitfall)
    probes: str = ""  # comma-separated probes measured at every evaluation (groklab.probes.live.PROBES)
    device: str = "auto"  # auto (cuda, else mps, else cpu) | cpu | cuda | mps
    cuda_graphs: bool = True  # on CUDA, capture the training step of vectorisable configs as a CUDA graph
    tf32: bool = False  # on CUDA, float32 matmuls on TF32 tensor cores (10-bit mantissa; faster, not exact)
    compile: bool = False  # on CUDA, torch.compile the vectorised forward/backward (pays off on long runs only)
    checkpoint_every: int = 1_000  # write checkpoints/latest.pt every N steps (and at the end)
    log_checkpoints: int = 30  # about this many model-only checkpoints, log-spaced in steps, for later analysis
    init_from: str = ""  # a .pt checkpoint ({"model": state_dict}) whose weights replace the initialisation
    mask_from: str = ""  # a .pt of {param name: 0/1 mask}; weights are multiplied by it after every step (tickets)
    violation_weight: float = 0.1  # loss=mse_violation: weight of relu(log2 h_sampled - log2 h_hat)^2 (mheight)
    violation_samples: int = 20  # loss=mse_violation: random codewords per sample (mheight.md §6)
    probe_every: int = 0  # measure train.probes every N steps (and at the first and last step); 0 = every evaluation
    fixed_norm: float = 0.0  # > 0: rescale all parameters to this global L2 norm after every step (Omnigrok §3)
    keep_best: str = ""  # a logged metric (val/loss, val/acc, ...): keep checkpoints/best.pt at its best value
    stop_when: str = ""  # e.g. val/acc>=0.99 (comma-separated: all at once): end early once it held stop_after evals
    stop_after: int = 5  # consecutive evaluations stop_when must hold (the detector's patience, 3, and 2 more)
    baseline: str = "auto"  # regression's trivial baseline in summary.json: auto | mean | group_mean | none
    log: str = ""  # extra trackers besides metrics.jsonl: tensorboard, wandb (offline), or both comma-separated

    def resolved_batch_size(self, n_train: int) -> int:
        if self.batch_size == "auto":
            return min(512, -(-n_train // 2))
        if self.batch_size == "full":
            return n_train
        return min(int(self.batch_size), n_train)


@dataclass(frozen=True)
class ProbeConfig:
    """Settings of the measuring live probes (train.probes), e.g. Humayun et al. 2024's (papers.md §06), which are
    expensive enough to run every train.probe_every steps only."""

    lc_points: int = 256  # local complexity: points per set (train, test, uniform random)
    lc_vertices: int = 20  # hull vertices around each point: lc_vertices/2 orthonormal directions, each used ±
    lc_radius: float = 1.0  # hull radius r on the inputs' scale ([0, 1] pixels; the authors sweep 0.05 .. 5)
    lc_seed: int = 0  # directions and random points, fixed across evaluations
    adv_points: int = 500  # PGD: the first test inputs attacked
    adv_eps: float = 0.1  # PGD: l-inf radius on the inputs' scale
    adv_step: float = 0.025  # PGD: step size
    adv_iters: int = 10  # PGD: iterations (0: clean accuracy)


TASKS = Group("task", "modular", "groklab.tasks")
MODELS = Group("model", "power_transformer", "groklab.models")
OPTIMIZERS = Group("optim", "adamw", "groklab.optim")
GROUPS = {group.key: group for group in (TASKS, MODELS, OPTIMIZERS)}


@dataclass(frozen=True)
class RunConfig:
    name: str = "power2022"  # readable prefix of the run folder (the preset's name by default)
    seed: int = 0  # model initialisation and minibatch order
    task: TaskConfig = field(default_factory=TASKS.default)  # the settings of the task named task.name
    model: ModelConfig = field(default_factory=MODELS.default)
    optim: OptimConfig = field(default_factory=OPTIMIZERS.default)
    train: TrainConfig = field(default_factory=TrainConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return apply_overrides(cls(), flatten(data))

    @property
    def digest(self) -> str:
        """Short hash of the resolved config: the same config always lands in the same run folder.

        Only values that differ from the defaults are hashed (a group's keys from its selected schema's defaults,
        its name from the group's default name), so adding a key with a default that keeps the old behaviour
        leaves every existing run name, and so resume, intact.
        """
        defaults = flatten(RunConfig().to_dict())
        for key in GROUPS:
            schema = type(getattr(self, key))
            own = {f.name: getattr(schema, f.name) for f in dataclasses.fields(schema) if f.name != "name"
                   and f.default is not dataclasses.MISSING}
            defaults.update({f"{key}.{k}": v for k, v in own.items()})
        changed = {k: v for k, v in flatten(self.to_dict()).items() if k not in defaults or v != defaults[k]}
        text = json.dumps(changed, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    @property
    def run_name(self) -> str:
        return f"{self.name}-{self.task.label()}-{self.digest}"


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def all_keys(cfg: RunConfig | None = None) -> dict[str, Any]:
    """Every dotted key of a config (the default one when None), mapped to its type: its groups' selected schemas
    and the plain sections."""
    cfg = cfg if cfg is not None else RunConfig()
    keys: dict[str, Any] = {}
    for f in dataclasses.fields(RunConfig):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            hints = typing.get_type_hints(type(value))
            keys.update({f"{f.name}.{g.name}": hints[g.name] for g in dataclasses.fields(value)})
        else:
            keys[f.name] = typing.get_type_hints(RunConfig)[f.name]
    return keys


def every_key() -> dict[str, Any]:
    """Every dotted key any schema of any group takes (a sweep may select a schema per member)."""
    keys = all_keys()
    for group in GROUPS.values():
        for cls in group.load().values():
            hints = typing.get_type_hints(cls)
            keys.update({f"{group.key}.{f.name}": hints[f.name] for f in dataclasses.fields(cls)})
    return keys


def parse_value(key: str, raw: Any, tp: Any) -> Any:
    """Convert a CLI string (or a JSON value) to the field's type, or raise a one-line ConfigError."""
    args = typing.get_args(tp)
    optional = type(None) in args
    if optional:
        if raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null")):
            return None
        tp = next(a for a in args if a is not type(None))
    try:
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "1", "yes"):
                return True
            if str(raw).lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if tp is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            if isinstance(raw, str):
                value = float(raw) if any(c in raw for c in ".eE") else int(raw)
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                return int(value)
            return int(raw)
        if tp is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if tp is str:
            return str(raw)
    except (TypeError, ValueError):
        kind = getattr(tp, "__name__", str(tp))
        raise ConfigError(f"{key}={raw!r}: expected {'null or ' if optional else ''}{kind}") from None
    raise ConfigError(f"{key}: unsupported type {tp}")  # pragma: no cover - a programming error


def apply_overrides(base: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Return `base` with dotted-key overrides applied. A group's `name` is applied first and selects its schema;
    its other keys are checked against that schema only (a key of another schema names its owners); other unknown
    keys get a did-you-mean."""
    sections: dict[str, dict[str, Any]] = {}
    for key, raw in overrides.items():
        section = key.split(".", 1)[0] if "." in key else ""
        sections.setdefault(section, {})[key] = raw
    top: dict[str, Any] = {}
    for section, items in sections.items():
        if section in GROUPS:
            top[section] = _apply_group(GROUPS[section], getattr(base, section), items)
            continue
        keys = all_keys(base)
        values: dict[str, Any] = {}
        for key, raw in items.items():
            if key not in keys:
                raise ConfigError(_unknown(key))
            values[key.split(".", 1)[-1]] = parse_value(key, raw, keys[key])
        if section:
            top[section] = dataclasses.replace(getattr(base, section), **values)
        else:
            top.update(values)
    return dataclasses.replace(base, **top)


def _apply_group(group: Group, current: Any, overrides: dict[str, Any]) -> Any:
    """One group's overrides: `<group>.name` first (a new name brings its schema with its defaults, keeping the
    values of the keys both schemas take, as a flat config did), then every other key against that schema."""
    prefix = f"{group.key}."
    if prefix + "name" in overrides:
        name = parse_value(prefix + "name", overrides[prefix + "name"], str)
        schema = group.schema(name)
        if name != current.name or type(current) is not schema:
            own = {f.name for f in dataclasses.fields(schema)} - {"name"}
            kept = {f.name: getattr(current, f.name) for f in dataclasses.fields(current) if f.name in own}
            current = schema(name=name, **kept)
    hints = typing.get_type_hints(type(current))
    own = {f.name for f in dataclasses.fields(current)}
    values: dict[str, Any] = {}
    for key, raw in overrides.items():
        field_name = key[len(prefix):]
        if field_name == "name":
            continue
        if field_name not in own:
            owners = group.owners(field_name)
            if not owners:
                raise ConfigError(_unknown(key))
            takes = ", ".join(group.keys_of(current.name)) or "no other keys"
            raise ConfigError(f"{key} applies to {group.key}.name={' or '.join(owners)}; this {group.key} is "
                              f"{current.name} (it takes {takes})")
        values[field_name] = parse_value(key, raw, hints[field_name])
    return dataclasses.replace(current, **values)


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key, list(every_key()), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown config key {key!r}{hint}"


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`["optim.lr=3e-4", "task.op=x+y"]` -> dict; a malformed item is a ConfigError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not KEY=VALUE (e.g. optim.lr=3e-4)")
        out[key.strip()] = value.strip()
    return out


def validate(cfg: RunConfig) -> None:
    """Checks that need no data and no other module; the task, the model, the probes and the device are checked
    by `groklab.engine.check` before anything is written (design.md "Validation")."""
    t = cfg.train
    for key, value in flatten(cfg.to_dict()).items():  # before any range check, which NaN would fail confusingly
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key}={value}: expected a finite number")
    _check_groups(cfg)
    _check_budget(t)
    checks = [
        (t.probe_every >= 0, f"train.probe_every must be >= 0 (got {t.probe_every})"),
        (t.dtype in DTYPES, f"train.dtype={t.dtype!r}: expected one of {', '.join(DTYPES)}"),
        (t.loss_dtype in LOSS_DTYPES, f"train.loss_dtype={t.loss_dtype!r}: expected {', '.join(LOSS_DTYPES)}"),
        (t.loss in LOSSES, f"train.loss={t.loss!r}: expected one of {', '.join(LOSSES)}"),
        (t.device in ("auto", "cpu", "cuda", "mps"), f"train.device={t.device!r}: expected auto, cpu, cuda or mps"),
        (0 <= t.log_checkpoints <= 10_000, f"train.log_checkpoints must be in 0..10000 (got {t.log_checkpoints})"),
        (t.fixed_norm >= 0, f"train.fixed_norm must be >= 0 (0 = off; got {t.fixed_norm})"),
        (not t.init_from or Path(t.init_from).is_file(), f"train.init_from={t.init_from!r}: no such file"),
        (not t.mask_from or Path(t.mask_from).is_file(), f"train.mask_from={t.mask_from!r}: no such file"),
        (t.loss in cfg.task.losses or not _loss_owners(t.loss),
         f"train.loss={t.loss} needs task.name={' or '.join(_loss_owners(t.loss))}"),
        (t.violation_weight >= 0, f"train.violation_weight must be >= 0 (got {t.violation_weight})"),
        (1 <= t.violation_samples <= 10_000,
         f"train.violation_samples must be in 1..10000 (got {t.violation_samples})"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    _check_probe(cfg.probe)
    check_integers(cfg, negative=False)


def _loss_owners(loss: str) -> list[str]:
    """The tasks whose own term of the objective `train.loss=loss` needs (TaskConfig.losses); [] for a loss any
    task takes."""
    return [name for name, schema in TASKS.load().items() if loss in schema.losses]


def refuse_first(checks: list[tuple[bool, str]]) -> None:
    """Raise the message of the first (ok, message) check that fails as a one-line ConfigError."""
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def _check_groups(cfg: RunConfig) -> None:
    """Each group's settings are the schema its name selects, and pass that schema's own rules."""
    for key, group in GROUPS.items():
        settings = getattr(cfg, key)
        schema = group.schema(settings.name)  # an unknown name is refused here
        if type(settings) is not schema:
            raise ConfigError(f"{key}.name={settings.name} takes {schema.__name__} settings (got "
                              f"{type(settings).__name__})")
        settings.check()


def _check_budget(t: TrainConfig) -> None:
    """How long a run trains, how often it evaluates and saves, and when it stops (every figure computed before
    any is read)."""
    _check_batch_size(t.batch_size)
    stop_conditions(t.stop_when)
    evals = t.steps // t.eval_every if t.eval_every > 0 else 0
    checks = [
        (0 < t.steps <= MAX_STEPS, f"train.steps must be in 1..{MAX_STEPS:.0e} (got {t.steps})"),
        (t.eval_every > 0, f"train.eval_every must be > 0 (got {t.eval_every})"),
        (evals <= MAX_EVALS, f"train.steps={t.steps} with train.eval_every={t.eval_every} "
         f"would log {evals:,} evaluations; at most {MAX_EVALS:,} (raise train.eval_every)"),
        (t.checkpoint_every > 0, f"train.checkpoint_every must be > 0 (got {t.checkpoint_every})"),
        (t.stop_after >= 1, f"train.stop_after must be >= 1 (got {t.stop_after})"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def check_integers(cfg: RunConfig, negative: bool = True) -> None:
    """The backstop of every integer key: a count or size is < 2**31 and a seed < 2**63 (what torch's and numpy's
    generators take), and none is negative. `validate` checks the upper bounds and seeds before anything computes
    with them; `engine.check` the rest after the task's and model's own checks have named their keys' rules."""
    for key, value in flatten(cfg.to_dict()).items():
        if isinstance(value, int) and not isinstance(value, bool):
            seed = key.endswith("seed")
            limit = 2**63 if seed else 2**31
            if value >= limit or (value < 0 and (negative or seed)):
                raise ConfigError(f"{key}={value}: expected an integer in 0..{limit - 1:,}")


def _check_probe(p: ProbeConfig) -> None:
    checks = [
        (1 <= p.lc_points <= 100_000, f"probe.lc_points must be in 1..100000 (got {p.lc_points})"),
        (2 <= p.lc_vertices <= 10_000 and p.lc_vertices % 2 == 0,
         f"probe.lc_vertices must be an even number in 2..10000 (got {p.lc_vertices})"),
        (p.lc_radius > 0, f"probe.lc_radius must be > 0 (got {p.lc_radius})"),
        (1 <= p.adv_points <= 1_000_000, f"probe.adv_points must be in 1..1000000 (got {p.adv_points})"),
        (p.adv_eps >= 0, f"probe.adv_eps must be >= 0 (got {p.adv_eps})"),
        (p.adv_step > 0, f"probe.adv_step must be > 0 (got {p.adv_step})"),
        (0 <= p.adv_iters <= 10_000, f"probe.adv_iters must be in 0..10000 (got {p.adv_iters})"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


STOP = re.compile(r"([A-Za-z0-9_./-]+)\s*(>=|<=)\s*(\S+)")


def stop_conditions(text: str) -> list[tuple[str, str, float]]:
    """`train.stop_when` as (metric, '>=' or '<=', level) conditions: `val/acc>=0.99`, or several joined by ','
    that must all hold at one evaluation (`train/acc>=0.99,val/acc>=0.99`); "" is none (train the whole budget)."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = STOP.fullmatch(part)
        try:
            level = float(match.group(3)) if match else math.nan
        except ValueError:
            level = math.nan
        if match is None or not math.isfinite(level):
            raise ConfigError(f"train.stop_when={text!r}: expected METRIC>=LEVEL or METRIC<=LEVEL (e.g. "
                              "val/acc>=0.99), several joined by ','")
        out.append((match.group(1), match.group(2), level))
    return out


def _check_batch_size(batch_size: str) -> None:
    if batch_size in ("auto", "full"):
        return
    try:
        size = int(batch_size)
    except ValueError:
        raise ConfigError(f"train.batch_size={batch_size!r}: expected auto, full or an integer") from None
    if size <= 0:
        raise ConfigError(f"train.batch_size must be > 0 (got {size})")


MAX_STEPS = 1_000_000_000  # 1e9 optimizer steps: years on a CPU; more is a typo
MAX_WIDTH = 1 << 20  # a model width, head count or memory size beyond a million is a typo
MAX_LAYERS = 1_000  # layers or experts
MAX_EVALS = 1_000_000  # evaluations one run may log (metrics.jsonl of a few hundred MB)
DTYPES = ("float32", "float64")
LOSS_DTYPES = ("float16", "float32", "float64")
LOSSES = ("ce", "stablemax", "mse", "mse_violation")  # mse_violation: a task's own penalty (TaskConfig.losses)
GROKFAST = ("none", "ema", "ma")


def memory_bytes() -> int:
    """Physical memory of this machine (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 0


PARSED_BYTES = 40  # memory per byte of a parsed text source (Python dicts of numbers per cell), measured ~25


def check_size(what: str, n_bytes: float, hint: str) -> None:
    """Refuse, before allocating anything, a data set, model, plan or file that would take more than half of this
    machine's memory: a clear error instead of a MemoryError traceback or the kernel's OOM killer."""
    limit = memory_bytes() // 2
    if limit and n_bytes > limit:
        raise ConfigError(f"{what} needs about {n_bytes / 2**30:,.1f} GiB, more than half of this machine's "
                          f"{2 * limit / 2**30:.0f} GiB; {hint}")
