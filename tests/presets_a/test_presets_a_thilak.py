"""Thilak et al. 2022 (Slingshot) at CI scale: a training-loss spike from ~1e-8 with a jump of the last-layer
weight norm, found by groklab.analysis.detect on a history logged at every step, through the preset's check
(groklab/presets/thilak2022.py).

Measured (seed 0): the norm creeps 16.4 -> 16.7 over steps 100-1300, grows 16.8 -> 24.4 over steps 1500-1817,
the loss jumps from 6e-8 to 17 at step 1817-1818, and the norm then plateaus at 24.15."""

import pytest


@pytest.mark.slow
def test_slingshot_spike_with_last_layer_norm_jump(claim):
    entry = claim("thilak2022")
    cfg = entry.runs["run"].config
    assert cfg["optim"]["name"] == "adam" and cfg["optim"]["weight_decay"] == 0 and cfg["train"]["eval_every"] == 1
    assert entry.check.passed, entry.check.detail
    f = entry.check.figures
    assert f["baseline_loss"] <= 1e-6 and f["peak_loss"] >= 1e3 * f["baseline_loss"]
    assert f["norm_growth_before"] <= 0.02 and f["norm_growth_into"] >= 0.1 and abs(f["norm_growth_after"]) <= 0.01
    stored = entry.runs["run"].summary["detection"]
    assert stored["config"]["norm_window"] == 25  # the stored verdict uses the preset's detector settings
