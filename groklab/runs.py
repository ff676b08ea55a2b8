"""The run folder (design.md): written atomically, resumable after a kill, loadable for analysis."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from groklab.config import RunConfig, flatten, validate
from groklab.errors import ConfigError, GroklabError
from groklab.tasks import build_task
from groklab.train import Outcome, resolve_device
from groklab.vectorized import train_one

THRESHOLDS = (0.5, 0.9, 0.95, 0.99)
FINISHED = ("completed", "diverged")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete lines only: a line cut by a kill (no newline, or not JSON) is not a record."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def first_crossings(rows: list[dict[str, Any]], key: str) -> dict[str, int | None]:
    """First evaluated step at which `key` is at or above each threshold (null if never)."""
    out: dict[str, int | None] = {str(t): None for t in THRESHOLDS}
    for row in rows:
        value = row.get(key)
        for t in THRESHOLDS:
            if value is not None and out[str(t)] is None and value >= t:
                out[str(t)] = row["step"]
    return out


class RunDir:
    """One run's folder; the training loop's Sink."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.ckpt = self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def read_summary(self) -> dict[str, Any] | None:
        p = self.path / "summary.json"
        return json.loads(p.read_text()) if p.exists() else None

    def write_summary(self, **fields: Any) -> None:
        summary = self.read_summary() or {}
        summary.update(fields)
        write_json(self.path / "summary.json", summary)

    # --- Sink -------------------------------------------------------------------------------------------
    def log(self, row: dict[str, Any]) -> None:
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None:
        self.ckpt.mkdir(exist_ok=True)
        if keep:
            self._save_pt(self.ckpt / f"step_{step}.pt", {"model": state["model"], "step": step})
        if latest:
            self._save_pt(self.ckpt / "latest.pt", state)
            self.write_summary(status="running", steps=step)

    def load_latest(self) -> dict[str, Any] | None:
        """The latest checkpoint, with metrics.jsonl cut back to the lines it covers."""
        latest = self.ckpt / "latest.pt"
        state = torch.load(latest, weights_only=True) if latest.exists() else None
        step = state["step"] if state is not None else -1
        rows = [r for r in read_jsonl(self.metrics_path) if r["step"] <= step]
        atomic_write(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        return state

    @staticmethod
    def _save_pt(path: Path, obj: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        try:
            torch.save(obj, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def environment(device: torch.device) -> dict[str, Any]:
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
    }


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise GroklabError(f"cannot write to --out {out}: {e.strerror or e}") from None


def config_difference(a: dict[str, Any], b: dict[str, Any]) -> str:
    fa, fb = flatten(a), flatten(b)
    diffs = [f"{k}: {fa.get(k)!r} vs {fb.get(k)!r}" for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    return "; ".join(diffs[:3]) + (" ..." if len(diffs) > 3 else "")


def prepare(cfg: RunConfig, out: Path, resume: bool | Path = False, force: bool = False) -> tuple[RunDir, bool]:
    """Check everything, then decide the folder. Returns (run_dir, already_finished). Raises before writing."""
    validate(cfg)
    build_task(cfg.task)  # task-level checks (prime p, empty split, ...) before any folder exists
    resolve_device(cfg.train.device)
    path = Path(resume) if isinstance(resume, Path) else Path(out) / cfg.run_name
    check_writable(path.parent)
    run = RunDir(path)
    config_file = path / "config.json"
    if force and path.exists():
        shutil.rmtree(path)
    elif config_file.exists():
        held = json.loads(config_file.read_text())
        with contextlib.suppress(GroklabError):  # keys added since the folder was written take their defaults
            held = RunConfig.from_dict(held).to_dict()
        if held != cfg.to_dict():
            raise ConfigError(f"{path} holds another config ({config_difference(held, cfg.to_dict())})")
        status = (run.read_summary() or {}).get("status", "running")
        if status in FINISHED:
            return run, True
        if not resume:
            raise GroklabError(f"{path} exists with status {status}: add --resume to continue it or --force to "
                               "start over")
    elif isinstance(resume, Path):
        raise GroklabError(f"--resume {path}: not a run folder (no config.json)")
    return run, False


def start(run: RunDir, cfg: RunConfig, command: str) -> None:
    fresh = not (run.path / "config.json").exists()
    run.path.mkdir(parents=True, exist_ok=True)
    if fresh:
        write_json(run.path / "config.json", cfg.to_dict())
        atomic_write(run.path / "command.txt", command + "\n")
    write_json(run.path / "env.json", environment(resolve_device(cfg.train.device)))
    task = build_task(cfg.task)
    run.write_summary(status="running", steps=(run.read_summary() or {}).get("steps", 0),
                      total_steps=cfg.train.steps, kind=task.kind, error=None)


def finish(run: RunDir, status: str, steps: int | None, error: str | None) -> dict[str, Any]:
    rows = read_jsonl(run.metrics_path)
    summary = run.read_summary() or {}
    fields: dict[str, Any] = {"status": status, "steps": steps if steps is not None else summary.get("steps", 0),
                              "final": rows[-1] if rows else None, "error": error}
    if any("train/acc" in r for r in rows):  # classification, or regression scored by accuracy (Liu's toy)
        fields["thresholds"] = {k: first_crossings(rows, k) for k in ("train/acc", "val/acc")}
    run.write_summary(**fields)
    return run.read_summary() or {}


def execute(cfg: RunConfig, out: Path | str = "runs", resume: bool | Path = False, force: bool = False,
            progress: bool = False, command: str | None = None) -> tuple[Path, bool]:
    """Run one config into its folder. Returns (folder, already_finished)."""
    run, done = prepare(cfg, Path(out), resume, force)
    if done:
        return run.path, True
    start(run, cfg, command or " ".join(sys.argv))
    try:
        outcome: Outcome = train_one(cfg, run, progress=progress)
    except KeyboardInterrupt:
        finish(run, "interrupted", None, "interrupted by the user (resume with --resume)")
        raise
    except Exception as e:
        finish(run, "failed", None, f"{type(e).__name__}: {e}")
        raise
    finish(run, outcome.status, outcome.steps, outcome.error)
    return run.path, False


@dataclass(frozen=True)
class Run:
    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    history: Any  # dict of columns, or a pandas DataFrame


def load_run(path: Path | str, as_frame: bool = False) -> Run:
    """Config, summary and history (columns; `None` where a line lacks a key) of a run folder."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise GroklabError(f"{path} is not a run folder (no config.json)")
    rows = read_jsonl(path / "metrics.jsonl")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    history: Any = {k: [r.get(k) for r in rows] for k in keys}
    if as_frame:
        import pandas as pd

        history = pd.DataFrame(history)
    summary = json.loads((path / "summary.json").read_text()) if (path / "summary.json").exists() else {}
    return Run(path, json.loads((path / "config.json").read_text()), summary, history)
