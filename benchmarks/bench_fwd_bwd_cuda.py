"""Forward + backward of M stacked power2022 transformers on CUDA: eager vs torch.compile, float32 vs TF32.

    python benchmarks/bench_fwd_bwd_cuda.py [--members 1,64] [--profile]

The vmapped loss of one minibatch (512 rows) per member, its backward, captured as a CUDA graph and replayed 50
times (median-free mean of the replays; warm-up and compilation excluded and printed). `--profile` prints a
CUDA profile of the eager M=64 step (kernels by device time). Needs a GPU.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.profiler import ProfilerActivity, profile

from groklab.api import resolve
from groklab.losses import cross_entropy
from groklab.models import build_model
from groklab.tasks import build_task


def make_step(m: int, compiled: bool):
    cfg = resolve("power2022")
    task = build_task(cfg.task)
    models = []
    for seed in range(m):
        torch.manual_seed(seed)
        models.append(build_model(cfg.model, task).cuda())
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    x = torch.stack([task.x_train[:512]] * m).cuda()
    y = torch.stack([task.y_train[:512]] * m).cuda()

    def member_loss(p, b, xs, ys):
        return cross_entropy(functional_call(base, (p, b), (xs,)), ys)

    loss = vmap(member_loss)
    loss = torch.compile(loss, dynamic=False) if compiled else loss

    def step() -> None:
        for p in params.values():
            p.grad = None
        loss(params, buffers, x, y).sum().backward()

    return step


def timed(m: int, compiled: bool, tf32: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = tf32
    step = make_step(m, compiled)
    t0 = time.perf_counter()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(50):
        graph.replay()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / 50 * 1e3
    print(f"M={m:<3} compiled={compiled!s:<5} tf32={tf32!s:<5} fwd+bwd {ms:7.3f} ms/step "
          f"(warm-up incl. compilation {warm:.1f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", default="1,64")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with sdpa_kernel([SDPBackend.MATH]):  # the engine's attention backend inside vmap
        if args.profile:
            step = make_step(64, compiled=False)
            for _ in range(3):
                step()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    step()
                torch.cuda.synchronize()
            print(prof.key_averages().table(sort_by="device_time_total", row_limit=25, max_name_column_width=80))
        for m in (int(v) for v in args.members.split(",")):
            for compiled in (False, True):
                for tf32 in (False, True):
                    timed(m, compiled, tf32)


if __name__ == "__main__":
    main()
