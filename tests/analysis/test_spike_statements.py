"""What moved at a training-loss spike is decided once (analysis.spikes.what_moved): `groklab detect`, the report
and the write-up print the same statement for each spike."""

import math
import re

from groklab.cli import main

STEPS = list(range(0, 10_001, 100))


def spiky_history():
    """Weight decay's steady shrinkage of the norm (a constant factor per step) with two train-loss spikes: at step
    3,000 nothing else happens; at step 7,000 the norm also jumps by 20% and stays there."""
    rows = {"step": STEPS, "train/loss": [], "val/loss": [], "train/acc": [], "val/acc": [], "params/norm": [],
            "lr": []}
    for t in STEPS:
        spike = 3000 <= t < 3200 or 7000 <= t < 7200
        rows["train/loss"].append(1e-3 * (1e3 if spike else 1.0))
        rows["val/loss"].append(0.5)
        rows["train/acc"].append(min(1.0, t / 500))
        rows["val/acc"].append(min(1.0, t / 4000))
        rows["params/norm"].append(100 * math.exp(-t / 4000) * (1.2 if t >= 7000 else 1.0))
        rows["lr"].append(1e-3)
    return rows


def statements(text, pattern):
    """{spike step: statement} from lines matching `pattern` (groups: step, statement)."""
    return {int(m.group(1).replace(",", "")): m.group(2).strip() for m in re.finditer(pattern, text)}


def without_numbers(text):
    return re.sub(r"[-+]?\d[\d.,]*(e[-+]?\d+)?%?", "#", text)


def test_detect_report_and_writeup_say_the_same_about_each_spike(tmp_path, synth, capsys):
    run = synth.write_run(tmp_path / "runs", "wd1", spiky_history())
    assert main(["detect", str(run)]) == 0
    detected = statements(capsys.readouterr().out, r"spike at step ([\d,]+) \(x[^)]*\): (.*)")
    assert detected == {3000: "nothing logged moved", 7000: "norms: params/norm +20% off their course"}

    assert main(["report", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    reported = statements((tmp_path / "runs" / "report.md").read_text(), r"loss spike at step ([\d,]+): ([^;|]*)")
    assert reported == detected

    doc = tmp_path / "w.md"
    assert main(["writeup", str(run), "--out", str(doc)]) == 0
    text = doc.read_text()
    written = statements(text, r"at step ([\d,]+) the train loss rose.*? evaluations\): (.*?)\.\n")
    assert {k: without_numbers(v) for k, v in written.items()} == {k: without_numbers(v) for k, v in
                                                                   detected.items()}
    assert "`params/norm` did not move with it" in text and "`params/norm` moved with it" in text
    assert "norms: params/norm +0.2 off their course" in text  # the stored fraction, as the write-up states values
