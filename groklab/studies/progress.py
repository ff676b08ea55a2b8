"""Nanda et al. 2023 progress measures over a run's saved checkpoints (papers.md §03; Figures 5-7).

The key frequencies are fixed once, from the final checkpoint, by the per-neuron rule of `probes.fourier`
(`key_frequencies` on the last block's MLP activations at the answer position over all p^2 inputs). Then, per
log-spaced checkpoint: the full model's train/test loss, the restricted loss (train and test), the excluded loss
(train), the Gini coefficients of the Fourier-component norms of W_E and of W_L = W_out @ W_U, and the total
sum of squared weights. Only (a + b) mod p is supported: the trig directions are cos/sin(w_k(a + b)).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import GroklabError
from groklab.io import atomic_write, dumps, load_tensors, write_json
from groklab.losses import cross_entropy
from groklab.models import build_model
from groklab.models.transformer import Transformer
from groklab.probes import fourier
from groklab.runs import RunDir
from groklab.tasks import TaskData, build_task


def all_inputs(task: TaskData) -> tuple[Tensor, Tensor, Tensor]:
    """Every (a, b) in row-major order a * p + b: (tokens [p*p, seq], labels [p*p], train mask [p*p])."""
    p = task.meta.get("p")
    if task.meta.get("op") != "x+y" or p is None:
        raise GroklabError(f"the Fourier progress measures need task.op=x+y (got {task.meta.get('op')})")
    col_b = 2 if task.meta.get("layout") == "a_op_b_eq" else 1
    x, y = torch.cat([task.x_train, task.x_val]), torch.cat([task.y_train, task.y_val])
    index = x[:, 0] * p + x[:, col_b]
    if len(index) != p * p or len(torch.unique(index)) != p * p:
        raise GroklabError(f"the task does not cover all p^2={p * p} pairs")
    tokens, labels = torch.empty_like(x), torch.empty_like(y)
    tokens[index], labels[index] = x, y
    train = torch.zeros(p * p, dtype=torch.bool)
    train[index[: len(task.x_train)]] = True
    return tokens, labels, train


@torch.no_grad()
def mlp_activations(model: nn.Module, tokens: Tensor) -> Tensor:
    """Post-activation MLP neurons [batch, d_mlp] of the last block at the answer position."""
    if not isinstance(model, Transformer):
        raise GroklabError("the Fourier progress measures need a transformer model (e.g. nanda_transformer)")
    x = model.W_E[tokens] + model.W_pos[: tokens.shape[1]]
    for block in model.blocks[:-1]:
        x = block(x)
    blk, resid = model.blocks[-1], x[:, -1:]
    if blk.norm == "pre":
        pre_mlp = blk.ln2(resid + blk.attn(blk.ln1(x), True))
    elif blk.norm == "post":
        pre_mlp = blk.ln1(resid + blk.attn(x, True))
    else:
        pre_mlp = resid + blk.attn(x, True)
    pre = pre_mlp @ blk.W_in + (blk.b_in if blk.b_in is not None else 0)
    return (F.relu(pre) if blk.act == "relu" else F.gelu(pre))[:, 0]


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of checkpoints/step_<N>.pt, in step order."""
    found = []
    for path in (run_dir / "checkpoints").glob("step_*.pt"):
        m = re.fullmatch(r"step_(\d+)\.pt", path.name)
        if m:
            found.append((int(m.group(1)), path))
    return sorted(found)


@torch.no_grad()
def measures(model: Transformer, tokens: Tensor, labels: Tensor, train: Tensor, keys: list[int], p: int
             ) -> dict[str, float]:
    logits = model(tokens).double()
    W_L = fourier.logit_map(model.blocks[-1].W_out, model.W_U)
    return {
        "fourier/train_loss": cross_entropy(logits[train], labels[train], precision=64).item(),
        "fourier/test_loss": cross_entropy(logits[~train], labels[~train], precision=64).item(),
        "fourier/restricted_loss_train": fourier.restricted_loss(logits, keys, train, labels),
        "fourier/restricted_loss_test": fourier.restricted_loss(logits, keys, ~train, labels),
        "fourier/excluded_loss_train": fourier.excluded_loss(logits, keys, train, labels),
        "fourier/gini_W_E": fourier.gini(fourier.embed_fourier_norms(model.W_E, p)),
        "fourier/gini_W_L": fourier.gini(fourier.logit_map_fourier_norms(W_L, p)),
        "params/sum_sq": sum((w.double() ** 2).sum() for w in model.parameters()).item(),
    }


def fourier_progress(run_dir: Path | str, min_frac: float = 0.0, progress: bool = False
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Compute the measures for every checkpoint of a run; write fourier.json and fourier.jsonl beside
    metrics.jsonl. Returns (key-frequency record, rows)."""
    run_dir = Path(run_dir)
    run = RunDir(run_dir)
    if not run.exists():
        raise GroklabError(f"{run_dir} is not a run folder (no config.json)")
    cfg = run.run_config()
    task = build_task(cfg.task)
    tokens, labels, train = all_inputs(task)
    p = int(task.meta["p"])
    ckpts = checkpoints(run_dir)
    if not ckpts:
        raise GroklabError(f"{run_dir} has no checkpoints/step_*.pt (train.log_checkpoints=0?)")
    torch.manual_seed(0)
    model = build_model(cfg.model, task).double()

    def load(path: Path) -> None:
        model.load_state_dict(load_tensors(path)["model"])
        model.eval()

    final_step, final_path = ckpts[-1]
    load(final_path)
    keys = fourier.key_frequencies(mlp_activations(model, tokens), p, min_frac=min_frac)
    if not keys:
        raise GroklabError(f"no key frequencies found at step {final_step} (all neurons constant?)")
    record = {"p": p, "from_step": final_step, "rule": "per-neuron (Nanda calculate_key_freqs)",
              "min_frac": min_frac, "key_frequencies": keys,
              "embed_key_frequencies": fourier.embed_key_frequencies(model.W_E, p)}
    rows = []
    for i, (step, path) in enumerate(ckpts, start=1):
        load(path)
        rows.append({"step": step, **measures(model, tokens, labels, train, keys, p)})
        if progress:
            print(f"probe fourier: checkpoint {i}/{len(ckpts)} (step {step:,})", file=sys.stderr, flush=True)
    write_json(run_dir / "fourier.json", record)
    atomic_write(run_dir / "fourier.jsonl", "".join(dumps(r) + "\n" for r in rows))
    return record, rows
