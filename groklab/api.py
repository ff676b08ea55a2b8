"""The Python API: `groklab.run(config)`, `groklab.load_run(path)`, and the trained model's use:
`groklab.evaluate(path, ...)` and `groklab.predict_heights(path, P, m=...)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig
from groklab.presets import detector_for, resolve
from groklab.runs import Run, execute, load_run
from groklab.studies.predict import Prediction, predict_heights


def run(config: RunConfig | str | None = None, overrides: dict[str, Any] | None = None, out: Path | str = "runs",
        resume: bool | Path = False, force: bool = False, progress: bool = False, command: str | None = None) -> Path:
    """Train one config (a RunConfig, a preset name, or None for the default preset, with dotted-key overrides)
    into its run folder (skipped if it already finished), detect grokking in it (with the preset's detector
    settings), and return the folder."""
    cfg = resolve(config, overrides)
    path, done = execute(cfg, out=out, resume=resume, force=force, progress=progress, command=command)
    if not done:
        detect_after_training(path, detector_for(cfg))
    return path


def evaluate(path: Path | str, data: str | None = None, overrides: dict[str, Any] | None = None,
             checkpoint: str | int = "latest", out: Path | str | None = None) -> dict[str, Any]:
    """`groklab evaluate`: score a finished run's checkpoint on new data (`data`: a file or folder for the task's
    reader; `overrides`: task.* keys), encoded with the run's training statistics. Writes the record to
    RUN/evaluations/ (and `out`) and returns it: metrics per split, per group, means over groups, baselines."""
    from groklab.studies.evaluate import evaluate as score

    return score(path, data=data, overrides={k: str(v) for k, v in (overrides or {}).items()},
                 checkpoint=checkpoint, out=out, command="groklab.evaluate")[1]


__all__ = ["Prediction", "Run", "evaluate", "load_run", "predict_heights", "resolve", "run"]
