"""task.features: sorted log2 |minors| of P of every size as inputs (issue 17 §2), and the group_heads model."""

import itertools

import numpy as np
import pytest
import torch

import groklab
from groklab.errors import ConfigError, GroklabError
from groklab.mheight import load_dataset
from groklab.mheight.features import FILL, sorted_log_minors, sorted_log_ratios
from groklab.models import build_model
from groklab.models.heads import GroupHeadsConfig
from groklab.tasks import build_task
from groklab.tasks.mheight import MheightConfig, sampled_log2_bound, symmetries
from groklab.tasks.modular import ModularConfig

GROUPS = "9,4,2;9,4,5;10,5,3"  # as in conftest.py


def cfg(path, **kw) -> MheightConfig:
    return MheightConfig(**({"data": str(path), "groups": GROUPS, "per_group": 50, "val_per_group": 20} | kw))


def _by_det(P: np.ndarray) -> list[np.ndarray]:
    """log2 |minors| of P of each size, sorted descending, with numpy's det (an independent computation)."""
    k, r = P.shape
    return [np.sort([np.log2(abs(np.linalg.det(P[np.ix_(R, F)])))
                     for R in itertools.combinations(range(k), s) for F in itertools.combinations(range(r), s)])[::-1]
            for s in range(1, min(k, r) + 1)]


def test_minor_features_are_the_sorted_minors(small_file):
    task = build_task(cfg(small_file, features="minors"))
    lay = {k: slice(*v) for k, v in task.meta["layout"].items()}
    assert "P" not in lay and lay["minors"] == slice(0, 251)  # (9,4) and (10,5): 25 + 100 + 100 + 25 + 1 slots
    assert task.in_dim == 251 + 12 + 6 + 11 == task.x_train.shape[1]
    feats, pair = task.x_train[:, lay["minors"]], task.x_train[:, lay["n"]].argmax(1)
    for n in (9, 10):  # standardised with the training rows of each (n, k): (9, 4) and (10, 5) here
        assert feats[pair == n - 1].mean(0).abs().max() < 1e-3
        std = feats[pair == n - 1].std(0, correction=0)
        assert torch.all(((std - 1).abs() < 1e-3) | (std < 1e-3))  # a padded slot stays constant
        assert (std > 0.5).sum() == (25 + 100 + 100 + 25 + 1 if n == 10 else 20 + 60 + 40 + 5)  # its minors
    table = load_dataset(small_file)
    for i in (0, 25, 45):  # a row of each group: undo the standardisation and compare with numpy's det
        n, k = (int(task.x_val[i, lay[c]].argmax()) + 1 for c in "nk")
        scaling = task.fitted["minors_scaling"][f"{n},{k}"]
        val = task.x_val[i, lay["minors"]].double().numpy() * scaling["std"] + np.array(scaling["mean"])
        match = [j for j in np.flatnonzero((table["n"] == n) & (table["k"] == k))
                 if np.log2(table["height"][j]) == pytest.approx(task.y_val[i].item(), abs=1e-5)]
        P = table["P"][match[0], :k, :n - k] / task.meta["scale"]
        start = 0
        for s, want in enumerate(_by_det(P), start=1):
            width = (25, 100, 100, 25, 1)[s - 1]
            assert np.allclose(val[start:start + len(want)], want, atol=1e-4)
            assert np.allclose(val[start + len(want):start + width], FILL, atol=1e-3)
            start += width


@pytest.mark.parametrize("kind", ["minors", "ratios"])
def test_features_are_invariant_under_the_symmetries_of_P(small_file, kind):
    table = load_dataset(small_file)
    rows = np.arange(0, 240, 7)
    P, n, k = table["P"][rows], table["n"][rows], table["k"][rows]
    images = symmetries(P, n, k, 3, seed=1)
    n4, k4 = np.tile(n, 4), np.tile(k, 4)
    feats = sorted_log_minors(images, n4, k4, 100.0) if kind == "minors" else sorted_log_ratios(images, n4, k4)
    for c in range(1, 4):
        assert not np.allclose(images[c * len(rows):(c + 1) * len(rows)], P)
        assert np.allclose(feats[c * len(rows):(c + 1) * len(rows)], feats[:len(rows)], atol=1e-5)


def test_the_largest_ratio_is_the_hard_groups_height(small_file):
    """mheight.md §2.3: h_{n-k} = max over bases I and i outside of ||G_I^-1 g_i||_1; below it for m < n-k."""
    table = load_dataset(small_file)
    ratios = sorted_log_ratios(table["P"], table["n"], table["k"])
    assert np.all(np.diff(ratios[:, :16], axis=1) <= 0)  # the 16 largest, descending
    hard = table["m"] == table["n"] - table["k"]
    assert hard.any() and (~hard).any()
    assert np.allclose(ratios[hard, 0], np.log2(table["height"][hard]), atol=1e-5)
    assert np.all(ratios[~hard, 0] >= np.log2(table["height"][~hard]) - 1e-5)


def test_raw_plus_minors_and_augmentation(small_file):
    task = build_task(cfg(small_file, features="raw+minors", augment=2))
    lay = {k: slice(*v) for k, v in task.meta["layout"].items()}
    assert lay["P"] == slice(0, 36) and lay["minors"] == slice(36, 287) and task.in_dim == 287 + 29
    x = task.x_train
    assert torch.equal(x[150:, lay["minors"]], x[:150, lay["minors"]].repeat(2, 1))  # copies share the features
    assert not torch.equal(x[150:300, lay["P"]], x[:150, lay["P"]])  # ... but not P
    plain = build_task(cfg(small_file, features="raw"))
    assert torch.equal(plain.x_val, torch.cat([task.x_val[:, lay["P"]], task.x_val[:, 287:]], 1))


def test_features_are_cached_with_the_data_set(small_file, monkeypatch):
    import groklab.mheight.features as features

    first = build_task(cfg(small_file, features="minors"))

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(features, "sorted_log_minors", boom)
    again = build_task(cfg(small_file, features="minors"))
    assert torch.equal(first.x_train, again.x_train)


@pytest.mark.parametrize("bad", ["pixels", "minors+raw", "raw+raw", "", "raw+"])
def test_bad_features_value(small_file, bad):
    with pytest.raises(ConfigError) as err:
        build_task(cfg(small_file, features=bad))
    assert f"task.features={bad!r}" in str(err.value) and "\n" not in str(err.value)


def test_ratios_block_and_bound_without_P(small_file):
    task = build_task(cfg(small_file, features="minors+ratios"))
    lay = {k: slice(*v) for k, v in task.meta["layout"].items()}
    assert lay["minors"] == slice(0, 251) and lay["ratios"] == slice(251, 315) and task.in_dim == 315 + 29
    scaling = task.fitted["ratios_scaling"]
    assert set(scaling) == {"9,4", "10,5"} and len(scaling["9,4"]["std"]) == 64
    task = build_task(cfg(small_file, features="minors"))
    with pytest.raises(GroklabError, match=r"task\.features=raw or raw"):
        sampled_log2_bound(task.x_val, task.meta, 4)


def test_group_heads_start_at_the_group_means(small_file):
    task = build_task(cfg(small_file, features="minors"))
    net = build_model(GroupHeadsConfig(d_model=32, d_mlp=32, n_layers=2), task)
    groups = torch.as_tensor(task.meta["val_group"])
    with torch.no_grad():
        out = net(task.x_val)
    means = net.mean[groups]
    assert torch.allclose(out, torch.nn.functional.softplus(means)) and torch.equal(net.group(task.x_val), groups)
    other = task.x_val[:1].clone()  # a (9, 4) row turned into (9, 4, 3), a group the model was not built with
    m = slice(*task.meta["layout"]["m"])
    other[:, m] = 0
    other[:, m.start + 2] = 1
    assert int(task.x_val[0, slice(*task.meta["layout"]["n"])].argmax()) == 8 and net.group(other).item() == -1
    with pytest.raises(IndexError):
        net(other)
    with pytest.raises(ConfigError, match=r"needs task\.name=mheight"):
        build_model(GroupHeadsConfig(), build_task(ModularConfig(op="x+y", p=7)))


def test_run_with_minor_features(tmp_path, small_file):
    """The option end to end through groklab.run: tiny data, few steps, the loss goes down."""
    overrides = {"task.data": str(small_file), "task.groups": GROUPS, "task.per_group": 60, "task.val_per_group": 20,
                 "task.features": "minors", "model.name": "group_heads", "model.d_model": 32, "model.d_mlp": 32,
                 "model.n_layers": 2, "train.batch_size": "64", "train.steps": 60, "train.eval_every": 20,
                 "train.checkpoint_every": 60, "train.device": "cpu", "optim.lr": 3e-3}
    run = groklab.load_run(groklab.run("mheight", overrides, out=tmp_path))
    assert run.summary["status"] == "completed" and run.config["task"]["features"] == "minors"
    assert run.history["train/loss"][-1] < run.history["train/loss"][0]


def test_the_run_records_stay_small(small_file):
    """env.json and summary.json record the task's compact metadata, not its per-group feature scalings (hundreds of
    floats per (n, k)) or per-row lists: a few KB, not 100."""
    import json

    from groklab.runs import task_record

    task = build_task(cfg(small_file, features="minors+ratios"))
    assert len(json.dumps(task.fitted["minors_scaling"])) > 5_000  # the fitted state: fitted.json, not the record
    record = task_record(task)
    assert "minors_scaling" not in record and "train_group" not in record
    assert record["sizes"] == {"train": 150, "val": 60} and record["features"] == "minors+ratios"
    assert len(json.dumps(record, indent=2)) < 3_000
