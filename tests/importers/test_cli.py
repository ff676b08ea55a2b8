"""`groklab import` end to end: folders written, detection stored, --map, and the analysis commands on them."""

from __future__ import annotations

import json
import re

from conftest import make_history, verdict_of

from groklab.analysis.report import write_report
from groklab.cli import main as groklab_main
from groklab.runs import load_run


def main(argv: list[str]) -> int:
    return groklab_main(["import", *argv])


def test_import_two_sources_then_report(capsys, tmp_path):
    rows = make_history(200, 2000)
    a = tmp_path / "wd1" / "log.jsonl"
    a.parent.mkdir()
    a.write_text("".join(json.dumps({"it": r["step"], "top1": r["val/acc"], "train_acc": r["train/acc"],
                                     "nll": r["train/loss"]}) + "\n" for r in rows))
    b = tmp_path / "wd0" / "history.json"
    b.parent.mkdir()
    b.write_text(json.dumps({"step": [r["step"] for r in rows], "loss": [r["train/loss"] for r in rows],
                             "accuracy": [r["train/acc"] for r in rows]}))
    out = tmp_path / "runs"
    assert main([str(a), str(b), "--out", str(out), "--map", "it=step", "top1=val/acc", "nll=train/loss"]) == 0
    captured = capsys.readouterr()
    printed = captured.out.splitlines()
    assert len(printed) == 2 and printed[0].endswith("grokking")
    assert printed[1].endswith("no verdict (no validation metric)")  # train metrics only: nothing to judge
    assert "history.json: no validation metric recognised" in captured.err
    first = load_run(next(out.glob("wd1-log-*")))
    assert first.summary["detection"]["verdict"] == verdict_of(rows)["verdict"] == "grokking"
    assert first.summary["key_map"] == {"top1": "val/acc", "nll": "train/loss", "train_acc": "train/acc"}
    assert first.summary["x_column"] == "it" and first.summary["thresholds"]["val/acc"]["0.99"] is not None
    assert first.history["step"] == [r["step"] for r in rows]
    assert first.history["val/acc"] == [r["val/acc"] for r in rows]
    assert set(first.config) == {"imported"}
    _, md = write_report(out, figures=False)
    text = md.read_text()
    assert "wd1-log-" in text and "wd0-history-" in text and "grokking" in text


def test_rows_at_one_step_merge_and_the_later_value_wins(capsys, tmp_path):
    src = tmp_path / "m.csv"
    src.write_text("step,train_acc,val_acc\n0,0.1,\n0,,0.05\n10,0.5,\n10,0.6,\n")
    assert main([str(src), "--out", str(tmp_path / "out"), "--no-detect"]) == 0
    captured = capsys.readouterr()
    assert "2 rows by step" in captured.out
    assert ("groklab: warning: " in captured.err and "1 values of train/acc logged again at a step that already "
            "had one; the later kept, not imported: line 4" in captured.err)
    (folder,) = (tmp_path / "out").iterdir()
    lines = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"step": 0, "train/acc": 0.1, "val/acc": 0.05}, {"step": 10, "train/acc": 0.6}]
    assert "detection" not in json.loads((folder / "summary.json").read_text())


def test_non_finite_values_are_null_and_not_logged_is_absent(capsys, tmp_path):
    src = tmp_path / "h.jsonl"
    src.write_text('{"step": 0, "train_loss": NaN, "val_loss": null}\n{"step": 1, "train_loss": 1.5}\n')
    assert main([str(src), "--out", str(tmp_path / "out"), "--no-detect"]) == 0
    (folder,) = (tmp_path / "out").iterdir()
    assert (folder / "metrics.jsonl").read_text() == '{"step": 0, "train/loss": null}\n{"step": 1, "train/loss": 1.5}\n'
    assert json.loads((folder / "summary.json").read_text())["kind"] == "regression"


def test_folder_names_are_one_safe_component_and_distinct(capsys, tmp_path):
    sources = []
    for parent in ("my run (1)", "my run [1]"):
        path = tmp_path / parent / "training history.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"epoch": [0, 1], "test_acc": [0.1, 0.2]}))
        sources.append(str(path))
    assert main([*sources, "--out", str(tmp_path / "out"), "--no-detect"]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(names) == 2 and all(re.fullmatch(r"my_run_1_-training_history-[0-9a-f]{8}", n) for n in names)
