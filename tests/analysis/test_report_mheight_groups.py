"""The report's per-group table of an m-height run: every group's final validation log2-MSE beside its group-mean
baseline and the published figure, then the means over all 21 groups and over the 15 with m < n-k."""

from __future__ import annotations

import json

from groklab.analysis.report import write_report
from groklab.analysis.tables import group_table
from groklab.mheight.groups import COURSE_GROUPS
from groklab.runs import load_run


def mheight_folder(root):
    """A finished 21-group run: m = n-k groups at 0.01 (the pass-through), the others at 0.1 + m / 100."""
    final = {f"val/mse/{n},{k},{m}": 0.01 if m == n - k else 0.1 + m / 100 for n, k, m in COURSE_GROUPS}
    rows = [{"step": 0, "train/loss": 1.4, "val/loss": 1.4, **{k: 1.0 for k in final}},
            {"step": 100, "train/loss": 0.1, "val/loss": 0.15, **final}]
    base = {",".join(map(str, g)): 3.0 if g[2] == g[0] - g[1] else 0.5 for g in COURSE_GROUPS}
    run = root / "mheight"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"name": "mheight", "task": {"name": "mheight"}}))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "summary.json").write_text(json.dumps({
        "status": "completed", "steps": 100, "kind": "regression", "final": rows[-1],
        "baseline": {"kind": "group mean", "groups": 21, "train/loss": 1.3, "val/loss": 1.21,
                     "val/loss per group": base}}))
    return run, final


def test_group_table_gives_both_means_with_their_published_figures(tmp_path):
    run, final = mheight_folder(tmp_path / "runs")
    rows = {r["group"]: r for r in group_table(load_run(run))}
    assert len(rows) == 23 and rows["9,4,5"]["published best"] == "2.03" and rows["9,4,2"]["published best"] == "—"
    assert rows["9,4,5"]["final val"] == "0.01" and rows["9,4,5"]["group-mean baseline"] == "3"
    learnt = [v for k, v in final.items() if (lambda n, k, m: m < n - k)(*map(int, k[8:].split(",")))]
    assert rows["mean over m<n-k (15)"]["final val"] == f"{sum(learnt) / 15:.3g}"
    assert rows["mean over m<n-k (15)"]["group-mean baseline"] == "0.5"
    assert rows["mean over m<n-k (15)"]["published best"] == "≈0.32 (derived)"
    assert rows["mean over all (21)"]["final val"] == f"{sum(final.values()) / 21:.3g}"
    assert rows["mean over all (21)"]["published best"] == "0.88 (MoE)"


def test_report_shows_the_table(tmp_path):
    mheight_folder(tmp_path / "runs")
    html, md = write_report(tmp_path / "runs", figures=False)
    text = md.read_text()
    assert "## Per group: mheight" in text and "| mean over m&lt;n-k (15) |" in text  # HTML-escaped cell
    assert "Validation per group:" in html.read_text() and "≈0.32 (derived)" in html.read_text()


def test_other_runs_have_no_group_table(tmp_path):
    run, _ = mheight_folder(tmp_path / "runs")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    plain = [{k: v for k, v in json.loads(line).items() if "/mse/" not in k} for line in lines]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in plain))
    assert group_table(load_run(run)) == []
