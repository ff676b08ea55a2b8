"""Fuzzing the importers and the run-folder readers (issue 24): arbitrary bytes, CSV and JSON structures and numbers
give either a folder that keeps every readable value (each unreadable one named on stderr) or one line with exit
2, never a traceback and never a silent loss. Bounded: a fixed number of examples per test, derandomized, so that
the whole file runs in well under a minute on CI's two cores."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groklab.cli import main
from groklab.importers.files import unique_names

from .importing import run_import

EXAMPLES = int(os.environ.get("GROKLAB_FUZZ_EXAMPLES", 60))  # more for a longer search by hand
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

NAMES = st.sampled_from(["step", "epoch", "train_loss", "val_loss", "train_acc", "val_acc", "top1", "eval_top1",
                         "loss", "accuracy", "lr", "x", "", "step", "val_acc", "Loss/train", "iteration"])
NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, 0.5, 1e308, -1e-308, 2**63, 10**400]))
CELLS = st.one_of(NUMBERS.map(str), st.text(max_size=6), st.sampled_from(["", " ", "N/A", "nan", "inf", "1e999",
                                                                           "1" * 5000, "\ufeff1", "1_0"]))
VALUES = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=5)),
                      lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(NAMES, inner, max_size=3)),
                      max_leaves=8)


def fresh(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(header=st.lists(NAMES, min_size=1, max_size=6), rows=st.lists(st.lists(CELLS, max_size=7), max_size=12),
       bom=st.booleans())
def test_csv(tmp_path_factory, capsys, header, rows, bom):
    tmp = fresh(tmp_path_factory)
    src = tmp / "metrics.csv"
    lines = [",".join(header), *(",".join(c.replace(",", ";").replace("\n", " ").replace('"', "'") for c in row)
                                 for row in rows)]
    src.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    outcome = run_import(capsys, src, tmp / "out")
    if outcome.code == 0:
        check_csv_kept(outcome, header, rows)


def check_csv_kept(outcome, header: list[str], rows: list[list[str]]) -> None:
    """At every step logged by one row only, each numeric cell is in the folder under its column's imported name
    (read_csv's: repeated names `.1`, nameless ones `column_<n>`), and each other cell's column is named on stderr."""
    names, _ = unique_names(header, Path("metrics.csv"))  # the names themselves: test_import_loss
    summary, folder = outcome.summary(), outcome.rows()
    x, key_map = summary["x_column"], summary["key_map"]
    percent = {n for n in names if any(note.startswith(f"{n} is in percent") for note in summary["notes"])}
    by_step: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        values = {n: c.strip() for n, c in zip(names, row, strict=False) if c.strip()}
        step = number(values.get(x))
        if step is not None and math.isfinite(step) and step == int(step):
            by_step.setdefault(int(step), []).append(values)
    for step, entries in by_step.items():
        if len(entries) > 1:
            continue  # a column logged twice at one step keeps the later value (said on stderr)
        for name, raw in entries[0].items():
            value = number(raw)
            if name == x or (value is not None and not math.isfinite(value)):
                continue
            if value is None:
                assert repr(name) in outcome.err, (name, raw, outcome.err)
                continue
            got = folder[step].get(key_map.get(name, name), folder[step].get(f"source/{name}"))
            want = value / 100 if name in percent else value
            assert got is not None and math.isclose(got, want, rel_tol=1e-9), (step, name, raw, got)


def number(text: str | None) -> float | None:
    """A cell as import reads it: int() or float() of the stripped text, else None."""
    for parse in (int, float):
        try:
            return float(parse(text))
        except (TypeError, ValueError, OverflowError):
            pass
    return None


@FUZZ
@given(data=st.one_of(st.dictionaries(NAMES, st.lists(VALUES, max_size=6), max_size=5),
                      st.lists(st.dictionaries(NAMES, VALUES, max_size=5), max_size=8), VALUES))
def test_json_history(tmp_path_factory, capsys, data):
    tmp = fresh(tmp_path_factory)
    src = tmp / "history.json"
    src.write_text(json.dumps(data, default=str))
    run_import(capsys, src, tmp / "out", "--from", "json")


@FUZZ
@given(lines=st.lists(st.one_of(st.dictionaries(NAMES, VALUES, max_size=5).map(lambda d: json.dumps(d, default=str)),
                                st.text(max_size=20)), max_size=10), torn=st.booleans())
def test_json_lines(tmp_path_factory, capsys, lines, torn):
    tmp = fresh(tmp_path_factory)
    src = tmp / "log.jsonl"
    src.write_text("\n".join(x.replace("\n", " ") for x in lines) + ("" if torn else "\n"))
    run_import(capsys, src, tmp / "out")


@FUZZ
@given(raw=st.binary(max_size=400), name=st.sampled_from(["metrics.csv", "history.json", "log.jsonl",
                                                          "events.out.tfevents.1.h.1.0", "metrics.json"]))
def test_arbitrary_bytes(tmp_path_factory, capsys, raw, name):
    tmp = fresh(tmp_path_factory)
    src = tmp / "src"
    src.mkdir()
    (src / name).write_bytes(raw)
    if name == "metrics.json":
        (src / "run.json").write_text("{}")
    run_import(capsys, src / name if name != "metrics.json" else src, tmp / "out")


@FUZZ
@given(data=st.dictionaries(NAMES, st.fixed_dictionaries({"steps": st.lists(VALUES, max_size=5),
                                                          "values": st.lists(VALUES, max_size=5)}), max_size=4))
def test_sacred_metrics(tmp_path_factory, capsys, data):
    tmp = fresh(tmp_path_factory)
    run = tmp / "1"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(data, default=str))
    (run / "run.json").write_text("{}")
    run_import(capsys, run, tmp / "out")


FILES = ["summary.json", "config.json", "metrics.jsonl"]


@FUZZ
@given(name=st.sampled_from(FILES), content=st.one_of(st.binary(max_size=300), VALUES.map(
    lambda v: json.dumps(v, default=str).encode()), st.dictionaries(st.sampled_from(
        ["status", "steps", "final", "thresholds", "detection", "error", "total_steps", "task", "model", "train"]),
        VALUES, max_size=4).map(lambda d: json.dumps(d, default=str).encode())),
       command=st.sampled_from(["show", "detect", "report"]))
def test_run_folder_readers(made, tmp_path_factory, capsys, name, content, command):
    """A file of a finished run folder replaced by anything: show, detect and report answer in one line (exit 2)
    or read around it (a damaged metrics line is named with its number)."""
    tmp = fresh(tmp_path_factory)
    run = tmp / "runs" / made.name
    shutil.copytree(made, run)
    (run / name).write_bytes(content if name != "metrics.jsonl" else (run / name).read_bytes() + content + b"\n")
    argv = {"show": ["show", str(run)], "detect": ["detect", str(run)],
            "report": ["report", str(run.parent), "--no-figures"]}[command]
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err and code in (0, 2), err
    if code == 2:
        assert len([x for x in err.splitlines() if x.startswith("groklab: error: ")]) == 1
