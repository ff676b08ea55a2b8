"""Data files that cannot be what they claim are refused where they are loaded, with one line (issue 17)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groklab.errors import ConfigError, GroklabError
from groklab.mheight import heights, load_dataset
from groklab.mheight.dataset import make_table, save_table
from groklab.tasks import build_task
from groklab.tasks.mheight import MheightConfig


def _write(path: Path, n: list[int], k: list[int], m: list[int], P: np.ndarray, h: np.ndarray) -> Path:
    save_table(path, make_table(np.array(n), np.array(k), np.array(m), P, h), {"range": 100.0})
    return path


def _good(rows: int = 6) -> tuple[list[int], list[int], list[int], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    P = np.zeros((rows, 6, 6))
    P[:, :4, :5] = rng.uniform(-100, 100, size=(rows, 4, 5))
    return [9] * rows, [4] * rows, [2] * rows, P, heights(P[:, :4, :5], 2)


def test_a_good_file_loads(tmp_path: Path) -> None:
    table = load_dataset(_write(tmp_path / "ok.npz", *_good()))
    assert len(table["n"]) == 6 and np.isfinite(table["height"]).all()


@pytest.mark.parametrize(("change", "needle"), [
    ("outside", "row 3 (n, k, m = 9, 4, 2) has P entries outside its k x (n-k) block"),
    ("shape", "row 1 (n, k, m = 12, 4, 2) needs a k x (n-k) matrix but P is stored as 6 x 6"),
    ("k", "row 2 (n, k, m = 9, 9, 2) is no code"),
    ("nan_h", "row 4 (n, k, m = 9, 4, 2) has a NaN height"),
    ("neg_h", "row 0 (n, k, m = 9, 4, 2) has a height <= 0"),
    ("nan_P", "row 5 (n, k, m = 9, 4, 2) has NaN or infinite entries in P"),
])
def test_bad_rows_are_one_line_errors(tmp_path: Path, change: str, needle: str) -> None:
    n, k, m, P, h = _good()
    if change == "outside":  # a 4 x 6 matrix stored for a (9, 4) code: P's shape does not match (n, k)
        P[3, 1, 5] = 7.0
    elif change == "shape":  # a (12, 4) code needs a 4 x 8 matrix
        n[1] = 12
    elif change == "k":
        k[2] = 9
    elif change == "nan_h":
        h[4] = np.nan
    elif change == "neg_h":
        h[0] = -1.0
    else:
        P[5, 0, 0] = np.nan
    path = _write(tmp_path / "bad.npz", n, k, m, P, h)
    with pytest.raises(GroklabError) as info:
        load_dataset(path)
    assert needle in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError) as info:  # the task names the key that points at the file
        build_task(MheightConfig(data=str(path), groups="9,4,2", per_group=3, val_per_group=1))
    assert str(info.value).startswith(f"task.data={str(path)!r}: ") and needle in str(info.value)
    assert "\n" not in str(info.value)


def test_a_group_without_finite_labels(tmp_path: Path) -> None:
    n, k, m, P, h = _good()
    P[:, :4, :5] = np.round(P[:, :4, :5])
    P[:, 0, 0] = 0.0  # row 0 of [I | P] has weight n-k: every (9,4,5) height is inf
    h5 = heights(P[:, :4, :5], 5)
    assert np.isinf(h5).all()
    path = _write(tmp_path / "inf.npz", n + n, k + k, m + [5] * 6, np.concatenate([P, P]), np.concatenate([h, h5]))
    with pytest.raises(ConfigError) as info:
        build_task(MheightConfig(data=str(path), groups="9,4,2;9,4,5", per_group=3, val_per_group=1))
    assert "group 9,4,5 has no finite labels" in str(info.value) and "all 6 heights are inf" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("n", "needle"), [(np.array(["9"] * 6), "column n must hold integers"),
                                           (np.array([9.5] * 6), "column n must hold integers")])
def test_code_lengths_must_be_integers(tmp_path: Path, n: np.ndarray, needle: str) -> None:
    _, k, m, P, h = _good()
    np.savez(tmp_path / "bad.npz", n=n, k=np.array(k), m=np.array(m), P=P, height=h)
    with pytest.raises(GroklabError, match=needle):
        load_dataset(tmp_path / "bad.npz")


def test_a_damaged_sidecar_is_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.npz", *_good())
    Path(str(path) + ".json").write_text("[1, 2]")
    with pytest.raises(GroklabError, match="damaged sidecar"):
        build_task(MheightConfig(data=str(path), groups="9,4,2", per_group=4, val_per_group=2))


def test_small_codes_have_features(tmp_path: Path) -> None:
    """(4, 2, 2) has fewer Cramer ratios than the feature's top slots: the rest are FILL, no crash."""
    from groklab.mheight.features import FILL, RATIO_TOP, sorted_log_ratios

    P = np.random.default_rng(1).uniform(-1, 1, size=(5, 2, 2))
    out = sorted_log_ratios(P, np.full(5, 4), np.full(5, 2))
    assert np.isfinite(out).all() and (out[:, :RATIO_TOP] == FILL).any(axis=1).all()
