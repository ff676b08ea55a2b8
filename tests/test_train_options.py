"""Every optimizer, filter, loss and probe option trains end to end, and resumes exactly where it has state."""

import pytest

from groklab.api import resolve
from groklab.config import TrainConfig
from groklab.engine import MemorySink, train
from groklab.engine.common import Schedule

TINY = {"task.op": "x+y", "task.p": 7, "model.d_model": 16, "model.n_heads": 2, "model.d_mlp": 32,
        "train.steps": 12, "train.eval_every": 4, "train.batch_size": 8, "train.log_checkpoints": 0}


@pytest.mark.parametrize("extra", [
    {"optim.name": "adam"}, {"optim.name": "sgd", "optim.momentum": 0.9, "optim.lr": 0.1},
    {"optim.name": "muon"}, {"optim.orthograd": True}, {"optim.l1": 1e-4},
    {"optim.grokfast": "ema"}, {"optim.grokfast": "ma", "optim.grokfast_window": 3},
    {"train.loss": "stablemax", "train.loss_dtype": "float64"}, {"train.loss": "mse"},
    {"train.dtype": "float64"}, {"model.name": "mlp"}, {"model.name": "gpt2_transformer", "model.act": "gelu"},
    {"train.probes": "last_layer_norm,layer_norms,softmax_collapse"},
])
def test_option_trains(extra):
    sink = MemorySink()
    outcome = train(resolve(resolve(None, TINY), extra), sink)  # a new model.name keeps the widths it takes
    assert outcome.status == "completed" and outcome.steps == 12
    assert sink.rows[-1]["train/loss"] < sink.rows[0]["train/loss"] * 1.5
    if "train.probes" in extra:
        assert {"params/last_layer_norm", "train/softmax_collapse", "train/softmax_collapse64",
                "params/norm/W_U"} <= set(sink.rows[-1])


class Interrupt(MemorySink):
    """Keeps the state saved at `stop_at` and stops the run there, like a kill."""

    def __init__(self, stop_at: int | None = None, state=None) -> None:
        super().__init__()
        self.stop_at, self.state = stop_at, state

    def save(self, state, step, latest, keep):
        if latest and step == self.stop_at:
            self.state = state
            raise KeyboardInterrupt

    def load_latest(self):
        return self.state


@pytest.mark.parametrize("extra", [{"optim.grokfast": "ema"}, {"optim.grokfast": "ma", "optim.grokfast_window": 3},
                                   {"optim.name": "muon"}, {"optim.orthograd": True}])
def test_resume_with_filter_and_optimizer_state_is_exact(extra):
    cfg = resolve(None, {**TINY, **extra, "train.checkpoint_every": 6})
    full = MemorySink()
    train(cfg, full)
    first = Interrupt(stop_at=6)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, first)
    second = Interrupt(state=first.state)
    train(cfg, second)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]
    assert drop(first.rows + second.rows) == drop(full.rows)


def test_schedules():
    schedule = Schedule.of(TrainConfig(steps=1000, eval_every=100, log_checkpoints=0))
    evals = {s for s in range(1001) if schedule.evaluates(s)}
    assert set(range(6)) <= evals and {100, 500, 1000} <= evals and 55 not in evals and len(evals) < 30
    ckpts = Schedule.of(TrainConfig(steps=10_000, log_checkpoints=10)).kept
    assert {0, 1, 10_000} <= ckpts and len(ckpts) <= 11


def test_schedules_of_a_huge_run_hold_no_entry_per_step():
    """train.steps=1e9 (the bound): the schedule is predicates plus a few dozen early and log-spaced steps."""
    schedule = Schedule.of(TrainConfig(steps=10**9, eval_every=1000, log_checkpoints=30))
    assert len(schedule.early) < 40 and len(schedule.kept) <= 31
    assert schedule.evaluates(10**9) and schedule.evaluates(5_000) and not schedule.evaluates(5_001)


@pytest.mark.parametrize("metric", ["val/loss", "val/acc"])
def test_keep_best_keeps_the_best_evaluation(tmp_path, metric):
    """train.keep_best: checkpoints/best.pt holds the model at the best value of the metric (lowest loss,
    highest accuracy; the first one on ties), its step and value in summary.json."""
    import groklab
    from groklab.io import load_tensors

    path = groklab.run(None, {**TINY, "train.steps": 40, "train.keep_best": metric}, out=tmp_path)
    run = groklab.load_run(path)
    values = run.history[metric]
    pick = max if metric.endswith("acc") else min
    step = run.history["step"][values.index(pick(values))]
    assert run.summary["best"] == {"metric": metric, "step": step, "value": pick(values)}
    best = load_tensors(path / "checkpoints" / "best.pt")
    assert best["step"] == step and set(best["model"]) == set(load_tensors(path / "checkpoints" / "latest.pt")["model"])
