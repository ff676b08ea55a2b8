"""`groklab probe fourier RUN_DIR` (Nanda 2023 progress measures), `groklab tickets` (Minegishi 2023), and the
commands that use a trained model: `groklab evaluate RUN` and `groklab mheight predict RUN`."""

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from groklab.config import parse_overrides
    from groklab.studies.evaluate import describe, evaluate

    path, record = evaluate(Path(args.run_dir), data=args.data, overrides=parse_overrides(args.items),
                            checkpoint=args.checkpoint, out=args.out, device=args.device,
                            command="groklab " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    print("\n".join(describe(path, record)))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from groklab.mheight.dataset import load_dataset, parse_matrix
    from groklab.runs import check_writable
    from groklab.studies.predict import codes_table, predict_table, write_csv

    if args.out:
        if Path(args.out).suffix.lower() != ".csv":
            raise GroklabError(f"--out {args.out}: predictions are written as CSV (name a .csv file)")
        check_writable(Path(args.out).parent)
    if Path(args.P).suffix.lower() in (".csv", ".npz", ".parquet", ".pkl", ".pickle") and not Path(args.P).is_file():
        raise GroklabError(f"--P {args.P}: no such file")
    if Path(args.P).is_file():
        if any(v is not None for v in (args.n, args.k, args.m)):
            raise GroklabError(f"--P {args.P} is a data file: its n, k, m columns give every row's group; drop "
                               "--n, --k and --m")
        table = load_dataset(args.P, labels=False)
    else:
        table = codes_table(np.array(parse_matrix(args.P)), args.n, args.k, args.m)
    pred = predict_table(Path(args.run_dir), table, args.checkpoint, exact=args.exact)
    print("\n".join(prediction_lines(pred, args.show)))
    if args.out:
        write_csv(pred, Path(args.out))
        print(f"wrote {args.out} ({len(pred.log2_pred):,} rows)")
    return 0


def prediction_lines(pred: Any, show: int) -> list[str]:
    """The first `show` rows, then the throughput and, with exact heights, the log2 error."""
    import numpy as np

    t, err = pred.table, pred.log2_error
    head = f"{'n':>3} {'k':>2} {'m':>2} {'predicted':>12} {'log2':>8}"
    lines = [head + (f" {'exact':>12} {'log2 error':>10}" if err is not None else "")]
    for i in range(min(show, len(pred.log2_pred))):
        line = f"{t['n'][i]:>3} {t['k'][i]:>2} {t['m'][i]:>2} {pred.pred[i]:>12.6g} {pred.log2_pred[i]:>8.4f}"
        if err is not None:
            line += f" {pred.exact[i]:>12.6g} {err[i]:>+10.4f}"
        lines.append(line)
    if len(pred.log2_pred) > show:
        lines.append(f"... {len(pred.log2_pred) - show:,} more rows (--out FILE.csv writes them all)")
    s = pred.seconds
    lines.append(f"predicted {len(pred.log2_pred):,} rows in {s['features'] + s['model']:.3g} s: "
                 f"{pred.rows_per_second:,.0f} rows/s (features {s['features']:.3g} s, model {s['model']:.3g} s)")
    if err is not None:
        finite = ~np.isnan(err)
        left = f" ({int((~finite).sum())} infinite left out)" if (~finite).any() else ""
        lines.append(f"exact heights in {s['exact']:.3g} s (labels a data file holds are used as they are); "
                     f"log2-MSE against them {np.mean(err[finite] ** 2):.4g} over {int(finite.sum()):,} rows{left}")
    return lines


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
    register_use(subparsers)


def register_use(subparsers: Any) -> None:
    """`groklab evaluate` and `groklab mheight predict` (joins the mheight command of groklab.mheight.cli)."""
    p = subparsers.add_parser("evaluate", help="score a finished run's model on new data: per split, per group, "
                              "with the baseline", description="Score a finished run's model on data it was not "
                              "trained on, encoded with the run's training statistics; the result goes to "
                              "RUN/evaluations/ (metrics.jsonl is never touched).")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("items", nargs="*", metavar="KEY=VALUE", help="task.* overrides: other data of the run's task "
                   "(e.g. task.split_seed=1, task.data=other.npz)")
    p.add_argument("--data", help="a data file or folder for the task's reader: m-height .npz/.parquet/.csv "
                   "(CSV columns n,k,m,P[,height]), an MNIST IDX folder")
    p.add_argument("--checkpoint", default="latest", help="latest (default), best, or a step number")
    p.add_argument("--out", help="also write the evaluation to this JSON file")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    p.set_defaults(func=cmd_evaluate)
    leaves = subparsers.choices["mheight"].get_default("mheight_leaves")
    p = leaves.add_parser("predict", help="predicted m-heights of codes from a trained m-height run",
                          description="Predicted m-heights (and log2) of the codes [I_k | P] from a finished "
                          "m-height run, encoded with its training statistics; --exact adds the exact heights.")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--P", required=True, help="a k x (n-k) matrix 'a,b;c,d' (rows split by ';'), or a data file "
                   "(.npz, .parquet, or .csv with columns n,k,m,P) with one code per row")
    p.add_argument("--n", type=int, help="code length (default: from P's shape)")
    p.add_argument("--k", type=int, help="dimension (default: P's number of rows)")
    p.add_argument("--m", type=int, help="the m of h_m (required with a matrix)")
    p.add_argument("--exact", action="store_true", help="also compute the exact heights and the log2 error")
    p.add_argument("--checkpoint", default="latest", help="latest (default), best, or a step number")
    p.add_argument("--out", help="write every row to this CSV file")
    p.add_argument("--show", type=int, default=20, help="rows printed (default 20)")
    p.set_defaults(func=cmd_predict)
    leaves.metavar = "{" + ",".join(leaves.choices) + "}"
