"""ℓ∞ PGD accuracy: eps 0 is the clean accuracy, a larger eps never helps, the ball and [0, 1] are respected."""

import itertools

import pytest
import torch

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.models.image_mlp import ImageMLP
from groklab.probes.adversarial import pgd_accuracy, pgd_attack
from groklab.probes.live import PROBES


@pytest.fixture(scope="module")
def toy():
    """A small MLP trained to ~100% on 10 noisy class templates in [0, 1]^20, and 300 held-out points."""
    gen = torch.Generator().manual_seed(0)
    templates = torch.rand(10, 20, generator=gen)
    y = torch.randint(0, 10, (800,), generator=gen)
    x = (templates[y] + 0.08 * torch.randn(800, 20, generator=gen)).clamp(0, 1)
    torch.manual_seed(0)
    model = ImageMLP(20, 10, 64, 2, "relu", 1.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[:500]), y[:500]).backward()
        opt.step()
    model.eval()
    model.zero_grad(set_to_none=True)
    return model, x[500:], y[500:]


def test_eps_zero_is_clean_accuracy(toy):
    model, x, y = toy
    clean = (model(x).argmax(-1) == y).double().mean().item()
    assert clean > 0.9
    assert pgd_accuracy(model, x, y, eps=0.0, step_size=0.05, iters=10) == clean


def test_larger_eps_never_raises_accuracy(toy):
    model, x, y = toy
    accs = [pgd_accuracy(model, x, y, eps, step_size=eps / 4, iters=10) for eps in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)]
    assert all(a >= b for a, b in itertools.pairwise(accs)), accs
    assert accs[-1] < accs[0] - 0.5  # a strong attack breaks most of it


def test_ball_range_and_no_parameter_gradients(toy):
    model, x, y = toy
    adv = pgd_attack(model, x, y, eps=0.1, step_size=0.03, iters=7)
    assert (adv - x).abs().max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert (adv != x).any()
    assert all(p.grad is None for p in model.parameters())


def test_negative_eps_is_an_error(toy):
    model, x, y = toy
    with pytest.raises(GroklabError, match="PGD needs eps, step_size and iters >= 0"):
        pgd_accuracy(model, x, y, eps=-0.1, step_size=0.01, iters=3)


def test_adv_probe_uses_a_fixed_test_subset(toy):
    model, x, y = toy
    xs, ys = torch.cat([x, x.flip(0)]), torch.cat([y, y.flip(0)])  # 600 test points: the probe takes the first 500
    s = ProbeConfig()
    out = PROBES["adv"](model, {"x_train": x, "y_train": y, "x_val": xs, "y_val": ys}, None, s)
    expected = pgd_accuracy(model, xs[: s.adv_points], ys[: s.adv_points], s.adv_eps, s.adv_step, s.adv_iters)
    assert len(xs) > s.adv_points and out == {"adv/acc": expected}
