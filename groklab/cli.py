"""`groklab` command line. Bad input: one line on stderr, exit status 2 (design.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import signal
import sys
import textwrap
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
    from groklab.runs import RunDir, execute, load_run

    preset, items = split_positionals(args.items)
    resume: bool | Path = Path(args.resume) if args.resume not in (None, True) else bool(args.resume)
    if isinstance(resume, Path) and not args.items:  # the folder holds its config: resuming it needs nothing else
        cfg = RunDir(resume).run_config() if RunDir(resume).exists() else resolve(None)
    else:
        cfg = resolve(preset, parse_overrides(items))
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
    *held* (for `patience` evaluations); `held_notes` says in words where the two differ."""
    crit, phase = det.get("criteria") or {}, det.get("phase") or {}

    def held(text: Any, step: Any) -> str:
        return f"{text} {'never held' if step is None else f'held from {unit} {_fmt(step)}'}"

    parts = [held(phase.get(k), phase.get(f"{k}_step")) for k in ("train", "val")]
    levels = [held(crit.get("train"), det.get("memorization_step")),
              held(crit.get("val"), det.get("generalization_step"))]
    if det.get("delay_ratio"):
        levels[-1] += f" ({det['delay_ratio']:.3g}x later)"
    line = f"verdict  {det.get('verdict')}  ({'; '.join(parts)})"
    if all(crit.get(k) == phase.get(k) for k in ("train", "val")):  # regression: one level for both
        line = f"verdict  {det.get('verdict')}  ({'; '.join(levels)})"
    else:
        line += "\n         " + "; ".join(levels)
    return line + "".join(f"\nnote     {n}" for n in det.get("notes") or [])


def held_notes(summary: dict[str, Any], det: dict[str, Any], unit: str = "step") -> list[str]:
    """Where summary.json's first crossing (`first at`: one evaluation at the level) and the detector's sustained
    one (`held from`: the first of `patience` evaluations in a row at it) differ, the difference in words."""
    patience = (det.get("config") or {}).get("patience", 3)
    out = []
    for key, step_key, level_key in (("train/acc", "memorization_step", "mem_level"),
                                     ("val/acc", "generalization_step", "gen_level")):
        level = (det.get("config") or {}).get(level_key)
        first = ((summary.get("thresholds") or {}).get(key) or {}).get(str(level))
        held = det.get(step_key)
        if det.get("metric") != "acc" or first is None or first == held:
            continue
        then = (f"stayed there only from {unit} {_fmt(held)}" if held is not None else
                f"did not stay there for {patience} evaluations in a row before the run ended")
        out.append(f"{key} first reached {level} at {unit} {_fmt(first)} but {then}; the verdict counts a level "
                   f"from the first of {patience} evaluations in a row at it, so one lucky evaluation does not count")
    return out


def status_line(s: dict[str, Any], unit: str = "step") -> str:
    """`completed  (4,300 of at most 10,000 steps: stopped once val/acc>=0.99 had held for 5 evaluations, ...)`"""
    stopped = s.get("stopped")
    if not stopped:
        return f"status   {s.get('status')}  ({_fmt(s.get('steps'))}/{_fmt(s.get('total_steps'))} {unit}s)"
    return (f"status   {s.get('status')}  ({_fmt(s.get('steps'))} of at most {_fmt(s.get('total_steps'))} steps: "
            f"stopped once {stopped.get('when')} had held for {_fmt(stopped.get('after'))} evaluations, from step "
            f"{_fmt(stopped.get('from_step'))})")


def print_summary(path: Path) -> None:
    from groklab.runs import load_run, unread_line, unread_settings

    run = load_run(path)
    s, unit = run.summary, run.unit
    print(f"run      {path}")
    print(status_line(s, unit))
    if s.get("error"):
        print(f"error    {s['error']}")
    final = s.get("final") or {}
    keys = [k for k in ("train/loss", "val/loss", "train/acc", "val/acc", "params/norm", "val/course_mse",
                        "val/course_mse_m<n-k") if k in final]
    print("final    " + "  ".join(f"{k}={_fmt(final[k])}" for k in keys))
    for key, crossings in (s.get("thresholds") or {}).items():
        print(f"{key:<9} first at " + "  ".join(f">={t}: {unit} {_fmt(v)}" for t, v in crossings.items()))
    if s.get("detection"):
        print(verdict_line(s["detection"], unit))
        for note in held_notes(s, s["detection"], unit):
            print(f"note     {note}")
    unread = unread_settings(run.config)  # a config.json written before config groups holds every key
    if unread:
        print(f"note     config.json: {unread_line(unread)}")
    print_evaluations(path)


def print_evaluations(path: Path) -> None:
    """One line per `groklab evaluate` result in the run's evaluations/ folder."""
    from groklab.runs import RunDir

    records = RunDir(path).evaluations()
    if records:  # the formatter's module loads torch: only when there is something to show
        from groklab.studies.evaluate import summary_line

        for file, record in records:
            print(f"eval     {summary_line(file, record)}")


def describe_config(cfg: Any) -> str:
    """What a preset trains, in one line: `x/y mod 97 · power_transformer 2 layers d 128 · adamw lr 0.001 wd 1 ·
    at most 10,000 steps (stops once val/acc>=0.99 has held 5 evaluations)`."""
    m, o, tr = cfg.model, cfg.optim, cfg.train
    optim = f"{o.name} lr {o.lr:g} wd {o.weight_decay:g}" + (f" grokfast {o.grokfast}" if o.grokfast != "none" else "")
    steps = (f"at most {tr.steps:,} steps (stops once {tr.stop_when} has held {tr.stop_after} evaluations)"
             if tr.stop_when else f"{tr.steps:,} steps")
    n_layers = getattr(m, "n_layers", 1)  # the widths this model has (tickets_mlp: one hidden layer)
    layers = f"{n_layers} layer{'s' if n_layers != 1 else ''}"
    width = f"d {m.d_model}" if hasattr(m, "d_model") else f"width {m.d_mlp}"
    return " · ".join([cfg.task.describe(), f"{m.name} {layers} {width}", optim, steps])


def cmd_presets(args: argparse.Namespace) -> int:
    from groklab.config import flatten
    from groklab.presets import DEFAULT, get, registry

    if args.preset is not None:
        preset = get(args.preset)
        print(f"{preset.name}: {describe_config(preset.config)}\nreproduces: {preset.reproduces}\n{preset.paper}\n")
        for key, value in flatten(preset.config.to_dict()).items():
            print(f"{key}={'null' if value is None else value}")
        return 0
    width = max(80, shutil.get_terminal_size((120, 24)).columns - 1)
    for p in registry().values():
        name = p.name + (" (default)" if p.name == DEFAULT else "")
        for i, text in enumerate((describe_config(p.config), f"reproduces: {p.reproduces}", p.paper)):
            print(textwrap.fill(text, width, initial_indent=f"{name if i == 0 else '':<20} ",
                                subsequent_indent=" " * 23))
    print("\nRun one with `groklab run PRESET [KEY=VALUE ...]`; `groklab presets PRESET` lists its config keys.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    print_summary(Path(args.run_dir))
    return 0


RUN_ABOUT = """Train one run of a preset (default: power2022) with dotted overrides into
OUT/<preset>-<op>-<hash of the config>, then print its summary and grokking verdict.

  the presets:                                groklab presets
  every config key, with a preset's value:    groklab presets PRESET
  what each key means:                        the README's "Config keys" table
  a task or model of your own:                GROKLAB_PLUGINS=my_task.py groklab run task.name=... (docs/design.md)

examples:
  groklab run
  groklab run nanda2023 train.steps=15000
  groklab run task.op=x+y optim.weight_decay=0.3
  groklab run --resume runs/power2022-xdivy-1a2b3c4d"""


class Parser(argparse.ArgumentParser):
    """argparse with the project's error format: one line, `groklab: error: ...`, exit status 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        print(f"groklab: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="groklab", description="A lab for grokking research.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train one run: groklab run [PRESET] [KEY=VALUE ...]",
                       formatter_class=argparse.RawDescriptionHelpFormatter, description=RUN_ABOUT)
    p.add_argument("items", nargs="*", metavar="[PRESET] [KEY=VALUE]", help="preset name, then dotted overrides")
    p.add_argument("--out", default="runs", help="folder that holds the run folders (default: runs/)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint: --resume RUN_DIR alone (the folder "
                   "holds its config), or --resume with the PRESET and overrides that made it")
    p.add_argument("--force", action="store_true", help="start over even if the run folder exists")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("presets", help="list the presets and the papers they reproduce",
                       description="Every preset: what it trains, the figure it reproduces, the paper. With a "
                       "PRESET: also every config key (KEY=VALUE, as overrides are written) with its value there.")
    p.add_argument("preset", nargs="?", default=None, metavar="PRESET", help="list this preset's config keys")
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("show", help="print a run's summary",
                       description="Status and steps, final metrics, the first evaluation at each accuracy level, "
                       "and the detector's verdict with the steps from which each level held, of one run folder.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, e.g. runs/power2022-xdivy-1a2b3c4d (the "
                   "path `groklab run` prints)")
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
    except BrokenPipeError:  # `groklab presets | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
