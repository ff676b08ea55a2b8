"""`groklab sweep`: a grid of runs (Hydra multirun syntax), each member an ordinary run folder.

    groklab sweep power2022 optim.weight_decay=0.1,0.3,1 seed=range(0,4) train.steps=2000 --out runs

`KEY=V1,V2,...` and `KEY=range(a,b[,step])` (ints) are swept, `KEY=V` is fixed; the grid is their product.
Every member is validated before anything is written. Members land in `<out>/<run name>` exactly where
`groklab run --out <out>` would put them (same config, same folder), so finished members are skipped and
interrupted ones resume from their checkpoint (with --resume, as `groklab run` asks). `<out>/sweep-<hash8>/
sweep.json` holds the grid and each member's folder and status; it is rebuilt from the members' summary.json
files, under a lock, whenever a member finishes (so concurrent SLURM array tasks never lose an update).
Members that `groklab.vectorized` supports train together in one process; the rest run one after another
through `runs.execute`, with a printed note.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import shlex
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from groklab.config import RunConfig, all_keys, apply_overrides, validate
from groklab.errors import ConfigError

RANGE = re.compile(r"range\(\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(-?\d+)\s*)?\)")


def parse_spec(items: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """`["optim.lr=1e-3,3e-3", "seed=range(0,4)", "train.steps=100"]` -> (swept, fixed); bad items raise."""
    swept: dict[str, list[str]] = {}
    fixed: dict[str, str] = {}
    keys = all_keys()
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
            swept[key] = [str(v) for v in range(start, stop, step)]
            if not swept[key]:
                raise ConfigError(f"{key}={value}: empty range (no values)")
        elif "," in value or not value:
            values = [v.strip() for v in value.split(",")]
            if not value or any(not v for v in values):
                raise ConfigError(f"{key}={value}: empty value in the list; expected {key}=V1,V2,...")
            swept[key] = values
        else:
            fixed[key] = value
    return swept, fixed


@dataclass(frozen=True)
class Sweep:
    preset: str | None
    swept: dict[str, list[str]]
    fixed: dict[str, str]
    members: list[tuple[dict[str, str], RunConfig]]  # (overrides, resolved config)
    out: Path

    @property
    def path(self) -> Path:
        names = json.dumps([c.run_name for _, c in self.members])
        return self.out / f"sweep-{hashlib.sha256(names.encode()).hexdigest()[:8]}"


def plan(preset: str | None, items: list[str], out: Path | str = "runs") -> Sweep:
    """Expand the grid and check every member (config, task, device) before anything is written."""
    from groklab import api
    from groklab.train import resolve_device
    from groklab.vectorized import task_of

    swept, fixed = parse_spec(items)
    members = []
    for combo in itertools.product(*swept.values()):
        overrides = fixed | dict(zip(swept, combo, strict=True))
        cfg = api.resolve(preset, overrides)
        validate(cfg)
        task_of(cfg)  # task-level checks (prime p, empty split, ...), cached per task config
        resolve_device(cfg.train.device)
        members.append((overrides, cfg))
    names = [c.run_name for _, c in members]
    if len(set(names)) < len(names):
        raise ConfigError("the grid holds the same config twice (a swept value repeated?)")
    return Sweep(preset, swept, fixed, members, Path(out))


@contextmanager
def _locked(path: Path) -> Any:
    """An exclusive lock on `path` (fcntl where available); serialises sweep.json rebuilds."""
    with open(path, "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no flock (Windows, some network file systems): best effort
            pass
        yield


def refresh(sweep_dir: Path) -> dict[str, Any]:
    """Rebuild sweep.json's statuses from the members' summary.json files (atomic write, under a lock)."""
    from groklab.runs import write_json

    with _locked(sweep_dir / ".lock"):
        record = json.loads((sweep_dir / "sweep.json").read_text())
        for m in record["members"]:
            summary = Path(m["run_dir"]) / "summary.json"
            s = json.loads(summary.read_text()) if summary.exists() else {}
            m["status"], m["steps"] = s.get("status", "pending"), s.get("steps", 0)
        statuses = [m["status"] for m in record["members"]]
        record["counts"] = {k: statuses.count(k) for k in sorted(set(statuses))}
        record["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(sweep_dir / "sweep.json", record)
    return record


def write_record(sweep: Sweep, command: str, executor: str, vectorize: bool) -> None:
    from groklab.runs import write_json

    sweep.path.mkdir(parents=True, exist_ok=True)
    record = {"preset": sweep.preset, "grid": sweep.swept, "fixed": sweep.fixed, "command": command,
              "executor": executor, "vectorize": vectorize,
              "members": [{"overrides": o, "run": c.run_name, "run_dir": str((sweep.out / c.run_name).resolve()),
                           "status": "pending", "steps": 0} for o, c in sweep.members]}
    with _locked(sweep.path / ".lock"):
        write_json(sweep.path / "sweep.json", record)
    refresh(sweep.path)


def execute_members(cfgs: list[RunConfig], out: Path, vectorize: bool, command: str, progress: bool = False,
                    sweep_dir: Path | None = None) -> None:
    """Train members into `<out>/<run name>` (fresh or resumed): vectorised groups, then the rest one by one."""
    from groklab import api
    from groklab.runs import RunDir, execute, finish, start
    from groklab.vectorized import group_key, train_many, unsupported

    alone = [c for c in cfgs if not vectorize or unsupported(c) is not None]
    groups: dict[str, list[RunConfig]] = {}
    for c in cfgs:
        if vectorize and unsupported(c) is None:
            groups.setdefault(group_key(c), []).append(c)
    singles = [g[0] for g in groups.values() if len(g) == 1]  # runs.execute picks the faster path for one
    for group in groups.values():
        if len(group) == 1:
            continue
        dirs = [RunDir(out / c.run_name) for c in group]
        for d, c in zip(dirs, group, strict=True):
            start(d, c, command)
        if progress:
            print(f"sweep: training {len(group)} members together (vectorised)", file=sys.stderr, flush=True)
        try:
            outcomes = train_many(group, dirs, progress=progress)
        except KeyboardInterrupt:
            for d in dirs:
                finish(d, "interrupted", None, "interrupted by the user (resume with --resume)")
            raise
        except Exception as e:
            for d in dirs:
                finish(d, "failed", None, f"{type(e).__name__}: {e}")
            raise
        finally:
            if sweep_dir is not None:
                refresh(sweep_dir)
        for d, o in zip(dirs, outcomes, strict=True):
            finish(d, o.status, o.steps, o.error)
            api.detect(d.path)
        if sweep_dir is not None:
            refresh(sweep_dir)
    for c in alone + singles:
        if vectorize and c not in singles:
            print(f"groklab: note: {c.run_name} runs alone, not vectorised ({unsupported(c)})", file=sys.stderr)
        try:
            path, done = execute(c, out=out, resume=True, progress=progress, command=command)
            if not done:
                api.detect(path)
        finally:
            if sweep_dir is not None:
                refresh(sweep_dir)


def run_sweep(preset: str | None, items: list[str], out: Path | str = "runs", executor: str = "local",
              vectorize: bool = True, resume: bool = False, progress: bool = False, command: str | None = None,
              slurm: dict[str, Any] | None = None) -> Path:
    """Run (or continue) a sweep and return its folder `<out>/sweep-<hash8>`.

    executor="slurm" submits the unfinished members as a job array through submitit (`slurm` options:
    see `groklab.sweep_slurm.submit`); "local" trains them in this process.
    """
    from groklab.runs import check_writable, prepare

    sweep = plan(preset, items, out)
    check_writable(sweep.out)
    todo = [c for _, c in sweep.members if not prepare(c, sweep.out, resume=resume)[1]]  # raises before writing
    command = command or "groklab sweep " + " ".join(shlex.quote(a) for a in [*([preset] if preset else []), *items])
    write_record(sweep, command, executor, vectorize)
    if len(todo) < len(sweep.members):
        print(f"sweep: {len(sweep.members) - len(todo)} of {len(sweep.members)} members already finished, skipped",
              file=sys.stderr)
    if not todo:
        return sweep.path
    if executor == "slurm":
        from groklab.sweep_slurm import submit

        submit(todo, sweep.out, sweep.path, vectorize, command, **(slurm or {}))
    elif executor == "local":
        execute_members(todo, sweep.out, vectorize, command, progress, sweep.path)
    else:
        raise ConfigError(f"--executor {executor!r}: expected local or slurm")
    refresh(sweep.path)
    return sweep.path


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    from groklab.cli import _split_positionals

    preset, items = _split_positionals(args.items)
    slurm = {"chunk_size": args.chunk_size, "timeout_min": args.time_min, "partition": args.partition,
             "gpus_per_task": args.gpus_per_task, "cpus_per_task": args.cpus_per_task, "wait": args.wait}
    if args.executor == "local":
        signal.signal(signal.SIGTERM, _raise_interrupt)  # a scheduler's SIGTERM records "interrupted"
    path = run_sweep(preset, items, out=args.out, executor=args.executor, vectorize=args.vectorize,
                     resume=args.resume, progress=not args.quiet, slurm=slurm,
                     command="groklab " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    record = json.loads((path / "sweep.json").read_text())
    print(f"sweep    {path / 'sweep.json'}")
    for m in record["members"]:
        final = (json.loads((Path(m["run_dir"]) / "summary.json").read_text()).get("final") or {}
                 if (Path(m["run_dir"]) / "summary.json").exists() else {})
        acc = final.get("val/acc")
        print(f"  {m['status']:<11} {m['steps']:>7} steps  val/acc={'-' if acc is None else f'{acc:.4f}'}  "
              f"{m['run']}  " + " ".join(f"{k}={v}" for k, v in m["overrides"].items() if k in record["grid"]))
    finished = all(m["status"] in ("completed", "diverged") for m in record["members"])
    return 0 if finished or (args.executor == "slurm" and not args.wait) else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help="train a grid of runs: groklab sweep [PRESET] KEY=V1,V2 KEY=range(a,b)")
    p.add_argument("items", nargs="*", metavar="[PRESET] [KEY=V | KEY=V1,V2 | KEY=range(a,b[,step])]")
    p.add_argument("--out", default="runs", help="folder of the member run folders and the sweep folder")
    p.add_argument("--executor", choices=("local", "slurm"), default="local",
                   help="local: this machine (default); slurm: a job array through submitit (groklab[slurm])")
    p.add_argument("--vectorize", action=argparse.BooleanOptionalAction, default=True,
                   help="train compatible members together in one process (default: on)")
    p.add_argument("--resume", action="store_true", help="continue interrupted members from their checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    g = p.add_argument_group("slurm (with --executor slurm)")
    g.add_argument("--chunk-size", type=int, default=64, help="members per array task (default 64)")
    g.add_argument("--time-min", type=int, default=240, help="time limit of an array task; requeued after it")
    g.add_argument("--partition", default=None)
    g.add_argument("--gpus-per-task", type=int, default=0)
    g.add_argument("--cpus-per-task", type=int, default=4)
    g.add_argument("--wait", action="store_true", help="wait for the array to finish (default: submit and return)")
    p.set_defaults(func=cmd_sweep)
