"""On-disk format of m-height data sets: one row per (n, k, m, P) with its exact height.

Columns (``load_dataset`` returns them as a dict of numpy arrays):
  n, k, m   int64 (N,)
  P         float64 (N, K, R), zero-padded: row i holds its k x (n-k) matrix in ``P[i, :k, :n-k]``
            (top-left, row-major) and 0 elsewhere. K, R = max(6, largest k), max(6, largest n-k), so every
            course data set (k <= 6, n-k <= 6) shares the 6 x 6 layout; use ``unpad`` to get P back.
  height    float64 (N,), ``inf`` where the code has a codeword of weight <= m (kept, never dropped, §7.2)
  is_inf    bool (N,), the same flag spelled out for filtering before a log
Files: Parquet (pyarrow) when the name ends in .parquet (P is a fixed-size list of K*R floats, row-major,
K and R in the schema metadata), else an uncompressed .npz at exactly the given path. A JSON sidecar
``FILE.json`` records groups, counts, infinities and provenance. Every write is atomic (temp + os.replace).
Read only: a CSV (``.csv``) with a header row and the columns n, k, m, P (``a,b;c,d``: rows split by ';') and
optionally height (``inf`` allowed); without it the rows get exact labels (vertex method) or, for prediction,
none. Pickles are never read here (they can run code): ``groklab mheight import --trust-pickle`` converts them.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from groklab.config import PARSED_BYTES, check_size
from groklab.errors import GroklabError
from groklab.io import check_writable as check_folder
from groklab.io import read_bytes

FORMAT = "groklab.mheight/1"
MIN_PAD = (6, 6)
COLUMNS = ("n", "k", "m", "P", "height", "is_inf")
LAYOUT = "P[i, :k, :n-k] holds the k x (n-k) matrix (row-major), zero elsewhere"


def groklab_version() -> str:
    """The installed groklab version, for provenance in sidecars (from the package metadata: importing the
    `groklab` package itself here would reach above this layer)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("groklab")
    except PackageNotFoundError:
        return "unknown"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; on success move it into place with os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: object) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def pad_shape(k: np.ndarray, n: np.ndarray) -> tuple[int, int]:
    """The padded P shape for rows with these k and n (at least the course's 6 x 6)."""
    if len(k) == 0:
        return MIN_PAD
    return max(MIN_PAD[0], int(np.max(k))), max(MIN_PAD[1], int(np.max(n - k)))


def pad(Ps: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """Stack matrices of varying k x (n-k) into the zero-padded (N, K, R) layout."""
    out = np.zeros((len(Ps), *shape))
    for i, P in enumerate(Ps):
        out[i, :P.shape[0], :P.shape[1]] = P
    return out


def unpad(P: np.ndarray, n: int, k: int) -> np.ndarray:
    """The k x (n-k) matrix of one padded row (or the (B, k, n-k) block of a stack)."""
    return P[..., :k, :n - k]


def make_table(n: np.ndarray, k: np.ndarray, m: np.ndarray, P: np.ndarray, height: np.ndarray) -> dict:
    """Assemble the column dict, deriving is_inf from height so the two can never disagree."""
    height = np.asarray(height, dtype=np.float64)
    return {"n": np.asarray(n, dtype=np.int64), "k": np.asarray(k, dtype=np.int64),
            "m": np.asarray(m, dtype=np.int64), "P": np.asarray(P, dtype=np.float64),
            "height": height, "is_inf": np.isinf(height)}


def _require_pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise GroklabError("writing or reading .parquet needs pyarrow: pip install 'groklab[parquet]' "
                           "(or write .npz)") from None
    return pa, pq


def check_writable(path: Path) -> None:
    """Fail early (before any work) when the output format cannot be written."""
    if path.suffix == ".parquet":
        _require_pyarrow()
    if path.exists() and path.is_dir():
        raise GroklabError(f"output {path} is a directory")
    check_folder(path.parent)


def save_table(path: Path, table: dict, meta: dict) -> None:
    """Write the table (Parquet or .npz by suffix) and then its JSON sidecar, both atomically."""
    K, R = table["P"].shape[1:]
    if path.suffix == ".parquet":
        pa, pq = _require_pyarrow()
        flat = pa.FixedSizeListArray.from_arrays(pa.array(table["P"].reshape(-1)), K * R)
        cols = {c: pa.array(table[c]) for c in ("n", "k", "m")}
        arrow = pa.table({**cols, "P": flat, "height": pa.array(table["height"]),
                          "is_inf": pa.array(table["is_inf"])})
        info = json.dumps({"format": FORMAT, "P_shape": [K, R], "P_layout": LAYOUT})
        arrow = arrow.replace_schema_metadata({"groklab.mheight": info})
        with atomic_path(path) as tmp:
            pq.write_table(arrow, tmp)
    else:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, format=np.array(FORMAT), **{c: table[c] for c in COLUMNS})
    write_json(sidecar_path(path), {"format": FORMAT, "P_layout": LAYOUT, "P_shape": [K, R], **meta})


PICKLE_SUFFIXES = (".pkl", ".pickle", ".pck")


def parse_matrix(text: str, what: str = "--P") -> list[list[float]]:
    """'a,b,c;d,e,f' -> [[a, b, c], [d, e, f]] (rows separated by ';', entries by ',')."""
    rows = [r for r in (part.strip() for part in text.split(";")) if r]
    try:
        out = [[float(x) for x in r.replace(" ", "").split(",")] for r in rows]
    except ValueError:
        raise GroklabError(f"cannot parse {what} {text!r}: use 'a,b,c;d,e,f' (rows split by ';')") from None
    if not out or len({len(r) for r in out}) != 1:
        raise GroklabError(f"{what} {text!r} must be a non-empty matrix with rows of equal length")
    return out


def refuse_pickle(path: Path) -> None:
    """A pickle runs code when it is read: one line pointing at the converter that asks for trust."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    if path.suffix.lower() in PICKLE_SUFFIXES or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5):
        raise GroklabError(f"{path} is a pickle, which can run code when read; if you trust it, convert it with "
                           f"groklab mheight import {path} --trust-pickle --out data.npz")


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """A CSV of codes (module docstring) as the column dict; height is NaN where the file has no height column."""
    import csv
    import io

    check_size(f"reading {path} ({path.stat().st_size:,} bytes)", path.stat().st_size * PARSED_BYTES,
               "use a smaller data set, or split it")
    try:
        reader = csv.DictReader(io.StringIO(read_bytes(path, "data set").decode("utf-8-sig"), newline=""))
        missing = [c for c in ("n", "k", "m", "P") if c not in (reader.fieldnames or [])]
        if missing:
            raise GroklabError(f"{path}: a CSV of codes needs a header with the columns n, k, m, P (P as 'a,b;c,d') "
                               f"and optionally height; missing {', '.join(missing)}")
        rows = list(reader)
    except UnicodeDecodeError as e:
        raise GroklabError(f"{path}: not a UTF-8 text file (byte {e.start}); a CSV of codes is text") from None
    except csv.Error as e:
        raise GroklabError(f"{path}: not a readable CSV ({e})") from None
    labelled = "height" in (reader.fieldnames or [])
    n, k, m, Ps, h = [], [], [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            n.append(int(row["n"]))
            k.append(int(row["k"]))
            m.append(int(row["m"]))
            h.append(float(row["height"]) if labelled else np.nan)
        except (TypeError, ValueError):
            raise GroklabError(f"{path}:{line}: n, k, m must be integers and height a number") from None
        P = np.array(parse_matrix(row["P"] or "", f"{path}:{line}: P"))
        if P.shape != (k[-1], n[-1] - k[-1]):
            raise GroklabError(f"{path}:{line}: P is {P.shape[0]} x {P.shape[1]} but (n, k) = ({n[-1]}, {k[-1]}) "
                               f"needs k x (n-k) = {k[-1]} x {n[-1] - k[-1]}")
        Ps.append(P)
    if not rows:
        raise GroklabError(f"{path}: no rows")
    return make_table(n, k, m, pad(Ps, pad_shape(np.array(k), np.array(n))), h)


def load_dataset(path: str | os.PathLike, labels: bool = True) -> dict[str, np.ndarray]:
    """Read a data set written by ``generate_dataset`` / ``import_course``, or a CSV of codes: the dict described
    above. A CSV without heights gets exact ones when `labels`, else NaN heights."""
    path = Path(path)
    if not path.is_file():
        raise GroklabError(f"no such data set file: {path}")
    refuse_pickle(path)
    if path.suffix.lower() == ".csv":
        table = read_csv(path)
        check_table(table, path, labelled=False)
        return exact_labels(table) if labels and np.isnan(table["height"]).any() else table
    try:
        check_size(f"data set {path}", _stored_bytes(path), "use a smaller data set")
        if path.suffix == ".parquet":
            _, pq = _require_pyarrow()
            arrow = pq.read_table(path)
            info = json.loads((arrow.schema.metadata or {}).get(b"groklab.mheight", b"{}"))
            K, R = info.get("P_shape", MIN_PAD)
            flat = arrow.column("P").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            cols = {c: arrow.column(c).to_numpy() for c in ("n", "k", "m", "height")}
            P = np.asarray(flat, dtype=np.float64).reshape(len(cols["n"]), K, R)
        else:
            with np.load(path, allow_pickle=False) as z:
                cols = {c: z[c] for c in ("n", "k", "m", "height")}
                P = z["P"]
        for c in ("n", "k", "m"):  # integer columns, never truncated silently (9.5 is no code length)
            col = np.asarray(cols[c])
            whole = col.dtype.kind in "iu" or (
                col.dtype.kind == "f" and bool(np.all(np.isfinite(col) & (col == np.round(col)))))
            if not whole:
                raise GroklabError(f"{path}: column {c} must hold integers (got {col.dtype})")
        table = make_table(cols["n"], cols["k"], cols["m"], P, cols["height"])
    except GroklabError:
        raise
    except Exception as exc:
        raise GroklabError(f"cannot read data set {path}: {type(exc).__name__}: {exc}") from None
    check_table(table, path)
    return table


def _stored_bytes(path: Path) -> int:
    """The memory the file's columns take once read, from its metadata alone (nothing is decompressed): a small
    compressed file that inflates to gigabytes is refused before it is read."""
    if path.suffix == ".parquet":
        _, pq = _require_pyarrow()
        meta = pq.ParquetFile(path).metadata
        return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    total = path.stat().st_size
    with zipfile.ZipFile(path) as z:  # an .npz: one .npy per column; its header gives shape and dtype
        for name in z.namelist():
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                               np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
                total += math.prod(shape) * dtype.itemsize
    return total


def exact_labels(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The table with the exact height of every row whose height is NaN (the batched vertex method, per group)."""
    from groklab.mheight.height import heights

    h = table["height"].copy()
    keys = np.stack([table[c] for c in ("n", "k", "m")], axis=1)
    for n, k, m in {tuple(int(v) for v in row) for row in keys[np.isnan(h)]}:
        rows = np.flatnonzero(np.all(keys == (n, k, m), axis=1) & np.isnan(h))
        h[rows] = heights(unpad(table["P"][rows], n, k), m)
    return make_table(table["n"], table["k"], table["m"], table["P"], h)


def check_table(table: dict[str, np.ndarray], path: str | os.PathLike, labelled: bool = True) -> None:
    """Refuse a data set whose rows cannot be what they claim, with one line naming the first bad row; an
    unlabelled table (a CSV without heights) may have NaN heights."""
    n, k, m, P, h = (table[c] for c in ("n", "k", "m", "P", "height"))
    if P.ndim != 3 or not len(n) == len(k) == len(m) == len(P) == len(h):
        raise GroklabError(f"{path}: columns of different lengths or P not a stack of matrices (P {P.shape}, "
                           f"{len(n)} rows)")

    def first(bad: np.ndarray, what: str) -> None:
        if bad.any():
            i = int(np.argmax(bad))
            raise GroklabError(f"{path}: row {i} (n, k, m = {n[i]}, {k[i]}, {m[i]}) {what}")

    first((k < 1) | (k >= n) | (m < 1) | (m >= n), "is no code: need 1 <= k < n and 1 <= m <= n-1")
    K, R = P.shape[1:]
    first((k > K) | (n - k > R), f"needs a k x (n-k) matrix but P is stored as {K} x {R}")
    inside = (np.arange(K)[None, :, None] < k[:, None, None]) & (np.arange(R)[None, None, :] < (n - k)[:, None, None])
    first(np.any((P != 0) & ~inside, axis=(1, 2)), f"has P entries outside its k x (n-k) block: P's shape does not "
          f"match (n, k) ({LAYOUT})")
    first(~np.all(np.isfinite(P), axis=(1, 2)), "has NaN or infinite entries in P")
    if labelled:
        first(np.isnan(h), "has a NaN height (a label must be a number; inf marks an infinite height)")
    first(h <= 0, "has a height <= 0 (every m-height is >= 1, mheight.md §1)")


def summarize(table: dict, groups: list[tuple[int, int, int]]) -> dict:
    """Per-group counts and infinity counts for the sidecar, keyed 'n,k,m'."""
    counts, n_inf = {}, {}
    for g in groups:
        sel = (table["n"] == g[0]) & (table["k"] == g[1]) & (table["m"] == g[2])
        key = ",".join(map(str, g))
        counts[key] = int(sel.sum())
        n_inf[key] = int(table["is_inf"][sel].sum())
    return {"groups": [list(g) for g in groups], "rows": len(table["n"]), "counts": counts,
            "n_infinite": n_inf}
