"""`groklab import SRC... [--from FORMAT] [--out DIR] [--map OLD=NEW ...] [--force]`.

Every source is read, mapped and given its folder name before anything is written, so bad input (an unknown
format, no step or epoch column, no metric that maps, several runs in one file, a missing or unreadable path,
a folder that exists) stops the command with one line and no folder.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from groklab.errors import GroklabError
from groklab.importers import READERS, import_source
from groklab.importers.folder import check_target, folder_name, write_run_folder
from groklab.runs import check_out, check_writable


def parse_map(items: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise GroklabError(f"--map {item!r}: expected OLD=NEW, e.g. --map top1=val/acc")
        if old in mapping:
            raise GroklabError(f"--map {old}: given twice")
        mapping[old] = new
    repeated = sorted({n for n in mapping.values() if list(mapping.values()).count(n) > 1})
    if repeated:
        raise GroklabError(f"--map: several names map onto {repeated[0]!r}")
    return mapping


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import", help="turn runs logged by other code into run folders",
        description="Turn runs logged by other code into groklab run folders, one per SRC, under --out: a "
        "Lightning CSVLogger version folder, TensorBoard event files, a wandb run folder or CSV export, a JSON or "
        "JSONL history, a Sacred run folder. The format is detected from the files (or named with --from); "
        "known column names become groklab's (step, train/acc, val/loss, ...), --map renames others. Every "
        "source is read before anything is written, and each import gets the detector's verdict.",
        epilog="example: groklab import lightning_logs/version_0 --out runs --map top1=val/acc")
    p.add_argument("sources", nargs="+", metavar="SRC", type=Path, help="a run's file or folder")
    p.add_argument("--from", dest="fmt", choices=list(READERS), default=None,
                   help="the format (default: detected from the files)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="folder for the run folders (default: runs/)")
    p.add_argument("--map", nargs="+", action="extend", default=[], metavar="OLD=NEW",
                   help="rename a source column, e.g. --map top1=val/acc iteration=step")
    p.add_argument("--rows-are", choices=("epoch", "step"), default=None,
                   help="the source has no step or epoch column and each row is one epoch (Keras's "
                        "History.history) or one step: number them 0, 1, 2, ...")
    p.add_argument("--force", action="store_true", help="replace run folders that exist")
    p.add_argument("--no-detect", action="store_true", help="do not run grokking detection on the imports")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    mapping = parse_map(args.map)
    check_writable(check_out(str(args.out)))
    runs = [import_source(src, args.fmt, mapping, args.rows_are) for src in args.sources]
    for old, new in mapping.items():
        if not any(old in run.key_map or old == run.x_column for run in runs):
            raise GroklabError(f"--map {old}={new}: no SRC has a column {old!r}")
    targets = [args.out / folder_name(run) for run in runs]
    seen: dict[Path, Path] = {}
    for run, target in zip(runs, targets, strict=True):
        if target in seen:
            raise GroklabError(f"{seen[target]} and {run.source} are the same source")
        seen[target] = run.source
        check_target(target, args.force)
    for run, target in zip(runs, targets, strict=True):
        write_run_folder(target, run, args.force)
        line = f"{target}  {run.format}  {len(run.rows)} rows by {run.x_axis}"
        if not any(k.startswith("val/") for row in run.rows for k in row):
            line += "  no verdict (no validation metric)"
        elif not args.no_detect:
            from groklab.analysis.detect import detect_run

            det = detect_run(target)
            line += f"  {det['verdict']}"
        print(line)
        for note in run.notes:
            print(f"  note: {note}")
        for warning in run.warnings:  # what could not be read: on stderr, and in summary.json's `unread`
            print(f"groklab: warning: {warning}", file=sys.stderr)
    return 0
