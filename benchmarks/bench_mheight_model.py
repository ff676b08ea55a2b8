"""m-height models: validation log2-MSE per group of the `mheight` recipe next to the published numbers and the
constant per-group baseline, and inference samples/s of the model (features included) against the exact labeler.

Usage: python benchmarks/bench_mheight_model.py [--device auto] [--runs recipe,raw_resnet] [--out DIR]
                                                 [--skip-train] [--from-runs DIR,DIR] [KEY=VALUE ...]
KEY=VALUE are overrides of the `mheight` preset for every run (e.g. the preset's `paper_scale`:
task.per_group=20000 task.val_per_group=2000 model.d_model=256 model.d_mlp=256 train.steps=10000
train.eval_every=500). Runs: `recipe` is the preset (sorted minors + Cramer ratios, group_heads), `minors` the same
without the ratios, `raw_resnet` the residual MLP on raw P (the published-style input). `--from-runs` tabulates
finished run folders instead of training. Inference is timed on one thread: the features of P (sorted minors and
ratios), the model's forward pass (batch 4096, eval mode) and the exact labeler (groklab.mheight.heights) on the
same matrices. Data are generated into $GROKLAB_CACHE (or the default cache) on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import groklab
from groklab.api import resolve
from groklab.config import parse_overrides
from groklab.engine import resolve_device
from groklab.mheight import heights
from groklab.mheight.features import sorted_log_minors, sorted_log_ratios
from groklab.models import build_model
from groklab.tasks import build_task

PUBLISHED = {"10,4,3": 0.083, "10,5,2": 0.086, "9,5,2": 0.118, "9,4,5": 2.03, "9,6,3": 2.16, "9,5,4": 2.16,
             "10,4,6": 2.18, "10,5,5": 2.51, "10,6,4": 2.67}  # best eothL model, per group (mheight.md §4.6)
RUNS = {"recipe": {}, "minors": {"task.features": "minors"},
        "raw_resnet": {"model.name": "resnet_mlp", "task.features": "raw"}}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rate(fn, count: int, seconds: float = 3.0) -> float:
    """count / (seconds per call of fn), timed over at least `seconds`."""
    fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls * count / (time.perf_counter() - start)


@torch.no_grad()
def inference(cfg, task, device: torch.device, rows: int = 4096) -> dict[str, float]:
    """Samples/s of the features, of the model and of the exact labeler on the same `rows` P of one group each."""
    model = build_model(cfg.model, task).to(device).eval()
    x = torch.cat([task.x_val] * (rows // len(task.x_val) + 1))[:rows].to(device)
    out = {"model forward": rate(lambda: (model(x), sync(device)), rows)}
    rng = np.random.default_rng(0)
    feats, exact = [], []
    for n, k, m in task.meta["groups"]:
        P = rng.uniform(-100, 100, size=(rows // 4, k, n - k))
        pad = np.zeros((len(P), 6, 6))
        pad[:, :k, :n - k] = P
        nn_, kk = np.full(len(P), n), np.full(len(P), k)
        feats.append(rate(lambda pad=pad, nn_=nn_, kk=kk: (sorted_log_minors(pad, nn_, kk, 100.0),
                                                           sorted_log_ratios(pad, nn_, kk)), len(P), 0.5))
        exact.append(rate(lambda P=P, m=m: heights(P, m), len(P), 0.5))
    out["features (minors + ratios)"] = len(feats) / sum(1 / f for f in feats)  # harmonic mean over the groups
    out["features + model"] = 1 / (1 / out["features (minors + ratios)"] + 1 / out["model forward"])
    out["exact labeler (vertex method)"] = len(exact) / sum(1 / e for e in exact)
    return out


def group_mean_baseline(task) -> dict[str, float]:
    """Val log2-MSE of predicting each group's mean training label (ignores P): the floor a model must beat."""
    tg, vg = task.groups
    return {",".join(map(str, g)): ((task.y_val[vg == i] - task.y_train[tg == i].mean()) ** 2).mean().item()
            for i, g in enumerate(task.meta["groups"])}


def summarize(path: Path, seconds: float | None = None) -> dict:
    run = groklab.load_run(path)
    return {"final": run.summary["final"], "seconds": seconds, "path": str(path),
            "best_val": min(v for v in run.history["val/course_mse"] if v is not None),
            "command": (path / "command.txt").read_text().strip() if (path / "command.txt").exists() else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--runs", default="recipe,raw_resnet")
    ap.add_argument("--out", default="runs/bench_mheight")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--from-runs", default="", help="finished run folders to tabulate instead, comma-separated")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    overrides = {"train.device": args.device, **parse_overrides(args.overrides)}
    cfg = resolve("mheight", overrides)
    device = resolve_device(cfg.train.device)
    task = build_task(cfg.task)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"# m-height models, {time.strftime('%Y-%m-%d %H:%M')}, {device.type} ({where}), torch {torch.__version__},"
          f" {torch.get_num_threads()} CPU threads, load average {os.getloadavg()[0]:.1f}\n")
    params = sum(p.numel() for p in build_model(cfg.model, task).parameters())
    print(f"Inference, `mheight` recipe ({cfg.model.name}, width {cfg.model.d_model}, {cfg.model.n_layers} blocks, "
          f"{params:,} parameters):\n\n| what | samples/s |\n|---|---|")
    for what, value in inference(cfg, task, device).items():
        print(f"| {what} | {value:,.0f} |")
    if args.skip_train:
        return
    if args.from_runs:
        results = {}
        for folder in args.from_runs.split(","):  # named by model and features (folder names are hashes)
            config = groklab.load_run(Path(folder)).config
            results[f"{config['model']['name']} on {config['task']['features']}"] = summarize(Path(folder))
    else:
        results = {}
        for name in args.runs.split(","):
            started = time.perf_counter()
            path = groklab.run("mheight", {**overrides, **RUNS[name]}, out=Path(args.out) / name, force=True)
            results[name] = summarize(path, time.perf_counter() - started)
    names = list(results)
    base = group_mean_baseline(task)
    print(f"\nTraining: {cfg.task.per_group} train / {cfg.task.val_per_group} val rows per group, {cfg.train.steps} "
          f"steps, batch {cfg.train.batch_size}; overrides: {' '.join(args.overrides) or '(preset defaults)'}")
    print("\n| group | published best (eothL) | group-mean baseline | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    keys = sorted({k.split("/")[-1] for r in results.values() for k in r["final"] if k.startswith("val/mse/")},
                  key=lambda g: tuple(map(int, g.split(","))))
    for key in keys:
        ours = " | ".join(f"{results[m]['final'][f'val/mse/{key}']:.3f}" for m in names)
        print(f"| {key} | {PUBLISHED.get(key, '-')} | {base[key]:.3f} | {ours} |")
    print(f"| **mean over groups (final)** | ResNet 1.13, MoE 0.88 | {sum(base.values()) / len(base):.3f} | " +
          " | ".join(f"**{results[m]['final']['val/course_mse']:.3f}**" for m in names) + " |")
    print("| best mean over evaluations | | | " + " | ".join(f"{results[m]['best_val']:.3f}" for m in names) + " |")
    print("| train log2-MSE (final) | | | " + " | ".join(f"{results[m]['final']['train/loss']:.3f}" for m in names)
          + " |")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench_mheight_model.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
