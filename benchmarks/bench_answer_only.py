"""The answer-only last block against every position computed (issue 29 §1): same verdicts within seed spread?

    python benchmarks/bench_answer_only.py [--scale ci|paper] [--seeds 0,1,2,3]

For each seed, the power2022 recipe is trained twice in this process: as groklab trains it (the last block's
query, attention output, MLP and unembedding at the answer position only) and with every block at every position
(`Transformer.forward(answer_only=False)`). Printed per run: the first evaluation with train acc >= 0.99 and with
val acc >= 0.99, their ratio and the preset's verdict (ratio >= 3: delayed generalization), the final val acc,
and the counted GFLOP of one training step. `--scale ci` is the preset's CI arm (one layer, d 64, p 41, full
batch, 1,000 steps: ~25 s of one core per run); `--scale paper` the default run (2 layers, d 128, p 97).
"""

from __future__ import annotations

import argparse
import time
from functools import partialmethod

import torch
from torch.utils.flop_counter import FlopCounterMode

from groklab.api import resolve
from groklab.engine import MemorySink, train
from groklab.engine.loop import Single
from groklab.models.transformer import Transformer
from groklab.presets.power2022 import SMALL
from groklab.tasks import build_task


def first_at(rows: list[dict], key: str, level: float) -> int | None:
    return next((r["step"] for r in rows if (r.get(key) or 0) >= level), None)


def step_gflop(cfg) -> float:
    trainer = Single(cfg, build_task(cfg.task), torch.device("cpu"), None)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(0)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("ci", "paper"), default="ci")
    parser.add_argument("--seeds", default="0,1,2,3")
    args = parser.parse_args()
    base = {"train.stop_when": ""} | ({k: str(v) for k, v in SMALL.items()} if args.scale == "ci" else {})
    forward = Transformer.forward
    print(f"power2022 {args.scale} scale, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'path':<15}{'seed':>5}{'train 0.99':>11}{'val 0.99':>10}{'ratio':>7}  {'verdict':<9}{'final val':>10}"
          f"{'GFLOP/step':>11}{'wall s':>8}")
    for seed in map(int, args.seeds.split(",")):
        cfg = resolve("power2022", base | {"seed": str(seed)})
        for path, answer_only in (("answer-only", True), ("every position", False)):
            Transformer.forward = partialmethod(forward, answer_only=answer_only)  # type: ignore[method-assign]
            try:
                gflop = step_gflop(cfg)
                sink, start = MemorySink(), time.perf_counter()
                train(cfg, sink)
                wall = time.perf_counter() - start
            finally:
                Transformer.forward = forward  # type: ignore[method-assign]
            t99, v99 = first_at(sink.rows, "train/acc", 0.99), first_at(sink.rows, "val/acc", 0.99)
            ratio = v99 / t99 if t99 and v99 else None
            verdict = "grokking" if ratio is not None and ratio >= 3 else "no"
            print(f"{path:<15}{seed:>5}{t99 or '-':>11}{v99 or '-':>10}{f'{ratio:.1f}' if ratio else '-':>7}  "
                  f"{verdict:<9}{sink.rows[-1]['val/acc']:>10.4f}{gflop:>11.3f}{wall:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
