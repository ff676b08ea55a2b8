"""The Python API: `groklab.run(config)` and `groklab.load_run(path)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig
from groklab.presets import resolve
from groklab.runs import Run, execute, load_run


def run(config: RunConfig | str | None = None, overrides: dict[str, Any] | None = None, out: Path | str = "runs",
        resume: bool | Path = False, force: bool = False, progress: bool = False, command: str | None = None) -> Path:
    """Train one config (a RunConfig, a preset name, or None for the default preset, with dotted-key overrides)
    into its run folder (skipped if it already finished), detect grokking in it, and return the folder."""
    cfg = resolve(config, overrides)
    path, done = execute(cfg, out=out, resume=resume, force=force, progress=progress, command=command)
    if not done:
        detect_after_training(path)
    return path


__all__ = ["Run", "load_run", "resolve", "run"]
