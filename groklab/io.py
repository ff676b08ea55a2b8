"""The one owner of reading and writing files: atomic writes (text, bytes, tensors), JSON and JSON Lines.

Why one module: a run folder is a researcher's data, so every write goes through a temporary file in the same
folder and `os.replace` (readers never see half a file), and every read of a damaged file ends in one clear
line (`GroklabError`: which file, what is wrong, what to do), never a traceback. JSON Lines readers keep every
valid row and report each damaged line with its number instead of silently stopping or skipping.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import pickle
import stat
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError


def _temp_beside(path: Path) -> tuple[int, str]:
    """A temp file in the target's folder (same file system, so os.replace is atomic) with the mode an ordinary
    open() would give: the target's mode if it exists, else 0o666 minus the umask (mkstemp's 0o600 would make
    results unreadable to collaborators)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    return fd, tmp


def check_writable(out: Path) -> None:
    """A folder that files will be written into (created if missing) can be: its nearest existing ancestor is a
    folder, not a file, and writable. Checked before any work, so that a bad --out is one line and no trace."""
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise GroklabError(f"cannot write to --out {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise GroklabError(f"cannot write to --out {out}: {probe} is not writable")


def write_error(path: Path, e: OSError) -> GroklabError:
    """One line for a write the file system refused (read-only, full, a folder where a file goes, ...)."""
    why = e.strerror or str(e)
    if e.errno in (errno.EISDIR, errno.EEXIST) or (e.errno == errno.ENOTEMPTY):
        why = f"{path} is a folder, not a file"
    elif e.errno == errno.ENOTDIR:
        why = "a part of the path is a file, not a folder"
    elif e.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"{e.strerror} (free some space and run again)"
    return GroklabError(f"cannot write {path}: {why}")


def _write_temp(path: Path, data: str | bytes) -> str:
    """`data` in a fsynced temporary file beside `path`; returns its name (the caller renames it into place)."""
    try:
        fd, tmp = _temp_beside(path)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise
    return tmp


def atomic_write(path: Path | str, data: str | bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`. A refusal of the
    file system (full, read-only, a folder at `path`) is one GroklabError line and leaves `path` as it was."""
    path = Path(path)
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise write_error(path, e) from None
        raise


class Batch:
    """Several files written all or nothing (`all_or_nothing`): each is written to a temporary file beside its
    target first; only when every one is on disk are they renamed into place. On failure the temporary files and
    the folders the batch made are removed, and no target has changed."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, Path]] = []
        self.made: list[Path] = []

    def mkdir(self, path: Path) -> None:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_error(path, e) from None
        self.made += missing

    def write(self, path: Path | str, data: str | bytes) -> None:
        path = Path(path)
        if path.is_dir():
            raise GroklabError(f"cannot write {path}: it is a folder, not a file")
        self.pending.append((_write_temp(path, data), path))

    def commit(self) -> None:
        for tmp, path in self.pending:
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise write_error(path, e) from None
        self.pending = []

    def discard(self) -> None:
        for tmp, _ in self.pending:
            Path(tmp).unlink(missing_ok=True)
        for folder in self.made:  # innermost first; only if nothing else was put there meanwhile
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def all_or_nothing() -> Iterator[Batch]:
    """`with all_or_nothing() as batch: batch.write(a, ...); batch.write(b, ...)`: every file, or none."""
    batch = Batch()
    try:
        yield batch
        batch.commit()
    except BaseException:
        batch.discard()
        raise


def dumps(obj: Any) -> str:
    """Strict JSON (NaN and inf are not JSON: callers store None for a non-finite value)."""
    return json.dumps(obj, allow_nan=False)


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


MAX_DEPTH = 64  # nesting a JSON or YAML value may have: every file groklab reads needs a handful of levels


def depth_error(data: Any, limit: int = MAX_DEPTH) -> str | None:
    """Why `data` (parsed JSON or YAML) is nested too deeply or refers to itself, or None. Iterative: a value
    nested thousands deep must not raise RecursionError in the check that looks for it."""
    stack: list[tuple[Any, int, frozenset[int]]] = [(data, 0, frozenset())]
    while stack:
        value, level, above = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if level >= limit:
            return f"nested more than {limit} levels deep"
        if id(value) in above:
            return "a value that contains itself (a recursive alias)"
        inner = above | {id(value)}
        stack += [(v, level + 1, inner) for v in (value.values() if isinstance(value, dict) else value)]
    return None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large for a float")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number groklab writes")


def loads(text: str | bytes, finite: bool = False) -> Any:
    """json.loads, with the ways valid JSON can still break a reader turned into ValueError: nesting deeper than
    MAX_DEPTH (the parser's RecursionError, or a reader's later), integers too long to convert and, with `finite`
    (the files groklab writes itself, which never hold them), NaN, Infinity and numbers beyond a float."""
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constant) if finite else json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    why = depth_error(data)
    if why:
        raise ValueError(why)
    return data


def read_json(path: Path | str, what: str = "file", shape: Shape | None = None) -> dict[str, Any]:
    """A JSON object file; a missing, unreadable, damaged or non-object file, or one whose values are not of
    `shape` (`check_shape`), is one GroklabError line."""
    path = Path(path)
    try:
        data = loads(read_bytes(path, what), finite=True)
    except ValueError as e:
        raise GroklabError(f"{path}: {what} is not valid JSON ({e}); restore it or delete the folder") from None
    if not isinstance(data, dict):
        raise GroklabError(f"{path}: {what} is not a JSON object; restore it or delete the folder")
    why = shape_error(data, shape) if shape is not None else None
    if why:
        raise GroklabError(f"{path}: {what} is damaged ({why}); restore it or delete the folder")
    return data


def read_bytes(path: Path, what: str = "file") -> bytes:
    """A file's bytes; a missing or unreadable file (a folder, no permission, a FIFO or device) is one line."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise GroklabError(f"{path}: no such {what}") from None
    except OSError as e:
        raise GroklabError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GroklabError(f"{path}: cannot read {what} (not a regular file)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as e:
        raise GroklabError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    finally:
        os.close(fd)


# --- shapes: what a JSON file must hold, checked where it is read ---------------------------------------------
INT_LIMIT = 2**63  # a step or count beyond this is no step (and no int64)


class Each:
    """A shape: a JSON object whose every value has shape `inner` (e.g. {metric: {threshold: step}})."""

    def __init__(self, inner: Shape) -> None:
        self.inner = inner


Shape = type | tuple[type, ...] | dict[str, "Shape"] | list["Shape"] | Each
_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "an object",
          list: "a list", type(None): "null"}


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < INT_LIMIT
    if kind is float:  # any number a float can hold (JSON's 1e999 is inf, which readers treat as not finite)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return isinstance(value, float) or abs(value) < INT_LIMIT
    return isinstance(value, kind)


def shape_error(data: Any, shape: Shape, where: str = "") -> str | None:
    """Why `data` does not have `shape`, or None. Shapes: a type or tuple of types (`int` excludes bools and
    integers beyond 2**63; `float` is any number), a dict {key: shape} (an object; listed keys, where present,
    have their shapes, other keys are free), [shape] (a list of such), Each(shape) (an object of such)."""
    if isinstance(shape, dict):
        if not isinstance(data, dict):
            return f"{where or 'the file'} is {_kind(data)}, expected an object"
        for key, inner in shape.items():
            if key in data:
                why = shape_error(data[key], inner, f"{where}.{key}" if where else repr(key))
                if why:
                    return why
        return None
    if isinstance(shape, list | Each):
        inner = shape[0] if isinstance(shape, list) else shape.inner
        kind = list if isinstance(shape, list) else dict
        if not isinstance(data, kind):
            return f"{where} is {_kind(data)}, expected {_NAMES[kind]}"
        items = enumerate(data) if isinstance(data, list) else data.items()
        for key, value in items:
            why = shape_error(value, inner, f"{where}[{key!r}]")
            if why:
                return why
        return None
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if any(_fits(data, k) for k in kinds):
        return None
    return f"{where} is {_kind(data)}, expected {' or '.join(_NAMES.get(k, k.__name__) for k in kinds)}"


def _kind(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
        return "an integer too large for a step or count"
    text = json.dumps(value)[:40] if not isinstance(value, dict | list) else ""
    return f"{_NAMES.get(type(value), type(value).__name__)}" + (f" ({text})" if text else "")


@dataclass
class Lines:
    """JSON Lines as read: the valid rows with their 1-based line numbers, and the damaged lines."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # line number of each row
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    torn: bool = False  # the last line has no newline: a write cut by a kill

    def warn(self, path: Path) -> None:
        """One stderr line per damaged line, so that nothing is dropped silently."""
        for number, why in self.bad:
            print(f"groklab: warning: {path}:{number}: {why}; line skipped, every other row kept",
                  file=sys.stderr)


def read_jsonl(path: Path | str, required: str | None = "step") -> Lines:
    """Every valid row of a JSON Lines file (a JSON object, with an integer `required` key when given).

    A missing file is empty. A final line without its newline (an append cut by a kill) is reported as torn.
    """
    path = Path(path)
    out = Lines()
    if not os.path.lexists(path):
        return out
    data = read_bytes(path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        out.torn = True
    for number, raw in enumerate(lines, start=1):
        why = _row_problem(raw, required, torn=out.torn and number == len(lines))
        if isinstance(why, str):
            out.bad.append((number, why))
        else:
            out.rows.append(why)
            out.numbers.append(number)
    return out


def _row_problem(raw: bytes, required: str | None, torn: bool) -> dict[str, Any] | str:
    """The row of one line, or why it is not one."""
    if torn:
        return "incomplete last line (a write cut by a kill)"
    try:
        row = loads(raw.decode("utf-8"), finite=True)
    except ValueError as e:  # UnicodeDecodeError included
        return "not a JSON line" + (f" ({e})" if "nested" in str(e) or "float" in str(e) else "")
    if not isinstance(row, dict):
        return "not a JSON object"
    if required is not None and not _fits(row.get(required), int):
        return f"no integer {required!r}"
    return row


def append_line(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line with a single write, flushed to the kernel: a kill -9 loses nothing and leaves at most
    one torn line. (Durability against power loss is `sync_file`'s, called before each checkpoint: an fsync per
    row would cost ~5 ms each.) A symbolic link at `path` is refused, never followed: whoever can write into a
    shared run folder must not be able to make a run append to another file."""
    data = (dumps(row) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise GroklabError(f"{path} is a symbolic link, not a file groklab wrote; remove it") from None
        raise write_error(path, e) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise GroklabError(f"{path} is not a regular file; remove it")
        written = os.write(fd, data)
        if written != len(data):  # a full disk can take part of a line: leave it torn (as a kill would) and stop
            raise write_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        os.close(fd)


def open_lock(path: Path, write: bool = True) -> int:
    """A file descriptor of the lock file `path` for flock, created when `write`. Never through a symbolic link
    and only a regular file with one name: a `.lock` that someone replaced by a link to another file must not make
    a run truncate or write that file (its writer truncates the lock to record its pid)."""
    flags = (os.O_RDWR | os.O_CREAT if write else os.O_RDONLY) | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise GroklabError(f"{path} is a symbolic link, not a lock file groklab made; remove it") from None
        raise GroklabError(f"cannot open the lock file {path}: {e.strerror or e}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        what = "a second name of another file (a hard link)" if stat.S_ISREG(info.st_mode) else "not a regular file"
        raise GroklabError(f"{path} is {what}, not a lock file groklab made; remove it")
    return fd


def sync_file(path: Path) -> None:
    """fsync an existing file (the rows a checkpoint covers reach the disk before the checkpoint does)."""
    if path.exists():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_tensors(path: Path | str, obj: Any) -> None:
    """torch.save, atomically (a refusal of the file system is one GroklabError line, `path` unchanged). Through a
    Python file object: a refused write surfaces as OSError (torch's own C++ writer on a path would say only
    "iostream error"), and the archive inside is named `archive`, not after the random temporary name, so the same
    tensors give the same bytes."""
    import torch

    path = Path(path)
    try:
        fd, tmp = _temp_beside(path)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        cause = e if isinstance(e, OSError) else e.__cause__ or e.__context__  # torch wraps it in a RuntimeError
        if isinstance(cause, OSError):
            raise write_error(path, cause) from None
        raise


def load_tensors(path: Path | str, what: str = "checkpoint", map_location: Any = "cpu") -> Any:
    """torch.load with `weights_only=True` (tensors and plain containers only: an untrusted pickle is refused),
    and every failure as one GroklabError line naming the file."""
    import torch

    path = Path(path)
    try:
        return torch.load(path, weights_only=True, map_location=map_location)
    except FileNotFoundError:
        raise GroklabError(f"{path}: no such {what}") from None
    except pickle.UnpicklingError as e:
        if "allowed global" in str(e) or "Unsupported global" in str(e):
            raise GroklabError(f"{path}: refused to load {what}: it is a pickle of arbitrary objects, not tensors "
                               "(only torch.save of tensors and plain containers is read)") from None
        raise GroklabError(f"{path}: {what} is damaged or truncated (not a torch.save file)") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GroklabError(f"{path}: {what} is damaged or truncated ({reason[:160]})") from None


def finite(value: Any) -> float | None:
    """A float if `value` is a finite number, else None (None, NaN, inf, strings, bools)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond a float's range (hand-edited JSON): not a usable measurement
        return None
    return value if math.isfinite(value) else None


def last_finite(column: list[Any] | None) -> float | None:
    """The last finite value of a column (the final measurement), or None."""
    for value in reversed(column or []):
        if finite(value) is not None:
            return float(value)
    return None
