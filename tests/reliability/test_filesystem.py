"""The file system saying no (issue 24, class 3): an --out that is a file or lies under one, a read-only or full
file system, a folder where a file goes. Every command that writes answers in one line with exit 2, writes all of
its files or none, and a run stopped by a full disk ends `failed` with that reason."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

import groklab.io
from groklab.cli import main
from groklab.io import read_jsonl

from .conftest import TINY, snapshot


def writers(run: Path, out: Path, md: Path) -> dict[str, list[str]]:
    """Every command that writes files, pointed at `out` (a folder) or `md`/.png/.html (a file) as its --out."""
    source = run.parent.parent / "hist.json"
    source.write_text(json.dumps({"step": [0, 1, 2], "train_acc": [0.1, 0.5, 1.0], "val_acc": [0.1, 0.1, 0.9]}))
    return {
        "run": ["run", *TINY, "--out", str(out), "--quiet"],
        "sweep": ["sweep", *TINY, "seed=0,1", "--out", str(out), "--quiet"],
        "import": ["import", str(source), "--out", str(out)],
        "report": ["report", str(run.parent), "--no-figures", "--out", str(md.with_suffix(".html"))],
        "writeup": ["writeup", str(run.parent), "--out", str(md)],
        "plot": ["plot", str(run), "--out", str(md.with_suffix(".png"))],
        "mheight": ["mheight", "generate", "--groups", "9,4,2", "--per-group", "20", "--out",
                    str(md.with_suffix(".npz")), "--quiet"],
    }


def refused(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("groklab: error: "), (code, err)
    return lines[0]


FOLDERS = ("run", "sweep", "import")  # --out is a folder
FILES = {"report": ".html", "writeup": ".md", "plot": ".png", "mheight": ".npz"}  # --out is a file
PLACES = [(c, w) for c in FOLDERS for w in ("a file", "under a file")] + [
    (c, w) for c in FILES for w in ("under a file", "a folder")]


@pytest.mark.parametrize(("command", "where"), PLACES)
def test_out_that_cannot_be_what_it_must(run_copy, tmp_path, capsys, command, where):
    """--out is a file where a folder goes, lies under a file, or is a folder where a file goes."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    if where == "a file":
        target = blocker
    elif where == "under a file":
        target = blocker / ("deeper" + FILES.get(command, ""))
    else:
        target = tmp_path / f"folder{FILES[command]}"
        target.mkdir()
        (target / "keep").write_text("x")
    argv = writers(run_copy, target, target)[command]
    argv[argv.index("--out") + 1] = str(target)
    before = snapshot(tmp_path)
    refused(capsys, argv)
    assert snapshot(tmp_path) == before


@contextmanager
def refusing(code: int, after: int = 0):
    """Every temporary file groklab.io writes fails with `code` (ENOSPC, EROFS) once `after` writes went through."""
    original = groklab.io._temp_beside
    calls = {"n": 0}

    def failing(path: Path):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(code, os.strerror(code))
        return original(path)

    groklab.io._temp_beside = failing
    try:
        yield
    finally:
        groklab.io._temp_beside = original


REFUSALS = [(c, e) for c in ("import", "report", "writeup", "plot") for e in (errno.ENOSPC, errno.EROFS)] + [
    (c, e) for c in ("import", "report") for e in (errno.EACCES, errno.EDQUOT)]  # (figures are slow to draw)


@pytest.mark.parametrize(("command", "code"), REFUSALS)
def test_a_file_system_that_refuses_writes(run_copy, tmp_path, capsys, command, code):
    out = tmp_path / "out"
    out.mkdir()
    argv = writers(run_copy, out, out / "w.md")[command]
    before = snapshot(tmp_path)
    for after in range({"import": 3, "report": 2, "writeup": 2, "plot": 2}[command]):  # the 1st, 2nd, ... file
        # refused: still all or nothing
        with refusing(code, after):
            message = refused(capsys, argv)
        assert os.strerror(code) in message or "free some space" in message
        assert snapshot(tmp_path) == before
        assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_run_stopped_by_a_full_disk_ends_failed_with_the_reason(tmp_path, capsys, monkeypatch):
    """metrics.jsonl cannot grow (ENOSPC) and no temporary file fits either: summary.json is rewritten in place."""
    appended = {"n": 0}
    original = groklab.io.os.write

    def write(fd, data):
        if data.startswith(b'{"step": ') and b'"train/loss"' in data:
            appended["n"] += 1
            if appended["n"] > 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(fd, data)

    monkeypatch.setattr(groklab.io.os, "write", write)
    real_temp = groklab.io._temp_beside

    def temp(path: Path):
        if appended["n"] > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_temp(path)

    monkeypatch.setattr(groklab.io, "_temp_beside", temp)
    code = main(["run", *TINY, "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "No space left on device" in err
    (run,) = tmp_path.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "No space left on device" in summary["error"]
    assert len(read_jsonl(run / "metrics.jsonl").rows) == 2  # the rows written before the disk filled


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 64 KiB tmpfs (as root, where mount is allowed); skipped elsewhere."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_disk(tiny_tmpfs, capsys):
    long = [a for a in TINY if not a.startswith("train.steps")] + ["train.steps=400"]
    code = main(["run", *long, "--out", str(tiny_tmpfs), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "No space left on device" in err
    (run,) = tiny_tmpfs.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "No space left on device" in summary["error"]
    assert not list(run.rglob(".*.tmp"))
