"""Wall-clock time until the default preset (power2022: x/y mod 97, 50% data) generalizes.

Trains the preset (or another one) in memory and stops at the first evaluation with validation accuracy >= 0.99;
prints the step and the wall time at which train and validation accuracy first reached 0.99. Evaluations follow
the preset's schedule (dense early, then every `train.eval_every` steps), so a crossing is known to that grain.

    python benchmarks/bench_time_to_val99.py [--preset power2022] [--device cpu|cuda] [--steps 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

import torch

from groklab.api import resolve
from groklab.engine import train_one


class Generalized(Exception):
    pass


class Watch:
    """A Sink that notes the first step and wall time of each 0.99 crossing and stops at the validation one."""

    def __init__(self, threshold: float) -> None:
        self.threshold, self.start = threshold, time.perf_counter()
        self.first: dict[str, tuple[int, float]] = {}

    def log(self, row: dict[str, Any]) -> None:
        for key in ("train/acc", "val/acc"):
            if key not in self.first and (row.get(key) or 0) >= self.threshold:
                self.first[key] = (row["step"], time.perf_counter() - self.start)
        if "val/acc" in self.first:
            raise Generalized

    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None:
        pass

    def load_latest(self) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None, help="preset name (default: the default preset)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=10_000, help="budget; the run stops earlier at val acc 0.99")
    parser.add_argument("--threshold", type=float, default=0.99)
    args = parser.parse_args()
    cfg = resolve(args.preset, {"train.steps": args.steps, "train.device": args.device, "train.log_checkpoints": 0,
                                "train.checkpoint_every": args.steps})
    watch = Watch(args.threshold)
    with contextlib.suppress(Generalized):
        train_one(cfg, watch)  # what `groklab run` trains with (on CUDA: the captured step)
    total = time.perf_counter() - watch.start
    print(f"{cfg.name} ({cfg.task.op} mod {cfg.task.p}), device {args.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for key in ("train/acc", "val/acc"):
        step, seconds = watch.first.get(key, (None, None))
        where = f"step {step:>6}  {seconds:8.1f} s" if step is not None else f"not within {args.steps} steps"
        print(f"{key:<10} >= {args.threshold}: {where}")
    print(f"wall {total:.1f} s")


if __name__ == "__main__":
    main()
