"""`<out>/sweep-<hash8>/sweep.json`: the grid and each member's folder and status.

It is rebuilt from the members' summary.json files, under a lock, whenever a member finishes, so concurrent SLURM
array tasks never lose an update; a member's status is read through `runs` (a `running` member whose folder lock
is free was killed, and shows as `interrupted`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.io import Each, open_lock, read_json, write_json
from groklab.runs import RunDir, run_folder
from groklab.sweep.spec import Sweep

# What the readers of sweep.json rely on (io.shape_error): one line naming the key when a value has another type.
MEMBER = {"overrides": Each(str), "run": str, "run_dir": str, "status": str, "steps": (int, type(None)),
          "label": str, "job_id": (str, int)}
RECORD = {"preset": (str, type(None)), "grid": Each([str]), "fixed": Each(str), "members": [MEMBER],
          "counts": Each(int), "cluster": str}


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive, blocking lock on `path` (fcntl where available); serialises sweep.json rebuilds. The lock
    file is never opened through a symbolic link (io.open_lock)."""
    fd = open_lock(path)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no flock (Windows, some network file systems): best effort
            pass
        yield
    finally:
        os.close(fd)


def read_record(sweep_dir: Path) -> dict[str, Any]:
    """A sweep folder's sweep.json (one GroklabError line when it is missing, damaged or of another shape)."""
    record = read_json(Path(sweep_dir) / "sweep.json", "sweep record", RECORD)
    lacking = [f"'{k}'" for k in ("members", "grid") if k not in record] + [
        f"'members'[{i}].{k}" for i, m in enumerate(record.get("members", [])) for k in ("run", "run_dir", "overrides")
        if k not in m]
    if lacking:
        raise GroklabError(f"{Path(sweep_dir) / 'sweep.json'}: sweep record is damaged (no {lacking[0]}); restore it "
                           "or delete the folder")
    return record


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
        record = read_record(sweep_dir)
        for m in record["members"]:
            m |= member_state(Path(m["run_dir"]))
        statuses = [m["status"] for m in record["members"]]
        record["counts"] = {k: statuses.count(k) for k in sorted(set(statuses))}
        record["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_json(sweep_dir / "sweep.json", record)
    return record


def write_record(sweep: Sweep, command: str, executor: str, vectorize: bool | None) -> None:
    """sweep.json's first version: every member pending (vectorize None: "auto", groups on a GPU only)."""
    sweep.path.mkdir(parents=True, exist_ok=True)
    labels = sweep.labels or ("",) * len(sweep.members)
    record = {"preset": sweep.preset, "grid": sweep.swept, "fixed": sweep.fixed, "command": command,
              "executor": executor, "vectorize": "auto" if vectorize is None else vectorize,
              "members": [{"overrides": o, "run": c.run_name, "run_dir": str(run_folder(c, sweep.out).resolve()),
                           "status": "pending", "steps": 0} | ({"label": label} if label else {})
                          for (o, c), label in zip(sweep.members, labels, strict=True)]}
    with locked(sweep.path / ".lock"):
        if (sweep.path / "sweep.json").is_file():  # a second call keeps the jobs the first one submitted
            old = read_record(sweep.path)
            jobs = {m["run"]: m["job_id"] for m in old.get("members", []) if m.get("job_id")}
            for m in record["members"]:
                m |= {"job_id": jobs[m["run"]]} if m["run"] in jobs else {}
            record |= {"cluster": old["cluster"]} if jobs and "cluster" in old else {}
        write_json(sweep.path / "sweep.json", record)
    refresh(sweep.path)


def record_jobs(sweep_dir: Path, cluster: str, jobs: dict[str, str]) -> None:
    """Note each submitted member's array-task id ({run name: job id}) and the cluster in sweep.json, so
    `groklab status` can ask submitit for the job's state."""
    with locked(sweep_dir / ".lock"):
        record = read_record(sweep_dir)
        record["cluster"] = cluster
        for m in record["members"]:
            if m["run"] in jobs:
                m["job_id"] = jobs[m["run"]]
        write_json(sweep_dir / "sweep.json", record)
