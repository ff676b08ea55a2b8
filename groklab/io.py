"""The one owner of reading and writing files: atomic writes (text, bytes, tensors), JSON and JSON Lines.

Why one module: a run folder is a researcher's data, so every write goes through a temporary file in the same
folder and `os.replace` (readers never see half a file), and every read of a damaged file ends in one clear
line (`GroklabError`: which file, what is wrong, what to do), never a traceback. JSON Lines readers keep every
valid row and report each damaged line with its number instead of silently stopping or skipping.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import tempfile
import zipfile
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


def atomic_write(path: Path | str, data: str | bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    try:
        fd, tmp = _temp_beside(path)
    except OSError as e:
        raise GroklabError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", **({} if isinstance(data, bytes) else
                                                                         {"encoding": "utf-8"})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(obj: Any) -> str:
    """Strict JSON (NaN and inf are not JSON: callers store None for a non-finite value)."""
    return json.dumps(obj, allow_nan=False)


def write_json(path: Path | str, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def read_json(path: Path | str, what: str = "file") -> dict[str, Any]:
    """A JSON object file; a missing, unreadable, damaged or non-object file is one GroklabError line."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GroklabError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GroklabError(f"{path}: cannot read {what} ({getattr(e, 'strerror', None) or e})") from None
    except ValueError as e:
        raise GroklabError(f"{path}: {what} is not valid JSON ({e}); restore it or delete the folder") from None
    if not isinstance(data, dict):
        raise GroklabError(f"{path}: {what} is not a JSON object; restore it or delete the folder")
    return data


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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return out
    except OSError as e:
        raise GroklabError(f"{path}: cannot read ({e.strerror or e})") from None
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
        row = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not a JSON line"
    if not isinstance(row, dict):
        return "not a JSON object"
    if required is not None:
        value = row.get(required)
        if isinstance(value, bool) or not isinstance(value, int):
            return f"no integer {required!r}"
    return row


def append_line(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line with a single write, flushed to the kernel: a kill -9 loses nothing and leaves at most
    one torn line. (Durability against power loss is `sync_file`'s, called before each checkpoint: an fsync per
    row would cost ~5 ms each.)"""
    with open(path, "ab") as f:
        f.write((dumps(row) + "\n").encode("utf-8"))


def sync_file(path: Path) -> None:
    """fsync an existing file (the rows a checkpoint covers reach the disk before the checkpoint does)."""
    if path.exists():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_tensors(path: Path | str, obj: Any) -> None:
    """torch.save, atomically. Through a file object, so the archive inside is named `archive` and not after the
    random temporary name: the same tensors give the same bytes."""
    import torch

    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
    value = float(value)
    return value if math.isfinite(value) else None


def last_finite(column: list[Any] | None) -> float | None:
    """The last finite value of a column (the final measurement), or None."""
    for value in reversed(column or []):
        if finite(value) is not None:
            return float(value)
    return None
