"""`groklab suite`, `groklab status`, `groklab writeup`: bad input is one line and exit status 2, nothing written."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.sweep.cli import add_slurm_arguments, slurm_options


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def names(items: list[str]) -> list[str]:
    """--only power2022,liu2022_toy --only gromov2023 -> the names; an empty name is an error."""
    out = [n.strip() for item in items for n in item.split(",")]
    if any(not n for n in out):
        raise GroklabError(f"--only {','.join(items)!r}: an empty preset name; expected NAME[,NAME...]")
    return out


def cmd_suite(args: argparse.Namespace) -> int:
    from groklab.suite.page import reason, summary_line, write_status
    from groklab.suite.runner import run_suite

    slurm = slurm_options(args)
    if args.executor == "local":
        signal.signal(signal.SIGTERM, _raise_interrupt)
    command = "groklab " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out, entries, meta = run_suite(args.scale, names(args.only) if args.only else None, args.executor, args.out,
                                   progress=not args.quiet, command=command, slurm=slurm)
    status = write_status(out, entries, args.scale, meta | {"command": command})
    for row in status["rows"]:
        why = reason(row) or "; ".join(h["text"] for h in row["headline"])
        print(f"{row['status']:<15} {row['preset']:<20} {why}"[:240])
    print(f"{summary_line(status['rows'])[0]}  ({out / 'STATUS.md'}, status.html, status.json)")
    fine = {"reproduced", "partial", "not checked"}
    fine |= {"pending"} if args.executor == "slurm" and not args.wait else set()
    return 0 if set(status["counts"]) <= fine else 1


def cmd_status(args: argparse.Namespace) -> int:
    from groklab.suite.status import status_lines

    for line in status_lines(args.folders):
        print(line)
    return 0


def cmd_writeup(args: argparse.Namespace) -> int:
    from groklab.analysis.writeup import write_writeup
    from groklab.runs import RunDir
    from groklab.suite.status import members

    paths = [m.run_dir for folder in args.paths for m in members(folder) if RunDir(m.run_dir).exists()]
    if not paths:
        raise GroklabError(f"{' '.join(map(str, args.paths))}: no finished or running run folders to write up")
    md, html = write_writeup(paths, args.out)
    print(md)
    print(html)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("suite", help="run and check every preset's claim: STATUS.md, status.html, status.json")
    p.add_argument("--scale", default="ci", help="ci (minutes on a CPU, the default) or paper (the papers' budgets)")
    p.add_argument("--only", action="append", default=[], metavar="NAMES",
                   help="comma-separated presets (default: every preset)")
    p.add_argument("--executor", choices=("local", "slurm"), default="local",
                   help="local: this machine (default); slurm: one job array through submitit (groklab[slurm])")
    p.add_argument("--out", default="suite", help="folder of the status files and the runs (default: suite/)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_slurm_arguments(p, "wait for the array, then check (default: submit, write the pending rows, and check "
                           "on the next call)")
    p.set_defaults(func=cmd_suite)
    p = subparsers.add_parser("status", help="where a sweep, a suite or a folder of runs stands: one line a member")
    p.add_argument("folders", nargs="+", metavar="DIR",
                   help="sweep folders (runs/sweep-HASH), suite folders (suite/) or any folders holding run folders; "
                        "a quoted glob is expanded")
    p.set_defaults(func=cmd_status)
    p = subparsers.add_parser("writeup", help="a Markdown and HTML write-up generated from run folders or sweeps")
    p.add_argument("paths", nargs="+", type=Path, metavar="RUNS_OR_SWEEP")
    p.add_argument("--out", type=Path, default=Path("writeup.md"), help="the Markdown file (default writeup.md; "
                                                                        "the HTML goes beside it)")
    p.set_defaults(func=cmd_writeup)
