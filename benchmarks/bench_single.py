"""One run of the power2022 recipe: groklab's loop vs a plain PyTorch loop, side by side in one process.

The plain loop is written the way the public re-implementations write it (papers.md §01: danielmamay/grokking):
nn.MultiheadAttention blocks over every position, a DataLoader with shuffle, AdamW with a LambdaLR warm-up, and
`.item()` evaluations of the full train and validation sets every 100 steps. Both train the same task, the same
model size and the same optimizer for the same number of steps; the figure is steps per second.

    python benchmarks/bench_single.py [--steps 300] [--device cpu|cuda] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from groklab.api import resolve
from groklab.config import parse_overrides
from groklab.engine import MemorySink, train_one
from groklab.tasks import build_task


class PlainBlock(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, bias=False, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d, bias=False), nn.ReLU(), nn.Linear(4 * d, d, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        mask = torch.triu(torch.full((n, n), float("-inf"), device=x.device), diagonal=1)
        a, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        x = self.ln1(x + a)
        return self.ln2(x + self.ffn(x))


class PlainTransformer(nn.Module):
    def __init__(self, vocab: int, n_out: int, d: int = 128, heads: int = 4, layers: int = 2, ctx: int = 4) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.Sequential(*[PlainBlock(d, heads) for _ in range(layers)])
        self.out = nn.Linear(d, n_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.tok(x) + self.pos(torch.arange(x.shape[1], device=x.device))
        return self.out(self.blocks(h))[:, -1]


def plain_loop(steps: int, device: torch.device, overrides: dict[str, str] | None = None) -> float:
    """steps/s of the plain loop on the power2022 recipe (with `overrides` of task.p, model.d_model and
    train.batch_size: benchmarks/bench_scaling.py)."""
    cfg = resolve("power2022", overrides or {})
    task = build_task(cfg.task)
    model = PlainTransformer(task.vocab_size, task.n_classes, d=cfg.model.d_model).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / 10, 1.0))
    loader = DataLoader(TensorDataset(task.x_train, task.y_train),
                        batch_size=cfg.train.resolved_batch_size(task.n_train), shuffle=True)
    xs = {k: getattr(task, k).to(device) for k in ("x_train", "y_train", "x_val", "y_val")}
    start, step = time.perf_counter(), 0
    while step < steps:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0:
                model.eval()
                with torch.no_grad():
                    for split in ("train", "val"):
                        out = model(xs[f"x_{split}"])
                        _ = nn.functional.cross_entropy(out, xs[f"y_{split}"]).item()
                        _ = (out.argmax(-1) == xs[f"y_{split}"]).float().mean().item()
                model.train()
            if step == steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def groklab_loop(steps: int, device: torch.device, extra: dict[str, str]) -> float:
    cfg = resolve("power2022", {"train.steps": steps, "train.device": device.type, "train.log_checkpoints": 0,
                                "train.checkpoint_every": steps, "train.stop_when": ""} | extra)  # every step
    start = time.perf_counter()
    train_one(cfg, MemorySink())  # what `groklab run` trains with (on CUDA: the captured step)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides for groklab's loop (train.tf32=true also sets TF32 for the plain loop)")
    parser.add_argument("--plain-only", action="store_true",
                        help="only the plain loop, once, as a process of its own (benchmarks/bench_process.py)")
    args = parser.parse_args()
    device, extra = torch.device(args.device), parse_overrides(args.set)
    if args.plain_only:
        plain_loop(args.steps, device)
        return
    torch.backends.cuda.matmul.allow_tf32 = extra.get("train.tf32", "false").lower() == "true"
    plain_loop(20, device), groklab_loop(20, device, extra)  # warm-up: allocator, kernels, lazy imports
    best = {"plain": 0.0, "groklab": 0.0}
    for _ in range(args.repeats):  # interleaved, best of N: the least disturbed measurement of each
        best["plain"] = max(best["plain"], plain_loop(args.steps, device))
        best["groklab"] = max(best["groklab"], groklab_loop(args.steps, device, extra))
    print(f"power2022 recipe, {args.steps} steps, device {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, overrides {args.set}")
    print(f"{'loop':<10}{'steps/s':>10}")
    for name, value in best.items():
        print(f"{name:<10}{value:>10.1f}")
    print(f"ratio groklab/plain: {best['groklab'] / best['plain']:.2f}x")


if __name__ == "__main__":
    main()
