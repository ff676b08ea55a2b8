"""Small finished runs of several tasks, and fresh data for them, shared by the evaluate and predict tests."""

import shutil
from pathlib import Path

import pytest
import torch

import groklab
from groklab.mheight import GenerateSpec, generate_dataset

GROUPS = ((9, 4, 2), (9, 4, 5), (10, 5, 3))  # two groups with m < n-k, one with m = n-k
MHEIGHT = {"task.groups": "9,4,2;9,4,5;10,5,3", "task.per_group": 50, "task.val_per_group": 20,
           "model.d_model": 16, "model.d_mlp": 16, "model.n_layers": 1, "train.batch_size": "64", "train.steps": 40,
           "train.eval_every": 20, "train.checkpoint_every": 40, "train.log_checkpoints": 3, "train.device": "cpu",
           "train.keep_best": "val/loss"}


@pytest.fixture(scope="module", autouse=True)
def isolated(tmp_path_factory):
    """For a whole module (its runs are module fixtures): one torch thread, as two cores are shared, and a private
    cache, so that generated data sets and features never go to ~/.cache."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    patch = pytest.MonkeyPatch()
    patch.setenv("GROKLAB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    yield
    patch.undo()
    torch.set_num_threads(threads)


def data_file(folder: Path, name: str, groups=GROUPS, per_group: int = 80, seed: int = 1) -> Path:
    path = folder / name
    generate_dataset(path, GenerateSpec(groups=groups, per_group=per_group, seed=seed), progress=False)
    return path


@pytest.fixture(scope="module")
def mheight_data(tmp_path_factory, isolated):
    """The training file (seed 1) and a fresh one drawn with another seed."""
    folder = tmp_path_factory.mktemp("mheight_data")
    return data_file(folder, "train.npz"), data_file(folder, "fresh.npz", per_group=40, seed=7)


@pytest.fixture(scope="module")
def mheight_run(tmp_path_factory, mheight_data, isolated):
    """The `mheight` recipe (sorted minors and Cramer ratios, per-group heads) trained for 40 steps."""
    out = tmp_path_factory.mktemp("runs")
    return groklab.run("mheight", {**MHEIGHT, "task.data": str(mheight_data[0])}, out=out)


@pytest.fixture(scope="module")
def modular_run(tmp_path_factory):
    overrides = {"task.op": "x+y", "task.p": "7", "model.d_model": "16", "model.n_heads": "2", "model.d_mlp": "32",
                 "train.steps": "30", "train.eval_every": "10", "train.checkpoint_every": "10",
                 "train.log_checkpoints": "4", "train.device": "cpu"}
    return groklab.run("power2022", overrides, out=tmp_path_factory.mktemp("runs"))


@pytest.fixture
def copy_of(tmp_path):
    """A private copy of a run folder, for tests that damage or change it."""
    def make(run: Path) -> Path:
        return Path(shutil.copytree(run, tmp_path / run.name))
    return make
