"""Each optimizer owns its settings (optim.name selects its schema) and registers its builder; probes and presets
register themselves too, so adding one is one file and nothing central grows."""

import dataclasses
import re

import pytest
import torch

from groklab.cli import main
from groklab.config import OPTIMIZERS, OptimConfig, RunConfig, apply_overrides, validate
from groklab.errors import ConfigError
from groklab.optim import build_optimizer
from groklab.optim.adam import AdamConfig
from groklab.optim.muon import Muon, MuonConfig
from groklab.optim.orthograd import OrthoGrad
from groklab.optim.registry import BUILDERS, register
from groklab.optim.sgd import SGDConfig
from groklab.presets import get, registry
from groklab.presets.base import PRESETS
from groklab.presets.base import register as register_preset
from groklab.probes.linear_teacher import predict_grokking
from groklab.probes.live import PROBES
from groklab.probes.registry import register as register_probe
from groklab.tasks import build_task

# The flat OptimConfig every optimizer shared before each took its own settings: each key keeps its default in
# every schema that takes it, so the run folder names of unchanged configs stay the same.
FLAT = {"lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "momentum": 0.0, "warmup_steps": 10,
        "muon_lr": 0.02, "orthograd": False, "l1": 0.0, "grokfast": "none", "grokfast_alpha": 0.98,
        "grokfast_lamb": 2.0, "grokfast_window": 100, "embed_lr": None, "embed_weight_decay": None, "no_decay": "",
        "clip_grad_norm": 0.0}
PROBE_ORDER = ["rqi", "ipr", "template_acc", "last_layer_norm", "layer_norms", "softmax_collapse", "mheight_groups",
               "lc", "adv", "levi_gen_loss"]
PRESET_ORDER = ["power2022", "power2022_fig1", "nanda2023", "grokfast2024", "grokfast2024_ma", "minegishi2023",
                "liu2022_toy", "gromov2023", "doshi2024", "prieto2025", "thilak2022", "omnigrok2022", "humayun2024",
                "mheight", "mheight_grokking", "hydra_gpt2", "variable_binding", "levi2023", "wang2024",
                "wang2024_comparison"]


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_each_schema_keeps_the_flat_defaults_and_every_flat_key_has_an_owner():
    assert list(OPTIMIZERS.load()) == ["adamw", "adam", "sgd", "muon"]
    taken = set()
    for name, schema in OPTIMIZERS.items():
        settings = OPTIMIZERS.make(name)
        assert type(settings) is schema and settings.name == name
        own = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name != "name"}
        assert own == {k: FLAT[k] for k in own}, name
        taken |= set(own)
    assert taken == set(FLAT)
    assert {n: OPTIMIZERS[n] for n in OPTIMIZERS} == {"adamw": AdamConfig, "adam": AdamConfig, "sgd": SGDConfig,
                                                     "muon": MuonConfig}
    assert OPTIMIZERS.owners("momentum") == ["sgd"] and OPTIMIZERS.owners("muon_lr") == ["muon"]
    assert OPTIMIZERS.owners("beta2") == ["adamw", "adam", "muon"]
    assert OPTIMIZERS.owners("no_decay") == OPTIMIZERS.owners("orthograd") == ["adamw", "adam", "sgd"]


def test_momentum_with_adamw_exits_2_naming_sgd(capsys, tmp_path):
    code = main(["run", "optim.momentum=0.9", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "optim.momentum applies to optim.name=sgd; this optim is adamw (it takes lr, weight_decay" in err[0]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("overrides", "owner"), [
    ({"optim.name": "muon", "optim.embed_lr": "1e-3"}, "adamw or adam or sgd"),
    ({"optim.name": "muon", "optim.orthograd": "true"}, "adamw or adam or sgd"),
    ({"optim.name": "sgd", "optim.beta2": "0.99"}, "adamw or adam or muon"),
    ({"optim.name": "adam", "optim.muon_lr": "0.1"}, "muon"),
])
def test_a_key_of_another_optimizer_is_refused_naming_its_owners(overrides, owner):
    key = next(k for k in overrides if k != "optim.name")
    with pytest.raises(ConfigError, match=re.escape(f"{key} applies to optim.name={owner}; this optim is "
                                                    f"{overrides['optim.name']}")):
        apply_overrides(RunConfig(), overrides)


def test_sgd_with_momentum_builds_torch_sgd_in_either_order_of_the_keys():
    for overrides in ({"optim.name": "sgd", "optim.momentum": "0.9"}, {"optim.momentum": "0.9", "optim.name": "sgd"}):
        cfg = apply_overrides(RunConfig(), overrides)
        validate(cfg)
        assert type(cfg.optim) is SGDConfig and cfg.optim.momentum == 0.9
        optimizer = build_optimizer(cfg.optim, model())
        assert type(optimizer) is torch.optim.SGD and optimizer.param_groups[0]["momentum"] == 0.9


def test_switching_the_optimizer_keeps_the_keys_both_take():
    cfg = apply_overrides(RunConfig(), {"optim.lr": "0.05", "optim.weight_decay": "0.3", "optim.beta2": "0.99",
                                        "optim.grokfast": "ema"})
    sgd = apply_overrides(cfg, {"optim.name": "sgd"}).optim
    assert (sgd.lr, sgd.weight_decay, sgd.grokfast, sgd.momentum) == (0.05, 0.3, "ema", 0.0)
    muon = apply_overrides(cfg, {"optim.name": "muon"}).optim
    assert (muon.lr, muon.weight_decay, muon.beta2, muon.muon_lr) == (0.05, 0.3, 0.99, 0.02)
    back = apply_overrides(apply_overrides(cfg, {"optim.name": "sgd"}), {"optim.name": "adam"}).optim
    assert (back.lr, back.weight_decay, back.beta2) == (0.05, 0.3, 0.98)  # sgd had no beta2: adam's default


@pytest.mark.parametrize(("name", "values", "needle"), [
    ("sgd", {"momentum": -1}, "optim.momentum must be >= 0"),
    ("muon", {"muon_lr": 0}, "optim.muon_lr must be > 0"),
    ("muon", {"beta1": 1}, "optim.beta1 and optim.beta2 must be in [0, 1)"),
    ("adam", {"eps": 0}, "optim.eps must be > 0"),
    ("adamw", {"no_decay": "weights"}, "optim.no_decay='weights'"),
    ("sgd", {"embed_lr": 0}, "optim.embed_lr must be > 0"),
    ("muon", {"lr": 0}, "optim.lr must be > 0"),
    ("adamw", {"grokfast_window": 0}, "optim.grokfast_window must be in 1..10000"),
])
def test_each_schema_checks_its_own_values(name, values, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        validate(RunConfig(optim=OPTIMIZERS.make(name, **values)))


def test_settings_of_the_wrong_class_for_their_name_are_refused():
    with pytest.raises(ConfigError, match=re.escape("optim.name=sgd takes SGDConfig settings")):
        validate(RunConfig(optim=AdamConfig(name="sgd")))


def test_build_optimizer_dispatches_by_the_registered_name():
    m = model()
    adam = build_optimizer(OPTIMIZERS.make("adam", beta2=0.99, eps=1e-6), m)
    assert type(adam) is torch.optim.Adam and adam.param_groups[0]["betas"] == (0.9, 0.99)
    assert adam.param_groups[0]["eps"] == 1e-6 and adam.param_groups[0]["base_lr"] == 1e-3
    assert type(build_optimizer(OPTIMIZERS.make("adamw"), m)) is torch.optim.AdamW
    ortho = build_optimizer(OPTIMIZERS.make("sgd", orthograd=True, momentum=0.5), m)
    assert type(ortho) is OrthoGrad and type(ortho.base_optimizer) is torch.optim.SGD
    muon = build_optimizer(OPTIMIZERS.make("muon", muon_lr=0.05, lr=0.002), m)
    assert type(muon) is Muon and [g["lr"] for g in muon.param_groups] == [0.05, 0.05]
    assert all(g["adamw_lr"] == g["base_adamw_lr"] == 0.002 for g in muon.param_groups)


@dataclasses.dataclass(frozen=True)
class SignConfig(OptimConfig):
    name: str = "sign_test"
    scale: float = 1.0


def test_a_new_optimizer_is_one_registration(tmp_path):
    @register("sign_test", settings=SignConfig)
    def sign(cfg, model):
        return torch.optim.SGD(model.parameters(), lr=cfg.lr * cfg.scale)

    try:
        cfg = apply_overrides(RunConfig(), {"optim.name": "sign_test", "optim.scale": "3", "optim.lr": "0.1"})
        validate(cfg)
        assert type(cfg.optim) is SignConfig
        assert build_optimizer(cfg.optim, model()).param_groups[0]["lr"] == pytest.approx(0.3)
        with pytest.raises(ConfigError, match=re.escape("optim.scale applies to optim.name=sign_test")):
            apply_overrides(RunConfig(), {"optim.scale": "3"})
    finally:
        del BUILDERS["sign_test"], OPTIMIZERS["sign_test"]
    with pytest.raises(ConfigError, match=re.escape("optim.name='sign_test'")):
        apply_overrides(RunConfig(), {"optim.name": "sign_test"})


def test_the_linear_teacher_prediction_names_sgd_for_other_optimizers():
    cfg = get("levi2023").config
    task = build_task(cfg.task)
    for name in ("adamw", "muon"):
        prediction = predict_grokking(dataclasses.replace(cfg, optim=OPTIMIZERS.make(name)), task)
        assert prediction["predicted_grokking_step"] is None and "optim.name=sgd" in prediction["prediction"]


def test_probe_modules_register_their_probes():
    assert list(PROBES) == PROBE_ORDER  # the order train.probes' errors list them in, as before
    assert PROBES["lc"].__module__ == "groklab.probes.local_complexity"
    assert PROBES["levi_gen_loss"].__module__ == "groklab.probes.linear_teacher"

    @register_probe("probe_test")
    def probe_test(model, data, task, settings):
        return {"test/one": 1.0}

    try:
        assert PROBES["probe_test"] is probe_test and list(PROBES)[-1] == "probe_test"
        with pytest.raises(ValueError, match="registered twice"):
            register_probe("rqi")(probe_test)
    finally:
        del PROBES["probe_test"]


def test_preset_modules_register_their_presets_in_the_suite_order():
    names = list(registry())
    assert [n for n in names if n in PRESET_ORDER] == PRESET_ORDER  # new presets may follow; these keep their order
    assert registry()["levi2023"].config.optim == SGDConfig(lr=0.1, weight_decay=0.0, warmup_steps=0)
    extra = dataclasses.replace(get("power2022"), name="preset_test")
    register_preset(extra)
    try:
        assert get("preset_test") is extra and list(registry())[-1] == "preset_test"
        register_preset(extra)  # the same object again: nothing changes
        with pytest.raises(ValueError, match="registered twice"):
            register_preset(dataclasses.replace(extra, paper="another"))
    finally:
        del PRESETS["preset_test"]
    assert "preset_test" not in registry()
