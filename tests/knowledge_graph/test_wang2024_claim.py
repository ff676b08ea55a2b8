"""Wang et al. 2024's composition claims at CI scale, through the preset's check on its CI arms
(groklab/presets/wang2024.py: phi 12.6 and 9), as `groklab suite` runs them (issue 14). The comparison claim (OOD
queries generalize) at its CPU scale: `partial` (the grokking delay and the 0.9 level are asserted on graphs of the
paper's size only).

The engine evaluates and logs every `TaskData.evals` split as `<split>/loss` and `<split>/acc`.
"""

import pytest


@pytest.mark.slow
def test_wang2024_composition_groks_in_distribution_only_and_phi_speeds_it(claim):
    """OOD composition stays at chance and a larger phi generalises sooner; but at this scale test_inferred_iid is
    already 0.3-0.4 when the training facts are fitted and reaches 0.95 ~2x later, so the shared delay (near chance
    at the fit, >= 5x later) fails: `not reproduced` (docs/presets.md)."""
    entry = claim("wang2024")
    assert entry.check.status == "not reproduced"
    failed = entry.check.detail.removeprefix("failed: ").split("; ")
    assert len(failed) == 1 and "needs <= 0.12" in failed[0], failed
    high = entry.runs["phi_high"]
    assert high.config["task"]["phi"] == 12.6 and entry.runs["phi_low"].config["task"]["phi"] == 9
    assert high.history["val/acc"] == high.history["test_inferred_iid/acc"]  # `val` is test_inferred_iid
    f = entry.check.figures
    assert 0.12 < f["val_at_memorization"] <= 0.5 and f["final_val"] >= 0.9 and f["outcome"] == "not low"
    assert f["ood_mean"] <= 0.1  # chance is 1/|E| = 0.02: OOD composition never groks
    assert f["val90_phi_low"] is None or f["val90_phi_low"] > f["val90_phi_high"]  # a larger phi groks sooner


@pytest.mark.slow
def test_wang2024_comparison_generalizes_ood_where_composition_does_not(claim):
    entry = claim("wang2024_comparison")
    check = entry.check
    assert check.status == "partial", check.detail  # CPU scale: the delay and OOD >= 0.9 are not asserted
    high = entry.runs["phi_high"]
    assert high.config["task"]["padding"] == "right" and high.config["model"]["init"] == "gpt2"
    f = check.figures
    assert not f["paper_sized"] and f["ood_held_step"] is not None  # OOD comparison held >= chance + 0.25 = 0.725
    assert f["ood_final"] >= 0.8 and f["composition_ood_mean"] <= 0.1  # composition at chance (1/50) at the recipe
    assert f["composition_ood_atomic_final"] >= 0.95  # although it knows the OOD facts it would have to compose
    assert f["iid90_phi_low"] is None or f["iid90_phi_low"] > f["iid90_phi_high"]
