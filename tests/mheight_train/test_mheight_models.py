"""The residual-MLP expert and the (n, k)-gated MoE: h >= 1 heads and routing by (n, k)."""

import pytest
import torch

from groklab.config import MODELS
from groklab.errors import ConfigError
from groklab.models import build_model
from groklab.tasks import build_task
from groklab.tasks.mheight import MheightConfig
from groklab.tasks.modular import ModularConfig


@pytest.fixture(scope="module")
def task(small_file):
    return build_task(MheightConfig(data=str(small_file), groups="9,4,2;9,4,5;10,5,3", per_group=40, val_per_group=20))


def model(task, name, **kw):
    torch.manual_seed(0)
    return build_model(MODELS.make(name, d_model=32, d_mlp=48, n_layers=5, **kw), task)


@pytest.mark.parametrize("name", ["resnet_mlp", "moe"])
def test_output_respects_h_at_least_one(task, name):
    net = model(task, name)
    out = net(task.x_val)
    assert out.shape == (len(task.x_val),) and (out >= 0).all()
    assert out.mean().item() == pytest.approx(task.meta["y_mean"], rel=0.3)  # head starts at the mean label
    wild = task.x_val.clone()
    wild[:, :36] *= 1e4  # far outside the training range: still log2 ĥ >= 0, i.e. ĥ >= 1
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 3)
    assert (net(wild) >= 0).all() and torch.isfinite(net(wild)).all()


def test_resnet_has_five_layernormed_blocks(task):
    net = model(task, "resnet_mlp")
    assert len(net.blocks) == 5 and all(isinstance(b.norm, torch.nn.LayerNorm) for b in net.blocks)


def test_moe_routes_by_n_and_k(task):
    net = model(task, "moe", n_experts=4, top_k=2)
    experts, weights = net.route(task.x_val)
    assert experts.shape == weights.shape == (len(task.x_val), 2)
    assert torch.allclose(weights.sum(1), torch.ones(len(weights)))
    groups = torch.tensor(task.meta["groups"])[torch.tensor(task.meta["val_group"])]
    by_pair: dict = {}
    for (n, k, _), e in zip(groups.tolist(), experts.tolist(), strict=True):
        by_pair.setdefault((n, k), set()).add(tuple(e))
    assert all(len(v) == 1 for v in by_pair.values())  # one routing per (n, k), whatever P and m are
    assert by_pair[(9, 4)] != by_pair[(10, 5)]  # distinct pairs start on distinct experts
    x = task.x_val[:3].clone()
    x[:, :36] = torch.randn(3, 36)  # P does not move the gate
    assert torch.equal(net.route(x)[0], experts[:3])
    # the output is the gate-weighted sum of the chosen experts only
    want = sum(weights[:, j] * torch.stack([net.experts[e](task.x_val[i : i + 1])[0]
                                           for i, e in enumerate(experts[:, j].tolist())]) for j in range(2))
    assert torch.allclose(net(task.x_val), want, atol=1e-5)


def test_moe_gate_learns(task):
    net = model(task, "moe", n_experts=3, top_k=2)
    (net(task.x_train) - task.y_train).pow(2).mean().backward()
    assert net.gate.grad is not None and net.gate.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "name, kw, needle",
    [
        ("resnet_mlp", dict(act="tanh"), "takes model.act=relu or gelu"),
        ("power_transformer", {}, "needs a token classification task"),
    ],
)
def test_bad_model_for_task(task, name, kw, needle):
    with pytest.raises(ConfigError, match=needle):
        build_model(MODELS.make(name, **kw), task)


def test_regression_models_need_vector_inputs():
    modular = build_task(ModularConfig(op="x+y", p=7))
    with pytest.raises(ConfigError, match="vector-input regression task"):
        build_model(MODELS.make("moe"), modular)


def test_group_heads_members_train_together_as_alone(small_file):
    """A sweep of the `mheight` recipe (group_heads on minors+ratios) is vectorised: its members' histories and
    weights are those of the runs trained one at a time (float64)."""
    from groklab.api import resolve
    from groklab.engine import MemorySink, train, train_many, unsupported

    tiny = {"task.data": str(small_file), "task.groups": "9,4,2;9,4,5;10,5,3", "task.per_group": 40,
            "task.val_per_group": 20, "model.d_model": 16, "model.d_mlp": 16, "model.n_layers": 1,
            "train.batch_size": "32", "train.steps": 20, "train.eval_every": 10, "train.device": "cpu",
            "train.dtype": "float64", "train.loss_dtype": "float64"}
    cfgs = [resolve("mheight", tiny | {"seed": s}) for s in (0, 1)]
    assert all(unsupported(c) is None for c in cfgs)
    sinks = [MemorySink() for _ in cfgs]
    train_many(cfgs, sinks)
    for cfg, sink in zip(cfgs, sinks, strict=True):
        ref = MemorySink()
        train(cfg, ref)
        assert [r["step"] for r in ref.rows] == [r["step"] for r in sink.rows]
        assert sink.rows[-1]["val/loss"] == pytest.approx(ref.rows[-1]["val/loss"], rel=1e-9)
        for k, v in ref.latest["model"].items():
            torch.testing.assert_close(sink.latest["model"][k], v, rtol=1e-9, atol=0.0)
