"""A sweep's grid (Hydra multirun syntax) and its plan: every member resolved and checked before anything is
written.

`KEY=V1,V2,...` and `KEY=range(a,b[,step])` (ints) are swept, `KEY=V` is fixed; the grid is their product.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from groklab.config import RunConfig, apply_overrides, check_size, every_key, validate
from groklab.engine import build_tasks, check
from groklab.errors import ConfigError
from groklab.presets import resolve
from groklab.runs import check_name
from groklab.tasks import TaskData

RANGE = re.compile(r"range\(\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(-?\d+)\s*)?\)")


def parse_spec(items: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """`["optim.lr=1e-3,3e-3", "seed=range(0,4)", "train.steps=100"]` -> (swept, fixed); bad items raise."""
    swept: dict[str, list[str]] = {}
    fixed: dict[str, str] = {}
    keys = every_key()  # a key of any schema: the sweep may select its schema (optim.name=sgd optim.momentum=...)
    for item in items:
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key:
            raise ConfigError(f"sweep item {item!r} is not KEY=VALUE, KEY=V1,V2 or KEY=range(a,b[,step])")
        if key in swept or key in fixed:
            raise ConfigError(f"sweep key {key!r} is given twice")
        if key not in keys:
            apply_overrides(RunConfig(), {key: value})  # raises the config's unknown-key error (did-you-mean)
        if value.startswith("range"):
            match = RANGE.fullmatch(value)
            if match is None:
                raise ConfigError(f"{key}={value}: malformed range; expected range(a,b) or range(a,b,step) of ints")
            start, stop, step = int(match[1]), int(match[2]), int(match[3] or 1)
            if step == 0:
                raise ConfigError(f"{key}={value}: range step must not be 0")
            values = range(start, stop, step)
            if len(values) > MAX_MEMBERS:  # refused before its values are listed
                raise ConfigError(f"{key}={value} has {len(values):,} values; a sweep has at most {MAX_MEMBERS:,} "
                                  "members (sweep in parts, or with a larger range step)")
            swept[key] = [str(v) for v in values]
            if not swept[key]:
                raise ConfigError(f"{key}={value}: empty range (no values)")
        elif "," in value or (not value and keys.get(key) is not str):
            values = [v.strip() for v in value.split(",")]
            if not value or any(not v for v in values):
                raise ConfigError(f"{key}={value}: empty value in the list; expected {key}=V1,V2,...")
            swept[key] = values
        else:  # one value; "" only for a text key (train.stop_when=: no stop rule, as in groklab run)
            fixed[key] = value
    return swept, fixed


MAX_MEMBERS = 100_000  # members one sweep may plan: each is resolved, checked and recorded before any trains
PLAN_BYTES = 20_000  # memory per planned member, with margin: its resolved config and overrides take ~3 KB


def check_grid(swept: dict[str, list[str]]) -> None:
    """Refuse, before any member is resolved, a grid larger than MAX_MEMBERS or than this machine's memory holds."""
    size = math.prod(len(v) for v in swept.values())
    sizes = " x ".join(f"{k}: {len(v):,}" for k, v in swept.items())
    if size > MAX_MEMBERS:
        raise ConfigError(f"the grid has {size:,} members ({sizes}); a sweep has at most {MAX_MEMBERS:,} "
                          "(sweep in parts)")
    check_size(f"planning {size:,} members ({sizes})", size * PLAN_BYTES, "sweep in parts")


@dataclass(frozen=True)
class Sweep:
    preset: str | None
    swept: dict[str, list[str]]
    fixed: dict[str, str]
    members: list[tuple[dict[str, str], RunConfig]]  # (overrides, resolved config)
    out: Path
    tasks: list[TaskData]  # each member's task, each distinct one built once
    labels: tuple[str, ...] = ()  # a name per member for sweep.json (`groklab suite`: preset/arm)

    @property
    def configs(self) -> list[RunConfig]:
        return [c for _, c in self.members]

    @property
    def path(self) -> Path:
        names = json.dumps([c.run_name for _, c in self.members])
        return self.out / f"sweep-{hashlib.sha256(names.encode()).hexdigest()[:8]}"


def plan(preset: str | None, items: list[str], out: Path | str = "runs") -> Sweep:
    """Expand the grid and check every member (config, task, model, device) before anything is written."""
    swept, fixed = parse_spec(items)
    if not swept:
        raise ConfigError("nothing to sweep: give at least one KEY=V1,V2 or KEY=range(a,b) "
                          "(to train one config, use groklab run)")
    check_grid(swept)
    members = []
    for combo in itertools.product(*swept.values()):
        overrides = fixed | dict(zip(swept, combo, strict=True))
        members.append((overrides, resolve(preset, overrides)))
    names = [c.run_name for _, c in members]
    if len(set(names)) < len(names):
        raise ConfigError("the grid holds the same config twice (a swept value repeated?)")
    cfgs = [c for _, c in members]
    for cfg in cfgs:
        check_name(cfg.name)
        validate(cfg)
    tasks = build_tasks(cfgs)
    for cfg, task in zip(cfgs, tasks, strict=True):
        check(cfg, task)
    return Sweep(preset, swept, fixed, members, Path(out), tasks)
