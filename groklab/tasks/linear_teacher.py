"""The linear teacher-student task of Levi, Beck, Bar-Sinai 2023, "Grokking in Linear Estimators: A Solvable Model
that Groks without Understanding" (ICLR 2024, arXiv 2310.16441; papers.md §09). Read in the paper's text (§3, §3.1,
§3.2, §3.3, Appendix A, B; a markdown copy in kraidiky/grokking-conceptual-review_en).

Inputs x ~ N(0, I_{d_in}); teacher T in R^{d_in x d_out} with entries N(0, 1/(2 d_in d_out)) (§3, below Eq. 1);
targets y = T^T x. lambda = d_in / N_tr is the control parameter. The validation set is large and fresh. A sample
counts as correct when its squared error, averaged over the d_out outputs, is below eps: Eq. 10's
Theta(eps - (D^T x)^2) for d_out = 1, and for d_out > 1 the chi-square form of Eq. 13, whose argument
d_out eps / (2 L) says ||D^T x||^2 / d_out < eps.

The analytic prediction (groklab.probes.linear_teacher.predict_grokking, from `gd_losses`): for the one-layer
student under full-batch gradient descent with torch's SGD weight decay wd, D = S - T
evolves exactly as (Eq. 3, with the MSE averaged over samples and outputs)
    D_{t+1} = D_t - lr_t (2/d_out Sigma_tr D_t + wd (D_t + T)),
which is diagonal in the eigenbasis of the training covariance Sigma_tr (Levi Eqs. 4, 14; the paper takes the
gradient-flow limit, the Marchenko-Pastur spectrum and the average over random initial directions, Eq. 7; here the
actual eigenvalues, discrete steps and the run's own initial student, drawn as the engine draws it from the run's
seed, are used, so the prediction is exact up to rounding). That gives the generalization loss
L_gen(t) = ||D_t||^2 / d_out (Eq. 2) and the training loss at every step, and Eq. 13 maps each loss to an
accuracy. The predicted grokking step is the first step at which the validation accuracy reaches
Erf(sqrt 2) = 95%, i.e. L_gen = eps/4 for d_out = 1, the paper's definition (§3.1.3). The paper's Eq. 3 writes
the weight decay as gamma/d_out; torch's `weight_decay` is that gamma/d_out (they agree for d_out = 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData
from groklab.tasks.registry import register

LEVELS = (0.5, 0.9, 0.95, 0.99)  # accuracy levels predicted (the detector tabulates the same ones)
GROK_LEVEL = 0.95  # Levi §3.1.3: grokking time = when the accuracy reaches Erf(sqrt 2) ~ 95%
CHUNK = 4096  # steps evaluated at once by the prediction


def init_std(d_in: int, d_out: int) -> float:
    """Standard deviation of the teacher's (and, times model.init_scale, the student's) entries (§3)."""
    return (2 * d_in * d_out) ** -0.5


def threshold_correct(out: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """[N] bool: the squared error averaged over the outputs is below eps (Levi Eqs. 10, 13)."""
    return (out.reshape(y.shape) - y).square().reshape(len(y), -1).mean(-1) < eps


def accuracy_of_loss(loss: torch.Tensor, eps: float, d_out: int) -> torch.Tensor:
    """Expected accuracy at a given loss, Levi Eq. 13: 1 - Gamma(d_out/2, d_out eps/(2L)) / Gamma(d_out/2),
    i.e. P(chi2_{d_out} < d_out eps / L); Erf(sqrt(eps / 2L)) for d_out = 1 (Eq. 10)."""
    half = torch.full_like(loss, d_out / 2)
    return torch.special.gammainc(half, d_out * eps / (2 * loss.clamp_min(1e-300)))


def decay_factors(k: torch.Tensor, lrs: list[float]) -> Iterator[torch.Tensor]:
    """P_t = prod_{s<t} (1 - lrs[s] k) for t = 0..len(lrs), in chunks of [n, len(k)] rows: step by step while the
    lr changes (warm-up), then as powers of one factor, so that memory stays at CHUNK rows."""
    warm = len(lrs)
    while warm > 0 and lrs[warm - 1] == lrs[-1]:
        warm -= 1
    head = [torch.ones_like(k)]
    for lr in lrs[:warm]:
        head.append(head[-1] * (1 - lr * k))
    yield torch.stack(head)
    for lo in range(1, len(lrs) - warm + 1, CHUNK):
        n = torch.arange(lo, min(lo + CHUNK, len(lrs) - warm + 1), dtype=k.dtype)
        yield head[-1] * (1 - lrs[-1] * k)[None] ** n[:, None]


def gd_losses(
    x_train: torch.Tensor, teacher: torch.Tensor, student: torch.Tensor, lrs: list[float], weight_decay: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and generalization losses (Eqs. 1, 2) of the linear student `student` [d_in, d_out] after
    0..len(lrs) updates of full-batch gradient descent with learning rates `lrs` (float64, [len(lrs) + 1] each).

    In the eigenbasis V of Sigma_tr (eigenvalues nu) with c = V^T D and tau = V^T T, each update is
    c <- (1 - lr k) c - lr wd tau with k = 2 nu / d_out + wd, so c_t = c* + P_t (c_0 - c*) with the fixed point
    c* = -wd tau / k and P_t = prod_s (1 - lr_s k); per direction, sum_j c_tij^2 = A + 2 P_t B + P_t^2 C.
    """
    x, t = x_train.double(), teacher.double()
    d_out = t.shape[1]
    nu, vecs = torch.linalg.eigh(x.T @ x / len(x))
    nu = nu.clamp_min(0)
    tau, c0 = vecs.T @ t, vecs.T @ (student.double() - t)
    k = 2 * nu / d_out + weight_decay
    c_star = torch.where((k > 0)[:, None], -weight_decay * tau / k.clamp_min(1e-300)[:, None], 0.0)
    a, b, c = c_star.square().sum(1), (c_star * (c0 - c_star)).sum(1), (c0 - c_star).square().sum(1)
    train, gen = [], []
    for pt in decay_factors(k, lrs):
        per_dir = a + 2 * pt * b + pt.square() * c  # [n, d_in]: sum_j c_tij^2
        train.append(per_dir @ nu / d_out)
        gen.append(per_dir.sum(1) / d_out)
    return torch.cat(train), torch.cat(gen)


def first_step(curve: torch.Tensor, level: float) -> int | None:
    hit = torch.nonzero(curve >= level)
    return int(hit[0]) if len(hit) else None


@dataclass(frozen=True)
class LinearTeacherConfig(TaskConfig):
    """`task.name=linear_teacher`: y = T^T x with Gaussian inputs (Levi et al. 2023, §3)."""

    name: str = "linear_teacher"
    d_in: int = 1000  # input dimension (Levi et al. 2023: 1,000)
    d_out: int = 1  # output dimension
    n_train: int = 1_000  # training samples N_tr; the control parameter is lambda = d_in / N_tr
    n_val: int = 10_000  # fresh validation samples
    eps: float = 1e-3  # a sample is correct when its mean squared error over outputs is < eps (Eqs. 10, 13)

    def check(self) -> None:
        for key in ("d_in", "d_out", "n_train", "n_val"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"task.{key} must be > 0 (got {getattr(self, key)})")
        if not self.eps > 0:
            raise ConfigError(f"task.eps must be > 0 (got {self.eps})")
        floats = (self.n_train + self.n_val) * (self.d_in + self.d_out) + self.d_in * self.d_out  # samples, teacher
        check_size(f"task.d_in={self.d_in:,}, d_out={self.d_out:,}, n_train={self.n_train:,}, n_val={self.n_val:,}",
                   8 * floats, "choose smaller sizes")


@register("linear_teacher", settings=LinearTeacherConfig)
def build_linear_teacher(cfg: LinearTeacherConfig) -> TaskData:
    """`task.name=linear_teacher`: train and fresh validation samples of y = T^T x, all drawn from task.split_seed."""
    cfg.check()
    # numpy's PCG64, not torch's generator: the student's init is torch.randn after torch.manual_seed(seed), and
    # with seed == split_seed the same torch stream would make the student start equal to the teacher.
    rng = np.random.default_rng(cfg.split_seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))

    teacher = normal(cfg.d_in, cfg.d_out) * init_std(cfg.d_in, cfg.d_out)
    x_train, x_val = normal(cfg.n_train, cfg.d_in), normal(cfg.n_val, cfg.d_in)
    meta = {"task": "linear_teacher", "d_in": cfg.d_in, "d_out": cfg.d_out, "n_train": cfg.n_train,
            "lambda": cfg.d_in / cfg.n_train, "eps": cfg.eps, "teacher": teacher.tolist()}
    return TaskData(
        x_train=x_train, y_train=x_train @ teacher, x_val=x_val, y_val=x_val @ teacher, kind="regression",
        in_dim=cfg.d_in, meta=meta, correct=partial(threshold_correct, eps=cfg.eps),
    )
