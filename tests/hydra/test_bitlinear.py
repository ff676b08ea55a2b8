"""BitLinear (BitNet b1.58): ternary absmean weights, 8-bit per-token activations, straight-through gradients."""

import torch
import torch.nn.functional as F

from groklab.config import MODELS
from groklab.models import bitlinear, build_model
from groklab.models.gpt2 import GPT2Config
from groklab.models.transformer import Block
from groklab.tasks import build_task
from groklab.tasks.modular import ModularConfig
from groklab.tasks.multiterm import MultitermConfig


def hand_weight(w: torch.Tensor) -> torch.Tensor:
    """The absmean quantisation written out: gamma = mean |W|, RoundClip(W / gamma, -1, 1), times gamma."""
    gamma = w.abs().sum() / w.numel()
    return torch.clamp(torch.round(w / gamma), -1, 1) * gamma


def hand_act(x: torch.Tensor) -> torch.Tensor:
    """8-bit absmax per token (row of the last dimension)."""
    rows = x.reshape(-1, x.shape[-1])
    out = torch.empty_like(rows)
    for i, row in enumerate(rows):
        s = 127 / row.abs().max()
        out[i] = torch.clamp(torch.round(row * s), -128, 127) / s
    return out.reshape(x.shape)


def test_weights_are_ternary_times_absmean():
    w = torch.randn(7, 5, 3)
    levels, gamma = bitlinear.ternary(w)
    assert set(levels.unique().tolist()) <= {-1.0, 0.0, 1.0} and len(levels.unique()) == 3
    assert torch.allclose(gamma, w.abs().mean())
    q = bitlinear.quantize_weight(w)
    assert torch.equal(q, levels * gamma) and torch.allclose(q, hand_weight(w))
    assert set((q / gamma).round().unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_activations_take_255_levels_per_token():
    x = torch.randn(4, 6, 32) * torch.logspace(-2, 2, 4)[:, None, None]
    q = bitlinear.quantize_activation(x)
    assert torch.allclose(q, hand_act(x))
    steps = q * 127 / x.abs().amax(-1, keepdim=True)
    assert torch.allclose(steps, steps.round(), atol=1e-4) and steps.abs().max() <= 127 + 1e-4
    assert torch.allclose(q.abs().amax(-1), x.abs().amax(-1))  # the largest entry of a token is exact


def test_block_forward_is_the_quantised_maths():
    torch.manual_seed(0)
    block = Block(16, 4, 32, norm="none", mlp_bias=True, act="relu", linear="bitlinear")
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(3, 5, 16)
    # MLP: relu(Q(x) W~_in + b_in), then Q(.) W~_out + b_out
    hidden = F.relu(hand_act(x) @ hand_weight(block.W_in) + block.b_in)
    assert torch.allclose(block.mlp(x), hand_act(hidden) @ hand_weight(block.W_out) + block.b_out, atol=1e-5)
    # attention: one gamma per projection (all heads), causal softmax, heads concatenated, then W_O
    xq = hand_act(x)
    q, k, v = (torch.einsum("bpd,hde->bhpe", xq, hand_weight(w)) for w in (block.W_Q, block.W_K, block.W_V))
    scores = q @ k.transpose(-1, -2) / 2.0  # sqrt(d_head = 4)
    scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
    z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(3, 5, 16)
    expected = hand_act(z) @ hand_weight(block.W_O).reshape(16, 16)
    assert torch.allclose(block.attn(x, last_only=False), expected, atol=1e-5)


def test_straight_through_gradients():
    torch.manual_seed(1)
    x, w = torch.randn(6, 8, requires_grad=True), torch.randn(8, 4, requires_grad=True)
    y = bitlinear.matmul(x, w, "bitlinear")
    g = torch.randn_like(y)
    y.backward(g)
    xq, wq = hand_act(x.detach()), hand_weight(w.detach())
    assert torch.allclose(y, xq @ wq, atol=1e-5)
    assert torch.allclose(w.grad, xq.T @ g, atol=1e-5)  # d/dw as if the quantiser were the identity
    assert torch.allclose(x.grad, g @ wq.T, atol=1e-5)


def test_every_parameter_learns_through_the_quantisers():
    task = build_task(ModularConfig(op="x+y", p=7))
    for name, extra in [("gpt2_transformer", {}), ("power_transformer", {}), ("mlp", {"n_layers": 2}),
                        ("tickets_mlp", {}), ("mlp_concat", {"n_layers": 2})]:
        if name == "mlp_concat":
            task = build_task(MultitermConfig(op="sum", p=7))
        torch.manual_seed(0)
        small = {k: v for k, v in dict(d_model=16, n_heads=2).items() if k in MODELS.keys_of(name)}  # its widths
        model = build_model(MODELS.make(name, d_mlp=32, linear="bitlinear", **small, **extra), task)
        F.cross_entropy(model(task.x_train), task.y_train).backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, (name, pname)


def test_bitlinear_changes_only_the_hidden_matmuls():
    """Same seed, same parameters; the embedding, positions and unembedding are used at full precision."""
    task = build_task(ModularConfig(op="x+y", p=7))
    models = []
    for linear in ("dense", "bitlinear"):
        torch.manual_seed(0)
        models.append(build_model(GPT2Config(name="gpt2_transformer", d_model=16, n_heads=2, d_mlp=32,
                                             linear=linear), task))
    dense, bit = models
    assert all(torch.equal(a, b) for a, b in zip(dense.parameters(), bit.parameters(), strict=True))
    assert not torch.allclose(dense(task.x_train), bit(task.x_train))
    for block in dense.blocks:  # the dense twin with every hidden matmul replaced by the quantised one
        block.linear = "bitlinear"
    assert torch.equal(dense(task.x_train), bit(task.x_train))
