"""Data set generation: exact labels, determinism across workers, resuming, formats, sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.mheight import GenerateSpec, generate_dataset, heights, load_dataset, parse_groups, unpad
from groklab.mheight.generate import part_path

SPEC = GenerateSpec(groups=parse_groups("9,4,5;10,6,2;6,3,2"), per_group=45, dist="integer", seed=11,
                    chunk_size=20)


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_labels_are_exact_and_layout_is_padded(tmp_path: Path) -> None:
    meta = generate_dataset(tmp_path / "d.npz", SPEC, progress=False)
    data = load_dataset(tmp_path / "d.npz")
    assert len(data["n"]) == 135 and data["P"].shape == (135, 6, 6)
    for n, k, m in SPEC.groups:
        sel = (data["n"] == n) & (data["k"] == k) & (data["m"] == m)
        P = unpad(data["P"][sel], n, k)
        assert np.all(data["P"][sel][:, k:, :] == 0) and np.all(data["P"][sel][:, :, n - k:] == 0)
        assert np.all(np.abs(P) <= 100) and np.all(np.round(P) == P)
        assert np.array_equal(data["height"][sel], heights(P, m))
    assert np.array_equal(data["is_inf"], np.isinf(data["height"]))
    assert meta["n_infinite"]["9,4,5"] == int(data["is_inf"][data["n"] == 9].sum()) > 0
    side = json.loads((tmp_path / "d.npz.json").read_text())
    assert side["counts"] == {"9,4,5": 45, "10,6,2": 45, "6,3,2": 45}
    assert side["seed"] == 11 and side["dist"] == "integer" and side["range"] == 100.0
    assert side["method"] == "vertex" and "groklab_version" in side
    assert not (tmp_path / "d.npz.chunks").exists()


def test_deterministic_across_workers(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "one.npz", SPEC, workers=1, progress=False)
    generate_dataset(tmp_path / "two.npz", SPEC, workers=2, progress=False)
    _same(load_dataset(tmp_path / "one.npz"), load_dataset(tmp_path / "two.npz"))


def test_parquet_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    generate_dataset(tmp_path / "d.npz", SPEC, progress=False)
    generate_dataset(tmp_path / "d.parquet", SPEC, progress=False)
    _same(load_dataset(tmp_path / "d.npz"), load_dataset(tmp_path / "d.parquet"))


def test_uniform_real_entries(tmp_path: Path) -> None:
    spec = GenerateSpec(groups=((9, 5, 2),), per_group=10, dist="uniform", value_range=3.0, seed=1)
    generate_dataset(tmp_path / "u.npz", spec, progress=False)
    P = load_dataset(tmp_path / "u.npz")["P"][:, :5, :4]
    assert np.all(np.abs(P) <= 3) and np.any(np.round(P) != P)


def test_resume_after_interruption(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.npz"
    generate_dataset(fresh, SPEC, progress=False)
    out = tmp_path / "resumed.npz"
    assert generate_dataset(out, SPEC, progress=False, max_chunks=4) is None  # stopped early
    chunks = tmp_path / "resumed.npz.chunks"
    saved = sorted(p.name for p in chunks.glob("*.npz"))  # one part per task: the 3 chunks of a group, then 1
    assert saved == [part_path(chunks, (10, 6, 2), 0, 1).name, part_path(chunks, (9, 4, 5), 0, 3).name]
    assert not out.exists()
    damaged, kept = part_path(chunks, (9, 4, 5), 0, 3), part_path(chunks, (10, 6, 2), 0, 1)
    damaged.write_bytes(damaged.read_bytes()[:100])  # a truncated part is recomputed
    (chunks / ".9_4_5_000000_000003.npz.abc.tmp").write_bytes(b"partial write")  # a torn temp file is ignored
    (chunks / "9_4_5_000001_000099.npz").write_bytes(b"junk")  # so is a part that does not fit the plan
    stamp = kept.stat().st_mtime_ns
    generate_dataset(out, SPEC, progress=False, max_chunks=3)
    assert kept.stat().st_mtime_ns == stamp  # finished parts are not redone
    assert np.load(damaged)["height"].shape == (45,)  # the first task recomputed the damaged part
    generate_dataset(out, SPEC, progress=False)
    _same(load_dataset(fresh), load_dataset(out))
    assert not chunks.exists()


def test_stale_chunks_from_other_parameters_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "d.npz"
    generate_dataset(out, SPEC, progress=False, max_chunks=1)
    other = GenerateSpec(groups=SPEC.groups, per_group=45, dist="integer", seed=12, chunk_size=20)
    with pytest.raises(GroklabError, match="other parameters"):
        generate_dataset(out, other, progress=False)


@pytest.mark.parametrize("kwargs", [
    {"per_group": 0}, {"dist": "normal"}, {"value_range": -1.0}, {"value_range": float("nan")},
    {"dist": "integer", "value_range": 2.5}, {"seed": -1}, {"method": "simplex"}, {"chunk_size": 0},
    {"groups": ((9, 9, 2),)}, {"groups": ((9, 4, 0),)},
])
def test_bad_parameters_raise_before_writing(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(GroklabError) as info:
        generate_dataset(tmp_path / "x.npz", GenerateSpec(**kwargs), progress=False)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["9,4", "9,4,2;;x", "banana", "9,4,2;9,4,2", "10,5,10", ""])
def test_bad_group_specs(spec: str) -> None:
    with pytest.raises(GroklabError):
        parse_groups(spec)


def test_named_group_specs() -> None:
    assert len(parse_groups("all")) == 21
    assert len(parse_groups("n9")) == 9 and len(parse_groups("n10")) == 12
    assert all(m == n - k for n, k, m in parse_groups("hard"))
    assert parse_groups(" 9,4,2 ; 10,5,3 ") == ((9, 4, 2), (10, 5, 3))


def test_device_path_gives_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU branch (one process, one batched call per group, torch arrays) run with torch on the CPU."""
    pytest.importorskip("torch")
    import groklab.mheight.generate as generate

    generate_dataset(tmp_path / "numpy.npz", SPEC, progress=False, device="cpu")
    monkeypatch.setattr(generate, "label_device", lambda name: "cpu")  # a torch device name: the device branch
    generate_dataset(tmp_path / "torch.npz", SPEC, workers=2, progress=False, device="auto")
    _same(load_dataset(tmp_path / "numpy.npz"), load_dataset(tmp_path / "torch.npz"))


def test_unknown_device_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    with pytest.raises(GroklabError) as info:
        generate_dataset(tmp_path / "x.npz", SPEC, progress=False, device="nosuchdevice:3")
    assert "nosuchdevice:3" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "x.npz").exists()


def test_tasks_batch_consecutive_chunks_of_a_group() -> None:
    from groklab.mheight.generate import plan, tasks

    work = tasks(plan(SPEC), 45)
    assert [(g, [c for c, _ in chunks]) for g, chunks in work] == [
        ((9, 4, 5), [0, 1, 2]), ((10, 6, 2), [0, 1, 2]), ((6, 3, 2), [0, 1, 2])]
    assert [len(chunks) for _, chunks in tasks(plan(SPEC), 20)] == [1] * 9  # at least one chunk per task
