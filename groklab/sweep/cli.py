"""`groklab sweep`: the command line of groklab.sweep."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from typing import Any


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    from groklab.presets import split_positionals
    from groklab.runs import RunDir
    from groklab.sweep.record import read_record
    from groklab.sweep.run import run_sweep

    preset, items = split_positionals(args.items)
    slurm = slurm_options(args)
    if args.executor == "local":
        signal.signal(signal.SIGTERM, _raise_interrupt)  # a scheduler's SIGTERM records "interrupted"
    path = run_sweep(preset, items, out=args.out, executor=args.executor, vectorize=args.vectorize,
                     resume=args.resume, progress=not args.quiet, slurm=slurm, workers=args.workers,
                     command="groklab " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    record = read_record(path)
    print(f"sweep    {path / 'sweep.json'}")
    for m in record["members"]:
        run = RunDir(m["run_dir"])
        final = (run.summary().get("final") or {}) if run.exists() else {}
        acc = final.get("val/acc")
        print(f"  {m['status']:<11} {m['steps']:>7} steps  val/acc={'-' if acc is None else f'{acc:.4f}'}  "
              f"{m['run']}  " + " ".join(f"{k}={v}" for k, v in m["overrides"].items() if k in record["grid"]))
    finished = all(m["status"] in ("completed", "diverged") for m in record["members"])
    return 0 if finished or (args.executor == "slurm" and not slurm.wait) else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sweep", help="train a grid of runs: groklab sweep [PRESET] KEY=V1,V2 KEY=range(a,b)")
    p.add_argument("items", nargs="*", metavar="[PRESET] [KEY=V | KEY=V1,V2 | KEY=range(a,b[,step])]")
    p.add_argument("--out", default="runs", help="folder of the member run folders and the sweep folder")
    p.add_argument("--executor", choices=("local", "slurm"), default="local",
                   help="local: this machine (default); slurm: a job array through submitit (groklab[slurm])")
    p.add_argument("--vectorize", action=argparse.BooleanOptionalAction, default=None,
                   help="train compatible members together in one process (default: on a GPU only; on a CPU "
                   "each member trains alone, exactly as groklab run)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local: worker processes (default: chosen for the machine, printed on the first line)")
    p.add_argument("--resume", action="store_true", help="continue interrupted members from their checkpoints")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_slurm_arguments(p, "wait for the array to finish (default: submit and return)")
    p.set_defaults(func=cmd_sweep)


def add_slurm_arguments(p: argparse.ArgumentParser, wait_help: str) -> None:
    """The `--executor slurm` options of `groklab sweep` and `groklab suite` (see `slurm_options`)."""
    g = p.add_argument_group("slurm (with --executor slurm; each is checked with sbatch --test-only first)")
    g.add_argument("--chunk-size", type=int, default=64, help="members per array task (default 64)")
    g.add_argument("--time-min", type=int, default=240,
                   help="time limit of an array task in minutes (default 240); requeued at it, members resume")
    g.add_argument("--partition", default=None)
    g.add_argument("--cpus-per-task", type=int, default=4, help="default 4")
    g.add_argument("--gpus-per-task", type=int, default=0, help="default 0")
    g.add_argument("--mem", default=None, help="memory per task in SLURM's syntax (8G, 500M)")
    g.add_argument("--account", default=None)
    g.add_argument("--qos", default=None)
    g.add_argument("--slurm", action="append", default=[], metavar="KEY[=VALUE]",
                   help="any other sbatch option, e.g. --slurm constraint=a100 --slurm exclusive")
    g.add_argument("--wait", action="store_true", help=wait_help)


def slurm_options(args: argparse.Namespace) -> Any:
    """groklab.sweep.slurm.SlurmOptions from the parsed options (checked only with --executor slurm)."""
    from groklab.sweep.slurm import SlurmOptions, parse_extra

    if args.executor != "slurm":
        return SlurmOptions()
    return SlurmOptions(chunk_size=args.chunk_size, time_min=args.time_min, partition=args.partition,
                        cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task, mem=args.mem,
                        account=args.account, qos=args.qos, extra=parse_extra(args.slurm), wait=args.wait)
