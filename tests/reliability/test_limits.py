"""Limits before the memory is gone (issue 24, class 4): a sweep grid of millions of members, `mheight generate`
with an absurd --per-group, data files (gzip'd IDX, compressed .npz) that inflate to more than memory, text
sources larger than memory can parse: each refused in one line, before the work, with nothing written. The
machine's memory is set small (monkeypatched) to try sizes on both sides of the limit."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pytest

import groklab.config
from groklab.cli import main
from groklab.errors import GroklabError
from groklab.mheight.dataset import load_dataset
from groklab.tasks.idx import read_idx

from .conftest import TINY, snapshot

GiB = 2**30


@pytest.fixture
def small_machine(monkeypatch):
    """A machine of 1 GiB: the limit (half of it) is 512 MiB."""
    monkeypatch.setattr(groklab.config, "memory_bytes", lambda: GiB)


def refused(capsys, argv: list[str], needle: str) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0], err


@pytest.mark.parametrize("grid", [["seed=range(0,10000000)"], ["seed=range(0,400)", "optim.lr=" + ",".join(
    str(i / 1000) for i in range(1, 400))], ["seed=range(0,100001)"], ["seed=range(-5000000,5000000,3)"]])
def test_a_grid_of_millions_is_refused_before_it_is_listed(tmp_path, capsys, grid):
    before = snapshot(tmp_path)
    refused(capsys, ["sweep", *TINY, *grid, "--out", str(tmp_path / "runs")], "at most 100,000")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("members", [30_000, 60_000, 90_000])
def test_a_grid_larger_than_memory_is_refused(tmp_path, capsys, small_machine, members):
    """PLAN_BYTES per member against a 1 GiB machine: above 26,843 members the plan is refused by memory."""
    refused(capsys, ["sweep", *TINY, f"seed=range(0,{members})", "--out", str(tmp_path / "runs")],
            "more than half of this machine's 1 GiB")


@pytest.mark.parametrize("per_group", [10**6, 10**9, 10**15, 2**62])
def test_mheight_generate_with_an_absurd_per_group(tmp_path, capsys, small_machine, per_group):
    out = tmp_path / "data.npz"
    refused(capsys, ["mheight", "generate", "--groups", "9,4,2", "--per-group", str(per_group), "--out", str(out),
                     "--quiet"], "lower --per-group")
    assert list(tmp_path.iterdir()) == []


def idx_header(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)


@pytest.mark.parametrize("shape", [(60000, 28, 28 * 1000), (2**31, 2**31), (70_000, 100, 100)])
def test_a_gzip_idx_that_inflates_beyond_memory(tmp_path, small_machine, shape):
    """A few KB of gzip whose header declares more than the machine holds: refused before inflating."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(idx_header(shape))
        f.write(bytes(1 << 20))  # 1 MiB of zeros (compresses to ~1 KB); the header claims far more
    with pytest.raises(GroklabError, match="more than half of this machine's 1 GiB"):
        read_idx(path)


def test_a_gzip_idx_longer_than_its_header_is_read_no_further(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(idx_header((10,)) + bytes(10) + bytes(50 << 20))  # 50 MiB more than declared
    with pytest.raises(GroklabError, match=r"declares shape \(10,\) \(10 data bytes\) but the file holds 11"):
        read_idx(path)


def npz_bomb(path, p_shape: tuple[int, ...]) -> None:
    """An .npz whose P member declares `p_shape` but holds only a few zeros (compressed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, arr in {"n": np.array([9]), "k": np.array([4]), "m": np.array([2]), "height": np.array([2.0]),
                          "format": np.array("groklab.mheight/1")}.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            z.writestr(f"{name}.npy", buf.getvalue())
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": p_shape})
        z.writestr("P.npy", buf.getvalue() + bytes(4096))


@pytest.mark.parametrize("rows", [3 * 10**6, 10**8, 10**12])
def test_a_compressed_data_set_that_inflates_beyond_memory(tmp_path, capsys, small_machine, rows):
    path = tmp_path / "data.npz"
    npz_bomb(path, (rows, 6, 6))
    with pytest.raises(GroklabError, match="more than half of this machine's 1 GiB"):
        load_dataset(path)
    refused(capsys, ["run", "mheight", *TINY[-1:], "task.data=" + str(path), "--out", str(tmp_path / "runs")],
            "more than half of this machine's 1 GiB")


@pytest.mark.parametrize("mib", [14, 40])
def test_a_text_source_larger_than_memory_can_parse(tmp_path, capsys, small_machine, mib):
    """Parsed text is counted at 40 bytes a byte (PARSED_BYTES): 14 MiB of CSV is 560 MiB, over a 512 MiB limit."""
    src = tmp_path / "big.csv"
    line = "1,0.5,0.25\n"
    src.write_text("step,train_acc,val_acc\n" + line * (mib * 2**20 // len(line)))
    refused(capsys, ["import", str(src), "--out", str(tmp_path / "out")], "import a smaller file")


def test_a_csv_of_codes_larger_than_memory_can_parse(tmp_path, small_machine):
    """A CSV data set (task.data, evaluate --data, mheight predict --P) is counted like an import's text."""
    path = tmp_path / "codes.csv"
    path.write_text("n,k,m,P\n" + '5,2,2,"1,2,3;4,5,6"\n' * (14 * 2**20 // 19))
    with pytest.raises(GroklabError, match="use a smaller data set"):
        load_dataset(path)
