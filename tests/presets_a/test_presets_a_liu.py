"""Liu et al. 2022 toy at CI scale: RQI rises with test accuracy, and the decoder lr x wd phase diagram, through
the preset's check (groklab/presets/liu2022.py) on its CI arms, one arm per test."""

import pytest

from groklab.presets.liu2022 import PHASE_CELLS


@pytest.mark.slow
def test_rqi_rises_as_test_accuracy_rises(claim):
    """Fig. 3/4: the representation becomes a parallelogram-closing (linear) one as the model generalises
    (measured: RQI 0.9 at step 700, test accuracy 0.9 at step 2,450; both end at 1.0)."""
    entry = claim("liu2022_toy", arms=["rqi"])
    assert entry.check.passed, entry.check.detail
    f = entry.check.figures
    assert f["rqi_start"] <= 0.5 and f["rqi_end"] >= 0.95 and f["spearman"] >= 0.6 and f["rqi90"] <= f["acc90"]
    cfg = entry.runs["rqi"].config
    assert (cfg["optim"]["lr"], cfg["optim"]["weight_decay"], cfg["train"]["steps"]) == (1e-4, 0.0, 3000)


@pytest.mark.slow
@pytest.mark.parametrize("phase", [phase for *_, phase in PHASE_CELLS])
def test_phase_diagram_corner(claim, phase):
    """Fig. 6a at tiny scale: each corner of the decoder lr x wd plane lands in its phase."""
    entry = claim("liu2022_toy", arms=[phase])
    assert entry.check.passed, entry.check.detail
    assert entry.check.figures[f"{phase}_verdict"] == phase
