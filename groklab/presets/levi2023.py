"""Levi, Beck, Bar-Sinai 2023, "Grokking in Linear Estimators: A Solvable Model that Groks without Understanding"
(ICLR 2024, arXiv 2310.16441); papers.md §09, checked against the paper's text (§3, Appendix A).

A one-layer linear student learns a random linear teacher from N_tr Gaussian samples by full-batch gradient descent
on the MSE; a sample is correct when its squared error is below eps = 1e-3. Training accuracy saturates long before
validation accuracy, while both losses fall smoothly: grokking as an artifact of the accuracy threshold. The task
predicts, from the training covariance and the run's initial student, the step at which validation accuracy
reaches 95% (`groklab.probes.predictions`, groklab.probes.linear_teacher).

CI scale: d_in 200, N_tr 222 (lambda = 0.9), lr 0.1 (the paper's 0.01 is 10x slower; any lr below
1 / max eigenvalue ~ 0.25 gives the same curves in units of lr x steps), measured (seed 0): train acc 0.95 at step
~160, val acc 0.95 at ~2,710, as predicted (2,711). The paper's Fig. 1 setting is `paper_scale`: d_in 1000,
lambda 0.9, lr 0.01 (predicted val acc 0.95 at step ~17,700).
"""

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="levi2023",
    paper="Levi, Beck, Bar-Sinai 2023, Grokking in Linear Estimators: A Solvable Model that Groks without "
    "Understanding (arXiv 2310.16441)",
    reproduces="Fig. 1: train accuracy (squared error < eps) saturates long before validation accuracy at lambda "
    "= d_in/N_tr = 0.9 while the losses fall smoothly; the grokking step agrees with the exact prediction",
    config=RunConfig(
        name="levi2023",
        task=TaskConfig(name="linear_teacher", op="linear_teacher", p=None, d_in=200, d_out=1, n_train=222,
                        n_val=10_000, eps=1e-3),
        model=ModelConfig(name="linear", n_layers=1, act="identity", init_scale=1.0),
        optim=OptimConfig(name="sgd", lr=0.1, weight_decay=0.0, momentum=0.0, warmup_steps=0),
        train=TrainConfig(steps=4_000, batch_size="full", eval_every=5, loss="mse", probes="levi_gen_loss",
                          log_checkpoints=0),
    ),
    paper_scale=("task.d_in=1000", "task.n_train=1111", "optim.lr=0.01", "train.steps=30000",
                 "train.eval_every=25"),
)
