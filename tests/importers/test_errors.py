"""Bad input: one line on stderr, exit status 2, and nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from groklab.cli import main as groklab_main


def main(argv: list[str]) -> int:
    return groklab_main(["import", *argv])


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, tmp_path: Path, *argv: str) -> str:
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, *argv, "--out", str(out))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("groklab: error: ")
    assert not out.exists() or not any(out.iterdir())
    return lines[0]


def good_jsonl(path: Path) -> Path:
    path.write_text("".join(json.dumps({"step": s, "train_acc": 0.5, "val_acc": 0.1}) + "\n" for s in range(5)))
    return path


def test_missing_path(capsys, tmp_path):
    assert "no such file or folder" in refused(capsys, tmp_path, str(tmp_path / "nope.csv"))


def test_a_bad_source_stops_the_good_ones_too(capsys, tmp_path):
    good = good_jsonl(tmp_path / "good.jsonl")
    assert "nope" in refused(capsys, tmp_path, str(good), str(tmp_path / "nope"))


def test_unknown_format(capsys, tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x00\x01")
    assert "unknown format" in refused(capsys, tmp_path, str(tmp_path / "model.bin"))
    (tmp_path / "empty").mkdir()
    assert "unknown format" in refused(capsys, tmp_path, str(tmp_path / "empty"))


def test_unreadable_files(capsys, tmp_path):
    (tmp_path / "h.json").write_text('{"epoch": [1, 2], "train_acc": [0.1,')
    assert "not valid JSON" in refused(capsys, tmp_path, str(tmp_path / "h.json"))
    (tmp_path / "metrics.csv").write_bytes(b"step,train_acc\n\xff\xfe,\x80\n")
    assert "cannot read" in refused(capsys, tmp_path, str(tmp_path / "metrics.csv"))
    version = tmp_path / "version_0"
    version.mkdir()
    (version / "metrics.csv").write_text("step,train_acc\n0,0.5\n")
    (version / "hparams.yaml").write_text("lr: [0.1\n")
    assert "not valid YAML" in refused(capsys, tmp_path, str(version))
    events = tmp_path / "tb"
    events.mkdir()
    (events / "events.out.tfevents.1.host.1.0").write_bytes(b"\x00" * 7)
    assert "damaged after 0 good records" in refused(capsys, tmp_path, str(events))
    (events / "events.out.tfevents.1.host.1.0").write_bytes(b"")
    assert "no scalars in the event files" in refused(capsys, tmp_path, str(events))


def test_a_damaged_json_line_is_left_out_and_named(capsys, tmp_path):
    (tmp_path / "log.jsonl").write_text('{"step": 1, "val_loss": 1}\nnot json\n{"step": 2, "val_loss": 0.5}\n')
    code, out, err = run_cli(capsys, str(tmp_path / "log.jsonl"), "--out", str(tmp_path / "out"), "--no-detect")
    assert code == 0 and "2 rows by step" in out
    assert "log.jsonl: 1 lines are not JSON objects, left out: line 2 (" in err


def test_no_step_or_epoch_column(capsys, tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"loss": [1.0, 0.5], "accuracy": [0.1, 0.9]}))
    assert "no step or epoch column" in refused(capsys, tmp_path, str(tmp_path / "h.json"))
    chart = '"Relative Time (Process)","run-1 - val/acc","run-1 - val/acc__MIN"\n1,0.5,0.5\n'
    (tmp_path / "chart.csv").write_text(chart)
    assert "neither a step nor an epoch" in refused(capsys, tmp_path, str(tmp_path / "chart.csv"))


def test_no_metric_that_maps(capsys, tmp_path):
    (tmp_path / "h.jsonl").write_text("".join(json.dumps({"step": s, "score": 0.5, "lr": 0.1}) + "\n"
                                              for s in range(3)))
    message = refused(capsys, tmp_path, str(tmp_path / "h.jsonl"))
    assert "no metric maps" in message and "score" in message and "--map" in message


def test_mixed_runs_in_one_file(capsys, tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"step": s, "train_acc": 0.5, "run_id": r}) + "\n"
                                              for r in ("a", "b") for s in range(3)))
    assert "rows of 2 runs" in refused(capsys, tmp_path, str(tmp_path / "a.jsonl"))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"step": s, "train_acc": 0.5}) + "\n"
                                              for _ in range(2) for s in range(3)))
    assert "goes back from 2 to 0" in refused(capsys, tmp_path, str(tmp_path / "b.jsonl"))
    (tmp_path / "chart.csv").write_text('"Step","run-1 - val/acc","run-2 - val/acc"\n1,0.5,0.4\n')
    assert "columns of 2 runs" in refused(capsys, tmp_path, str(tmp_path / "chart.csv"))
    (tmp_path / "h.json").write_text(json.dumps({"wd0": {"epoch": [1], "train_acc": [0.5]},
                                                 "wd1": {"epoch": [1], "train_acc": [0.6]}}))
    assert "histories of 2 runs" in refused(capsys, tmp_path, str(tmp_path / "h.json"))
    logs = tmp_path / "lightning_logs"
    for version in ("version_0", "version_1"):
        (logs / version).mkdir(parents=True)
        (logs / version / "metrics.csv").write_text("step,train_acc\n0,0.5\n")
    assert "holds 2 runs (version_0, version_1)" in refused(capsys, tmp_path, str(logs))
    metrics = {"train.acc": {"steps": [0, 5, 0], "values": [0.1, 0.2, 0.1], "timestamps": ["t"] * 3}}
    (tmp_path / "sacred").mkdir()
    (tmp_path / "sacred" / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "sacred" / "run.json").write_text("{}")
    assert "go back from 5 to 0" in refused(capsys, tmp_path, str(tmp_path / "sacred"))


def test_bad_map_and_format(capsys, tmp_path):
    good = str(good_jsonl(tmp_path / "good.jsonl"))
    assert "expected OLD=NEW" in refused(capsys, tmp_path, good, "--map", "top1")
    assert "no SRC has a column 'top1'" in refused(capsys, tmp_path, good, "--map", "top1=val/acc")
    assert "already has a column 'val_acc'" in refused(capsys, tmp_path, good, "--map", "train_acc=val_acc")
    assert "several names map onto" in refused(capsys, tmp_path, good, "--map", "train_acc=x", "val_acc=x")
    assert "not a wandb chart export" in refused(capsys, tmp_path, good, "--from", "wandb-csv")
    assert main([good, "--from", "mlflow"]) == 2  # argparse: an unknown --from is a usage error, one line
    assert "invalid choice: 'mlflow'" in capsys.readouterr().err


def test_existing_folder_needs_force(capsys, tmp_path):
    good = str(good_jsonl(tmp_path / "good.jsonl"))
    out = tmp_path / "out"
    assert run_cli(capsys, good, "--out", str(out))[0] == 0
    (folder,) = out.iterdir()
    (folder / "marker").write_text("old")
    code, _, err = run_cli(capsys, good, "--out", str(out))
    assert code == 2 and "exists: add --force" in err and (folder / "marker").exists()
    assert run_cli(capsys, good, "--out", str(out), "--force")[0] == 0
    assert not (folder / "marker").exists() and (folder / "summary.json").exists()


def test_missing_optional_library_names_the_extra(capsys, tmp_path, monkeypatch):
    version = tmp_path / "version_0"
    version.mkdir()
    (version / "metrics.csv").write_text("step,train_acc\n0,0.5\n")
    (version / "hparams.yaml").write_text("lr: 0.1\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    message = refused(capsys, tmp_path, str(version))
    assert "needs PyYAML" in message and "groklab[import]" in message


def test_a_frame_without_pandas_names_the_extra(tmp_path, monkeypatch):
    """load_run(..., as_frame=True) where pandas is not installed: one GroklabError naming the extra."""
    from groklab.errors import GroklabError
    from groklab.runs import load_run

    good = good_jsonl(tmp_path / "good.jsonl")
    assert main([str(good), "--out", str(tmp_path / "out"), "--no-detect"]) == 0
    (folder,) = (tmp_path / "out").iterdir()
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(GroklabError, match=r"needs pandas: pip install 'groklab\[pandas\]'") as info:
        load_run(folder, as_frame=True)
    assert "\n" not in str(info.value)
