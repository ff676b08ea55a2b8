"""`groklab detect | plot | report`: the analysis commands (design.md "CLI").

`register(subparsers)` is called by groklab/cli.py. Every path is checked before anything is written; matplotlib
is imported only by the commands that draw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from groklab.analysis.detect import DetectConfig, detect_loaded, detect_run
from groklab.analysis.spikes import describe_moved
from groklab.analysis.tables import fmt_delay, fmt_step
from groklab.errors import GroklabError
from groklab.io import all_or_nothing
from groklab.runs import find_runs, is_run_dir, load_run


def _add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="detector setting, e.g. -p gap_steps=500 -p loss_threshold=0.01 (DetectConfig)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `detect`, `plot` and `report`, each with a func(args) -> int default."""
    p = subparsers.add_parser("detect", help="detect grokking in run folders (stored in summary.json)")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=Path,
                   help="run folders, or folders holding run folders; files and sweep folders that a glob such "
                   "as runs/* matches are skipped with a note")
    p.add_argument("--json", action="store_true", help="print the full detection of every run as JSON")
    _add_params(p)
    p.set_defaults(func=cmd_detect)

    p = subparsers.add_parser("plot", help="one run: curves + six-panel detail; several: a comparison")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=Path,
                   help="run folders, or folders holding run folders (other paths are skipped with a note)")
    p.add_argument("--out", type=Path, default=None,
                   help="figure file (.png/.pdf/.svg); default RUN_DIR/curves.png, or comparison.png in the "
                   "folder that holds the runs")
    _add_params(p)
    p.set_defaults(func=cmd_plot)

    p = subparsers.add_parser("report", help="report.html (figures inlined) + report.md")
    p.add_argument("root", metavar="DIR", type=Path)
    p.add_argument("--out", type=Path, default=None, help="HTML file; default DIR/report.html")
    p.add_argument("--no-figures", action="store_true", help="tables only (fast, for hundreds of runs)")
    _add_params(p)
    p.set_defaults(func=cmd_report)


def _config(args: argparse.Namespace) -> DetectConfig:
    return DetectConfig.from_overrides(args.param)


def run_dirs(paths: list[Path]) -> list[Path]:
    """The run folders that `paths` name: a run folder itself, or every run folder below a folder (`runs/`). What a
    shell glob like `runs/*` also matches (report.html, report.md, a sweep folder, whose members are run folders
    of their own) is skipped with one note; a path that does not exist, or naming no run folder at all, is an
    error."""
    found: dict[Path, None] = {}
    skipped = []
    for path in paths:
        if not path.exists():
            raise GroklabError(f"{path}: no such folder")
        below = [path] if is_run_dir(path) else find_runs(path) if path.is_dir() else []
        found.update(dict.fromkeys(below))
        if not below:
            skipped.append(f"{path} (a sweep folder: its members are run folders of their own)"
                           if (path / "sweep.json").is_file() else str(path))
    if not found:
        if len(paths) == 1 and paths[0].is_dir():
            load_run(paths[0])  # raises what the folder lacks
        raise GroklabError(f"{' '.join(map(str, paths))}: not a run folder, and no run folders (config.json + "
                           "metrics.jsonl) below it")
    if skipped:
        print(f"groklab: note: not run folders, skipped: {', '.join(skipped)}", file=sys.stderr)
    return list(found)


def cmd_detect(args: argparse.Namespace) -> int:
    """Print one line per run (or JSON) and write the detection into each summary.json."""
    config = _config(args)
    runs = [load_run(d) for d in run_dirs(args.run_dirs)]
    dirs = [run.path for run in runs]
    units = {run.path: "epoch " if run.unit == "epoch" else "" for run in runs}  # imported by epoch: say so
    results = [(d, detect_run(d, config)) for d in dirs]
    if args.json:
        print(json.dumps([{"run": str(d), "detection": det} for d, det in results], indent=2))
        return 0
    width = max(len(d.name) for d in dirs)
    for d, det in results:
        notes = det["notes"] + ([] if (d / "summary.json").is_file() else ["no summary.json: not stored"])
        mem, gen = (units[d] + fmt_step(det[k]) for k in ("memorization_step", "generalization_step"))
        print(f"{d.name:<{width}}  {det['verdict']:<13}  mem {mem:>9}  gen {gen:>9}  delay {units[d]}{fmt_delay(det)}"
              + (f"  ({'; '.join(notes)})" if notes else ""))
        for spike in det["spikes"]:  # what changed at the same time
            print(f"{'':<{width}}  spike at {units[d] or 'step '}{spike['step']:,} (x{spike['ratio'] or 0:.3g}): "
                  f"{describe_moved(spike['moved'])}")
    return 0


def _check_out(out: Path) -> Path:
    from groklab.analysis.plots import FORMATS

    if out.suffix.lower() not in FORMATS:
        raise GroklabError(f"{out}: figure format must be one of {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise GroklabError(f"{out.parent}: no such folder")
    return out


def cmd_plot(args: argparse.Namespace) -> int:
    """Write the figures and print their paths."""
    from groklab.analysis.plots import comparison_figure, curves_figure, detail_figure, figure_bytes

    config = _config(args)
    runs = [load_run(d) for d in run_dirs(args.run_dirs)]
    if len(runs) == 1:
        run = runs[0]
        out = _check_out(args.out or run.path / "curves.png")
        detail = out.with_name(f"{out.stem}_detail{out.suffix}") if args.out else run.path / "detail.png"
        det = detect_loaded(run, config)
        figures = {out: curves_figure(run.history, det, run.name, run.unit),
                   detail: detail_figure(run.history, det, run.name, run.unit)}
    else:
        beside = Path(os.path.commonpath([r.path.resolve() for r in runs]))  # the folder that holds the runs
        out = _check_out(args.out or beside / "comparison.png")
        figures = {out: comparison_figure(runs)}
    with all_or_nothing() as batch:  # every figure or none
        for path, fig in figures.items():
            batch.write(path, figure_bytes(fig, path))
    for path in figures:
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write report.html and report.md and print their paths."""
    from groklab.analysis.report import write_report

    html_path, md_path = write_report(args.root, args.out, _config(args), figures=not args.no_figures)
    print(html_path)
    print(md_path)
    return 0
