"""The m-height regression task: shapes, encoding, balance, finite labels, validation coverage, determinism."""

import dataclasses
from collections import Counter

import numpy as np
import pytest
import torch

from groklab.errors import ConfigError
from groklab.mheight import load_dataset
from groklab.tasks import build_task
from groklab.tasks.mheight import MheightConfig, layout, sampled_log2_bound, violation_penalty

GROUPS = ((9, 4, 2), (9, 4, 5), (10, 5, 3))  # as in conftest.py


def cfg(path, **kw) -> MheightConfig:
    base = dict(data=str(path), groups="9,4,2;9,4,5;10,5,3", per_group=50, val_per_group=20)
    return MheightConfig(**(base | kw))


def test_shapes_and_kind(small_file):
    task = build_task(cfg(small_file))
    assert task.kind == "regression" and task.vocab_size is None and task.n_classes is None
    assert task.in_dim == 36 + 12 + 6 + 11 == task.x_train.shape[1] == task.x_val.shape[1]
    assert task.x_train.shape == (150, 65) and task.x_val.shape == (60, 65)
    assert task.y_train.shape == (150,) and task.x_train.dtype == task.y_train.dtype == torch.float32
    assert task.meta["groups"] == [list(g) for g in GROUPS] and len(task.meta["train_group"]) == 150


def test_encoding_round_trips(small_file):
    task, table = build_task(cfg(small_file)), load_dataset(small_file)
    lay = {k: slice(*v) for k, v in task.meta["layout"].items()}
    assert lay == layout(6, 6)
    x = task.x_val.double()
    n, k, m = (x[:, lay[c]].argmax(1) + 1 for c in "nkm")
    assert torch.all(x[:, lay["n"]].sum(1) == 1) and torch.all(x[:, lay["m"]].sum(1) == 1)
    P = x[:, lay["P"]].reshape(-1, 6, 6) * task.meta["scale"]
    for i in range(0, len(x), 7):  # each row is a real row of the file with its exact label
        j = np.flatnonzero(np.all(np.isclose(table["P"], P[i].numpy(), atol=1e-4), axis=(1, 2)))
        assert len(j) == 1 and (table["n"][j[0]], table["k"][j[0]], table["m"][j[0]]) == (n[i], k[i], m[i])
        assert task.y_val[i].item() == pytest.approx(np.log2(table["height"][j[0]]), rel=1e-6)


def test_balanced_and_validation_covers_every_group(small_file):
    task = build_task(cfg(small_file))
    assert Counter(task.meta["train_group"]) == {0: 50, 1: 50, 2: 50}
    assert Counter(task.meta["val_group"]) == {0: 20, 1: 20, 2: 20}
    train, val = {tuple(r) for r in task.x_train.tolist()}, {tuple(r) for r in task.x_val.tolist()}
    assert not train & val and len(train) == 150 and len(val) == 60


def test_finite_labels_only(integer_file):
    table = load_dataset(integer_file)
    assert table["is_inf"].sum() > 0  # the file does hold infinite heights
    task = build_task(cfg(integer_file, groups="9,4,5;9,4,2", per_group=100, val_per_group=20))
    assert torch.isfinite(task.y_train).all() and torch.isfinite(task.y_val).all()
    assert (task.y_train >= 0).all()
    assert task.meta["n_infinite_excluded"]["9,4,5"] == int(table["is_inf"][table["m"] == 5].sum()) > 0
    with pytest.raises(ConfigError, match="finite rows"):
        build_task(cfg(integer_file, groups="9,4,5", per_group=140, val_per_group=10))


def test_deterministic_and_seeded(small_file):
    a, b = build_task(cfg(small_file)), build_task(cfg(small_file))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    c = build_task(cfg(small_file, split_seed=1))
    assert not torch.equal(a.x_train, c.x_train)


def test_generates_into_the_cache_when_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKLAB_CACHE", str(tmp_path))
    config = MheightConfig(groups="9,4,2;10,6,4", per_group=6, val_per_group=4)
    task = build_task(config)
    files = list((tmp_path / "mheight").glob("*.npz"))
    assert len(files) == 1 and task.meta["source"] == str(files[0])
    assert Counter(task.meta["val_group"]) == {0: 4, 1: 4}
    stamp = files[0].stat().st_mtime_ns
    again = build_task(config)
    assert files[0].stat().st_mtime_ns == stamp and torch.equal(again.x_train, task.x_train)
    other = build_task(dataclasses.replace(config, per_group=7))  # another size is another file
    assert len(list((tmp_path / "mheight").glob("*.npz"))) == 2 and other.n_train == 14


def test_sampled_bound_is_a_lower_bound(small_file):
    task = build_task(cfg(small_file))
    torch.manual_seed(0)
    bound = sampled_log2_bound(task.x_val, task.meta, 20)
    assert (bound <= task.y_val + 1e-5).all() and (bound >= 0).all()
    assert (task.y_val - bound).mean() > 1.0  # loose, as mheight.md §6 says
    assert violation_penalty(task.y_val + 0.01, task.x_val, task.meta, 20).item() == 0.0
    assert violation_penalty(torch.zeros(len(task.y_val)), task.x_val, task.meta, 20).item() > 1.0


@pytest.mark.parametrize(
    "kw, needle",
    [
        (dict(per_group=0), "task.per_group must be >= 1"),
        (dict(val_per_group=0), "task.val_per_group must be >= 1"),
        (dict(groups="9,4,9"), "task.groups='9,4,9'"),
        (dict(groups="9,4,7"), "m > n-k, so h = inf"),
        (dict(groups="bogus"), "task.groups='bogus'"),
        (dict(data="/no/such/file.npz"), "task.data='/no/such/file.npz': no such file"),
        (dict(per_group=79), "group 9,4,2 has 80 finite rows"),
        (dict(groups="9,5,2"), "group 9,5,2 has 0 finite rows"),
    ],
)
def test_bad_task_values(small_file, kw, needle):
    with pytest.raises(ConfigError) as err:
        build_task(cfg(small_file, **kw))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_augmentation_keeps_labels_exact(small_file):
    from groklab.mheight import height

    task = build_task(cfg(small_file, augment=2))
    assert task.n_train == 450 and Counter(task.meta["train_group"]) == {0: 150, 1: 150, 2: 150}
    plain = build_task(cfg(small_file))
    assert torch.equal(task.x_train[:150], plain.x_train) and torch.equal(task.x_val, plain.x_val)
    lay = {k: slice(*v) for k, v in task.meta["layout"].items()}
    for i in (150, 200, 260, 333, 449):  # copies: other P, same exact height
        x = task.x_train[i].double()
        n, k, m = (int(x[lay[c]].argmax()) + 1 for c in "nkm")
        P = (x[lay["P"]].reshape(6, 6) * task.meta["scale"])[:k, : n - k].numpy()
        assert not torch.equal(task.x_train[i], task.x_train[i % 150])
        assert np.log2(height(P, m)) == pytest.approx(task.y_train[i].item(), abs=1e-4)
    with pytest.raises(ConfigError, match=r"task\.augment must be >= 0"):
        build_task(cfg(small_file, augment=-1))
