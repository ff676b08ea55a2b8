"""Labels in reports and legends name what distinguishes runs, not every key in which two presets' configs differ."""

from groklab.analysis.compare import run_labels
from groklab.analysis.report import write_report
from groklab.config import RunConfig, apply_overrides
from groklab.presets import get


def config(preset: str, **overrides: str) -> dict:
    return apply_overrides(get(preset).config, overrides).to_dict()


def test_runs_of_several_presets_are_labelled_by_preset_and_their_own_differences():
    configs = [config("power2022", **{"optim.weight_decay": "0.3"}), config("power2022"),
               config("thilak2022"), config("nanda2023", **{"train.steps": "100"})]
    labels = run_labels(configs, ["a", "b", "c", "d"])
    assert labels == ["power2022: weight_decay=0.3", "power2022: weight_decay=1", "thilak2022", "nanda2023"]
    few = [RunConfig(name="x").to_dict(), apply_overrides(RunConfig(name="y"), {"optim.lr": "0.01"}).to_dict()]
    assert run_labels(few, ["a", "b"]) == ["lr=0.001", "lr=0.01"]  # a few differing keys: listed as before


def test_report_seed_groups_and_counts_read_well(tmp_path, synth):
    hist = synth.history(synth.step_curve(500), synth.step_curve(5000), total=6000)
    for seed in (0, 1):
        synth.write_run(tmp_path / "runs", f"p{seed}", hist, config("power2022", seed=str(seed)))
    synth.write_run(tmp_path / "runs", "t0", hist, config("thilak2022"))
    html, md = write_report(tmp_path / "runs", figures=False)
    text = md.read_text()
    groups = text.split("## Seed groups")[1].split("## Definitions")[0]
    rows = [line for line in groups.splitlines() if line.startswith("| ") and not line.startswith("| group")]
    assert [r.split(" | ")[0][2:] for r in rows] == ["power2022", "thilak2022"]
    assert "3 runs." in text
    one = tmp_path / "one"
    synth.write_run(one, "only", hist, config("power2022"))
    html, md = write_report(one, figures=False)
    assert "1 run." in md.read_text() and "1 runs" not in md.read_text() and "1 run ·" in html.read_text()
