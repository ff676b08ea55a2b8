"""`train.stop_when` / `train.stop_after`: a run ends once its outcome is settled, identically in both engines and
after a resume."""

import json

import pytest
import torch

from groklab.cli import main
from groklab.config import RunConfig, apply_overrides, stop_conditions, validate
from groklab.engine import MemorySink, train, train_many
from groklab.engine.common import StopRule
from groklab.errors import ConfigError
from groklab.runs import execute, load_run

from .test_vectorized import KeepAt, Resume, replay_members

F64 = {"train.dtype": "float64", "train.loss_dtype": "float64", "train.steps": "40", "train.eval_every": "2",
       "train.checkpoint_every": "10"}


def cfg_of(tiny, **extra):
    return apply_overrides(RunConfig(), tiny | F64 | extra)


def settles_at(rows, conditions, after):
    """The step at which `after` consecutive evaluations met every condition, from a full history."""
    held = 0
    for row in rows:
        ok = all(row[k] >= v if op == ">=" else row[k] <= v for k, op, v in conditions)
        held = held + 1 if ok else 0
        if held == after:
            return row["step"]
    return None


def test_the_rule_parses_and_refuses_what_makes_no_sense(tiny):
    assert stop_conditions("val/acc>=0.99, train/loss <= 1e-3") == [("val/acc", ">=", 0.99),
                                                                    ("train/loss", "<=", 1e-3)]
    assert stop_conditions("") == []
    for bad in ("val/acc>0.99", "val/acc>=high", "val/acc>=nan", ">=0.5"):
        with pytest.raises(ConfigError, match=r"train\.stop_when"):
            validate(apply_overrides(RunConfig(), {"train.stop_when": bad}))
    assert main(["run", *(f"{k}={v}" for k, v in tiny.items()), "train.stop_when=val/nope>=1", "--quiet"]) == 2
    assert main(["run", *(f"{k}={v}" for k, v in tiny.items()), "train.stop_after=0", "--quiet"]) == 2


def test_the_streak_holds_breaks_and_skips_unmeasured_evaluations():
    rule = StopRule(stop_conditions("val/acc>=0.9,train/acc>=0.9"), 3)
    streak = None
    for step, row, held in [(1, {"val/acc": 0.95, "train/acc": 1.0}, 1), (2, {"val/acc": 0.8, "train/acc": 1.0}, 0),
                            (3, {"val/acc": 0.9, "train/acc": 0.9}, 1), (4, {"train/acc": 1.0}, 1),
                            (5, {"val/acc": 1.0, "train/acc": 1.0}, 2), (6, {"val/acc": 1.0, "train/acc": 1.0}, 3)]:
        streak = rule.update(streak, step, row)
        assert (streak or {}).get("held", 0) == held, step
    assert streak == {"held": 3, "from": 3} and rule.settled(streak)
    assert StopRule((), 3).update(None, 1, {"val/acc": 1.0}) is None


def test_a_run_stops_once_its_rule_has_held(tiny):
    full = MemorySink()
    train(cfg_of(tiny), full)
    level = sorted(r["train/acc"] for r in full.rows)[len(full.rows) // 2]  # reached about half-way
    conditions = [("train/acc", ">=", level)]
    expected = settles_at(full.rows, conditions, 3)
    assert expected is not None and expected < 40
    sink = MemorySink()
    outcome = train(cfg_of(tiny, **{"train.stop_when": f"train/acc>={level!r}", "train.stop_after": "3"}), sink)
    assert outcome.status == "completed" and outcome.steps == expected
    assert outcome.stopped["step"] == expected and outcome.stopped["after"] == 3
    assert [r["step"] for r in sink.rows] == [r["step"] for r in full.rows if r["step"] <= expected]
    assert sink.rows == [r | {"time": s["time"]} for r, s in zip(full.rows, sink.rows, strict=False)]
    assert sink.latest["step"] == expected and sink.latest["stop"]["held"] == 3  # the last state is saved


def test_members_stop_as_their_plain_runs_do(tiny):
    """Each vectorised member stops where train() stops it, with the same rows (float64); the others train on."""
    members = [({"seed": "0"}, "2"), ({"seed": "1", "optim.weight_decay": "0.3"}, "4"), ({"seed": "2"}, None)]
    cfgs = []
    for extra, after in members:  # a loss level each member passes half-way through its own run
        full = MemorySink()
        train(cfg_of(tiny, **extra), full)
        # just above that row's loss: the engines agree to rounding (rtol 1e-10), not bit for bit, so a level equal
        # to a row's value would make the crossing a coin toss between them
        level = full.rows[len(full.rows) // 2]["train/loss"] * (1 + 1e-9)
        rule = {"train.stop_when": f"train/loss<={level!r}", "train.stop_after": after} if after else {}
        cfgs.append(cfg_of(tiny, **extra, **rule))
    outcomes = replay_members(cfgs, 1e-10)
    assert [o.stopped is not None for o in outcomes] == [True, True, False]
    assert outcomes[0].steps < 40 and outcomes[1].steps < 40 and outcomes[2].steps == 40


@pytest.mark.parametrize("many", [False, True])
def test_a_resumed_run_stops_at_the_same_step(tiny, many):
    """The streak is in latest.pt: resumed mid-streak (step 10 of a streak from step 0), the run stops where the
    uninterrupted one did."""
    cfg = cfg_of(tiny, **{"train.stop_when": "params/norm>=0", "train.stop_after": "12"})
    ref = KeepAt()
    train(cfg, ref)
    assert ref.rows[-1]["step"] == 16 and ref.at10["stop"] == {"held": 9, "from": 0}
    resumed = Resume(ref.at10)
    outcome = train_many([cfg], [resumed])[0] if many else train(cfg, resumed)
    assert outcome.steps == 16 and outcome.stopped == {"when": "params/norm>=0", "after": 12, "from_step": 0,
                                                        "step": 16}
    assert [r["step"] for r in resumed.rows] == [12, 14, 16]


def test_the_run_folder_records_why_it_stopped(tiny, tmp_path, capsys):
    cfg = apply_overrides(RunConfig(), tiny | {"train.steps": "200", "train.stop_when": "params/norm>=0",
                                                "train.stop_after": "4"})
    path, _ = execute(cfg, out=tmp_path)
    run = load_run(path)
    assert run.summary["status"] == "completed" and run.summary["steps"] == 3
    assert run.summary["stopped"] == {"when": "params/norm>=0", "after": 4, "from_step": 0, "step": 3}
    assert json.loads((path / "config.json").read_text())["train"]["stop_when"] == "params/norm>=0"
    assert (path / "checkpoints" / "step_3.pt").is_file()  # its last model, as a run that ends keeps it
    assert torch.load(path / "checkpoints" / "latest.pt", weights_only=True)["step"] == 3
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 of at most 200 steps" in out and "stopped once params/norm>=0 had held for 4 evaluations" in out


def test_the_progress_line_of_a_group_names_its_members_once(tiny, capsys):
    """'step 0/40 median of 3 members: train/loss=...' (not '3 members step 0/40 3 members (median)')."""
    cfgs = [cfg_of(tiny, seed=str(s)) for s in range(3)]
    train_many(cfgs, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("step 0/40 median of 3 members: train/loss=")
    assert all(line.count("members") == 1 for line in lines)


def test_tables_say_a_stopped_run_is_settled_not_unfinished():
    from groklab.analysis.tables import fmt_steps

    assert fmt_steps({"steps": 4000, "total_steps": 4000}) == "4,000 / 4,000"
    stopped = {"steps": 3800, "total_steps": 10000, "stopped": {"when": "val/acc>=0.99", "after": 5}}
    assert fmt_steps(stopped) == "3,800 (stopped, settled; at most 10,000)"
