"""Optional trackers that mirror metrics.jsonl: `train.log=tensorboard`, `train.log=wandb`, or both (comma list).

metrics.jsonl stays the source of truth: a tracker receives the same rows after they are written, and a tracker
that fails (a missing package at run time, a full disk, a wandb error) prints one warning on stderr and is
switched off; it never stops a run. Packages are imported only when a tracker opens (extras `tensorboard`,
`wandb`; ecosystem.md §"Logging is local-first and optional-remote").

- tensorboard: event files in `<run>/tensorboard/`, every numeric key of each row (except `step`, the x axis) as a
  scalar at its step, the resolved config as TensorBoard hparams (flattened dotted keys) and as a text summary
  `config` (JSON). Written through `torch.utils.tensorboard`, flushed at every row.
- wandb: a run in `<run>/wandb/`, OFFLINE unless the user sets `WANDB_MODE` (no account, no network; upload later
  with `wandb sync <run>/wandb/offline-run-*`); project `WANDB_PROJECT` or `groklab`, run name the folder name,
  config the resolved config.

The run writer calls `check_trackers(cfg.train.log)` before anything is written (bad names and absent packages
exit 2 with one line), then `open_trackers(...)`, `tracker.log(row)` for each metrics row and `tracker.close()`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Protocol

from groklab.config import flatten
from groklab.errors import ConfigError

TRACKERS = ("tensorboard", "wandb")
PACKAGES = {"tensorboard": ("tensorboard",), "wandb": ("wandb",)}  # what each tracker imports
HPARAM_METRICS = ("train/loss", "val/loss", "train/acc", "val/acc")  # columns the hparams view offers


class Tracker(Protocol):
    def log(self, row: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


def tracker_names(spec: str) -> list[str]:
    """`"tensorboard, wandb"` -> ["tensorboard", "wandb"] (empty items and repeats dropped)."""
    return list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))


def check_trackers(spec: str) -> list[str]:
    """The tracker names of `train.log`, or a one-line ConfigError for an unknown one or an absent package."""
    names = tracker_names(spec)
    for name in names:
        if name not in TRACKERS:
            raise ConfigError(f"train.log: unknown tracker {name!r}; expected some of {', '.join(TRACKERS)}")
        missing = [p for p in PACKAGES[name] if importlib.util.find_spec(p) is None]
        if missing:
            raise ConfigError(f"train.log={name} needs the {', '.join(missing)} package: "
                              f"pip install 'groklab[{name}]'")
    return names


def scalars(row: dict[str, Any]) -> dict[str, float]:
    """The row's numeric values, `step` and non-finite (None) entries left out."""
    return {k: v for k, v in row.items()
            if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)}


def hparam_value(value: Any) -> bool | int | float | str:
    return value if isinstance(value, bool | int | float | str) else json.dumps(value)


class TensorBoardTracker:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        flat = {k: hparam_value(v) for k, v in flatten(config).items()}
        # add_hparams would open a second, timestamped log folder; its three summaries go in this one instead
        for summary in hparams(flat, dict.fromkeys(HPARAM_METRICS, 0.0)):
            self.writer.file_writer.add_summary(summary)
        self.writer.add_text("config", "```\n" + json.dumps(config, indent=2) + "\n```")
        self.writer.flush()

    def log(self, row: dict[str, Any]) -> None:
        for key, value in scalars(row).items():
            self.writer.add_scalar(key, value, int(row["step"]))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbTracker:
    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "groklab"), name=Path(run_dir).name, dir=str(run_dir),
            config=config, mode=os.environ.get("WANDB_MODE") or "offline", reinit="create_new",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))

    def log(self, row: dict[str, Any]) -> None:
        self.run.log(scalars(row), step=int(row["step"]))

    def close(self) -> None:
        self.run.finish()


CLASSES: dict[str, type] = {"tensorboard": TensorBoardTracker, "wandb": WandbTracker}


def warn(name: str, action: str, error: BaseException) -> None:
    print(f"groklab: warning: the {name} tracker failed to {action} ({type(error).__name__}: {error}); it is off "
          "for the rest of this run, metrics.jsonl is unaffected", file=sys.stderr)


class Guarded:
    """A tracker whose first failure warns once and switches it off."""

    def __init__(self, name: str, tracker: Tracker) -> None:
        self.name, self.tracker, self.failed = name, tracker, False

    def log(self, row: dict[str, Any]) -> None:
        self._call("log", row)

    def close(self) -> None:
        self._call("close")

    def _call(self, method: str, *args: Any) -> None:
        if self.failed:
            return
        try:
            getattr(self.tracker, method)(*args)
        except Exception as e:
            self.failed = True
            warn(self.name, method, e)


def open_trackers(spec: str, run_dir: Path | str, config: dict[str, Any]) -> list[Tracker]:
    """The trackers `spec` names, opened on `run_dir`; one that cannot open (or is unknown) warns and is left out."""
    trackers: list[Tracker] = []
    for name in tracker_names(spec):
        try:
            if name not in CLASSES:
                raise ConfigError(f"unknown tracker {name!r}")
            trackers.append(Guarded(name, CLASSES[name](Path(run_dir), config)))
        except Exception as e:
            warn(name, "open", e)
    return trackers
