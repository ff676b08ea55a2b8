"""A finished sweep's summary.md and report, and `groklab writeup` on a 3-member weight-decay sweep: every number
the document states is a value of the runs' files."""

import json
import re
from pathlib import Path

import pytest

from groklab.cli import main

# x+y mod 13, a 1-layer d_model-32 transformer, full batch, 200 steps (seconds): the training set is fitted,
# the validation accuracy rises with the weight decay.
SWEEP = ["task.op=x+y", "task.p=13", "model.d_model=32", "model.n_heads=2", "model.d_mlp=64", "model.n_layers=1",
         "train.steps=200", "train.eval_every=10", "train.batch_size=full", "train.log_checkpoints=0",
         "train.device=cpu", "optim.lr=1e-2", "optim.weight_decay=0.1,1,3"]


@pytest.fixture(scope="module")
def wd_sweep(tmp_path_factory):
    """The sweep folder of a finished 3-member weight-decay sweep."""
    out = tmp_path_factory.mktemp("wd")
    assert main(["sweep", *SWEEP, "--out", str(out), "--quiet"]) == 0
    return next(out.glob("sweep-*"))


def test_finished_sweep_writes_summary_and_report(wd_sweep):
    sweep = wd_sweep
    record = json.loads((sweep / "sweep.json").read_text())
    text = (sweep / "summary.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "optim.weight_decay" not in line]
    assert len(rows) == 3
    for member, row in zip(record["members"], rows, strict=True):
        summary = json.loads((Path(member["run_dir"]) / "summary.json").read_text())
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == member["overrides"]["optim.weight_decay"] and cells[1] == "completed"
        assert cells[2] == summary["detection"]["verdict"] and cells[-1] == member["run"]
        val99 = summary["thresholds"]["val/acc"]["0.99"]
        assert cells[4] == ("—" if val99 is None else f"{val99:,}")
    assert (sweep / "report.html").is_file() and (sweep / "report.md").is_file()
    assert "data:image/png;base64," in (sweep / "report.html").read_text()


NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def numbers_in(value, found):
    """Every number in a JSON value: numbers, numeric keys, and numbers written inside strings."""
    if isinstance(value, dict):
        for k, v in value.items():
            numbers_in(k, found)
            numbers_in(v, found)
    elif isinstance(value, list):
        for v in value:
            numbers_in(v, found)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        found.add(float(value))
    else:
        found.update(float(t.replace(",", "")) for t in NUMBER.findall(str(value)))


def run_file_numbers(run_dirs):
    found: set[float] = set()
    for run in run_dirs:
        for name in ("config.json", "summary.json"):
            numbers_in(json.loads((run / name).read_text()), found)
        for line in (run / "metrics.jsonl").read_text().splitlines():
            numbers_in(json.loads(line), found)
    return found


def prose(markdown: str) -> str:
    """The document's text without code spans (identifiers: run names, keys) and figure links."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", markdown)
    return re.sub(r"`[^`]*`", " ", text)


def test_writeup_states_only_numbers_from_the_runs(wd_sweep, tmp_path, capsys):
    sweep = wd_sweep
    doc = tmp_path / "writeup.md"
    assert main(["writeup", str(sweep), "--out", str(doc)]) == 0
    text = doc.read_text()
    for heading in ("## Abstract", "## Methods", "## Results", "## Observations",
                    "## Interpretation (left to the author)"):
        assert heading in text
    record = json.loads((sweep / "sweep.json").read_text())
    runs = [Path(m["run_dir"]) for m in record["members"]]
    known = run_file_numbers(runs)
    tokens = NUMBER.findall(prose(text))
    assert len(tokens) > 30  # the document does state the runs' figures
    for token in tokens:
        x = float(token.replace(",", ""))
        assert any(x == v or abs(x - v) <= 5e-4 * abs(v) for v in known), f"{token} is not in the runs' files"
    for run in runs:  # per-run figures from summary.json: the detector's steps and the parameter count
        summary = json.loads((run / "summary.json").read_text())
        assert f"{summary['parameters']:,}" in text
        assert f"`{run.name}`" in text
    assert "`optim.weight_decay`" in text and (tmp_path / "writeup_figures").is_dir()
    html = doc.with_suffix(".html").read_text()
    assert html.count("data:image/png;base64,") == len(list((tmp_path / "writeup_figures").iterdir()))
    assert "<script" not in html


def synthetic_run(root: Path, name: str, total: int, spike: int | None, status: str = "completed",
                  error: str | None = None) -> Path:
    """A run folder by hand: accuracies that rise, and optionally a 1e4x train-loss spike with a 30% norm jump."""
    run = root / name
    run.mkdir()
    rows = []
    for step in range(0, total + 1, 100):
        spiking = spike is not None and spike <= step < spike + 200
        rows.append({"step": step, "train/loss": (1e-4 if step > 500 else 1.0) * (1e4 if spiking else 1.0),
                     "val/loss": 0.5, "train/acc": min(1.0, step / 500), "val/acc": min(1.0, step / 4000),
                     "params/norm": 10.0 * (1.3 if spike is not None and step >= spike else 1.0)})
    (run / "config.json").write_text(json.dumps({"name": name, "seed": 0, "task": {"name": "modular", "p": 97},
                                                 "train": {"steps": total}}))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "summary.json").write_text(json.dumps({"status": status, "steps": total, "total_steps": 2 * total,
                                                  "error": error, "kind": "classification"}))
    return run


def test_writeup_observations_on_a_spiky_unfinished_run(tmp_path):
    spiky = synthetic_run(tmp_path, "spiky", 10_000, spike=8_000)
    crashed = synthetic_run(tmp_path, "crashed", 2_000, None, status="failed", error="RuntimeError: out of <b>memory")
    assert main(["detect", str(spiky), str(crashed)]) == 0  # stored in summary.json, as after training
    doc = tmp_path / "w.md"
    assert main(["writeup", str(spiky), str(crashed), "--out", str(doc)]) == 0
    text = doc.read_text()
    assert "at step 8,000 the train loss rose from 0.0001 to 1" in text and "moved with it" in text
    assert "`crashed` did not finish: status `failed` after 2,000 of 4,000 steps" in text
    assert "never met" in text or "never held" in text
    html = doc.with_suffix(".html").read_text()
    assert "&lt;b&gt;memory" in html and "<b>memory" not in html


def test_writeup_bad_input_is_one_line(tmp_path, capsys):
    assert main(["writeup", str(tmp_path / "missing"), "--out", str(tmp_path / "w.md")]) == 2
    assert main(["writeup", str(tmp_path), "--out", str(tmp_path / "w.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("groklab: error: ") for line in err)
    assert not list(tmp_path.iterdir())
