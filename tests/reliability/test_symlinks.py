"""Symbolic links and concurrency (issue 24, class 5): a lock or state file that is a link (to a file, to nothing),
a FIFO, a folder or a second name of another file is refused, never followed, created through or truncated; two
imports into one --out never replace one another without --force; a killed import leaves nothing behind for long."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.runs import RunDir

from .conftest import TINY

RESUME = ["run", *TINY, "--resume", "--quiet"]


def plant(path: Path, kind: str, victim: Path) -> None:
    """Put something other than groklab's own file at `path`."""
    path.unlink(missing_ok=True)
    if kind == "link to a file":
        path.symlink_to(victim)
    elif kind == "dangling link":
        path.symlink_to(victim.parent / "created-through-the-link")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "hard link":
        os.link(victim, path)


KINDS = ["link to a file", "dangling link", "fifo", "folder", "hard link"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", [".lock", "metrics.jsonl"])
def test_a_planted_lock_or_state_file_is_refused_not_followed(run_copy, tmp_path, capsys, name, kind):
    """The issue's case: someone who can write into a shared run folder replaces .lock by a link to another
    user's file; --resume (and every reader) must neither truncate nor write that file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    summary = json.loads((run_copy / "summary.json").read_text())
    (run_copy / "summary.json").write_text(json.dumps(summary | {"status": "interrupted"}))
    plant(run_copy / name, kind, victim)
    for argv in (["run", *TINY, "--out", str(run_copy.parent), "--resume", "--quiet"], ["show", str(run_copy)],
                 ["detect", str(run_copy)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err and code in (0, 1, 2), err
        if code == 2:
            assert len(err.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "created-through-the-link").exists()


def test_the_sweep_lock_is_not_followed(tmp_path, capsys):
    out = tmp_path / "runs"
    args = ["sweep", *TINY, "seed=0,1", "--out", str(out), "--quiet"]
    assert main(args) == 0
    sweep = next(out.glob("sweep-*"))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    plant(sweep / ".lock", "dangling link", victim)
    assert main([*args, "--resume"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not (tmp_path / "created-through-the-link").exists()


def importer(src: str, out: str, force: bool, barrier, codes) -> None:
    barrier.wait()
    codes.put(main(["import", src, "--out", out, "--no-detect", *(["--force"] if force else [])]))


@pytest.mark.parametrize("force", [False, True])
def test_two_imports_of_one_source_never_replace_one_another(tmp_path, force):
    """Started at once: without --force one writes the folder and the other is refused; with --force both succeed
    one after the other. Either way one whole folder, no temporary folder left."""
    src = tmp_path / "h.jsonl"
    src.write_text("".join(json.dumps({"step": s, "train_acc": 0.5, "val_acc": 0.1}) + "\n" for s in range(2000)))
    out = tmp_path / "out"
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        barrier, codes = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=importer, args=(str(src), str(out), force, barrier, codes)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        results = sorted(codes.get(timeout=10) for _ in procs)
        if force:
            assert results == [0, 0, 0, 0]
        else:
            assert results.count(0) <= 1 and set(results) <= {0, 2}
        (folder,) = out.iterdir()
        assert len((folder / "metrics.jsonl").read_text().splitlines()) == 2000
        assert json.loads((folder / "summary.json").read_text())["status"] == "imported"


# A writer that stops, forever, once its temporary folder holds config.json: killed there, it leaves that folder.
STALLED_IMPORT = """
import sys, time
from pathlib import Path
import groklab.runs
real = groklab.runs.atomic_write
def stall(path, data):
    if ".import-" in str(path):
        Path(sys.argv[-1]).touch()
        time.sleep(600)
    real(path, data)
groklab.runs.atomic_write = stall
from groklab.cli import main
main(sys.argv[1:-1])
"""


def test_a_killed_import_leaves_no_temporary_folder_for_long(tmp_path):
    """kill -9 while the folder is written; the next import of the same source removes what the killed one left."""
    src = tmp_path / "h.jsonl"
    src.write_text("".join(json.dumps({"step": s, "train_acc": 0.5, "val_acc": 0.1}) + "\n" for s in range(50)))
    out, marker = tmp_path / "out", tmp_path / "stalled"
    proc = subprocess.Popen([sys.executable, "-c", STALLED_IMPORT, "import", str(src), "--out", str(out),
                             "--no-detect", str(marker)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    assert marker.exists() and left, "the import was not stopped while it wrote its folder: nothing was tested"
    assert main(["import", str(src), "--out", str(out), "--no-detect", "--force"]) == 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 50


def test_lock_file_is_created_without_following(tmp_path):
    run = RunDir(tmp_path / "r")
    run.path.mkdir()
    victim = tmp_path / "victim"
    (run.path / ".lock").symlink_to(victim)
    from groklab.errors import GroklabError

    with pytest.raises(GroklabError, match="symbolic link"), run.lock():
        pass
    assert not victim.exists()
