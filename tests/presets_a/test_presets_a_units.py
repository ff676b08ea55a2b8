"""Tasks, models, probes and optimizer groups behind the liu2022/gromov2023/doshi2024/prieto2025/thilak2022
presets."""

import pytest
import torch

from groklab.config import MODELS, OPTIMIZERS, ProbeConfig, RunConfig, apply_overrides, validate
from groklab.errors import ConfigError, GroklabError
from groklab.models import build_model
from groklab.models.concat import ConcatConfig
from groklab.optim import build_optimizer
from groklab.presets import get, registry
from groklab.probes.live import PROBES
from groklab.tasks import build_task
from groklab.tasks.multiterm import MultitermConfig
from groklab.tasks.toy import ToyAdditionConfig

NAMES = ("liu2022_toy", "gromov2023", "doshi2024", "prieto2025", "thilak2022")


def test_presets_are_registered_and_valid():
    presets = registry()
    for name in NAMES:
        preset = get(name)
        assert presets[name] is preset and preset.paper and preset.reproduces
        validate(preset.config)
        apply_overrides(preset.config, dict(o.split("=", 1) for o in preset.paper_scale))


def test_toy_addition_is_liu_table():
    task = build_task(ToyAdditionConfig(op="x+y", p=10, train_frac=45 / 55))
    x = torch.cat([task.x_train, task.x_val])
    assert len(x) == 55 and task.n_train == 45 and (x[:, 0] <= x[:, 1]).all()
    table = torch.tensor(task.meta["templates"])
    assert table.shape == (19, 30)
    y = torch.cat([task.y_train, task.y_val])
    assert torch.equal(y, table[x.sum(1)])  # the target of (a, b) is the template of a + b
    with pytest.raises(ConfigError, match="x\\+y"):
        build_task(ToyAdditionConfig(op="x*y", p=10))


@pytest.mark.parametrize(("op", "p", "terms", "coeffs", "fn", "n"), [
    ("sum", 7, 3, "1,2,3", lambda t: (t[0] + 2 * t[1] + 3 * t[2]) % 7, 343),
    ("sum", 5, 2, "", lambda t: (t[0] + t[1]) % 5, 25),
    ("product", 7, 2, "", lambda t: (t[0] * t[1]) % 7, 36),
    ("product", 7, 2, "2,1", lambda t: (t[0] ** 2 * t[1]) % 7, 36),
])
def test_multiterm_labels(op, p, terms, coeffs, fn, n):
    task = build_task(MultitermConfig(op=op, p=p, terms=terms, coeffs=coeffs, train_frac=0.5))
    x, y = torch.cat([task.x_train, task.x_val]), torch.cat([task.y_train, task.y_val])
    assert len(x) == n and len({tuple(r) for r in x.tolist()}) == n and task.seq_len == terms
    assert all(int(c) == fn(r) for r, c in zip(x.tolist(), y.tolist(), strict=True))
    if op == "product":
        assert (x > 0).all()


@pytest.mark.parametrize(("kw", "match"), [
    ({"op": "x+y"}, "multiterm expects"), ({"coeffs": "1"}, "task.terms=2"), ({"coeffs": "a,b"}, "integers"),
    ({"op": "product", "p": 8}, "not prime"), ({"terms": 1}, "terms must be"), ({"p": 97, "terms": 4}, "examples"),
])
def test_multiterm_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        build_task(MultitermConfig(**{"op": "sum", "p": 7, **kw}))


def test_concat_mlp_is_gromov_network():
    task = build_task(MultitermConfig(op="sum", p=7, train_frac=0.5))
    torch.manual_seed(0)
    model = build_model(ConcatConfig(name="mlp_concat", n_layers=1, d_mlp=64, act="square", bias=False,
                                     init="gromov"), task)
    fc1, fc2 = model.layers[0].weight, model.layers[1].weight
    assert fc1.shape == (64, 14) and fc2.shape == (7, 64)
    assert sum(p.numel() for p in model.parameters()) == 14 * 64 + 64 * 7  # no biases
    assert abs(fc1.std().item() - 0.5 / 128 ** (1 / 3)) < 0.02
    x = task.x_train[:5]
    onehot = torch.cat([torch.nn.functional.one_hot(x[:, 0], 7), torch.nn.functional.one_hot(x[:, 1], 7)], 1).float()
    assert torch.allclose(model(x), (onehot @ fc1.T) ** 2 @ fc2.T, atol=1e-6)
    blocks = model.fourier_weights()
    assert [b.shape for b in blocks] == [(64, 7)] * 3 and torch.equal(blocks[1], fc1[:, 7:])


def test_power_activation_is_x_to_the_s():
    task = build_task(MultitermConfig(op="sum", p=5, terms=3, train_frac=0.5))
    model = build_model(ConcatConfig(name="mlp_concat", n_layers=1, d_mlp=8, act="power", bias=False), task)
    h = torch.nn.functional.one_hot(task.x_train[:4], 5).flatten(1).float() @ model.layers[0].weight.T
    assert torch.allclose(model(task.x_train[:4]), h ** 3 @ model.layers[1].weight.T, atol=1e-6)


@pytest.mark.parametrize(("kw", "match"), [
    ({"name": "power_transformer", "act": "square"}, "relu or gelu"),
    ({"name": "mlp", "bias": False}, "model.bias applies to model.name=mlp_concat; this model is mlp"),
    ({"name": "mlp_concat", "init": "xavier"}, "model.init"),
    ({"name": "liu_toy", "act": "relu"}, "tanh"),
])
def test_model_key_errors(kw, match):
    task = build_task(ToyAdditionConfig(op="x+y", p=10) if kw["name"] == "liu_toy"
                      else MultitermConfig(op="sum", p=7))
    with pytest.raises(ConfigError, match=match):
        build_model(MODELS.make(**kw), task)


def test_config_validation_of_new_keys():
    for key, value in [("model.act", "sine"), ("model.init_scale", "0"), ("optim.embed_lr", "-1"),
                       ("optim.embed_weight_decay", "-1")]:
        with pytest.raises(ConfigError):
            validate(apply_overrides(RunConfig(), {key: value}))
    with pytest.raises(ConfigError, match=r"model\.init_scale must be > 0"):  # a model that takes it
        validate(apply_overrides(RunConfig(), {"model.name": "mlp_concat", "model.init_scale": "0"}))
    with pytest.raises(ConfigError, match="muon"):
        validate(apply_overrides(RunConfig(), {"optim.name": "muon", "optim.embed_lr": "1e-3"}))


def test_embedding_gets_its_own_lr_and_weight_decay():
    cfg = get("liu2022_toy").config
    task = build_task(cfg.task)
    model = build_model(cfg.model, task)
    opt = build_optimizer(cfg.optim, model)
    embed, dec = opt.param_groups
    assert embed["params"] == [model.W_E] and (embed["lr"], embed["weight_decay"]) == (1e-3, 0.0)
    assert (dec["lr"], dec["weight_decay"]) == (cfg.optim.lr, cfg.optim.weight_decay)
    assert len(dec["params"]) == 6  # three decoder layers with biases
    no_embed = build_task(MultitermConfig(op="sum", p=5))
    mlp = build_model(ConcatConfig(name="mlp_concat", n_layers=1, d_mlp=4), no_embed)
    with pytest.raises(ConfigError, match="W_E"):
        build_optimizer(OPTIMIZERS.make("adamw", embed_lr=1e-3), mlp)
    assert len(build_optimizer(OPTIMIZERS.make("adamw"), mlp).param_groups) == 1


def test_probes_on_known_weights():
    cfg = get("liu2022_toy").config
    task = build_task(cfg.task)
    model = build_model(cfg.model, task)
    data = {k: getattr(task, k) for k in ("x_train", "y_train", "x_val", "y_val")}
    with torch.no_grad():
        model.W_E.copy_(torch.arange(10.0)[:, None])  # a linear representation closes every parallelogram
    assert PROBES["rqi"](model, data, task, ProbeConfig()) == {"repr/rqi": 1.0}
    acc = PROBES["template_acc"](model, data, task, ProbeConfig())
    assert set(acc) == {"train/acc", "val/acc"} and all(0 <= v <= 1 for v in acc.values())

    class Oracle(torch.nn.Module):  # outputs the target itself: accuracy 1
        def forward(self, x):
            table = torch.tensor(task.meta["templates"])
            return table[x.sum(1)]

    assert PROBES["template_acc"](Oracle(), data, task, ProbeConfig()) == {"train/acc": 1.0, "val/acc": 1.0}
    mod = build_task(MultitermConfig(op="sum", p=7))
    mlp = build_model(ConcatConfig(name="mlp_concat", n_layers=1, d_mlp=3, act="square", bias=False), mod)
    with torch.no_grad():
        wave = torch.cos(2 * torch.pi * torch.arange(7.0) / 7)  # one Fourier mode per neuron: IPR exactly 1
        mlp.layers[0].weight.copy_(wave.repeat(3, 2))  # [3 neurons, 2 operands x 7]
        mlp.layers[1].weight.copy_(wave[:, None].expand(7, 3))
    assert PROBES["ipr"](mlp, {}, mod, ProbeConfig())["fourier/ipr"] == pytest.approx(1.0)
    with pytest.raises(GroklabError, match="ipr"):
        PROBES["ipr"](model, data, task, ProbeConfig())
    with pytest.raises(GroklabError, match="templates"):
        PROBES["template_acc"](mlp, {k: getattr(mod, k) for k in data}, mod, ProbeConfig())
