"""The claim checks as data and pure functions: every preset declares its arms (or why not), its check runs on
any runs without crashing, and the checks' rules on hand-made histories (no training)."""

from pathlib import Path

import pytest

from groklab.config import RunConfig, validate
from groklab.errors import ConfigError
from groklab.presets import detector_for, get, registry
from groklab.presets.base import SCALES, Check, Study, conclude
from groklab.presets.minegishi2023 import RUNS as TICKET_ARMS
from groklab.runs import Run
from groklab.suite.page import citation


def fake_run(cfg: RunConfig, rows: list[dict], status: str = "completed") -> Run:
    keys = {k for r in rows for k in r} | {"step"}
    history = {k: [r.get(k) for r in rows] for k in ["step", *sorted(keys - {"step"})]}
    summary = {"status": status, "steps": rows[-1]["step"] if rows else 0, "total_steps": cfg.train.steps,
               "final": rows[-1] if rows else None}
    return Run(Path("/nonexistent") / cfg.run_name, cfg.to_dict(), summary, history, cfg.run_name)


def curve(steps, train_at, val_at):
    """Accuracy 1.0 from the given steps on (0 before), None: never."""
    return [{"step": s, "train/acc": float(train_at is not None and s >= train_at),
             "val/acc": float(val_at is not None and s >= val_at)} for s in steps]


@pytest.mark.parametrize("name", list(registry()))
def test_every_preset_declares_its_claim(name):
    preset = get(name)
    if preset.check is None:  # explicitly not checked: the note says why, at every scale
        assert all(preset.note.get(scale) for scale in SCALES), f"{name} has no check and no note saying why"
        assert not preset.arms, f"{name} declares arms that nothing checks"
        return
    for scale in SCALES:
        configs = preset.configs(scale)
        assert configs or preset.note.get(scale), f"{name}: no arms at --scale {scale} and no note saying why"
        assert len({a.name for a in preset.arms.get(scale, ())}) == len(configs)
        for cfg in configs.values():
            if "PATH/TO" not in str(cfg.to_dict()):  # paper scale names the user's data folder
                validate(cfg)
        if preset.study is not None and configs:
            assert preset.study.arm in configs
    preset.detector()  # the detector settings parse


@pytest.mark.parametrize("name", [n for n, p in registry().items() if p.check is not None])
def test_every_check_survives_empty_runs(name):
    """A check on runs with no evaluations says `not passed` (or names what is missing), never crashes."""
    preset = get(name)
    scale = "ci" if preset.configs("ci") else "paper"
    configs = preset.configs(scale)
    arms = TICKET_ARMS if preset.study is not None and preset.study.kind == "tickets" else list(configs)
    cfg = next(iter(configs.values()))
    runs = {arm: fake_run(cfg, [{"step": 0}]) for arm in arms}
    result = preset.check(runs, {})
    assert isinstance(result, Check) and not result.passed and result.claim and result.detail


def test_grokfast_presets_share_one_baseline_run():
    """Table 3 compares both filters with one run without the filter: the same config, so the suite trains it
    once."""
    ema, ma = get("grokfast2024").configs("ci"), get("grokfast2024_ma").configs("ci")
    assert ema["no_filter"] == ma["no_filter"] and ema["no_filter"].run_name == ma["no_filter"].run_name


def test_conclude_lists_failed_conditions():
    ok = conclude("c", [(True, "a holds"), (True, "b holds")], {"x": 1})
    assert ok.passed and ok.detail == "a holds; b holds"
    bad = conclude("c", [(True, "a holds"), (False, "b fails")], {})
    assert not bad.passed and bad.detail == "failed: b fails"


def test_scales_and_studies_are_checked():
    with pytest.raises(ConfigError, match="--scale 'huge'"):
        get("power2022").configs("huge")
    with pytest.raises(ConfigError, match="study 'lottery'"):
        Study("lottery", "dense")


def test_detector_settings_follow_the_preset():
    assert detector_for(get("omnigrok2022").config).phase_level == 0.8
    assert detector_for(get("thilak2022").config).norm_window == 25
    assert detector_for(get("power2022").config) is None
    assert detector_for(RunConfig(name="my_own_run")) is None


def test_citations_of_every_preset():
    for preset in registry().values():
        c = citation(preset.paper)
        assert c["authors"], preset.name
        if "arXiv" in preset.paper:
            assert c["year"] and c["arxiv"], (preset.name, c)
    assert citation(get("power2022").paper) == {"authors": "Power et al.", "year": "2022", "arxiv": "2201.02177"}


def test_levi_check_rule():
    cfg = get("levi2023").configs("ci")["lam05_wd0"]
    steps = list(range(0, 301, 5))
    rows = [{"step": s, "train/acc": 1.0, "val/acc": float(s >= 100), "val/loss": 1.0 / (1 + s)} for s in steps]
    run = fake_run(cfg, rows)
    run.summary["prediction"] = {"predicted_grokking_step": 97}
    check = get("levi2023").check
    result = check({"lam05_wd0": run})
    assert not result.passed and "arms at lambda >= 0.85 with a predicted grokking step: none" in result.detail
    assert result.detail.count(";") == 0  # the measured step agrees with the prediction: the only failure
    assert result.figures["lam05_wd0"] == {"lambda": 0.5, "measured": 100, "predicted": 97, "best_val": 1.0}
    run.summary["prediction"] = {"predicted_grokking_step": 150}
    assert "lam05_wd0: val acc 0.95 at step 100, predicted 150" in check({"lam05_wd0": run}).detail


def test_a_check_sees_the_runs_baseline():
    """mheight_grokking's claim (grokking at wd 0.01 and 0.03) on the users' artefact: the validation loss drops
    late, but only to the per-group mean's level. With summary.json's baseline the check must not pass."""
    preset = get("mheight_grokking")
    configs = preset.configs("paper")
    steps = range(0, 10_001, 100)
    rows = [{"step": s, "train/loss": 20.0 if s < 1000 else 0.05, "val/loss": 20.0 if s < 5000 else 1.36}
            for s in steps]
    runs = {arm: fake_run(cfg, rows) for arm, cfg in configs.items()}
    runs["wd0.1"] = fake_run(configs["wd0.1"], [{**r, "val/loss": 20.0} for r in rows])
    assert preset.check(runs, {}).passed  # without a baseline: a late drop is grokking
    for run in runs.values():
        run.summary["baseline"] = {"kind": "group mean", "groups": 21, "train/loss": 1.33, "val/loss": 1.35}
    result = preset.check(runs, {})
    assert not result.passed and "wd 0.01: baseline" in result.detail
