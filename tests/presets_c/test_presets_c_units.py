"""The issue-14 presets (levi2023, wang2024, wang2024_comparison): registered, valid, and they run."""

import pytest

import groklab
from groklab.config import apply_overrides, validate
from groklab.presets import get, registry
from groklab.runs import load_run
from groklab.tasks import build_task

NAMES = ("levi2023", "wang2024", "wang2024_comparison")


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_registered_valid_and_scales(name):
    preset = get(name)
    assert registry()[name] is preset and preset.paper and preset.reproduces
    validate(preset.config)
    validate(apply_overrides(preset.config, dict(o.split("=", 1) for o in preset.paper_scale)))


@pytest.mark.parametrize("name", NAMES)
def test_preset_runs_a_few_steps(tmp_path, name):
    overrides = {"train.steps": 3, "train.eval_every": 1, "train.device": "cpu", "train.log_checkpoints": 0}
    run = load_run(groklab.run(name, overrides, out=tmp_path))
    assert run.summary["status"] == "completed" and run.history["step"][-1] == 3
    assert all(v is not None for v in run.history["val/loss"])


def test_paper_scale_graphs_hold_their_phi():
    """The paper-scale composition graph (|E| 2000, |R| 200, out-degree 20) has room for phi 18."""
    preset = get("wang2024")
    cfg = apply_overrides(preset.config, dict(o.split("=", 1) for o in preset.paper_scale))
    task = build_task(cfg.task)
    assert task.meta["n_atomic"] == 40_000 and task.meta["n_train_inferred"] == 18 * 38_000
