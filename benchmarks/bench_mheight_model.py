"""m-height models: validation log2-MSE per group of the `mheight` recipe next to the published numbers and the
constant per-group baseline, and inference samples/s of the model (features included) against the exact labeler.

Usage: python benchmarks/bench_mheight_model.py [--device auto] [--runs recipe,raw_resnet] [--out DIR]
                                                 [--skip-train] [--from-runs DIR,DIR] [--fresh-seed S]
                                                 [KEY=VALUE ...]
KEY=VALUE are overrides of the `mheight` preset for every run (e.g. the preset's `paper_scale`:
task.per_group=20000 task.val_per_group=2000 model.d_model=256 model.d_mlp=256 train.steps=10000
train.eval_every=500). Runs: `recipe` is the preset (sorted minors + Cramer ratios, group_heads), `minors` the same
without the ratios, `raw_resnet` the residual MLP on raw P (the published-style input). `--from-runs` tabulates
finished run folders instead of training. Every table gives the mean over the 15 groups with m < n-k (where a model
learns: the m = n-k groups' height is the recipe's largest Cramer ratio, an input) beside the mean over all 21,
which is what the published 0.88 averages. `--fresh-seed S` also scores every run (`groklab.evaluate`) on a freshly
generated set of val_per_group rows per group drawn with seed S. Inference is timed on one thread: the features of P
(sorted minors and ratios), the model's forward pass (batch 4096, eval mode) and the exact labeler
(groklab.mheight.heights) on the same matrices. Data are generated into $GROKLAB_CACHE (or the default cache)
on first use.
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
from groklab.mheight import GenerateSpec, generate_dataset, heights
from groklab.mheight.features import sorted_log_minors, sorted_log_ratios
from groklab.mheight.metric import PUBLISHED_BELOW_MDS_MEAN, PUBLISHED_GROUPS, PUBLISHED_MEAN, headline
from groklab.models import build_model
from groklab.tasks import build_task

PUBLISHED = {",".join(map(str, g)): v for g, v in PUBLISHED_GROUPS.items()}  # best eothL model (mheight.md §4.6)
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


def means(per_group: dict[str, float]) -> dict[str, float]:
    """{'all': mean over groups, 'm<n-k': mean over the groups with m < n-k} of {'n,k,m': value}."""
    return headline({tuple(map(int, g.split(","))): v for g, v in per_group.items()})


def per_group(row: dict) -> dict[str, float]:
    return {k.rsplit("/", 1)[1]: v for k, v in row.items() if k.startswith("val/mse/") and v is not None}


def summarize(path: Path, seconds: float | None = None) -> dict:
    run = groklab.load_run(path)
    rows = [dict(zip(run.history, values, strict=True)) for values in zip(*run.history.values(), strict=True)]
    curve = [(r["step"], means(per_group(r))) for r in rows if per_group(r)]
    return {"final": run.summary["final"], "seconds": seconds, "path": str(path),
            "best_val": min(m["all"] for _, m in curve), "best_m<n-k": min(m["m<n-k"] for _, m in curve),
            "curve": curve, "baseline": run.summary.get("baseline") or {},
            "command": (path / "command.txt").read_text().strip() if (path / "command.txt").exists() else ""}


def fresh_scores(results: dict, cfg, seed: int, out: Path) -> dict[str, dict]:
    """Every run scored on a freshly generated set (val_per_group rows per group, seed `seed`)."""
    data = out / f"fresh-seed{seed}-{cfg.task.val_per_group}.npz"
    if not data.is_file():
        groups = tuple(tuple(g) for g in build_task(cfg.task).meta["groups"])
        generate_dataset(data, GenerateSpec(groups=groups, per_group=cfg.task.val_per_group, seed=seed),
                         progress=False)
    return {name: groklab.evaluate(r["path"], data=str(data)) for name, r in results.items()}


def print_table(results: dict, base: dict[str, float], fresh: dict[str, dict], seed: int | None) -> None:
    names = list(results)
    print("\n| group | published best (eothL) | group-mean baseline | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for key in sorted(base, key=lambda g: tuple(map(int, g.split(",")))):
        ours = " | ".join(f"{results[m]['final'][f'val/mse/{key}']:.3f}" for m in names)
        print(f"| {key} | {PUBLISHED.get(key, '-')} | {base[key]:.3f} | {ours} |")
    finals = {m: means(per_group(results[m]["final"])) for m in names}
    b = means(base)
    print(f"| **mean over the 15 groups with m < n−k, final** | ≈{PUBLISHED_BELOW_MDS_MEAN:.2f} (derived) | "
          f"{b['m<n-k']:.3f} | " + " | ".join(f"**{finals[m]['m<n-k']:.3f}**" for m in names) + " |")
    print(f"| mean over all 21 groups, final | MoE {PUBLISHED_MEAN}, ResNet 1.13 | {b['all']:.3f} | "
          + " | ".join(f"{finals[m]['all']:.3f}" for m in names) + " |")
    print("| best 15-group mean over evaluations | | | " + " | ".join(f"{results[m]['best_m<n-k']:.3f}"
                                                                      for m in names) + " |")
    print("| train log2-MSE (final, all groups) | | | " + " | ".join(f"{results[m]['final']['train/loss']:.3f}"
                                                                   for m in names) + " |")
    for m, record in fresh.items():
        got = record["group_means"]["val"]
        print(f"\n{m} on a fresh set (seed {seed}, {record['splits']['val']['rows']:,} rows): 15-group mean "
              f"{got['m<n-k']['loss']:.3f} (baseline {got['m<n-k']['baseline']:.3f}), 21-group mean "
              f"{got['all']['loss']:.3f} (baseline {got['all']['baseline']:.3f}); own validation "
              f"{finals[m]['m<n-k']:.3f} / {finals[m]['all']:.3f}")
    for m in names:
        print(f"\n{m}, curve (step: 15-group / 21-group mean): " + ", ".join(
            f"{step}: {c['m<n-k']:.3f} / {c['all']:.3f}" for step, c in results[m]["curve"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--runs", default="recipe,raw_resnet")
    ap.add_argument("--out", default="runs/bench_mheight")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--from-runs", default="", help="finished run folders to tabulate instead, comma-separated")
    ap.add_argument("--fresh-seed", type=int, default=None, help="also score every run on a fresh set (this seed)")
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
    base = group_mean_baseline(task)
    print(f"\nTraining: {cfg.task.per_group} train / {cfg.task.val_per_group} val rows per group, {cfg.train.steps} "
          f"steps, batch {cfg.train.batch_size}; overrides: {' '.join(args.overrides) or '(preset defaults)'}")
    fresh = fresh_scores(results, cfg, args.fresh_seed, Path(args.out)) if args.fresh_seed is not None else {}
    print_table(results, base, fresh, args.fresh_seed)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench_mheight_model.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
