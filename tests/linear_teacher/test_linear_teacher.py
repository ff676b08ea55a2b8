"""Levi et al. 2023 (issue 14): the linear teacher task, its exact prediction, the linear student and its probe."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from groklab.cli import main
from groklab.config import OPTIMIZERS, RunConfig, TrainConfig
from groklab.errors import ConfigError, GroklabError
from groklab.models import build_model
from groklab.models.linear import LinearConfig
from groklab.optim import lr_at
from groklab.probes.linear_teacher import predict_grokking
from groklab.probes.live import PROBES
from groklab.tasks import build_task
from groklab.tasks.linear_teacher import LinearTeacherConfig, accuracy_of_loss, gd_losses, threshold_correct


def config(d_in=40, n_train=50, wd=0.0, lr=0.1, steps=400, warmup=0, seed=0, d_out=1, **model) -> RunConfig:
    return RunConfig(
        seed=seed,
        task=LinearTeacherConfig(d_in=d_in, d_out=d_out, n_train=n_train, n_val=4000, eps=1e-3),
        model=LinearConfig(n_layers=1, act="identity", **model),
        optim=OPTIMIZERS.make("sgd", lr=lr, weight_decay=wd, momentum=0.0, warmup_steps=warmup),
        train=TrainConfig(steps=steps, batch_size="full"),
    )


def test_data_follow_the_paper_and_the_seed():
    task = build_task(LinearTeacherConfig(d_in=300, d_out=4, n_train=100, n_val=500))
    teacher = torch.tensor(task.meta["teacher"])
    assert task.x_train.shape == (100, 300) and task.x_val.shape == (500, 300) and task.y_train.shape == (100, 4)
    assert torch.allclose(task.y_val, task.x_val @ teacher) and task.kind == "regression" and task.in_dim == 300
    assert abs(teacher.var().item() * 2 * 300 * 4 - 1) < 0.1  # N(0, 1/(2 d_in d_out)), Levi §3
    assert abs(task.x_train.var().item() - 1) < 0.02 and task.meta["lambda"] == 3.0
    again = build_task(LinearTeacherConfig(d_in=300, d_out=4, n_train=100, n_val=500))
    other = build_task(LinearTeacherConfig(d_in=300, d_out=4, n_train=100, n_val=500, split_seed=1))
    assert torch.equal(again.x_train, task.x_train) and not torch.equal(other.x_train, task.x_train)


def test_the_student_does_not_start_as_the_teacher():
    """seed == split_seed must not draw the student from the teacher's random stream."""
    task = build_task(config().task)
    torch.manual_seed(0)
    student = build_model(config().model, task).linear_map()
    assert (student - torch.tensor(task.meta["teacher"])).abs().max() > 0.05


@pytest.mark.parametrize(("key", "value"), [("d_in", 0), ("d_out", -1), ("n_train", 0), ("n_val", 0), ("eps", 0.0),
                                            ("eps", -1e-3)])
def test_bad_values_exit_2_with_one_line(capsys, tmp_path, key, value):
    code = main(["run", "levi2023", f"task.{key}={value}", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"task.{key} must be > 0" in err[0]
    assert not any(tmp_path.iterdir())


def test_a_sample_is_correct_when_its_mean_squared_error_over_outputs_is_below_eps():
    y = torch.zeros(3, 2)
    out = torch.tensor([[0.03, 0.03], [0.05, 0.0], [0.04, 0.04]])  # mean squared errors 9e-4, 1.25e-3, 1.6e-3
    assert threshold_correct(out, y, 1e-3).tolist() == [True, False, False]


def test_accuracy_of_loss_is_levi_eq10_and_eq13():
    eps = 1e-3
    loss = torch.tensor([eps / 4, eps, 10 * eps], dtype=torch.float64)
    expected = torch.erf(torch.sqrt(eps / (2 * loss)))
    assert torch.allclose(accuracy_of_loss(loss, eps, 1), expected)
    assert math.isclose(accuracy_of_loss(loss, eps, 1)[0].item(), math.erf(math.sqrt(2)), rel_tol=1e-9)  # 95%
    # d_out > 1: P(chi2_d < d eps / L), checked by sampling.
    chi2 = torch.randn(200_000, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64).square().sum(1)
    sampled = (chi2 * 2 * eps / 5 < eps).double().mean()
    assert abs(accuracy_of_loss(torch.tensor([2 * eps], dtype=torch.float64), eps, 5).item() - sampled) < 0.005


def explicit_gd(cfg: RunConfig):
    """Float64 full-batch SGD on the MSE, as train.train does it, with both losses at every step."""
    task = build_task(cfg.task)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, task).double()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    teacher = torch.tensor(task.meta["teacher"], dtype=torch.float64)
    x, y = task.x_train.double(), task.y_train.double()
    train, gen = [], []
    for step in range(cfg.train.steps + 1):
        with torch.no_grad():
            train.append(F.mse_loss(model(x), y).item())
            gen.append(((model.linear_map() - teacher).square().sum() / teacher.shape[1]).item())
        if step == cfg.train.steps:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg.optim, step)
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return task, torch.tensor(train, dtype=torch.float64), torch.tensor(gen, dtype=torch.float64)


@pytest.mark.parametrize("cfg", [config(), config(wd=0.05, warmup=7, d_out=3, n_train=35), config(d_in=60, n_train=40)],
                         ids=["plain", "wd_warmup_dout3", "overparameterised"])
def test_gd_losses_are_the_exact_gradient_descent_losses(cfg):
    task, train, gen = explicit_gd(cfg)
    torch.manual_seed(cfg.seed)
    student = build_model(cfg.model, task).linear_map().detach()
    lrs = [lr_at(cfg.optim, s) for s in range(cfg.train.steps)]
    p_train, p_gen = gd_losses(task.x_train, torch.tensor(task.meta["teacher"]), student, lrs, cfg.optim.weight_decay)
    assert torch.allclose(p_train, train, rtol=1e-4, atol=1e-12)  # powers vs repeated products: ~1e-6 apart
    assert torch.allclose(p_gen, gen, rtol=1e-4, atol=1e-12)


def test_prediction_is_the_step_at_which_validation_accuracy_reaches_95_percent():
    cfg = config(d_in=100, n_train=111, lr=0.2, steps=1600)  # lambda 0.9
    task, _, gen = explicit_gd(cfg)
    prediction = predict_grokking(cfg, task)
    expected = next(t for t, loss in enumerate(gen.tolist()) if math.erf(math.sqrt(1e-3 / (2 * loss))) >= 0.95)
    assert prediction["predicted_grokking_step"] == expected == prediction["val_acc_steps"]["0.95"]
    assert prediction["train_acc_steps"]["0.95"] < expected / 3  # training accuracy saturates first
    assert prediction["grokking_delay_steps"] == expected - prediction["train_acc_steps"]["0.95"]


@pytest.mark.parametrize(("change", "needle"), [
    ({"model": LinearConfig(n_layers=2, act="identity")}, "n_layers=1"),
    ({"optim": OPTIMIZERS.make("sgd", lr=0.1, momentum=0.9, warmup_steps=0)}, "momentum 0"),
    ({"optim": OPTIMIZERS.make("adamw", lr=0.1)}, "optim.name=sgd"),
])
def test_prediction_says_when_it_does_not_apply(change, needle):
    cfg = dataclasses.replace(config(), **change)
    prediction = predict_grokking(cfg, build_task(cfg.task))
    assert prediction["predicted_grokking_step"] is None and needle in prediction["prediction"]


def test_prediction_leaves_the_global_random_state_alone():
    cfg = config()
    task = build_task(cfg.task)
    torch.manual_seed(123)
    predict_grokking(cfg, task)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(after, torch.rand(1))


def test_linear_student_init_and_two_layers():
    task = build_task(LinearTeacherConfig(d_in=400, d_out=2, n_train=10, n_val=10))
    torch.manual_seed(0)
    one = build_model(LinearConfig(n_layers=1, act="identity", init_scale=2.0), task)
    assert abs(one.linear_map().var().item() * 2 * 400 * 2 / 4 - 1) < 0.15  # (alpha std)^2, alpha = 2
    two = build_model(LinearConfig(n_layers=2, act="tanh", d_mlp=30), task)
    assert [tuple(w.shape) for w in two.weights] == [(400, 30), (30, 2)] and two(task.x_val).shape == (10, 2)
    with pytest.raises(GroklabError, match="tanh student"):
        two.linear_map()
    linear2 = build_model(LinearConfig(n_layers=2, act="identity", d_mlp=30), task)
    assert torch.allclose(linear2(task.x_val), task.x_val @ linear2.linear_map(), atol=1e-6)


@pytest.mark.parametrize(("model", "needle"), [
    (LinearConfig(n_layers=3, act="identity"), "n_layers=1 or 2"),
    (LinearConfig(n_layers=1, act="relu"), "model.act=identity"),
    (LinearConfig(n_layers=1, act="tanh"), "model.act=identity"),
])
def test_linear_student_rejects_what_it_is_not(model, needle):
    task = build_task(LinearTeacherConfig(d_in=4, n_train=4, n_val=4))
    with pytest.raises(ConfigError, match=needle):
        build_model(model, task)


def test_linear_student_maps_over_stacked_members():
    task = build_task(LinearTeacherConfig(d_in=8, d_out=2, n_train=5, n_val=5))
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(build_model(LinearConfig(n_layers=2, act="tanh", d_mlp=6), task))
    params, buffers = stack_module_state(models)
    out = vmap(lambda p, b: functional_call(models[0], (p, b), (task.x_val,)))(params, buffers)
    assert torch.allclose(out, torch.stack([m(task.x_val) for m in models]), atol=1e-6)


def test_generalization_loss_probe_is_the_exact_expectation_of_the_validation_loss():
    task = build_task(LinearTeacherConfig(d_in=50, d_out=2, n_train=60, n_val=100_000))
    torch.manual_seed(0)
    model = build_model(LinearConfig(n_layers=1, act="identity"), task)
    data = {"x_val": task.x_val, "y_val": task.y_val}
    exact = PROBES["levi_gen_loss"](model, data, task, None)["val/gen_loss"]
    d = model.linear_map().detach().double() - torch.tensor(task.meta["teacher"], dtype=torch.float64)
    assert math.isclose(exact, d.square().sum().item() / 2, rel_tol=1e-9)
    sampled = F.mse_loss(model(task.x_val), task.y_val).item()
    assert abs(sampled / exact - 1) < 0.02  # Eq. 2: the sample average converges to it
