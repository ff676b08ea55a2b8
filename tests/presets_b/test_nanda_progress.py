"""Nanda et al. 2023 progress measures (Figures 5-7) on a CI-scale run, via `groklab probe fourier RUN_DIR`.

Nanda's 1-layer transformer on (a + b) mod 53, 40% of the pairs, wd 5 (conftest.nanda_grokked, shared with
test_e2e.py): train acc 0.99 near step 130, val near 900. Measured: key frequencies [9, 16, 24]; the excluded
loss bottoms out near step 220 and doubles by step 530, while the test loss falls below half its peak only at
step 715.
"""

import json

import pytest

from groklab.cli import main
from groklab.presets.nanda2023 import check
from groklab.runs import load_run

pytestmark = pytest.mark.xdist_group("nanda_run")  # shares the run of conftest.nanda_grokked


@pytest.fixture(scope="module")
def progress(nanda_grokked):
    path = nanda_grokked
    assert main(["probe", "fourier", str(path)]) == 0
    rows = [json.loads(line) for line in (path / "fourier.jsonl").read_text().splitlines()]
    return path, json.loads((path / "fourier.json").read_text()), rows


@pytest.mark.slow
def test_files_have_one_line_per_checkpoint(progress):
    path, record, rows = progress
    steps = sorted(int(p.stem.split("_")[1]) for p in (path / "checkpoints").glob("step_*.pt"))
    assert [r["step"] for r in rows] == steps and steps[0] == 0 and steps[-1] == 1300
    assert record["p"] == 53 and record["from_step"] == 1300
    assert {"fourier/gini_W_E", "fourier/gini_W_L", "params/sum_sq", "fourier/restricted_loss_train"} <= set(rows[-1])


@pytest.mark.slow
def test_a_handful_of_key_frequencies_carry_the_solution(progress):
    _, record, rows = progress
    assert 1 <= len(record["key_frequencies"]) <= 8, record
    final = rows[-1]
    assert final["fourier/restricted_loss_test"] <= final["fourier/test_loss"] + 0.05
    assert final["fourier/excluded_loss_train"] > 1.0 > 100 * final["fourier/train_loss"]
    # sparsity in the Fourier basis grows over training (Fig. 7)
    assert final["fourier/gini_W_E"] > 2 * rows[0]["fourier/gini_W_E"]
    assert final["fourier/gini_W_L"] > 2 * rows[0]["fourier/gini_W_L"]


@pytest.mark.slow
def test_excluded_loss_rises_before_test_loss_falls(progress):
    _, _, rows = progress
    excl = [r["fourier/excluded_loss_train"] for r in rows]
    test = [r["fourier/test_loss"] for r in rows]
    low, peak = excl.index(min(excl)), test.index(max(test))
    rise = next(i for i in range(low, len(rows)) if excl[i] >= 2 * excl[low])
    fall = next(i for i in range(peak, len(rows)) if test[i] <= test[peak] / 2)
    assert rows[rise]["step"] < rows[fall]["step"], (rows[rise]["step"], rows[fall]["step"])


@pytest.mark.slow
def test_the_preset_check_holds(progress):
    """The same claim as `groklab suite` checks (groklab/presets/nanda2023.py `check`): Fig. 2 and Figs. 5-7."""
    path, record, rows = progress
    result = check({"run": load_run(path)}, {"record": record, "rows": rows})
    assert result.status == "reproduced", result.detail
    assert result.figures["verdict"] == "grokking"
