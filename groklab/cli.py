"""`groklab` command line. Bad input: one line on stderr, exit status 2 (design.md)."""

from __future__ import annotations

import argparse
import importlib
import shlex
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from groklab.errors import GroklabError

COMMANDS = ("groklab.analysis.cli", "groklab.importers.cli", "groklab.mheight.cli", "groklab.studies.cli",
            "groklab.sweep.cli", "groklab.suite.cli")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def cmd_run(args: argparse.Namespace) -> int:
    from groklab.analysis.detect import detect_after_training
    from groklab.config import parse_overrides
    from groklab.presets import detector_for, resolve, split_positionals
    from groklab.runs import execute, load_run

    preset, items = split_positionals(args.items)
    cfg = resolve(preset, parse_overrides(items))
    resume: bool | Path = Path(args.resume) if args.resume not in (None, True) else bool(args.resume)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a scheduler's SIGTERM records status "interrupted"
    command = "groklab " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path, done = execute(cfg, out=args.out, resume=resume, force=args.force, progress=not args.quiet,
                         command=command)
    if done:
        print(f"{path} already finished; add --force to run it again")
    else:
        detect_after_training(path, detector_for(cfg))
    print_summary(path)
    return 0 if load_run(path).summary.get("status") == "completed" else 1


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def verdict_line(det: dict[str, Any], unit: str = "step") -> str:
    """The detector's verdict in words that cannot contradict the `first at` table printed above it: the table
    gives the first evaluation at a level, the verdict the first step (or epoch: `unit`) from which a level
    *held* (for `patience` evaluations), and says so where the two differ."""
    crit, phase = det.get("criteria") or {}, det.get("phase") or {}
    parts = [f"{phase.get(k)} held from {unit} {_fmt(phase.get(f'{k}_step'))}" for k in ("train", "val")]
    held = [f"{crit.get('train')} held from {unit} {_fmt(det.get('memorization_step'))}",
            f"{crit.get('val')} held from {unit} {_fmt(det.get('generalization_step'))}"]
    if det.get("delay_ratio"):
        held[-1] += f" ({det['delay_ratio']:.3g}x later)"
    line = f"verdict  {det.get('verdict')}  ({'; '.join(parts)})"
    if all(crit.get(k) == phase.get(k) for k in ("train", "val")):  # regression: one level for both
        line = f"verdict  {det.get('verdict')}  ({'; '.join(held)})"
    else:
        line += "\n         " + "; ".join(held)
    return line + "".join(f"\nnote     {n}" for n in det.get("notes") or [])


def print_summary(path: Path) -> None:
    from groklab.runs import load_run

    run = load_run(path)
    s, unit = run.summary, run.unit
    print(f"run      {path}")
    print(f"status   {s.get('status')}  ({_fmt(s.get('steps'))}/{_fmt(s.get('total_steps'))} {unit}s)")
    if s.get("error"):
        print(f"error    {s['error']}")
    final = s.get("final") or {}
    keys = [k for k in ("train/loss", "val/loss", "train/acc", "val/acc", "params/norm") if k in final]
    print("final    " + "  ".join(f"{k}={_fmt(final[k])}" for k in keys))
    for key, crossings in (s.get("thresholds") or {}).items():
        print(f"{key:<9}first at " + "  ".join(f">={t}: {unit} {_fmt(v)}" for t, v in crossings.items()))
    if s.get("detection"):
        print(verdict_line(s["detection"], unit))


def cmd_presets(args: argparse.Namespace) -> int:
    from groklab.presets import registry

    for p in registry().values():
        print(f"{p.name:<20} {p.paper}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    print_summary(Path(args.run_dir))
    return 0


class Parser(argparse.ArgumentParser):
    """argparse with the project's error format: one line, `groklab: error: ...`, exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        print(f"groklab: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="groklab", description="A lab for grokking research.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train one run: groklab run [PRESET] [KEY=VALUE ...]")
    p.add_argument("items", nargs="*", metavar="[PRESET] [KEY=VALUE]", help="preset name, then dotted overrides")
    p.add_argument("--out", default="runs", help="folder that holds the run folders (default: runs/)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint")
    p.add_argument("--force", action="store_true", help="start over even if the run folder exists")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("presets", help="list the presets and the papers they reproduce")
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("show", help="print a run's summary")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_show)
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, already printed as one line)
        return int(e.code or 0)
    try:
        return args.func(args)
    except GroklabError as e:
        print(f"groklab: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system said no somewhere no check foresaw: still one line
        where = f"{e.filename}: " if e.filename else ""
        print(f"groklab: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except MemoryError:  # an allocation the size checks let through (a process limit below the machine's memory)
        print("groklab: error: out of memory (a data set, model or file larger than this process may hold; "
              "choose smaller sizes)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("groklab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
