"""The run folder (design.md "Run folder"): the only code that reads or writes its format.

One reader (`RunDir.rows`, `load_run`) used by every command, one writer (`RunDir`, the engine's Sink), one
lifecycle (`prepare`, then `execute` or a sweep's `start`/`finish`) used by `groklab run`, sweeps and SLURM array
tasks, and an OS-level lock per folder held for the whole run. Nothing a user wrote is lost: a damaged line of
metrics.jsonl is reported with its line number and every valid row is kept; a resume cuts only the rows after
the checkpoint's step (they are recomputed identically) and refuses when it cannot tell where that is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groklab.config import GROUPS, RunConfig, flatten
from groklab.errors import ConfigError, GroklabError
from groklab.io import (
    Each,
    append_line,
    atomic_write,
    check_writable,
    dumps,
    load_tensors,
    open_lock,
    read_json,
    read_jsonl,
    save_tensors,
    sync_file,
    write_error,
    write_json,
)
from groklab.tracking import Tracker, check_trackers, open_trackers

if TYPE_CHECKING:  # torch and the engine are imported where a run trains, so that analysis starts fast
    import torch

    from groklab.tasks import TaskData

# What the readers of a run folder rely on, checked where the files are read (io.shape_error): a hand-edited or
# damaged value of the wrong type is one line naming the file and the key, never a traceback further on.
STEP = (int, type(None))
DETECTION = {"verdict": str, "kind": str, "memorization_step": STEP, "generalization_step": STEP,
             "delay_ratio": (float, type(None)), "criteria": Each((str, type(None))),
             "phase": {"train": (str, type(None)), "val": (str, type(None))}, "notes": [str],
             "spikes": [{"step": int}]}
SUMMARY = {"status": str, "steps": STEP, "total_steps": STEP, "error": (str, type(None)), "kind": str,
           "final": (dict, type(None)), "thresholds": Each(Each(STEP)), "detection": DETECTION,
           "task": (dict, type(None)), "parameters": (int, type(None)), "baseline": (dict, type(None)),
           "prediction": (dict, type(None)), "best": dict, "x_axis": str, "notes": [str], "unread": [str],
           "stopped": (dict, type(None)), "slurm": {"stderr": (str, type(None)), "stdout": (str, type(None))}}
CONFIG = {section: dict for section in ("task", "model", "optim", "train", "probe", "imported")}
NUMBER = (float, type(None))
FIGURES = {"rows": int, "loss": NUMBER, "acc": NUMBER, "baseline": NUMBER, "groups": int}
# evaluations/*.json (groklab evaluate) and fitted.json (tasks.base.fitted_record), with the keys their readers
# cannot do without
EVALUATION = {"checkpoint": str, "step": int, "metric": str, "splits": Each(FIGURES), "groups": Each(Each(FIGURES)),
              "group_means": Each(Each(FIGURES)), "data": {"source": str, "overrides": dict}}
EVALUATION_KEYS = ("checkpoint", "step", "metric", "splits", "data")
FITTED = {"kind": str, "n_classes": (int, type(None)), "vocab_size": (int, type(None)), "in_dim": (int, type(None)),
          "x": list, "groups": (int, type(None)), "label_mean": (list, type(None)), "task": (dict, type(None))}
THRESHOLDS = (0.5, 0.9, 0.95, 0.99)
FINISHED = ("completed", "diverged", "imported")
STATUSES = ("running", "completed", "diverged", "failed", "interrupted", "imported")
History = dict[str, list[Any]]


def first_crossings(rows: list[dict[str, Any]], key: str) -> dict[str, int | None]:
    """First evaluated step at which `key` is at or above each threshold (null if never): `thresholds` in
    summary.json. The detector's steps also ask that the level holds for a few evaluations."""
    out: dict[str, int | None] = {str(t): None for t in THRESHOLDS}
    for row in rows:
        value = row.get(key)
        for t in THRESHOLDS:
            if isinstance(value, int | float) and out[str(t)] is None and value >= t:
                out[str(t)] = row["step"]
    return out


def columns(rows: list[dict[str, Any]]) -> History:
    """Rows -> columns, keys in order of first appearance with `step` first; None where a row lacks a key."""
    keys: dict[str, None] = {"step": None}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return {key: [row.get(key) for row in rows] for key in keys}


class RunDir:
    """One run's folder: its reader, its writer (the training loop's Sink) and its lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.ckpt = self.path / "checkpoints"
        self.trackers: list[Tracker] = []  # train.log: TensorBoard, wandb; metrics.jsonl stays the record

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def exists(self) -> bool:
        return (self.path / "config.json").is_file()

    # --- reading ------------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """config.json as it is stored (readers that only look at values use it; see `stored_config`)."""
        return read_json(self.path / "config.json", "config.json", CONFIG)

    def run_config(self) -> RunConfig:
        """The run's config as a RunConfig in today's layout (`stored_config`)."""
        return stored_config(self.config(), self.path / "config.json")

    def summary(self) -> dict[str, Any]:
        """summary.json, or {} when it is missing (a run that died at start-up); values of the wrong type are one
        GroklabError line (SUMMARY)."""
        p = self.path / "summary.json"
        return read_json(p, "summary.json", SUMMARY) if os.path.lexists(p) else {}

    def rows(self, warn: bool = True) -> list[dict[str, Any]]:
        """Every valid row of metrics.jsonl; each damaged line is reported on stderr with its number."""
        lines = read_jsonl(self.metrics_path)
        if warn:
            lines.warn(self.metrics_path)
        return lines.rows

    def history(self, warn: bool = True) -> History:
        return columns(self.rows(warn))

    def status(self) -> str:
        """The recorded status; a `running` folder whose lock is free was killed (kill -9, power loss)."""
        status = self.summary().get("status", "running")
        if status == "running" and not self.locked():
            return "interrupted"
        return status

    # --- the lock -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive OS lock on `.lock`, held while the block runs: a second process on the same folder is
        refused with the holder's pid. The kernel drops the lock when its holder dies (kill -9 included), so a
        lock is never stale."""
        fd = self._acquire()
        if fd is None:
            raise GroklabError(f"{self.path} is in use by process {self.holder()} (another groklab run or sweep); "
                               "wait for it to finish or stop it, then run again")
        try:
            yield
        finally:
            os.close(fd)

    def _acquire(self) -> int | None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_error(self.path, e) from None
        fd = open_lock(self.path / ".lock")
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - no flock (Windows): no protection, as before
            pass
        except OSError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        return fd

    def try_lock(self) -> contextlib.AbstractContextManager[bool]:
        """Like `lock`, but yields False instead of raising when another process holds it (sweeps skip such
        members)."""
        run = self

        @contextlib.contextmanager
        def attempt() -> Iterator[bool]:
            fd = run._acquire()
            try:
                yield fd is not None
            finally:
                if fd is not None:
                    os.close(fd)

        return attempt()

    def holder(self) -> str:
        with contextlib.suppress(OSError, GroklabError):
            fd = open_lock(self.path / ".lock", write=False)
            try:
                text = os.read(fd, 200).decode(errors="replace").strip()
            finally:
                os.close(fd)
            if text:
                return text.split()[0]
        return "unknown"

    def locked(self) -> bool:
        """Whether another process holds the lock now."""
        if not os.path.lexists(self.path / ".lock"):
            return False
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            return False
        fd = open_lock(self.path / ".lock", write=False)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)

    # --- writing: the Sink of groklab.engine -------------------------------------------------------------
    def log(self, row: dict[str, Any]) -> None:
        append_line(self.metrics_path, row)
        for tracker in self.trackers:  # after the row is on disk; a tracker's failure warns, never raises
            tracker.log(row)

    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None:
        self.ckpt.mkdir(exist_ok=True)
        if keep:
            save_tensors(self.ckpt / f"step_{step}.pt", {"model": state["model"], "step": step})
        if latest:
            sync_file(self.metrics_path)  # the rows up to this step are on disk before the checkpoint that covers them
            save_tensors(self.ckpt / "latest.pt", state)
            self.write_summary(status="running", steps=step)

    def save_best(self, state: dict[str, Any], best: dict[str, Any]) -> None:
        """`train.keep_best`: the model at the best value of the metric so far, beside latest.pt."""
        self.ckpt.mkdir(exist_ok=True)
        save_tensors(self.ckpt / "best.pt", {"model": state["model"], "step": best["step"], "best": best})
        self.write_summary(best=best)

    def load_latest(self) -> dict[str, Any] | None:
        """The latest checkpoint, with metrics.jsonl cut back to the lines it covers (module docstring)."""
        latest = self.ckpt / "latest.pt"
        state = load_tensors(latest, "checkpoint") if latest.exists() else None
        if state is not None and not (isinstance(state, dict) and {"model", "optimizer", "step"} <= set(state)):
            raise GroklabError(f"{latest}: not a groklab checkpoint (no model, optimizer and step); delete it to "
                               "start the run over")
        self.truncate_after(state["step"] if state is not None else -1)
        return state

    def truncate_after(self, step: int) -> None:
        """Keep metrics.jsonl byte for byte up to the row of `step` (the checkpoint's), drop what follows (it is
        recomputed identically). A damaged line before that row is kept as it is (and reported); if the row of
        `step` itself is missing or damaged, where the history must be cut cannot be told: refuse."""
        lines = read_jsonl(self.metrics_path)
        if step < 0 or (not lines.rows and not lines.bad):
            if self.metrics_path.exists():
                atomic_write(self.metrics_path, b"")
            return
        at = [n for n, row in zip(lines.numbers, lines.rows, strict=True) if row["step"] == step]
        if not at:
            where = f" (damaged lines: {', '.join(str(n) for n, _ in lines.bad)})" if lines.bad else ""
            raise GroklabError(f"{self.metrics_path}: the row of step {step}, where checkpoints/latest.pt resumes, "
                               f"is missing or damaged{where}; repair that line or delete checkpoints/latest.pt to "
                               "start over")
        kept = [(n, why) for n, why in lines.bad if n < at[0]]
        for n, why in kept:
            print(f"groklab: warning: {self.metrics_path}:{n}: {why}; kept as it is (the run resumes after it)",
                  file=sys.stderr)
        raw = self.metrics_path.read_bytes().split(b"\n")
        atomic_write(self.metrics_path, b"".join(line + b"\n" for line in raw[: at[0]]))

    def write_summary(self, **fields: Any) -> None:
        write_json(self.path / "summary.json", self.summary() | fields)

    # --- using the trained model: fitted statistics, checkpoints, evaluations --------------------------------
    def fitted(self) -> dict[str, Any] | None:
        """fitted.json (tasks.base.fitted_record: what new data is encoded with), or None for a folder written
        before it existed (the record is then rebuilt from the config)."""
        p = self.path / "fitted.json"
        return required(read_json(p, "fitted.json", FITTED), FITTED, p, "fitted.json") if p.exists() else None

    def checkpoints(self) -> dict[str, Path]:
        """The checkpoints a model can be loaded from: `latest`, `best` (train.keep_best) and `step_N` (the
        log-spaced model-only ones), by name."""
        found = {p.stem: p for p in self.ckpt.glob("*.pt") if re.fullmatch(r"latest|best|step_\d+", p.stem)}

        def order(name: str) -> tuple[int, int]:  # latest, best, then the steps in order
            return (2, int(name[5:])) if name.startswith("step_") else (name == "best", 0)

        return {name: found[name] for name in sorted(found, key=order)}

    def load_model_state(self, name: str) -> tuple[dict[str, Any], int]:
        """(state_dict, step) of checkpoint `name` (latest, best or step_N), read without unpickling objects."""
        found = self.checkpoints()
        if name not in found:
            have = ", ".join(found) or "none"
            raise GroklabError(f"{self.path}: no checkpoint {name!r} (this run has: {have})")
        state = load_tensors(found[name], "checkpoint")
        if not (isinstance(state, dict) and isinstance(state.get("model"), dict)
                and isinstance(state.get("step"), int)):
            raise GroklabError(f"{found[name]}: not a groklab checkpoint (no model and step)")
        return state["model"], state["step"]

    @property
    def evaluations_dir(self) -> Path:
        return self.path / "evaluations"

    def evaluations(self) -> list[tuple[Path, dict[str, Any]]]:
        """Every evaluations/*.json record (groklab evaluate), oldest first; a damaged one is reported and
        skipped."""
        out = []
        for p in sorted(self.evaluations_dir.glob("*.json"), key=lambda q: q.stat().st_mtime_ns):
            try:
                record = required(read_json(p, "evaluation", EVALUATION), EVALUATION_KEYS, p, "evaluation")
                if not record["splits"] or not {"source", "overrides"} <= set(record["data"]):
                    raise GroklabError(f"{p}: evaluation is damaged (no split scored, or no data source)")
                out.append((p, record))
            except GroklabError as e:
                print(f"groklab: warning: {e}; skipped", file=sys.stderr)
        return out

    def write_evaluation(self, name: str, record: dict[str, Any]) -> Path:
        """evaluations/<name>.json, written atomically under the folder's lock; metrics.jsonl is never touched."""
        path = self.evaluations_dir / f"{name}.json"
        with self.lock():
            self.evaluations_dir.mkdir(exist_ok=True)
            write_json(path, record)
        return path


def required(data: dict[str, Any], keys: Iterable[str], path: Path, what: str) -> dict[str, Any]:
    """`data` if it holds every key its readers index, else one GroklabError line naming the first missing."""
    missing = [k for k in keys if k not in data]
    if missing:
        raise GroklabError(f"{path}: {what} is damaged (no {missing[0]!r}); restore it or delete it")
    return data


def environment(device: torch.device, task: TaskData | None = None) -> dict[str, Any]:
    import numpy as np
    import torch

    repo = Path(__file__).resolve().parent.parent
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "device": str(device), "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(), "git_commit": commit, "git_dirty": dirty, "host": socket.gethostname(),
        "platform": platform.platform(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "start_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": task_record(task) if task is not None else None,
    }


RECORD_CHARS = 1_000  # a task metadata value longer than this as JSON is data, not a record


def task_record(task: TaskData) -> dict[str, Any]:
    """What the run's data was, for the record: sizes of every split and the task's compact metadata. Lists and
    dicts of more than 64 entries (per-row group lists) and values longer than RECORD_CHARS as JSON (per-group
    feature scalings of the m-height task) are left out: they are recomputed from the config, and would make
    env.json and summary.json 100 KB instead of a few."""
    meta = {k: v for k, v in task.meta.items() if not (isinstance(v, list | dict) and len(v) > 64)
            and len(json.dumps(v, default=str)) <= RECORD_CHARS}
    sizes = {"train": task.n_train, "val": len(task.x_val), **{k: len(x) for k, (x, _) in task.evals.items()}}
    return {"kind": task.kind, "sizes": sizes, **meta}


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,119}")


def check_name(name: str) -> None:
    """A run name is one folder name inside --out: no '/', no '..', no absolute path, no control characters."""
    if not NAME.fullmatch(name) or ".." in name:
        raise ConfigError(f"name={name!r}: a run name must be a single folder name of letters, digits and . _ - + = "
                          "(at most 120 characters, no '/' or '..')")


def check_out(out: Path | str) -> Path:
    """--out as a folder path; an empty string would silently mean the current folder."""
    if isinstance(out, str) and not out.strip():
        raise GroklabError("--out is empty; name a folder (default: runs)")
    return Path(out)


def config_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    fa, fb = flatten(a), flatten(b)
    diffs = [f"{k}: {fa.get(k)!r} vs {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    return "; ".join(diffs[:3]) + (" ..." if len(diffs) > 3 else "")


# --- config.json of older layouts -------------------------------------------------------------------------------
# Before config groups, config.json held the flat union of every task's, model's and optimizer's settings (37 task
# keys whatever the task). A group's section now holds the keys of the schema its `name` selects; the builder of
# that name never read the others, so dropping them loses nothing the run used. A run's folder name may change with
# the layout (the digest hashes a group's keys against its own schema's defaults, a task's label may change), so
# `run_folder` also looks for the folder under its older name.


def migrate(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A stored config (config.json; a dict a sweep sent a worker) in today's layout: each group's section keeps the
    keys of the schema its `name` selects. Also returns the dropped keys whose value differs from their default, as
    `task.n_entities=7 (task.name=modular)`: values someone set that the run never read. An unknown name, or a name
    that is not a string, is a ConfigError; a config without group sections (an imported run's) is returned as it is.
    """
    out = dict(data)
    unread: list[str] = []
    for key, group in GROUPS.items():
        section = data.get(key)
        if not isinstance(section, dict):
            continue
        name = section.get("name", group.default_name)
        if not isinstance(name, str):
            raise ConfigError(f"{key}.name={name!r}: expected a string")
        takes = {f.name for f in dataclasses.fields(group.schema(name))}
        out[key] = {k: v for k, v in section.items() if k in takes}
        unread += [f"{key}.{k}={v!r} ({key}.name={name})" for k, v in section.items()
                   if k not in takes and not _is_default(key, k, v)]
    return out, unread


def _is_default(group: str, key: str, value: Any) -> bool:
    """Whether `value` is the default of `key` in a schema that takes it: every schema kept the flat config's default
    of each key it took over, so this is the value an old config.json held where nobody set the key."""
    for name in GROUPS[group].owners(key):
        f = next(f for f in dataclasses.fields(GROUPS[group][name]) if f.name == key)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if value == default:
            return True
    return False


_NOTED: set[str] = set()  # what stored_config and run_folder noted on stderr: once per file or folder


def note_once(what: Path | str, text: str) -> None:
    if str(what) not in _NOTED:
        _NOTED.add(str(what))
        print(f"groklab: note: {text}", file=sys.stderr)


def stored_config(data: dict[str, Any], source: Path | str | None = None) -> RunConfig:
    """The one way from a stored config to a RunConfig: `migrate`d to today's layout, then read key by key like
    overrides (keys added since it was written take their defaults). Values it held that the run never read are
    noted once per `source` (a config.json) on stderr."""
    current, unread = migrate(data)
    if unread and source is not None:
        note_once(source, f"{source}: {unread_line(unread)}")
    return RunConfig.from_dict(current)


def unread_line(unread: list[str]) -> str:
    return (f"set but never read by this run (not a setting of its task, model or optimizer; ignored): "
            f"{', '.join(unread)}")


# Keys of which every flat config.json held `op` and at least one, and which no one schema takes together: how a
# reader tells the older layout from today's without loading the schemas (they import torch). A flat config from
# before these keys existed held the modular task's keys only, which today's modular schema reads as they are.
FLAT_MARKERS = frozenset({"per_group", "source", "d_in", "n_attributes", "n_vars"})


def flat_layout(config: dict[str, Any]) -> bool:
    """Whether a stored config is in the flat layout of before config groups (its task section holds every task's
    keys)."""
    task = config.get("task")
    return isinstance(task, dict) and "op" in task and not FLAT_MARKERS.isdisjoint(task)


def unread_settings(config: dict[str, Any]) -> list[str]:
    """`migrate`'s unread values of a stored config in the flat layout ([] for today's layout, or when it cannot be
    read in today's layout). `groklab show` asks it: only an older run pays for loading the schemas."""
    if not flat_layout(config):
        return []
    with contextlib.suppress(GroklabError):
        return migrate(config)[1]
    return []


_MIGRATED: dict[Path, tuple[tuple[int, int, int], dict[str, Any] | None]] = {}  # config.json -> (its stat, config)


def _current_dict(path: Path) -> dict[str, Any] | None:
    """The config of the run folder `path` in today's layout, as a dict (None if it cannot be read), cached while
    its config.json is unchanged: a sweep asks for every member's folder."""
    file = path / "config.json"
    try:
        st = file.stat()
    except OSError:
        return None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    if path not in _MIGRATED or _MIGRATED[path][0] != stamp:
        current = None
        with contextlib.suppress(GroklabError):
            stored = RunDir(path).config()
            if flat_layout(stored):  # a folder in today's layout is named by today's run_name: not an older name
                current = RunConfig.from_dict(migrate(stored)[0]).to_dict()
        _MIGRATED[path] = (stamp, current)
    return _MIGRATED[path][1]


def run_folder(cfg: RunConfig, out: Path | str) -> Path:
    """The folder of `cfg` in `out`: `<out>/<cfg.run_name>`, unless that does not exist and a folder written under an
    older name of the same config does (module comment above), so that a run resumes or is reported done instead of
    training again. Only the `<cfg.name>-*` folders are read; of several, the finished one, then the newest (noted)."""
    out = Path(out)
    path = out / cfg.run_name
    if os.path.lexists(path) or not out.is_dir():
        return path
    want = cfg.to_dict()
    found = [p for p in out.glob(f"{cfg.name}-*") if p.is_dir() and not p.is_symlink() and _current_dict(p) == want]
    if not found:
        return path

    def rank(p: Path) -> tuple[bool, int, str]:
        run, finished, newest = RunDir(p), False, 0
        with contextlib.suppress(OSError, GroklabError):  # a damaged summary.json: not finished
            finished = run.status() in FINISHED
            newest = max(q.stat().st_mtime_ns for q in (p / "config.json", run.metrics_path) if q.exists())
        return finished, newest, p.name

    found.sort(key=rank, reverse=True)
    others = ""
    if len(found) > 1:
        others = (f"; {len(found) - 1} more hold it too, the finished one, then the newest, is used: "
                  f"{', '.join(p.name for p in found[1:])}")
    note_once(found[0], f"{found[0]} holds this config under the run name of an older groklab (today's: "
                        f"{cfg.run_name}); it is used{others}")
    return found[0]


@dataclass(frozen=True)
class Prepared:
    run: RunDir
    done: bool  # already finished: nothing to do
    task: TaskData


def prepare(cfg: RunConfig, out: Path | str, resume: bool | Path = False, force: bool = False,
            task: TaskData | None = None) -> Prepared:
    """Check everything and decide the folder (`run_folder`, or `resume` when it is a path); writes nothing (so bad
    input leaves no trace)."""
    from groklab.engine import check

    check_name(cfg.name)
    check_trackers(cfg.train.log)
    task = check(cfg, task)
    path = resume if isinstance(resume, Path) else run_folder(cfg, out)
    check_writable(path.parent)
    run = RunDir(path)
    if force or not run.exists():
        if isinstance(resume, Path) and not force:
            raise GroklabError(f"--resume {path}: not a run folder (no config.json)")
        return Prepared(run, False, task)
    held = run.config()
    with contextlib.suppress(GroklabError):  # in today's layout; keys added since it was written take defaults
        held = stored_config(held, path / "config.json").to_dict()
    if held != cfg.to_dict():
        raise ConfigError(f"{path} holds another config ({config_difference(held, cfg.to_dict())})")
    status = run.status()
    if status in FINISHED:
        return Prepared(run, True, task)
    if not resume:
        raise GroklabError(f"{path} exists with status {status}: add --resume to continue it or --force to "
                           "start over")
    return Prepared(run, False, task)


def start(run: RunDir, cfg: RunConfig, task: TaskData, command: str, force: bool = False) -> None:
    """Under the folder's lock: create it (or, with `force`, empty it) and record config, command, environment,
    the trainable parameter count, and for a regression task the trivial baseline its validation loss is judged
    against."""
    from groklab.engine import parameter_count, resolve_device
    from groklab.probes.predictions import predict
    from groklab.tasks.base import fitted_record, trivial_baseline

    if force:
        for child in run.path.iterdir():  # a symbolic link is removed itself, never what it points to
            if child.name != ".lock":
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    if not run.exists():
        write_json(run.path / "config.json", cfg.to_dict())
        atomic_write(run.path / "command.txt", command + "\n")
    device = resolve_device(cfg.train.device)
    write_json(run.path / "env.json", environment(device, task))
    write_json(run.path / "fitted.json", fitted_record(task))
    run.write_summary(status="running", steps=run.summary().get("steps", 0), total_steps=cfg.train.steps,
                      kind=task.kind, error=None, task=task_record(task), parameters=parameter_count(cfg, task),
                      baseline=trivial_baseline(task, cfg.train.baseline),
                      prediction=predict(cfg, task))
    run.trackers = open_trackers(cfg.train.log, run.path, cfg.to_dict())


def finish(run: RunDir, status: str, steps: int | None, error: str | None,
           stopped: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record how a training ended in summary.json: status, steps, the last evaluation, the error, the first
    crossings, and `stopped` (train.stop_when ended it before train.steps: the rule and the steps it held over)."""
    for tracker in run.trackers:
        tracker.close()
    run.trackers = []
    rows = run.rows(warn=False)
    summary = run.summary()
    fields: dict[str, Any] = {"status": status, "steps": steps if steps is not None else summary.get("steps", 0),
                              "final": rows[-1] if rows else None, "error": error, "stopped": stopped}
    if any("train/acc" in r for r in rows):  # classification, or regression scored by accuracy
        fields["thresholds"] = {k: first_crossings(rows, k) for k in ("train/acc", "val/acc")}
    run.write_summary(**fields)
    return run.summary()


@contextlib.contextmanager
def recording(runs: list[RunDir]) -> Iterator[None]:
    """Whatever ends a training early is recorded in every run's summary.json: a Ctrl-C or SIGTERM as
    `interrupted` (resume with --resume), and so is a signal handler's exit (submitit's on a SLURM time limit or
    preemption, after it requeued the task); any other error as `failed` with its message; never left `running`."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        for run in runs:
            _record_end(run, "interrupted", "interrupted (resume with --resume)")
        raise
    except BaseException as e:
        message = str(e) if isinstance(e, GroklabError) else f"{type(e).__name__}: {e}"
        for run in runs:
            _record_end(run, "failed", message)
        raise


def _record_end(run: RunDir, status: str, error: str) -> None:
    """`finish`; on a full disk (no room for the atomic write's temporary file) summary.json is rewritten where
    it is instead, compact, in the blocks it already has, so the folder still says why the run stopped."""
    try:
        finish(run, status, None, error)
    except GroklabError:
        summary: dict[str, Any] = {}
        with contextlib.suppress(GroklabError):
            summary = run.summary()
        ended = {"status": status, "error": error}
        data = dumps(summary | ended).encode()
        with contextlib.suppress(OSError):
            fd = os.open(run.path / "summary.json", os.O_WRONLY | os.O_NOFOLLOW)
            try:
                if len(data) > os.fstat(fd).st_size:  # only what fits in the blocks the file holds
                    data = dumps({k: summary[k] for k in ("steps", "total_steps", "kind") if k in summary}
                                 | ended).encode()
                os.write(fd, data)
                os.ftruncate(fd, len(data))
                os.fsync(fd)
            finally:
                os.close(fd)


def execute(cfg: RunConfig, out: Path | str = "runs", resume: bool | Path = False, force: bool = False,
            progress: bool = False, command: str | None = None) -> tuple[Path, bool]:
    """Run one config into its folder. Returns (folder, already_finished)."""
    from groklab.engine import train_one

    prepared = prepare(cfg, check_out(out), resume, force)
    run = prepared.run
    if prepared.done:
        return run.path, True
    with run.lock():
        if not force and run.exists() and run.status() in FINISHED:  # finished while we waited for the lock
            return run.path, True
        start(run, cfg, prepared.task, command or " ".join(sys.argv), force=force)
        with recording([run]):
            outcome = train_one(cfg, run, progress=progress, task=prepared.task)
        finish(run, outcome.status, outcome.steps, outcome.error, outcome.stopped)
    return run.path, False


@dataclass(frozen=True)
class Run:
    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    history: Any  # dict of columns, or a pandas DataFrame
    name: str = field(default="")  # a label for tables and figures (the folder's name by default)

    @property
    def unit(self) -> str:
        return x_unit(self.summary)


def x_unit(summary: dict[str, Any]) -> str:
    """What a run's `step` column counts: "epoch" for an import whose x axis is the epoch (summary `x_axis`),
    else "step" (optimizer steps)."""
    return "epoch" if summary.get("x_axis") == "epoch" else "step"


def load_run(path: Path | str, as_frame: bool = False, name: str | None = None) -> Run:
    """Config, summary and history (columns; `None` where a line lacks a key) of a run folder. A summary that
    says `running` while no process holds the folder's lock is reported as `interrupted`."""
    run = RunDir(path)
    if not run.path.is_dir():
        raise GroklabError(f"{run.path}: no such folder")
    if not run.exists():
        missing = [f for f in ("config.json", "metrics.jsonl") if not (run.path / f).is_file()]
        raise GroklabError(f"{run.path}: not a run folder (missing {', '.join(missing)})")
    history: Any = run.history()
    if as_frame:
        try:
            import pandas as pd
        except ImportError:
            raise GroklabError("load_run(..., as_frame=True) needs pandas: pip install 'groklab[pandas]' (or "
                               "leave as_frame out for a dict of columns)") from None
        history = pd.DataFrame(history)
    summary = run.summary()
    if summary.get("status") == "running" and not run.locked():
        summary = summary | {"status": "interrupted"}
    return Run(run.path, run.config(), summary, history, name or run.path.name)


def write_folder(path: Path, config: dict[str, Any], rows: list[dict[str, Any]], summary: dict[str, Any],
                 force: bool = False) -> Path:
    """A complete run folder written at once (`groklab import`): config.json, metrics.jsonl and summary.json go
    into a temporary folder beside `path`, which then takes its place, so no reader ever sees half of it. An
    existing folder is an error unless `force`. Under a lock on the parent folder, so that two writers of the
    same folder never replace one another's (the second sees the first's folder and needs --force); temporary
    folders that a killed writer left are removed under the same lock."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(path.parent, e) from None
    with _folder_lock(path.parent):
        for stale in path.parent.glob(f".{path.name}.import-*"):  # only a dead writer's: the lock is ours now
            shutil.rmtree(stale, ignore_errors=True)
        if os.path.lexists(path) and not force:
            raise GroklabError(f"{path} exists: add --force to replace it")
        try:
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.import-"))
        except OSError as e:
            raise write_error(path.parent, e) from None
        old = None
        try:
            write_json(tmp / "config.json", config)
            atomic_write(tmp / "metrics.jsonl", "".join(dumps(row) + "\n" for row in rows))
            write_json(tmp / "summary.json", summary)
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp's folder is owner-only; give it the mode mkdir would
            if os.path.lexists(path):  # --force: the old folder steps aside, the new one takes its place
                old = tmp.with_name(tmp.name.replace(".import-", ".import-old-", 1))
                os.rename(path, old)
            os.rename(tmp, path)
        except BaseException as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None and not os.path.lexists(path):
                os.rename(old, path)
            if isinstance(e, OSError):
                raise write_error(path, e) from None
            raise
        if old is not None:  # what cannot be removed now is removed by the next writer (the glob above)
            shutil.rmtree(old, ignore_errors=True) if not old.is_symlink() else old.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on the folder itself (no lock file to leave behind), held while the block runs."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise GroklabError(f"cannot use {folder}: {e.strerror or e}") from None
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - no flock (Windows): no protection
            pass
        yield
    finally:
        os.close(fd)


def is_run_dir(path: Path) -> bool:
    """A run folder is a folder holding config.json and metrics.jsonl (design.md)."""
    return (Path(path) / "config.json").is_file() and (Path(path) / "metrics.jsonl").is_file()


def find_runs(root: Path | str) -> list[Path]:
    """Every run folder at or below `root`, sorted by path; checkpoint folders are not descended into."""
    root = Path(root)
    if not root.exists():
        raise GroklabError(f"{root}: no such folder")
    if not root.is_dir():
        raise GroklabError(f"{root}: not a folder")
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "checkpoints" and not d.startswith("."))
        if is_run_dir(Path(dirpath)):
            found.append(Path(dirpath))
    return sorted(found)
