"""The Grokking Tickets pipeline of Minegishi, Iwasawa, Matsuo 2023 (arXiv 2310.19470; papers.md §10).

1. Train the dense net (weight decay on) until it has grokked.
2. Global magnitude pruning of its final weights: keep the `keep` fraction of all weight entries with the largest
   |w| (the reference's `sparsity` argument is this kept fraction; 0.4 = 60% pruned).
3. Reset the survivors to their initial values (`checkpoints/step_0.pt`): the grokked ticket.
4. Retrain with the mask fixed and no weight decay (`retrain_wd`), against controls from the same
   initialisation: a random mask of the same density, the dense net retrained the same way (dense_retrain), and
   the dense net rescaled to the ticket's initial L2 norm ("norm-matched", the paper's `weight_ratio` control).
Each arm is an ordinary run folder whose `train.init_from` / `train.mask_from` name the files written here, so
every folder stays self-describing. The speed-up is steps to val acc >= 0.95, dense over ticket.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig, apply_overrides
from groklab.errors import GroklabError
from groklab.io import load_tensors, save_tensors, write_json
from groklab.runs import RunDir, execute

KINDS = ("magnitude", "random")
THRESHOLD = "0.95"


def prunable(state: dict[str, Tensor]) -> list[str]:
    """Weight matrices (2-D and up): every parameter of the bias-free tickets MLP."""
    return [n for n, w in state.items() if w.ndim >= 2 and w.is_floating_point()]


def global_mask(state: dict[str, Tensor], keep: float, kind: str = "magnitude", seed: int = 0) -> dict[str, Tensor]:
    """0/1 masks keeping round(keep · N) of the N prunable entries: the largest |w| over all layers at once
    (magnitude) or a uniformly random set of the same size (random)."""
    if not 0 < keep <= 1:
        raise GroklabError(f"keep must be in (0, 1], got {keep}")
    if kind not in KINDS:
        raise GroklabError(f"prune kind {kind!r}: expected one of {', '.join(KINDS)}")
    names = prunable(state)
    if not names:
        raise GroklabError("the model has no weight matrices to prune")
    flat = torch.cat([state[n].detach().double().abs().flatten() for n in names])
    if kind == "random":
        flat = torch.rand(flat.numel(), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = max(1, round(keep * flat.numel()))
    kept = torch.zeros(flat.numel(), dtype=torch.bool)
    kept[flat.topk(k).indices] = True
    masks, i = {}, 0
    for n in names:
        size = state[n].numel()
        masks[n] = kept[i : i + size].reshape(state[n].shape).to(state[n].dtype)
        i += size
    return masks


def norm_matched(init: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
    """The dense initialisation with its prunable weights scaled to the ticket's initial L2 norm."""
    names = list(masks)
    full = torch.sqrt(sum((init[n].double() ** 2).sum() for n in names))
    ticket = torch.sqrt(sum(((init[n] * masks[n]).double() ** 2).sum() for n in names))
    scale = (ticket / full).item()
    return {n: (w * scale if n in masks else w) for n, w in init.items()}


def _steps_to(path: Path) -> int | None:
    return (RunDir(path).summary().get("thresholds") or {}).get("val/acc", {}).get(THRESHOLD)


def _save(path: Path, obj: dict[str, Any]) -> str:
    save_tensors(path, obj)
    return str(path.resolve())


def _run(cfg: RunConfig, out: Path, progress: bool) -> Path:
    """One arm as an ordinary run folder (skipped if it already finished), with its detection."""
    path, done = execute(cfg, out=out, progress=progress, command=f"groklab tickets ({cfg.name})")
    if not done:
        detect_after_training(path)
    return path


def run_tickets(base: RunConfig, out: Path | str = "runs", keep: float = 0.4, retrain_steps: int | None = None,
                seed: int = 0, retrain_wd: float = 0.0, progress: bool = False) -> dict[str, Any]:
    """Dense run, pruning and the four retraining arms; writes and returns `tickets.json` (speed-ups included).

    `retrain_wd` is the retraining weight decay of every arm: 0 in the reference's pruning config."""
    out = Path(out)
    if not 0 < keep <= 1:
        raise GroklabError(f"--keep must be in (0, 1], got {keep}")
    if retrain_wd < 0:
        raise GroklabError(f"--retrain-wd must be >= 0, got {retrain_wd}")
    dense = _run(base, out, progress)
    ckpts = dense / "checkpoints"
    final_path, init_path = ckpts / f"step_{base.train.steps}.pt", ckpts / "step_0.pt"
    if not (final_path.exists() and init_path.exists()):
        raise GroklabError(f"{dense} lacks step_0.pt or step_{base.train.steps}.pt (train.log_checkpoints=0?)")
    final = load_tensors(final_path)["model"]
    init = load_tensors(init_path)["model"]
    folder = out / f"tickets-{dense.name}-keep{keep:g}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {"init": _save(folder / "init.pt", {"model": init})}
    masks = {kind: global_mask(final, keep, kind, seed) for kind in KINDS}
    for kind, m in masks.items():
        files[f"mask_{kind}"] = _save(folder / f"mask_{kind}.pt", m)
    files["init_norm_matched"] = _save(folder / "init_norm_matched.pt",
                                       {"model": norm_matched(init, masks["magnitude"])})
    steps = retrain_steps or base.train.steps
    retrain = apply_overrides(base, {"optim.weight_decay": retrain_wd, "train.steps": steps,
                                     "train.log_checkpoints": min(base.train.log_checkpoints, 2)})
    arms = {
        "ticket": (files["init"], files["mask_magnitude"]),
        "random_mask": (files["init"], files["mask_random"]),
        "dense_retrain": (files["init"], ""),
        "norm_matched": (files["init_norm_matched"], ""),
    }
    result: dict[str, Any] = {"dense": {"run": str(dense), "steps_to_val95": _steps_to(dense),
                                        "weight_decay": base.optim.weight_decay}}
    for arm, (init_file, mask_file) in arms.items():
        cfg = dataclasses.replace(
            retrain, name=f"{base.name}_{arm}",
            train=dataclasses.replace(retrain.train, init_from=init_file, mask_from=mask_file))
        path = _run(cfg, out, progress)
        result[arm] = {"run": str(path), "steps_to_val95": _steps_to(path), "weight_decay": retrain_wd}
    ticket = result["ticket"]["steps_to_val95"]
    for arm in ("dense", "random_mask", "dense_retrain", "norm_matched"):
        other = result[arm]["steps_to_val95"]
        result[arm]["speedup_of_ticket"] = (other / ticket) if ticket and other else None
    report = {"keep": keep, "pruned": 1 - keep, "kind": "global magnitude", "seed": seed, "retrain_steps": steps,
              "threshold": f"val/acc >= {THRESHOLD}", "arms": result, "files": files}
    write_json(folder / "tickets.json", report)
    report["folder"] = str(folder)
    return report
