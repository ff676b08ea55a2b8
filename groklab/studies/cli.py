"""`groklab probe fourier RUN_DIR` (Nanda 2023 progress measures) and `groklab tickets` (Minegishi 2023)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError


def cmd_fourier(args: argparse.Namespace) -> int:
    from groklab.studies.progress import fourier_progress

    if not 0 <= args.min_frac <= 1:
        raise GroklabError(f"--min-frac must be in [0, 1], got {args.min_frac}")
    record, rows = fourier_progress(Path(args.run_dir), min_frac=args.min_frac, progress=not args.quiet)
    print(f"key frequencies (step {record['from_step']}): {record['key_frequencies']}")
    print(f"{'step':>7} {'train':>9} {'test':>9} {'restr.test':>10} {'excl.train':>10} {'gini W_E':>8} "
          f"{'gini W_L':>8} {'sum w^2':>9}")
    for r in rows:
        print(f"{r['step']:>7} {r['fourier/train_loss']:>9.3g} {r['fourier/test_loss']:>9.3g} "
              f"{r['fourier/restricted_loss_test']:>10.3g} {r['fourier/excluded_loss_train']:>10.3g} "
              f"{r['fourier/gini_W_E']:>8.3f} {r['fourier/gini_W_L']:>8.3f} {r['params/sum_sq']:>9.4g}")
    print(f"wrote {Path(args.run_dir) / 'fourier.jsonl'} and fourier.json")
    return 0


def cmd_tickets(args: argparse.Namespace) -> int:
    from groklab.config import parse_overrides
    from groklab.presets import resolve
    from groklab.studies.tickets import run_tickets

    if args.retrain_steps is not None and args.retrain_steps <= 0:
        raise GroklabError(f"--retrain-steps must be > 0, got {args.retrain_steps}")
    base = resolve("minegishi2023", parse_overrides(args.items))
    report = run_tickets(base, out=args.out, keep=args.keep, retrain_steps=args.retrain_steps, seed=args.seed,
                         retrain_wd=args.retrain_wd, seeds=args.seeds, progress=not args.quiet)
    print(f"tickets  keep {report['keep']:g} ({report['pruned']:.0%} pruned), steps to val acc >= 0.95 "
          f"(seeds {', '.join(map(str, report['seeds']))}):")
    for arm, r in report["arms"].items():
        speed = r.get("speedup_of_ticket")
        extra = f"  ticket speed-up {' '.join(_fmt(v, 'x') for v in speed)}" if speed else ""
        steps = " ".join(_fmt(v) for v in r["steps_to_val95"])
        print(f"  {arm:<13} {steps:>7}  wd {r['weight_decay']:g}{extra}")
    print(f"wrote {report['folder']}/tickets.json")
    return 0


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "never"
    return f"{unit}{value:.2f}" if isinstance(value, float) else str(value)


def register(subparsers: Any) -> None:
    probe = subparsers.add_parser("probe", help="measure saved checkpoints of a run")
    sub = probe.add_subparsers(dest="probe", required=True)
    p = sub.add_parser("fourier", help="Nanda 2023 progress measures -> fourier.jsonl, fourier.json")
    p.add_argument("run_dir")
    p.add_argument("--min-frac", type=float, default=0.0,
                   help="count a neuron's frequency only if it explains this share of its variance (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_fourier)
    p = subparsers.add_parser("tickets", help="Grokking Tickets pipeline: groklab tickets [KEY=VALUE ...]")
    p.add_argument("items", nargs="*", metavar="KEY=VALUE", help="overrides of the minegishi2023 preset")
    p.add_argument("--out", default="runs", help="folder of the run folders (default: runs/)")
    p.add_argument("--keep", type=float, default=0.4, help="fraction of weights kept (default 0.4: 60%% pruned)")
    p.add_argument("--retrain-steps", type=int, default=None, help="steps of each retraining (default: train.steps)")
    p.add_argument("--retrain-wd", type=float, default=0.0, help="weight decay of the retraining (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-mask control")
    p.add_argument("--seeds", type=int, default=1,
                   help="initialisations (the config's seed, + 1, ...), the whole pipeline for each (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_tickets)
