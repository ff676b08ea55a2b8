import os

import pytest
import torch

import groklab

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


# Nanda's 1-layer transformer on (a + b) mod 53 with 40% of the pairs: papers.md §03 notes that p = 53 needs
# weight decay ~5 to grok; with it, train accuracy passes 99% near step 130 and validation near step 900.
NANDA_GROKS = {
    "task.p": 53, "task.train_frac": 0.4, "optim.weight_decay": 5.0, "train.steps": 1300, "train.eval_every": 50,
    "train.checkpoint_every": 500, "train.log_checkpoints": 25, "train.device": "cpu",
}


@pytest.fixture(scope="session")
def nanda_grokked(tmp_path_factory):
    """One real run that groks (~1 min), shared by the end-to-end and progress-measure tests. Tests using it
    carry `xdist_group("nanda_run")` so that pytest-xdist (`--dist loadgroup`) trains it once."""
    return groklab.run("nanda2023", NANDA_GROKS, out=tmp_path_factory.mktemp("nanda"))
