"""CI-scale claims of Power et al. 2022 (delayed generalization) and Grokfast (Lee et al. 2024, Table 3), through
the presets' checks on their CI arms (groklab/presets/power2022.py CI, grokfast2024.py CI and NO_FILTER)."""

import pytest


@pytest.mark.slow
def test_power2022_default_run_is_timed_by_the_shared_delay(claim):
    """The CI arm is the default run (x/y mod 97, 50% of the pairs, the 2-layer d128 transformer, AdamW wd 1) for
    6,000 steps. Measured (seed 0): train acc 0.99 held from step 1,000 with val acc 0.025 there, val acc 0.99 held
    from 3,400: 3.4x, short of the rule's 5x, so the check says `not reproduced` with these figures."""
    entry = claim("power2022")
    run = entry.runs["run"]
    assert (run.config["task"]["op"], run.config["task"]["p"], run.config["model"]["n_layers"]) == ("x/y", 97, 2)
    assert entry.check.status == "not reproduced", entry.check.detail
    f = entry.check.figures
    assert f["outcome"] == "too soon" and f["val_at_fit"] <= 0.05 and 2.5 <= f["delay_ratio"] < 5, f


@pytest.mark.slow
def test_power2022_fig1_shows_the_memorisation_half_and_says_partial(claim):
    """Fig. 1's CI arm (x/y mod 41, 1 layer d64, full-batch Adam without weight decay, 4,000 steps): train acc
    0.99 is held before step 1,000 while val acc stays within 0.1 of chance through >= 5x that step; the rise
    ~1e3x later is beyond the budget, so the check says `partial` and names it."""
    entry = claim("power2022_fig1")
    assert entry.check.status == "partial", entry.check.detail
    assert entry.check.not_asserted[0].startswith("val acc near 1 only ~1e3x after the fit")
    f = entry.check.figures
    assert f["train99"] < 1000 and f["val99"] is None and f["max_val_acc"] <= 1 / 41 + 0.1, f


@pytest.mark.slow
def test_grokfast_ema_reaches_val95_while_the_baseline_does_not(claim):
    """The paper's recipe (x*y mod 97, Adam + coupled L2 wd 0.005, EMA alpha 0.98, lambda 2) with the decoder cut
    to one layer (a third of the cost): with the filter val acc passes 0.95 at step ~1,000 (paper 910 with two
    layers); without it val acc is ~0.05 after 3,000 steps (0.20 after 6,000), so the speed-up has no measured
    ratio at this scale and the check says `partial`, naming it (the paper's baseline needs 39,890 steps)."""
    entry = claim("grokfast2024")
    assert entry.check.status == "partial", entry.check.detail
    assert entry.check.not_asserted[0].startswith("the speed-up: without the filter val acc is at most")
    f = entry.check.figures
    assert f["filter_val95"] is not None and f["filter_val95"] <= 1200 and f["no_filter_val95"] is None
    assert f["no_filter_best_val"] < 0.2 and f["speedup"] is None
    assert entry.runs["no_filter"].config["optim"]["grokfast"] == "none"
