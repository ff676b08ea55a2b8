"""ResFormer, SVFormer, GPT-2 with memory tokens, rotary positions: against an independent forward, under vmap,
and their bad input."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from groklab.cli import main
from groklab.config import MODELS
from groklab.errors import ConfigError
from groklab.models import build_model, count_parameters
from groklab.models.transformer import rotary_tables, rotate
from groklab.tasks import build_task
from groklab.tasks.modular import ModularConfig

TASK = build_task(ModularConfig(op="x+y", p=7))
SMALL = dict(d_model=16, n_heads=2, d_mlp=32, n_layers=3, act="gelu")


def small(name: str) -> dict:
    """SMALL's widths that model `name` takes (an MLP has no heads)."""
    return {k: v for k, v in SMALL.items() if k in MODELS.keys_of(name)}


def make(seed: int = 0, name: str = "power_transformer", **kw):
    torch.manual_seed(seed)
    return build_model(MODELS.make(name, **{**small(name), **kw}), TASK)


def rope_reference(x: torch.Tensor) -> torch.Tensor:
    """Rotary positions as complex multiplication: feature pair (i, i + d/2) times exp(1j * pos * 10000^(-2i/d))."""
    half = x.shape[-1] // 2
    pos = torch.arange(x.shape[-2], dtype=torch.float64)[:, None]
    theta = 10000.0 ** (-2 * torch.arange(half, dtype=torch.float64) / x.shape[-1])
    z = torch.complex(x[..., :half].double(), x[..., half:].double()) * torch.exp(1j * pos * theta)
    return torch.cat([z.real, z.imag], -1).to(x.dtype)


def reference_forward(model, tokens: torch.Tensor, values: str) -> torch.Tensor:
    """A pre-LN GPT-2 written out with einsum and an explicit causal softmax over every position."""
    p = dict(model.named_parameters())
    d = p["W_E"].shape[1]
    n_pos = tokens.shape[1]
    x = p["W_E"][tokens] + (p["W_pos"][:n_pos] if "W_pos" in p else 0)
    causal = torch.ones(n_pos, n_pos, dtype=torch.bool).triu(1)
    v1 = None

    def ln(t, name):
        return F.layer_norm(t, (d,), p[f"{name}.weight"], p[f"{name}.bias"])

    for i in range(len(model.blocks)):
        b = f"blocks.{i}"
        a = ln(x, f"{b}.ln1")
        q, k = (torch.einsum("bpd,hde->bhpe", a, p[f"{b}.{w}"]) for w in ("W_Q", "W_K"))
        v = torch.einsum("bpd,hde->bhpe", a, p[f"{b}.W_V"]) if f"{b}.W_V" in p else v1  # SVFormer: V1
        v1 = v if i == 0 else v1
        if "W_pos" not in p:
            q, k = rope_reference(q), rope_reference(k)
        if values == "resformer" and i > 0:
            lam = p.get(f"{b}.v_mix", torch.tensor([0.5, 0.5]))
            v = lam[0] * v1 + lam[1] * v
        scores = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).masked_fill(causal, float("-inf"))
        x = x + torch.einsum("bhpe,hed->bpd", scores.softmax(-1) @ v, p[f"{b}.W_O"])
        if "W_mem" in p:
            m = ln(x, f"{b}.ln_mem")
            qm = torch.einsum("bpd,hde->bhpe", m, p[f"{b}.mem.W_Q"])
            km, vm = (torch.einsum("nd,hde->hne", p["W_mem"], p[f"{b}.mem.{w}"]) for w in ("W_K", "W_V"))
            att = (qm @ km.transpose(-1, -2) / math.sqrt(qm.shape[-1])).softmax(-1)
            x = x + torch.einsum("bhpe,hed->bpd", att @ vm, p[f"{b}.mem.W_O"])
        h = F.gelu(ln(x, f"{b}.ln2") @ p[f"{b}.W_in"] + p[f"{b}.b_in"])
        x = x + h @ p[f"{b}.W_out"] + p[f"{b}.b_out"]
    return ln(x[:, -1], "ln_final") @ p["W_U"]


VARIANTS = [
    ("gpt2_transformer", {}, "own"),
    ("gpt2_transformer", {"pos": "rotary"}, "own"),
    ("gpt2_resformer", {}, "resformer"),
    ("gpt2_resformer", {"value_mix": "learnable"}, "resformer"),
    ("gpt2_resformer", {"pos": "rotary"}, "resformer"),
    ("gpt2_svformer", {}, "own"),
    ("gpt2_meta", {}, "own"),
    ("gpt2_meta", {"pos": "rotary", "n_memory": 3}, "own"),
]


@pytest.mark.parametrize("name, extra, values", VARIANTS)
def test_forward_matches_the_written_out_model(name, extra, values):
    model = make(name=name, **extra)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("v_mix"):  # learnt mixing weights away from their 0.5 start
                p.copy_(torch.tensor([1.7, -0.3]))
    expected = reference_forward(model, TASK.x_train, values)
    assert torch.allclose(model(TASK.x_train), expected, atol=1e-5)


def test_parameters_of_each_variant():
    names = {n for n, _ in make(name="gpt2_svformer").named_parameters()}
    assert "blocks.0.W_V" in names and not any(f"blocks.{i}.W_V" in names for i in (1, 2))
    gpt2 = count_parameters(make(name="gpt2_transformer"))
    assert count_parameters(make(name="gpt2_svformer")) == gpt2 - 2 * 16 * 16  # no W_V after the first layer
    assert count_parameters(make(name="gpt2_resformer")) == gpt2  # Identity-ResFormer: fixed 0.5, 0.5
    learn = {n for n, _ in make(name="gpt2_resformer", value_mix="learnable").named_parameters() if "v_mix" in n}
    assert learn == {"blocks.1.v_mix", "blocks.2.v_mix"}
    meta = dict(make(name="gpt2_meta", n_memory=5).named_parameters())
    assert meta["W_mem"].shape == (5, 16) and {f"blocks.{i}.mem.W_K" for i in range(3)} <= set(meta)
    assert "W_pos" not in dict(make(name="gpt2_meta", pos="rotary").named_parameters())


def test_meta_without_memory_is_gpt2():
    assert torch.equal(make(name="gpt2_meta", n_memory=0)(TASK.x_train), make(name="gpt2_transformer")(TASK.x_train))


def test_learnable_mix_and_memory_get_gradients():
    model = make(name="gpt2_resformer", value_mix="learnable")
    F.cross_entropy(model(TASK.x_train), TASK.y_train).backward()
    assert all(model.blocks[i].v_mix.grad.abs().sum() > 0 for i in (1, 2))
    meta = make(name="gpt2_meta")
    F.cross_entropy(meta(TASK.x_train), TASK.y_train).backward()
    assert meta.W_mem.grad.abs().sum() > 0


def test_rotary_scores_depend_on_relative_position_only():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8).expand(1, 1, 12, 8), torch.randn(1, 1, 1, 8).expand(1, 1, 12, 8)
    cos, sin = rotary_tables(12, 8, q)
    scores = rotate(q, cos, sin) @ rotate(k, cos, sin).transpose(-1, -2)  # [12, 12]: position m against n
    for shift in range(1, 4):
        assert torch.allclose(scores[0, 0, shift:, shift:], scores[0, 0, :-shift, :-shift], atol=1e-5)
    assert not torch.allclose(scores[0, 0, 0, 1], scores[0, 0, 0, 3])
    assert torch.allclose(rotate(q, cos, sin), rope_reference(q), atol=1e-6)


VMAP = [
    ("gpt2_resformer", {}), ("gpt2_resformer", {"value_mix": "learnable"}), ("gpt2_svformer", {}),
    ("gpt2_meta", {"pos": "rotary"}), ("gpt2_transformer", {"linear": "bitlinear"}),
    ("power_transformer", {"linear": "bitlinear"}), ("mlp", {"linear": "bitlinear", "n_layers": 2}),
]


@pytest.mark.parametrize("name, extra", VMAP)
def test_vmap_of_two_members_equals_their_plain_forwards(name, extra):
    """As the vectorised engine runs them: stacked parameters, functional_call under vmap, math attention."""
    members = [make(seed, name=name, **extra) for seed in (0, 1)]
    params, buffers = stack_module_state(members)
    base = copy.deepcopy(members[0]).to("meta")

    def loss(p, b, x, y):
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    x, y = TASK.x_train, TASK.y_train
    with sdpa_kernel(SDPBackend.MATH):
        out = vmap(lambda p, b: functional_call(base, (p, b), (x,)))(params, buffers)
        vmap(loss, in_dims=(0, 0, None, None))(params, buffers, x, y).sum().backward()
        for i, member in enumerate(members):
            assert torch.allclose(out[i], member(x), atol=1e-5)
            F.cross_entropy(member(x), y).backward()
            for n, p in member.named_parameters():
                assert torch.allclose(params[n].grad[i], p.grad, atol=1e-5), n


@pytest.mark.parametrize("extra, needle", [
    ({"linear": "ternary"}, "model.linear='ternary': expected one of dense, bitlinear"),
    ({"pos": "alibi"}, "model.pos='alibi': expected one of learned, rotary"),
    ({"name": "gpt2_meta", "n_memory": -1}, "model.n_memory must be >= 0 (got -1)"),
    ({"name": "gpt2_transformer", "n_memory": 4}, "model.n_memory applies to model.name=gpt2_meta; this model is"),
    ({"name": "gpt2_resformer", "value_mix": "dense"}, "model.value_mix='dense': expected one of identity"),
    ({"name": "gpt2_svformer", "value_mix": "learnable"}, "model.value_mix applies to model.name=gpt2_resformer"),
    ({"name": "power_transformer", "pos": "rotary"}, "model.pos applies to model.name=gpt2_transformer"),
    ({"name": "gpt2_meta", "pos": "rotary", "d_model": 18, "n_heads": 2}, "needs an even head width"),
    ({"name": "mlp", "linear": "bitlinear", "n_layers": 1}, "there are none (set model.n_layers >= 2)"),
    ({"name": "liu_toy", "linear": "bitlinear"}, "model.linear applies to model.name=mlp_concat or power_"),
])
def test_bad_model_keys_are_one_line_config_errors(extra, needle):
    with pytest.raises(ConfigError) as err:
        name = extra.get("name", "gpt2_transformer")
        build_model(MODELS.make(**{**small(name), "name": name, **extra}), TASK)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_new_models_are_registered():
    assert {"gpt2_resformer", "gpt2_svformer", "gpt2_meta"} <= set(MODELS)


def test_cli_bad_model_key_exits_2_and_writes_nothing(capsys, tmp_path):
    code = main(["run", "model.name=gpt2_meta", "model.n_memory=-1", "train.steps=1", "--out", str(tmp_path),
                 "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "model.n_memory must be >= 0 (got -1)" in err[0]
    assert not any(tmp_path.iterdir())
