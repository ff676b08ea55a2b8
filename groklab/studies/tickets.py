"""The Grokking Tickets pipeline of Minegishi, Iwasawa, Matsuo 2023 (arXiv 2310.19470; papers.md §10).

1. Train the dense net (weight decay on) until it has grokked.
2. Global magnitude pruning of its final weights: keep the `keep` fraction of all weight entries with the largest
   |w| (the reference's `sparsity` argument is this kept fraction; 0.4 = 60% pruned).
3. Reset the survivors to their initial values (`checkpoints/step_0.pt`): the grokked ticket.
4. Retrain with the mask fixed and weight decay `retrain_wd` (0 in the reference's latest pruning config, 1, as
   for the dense net, in the config of the paper's era), against controls from the same initialisation: a random
   mask of the same density, the dense net retrained the same way (dense_retrain), and
   the dense net rescaled to the ticket's initial L2 norm ("norm-matched", the paper's `weight_ratio` control).
Each arm is an ordinary run folder whose `train.init_from` / `train.mask_from` name the files written here, so
every folder stays self-describing. The speed-up is steps to val acc >= 0.95, the control's over the ticket's.
With `seeds` > 1 the pipeline runs for several initialisations, so a speed-up can be judged against seed spread.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig, apply_overrides
from groklab.engine import train_many, train_one, unsupported
from groklab.errors import GroklabError
from groklab.io import load_tensors, save_tensors, write_json
from groklab.presets import detector_for
from groklab.runs import RunDir, finish, prepare, recording, start

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


def _train(cfgs: list[RunConfig], out: Path, progress: bool) -> list[Path]:
    """Each config as an ordinary run folder (finished ones skipped, interrupted ones resumed), every run with its
    detection. Runs of equal shapes train together in one process (`engine.train_many`: the seeds' dense runs,
    then every retraining arm of every seed), one after another otherwise."""
    prepared = [prepare(cfg, out, resume=True) for cfg in cfgs]
    todo = [(cfg, p) for cfg, p in zip(cfgs, prepared, strict=True) if not p.done]
    with contextlib.ExitStack() as stack:
        for _, p in todo:
            stack.enter_context(p.run.lock())
        for cfg, p in todo:
            start(p.run, cfg, p.task, f"groklab tickets ({cfg.name})")
        sinks, tasks = [p.run for _, p in todo], [p.task for _, p in todo]
        with recording(sinks):
            if len(todo) > 1 and all(unsupported(cfg) is None for cfg, _ in todo):
                outcomes = train_many([cfg for cfg, _ in todo], sinks, progress=progress, tasks=tasks)
            else:
                outcomes = [train_one(cfg, p.run, progress=progress, task=p.task) for cfg, p in todo]
        for (cfg, p), outcome in zip(todo, outcomes, strict=True):
            finish(p.run, outcome.status, outcome.steps, outcome.error, outcome.stopped)
            detect_after_training(p.run.path, detector_for(cfg))
    return [p.run.path for p in prepared]


def _ticket_files(dense: Path, steps: int, keep: float, seed: int, folder: Path) -> dict[str, str]:
    """Step 2-4's inputs for one dense run: its initialisation, the magnitude and random masks of its final
    weights, and the norm-matched dense initialisation."""
    ckpts = dense / "checkpoints"
    final_path, init_path = ckpts / f"step_{steps}.pt", ckpts / "step_0.pt"
    if not (final_path.exists() and init_path.exists()):
        raise GroklabError(f"{dense} lacks step_0.pt or step_{steps}.pt (train.log_checkpoints=0?)")
    final = load_tensors(final_path)["model"]
    init = load_tensors(init_path)["model"]
    folder.mkdir(parents=True, exist_ok=True)
    files = {"init": _save(folder / "init.pt", {"model": init})}
    masks = {kind: global_mask(final, keep, kind, seed) for kind in KINDS}
    for kind, m in masks.items():
        files[f"mask_{kind}"] = _save(folder / f"mask_{kind}.pt", m)
    files["init_norm_matched"] = _save(folder / "init_norm_matched.pt",
                                       {"model": norm_matched(init, masks["magnitude"])})
    return files


def run_tickets(base: RunConfig, out: Path | str = "runs", keep: float = 0.4, retrain_steps: int | None = None,
                seed: int = 0, retrain_wd: float = 0.0, seeds: int = 1, progress: bool = False) -> dict[str, Any]:
    """Dense runs, pruning and the four retraining arms, for `seeds` initialisations (`base.seed`, `base.seed` + 1,
    ...); writes and returns `tickets.json`: per arm its steps to val acc >= 0.95 and the ticket's speed-up over it,
    one entry per seed, and `runs` ({arm}_s{seed}: run folder).

    `retrain_wd` is the retraining weight decay of every arm (0 in the reference's latest pruning config, 1 in the
    one of the paper's era); `seed` (+ i for the i-th initialisation) draws the random mask."""
    out = Path(out)
    if not 0 < keep <= 1:
        raise GroklabError(f"--keep must be in (0, 1], got {keep}")
    if retrain_wd < 0:
        raise GroklabError(f"--retrain-wd must be >= 0, got {retrain_wd}")
    if seeds < 1:
        raise GroklabError(f"--seeds must be >= 1, got {seeds}")
    bases = [dataclasses.replace(base, seed=base.seed + i) for i in range(seeds)]
    dense = _train(bases, out, progress)
    folder = out / (f"tickets-{dense[0].name}-keep{keep:g}" + (f"-seeds{seeds}" if seeds > 1 else ""))
    files = {str(b.seed): _ticket_files(d, b.train.steps, keep, seed + i, folder / f"s{b.seed}")
             for i, (b, d) in enumerate(zip(bases, dense, strict=True))}
    steps = retrain_steps or base.train.steps
    retrain = {str(b.seed): apply_overrides(b, {"optim.weight_decay": retrain_wd, "train.steps": steps,
                                                "train.log_checkpoints": min(b.train.log_checkpoints, 2)})
               for b in bases}
    sources = {"ticket": ("init", "mask_magnitude"), "random_mask": ("init", "mask_random"),
               "dense_retrain": ("init", None), "norm_matched": ("init_norm_matched", None)}
    plan = [(arm, s, dataclasses.replace(cfg, name=f"{base.name}_{arm}", train=dataclasses.replace(
                cfg.train, init_from=files[s][init], mask_from=files[s][mask] if mask else "")))
            for arm, (init, mask) in sources.items() for s, cfg in retrain.items()]
    paths = dict(zip([(arm, s) for arm, s, _ in plan], _train([cfg for *_, cfg in plan], out, progress),
                     strict=True))
    paths |= {("dense", str(b.seed)): d for b, d in zip(bases, dense, strict=True)}
    order = [str(b.seed) for b in bases]
    arms: dict[str, Any] = {}
    for arm in ("dense", *sources):
        at = [_steps_to(paths[arm, s]) for s in order]
        arms[arm] = {"weight_decay": base.optim.weight_decay if arm == "dense" else retrain_wd,
                     "steps_to_val95": at, "runs": [str(paths[arm, s]) for s in order]}
    ticket = arms["ticket"]["steps_to_val95"]
    for arm in ("dense", *[a for a in sources if a != "ticket"]):
        arms[arm]["speedup_of_ticket"] = [other / t if t and other else None
                                          for t, other in zip(ticket, arms[arm]["steps_to_val95"], strict=True)]
    report = {"keep": keep, "pruned": 1 - keep, "kind": "global magnitude", "random_mask_seed": seed,
              "seeds": [b.seed for b in bases], "retrain_steps": steps, "retrain_wd": retrain_wd,
              "threshold": f"val/acc >= {THRESHOLD}", "arms": arms,
              "runs": {f"{arm}_s{s}": str(paths[arm, s]) for arm in arms for s in order}, "files": files}
    write_json(folder / "tickets.json", report)
    report["folder"] = str(folder)
    return report
