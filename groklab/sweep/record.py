"""`<out>/sweep-<hash8>/sweep.json`: the grid and each member's folder and status.

It is rebuilt from the members' summary.json files, under a lock, whenever a member finishes, so concurrent SLURM
array tasks never lose an update; a member's status is read through `runs` (a `running` member whose folder lock
is free was killed, and shows as `interrupted`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.io import read_json, write_json
from groklab.runs import RunDir
from groklab.sweep.spec import Sweep


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive, blocking lock on `path` (fcntl where available); serialises sweep.json rebuilds."""
    with open(path, "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no flock (Windows, some network file systems): best effort
            pass
        yield


def member_state(run_dir: Path) -> dict[str, Any]:
    """status and steps of one member's folder (pending before it exists; unreadable as `damaged`)."""
    run = RunDir(run_dir)
    if not run.exists():
        return {"status": "pending", "steps": 0}
    try:
        return {"status": run.status(), "steps": run.summary().get("steps", 0)}
    except GroklabError:
        return {"status": "damaged", "steps": 0}


def refresh(sweep_dir: Path) -> dict[str, Any]:
    """Rebuild sweep.json's statuses from the members' folders (atomic write, under a lock)."""
    with locked(sweep_dir / ".lock"):
        record = read_json(sweep_dir / "sweep.json", "sweep record")
        for m in record["members"]:
            m |= member_state(Path(m["run_dir"]))
        statuses = [m["status"] for m in record["members"]]
        record["counts"] = {k: statuses.count(k) for k in sorted(set(statuses))}
        record["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(sweep_dir / "sweep.json", record)
    return record


def write_record(sweep: Sweep, command: str, executor: str, vectorize: bool) -> None:
    sweep.path.mkdir(parents=True, exist_ok=True)
    record = {"preset": sweep.preset, "grid": sweep.swept, "fixed": sweep.fixed, "command": command,
              "executor": executor, "vectorize": vectorize,
              "members": [{"overrides": o, "run": c.run_name, "run_dir": str((sweep.out / c.run_name).resolve()),
                           "status": "pending", "steps": 0} for o, c in sweep.members]}
    with locked(sweep.path / ".lock"):
        write_json(sweep.path / "sweep.json", record)
    refresh(sweep.path)
