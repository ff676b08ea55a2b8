"""`groklab sweep`: grid parsing, one folder per member, skip the finished, resume the interrupted."""

import json

import pytest
import torch

from groklab.cli import main
from groklab.config import RunConfig
from groklab.engine import MemorySink, train
from groklab.errors import ConfigError
from groklab.io import read_jsonl
from groklab.presets import resolve
from groklab.sweep import parse_spec, plan, run_sweep

from .conftest import tiny_items


def test_parse_spec_hydra_syntax():
    swept, fixed = parse_spec(["optim.lr=1e-3, 3e-3", "seed=range(0,6,2)", "task.p=range(-1, 1)", "train.steps=5"])
    assert swept == {"optim.lr": ["1e-3", "3e-3"], "seed": ["0", "2", "4"], "task.p": ["-1", "0"]}
    assert fixed == {"train.steps": "5"}


def test_parse_spec_takes_an_empty_text_value_as_groklab_run_does():
    swept, fixed = parse_spec(["seed=0,1", "train.stop_when=", "train.probes="])
    assert swept == {"seed": ["0", "1"]} and fixed == {"train.stop_when": "", "train.probes": ""}


@pytest.mark.parametrize(("item", "message"), [
    ("optim.lr=", "empty value"),
    ("optim.lr=1e-3,,3e-3", "empty value"),
    ("optim.lrr=1e-3,3e-3", "did you mean optim.lr?"),
    ("seed=range(0)", "malformed range"),
    ("seed=range(0,1.5)", "malformed range"),
    ("seed=range(3,3)", "empty range"),
    ("seed=range(0,4,0)", "step must not be 0"),
    ("optim.lr=fast,slow", "expected float"),
])
def test_bad_specs_refused_with_one_line(tmp_path, capsys, item, message):
    assert main(["sweep", *tiny_items(), item, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and message in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # refused before anything is written


def test_member_folders_are_groklab_run_folders(tiny):
    sweep = plan(None, [*tiny_items(), "seed=0,1"])
    cfg = resolve(None, tiny | {"seed": "1"})  # where `groklab run` (the default preset) puts this config
    assert [c.run_name for _, c in sweep.members][1] == cfg.run_name


class KeepAt(MemorySink):
    def save(self, state, step, latest, keep):
        if latest and step == 10:
            import copy

            self.at10 = copy.deepcopy(state)


def test_interrupted_sweep_resumes(tmp_path, capsys):
    items = [*tiny_items(), "optim.weight_decay=0.1,1", "seed=range(0,2)"]
    assert main(["sweep", *items, "--out", str(tmp_path), "--quiet"]) == 0
    sweep_dir = next(tmp_path.glob("sweep-*"))
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert [m["status"] for m in record["members"]] == ["completed"] * 4
    assert record["grid"] == {"optim.weight_decay": ["0.1", "1"], "seed": ["0", "1"]}
    runs = [tmp_path / m["run"] for m in record["members"]]
    before = [(r / "metrics.jsonl").read_bytes() for r in runs]

    victim = runs[2]  # simulate a kill at step 15: checkpoint of step 10, metrics up to 15, status interrupted
    keeper = KeepAt()
    train(RunConfig.from_dict(json.loads((victim / "config.json").read_text())), keeper)
    torch.save(keeper.at10, victim / "checkpoints" / "latest.pt")
    rows = [r for r in read_jsonl(victim / "metrics.jsonl").rows if r["step"] <= 15]
    (victim / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = json.loads((victim / "summary.json").read_text())
    (victim / "summary.json").write_text(json.dumps(summary | {"status": "interrupted", "steps": 10}))

    assert main(["sweep", *items, "--out", str(tmp_path), "--quiet"]) == 2  # like groklab run: asks for --resume
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", *items, "--out", str(tmp_path), "--quiet", "--resume"]) == 0
    assert "3 of 4 members already finished" in capsys.readouterr().err
    after = [(r / "metrics.jsonl").read_bytes() for r in runs]
    assert [a == b for a, b in zip(before, after, strict=True)] == [True, True, False, True]  # others untouched
    resumed = read_jsonl(victim / "metrics.jsonl").rows
    original = [json.loads(x) for x in before[2].decode().splitlines()]
    assert [r["step"] for r in resumed] == [r["step"] for r in original]
    for a, b in zip(original, resumed, strict=True):  # float32: the engines agree to rounding
        assert {k: pytest.approx(v, rel=1e-5) for k, v in a.items() if k != "time"} == \
            {k: v for k, v in b.items() if k != "time"}
    record = json.loads((sweep_dir / "sweep.json").read_text())
    assert [m["status"] for m in record["members"]] == ["completed"] * 4


def test_unsupported_members_run_alone(tmp_path, capsys):
    path = run_sweep(None, [*tiny_items(**{"train.steps": "5"}), "optim.name=muon,adamw"], out=tmp_path,
                     vectorize=True)  # asked for on a CPU too (by default only a GPU's members are grouped)
    record = json.loads((path / "sweep.json").read_text())
    assert [m["status"] for m in record["members"]] == ["completed"] * 2
    assert "not vectorised (optim.name=muon" in capsys.readouterr().err


def test_duplicate_members_refused():
    with pytest.raises(ConfigError, match="same config twice"):
        plan(None, [*tiny_items(), "seed=1,1"])
