"""m-height models: inference per second (ResNet expert, MoE) and validation log2-MSE per group of the `mheight`
preset trained at an affordable size, next to the published numbers of mheight.md §4.6.

Usage: python benchmarks/bench_mheight_model.py [--device auto] [--models moe,resnet_mlp] [--out DIR]
                                                 [--skip-train] [KEY=VALUE ...]
KEY=VALUE are overrides of the `mheight` preset (e.g. task.per_group=5000 train.steps=20000 model.d_model=384).
Inference is timed at paper scale (width 384 = 64·6, 5 blocks, 6 experts top-2; batch 4096, eval mode, no grad)
on the preset's task. Data are generated into $GROKLAB_CACHE (or the default cache) on first use.
The published numbers are on the course's 840k set (20k training rows per group); a run with fewer rows per
group is not expected to match them; the table says how many rows and steps were used.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import groklab
from groklab.api import resolve
from groklab.config import ModelConfig, parse_overrides
from groklab.engine import resolve_device
from groklab.models import build_model
from groklab.tasks import build_task

PUBLISHED = {"10,4,3": 0.083, "10,5,2": 0.086, "9,5,2": 0.118, "9,4,5": 2.03, "9,6,3": 2.16, "9,5,4": 2.16,
             "10,4,6": 2.18, "10,5,5": 2.51, "10,6,4": 2.67}  # best eothL model, per group (§4.6)
PUBLISHED_MEAN = {"ResNet-2D (eothL)": 1.13, "MoE 6 ResNet experts top-2, fine-tuned (eothL)": 0.88}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def inference_rate(name: str, task, device: torch.device, batch: int = 4096, seconds: float = 3.0) -> float:
    """Samples per second of a paper-scale model (width 384, 5 blocks; MoE: 6 experts, top-2)."""
    model = build_model(ModelConfig(name=name, d_model=384, d_mlp=384, n_layers=5, n_experts=6, top_k=2), task)
    model = model.to(device).eval()
    x = torch.cat([task.x_train] * (batch // len(task.x_train) + 1))[:batch].to(device)
    for _ in range(3):
        model(x)
    sync(device)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        model(x)
        calls += 1
    sync(device)
    return calls * batch / (time.perf_counter() - start)


def group_mean_baseline(task) -> dict[str, float]:
    """Val log2-MSE of predicting each group's mean training label (ignores P): the floor a model must beat."""
    tg, vg = torch.tensor(task.meta["train_group"]), torch.tensor(task.meta["val_group"])
    return {",".join(map(str, g)): ((task.y_val[vg == i] - task.y_train[tg == i].mean()) ** 2).mean().item()
            for i, g in enumerate(task.meta["groups"])}


def train(name: str, overrides: dict[str, str], out: Path) -> dict:
    started = time.perf_counter()
    path = groklab.run("mheight", {**overrides, "model.name": name}, out=out, force=True)
    run = groklab.load_run(path)
    return {"final": run.summary["final"], "verdict": (run.summary.get("detection") or {}).get("verdict"),
            "seconds": time.perf_counter() - started, "path": str(path),
            "best_val": min(v for v in run.history["val/course_mse"] if v is not None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", default="moe,resnet_mlp")
    ap.add_argument("--out", default="runs/bench_mheight")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    overrides = {"train.device": args.device, **parse_overrides(args.overrides)}
    cfg = resolve("mheight", overrides)
    device = resolve_device(cfg.train.device)
    task = build_task(cfg.task)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"# m-height models, {time.strftime('%Y-%m-%d %H:%M')}, {device.type} ({where}), torch {torch.__version__},"
          f" {torch.get_num_threads()} CPU threads")
    print("\n| model (width 384, 5 blocks) | params | inference samples/s (batch 4096) |\n|---|---|---|")
    models = [m for m in args.models.split(",") if m]
    for name in models:
        net = build_model(ModelConfig(name=name, d_model=384, d_mlp=384, n_layers=5), task)
        params = sum(p.numel() for p in net.parameters())
        print(f"| {name} | {params:,} | {inference_rate(name, task, device):,.0f} |")
    if args.skip_train:
        return
    results = {name: train(name, overrides, Path(args.out)) for name in models}
    c = resolve("mheight", overrides)
    print(f"\nTraining: `mheight` preset + {' '.join(args.overrides) or '(defaults)'}: {c.task.per_group} train / "
          f"{c.task.val_per_group} val rows per group, {c.train.steps} steps, batch {c.train.batch_size}, width "
          f"{c.model.d_model}, {c.model.n_layers} blocks, wd {c.optim.weight_decay}")
    base = group_mean_baseline(task)
    print("\n| group | published best (eothL) | group-mean baseline | " + " | ".join(f"{m} (ours)" for m in models)
          + " |")
    print("|---|---|---|" + "---|" * len(models))
    keys = sorted({k.split("/")[-1] for r in results.values() for k in r["final"] if k.startswith("val/mse/")},
                  key=lambda g: tuple(map(int, g.split(","))))
    for key in keys:
        ours = " | ".join(f"{results[m]['final'][f'val/mse/{key}']:.3f}" for m in models)
        print(f"| {key} | {PUBLISHED.get(key, '-')} | {base[key]:.3f} | {ours} |")
    print(f"| **mean over groups (final)** | ResNet 1.13, MoE 0.88 | {sum(base.values()) / len(base):.3f} | " +
          " | ".join(f"**{results[m]['final']['val/course_mse']:.3f}**" for m in models) + " |")
    print("| best mean over evaluations | | | " + " | ".join(f"{results[m]['best_val']:.3f}" for m in models) + " |")
    print("| train log2-MSE (final) | hard-gated MoE 0.19 | | " +
          " | ".join(f"{results[m]['final']['train/loss']:.3f}" for m in models) + " |")
    print("| training time (s) / verdict | | | " +
          " | ".join(f"{results[m]['seconds']:.0f} / {results[m]['verdict']}" for m in models) + " |")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "bench_mheight_model.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
