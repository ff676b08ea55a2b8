"""The vectorised engine replays train.train member by member (ecosystem.md §3.3)."""

import copy

import pytest
import torch

from groklab.config import OPTIMIZERS, RunConfig, apply_overrides
from groklab.engine import MemorySink, build_tasks, group_key, train, train_many, unsupported

MEMBERS = [  # different seeds, weight decays, splits and hyper-parameters in one group
    {"seed": "0", "optim.weight_decay": "0.1"},
    {"seed": "1", "optim.weight_decay": "1.0", "task.split_seed": "3"},
    {"seed": "2", "optim.weight_decay": "3.0", "optim.lr": "3e-3", "optim.beta2": "0.99", "optim.warmup_steps": "3"},
]


def configs(tiny, **extra):
    """The members with `extra`; an optim key the selected optimizer does not take (SGD has no beta2) is left out."""
    takes = {f"optim.{k}" for k in OPTIMIZERS.keys_of(extra.get("optim.name", "adamw"))}
    own = [{k: v for k, v in m.items() if not k.startswith("optim.") or k in takes} for m in MEMBERS]
    return [apply_overrides(RunConfig(), tiny | m | extra) for m in own]


def assert_rows_match(ref, got, rtol):
    assert len(ref) == len(got)
    for a, b in zip(ref, got, strict=True):
        assert list(a) == list(b)
        for k in a:
            if k != "time":
                assert b[k] == pytest.approx(a[k], rel=rtol, abs=1e-300), (a["step"], k)


@pytest.mark.parametrize(("dtype", "extra", "rtol", "atol"), [
    ("float64", {}, 1e-10, 0.0),
    ("float64", {"optim.name": "adam", "optim.grokfast": "ema", "optim.l1": "1e-4"}, 1e-10, 0.0),
    ("float64", {"train.batch_size": "full"}, 1e-10, 0.0),
    ("float64", {"train.probes": "layer_norms,last_layer_norm", "train.probe_every": "10"}, 1e-10, 0.0),
    ("float64", {"train.fixed_norm": "20"}, 1e-10, 0.0),
    ("float64", {"optim.name": "sgd", "optim.lr": "0.1", "optim.momentum": "0.9"}, 1e-10, 0.0),
    ("float64", {"optim.name": "sgd", "optim.lr": "0.3", "optim.warmup_steps": "0"}, 1e-10, 0.0),
    ("float64", {"optim.orthograd": "true", "optim.grokfast": "ema"}, 1e-9, 1e-12),
    ("float64", {"optim.embed_lr": "3e-3", "optim.embed_weight_decay": "0"}, 1e-10, 0.0),
    ("float64", {"model.name": "gpt2_resformer", "model.value_mix": "learnable"}, 1e-10, 0.0),
    ("float64", {"model.name": "gpt2_meta", "model.pos": "rotary", "model.n_memory": "3"}, 1e-10, 0.0),
    ("float64", {"model.name": "gpt2_svformer", "model.linear": "bitlinear"}, 1e-9, 1e-12),
    ("float32", {}, 1e-4, 1e-6),
])
def test_members_equal_plain_runs(tiny, dtype, extra, rtol, atol):
    cfgs = configs(tiny, **{"train.dtype": dtype, "train.loss_dtype": dtype, **extra})
    assert len({group_key(c, t) for c, t in zip(cfgs, build_tasks(cfgs), strict=True)}) == 1
    assert all(unsupported(c) is None for c in cfgs)
    sinks = [MemorySink() for _ in cfgs]
    outcomes = train_many(cfgs, sinks)
    for cfg, sink, outcome in zip(cfgs, sinks, outcomes, strict=True):
        ref = MemorySink()
        assert train(cfg, ref) == outcome.__class__(outcome.status, outcome.steps, ref.rows[-1], None)
        assert_rows_match(ref.rows, sink.rows, rtol)
        assert sink.latest["step"] == 20 and set(sink.latest) == set(ref.latest)
        for k, v in ref.latest["model"].items():
            torch.testing.assert_close(sink.latest["model"][k], v, rtol=rtol, atol=atol)


class Resume(MemorySink):
    """A sink that hands `state` to the loop as its latest checkpoint."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    def load_latest(self):
        return self.state


class KeepAt(MemorySink):
    def save(self, state, step, latest, keep):
        super().save(state, step, latest, keep)
        if latest and step == 10:
            self.at10 = copy.deepcopy(state)  # the plain loop hands over live parameters


@pytest.mark.parametrize("extra", [{}, {"optim.name": "sgd", "optim.lr": "0.1", "optim.momentum": "0.9"},
                                   {"optim.embed_lr": "3e-3", "optim.grokfast": "ema"}])
def test_checkpoints_resume_across_engines(tiny, extra):
    """A vectorised member's checkpoint resumes in the reference loop, and a plain checkpoint in the engine."""
    cfgs = configs(tiny, **{"train.dtype": "float64", "train.loss_dtype": "float64", **extra})
    keepers = [KeepAt() for _ in cfgs]
    train_many(cfgs, keepers)
    plain = Resume(keepers[1].at10)  # vectorised -> plain
    train(cfgs[1], plain)
    assert_rows_match([r for r in keepers[1].rows if r["step"] > 10], plain.rows, 1e-10)
    ref = KeepAt()  # plain -> vectorised, two members resuming from step 10 together
    train(cfgs[0], ref)
    resumed = [Resume(ref.at10), Resume(keepers[2].at10)]
    train_many([cfgs[0], cfgs[2]], resumed)
    assert_rows_match([r for r in ref.rows if r["step"] > 10], resumed[0].rows, 1e-10)
    assert_rows_match([r for r in keepers[2].rows if r["step"] > 10], resumed[1].rows, 1e-10)


def test_groups_and_fallback_reasons(tiny):
    a, b = (apply_overrides(RunConfig(), tiny | {"task.train_frac": f}) for f in ("0.5", "0.6"))
    assert group_key(a, *build_tasks([a])) != group_key(b, *build_tasks([b]))  # different train sizes: two groups
    assert unsupported(apply_overrides(RunConfig(), tiny | {"optim.name": "muon"})) is not None
    assert unsupported(apply_overrides(RunConfig(), tiny | {"optim.grokfast": "ma"})) is not None


def replay_members(cfgs, rtol):
    """train_many's members end as train() ends each of them (status, step, error, stop rule), with its rows."""
    sinks = [MemorySink() for _ in cfgs]
    outcomes = train_many(cfgs, sinks)
    for cfg, sink, outcome in zip(cfgs, sinks, outcomes, strict=True):
        ref = MemorySink()
        expected = train(cfg, ref)
        assert (outcome.status, outcome.steps, outcome.error, outcome.stopped) == (
            expected.status, expected.steps, expected.error, expected.stopped)
        assert [r["step"] for r in sink.rows] == [r["step"] for r in ref.rows]
        if expected.status == "completed":
            assert_rows_match(ref.rows, sink.rows, rtol)
    return outcomes


def test_a_diverging_member_stops_alone(tiny):
    """Per-member early stop: the diverged member ends as train.train ends it, the others train on unchanged."""
    cfgs = [apply_overrides(RunConfig(), tiny | {"seed": "0"}),
            apply_overrides(RunConfig(), tiny | {"seed": "1", "optim.lr": "1e30", "optim.warmup_steps": "0"})]
    outcomes = replay_members(cfgs, 1e-4)
    assert [o.status for o in outcomes] == ["completed", "diverged"]
