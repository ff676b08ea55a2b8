"""The IDX file format of LeCun's MNIST distribution (and of Fashion-MNIST, EMNIST, KMNIST), read without torchvision.

Layout (yann.lecun.com/exdb/mnist, "FILE FORMATS"): a 4-byte magic number, two zero bytes, then a type code
(0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), then the number of dimensions; one
big-endian uint32 size per dimension; then the data, row-major and big-endian. A file may be gzip-compressed (as
distributed, `*.gz`); it is recognised by its content, not by its name.

Every way a file can be wrong is a one-line `GroklabError` naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from groklab.config import check_size
from groklab.errors import GroklabError

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic. Never more than the IDX header declares
    (and one byte, so that parse_idx sees a longer file), and only after that size was checked against this
    machine's memory: a small .gz that inflates to gigabytes is refused before it is inflated."""
    check_size(f"{path}", Path(path).stat().st_size, "use a smaller data set")
    raw = Path(path).read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            head = f.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in TYPES:
                return head + f.read(64)  # not IDX data: parse_idx names what is wrong
            head += f.read(4 * head[3])
            if len(head) < 4 + 4 * head[3]:
                return head
            shape = np.frombuffer(head, dtype=">u4", count=head[3], offset=4).astype(object)
            size = math.prod(shape) * np.dtype(TYPES[head[2]]).itemsize
            check_size(f"{path} (inflated, shape {tuple(shape)})", size, "use a smaller data set")
            return head + f.read(size + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise GroklabError(f"{path}: a damaged gzip file ({e}); replace it with a fresh copy") from None


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode one IDX file's (uncompressed) bytes into an array of its native dtype and shape."""
    if len(raw) < 4:
        raise GroklabError(f"{name}: truncated IDX header ({len(raw)} bytes, need at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise GroklabError(f"{name}: not an IDX file (magic number starts with {raw[:2].hex()}, expected 0000)")
    code, ndim = raw[2], raw[3]
    if code not in TYPES:
        raise GroklabError(f"{name}: unknown IDX type code 0x{code:02x} (expected one of "
                           f"{', '.join(f'0x{c:02x}' for c in TYPES)})")
    if ndim == 0:
        raise GroklabError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GroklabError(f"{name}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions need {header})")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise GroklabError(f"{name}: IDX header declares shape {shape} ({expected} data bytes) but the file holds "
                           f"{len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Path | str) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed."""
    return parse_idx(read_bytes(Path(path)), str(path))

