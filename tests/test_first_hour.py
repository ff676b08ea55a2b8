"""What a new user meets in the first hour: resuming by folder, `detect runs/*` beside reports and sweeps, plots that
land beside the runs, `show` in words, the presets listing and the help texts."""

import json
import re
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.runs import RunDir

TINY = ["task.op=x+y", "task.p=7", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "model.n_layers=1",
        "train.steps=20", "train.eval_every=5", "train.checkpoint_every=10", "train.log_checkpoints=0",
        "train.device=cpu"]


def run(out: Path, *items: str) -> Path:
    assert main(["run", *TINY, *items, "--out", str(out), "--quiet"]) == 0
    return next(p for p in out.iterdir() if p.is_dir() and (p / "config.json").is_file() and
                all(i.split("=")[1] in json.dumps(json.loads((p / "config.json").read_text())) for i in items))


def test_resume_by_folder_alone_uses_the_folders_config(tmp_path, capsys, monkeypatch):
    """An interrupted run resumes with `groklab run --resume RUN_DIR` and nothing else, to the uninterrupted history."""
    reference = run(tmp_path / "a", "optim.weight_decay=0.3")
    from groklab.engine import loop

    record = loop._record

    def interrupt_at_15(trainer, live, step, schedule, progress):
        if step == 15:
            raise KeyboardInterrupt
        return record(trainer, live, step, schedule, progress)

    monkeypatch.setattr(loop, "_record", interrupt_at_15)
    assert main(["run", *TINY, "optim.weight_decay=0.3", "--out", str(tmp_path / "b"), "--quiet"]) == 130
    monkeypatch.setattr(loop, "_record", record)
    folder = next((tmp_path / "b").iterdir())
    assert RunDir(folder).status() == "interrupted"
    capsys.readouterr()
    assert main(["run", "--resume", str(folder), "--quiet"]) == 0  # no preset, no overrides: the folder's config
    assert "status   completed" in capsys.readouterr().out

    def rows(path):
        return [{k: v for k, v in json.loads(line).items() if k != "time"}
                for line in (path / "metrics.jsonl").read_text().splitlines()]

    assert rows(folder) == rows(reference)
    assert main(["run", "--resume", str(tmp_path / "nothing")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_detect_and_plot_take_what_a_glob_of_runs_matches(tmp_path, capsys):
    """After `groklab report runs/` and a sweep, `runs/*` holds report files and a sweep folder besides the runs."""
    runs = tmp_path / "runs"
    assert main(["sweep", *TINY, "optim.weight_decay=0.3,1", "--out", str(runs), "--quiet"]) == 0
    assert main(["report", str(runs), "--no-figures"]) == 0
    members = sorted(p for p in runs.iterdir() if (p / "config.json").is_file())
    sweep = next(runs.glob("sweep-*"))
    capsys.readouterr()
    assert main(["detect", *map(str, sorted(runs.iterdir()))]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines() if not line.startswith(" ")] == [p.name for p in members]
    assert err.count("\n") == 1 and "skipped" in err and "report.html" in err and "report.md" in err
    assert f"{sweep} (a sweep folder" in err
    assert main(["detect", str(runs)]) == 0  # a folder of runs: every run below it
    assert len([ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith(" ")]) == len(members)
    assert main(["detect", str(runs / "report.html")]) == 2  # nothing but a non-run path: one error line
    assert capsys.readouterr().err.startswith("groklab: error:")

    cwd_before = set(Path.cwd().iterdir())
    assert main(["plot", *map(str, sorted(runs.iterdir()))]) == 0
    assert capsys.readouterr().out.strip() == str((runs / "comparison.png").resolve())
    assert (runs / "comparison.png").is_file() and set(Path.cwd().iterdir()) == cwd_before


def test_show_says_when_a_level_was_reached_and_when_it_held(tmp_path, capsys):
    """`first at` (one evaluation at the level) and `held from` (patience evaluations in a row) differ when a
    level is touched and lost: `show` says so in words, and `never held` instead of a dash."""
    folder = run(tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    summary["thresholds"]["val/acc"]["0.99"] = 5  # as if val acc touched 0.99 once at step 5
    det = summary["detection"]
    det["generalization_step"] = None
    (folder / "summary.json").write_text(json.dumps(summary))
    capsys.readouterr()
    assert main(["show", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "train/acc first at" in out and "val/acc   first at" in out
    assert "val/acc >= 0.99 never held" in out and "held from step -" not in out
    patience = det["config"]["patience"]
    assert (f"val/acc first reached 0.99 at step 5 but did not stay there for {patience} evaluations in a row"
            in out) and "one lucky evaluation does not count" in out


def test_presets_list_what_distinguishes_them_and_their_keys(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    blocks = {b.split()[0]: " ".join(b.split()) for b in re.split(r"\n(?=\S)", out) if b.strip()}  # unwrapped
    assert blocks["power2022"] != blocks["power2022_fig1"].replace("power2022_fig1", "power2022")
    assert "adamw lr 0.001 wd 1" in blocks["power2022"] and "adam lr 0.001 wd 0" in blocks["power2022_fig1"]
    assert "reproduces: Fig. 1" in blocks["power2022_fig1"]
    assert not re.search(r"issue \d+|§4\.6", out)  # nothing a user cannot open: no issue numbers, no files
    root = Path(__file__).resolve().parents[1]
    assert all((root / name).is_file() for name in re.findall(r"[\w./-]+\.md\b", out))  # outside the repository
    assert main(["presets", "power2022"]) == 0
    keys = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if re.match(r"^[a-z_.]+=", line))
    assert keys["task.op"] == "x/y" and keys["optim.weight_decay"] == "1.0" and "train.stop_when" in keys
    docs = (Path(__file__).resolve().parents[1] / "docs" / "presets.md").read_text()
    assert not re.search(r"issue \d+|shared/reference|papers\.md|mheight\.md", docs)
    assert main(["presets", "power2023"]) == 2


@pytest.mark.parametrize(("argv", "needles"), [
    (["run"], ["groklab presets PRESET", "Config keys", "--resume RUN_DIR alone"]),
    (["show"], ["RUN_DIR", "a run folder"]),
    (["status"], ["sweep folders (runs/sweep-HASH)", "suite folders (suite/)", "folders holding run folders"]),
    (["import"], ["Lightning", "TensorBoard", "--map"]),
    (["mheight", "generate"], ["--per-group", "(default: 1000)", "(default: uniform)", "seed of the random P "
                               "(default: 0)", "CPU count", "(default: auto)", "task.data=FILE"]),
    (["detect"], ["folders holding run folders", "skipped with a note"]),
])
def test_help_describes_every_argument(capsys, argv, needles):
    assert main([*argv, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for needle in needles:
        assert needle in text, needle


@pytest.mark.slow
def test_the_default_preset_stops_once_settled_and_its_outputs_agree(tmp_path, capsys):
    """power2022 at CI size (x+y mod 41, one layer: val acc 0.99 near step 900, seconds of CPU) with the preset's
    own stop rule: the run ends soon after val acc 0.99 has held, and summary.json, `show` and `detect` report the
    same steps and verdict."""
    small = {"task.op": "x+y", "task.p": 41, "model.n_layers": 1, "model.d_model": 64, "model.d_mlp": 256,
             "optim.lr": 3e-3, "optim.weight_decay": 2.0, "train.batch_size": "full", "train.eval_every": 20,
             "train.log_checkpoints": 0, "train.checkpoint_every": 1000, "train.device": "cpu"}
    items = [f"{k}={v}" for k, v in small.items()] + ["train.steps=4000"]
    assert main(["run", *items, "--out", str(tmp_path), "--quiet"]) == 0
    show = capsys.readouterr().out
    folder = next(tmp_path.iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    det, stopped = summary["detection"], summary["stopped"]
    assert summary["status"] == "completed" and stopped["when"] == "val/acc>=0.99" and stopped["after"] == 5
    assert summary["steps"] == stopped["step"] < 4000 and det["last_step"] == summary["steps"]
    assert det["verdict"] == "grokking" and det["generalization_step"] <= stopped["from_step"]
    assert summary["thresholds"]["val/acc"]["0.99"] <= det["generalization_step"]
    assert f"val/acc >= 0.99 held from step {det['generalization_step']:,}" in show and "never held" not in show
    assert "stopped once val/acc>=0.99 had held for 5 evaluations" in show
    assert main(["detect", str(folder)]) == 0
    line = capsys.readouterr().out.splitlines()[0].split()
    assert line[1] == "grokking" and line[line.index("gen") + 1] == f"{det['generalization_step']:,}"
