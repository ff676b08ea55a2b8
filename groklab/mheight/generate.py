"""Exact-label data sets for the m-height study: parallel, deterministic, resumable.

Rows are produced in fixed-size chunks per group. Chunk c of group (n, k, m) draws its P from
``default_rng(SeedSequence(seed, spawn_key=(n, k, m, c)))``, so the data depend only on the parameters,
never on the number of workers, the device or interruptions. Consecutive chunks of a group are labelled
together, up to ``TASK_ROWS`` rows in one batched call, and saved atomically as one part file
``FILE.chunks/n_k_m_FIRST_STOP.npz`` holding chunks FIRST .. STOP-1 (one file per task, not per chunk: every file
made by an atomic rename costs a block flush and a discard when it is deleted, ~4 ms on the dev machine's ext4);
chunks found in valid parts are skipped on a re-run; the final file is assembled from the parts, written
atomically with its JSON sidecar, and only then is the chunk folder removed. Labels are exact (vertex
method by default, mheight.md §2.3); infinite heights are kept and flagged (§7.2, §7.4). On a GPU (``device``)
the labelling runs in this process, one group at a time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from groklab.config import check_size
from groklab.errors import GroklabError
from groklab.mheight.arrays import label_device
from groklab.mheight.dataset import (
    atomic_path,
    check_writable,
    groklab_version,
    make_table,
    pad_shape,
    save_table,
    summarize,
    write_json,
)
from groklab.mheight.groups import COURSE_GROUPS, Group, group_key
from groklab.mheight.height import METHODS, check_nkm, heights
from groklab.mheight.progress import Progress

DISTS = ("uniform", "integer")
TASK_ROWS = 10_000  # rows labelled per batched call (and per worker task) on the CPU
ROW_BYTES = 1_000  # memory per row while a data set is assembled and saved: a padded 6 x 6 float64 P (288 B) and
# its other columns (~40 B), held about three times over (chunks, the joined table, the writer's copy)


@dataclass(frozen=True)
class GenerateSpec:
    """Everything the content of a data set depends on (workers and progress do not)."""

    groups: tuple[Group, ...] = COURSE_GROUPS
    per_group: int = 1000
    dist: str = "uniform"
    value_range: float = 100.0
    seed: int = 0
    method: str = "vertex"
    chunk_size: int = 500

    def validate(self) -> None:
        for g in self.groups:
            check_nkm(*g)
        if isinstance(self.per_group, bool) or not isinstance(self.per_group, int) or self.per_group < 1:
            raise GroklabError(f"per-group count must be a positive integer, got {self.per_group!r}")
        rows = len(self.groups) * self.per_group
        check_size(f"{len(self.groups)} groups x {self.per_group:,} rows per group", rows * ROW_BYTES,
                   "lower --per-group, or generate the groups in several files")
        if self.dist not in DISTS:
            raise GroklabError(f"unknown dist {self.dist!r}; choose one of {', '.join(DISTS)}")
        if not (isinstance(self.value_range, (int, float)) and math.isfinite(self.value_range)
                and self.value_range > 0):
            raise GroklabError(f"range must be a positive finite number, got {self.value_range!r}")
        if self.dist == "integer" and float(self.value_range) != int(self.value_range):
            raise GroklabError(f"integer entries need an integer range, got {self.value_range!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise GroklabError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.method not in METHODS:
            raise GroklabError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise GroklabError(f"chunk size must be a positive integer, got {self.chunk_size!r}")

    def content_key(self) -> dict:
        """The parameters a saved chunk must share to be reused (groups and counts may differ)."""
        return {"seed": self.seed, "dist": self.dist, "range": float(self.value_range),
                "method": self.method, "chunk_size": self.chunk_size}


def plan(spec: GenerateSpec) -> list[tuple[Group, int, int]]:
    """(group, chunk index, rows) for every chunk, in output order."""
    out = []
    for g in spec.groups:
        for c in range(math.ceil(spec.per_group / spec.chunk_size)):
            out.append((g, c, min(spec.chunk_size, spec.per_group - c * spec.chunk_size)))
    return out


def sample_P(spec: GenerateSpec, group: Group, chunk: int, rows: int) -> np.ndarray:
    """P matrices of one chunk, shape (rows, k, n-k), from the chunk's own SeedSequence stream."""
    n, k, m = group
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(n, k, m, chunk)))
    r = float(spec.value_range)
    if spec.dist == "integer":
        return rng.integers(-int(r), int(r), size=(rows, k, n - k), endpoint=True).astype(np.float64)
    return rng.uniform(-r, r, size=(rows, k, n - k))


def part_path(chunk_dir: Path, group: Group, first: int, stop: int) -> Path:
    """The file of chunks first .. stop-1 of a group."""
    return chunk_dir / f"{group[0]}_{group[1]}_{group[2]}_{first:06d}_{stop:06d}.npz"


def read_part(path: Path, group: Group, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A saved part's (P, height), or None if it is missing, truncated or of the wrong shape."""
    n, k, _ = group
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            P, h = z["P"], z["height"]
    except Exception:
        return None
    if P.shape != (rows, k, n - k) or h.shape != (rows,):
        return None
    return P, h


def saved_parts(chunk_dir: Path, chunks: list[tuple[Group, int, int]]) -> dict[tuple[Group, int], tuple[Path, int]]:
    """(group, chunk) -> (part file, row offset in it) for every chunk held by a valid part in ``chunk_dir``."""
    rows = {(g, c): r for g, c, r in chunks}
    found: dict[tuple[Group, int], tuple[Path, int]] = {}
    for path in sorted(chunk_dir.glob("*.npz")):
        fields = path.stem.split("_")
        if len(fields) != 5 or not all(f.isdigit() for f in fields):
            continue
        n, k, m, first, stop = (int(f) for f in fields)
        group, span = (n, k, m), range(first, stop)
        if not span or any((group, c) not in rows or (group, c) in found for c in span):
            continue
        if read_part(path, group, sum(rows[group, c] for c in span)) is None:
            continue
        offset = 0
        for c in span:
            found[group, c] = (path, offset)
            offset += rows[group, c]
    return found


def compute_part(spec: GenerateSpec, group: Group, chunks: list[tuple[int, int]], chunk_dir: str,
                 device: str | None = None) -> tuple[int, int]:
    """Sample consecutive chunks (index, rows) of one group, label them in one batched call and save them as one
    part atomically; returns (chunks, rows) done (runs in workers)."""
    P = np.concatenate([sample_P(spec, group, c, rows) for c, rows in chunks])
    h = heights(P, group[2], method=spec.method, device=device)
    path = part_path(Path(chunk_dir), group, chunks[0][0], chunks[-1][0] + 1)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, P=P, height=h)
    return len(chunks), len(P)


def tasks(todo: list[tuple[Group, int, int]], max_rows: int) -> list[tuple[Group, list[tuple[int, int]]]]:
    """Consecutive chunks of one group, at most ``max_rows`` rows (and at least one chunk) per task."""
    out: list[tuple[Group, list[tuple[int, int]]]] = []
    for g, c, rows in todo:
        if out and out[-1][0] == g and sum(r for _, r in out[-1][1]) + rows <= max_rows:
            out[-1][1].append((c, rows))
        else:
            out.append((g, [(c, rows)]))
    return out


def _prepare_chunk_dir(chunk_dir: Path, spec: GenerateSpec) -> None:
    """Create FILE.chunks/ or check that its chunks were made with the same content parameters."""
    params = chunk_dir / "params.json"
    if chunk_dir.exists() and not params.exists() and not any(chunk_dir.glob("*.npz")):
        write_json(params, spec.content_key())  # stopped between mkdir and the params file: nothing to lose
    if chunk_dir.exists():
        try:
            saved = json.loads(params.read_text())
        except (OSError, ValueError):
            saved = None
        if saved != spec.content_key():
            raise GroklabError(f"{chunk_dir} holds chunks of a run with other parameters ({saved}); "
                               "re-run with those or delete the folder")
        for stale in chunk_dir.glob(".*.tmp"):
            stale.unlink()
    else:
        chunk_dir.mkdir(parents=True)
        write_json(params, spec.content_key())


def _pool_context():
    """fork where the OS has it (workers inherit the imported modules instead of re-importing groklab,
    which pulls in torch), spawn elsewhere. The pool is started before any progress thread exists."""
    import multiprocessing

    return get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _run_chunks(todo: list, spec: GenerateSpec, chunk_dir: Path, workers: int, device: str | None,
                make_bar) -> None:
    if device is not None:  # one process (CUDA does not survive fork), one call per group
        work, workers = tasks(todo, max(spec.per_group, 1)), 1
    else:
        work = tasks(todo, TASK_ROWS)
    if workers == 1 or len(work) <= 1:
        bar = make_bar()
        try:
            for g, chunks in work:
                bar.update(*compute_part(spec, g, chunks, str(chunk_dir), device)[::-1])
        finally:
            bar.close()
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(work)), mp_context=_pool_context()) as pool:
        futures = [pool.submit(compute_part, spec, g, chunks, str(chunk_dir)) for g, chunks in work]
        bar = make_bar()
        try:
            for fut in as_completed(futures):
                bar.update(*fut.result()[::-1])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            bar.close()


def generate_dataset(out: str | os.PathLike, spec: GenerateSpec = GenerateSpec(), *, workers: int = 1,
                     progress: bool = True, max_chunks: int | None = None, device: str = "cpu") -> dict | None:
    """Generate (or resume) the data set ``out``; returns the sidecar dict, or None if stopped early.

    ``device``: "cpu" (numpy in ``workers`` processes), "auto" (a CUDA GPU when torch sees one, else cpu) or a
    torch device name ("cuda", "cuda:1"); the labels are the same on every device. ``max_chunks`` computes at
    most that many new chunks and stops before assembling (a deliberate interruption, used to test resuming).
    Ctrl-C also leaves every finished chunk for the next run.
    """
    spec.validate()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise GroklabError(f"workers must be a positive integer, got {workers!r}")
    where = label_device(device)
    out = Path(out)
    check_writable(out)
    chunk_dir = out.with_name(out.name + ".chunks")
    _prepare_chunk_dir(chunk_dir, spec)
    chunks = plan(spec)
    saved = saved_parts(chunk_dir, chunks)
    todo = [t for t in chunks if (t[0], t[1]) not in saved]
    done_rows = sum(t[2] for t in chunks) - sum(t[2] for t in todo)
    def make_bar() -> Progress:
        return Progress(len(chunks), sum(t[2] for t in chunks), done_chunks=len(chunks) - len(todo),
                        done_rows=done_rows, enabled=progress)

    _run_chunks(todo[:max_chunks] if max_chunks is not None else todo, spec, chunk_dir, workers, where, make_bar)
    if max_chunks is not None and max_chunks < len(todo):
        return None
    return _assemble(out, spec, chunks, chunk_dir)


def _assemble(out: Path, spec: GenerateSpec, chunks: list, chunk_dir: Path) -> dict:
    """Read every chunk in plan order into one padded table, write it with its sidecar, drop the chunks."""
    n = np.concatenate([np.full(rows, g[0]) for g, _, rows in chunks])
    k = np.concatenate([np.full(rows, g[1]) for g, _, rows in chunks])
    m = np.concatenate([np.full(rows, g[2]) for g, _, rows in chunks])
    P = np.zeros((len(n), *pad_shape(k, n)))
    h = np.empty(len(n))
    saved = saved_parts(chunk_dir, chunks)
    parts: dict[Path, tuple[np.ndarray, np.ndarray]] = {}
    start = 0
    for g, c, rows in chunks:
        if (g, c) not in saved:
            raise GroklabError(f"chunk {c} of group {group_key(g)} vanished from {chunk_dir} or is damaged; re-run")
        path, offset = saved[g, c]
        if path not in parts:
            with np.load(path, allow_pickle=False) as z:
                parts[path] = z["P"], z["height"]
        P[start:start + rows, :g[1], :g[0] - g[1]] = parts[path][0][offset:offset + rows]
        h[start:start + rows] = parts[path][1][offset:offset + rows]
        start += rows
    table = make_table(n, k, m, P, h)
    meta = {**summarize(table, list(spec.groups)), "source": "generate", **asdict(spec),
            "groups": [list(g) for g in spec.groups], "groklab_version": groklab_version()}
    meta["range"] = meta.pop("value_range")
    save_table(out, table, meta)
    shutil.rmtree(chunk_dir, ignore_errors=True)
    return meta


__all__ = ["DISTS", "GenerateSpec", "generate_dataset", "group_key", "plan", "sample_P", "tasks"]
