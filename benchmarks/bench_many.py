"""Many runs: M members of `power2022` (weight decay x seed grid), vectorised vs one after another.

    python benchmarks/bench_many.py                       # CPU (and CUDA if available), M = 1, 8, 64
    python benchmarks/bench_many.py --device cuda --members 1,8,64 --steps 200
    python benchmarks/bench_many.py --device cuda --set train.tf32=true     # overrides for every path

Both paths do exactly the same work: every member resumes from the same synthetic checkpoint at step 1000
(initial weights, zero Adam moments), so the dense early evaluation schedule is behind it, and trains `--steps`
minibatch steps with one evaluation at the end, into in-memory sinks (no disk). The figure is run-steps/s:
members x steps / wall seconds; the ratio is vectorised over sequential. A warm-up run of each path comes first
(imports, kernel selection), untimed.

On CUDA a third column times the members one after another through `train_one`, the path `groklab run` takes
(the captured step, one member per group): what a sweep of single runs would cost without vectorisation.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from groklab.config import RunConfig, apply_overrides, parse_overrides
from groklab.engine import MemorySink, resolve_device, train, train_many, train_one
from groklab.models import build_model
from groklab.optim import build_optimizer
from groklab.presets.power2022 import PRESET
from groklab.tasks import build_task

START = 1000
WEIGHT_DECAYS = (0.1, 0.3, 1.0, 3.0)


class Resume(MemorySink):
    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__()
        self.state = state

    def load_latest(self) -> dict[str, Any] | None:
        return self.state


def members(m: int, steps: int, device: str, extra: dict[str, str] | None = None) -> list[RunConfig]:
    """m members: weight decays cycled over WEIGHT_DECAYS, seeds counted up; `extra` overrides for all."""
    return [apply_overrides(PRESET.config, {"optim.weight_decay": WEIGHT_DECAYS[i % 4], "seed": i // 4,
                                      "train.steps": START + steps, "train.eval_every": START,
                                      "train.checkpoint_every": 10**9, "train.log_checkpoints": 0,
                                      "train.stop_when": "",
                                      "train.device": device} | (extra or {})) for i in range(m)]


def checkpoint(cfg: RunConfig) -> dict[str, Any]:
    """A plain-format checkpoint at step START: the member's initial weights and zero Adam moments."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, build_task(cfg.task))
    template = build_optimizer(cfg.optim, model).state_dict()
    state = {j: {"step": torch.tensor(float(START)), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
             for j, p in enumerate(model.parameters())}
    return {"model": model.state_dict(), "optimizer": {"state": state, "param_groups": template["param_groups"]},
            "rng": torch.get_rng_state(), "step": START, "time": 0.0}


def sync(device: str) -> None:
    if resolve_device(device).type == "cuda":
        torch.cuda.synchronize()


def time_sequential(cfgs: list[RunConfig], states: list[dict[str, Any]], device: str, fn: Any = train) -> float:
    sync(device)
    t0 = time.perf_counter()
    for cfg, state in zip(cfgs, states, strict=True):
        fn(cfg, Resume(state))
    sync(device)
    return time.perf_counter() - t0


def time_vectorised(cfgs: list[RunConfig], states: list[dict[str, Any]], device: str) -> float:
    sync(device)
    t0 = time.perf_counter()
    train_many(cfgs, [Resume(s) for s in states])
    sync(device)
    return time.perf_counter() - t0


def bench(device: str, sizes: list[int], steps: int,
          extra: dict[str, str]) -> list[tuple[str, int, float, float, float | None]]:
    warm = members(1, 3, device, extra)
    time_sequential(warm, [checkpoint(c) for c in warm], device)
    time_vectorised(warm, [checkpoint(c) for c in warm], device)
    rows = []
    for m in sizes:
        cfgs = members(m, steps, device, extra)
        states = [checkpoint(c) for c in cfgs]
        vec = time_vectorised(cfgs, states, device)
        seq = time_sequential(cfgs, states, device)
        one = time_sequential(cfgs, states, device, train_one) if resolve_device(device).type == "cuda" else None
        rows.append((device, m, m * steps / seq, m * steps / vec, m * steps / one if one else None))
        also = f"   one by one through train_one {one:7.2f} s" if one else ""
        print(f"  {device:<5} M={m:<3} sequential {seq:7.2f} s   vectorised {vec:7.2f} s{also}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", help="cpu, cuda, or all (cpu, and cuda when available)")
    parser.add_argument("--members", default="1,8,64", help="comma-separated member counts")
    parser.add_argument("--steps", type=int, default=None, help="steps per member (default: 5 on CPU, 200 on GPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for all paths")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d != "cuda" or torch.cuda.is_available()]
    sizes = [int(m) for m in args.members.split(",")]
    rows = []
    for device in devices:
        steps = args.steps or (200 if device == "cuda" else 5)
        print(f"{device}: power2022 (d_model 128, 2 layers, batch 512), {steps} steps per member", flush=True)
        rows += bench(device, sizes, steps, parse_overrides(args.set))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-"
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} CPU threads, GPU: {gpu}, overrides: {args.set}")
    print(f"{'device':<7}{'M':>4}  {'sequential run-steps/s':>23}  {'vectorised run-steps/s':>23}  {'ratio':>6}"
          f"  {'train_one run-steps/s':>22}")
    for device, m, seq, vec, one in rows:
        print(f"{device:<7}{m:>4}  {seq:>23.2f}  {vec:>23.2f}  {vec / seq:>5.2f}x  {one or float('nan'):>22.2f}")

if __name__ == "__main__":
    main()
