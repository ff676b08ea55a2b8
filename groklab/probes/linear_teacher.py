"""Levi et al. 2023 (papers.md §09) measured and predicted: the exact generalization loss of a linear student
(Eq. 2), a live probe, and the analytic prediction of a run's accuracy crossings, stored in summary.json."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from groklab.errors import GroklabError
from groklab.models import build_model
from groklab.optim import lr_at
from groklab.probes.registry import register
from groklab.tasks.base import TaskData
from groklab.tasks.linear_teacher import GROK_LEVEL, LEVELS, accuracy_of_loss, first_step, gd_losses


@register("levi_gen_loss")
@torch.no_grad()
def generalization_loss(model: nn.Module, data: dict[str, Tensor], task: Any, settings: Any) -> dict[str, float]:
    """(1/d_out) ||S - T||_F^2: the expectation over x ~ N(0, I) of the MSE, which the validation loss estimates
    from finite samples (Levi Eq. 2). S is the student's end-to-end matrix, T the task's teacher."""
    if "teacher" not in task.meta or not hasattr(model, "linear_map"):
        raise GroklabError("the levi_gen_loss probe needs task.name=linear_teacher and model.name=linear")
    student = model.linear_map().double()
    teacher = torch.tensor(task.meta["teacher"], dtype=torch.float64, device=student.device)
    return {"val/gen_loss": ((student - teacher).square().sum() / teacher.shape[1]).item()}


def initial_student(run: Any, task: TaskData) -> torch.Tensor:
    """The student's initial matrix S_0 as the engine draws it: torch.manual_seed(seed), then build_model. The
    global RNG state is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        return build_model(run.model, task).linear_map().detach()


def predict_grokking(run: Any, task: TaskData) -> dict[str, Any]:
    """The predicted accuracy crossings of a run config (a RunConfig) on this task's data; JSON-able.

    Applies to what the derivation covers: model.name=linear with one layer, plain full-batch SGD (no momentum,
    Grokfast, ⊥Grad or L1), the engine's own initialisation; otherwise the steps are None and `prediction` says why.
    """
    m, o, tr = run.model, run.optim, run.train
    why = next((reason for ok, reason in [
        (m.name == "linear" and m.n_layers == 1, "the prediction covers model.name=linear with n_layers=1"),
        # momentum is SGD's own key (`and` reads it for sgd only); muon takes no optim.orthograd
        (o.name == "sgd" and o.momentum == 0, "the prediction covers optim.name=sgd with momentum 0"),
        (o.grokfast == "none" and not getattr(o, "orthograd", False) and o.l1 == 0,
         "the prediction covers plain gradient descent"),
        (tr.resolved_batch_size(task.n_train) == task.n_train, "the prediction covers full-batch training"),
        (not tr.init_from and not tr.mask_from, "the prediction covers the engine's own initialisation"),
    ] if not ok), None)
    out: dict[str, Any] = {
        "predicted_grokking_step": None,
        "prediction": why or "first step at which the validation accuracy reaches 0.95 (Levi et al. 2023 §3.1.3); "
        "compare with the detection threshold val/acc 0.95. Exact discrete gradient descent from the run's initial "
        "student in the eigenbasis of the training covariance; accuracy from the loss by Eq. 13",
    }
    if why:
        return out
    teacher = torch.tensor(task.meta["teacher"], dtype=torch.float64)
    eps, d_out = task.meta["eps"], teacher.shape[1]
    lrs = [lr_at(o, s) for s in range(tr.steps)]
    train_loss, gen_loss = gd_losses(task.x_train, teacher, initial_student(run, task), lrs, o.weight_decay)
    train_acc, val_acc = accuracy_of_loss(train_loss, eps, d_out), accuracy_of_loss(gen_loss, eps, d_out)
    train_steps = {str(level): first_step(train_acc, level) for level in LEVELS}
    val_steps = {str(level): first_step(val_acc, level) for level in LEVELS}
    t_train, t_val = train_steps[str(GROK_LEVEL)], val_steps[str(GROK_LEVEL)]
    return out | {
        "predicted_grokking_step": t_val,
        "train_acc_steps": train_steps,
        "val_acc_steps": val_steps,
        "grokking_delay_steps": None if t_train is None or t_val is None else t_val - t_train,
        "final_train_loss": float(train_loss[-1]),
        "final_val_loss": float(gen_loss[-1]),
    }
