"""Run folders written before config groups (tests/data/legacy_runs: config.json holds every key of the flat union
of all tasks' settings) load, show, detect, report, evaluate and resume, and `groklab run` and `groklab sweep` find
them under their old names instead of training again (runs.migrate, runs.stored_config, runs.run_folder).

Where a figure depends on whether today's schemas take a key, the expected value is computed from them: the tests
hold with the flat schemas and with per-task ones. The renamed copies make the finding happen either way."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from groklab.analysis.compare import differing_keys, run_labels, seed_groups
from groklab.cli import main
from groklab.config import GROUPS, TASKS
from groklab.io import read_jsonl
from groklab.runs import RunDir, load_run, migrate, run_folder, stored_config, unread_settings

DATA = Path(__file__).parent / "data" / "legacy_runs"
_spec = importlib.util.spec_from_file_location("legacy_generate", DATA / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

TINY_RUN = DATA / "completed" / "power2022-x_y-f4407e8e"  # generate.TINY, uninterrupted
UNREAD_RUN = DATA / "completed" / "power2022-x_y-8d834ccd"  # generate.UNREAD: task.n_entities=7 on a modular run
LEVI_RUN = DATA / "completed" / "levi2023-linear_teacher-a01209fe"
TINY_HALTED = DATA / "interrupted" / "power2022-x_y-f4407e8e"  # generate.TINY, Ctrl-C after step 30
KG_HALTED = DATA / "interrupted" / "wang2024_comparison-comparison-05e945d6"
FOLDERS = sorted(p for p in DATA.glob("*/*") if (p / "config.json").is_file())


def args(overrides: dict) -> list[str]:
    return [f"{k}={v}" for k, v in overrides.items()]


def copy(run: Path, out: Path, name: str | None = None) -> Path:
    """A private copy of a fixture folder in `out`, under its own name or `name` (as if it had been written under
    another run name: the finding must then happen whatever today's name is)."""
    dest = out / (name or run.name)
    shutil.copytree(run, dest)
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != ".lock"}


def values(path: Path) -> list[dict]:
    """metrics.jsonl without the wall time, the one value that differs between two runs of one config."""
    return [{k: v for k, v in row.items() if k != "time"} for row in read_jsonl(path / "metrics.jsonl").rows]


def close(a: list[dict], b: list[dict]) -> bool:
    """Equal rows, up to float rounding: the fixture's first rows were computed on the machine that wrote it
    (bitwise equal there; another CPU's kernels may round the last bits differently)."""
    return [sorted(r) for r in a] == [sorted(r) for r in b] and all(
        x[k] == pytest.approx(y[k], rel=1e-5, abs=1e-7) if isinstance(x[k], float) else x[k] == y[k]
        for x, y in zip(a, b, strict=True) for k in x)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_legacy_config_reads_in_todays_layout(folder):
    stored = RunDir(folder).config()
    cfg = RunDir(folder).run_config()
    for key, group in GROUPS.items():  # each group holds exactly the keys of the schema its name selects
        section = cfg.to_dict()[key]
        assert set(section) == {"name", *group.keys_of(section["name"])}
        assert all(stored[key].get(k, v) == v for k, v in section.items())  # the values the run used are kept
    assert stored_config(cfg.to_dict()) == cfg  # today's layout is a fixed point of the migration
    assert migrate(cfg.to_dict()) == (cfg.to_dict(), [])


def test_values_the_run_never_read_are_dropped_and_named():
    """task.n_entities=7 on a modular run: the modular builder never read it. Whether today's modular schema
    takes the key decides if it is dropped; a slim modular schema (what per-task schemas make of it) drops it."""
    stored = RunDir(UNREAD_RUN).config()
    takes = "n_entities" in TASKS.keys_of("modular")
    assert unread_settings(stored) == ([] if takes else ["task.n_entities=7 (task.name=modular)"])
    assert unread_settings(RunDir(TINY_RUN).config()) == []  # nobody set a key the run did not read
    assert unread_settings({"imported": {"format": "csv"}}) == []  # an imported run has no groups


MODULAR = TASKS.load()["modular"]


@dataclass(frozen=True)
class SlimModular:
    """The modular task's own keys only, as a per-task schema holds them."""

    name: str = "modular"
    op: str = "x/y"
    p: int | None = 97
    train_frac: float = 0.5
    split_seed: int = 0
    layout: str = "a_op_b_eq"
    pairs: str = "all"

    def check(self) -> None:
        """No rules of its own here."""

    def label(self) -> str:
        return MODULAR.label(self)  # type: ignore[arg-type]  # the real schema's: the op, as in the old names


@pytest.fixture
def slim_modular(monkeypatch):
    monkeypatch.setitem(TASKS.load(), "modular", SlimModular)


def test_migration_keeps_the_schemas_keys_and_notes_the_unread_once(slim_modular, tmp_path, capsys):
    stored = RunDir(UNREAD_RUN).config()
    current, unread = migrate(stored)
    assert current["task"] == {f.name: stored["task"][f.name] for f in dataclasses.fields(SlimModular)}
    assert unread == ["task.n_entities=7 (task.name=modular)"]  # the other dropped keys held their defaults
    assert {k: v for k, v in current.items() if k not in GROUPS} == {k: v for k, v in stored.items() if k not in GROUPS}
    assert all(current[g].items() <= stored[g].items() for g in GROUPS)  # groups keep their values or drop keys
    source = tmp_path / "config.json"  # a path no other test has noted yet (the note is once per process)
    cfg = stored_config(stored, source)
    stored_config(stored, source)
    err = capsys.readouterr().err
    assert err.count("task.n_entities=7 (task.name=modular)") == 1 and "never read" in err
    assert cfg.task == SlimModular(op="x-y", p=11) and cfg.run_name == "power2022-x_y-f4407e8e"  # generate.TINY's
    assert main(["show", str(copy(UNREAD_RUN, tmp_path))]) == 0
    assert "note     config.json: set but never read by this run" in capsys.readouterr().out


def test_the_two_layouts_of_one_config_compare_equal(slim_modular):
    """A run kept from before config groups beside a new seed of the same config: one seed group, labelled by the
    seed, not by the keys only the old layout holds."""
    old = RunDir(TINY_RUN).config()
    new = stored_config(old).to_dict() | {"seed": 1}
    assert set(new["task"]) < set(old["task"])
    assert differing_keys([old, new]) == ["seed"]
    assert seed_groups([old, new]) == [[0, 1]]
    assert run_labels([old, new], ["a", "b"]) == ["seed=0", "seed=1"]


def test_an_unknown_task_name_is_one_line():
    stored = RunDir(TINY_RUN).config()
    with pytest.raises(Exception, match=r"task.name='nope'.*expected one of"):
        migrate(stored | {"task": stored["task"] | {"name": "nope"}})


@pytest.mark.parametrize("command", ["show", "detect", "plot"])
def test_show_detect_and_plot_read_every_legacy_folder(tmp_path, capsys, command):
    for folder in FOLDERS if command != "plot" else [TINY_HALTED, KG_HALTED]:  # figures take a second each
        run = copy(folder, tmp_path / folder.parent.name)
        assert main([command, str(run)]) == 0, capsys.readouterr().err
        assert "Traceback" not in capsys.readouterr().err


def test_report_status_and_writeup_read_a_folder_of_legacy_runs(tmp_path, capsys):
    root = tmp_path / "legacy"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("*.py"))
    assert main(["report", str(root), "--no-figures"]) == 0
    report = (root / "report.md").read_text()
    assert all(folder.name in report for folder in FOLDERS)
    assert main(["status", str(root / "completed"), str(root / "interrupted")]) == 0
    assert main(["writeup", str(root / "completed"), "--out", str(tmp_path / "writeup.md")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert load_run(root / KG_HALTED.parent.name / KG_HALTED.name).summary["status"] == "interrupted"


def test_evaluate_scores_a_legacy_run(tmp_path, capsys):
    run = copy(TINY_RUN, tmp_path)
    assert main(["evaluate", str(run), "task.split_seed=1"]) == 0, capsys.readouterr().err
    assert len(RunDir(run).evaluations()) == 1


def test_resuming_a_legacy_run_extends_it_as_an_uninterrupted_run(tmp_path, capsys):
    out = tmp_path / "runs"
    run = copy(TINY_HALTED, out)
    kept = (run / "metrics.jsonl").read_bytes().split(b"\n")[:3]  # the rows of steps 0, 10, 20 (latest.pt: 20)
    assert main(["run", "power2022", *args(generate.TINY), "--out", str(out), "--resume", "--quiet"]) == 0
    assert [p.name for p in out.iterdir()] == [run.name]
    assert (run / "metrics.jsonl").read_bytes().split(b"\n")[:3] == kept  # byte for byte
    assert load_run(run).summary["status"] == "completed" and load_run(run).summary["steps"] == 40
    fresh = tmp_path / "fresh"
    assert main(["run", "power2022", *args(generate.TINY), "--out", str(fresh), "--quiet"]) == 0
    assert close(values(run), values(next(fresh.iterdir())))  # as a run of the same config from scratch today
    assert close(values(run), values(TINY_RUN))  # and as the legacy uninterrupted run of the same config


@pytest.mark.parametrize("name", [None, "wang2024_comparison-comparison-00000000"], ids=["stored", "renamed"])
def test_run_resumes_a_renamed_legacy_folder(tmp_path, capsys, name):
    """The kg_comparison preset sets task.op only to name its folder: with per-task schemas the key goes and the
    name changes. `groklab run --resume` of the same config must continue the old folder, not start a new one."""
    out = tmp_path / "runs"
    run = copy(KG_HALTED, out, name)
    assert main(["run", "wang2024_comparison", *args(generate.KG), "--out", str(out), "--resume", "--quiet"]) == 0
    assert [p.name for p in out.iterdir()] == [run.name]
    summary = load_run(run).summary
    assert summary["status"] == "completed" and summary["steps"] == 40
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl").rows][-1] == 40


@pytest.mark.parametrize("name", [None, "levi2023-linear_teacher-00000000"], ids=["stored", "renamed"])
def test_run_reports_a_finished_legacy_folder_instead_of_training(tmp_path, capsys, name):
    out = tmp_path / "runs"
    run = copy(LEVI_RUN, out, name)
    before = snapshot(out)
    assert main(["run", "levi2023", *args(generate.LEVI), "--out", str(out), "--quiet"]) == 0
    shown = capsys.readouterr()
    assert f"{run} already finished" in shown.out
    assert snapshot(out) == before  # nothing trained, nothing written
    assert (f"{run} holds this config under the run name of an older groklab" in shown.err) == (
        run.name != stored_config(RunDir(run).config()).run_name)


def test_of_several_matches_the_finished_one_then_the_newest(tmp_path, capsys):
    out = tmp_path / "runs"
    halted = copy(TINY_HALTED, out, "power2022-x_y-0000000a")
    older = copy(TINY_RUN, out, "power2022-x_y-0000000b")
    newer = copy(TINY_RUN, out, "power2022-x_y-0000000c")
    copy(LEVI_RUN, out, "power2022-x_y-0000000d")  # same prefix, another config: not a match
    for path, when in ((halted, 3_000), (older, 1_000), (newer, 2_000)):
        for file in (path / "config.json", path / "metrics.jsonl"):
            os.utime(file, (when, when))
    cfg = RunDir(TINY_RUN).run_config()
    assert run_folder(cfg, out) == newer
    assert "2 more hold it too, the finished one, then the newest, is used" in capsys.readouterr().err
    shutil.rmtree(newer)
    shutil.rmtree(older)
    assert run_folder(cfg, out) == halted  # an unfinished one, when no finished one is left
    copy(TINY_RUN, out)
    assert run_folder(cfg, out) == out / TINY_RUN.name  # today's name, when it exists, without reading others


def test_sweep_finds_its_legacy_members(tmp_path, capsys):
    out = tmp_path / "runs"
    record = json.loads((DATA / "completed" / "sweep-5fe457c1" / "sweep.json").read_text())
    members = [copy(DATA / "completed" / m["run"], out, m["run"][:-8] + f"0000000{i}")
               for i, m in enumerate(record["members"])]
    before = snapshot(out)
    assert main(["sweep", "power2022", *generate.SWEEP, "--out", str(out), "--quiet"]) == 0
    assert "2 of 2 members already finished" in capsys.readouterr().err
    sweep = next(out.glob("sweep-*"))
    assert sorted(m["run_dir"] for m in json.loads((sweep / "sweep.json").read_text())["members"]) == sorted(
        str(p.resolve()) for p in members)
    assert {k: v for k, v in snapshot(out).items() if not k.startswith("sweep-")} == before


def test_show_of_a_run_in_todays_layout_needs_no_torch(tmp_path):
    """Only a config.json of the flat layout loads the schemas (they import torch) to name its unread values."""
    import subprocess
    import sys

    from groklab.config import RunConfig

    config = RunConfig().to_dict()
    code = ("import sys; from groklab.runs import unread_settings; "
            f"assert unread_settings({config!r}) == []; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
