import os

import pytest
import torch

import groklab
from groklab.suite.runner import claim as suite_claim

# Under pytest-xdist each worker gets one thread, so two workers share two cores without oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def tiny_overrides() -> dict[str, str]:
    """A run that takes about a second: x+y mod 7 with a small model."""
    return {
        "task.op": "x+y", "task.p": "7", "model.d_model": "16", "model.n_heads": "2", "model.d_mlp": "32",
        "train.steps": "30", "train.eval_every": "10", "train.checkpoint_every": "10", "train.log_checkpoints": "4",
    }


def run_claim(name, out, arms=None):
    """A preset's claim at CI scale through the suite's own steps (groklab.suite.runner.claim: its arms trained
    into run folders, its study, its check), with one torch thread: these nets are tiny, and two threads fight
    over two shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        entry = suite_claim(name, out, arms=arms)
    finally:
        torch.set_num_threads(threads)
    assert entry.error is None, entry.error
    assert entry.check is not None, f"{name}: its runs did not finish"
    return entry


@pytest.fixture
def claim(tmp_path):
    """`claim(preset, arms=None)` -> the suite's Entry: `.check` (passed, claim, figures, detail) and `.runs`."""
    return lambda name, arms=None: run_claim(name, tmp_path, arms)


@pytest.fixture(scope="session")
def nanda_grokked(tmp_path_factory):
    """The nanda2023 preset's CI arm (groklab/presets/nanda2023.py CI: (a + b) mod 53, 40% of the pairs, wd 5,
    1,300 steps; ~1 min), one real run that groks, shared by the end-to-end and progress-measure tests. Tests
    using it carry `xdist_group("nanda_run")` so that pytest-xdist (`--dist loadgroup`) trains it once."""
    from groklab.presets.nanda2023 import CI

    return groklab.run("nanda2023", CI, out=tmp_path_factory.mktemp("nanda"))
