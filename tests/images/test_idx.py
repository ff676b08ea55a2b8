"""The IDX reader on files the tests write themselves, and every way a file can be wrong."""

import gzip

import numpy as np
import pytest

from groklab.errors import GroklabError
from groklab.tasks.idx import parse_idx, read_idx

from .conftest import idx_bytes, write_idx


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype == np.uint8:
        array = np.arange(30, dtype=np.uint8).reshape(2, 3, 5) * 8
    back = read_idx(write_idx(tmp_path / "a.idx", array, compress))
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 5)
    np.testing.assert_array_equal(back, array)


def test_header_is_big_endian():
    """MNIST's training images: 00 00 08 03, then 60000, 28, 28 as big-endian uint32 (LeCun's page)."""
    header = bytes.fromhex("00000803" "0000ea60" "0000001c" "0000001c")
    with pytest.raises(GroklabError, match=r"declares shape \(60000, 28, 28\) \(47040000 data bytes\)"):
        parse_idx(header)
    assert parse_idx(bytes.fromhex("00000801" "00000003") + b"\x07\x08\x09").tolist() == [7, 8, 9]
    big = parse_idx(bytes.fromhex("00000b01" "00000002" "0102" "fffe"))  # int16: 0x0102 = 258, 0xfffe = -2
    assert big.tolist() == [258, -2]


@pytest.mark.parametrize(("raw", "message"), [
    (b"\x00\x00\x08", r"truncated IDX header \(3 bytes, need at least 4\)"),
    (bytes.fromhex("00000803" "0000000a"), r"truncated IDX header \(8 bytes, 3 dimensions need 16\)"),
    (b"PK\x03\x04" + bytes(12), "not an IDX file"),
    (bytes.fromhex("00000a01" "00000001") + b"\x00", "unknown IDX type code 0x0a"),
    (bytes.fromhex("00000800"), "declares 0 dimensions"),
    (bytes.fromhex("00000801" "00000004") + b"\x01\x02", r"shape \(4,\) \(4 data bytes\) but the file holds 2"),
    (bytes.fromhex("00000801" "00000001") + b"\x01\x02", r"shape \(1,\) \(1 data bytes\) but the file holds 2"),
])
def test_bad_files_are_one_line_errors(tmp_path, raw, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(GroklabError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_damaged_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))
    path = tmp_path / "labels.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GroklabError, match="damaged gzip file"):
        read_idx(path)


def test_gzip_recognised_by_content_not_name(tmp_path):
    path = tmp_path / "plain-name-idx1-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(np.array([3, 1, 4], dtype=np.uint8))))
    assert read_idx(path).tolist() == [3, 1, 4]
