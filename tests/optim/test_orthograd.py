import io
import math

import pytest
import torch
from torch import nn

from groklab.optim.orthograd import OrthoGrad, orthogonalize


def test_hand_computed_projection_and_rescale():
    # w = (1, 0), g = (1, 1): g_perp = (0, 1), rescaled to |g| = sqrt(2).
    (out,) = orthogonalize([torch.tensor([1.0, 0.0])], [torch.tensor([1.0, 1.0])])
    torch.testing.assert_close(out, torch.tensor([0.0, math.sqrt(2)]))


def test_per_tensor_not_global_and_edge_cases():
    w = [torch.tensor([[1.0, 0.0]]), torch.tensor(2.0), torch.zeros(2), torch.tensor([0.0, 3.0])]
    g = [torch.tensor([[1.0, 1.0]]), torch.tensor(5.0), torch.tensor([1.0, -1.0]), None]
    out = orthogonalize(w, g)
    torch.testing.assert_close(out[0], torch.tensor([[0.0, math.sqrt(2)]]))  # shape kept
    assert out[1].item() == 0.0  # a scalar gradient is always parallel to its weight
    torch.testing.assert_close(out[2], g[2])  # zero weight: nothing to project out
    assert out[3] is None


def test_random_tensors_are_orthogonal_with_same_norm():
    gen = torch.Generator().manual_seed(0)
    w, g = (
        torch.randn(5, 7, generator=gen, dtype=torch.float64),
        torch.randn(5, 7, generator=gen, dtype=torch.float64),
    )
    (out,) = orthogonalize([w], [g])
    assert abs((out * w).sum().item()) < 1e-12
    assert out.norm().item() == pytest.approx(g.norm().item(), rel=1e-12)


class TwoParams(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 0.0]))
        self.s = nn.Parameter(torch.tensor(2.0))


def test_wrapper_step_on_two_parameter_model():
    model = TwoParams()
    opt = OrthoGrad(model.parameters(), torch.optim.SGD, lr=0.1)
    (model.w @ torch.tensor([1.0, 1.0]) + 3 * model.s).backward()  # grads (1, 1) and 3
    opt.step()
    torch.testing.assert_close(model.w.detach(), torch.tensor([1.0, -0.1 * math.sqrt(2)]))
    assert model.s.item() == 2.0  # the scalar's gradient was projected to zero
    opt.zero_grad()
    assert model.w.grad is None


def test_wrapper_shares_groups_with_scheduler_and_round_trips_state():
    model = TwoParams()
    opt = OrthoGrad(model.parameters(), torch.optim.AdamW, lr=1e-2, betas=(0.9, 0.99), eps=1e-25)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min((step + 1) / 10, 1.0))
    assert opt.base_optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    for _ in range(3):
        opt.zero_grad()
        (model.w.pow(3).sum() + model.s * model.w.sum()).backward()
        opt.step()
        sched.step()
    assert opt.base_optimizer.param_groups[0]["lr"] == pytest.approx(4e-3)
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    clone = TwoParams()
    clone.load_state_dict(model.state_dict())
    opt2 = OrthoGrad(clone.parameters(), torch.optim.AdamW, lr=1e-2, betas=(0.9, 0.99), eps=1e-25)
    opt2.load_state_dict(torch.load(buf, weights_only=True))
    for o, m in ((opt, model), (opt2, clone)):
        o.zero_grad()
        (m.w.pow(3).sum() + m.s * m.w.sum()).backward()
        o.step()
    torch.testing.assert_close(model.w.detach(), clone.w.detach())
    assert opt2.state is opt2.base_optimizer.state


def test_eps_goes_to_the_base_optimizer():
    """Prieto's ⊥AdamW uses AdamW eps 1e-25: the wrapper must pass `eps` on, not keep it for the projection."""
    opt = OrthoGrad(TwoParams().parameters(), torch.optim.AdamW, lr=1e-2, eps=1e-25)
    assert opt.base_optimizer.param_groups[0]["eps"] == 1e-25 and opt.eps == 1e-30
