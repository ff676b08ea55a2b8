"""Score a finished run's model on data it was not trained on (`groklab evaluate`).

The model is rebuilt through the run's own config and loaded from one of its checkpoints; the data are encoded
with the run's *training* statistics, never with statistics of the new data: the task's fitted state
(`fitted.json`, tasks.base.fitted_record: the m-height features' standardisation and entry scale, the groups'
order, the shapes and vocabulary the model was built for, the training labels' mean per group). The data are
either the task rebuilt with KEY=VALUE task overrides (another split seed of a modular task, another graph, the
m-height rows of another file) or a file or folder read by the task's reader (`--data`: an m-height .npz, .parquet
or CSV of P; an IDX folder for an image run). Metrics per split and per group, with the trivial baseline (the
training labels' mean per group) on the same rows, land in `evaluations/<data hash>-<checkpoint>.json` of the run
folder (runs.RunDir.write_evaluation); metrics.jsonl is never touched.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import RunConfig, apply_overrides, parse_overrides
from groklab.engine.common import DTYPES, chunk_sums, evaluate_split, resolve_device, scores_accuracy
from groklab.engine.loop import task_tensors
from groklab.errors import ConfigError, GroklabError
from groklab.io import finite, write_json
from groklab.models import build_model
from groklab.runs import RunDir, check_writable
from groklab.tasks import TaskData, build_task, read_data
from groklab.tasks.base import check_fits, fitted_record

USABLE = ("completed", "diverged")  # finished runs that trained a model (imported runs have no checkpoint)


@dataclass(frozen=True)
class Trained:
    """A run's model, loaded from one checkpoint, in eval mode, with what its inputs are made with."""

    run: RunDir
    config: RunConfig
    record: dict[str, Any]  # tasks.base.fitted_record of the training task
    checkpoint: str  # latest, best or step_N
    step: int
    state: dict[str, Tensor]  # the checkpoint's model state_dict


def checkpoint_name(text: str | int) -> str:
    """--checkpoint: latest, best or a step number (a log-spaced checkpoints/step_N.pt)."""
    text = str(text).strip()
    if text in ("latest", "best"):
        return text
    if text.isdigit():
        return f"step_{int(text)}"
    raise GroklabError(f"--checkpoint {text!r}: expected latest, best or a step number")


def open_trained(path: Path | str, checkpoint: str | int = "latest") -> Trained:
    """A finished run's config, fitted record and checkpoint; one line for a folder that is no finished run."""
    run = RunDir(path)
    if not run.exists():
        raise GroklabError(f"{run.path}: not a run folder (no config.json)")
    status = run.status()
    if status not in USABLE:
        raise GroklabError(f"{run.path} has status {status}: only a finished run ({' or '.join(USABLE)}) has a "
                           "model to score; wait for it or resume it with groklab run --resume")
    cfg = run.run_config()
    name = checkpoint_name(checkpoint)
    state, step = run.load_model_state(name)
    record = run.fitted()
    if record is None:  # a folder from before fitted.json: the training task is rebuilt (it is deterministic)
        record = fitted_record(build_task(cfg.task))
    return Trained(run, cfg, record, name, step, state)


def model_for(trained: Trained, task: TaskData, device: torch.device) -> nn.Module:
    """The run's model for data `task` (which must fit the shapes it was trained on), with the checkpoint's
    weights, in eval mode."""
    check_fits(task, trained.record)
    model = build_model(trained.config.model, task)
    try:
        model.load_state_dict(trained.state)
    except RuntimeError as e:
        first = next((line.strip() for line in str(e).splitlines()[1:] if line.strip()), str(e))
        raise GroklabError(f"{trained.run.path}: checkpoint {trained.checkpoint} does not fit the run's config "
                           f"({first[:200]})") from None
    return model.to(device=device, dtype=DTYPES[trained.config.train.dtype]).eval()


def task_overrides(items: list[str]) -> dict[str, str]:
    """KEY=VALUE items that may change the data only (task.*): the model and its training stay the run's."""
    overrides = parse_overrides(items)
    other = [key for key in overrides if not key.startswith("task.")]
    if other:
        raise ConfigError(f"{', '.join(other)}: groklab evaluate takes task.* overrides only (the data); the model "
                          "is the run's")
    return overrides


def evaluation_data(trained: Trained, data: str | None, overrides: dict[str, str]) -> TaskData:
    """The task config with the overrides, then the task's reader of `data` or its builder, encoded with the
    run's fitted statistics."""
    cfg = apply_overrides(trained.config, overrides) if overrides else trained.config
    fitted = trained.record.get("task") or None
    return read_data(cfg.task, data, fitted or {}) if data else build_task(cfg.task, fitted)


def data_hash(task: TaskData) -> str:
    """sha256 of every scored split's name and encoded inputs and labels: the same rows give the same name."""
    digest = hashlib.sha256()
    for name, (x, y) in {"train": (task.x_train, task.y_train), "val": (task.x_val, task.y_val),
                         **task.evals}.items():
        if len(x):
            digest.update(name.encode())
            digest.update(x.contiguous().numpy().tobytes())
            digest.update(y.contiguous().numpy().tobytes())
    return digest.hexdigest()


def group_labels(task: TaskData) -> list[str]:
    return [",".join(map(str, g)) for g in task.meta.get("groups", [])]


def baseline_loss(y: Tensor, group: Tensor | None, means: Tensor) -> float:
    """Mean squared error of the training labels' mean (of the row's group) on these rows, in float64."""
    y = y.double().reshape(len(y), -1)
    pred = means[group] if group is not None else means[0].expand_as(y)
    return float(((pred - y) ** 2).mean())


@torch.no_grad()
def score(model: nn.Module, trained: Trained, task: TaskData, device: torch.device) -> dict[str, Any]:
    """Metrics of every non-empty split, per group where the task has groups, with the baseline on the same rows
    (regression), and per split the mean over the groups present and over each of the task's group sets."""
    cfg = trained.config
    data = task_tensors(task, device, DTYPES[cfg.train.dtype])
    groups = dict(zip(("train", "val"), task.groups, strict=True)) if task.groups is not None else {}
    means = trained.record.get("label_mean")
    means = torch.tensor(means, dtype=torch.float64) if means is not None else None
    labels, accuracy = group_labels(task), scores_accuracy(task)

    def measure(x: Tensor, y: Tensor, group: Tensor | None) -> dict[str, Any]:
        row = {"rows": len(x), **{k: finite(float(v)) for k, v in evaluate_split(  # a diverged model: None
            lambda xc, yc: chunk_sums(model(xc), yc, task, cfg.train), x, y, 0, accuracy).items()}}
        if means is not None:
            row["baseline"] = baseline_loss(y.cpu(), group, means)
        return row

    out: dict[str, Any] = {"splits": {}, "groups": {}, "group_means": {}}
    for name, (x, y) in data.items():
        if not len(x):
            continue
        out["splits"][name] = measure(x, y, groups.get(name))
        if name not in groups:
            continue
        g = groups[name]
        per = {labels[i]: measure(x[(g == i).to(x.device)], y[(g == i).to(y.device)], g[g == i])
               for i in sorted(set(g.tolist()))}
        out["groups"][name] = per
        out["group_means"][name] = group_means(per, task.meta.get("group_sets", {}), labels)
    return out


def group_means(per: dict[str, dict[str, Any]], sets: dict[str, list[int]], labels: list[str]
                ) -> dict[str, dict[str, Any]]:
    """The plain mean over groups (the m-height course score, mheight.md §4.5) of every metric, over all groups
    present and over each of the task's named group sets (m-height: m<n-k, the 15 groups where a model learns)."""
    out = {}
    for name, members in {"all": list(per), **{k: [labels[i] for i in v] for k, v in sets.items()}}.items():
        present = [per[g] for g in members if g in per]
        if present:
            keys = [k for k in present[0] if k != "rows"]
            out[name] = {"groups": len(present), **{k: None if any(p[k] is None for p in present) else
                                                    sum(p[k] for p in present) / len(present) for k in keys}}
    return out


def evaluate(path: Path | str, data: str | None = None, overrides: dict[str, str] | None = None,
             checkpoint: str | int = "latest", out: Path | str | None = None, device: str = "cpu",
             command: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Score a run's checkpoint on new data (module docstring); returns the evaluation file and its record.
    Everything is checked and computed before the record is written (bad input writes nothing)."""
    overrides = task_overrides([f"{k}={v}" for k, v in (overrides or {}).items()])
    if out is not None:
        if Path(out).is_dir():
            raise GroklabError(f"--out {out} is a folder; name a .json file")
        check_writable(Path(out).parent)
    dev = resolve_device(device)
    trained = open_trained(path, checkpoint)
    task = evaluation_data(trained, data, overrides)
    model = model_for(trained, task, dev)
    digest = data_hash(task)
    record = {
        "run": str(trained.run.path), "checkpoint": trained.checkpoint, "step": trained.step,
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "command": command or " ".join(sys.argv),
        "data": {"source": data or "the run's task", "overrides": overrides, "sha256": digest,
                 "infinite_excluded": task.meta.get("n_infinite_excluded") or {}},
        "metric": "log2-MSE" if task.meta.get("task") == "mheight" else "loss",
        **score(model, trained, task, dev)}
    if not record["splits"]:
        raise GroklabError(f"{data or 'the data'}: no rows to score")
    written = trained.run.write_evaluation(f"{digest[:12]}-{trained.checkpoint}", record)
    if out is not None:
        write_json(out, record)
    return written, record


def fmt(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def describe(path: Path, record: dict[str, Any]) -> list[str]:
    """The evaluation as printed by groklab evaluate: splits, groups, and the means over groups."""
    lines = [f"evaluation  {path}", f"checkpoint  {record['checkpoint']} (step {record['step']:,})",
             f"data        {data_label(record)}  (sha256 {record['data']['sha256'][:12]})"]
    metric = record["metric"]
    cols = ["rows", "loss", "acc", "baseline"]
    for name, row in record["splits"].items():
        lines.append(f"{name:<11} " + "  ".join(f"{c if c != 'loss' else metric}={fmt(row[c])}" for c in cols
                                              if c in row))
    for split, per in record["groups"].items():
        lines.append(f"per group ({split}):  group  rows  {metric}" + ("  baseline" if any(
            "baseline" in r for r in per.values()) else "") + ("  acc" if any("acc" in r for r in per.values())
                                                                  else ""))
        for label, row in per.items():
            lines.append(f"  {label:<12} {row['rows']:>7,}  {fmt(row['loss'])}" + "".join(
                f"  {fmt(row[c])}" for c in ("baseline", "acc") if c in row))
        for name, mean in record["group_means"].get(split, {}).items():
            what = "all groups" if name == "all" else f"the groups with {name}"
            extra = f" (baseline {fmt(mean['baseline'])})" if "baseline" in mean else ""
            lines.append(f"  mean over {what} ({mean['groups']}): {metric} {fmt(mean['loss'])}{extra}")
    return lines


def data_label(record: dict[str, Any]) -> str:
    """What was scored: the --data path, the task overrides, or the run's own data."""
    data = record["data"]
    if data["source"] != "the run's task":
        return str(data["source"])
    return " ".join(f"{k}={v}" for k, v in data["overrides"].items()) or "the run's own data"


def summary_line(path: Path, record: dict[str, Any]) -> str:
    """One line per evaluation for groklab show: checkpoint, data, and the headline figures of its last split
    (the means over groups where the task has groups), each with its baseline."""
    split, row = list(record["splits"].items())[-1]

    def figure(name: str, values: dict[str, Any]) -> str:
        base = f" (baseline {fmt(values['baseline'])})" if "baseline" in values else ""
        acc = f" acc {fmt(values['acc'])}" if "acc" in values else ""
        return f"{name} {fmt(values.get('loss'))}{base}{acc}"

    means = record.get("group_means", {}).get(split, {})
    head = ", ".join(figure("mean over groups" if k == "all" else f"groups with {k}", v) for k, v in means.items())
    return (f"{path.name}  {record['checkpoint']} (step {record['step']})  {data_label(record)}  {split}: "
            f"{head or figure(record['metric'], row)}")
