"""GPT-2 as Wang et al. 2024 train it (simpletransformers' seq2seq model on HF GPT2LMHeadModel): each option does
what it says, and the vectorised engine replays the reference loop with them."""

import dataclasses
import math

import pytest
import torch
from sweep.test_vectorized import KeepAt, Resume

from groklab.cli import main
from groklab.config import OPTIMIZERS, RunConfig, apply_overrides
from groklab.engine import MemorySink, build_tasks, group_key, train, train_many, unsupported
from groklab.models import build_model
from groklab.models.gpt2 import GPT2Config
from groklab.optim import build_optimizer, param_groups
from groklab.optim.vectorized import clip_
from groklab.tasks import build_task
from groklab.tasks.knowledge_graph import ComparisonConfig

TASK = ComparisonConfig(n_entities=20, n_attributes=2, n_values=5, phi=3.0, ood_frac=0.2, padding="right")
GPT2 = GPT2Config(name="gpt2_transformer", d_model=32, n_layers=3, n_heads=4, d_mlp=64, act="gelu", init="gpt2",
                  tie_embeddings=True)
OVERRIDES = {"task.name": "kg_comparison", "task.n_entities": "20",
             "task.n_attributes": "2", "task.n_values": "5", "task.phi": "3", "task.ood_frac": "0.2",
             "task.padding": "right", "model.name": "gpt2_transformer", "model.d_model": "32", "model.n_heads": "4",
             "model.d_mlp": "64", "model.act": "gelu", "model.init": "gpt2", "model.tie_embeddings": "true",
             "optim.no_decay": "bias,norm", "optim.weight_decay": "0.5", "train.steps": "20", "train.eval_every": "10",
             "train.batch_size": "64", "train.checkpoint_every": "10", "train.log_checkpoints": "0"}


def model(cfg: GPT2Config = GPT2, task: ComparisonConfig = TASK) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(cfg, build_task(task)).double()


def test_gpt2_init_is_n0_002_with_scaled_residual_projections():
    m = build_model(GPT2Config(name="gpt2_transformer", d_model=256, n_layers=4, n_heads=4, d_mlp=1024,
                               init="gpt2"), build_task(TASK))
    residual = 0.02 / math.sqrt(2 * 4)
    for name, p in m.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf.startswith("b_") or "ln" in name:  # biases 0, LayerNorm (1, 0)
            assert torch.all(p == (1 if name.endswith("weight") else 0)), name
        else:
            want = residual if leaf in ("W_O", "W_out") else 0.02
            assert p.mean().abs() < want / 5 and p.std().item() == pytest.approx(want, rel=0.1), name
    torch_init = build_model(GPT2Config(name="gpt2_transformer", d_model=256, n_heads=4, d_mlp=1024),
                             build_task(TASK))
    assert torch_init.W_E.std() > 0.9  # the default (nn.Embedding's N(0, 1)) is unchanged


def test_tied_embeddings_unembed_with_w_e():
    m = model()
    assert m.W_U is None and "W_U" not in dict(m.named_parameters())
    x = build_task(TASK).x_train[:16]
    logits = m(x)
    m.W_E.grad = None
    logits.logsumexp(-1).sum().backward()
    # the output layer is W_E^T: a row's logits are its final residual against every token's embedding
    untied = model(GPT2.__class__(**{**GPT2.__dict__, "tie_embeddings": False}))
    untied.load_state_dict(m.state_dict(), strict=False)
    with torch.no_grad():
        untied.W_U.copy_(m.W_E.T)
    torch.testing.assert_close(untied(x), logits)
    assert m.W_E.grad is not None and m.W_E.grad[TASK.n_entities + TASK.n_attributes:].abs().sum() > 0


def test_right_padding_reads_each_answer_at_its_own_last_token():
    task = build_task(TASK)
    pad = task.meta["pad_token"]
    atomic = task.x_train[: TASK.n_entities]
    assert task.meta["padding"] == "right" and (atomic[:, 2:] == pad).all() and (atomic[:, :2] != pad).all()
    m = model()
    x = torch.cat([atomic[:4], task.x_train[-4:]])
    alone = torch.cat([m(row[row != pad][None]) for row in x])  # every row unpadded, one at a time
    torch.testing.assert_close(m(x), alone)
    left = build_task(dataclasses.replace(TASK, padding="left"))
    assert (left.x_train[: TASK.n_entities, :3] == pad).all()  # the default layout is unchanged
    assert torch.equal(left.x_train[-4:], task.x_train[-4:])  # inferred facts are not padded at all


def test_dropout_acts_while_training_only_and_is_reproducible():
    m = model(GPT2.__class__(**{**GPT2.__dict__, "dropout": 0.3}))
    x = build_task(TASK).x_train[:32]
    m.train()
    assert not torch.equal(m(x), m(x))
    m.eval()
    assert torch.equal(m(x), m(x)) and torch.equal(m(x), model()(x))  # eval: the model without dropout
    cfg = apply_overrides(RunConfig(), OVERRIDES | {"model.dropout": "0.1"})
    runs = [MemorySink(), MemorySink()]
    for sink in runs:
        train(cfg, sink)
    assert [r | {"time": 0} for r in runs[0].rows] == [r | {"time": 0} for r in runs[1].rows]
    assert "model.dropout draws its masks from the global RNG" in unsupported(cfg)


def test_no_decay_exempts_biases_and_layernorms():
    m = model()
    groups = param_groups(OPTIMIZERS.make("adamw", weight_decay=0.5, no_decay="bias,norm"), m)
    names = {id(p): n for n, p in m.named_parameters()}
    exempt = {names[id(p)] for p in groups[1]["params"]}
    assert groups[1]["weight_decay"] == 0 and "weight_decay" not in groups[0]
    assert exempt == {n for n in names.values() if "ln" in n or n.rsplit(".", 1)[-1].startswith("b_")}
    bias_only = param_groups(OPTIMIZERS.make("adamw", no_decay="bias"), m)[1]["params"]
    assert {names[id(p)] for p in bias_only} == {n for n in exempt if "b_" in n or n.endswith(".bias")}
    # one AdamW step on zero gradients: decayed weights shrink by lr * wd, exempt ones stay
    opt = build_optimizer(OPTIMIZERS.make("adamw", lr=0.1, weight_decay=0.5, no_decay="bias,norm"), m)
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in m.named_parameters():
        torch.testing.assert_close(p, before[n] * (1 if n in exempt else 1 - 0.1 * 0.5))
    assert len(param_groups(OPTIMIZERS.make("adamw"), m)) == 1  # the default: one group, as before


def test_vectorised_clip_is_torchs_clip_per_member():
    torch.manual_seed(0)
    grads = [torch.randn(3, 4, 5, dtype=torch.float64), torch.randn(3, 7, dtype=torch.float64)]
    max_norm = torch.tensor([0.5, 0.0, 100.0], dtype=torch.float64)
    want = []
    for i, c in enumerate(max_norm.tolist()):
        params = [torch.zeros_like(g[i]) for g in grads]  # torch clips the .grad of the parameters it is given
        for p, g in zip(params, grads, strict=True):
            p.grad = g[i].clone()
        if c:
            torch.nn.utils.clip_grad_norm_(params, c)
        want.append([p.grad for p in params])
    clip_(grads, max_norm)
    for i in range(3):
        for got, ref in zip((g[i] for g in grads), want[i], strict=True):
            torch.testing.assert_close(got, ref)
    norm = math.sqrt(sum(g[0].pow(2).sum().item() for g in grads))
    assert norm == pytest.approx(0.5, rel=1e-5)  # clipped to max_norm; member 2 (norm < 100) is untouched


@pytest.mark.parametrize("extra", [{}, {"optim.name": "adam", "optim.grokfast": "ema"},
                                   {"optim.embed_lr": "3e-3", "optim.no_decay": "norm"}])
def test_members_with_the_gpt2_recipe_equal_plain_runs(extra):
    clips = ["0.05", "0", "1.0"]  # clipping on, off, and never reached, in one group
    cfgs = [apply_overrides(RunConfig(), OVERRIDES | {"train.dtype": "float64", "train.loss_dtype": "float64",
                                                      "seed": str(i), "optim.clip_grad_norm": c} | extra)
            for i, c in enumerate(clips)]
    assert len({group_key(c, t) for c, t in zip(cfgs, build_tasks(cfgs), strict=True)}) == 1
    sinks = [MemorySink() for _ in cfgs]
    train_many(cfgs, sinks)
    for cfg, sink in zip(cfgs, sinks, strict=True):
        ref = MemorySink()
        train(cfg, ref)
        assert len(ref.rows) == len(sink.rows)
        for a, b in zip(ref.rows, sink.rows, strict=True):
            for k in a:
                if k != "time":
                    assert b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-12), (a["step"], k)
    unclipped = MemorySink()
    train(apply_overrides(cfgs[0], {"optim.clip_grad_norm": "0"}), unclipped)
    assert unclipped.rows[-1]["train/loss"] != sinks[0].rows[-1]["train/loss"]  # clipping at 0.05 acted


def test_checkpoints_with_parameter_groups_resume_across_engines():
    """The optimizer state of three parameter groups (embed, decayed, exempt) moves between the engines."""
    cfg = apply_overrides(RunConfig(), OVERRIDES | {"train.dtype": "float64", "train.loss_dtype": "float64",
                                                    "optim.clip_grad_norm": "0.1", "optim.embed_lr": "3e-3"})
    other = apply_overrides(cfg, {"seed": "1"})
    keepers = [KeepAt(), KeepAt()]
    train_many([cfg, other], keepers)
    plain = Resume(keepers[0].at10)  # vectorised -> plain
    train(cfg, plain)
    ref = KeepAt()  # plain -> vectorised
    train(other, ref)
    resumed = Resume(ref.at10)
    train_many([other], [resumed])
    for want, got in ((keepers[0].rows, plain.rows), (ref.rows, resumed.rows)):
        want = [r for r in want if r["step"] > 10]
        assert len(want) == len(got) > 0
        for a, b in zip(want, got, strict=True):
            assert all(b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-12) for k in a if k != "time"), a["step"]


def history(cfg: RunConfig) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """A run's rows (wall-clock left out) and its final weights."""
    sink = MemorySink()
    train(cfg, sink)
    return [r | {"time": 0} for r in sink.rows], sink.latest["model"]


def test_the_recipe_trains_bitwise_identically_on_two_threads():
    """Right padding (take_along_dim), the tied head (W_E used twice) and clipping add no thread-order sums."""
    cfg = apply_overrides(RunConfig(), OVERRIDES | {"optim.clip_grad_norm": "1.0", "train.batch_size": "256"})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (rows_a, model_a), (rows_b, model_b) = history(cfg), history(cfg)
    finally:
        torch.set_num_threads(before)
    assert rows_a == rows_b and all(torch.equal(v, model_b[k]) for k, v in model_a.items())


MODEL = ["model.name=gpt2_transformer", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32"]
KG = ["task.name=kg_comparison", "task.n_entities=20", "task.n_attributes=2", "task.phi=2", "task.ood_frac=0.2"]


@pytest.mark.parametrize(("args", "needle"), [
    (["task.padding=right", *MODEL],
     "task.padding applies to task.name=kg_composition or kg_comparison; this task is modular"),
    ([*KG, "task.padding=middle", *MODEL], "task.padding='middle': expected one of left, right"),
    (["model.tie_embeddings=true", *MODEL], "model.tie_embeddings needs a task whose answers are tokens"),
    (["model.dropout=0.1"], "model.dropout applies to model.name=gpt2_transformer"),
    (["model.init=gpt2"], "model.init applies to model.name=mlp_concat"),
    ([*MODEL, "model.init=xavier"], "model.init='xavier': gpt2_transformer expects one of torch, gpt2"),
    ([*MODEL, "model.dropout=1"], "model.dropout must be in [0, 1)"),
    (["optim.no_decay=bias,weights"], "optim.no_decay='bias,weights': expected a comma-separated subset"),
    (["optim.no_decay=bias", "optim.name=muon"],
     "optim.no_decay applies to optim.name=adamw or adam or sgd; this optim is muon"),
    (["optim.clip_grad_norm=-1"], "optim.clip_grad_norm must be >= 0"),
    (["task.name=kg_comparison", "task.n_entities=12", "task.ood_frac=0.1", *MODEL],
     "leaves 1 OOD and 11 ID entities per attribute"),
    (["task.name=kg_comparison", "task.n_entities=20", "task.ood_frac=0.1", "task.phi=40", *MODEL],
     "task.phi=40.0 needs"),
])
def test_bad_recipe_options_exit_2_with_one_line(capsys, tmp_path, args, needle):
    code = main(["run", *args, "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not any(tmp_path.iterdir())
