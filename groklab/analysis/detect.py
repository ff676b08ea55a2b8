"""Grokking detection from a run's history: sustained crossings, Liu et al. phases, loss spikes.

Everything here is a pure function of a history (columns as in design.md, None where not measured) except
`detect_run`, which reads a run folder and stores the result in summary.json under `detection`.

Verdict (Liu et al. 2022, papers.md §02 "Phase classification"), at `phase_level` (0.9) on train and val
accuracy, each crossing sustained for `patience` evaluations; t_train, t_val the first steps of the stretches:
  comprehension  both reached and not grokking (also: val reached but train never did);
  grokking       both reached, t_val / t_train >= gap_ratio (5) with >= min_gap_evals val evaluations in
                 (t_train, t_val], and t_val - t_train >= gap_steps (0: off by default);
  memorization   only train reached;
  confusion      neither reached, but train accuracy rose by >= min_acc_gain over its first value;
  no learning    neither reached and train accuracy never rose by min_acc_gain.
Why relative (docs/design.md "How a verdict is decided"): Liu's 10^3-step gap is tied to their 1e5-step budget,
and Power et al. 2022 (§01) describe the phenomenon as validation rising orders of magnitude after the fit. A
fixed gap calls a 1,500 -> 3,500 run (2.3x) grokking and a 100 -> 900 run (9x) comprehension, though only the
second generalised long after fitting. So the verdict asks a ratio, and a fixed gap only as an extra condition
(`gap_steps`); requiring a few evaluations in the gap stops evaluation granularity (train at step 2, val at step
10) from counting. Liu's exact rule is `gap_ratio=none gap_steps=1000`.
The metric follows the data: accuracy whenever it was measured (classification, and regression scored by
nearest-template accuracy as in §02), else loss with the same rule (`loss_threshold`, else a drop
to `loss_drop` x the first measured loss), so the m-height regression study gets verdicts too. When the run
knows its trivial baseline (summary.json `baseline`) the levels are `baseline_drop` x the baseline's
loss on each split instead (0.5: R^2 >= 0.5 against the per-group mean; a random init's first loss says little
about what the data allow), and a validation loss that comes down to the baseline but never below it by
`baseline_margin` gets the verdict `baseline`, never a generalization verdict.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groklab.analysis.spikes import spikes_with_norm
from groklab.errors import ConfigError
from groklab.io import finite, last_finite
from groklab.runs import History, Run, RunDir, load_run

# `baseline`: a regression run whose validation loss came down to its trivial baseline (summary.json `baseline`:
# the training mean per group) but never below it by `baseline_margin`: on unseen data it learnt the constant.
VERDICTS = ("comprehension", "grokking", "memorization", "confusion", "no learning", "baseline")
DETECTION_VERSION = 3  # 2: regression levels relative to the trivial baseline; 3: grokking needs the ratio


@dataclass(frozen=True)
class DetectConfig:
    """Every threshold the detector uses; stored with each result so verdicts can be audited."""

    patience: int = 3  # consecutive evaluations a crossing must hold (one noisy point does not count)
    levels: tuple[float, ...] = (0.5, 0.9, 0.95, 0.99)  # accuracy levels tabulated (papers.md §0)
    mem_level: float = 0.99  # memorization: train acc >= this (Power's 99%, §01)
    gen_level: float = 0.99  # generalization: val acc >= this
    phase_level: float = 0.9  # Liu et al. phase threshold (§02)
    gap_steps: int = 0  # and t_val - t_train >= this (Liu et al.'s 1000 in a 1e5-step budget, §02; 0: off)
    gap_ratio: float | None = 5.0  # grokking needs t_val / t_train >= this (None: the fixed gap alone, Liu's rule)
    min_gap_evals: int = 3  # val evaluations the ratio clause needs inside the gap
    min_acc_gain: float = 0.05  # confusion vs no learning: sustained train-acc gain over its first value
    loss_threshold: float | None = None  # regression: absolute loss level (train and val)
    loss_drop: float = 0.1  # regression without loss_threshold: reached at loss <= loss_drop x reference loss
    loss_levels: tuple[float, ...] = (0.5, 0.1, 0.01, 0.001)  # regression: fractions of the reference tabulated
    min_loss_drop: float = 0.1  # regression: no learning if train loss never falls below (1 - this) x ref.
    spike_factor: float = 10.0  # spike: train loss >= this x its recent minimum (§07)
    spike_window: int = 20  # evaluations the recent minimum looks back over
    spike_floor: float = 1e-6  # ignore spikes whose loss stays below this (float32 round-off)
    norm_window: int = 5  # evaluations before a spike that set a column's course, and after it that are compared
    norm_change: float = 0.05  # departure from that course (relative) that counts as moving with the spike
    baseline_margin: float = 0.1  # regression: val loss must fall below (1 - this) x the trivial baseline's
    baseline_drop: float = 0.5  # regression with a baseline, no loss_threshold: levels at this x its loss

    def __post_init__(self) -> None:
        for name in ("patience", "spike_window", "min_gap_evals"):
            if getattr(self, name) < 1:
                raise ConfigError(f"detect {name} must be >= 1, got {getattr(self, name)}")
        for name in ("mem_level", "gen_level", "phase_level", "loss_drop", "min_loss_drop", "min_acc_gain",
                     "baseline_drop"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"detect {name} must be in (0, 1], got {getattr(self, name)}")
        if any(not 0 < v <= 1 for v in (*self.levels, *self.loss_levels)):
            raise ConfigError("detect levels and loss_levels must lie in (0, 1]")
        if self.gap_steps < 0 or self.norm_window < 0 or self.norm_change < 0 or self.spike_floor < 0:
            raise ConfigError("detect gap_steps, norm_window, norm_change and spike_floor must be >= 0")
        if self.gap_ratio is not None and not (finite(self.gap_ratio) and self.gap_ratio > 1):
            raise ConfigError(f"detect gap_ratio must be > 1 or None, got {self.gap_ratio}")
        if self.gap_ratio is None and self.gap_steps < 1:
            raise ConfigError("detect gap_ratio=none leaves the fixed gap alone: set gap_steps >= 1 (Liu: 1000)")
        if not (finite(self.spike_factor) and self.spike_factor > 1):
            raise ConfigError(f"detect spike_factor must be > 1, got {self.spike_factor}")
        if self.loss_threshold is not None and not (finite(self.loss_threshold) and self.loss_threshold > 0):
            raise ConfigError(f"detect loss_threshold must be a positive number, got {self.loss_threshold}")

    @classmethod
    def from_overrides(cls, overrides: Sequence[str]) -> DetectConfig:
        """From `key=value` strings (`gap_ratio=none`, `levels=0.5,0.9`); unknown keys get a did-you-mean."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in overrides:
            key, sep, raw = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in hints:
                close = difflib.get_close_matches(key, list(hints), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"unknown detect setting {item!r}{hint}; expected key=value")
            values[key] = _parse(raw.strip(), hints[key], key)
        return cls(**values)


def _parse(raw: str, hint: Any, key: str) -> Any:
    """Parse one override by the field's annotated type."""
    args = typing.get_args(hint)
    try:
        if type(None) in args and raw.lower() in ("none", "null", ""):
            return None
        if hint is int:
            return int(raw)
        if typing.get_origin(hint) is tuple:
            return tuple(float(part) for part in raw.split(",") if part.strip())
        return float(raw)
    except ValueError:
        raise ConfigError(f"detect {key}: cannot parse {raw!r}") from None


def sustained_crossing(
    steps: Sequence[Any], values: Sequence[Any], level: float, patience: int = 3, above: bool = True,
) -> int | None:
    """First step of the first stretch of `patience` consecutive measured evaluations at/above `level`.

    (`above=False`: at/below, for losses.) None entries (not measured) neither extend nor break a stretch;
    NaN or inf breaks it. A stretch still shorter than `patience` at the end of the history does not count
    yet, so appending evaluations never moves an answer already found (a property the tests check).
    """
    start, length = None, 0
    for step, raw in zip(steps, values, strict=False):
        if raw is None:
            continue
        value = finite(raw)
        if value is not None and (value >= level if above else value <= level):
            start = step if length == 0 else start
            length += 1
            if length >= patience:
                return int(start)
        else:
            length = 0
    return None


def phase_verdict(
    t_train: int | None, t_val: int | None, evals_between: int, learned: bool, cfg: DetectConfig,
) -> str:
    """Liu et al. phase (+ `no learning`) from the two crossing steps; the rule is in the module docstring."""
    if t_train is None and t_val is None:
        return "confusion" if learned else "no learning"
    if t_val is None:
        return "memorization"
    if t_train is None:
        return "comprehension"
    gap_ok = t_val - t_train >= cfg.gap_steps
    if cfg.gap_ratio is None:  # Liu et al.'s fixed gap alone
        return "grokking" if gap_ok and t_val > t_train else "comprehension"
    ratio_ok = t_train > 0 and t_val / t_train >= cfg.gap_ratio and evals_between >= cfg.min_gap_evals
    return "grokking" if ratio_ok and gap_ok else "comprehension"


def has_accuracy(history: History) -> bool:
    """Whether an accuracy column holds a number."""
    return any(finite(v) is not None for key in ("train/acc", "val/acc") for v in history.get(key) or [])


def infer_kind(history: History, summary: dict[str, Any] | None = None) -> str:
    """summary["kind"] when it says, else classification iff an accuracy column holds a number."""
    kind = (summary or {}).get("kind")
    if kind in ("classification", "regression"):
        return kind
    return "classification" if has_accuracy(history) else "regression"


def _first(column: Sequence[Any]) -> float | None:
    return next((v for raw in column if (v := finite(raw)) is not None), None)


def _ratio(num: int | None, den: int | None) -> float | None:
    return round(num / den, 4) if num is not None and den else None


def _levels(metric: str, history: History, cfg: DetectConfig,
            baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Crossing levels: accuracy at/above fixed levels, or loss at/below absolute levels or levels relative to
    the trivial baseline's loss (else the first measured loss) on each split."""
    n = len(history.get("step") or [])
    if metric == "acc":
        train, val = history.get("train/acc") or [None] * n, history.get("val/acc") or [None] * n
        first = _first(train)
        return {"keys": ("train/acc", "val/acc"), "cols": (train, val), "above": True,
                "mem": (cfg.mem_level, cfg.gen_level), "phase": (cfg.phase_level, cfg.phase_level),
                "learn": None if first is None else first + cfg.min_acc_gain,
                "table": {str(lv): (lv, lv) for lv in cfg.levels}}
    train, val = history.get("train/loss") or [None] * n, history.get("val/loss") or [None] * n
    ref_t, ref_v = (baseline["train/loss"], baseline["val/loss"]) if baseline else (_first(train), _first(val))
    drop = cfg.baseline_drop if baseline else cfg.loss_drop

    def rel(ref: float | None, frac: float) -> float:
        return -1.0 if ref is None else ref * frac  # -1: a loss can never be at/below it

    main = ((cfg.loss_threshold, cfg.loss_threshold) if cfg.loss_threshold is not None
            else (rel(ref_t, drop), rel(ref_v, drop)))
    return {"keys": ("train/loss", "val/loss"), "cols": (train, val), "above": False, "mem": main,
            "phase": main, "learn": None if ref_t is None else ref_t * (1 - cfg.min_loss_drop),
            "table": {str(f): (rel(ref_t, f), rel(ref_v, f)) for f in cfg.loss_levels}}


def detect(history: History, kind: str | None = None, config: DetectConfig | None = None,
           baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Full detection for one history; returns a JSON-able dict (stored as summary.json `detection`). With a
    regression run's trivial `baseline` (summary.json), a validation loss that never went below it is no
    generalization: the verdict is `baseline` (module docstring)."""
    cfg = config or DetectConfig()
    kind = kind or infer_kind(history)
    metric = "acc" if has_accuracy(history) else "loss"
    steps = history.get("step") or []
    lv = _levels(metric, history, cfg, baseline)
    (k_train, k_val), (train, val), above = lv["keys"], lv["cols"], lv["above"]

    def cross(col: Sequence[Any], level: float | None) -> int | None:
        return None if level is None else sustained_crossing(steps, col, level, cfg.patience, above)

    mem, gen = cross(train, lv["mem"][0]), cross(val, lv["mem"][1])
    t_train, t_val = cross(train, lv["phase"][0]), cross(val, lv["phase"][1])
    learned = cross(train, lv["learn"]) is not None
    between = 0
    if t_train is not None and t_val is not None:
        between = sum(1 for s, v in zip(steps, val, strict=False) if v is not None and t_train < s <= t_val)
    verdict = phase_verdict(t_train, t_val, between, learned, cfg)
    notes = _notes(steps, val, t_train, t_val, gen, lv)
    versus = versus_baseline(steps, val, baseline, cfg) if metric == "loss" and baseline else None
    if versus is not None and stopped_at_baseline(verdict, versus):
        verdict = "baseline"
        notes.append(f"val/loss fell to {versus['best_val_loss']:.4g} but never below {versus['level']:.4g} "
                     f"({1 - cfg.baseline_margin:g} x the trivial baseline {versus['val/loss']:.4g}, "
                     f"{versus['kind']})")
    spikes = spikes_with_norm(history, cfg.spike_factor, cfg.spike_window, cfg.spike_floor,
                              cfg.norm_window, cfg.norm_change)
    return {
        "version": DETECTION_VERSION,
        "kind": kind,
        "metric": metric,
        "verdict": verdict,
        "memorization_step": mem,
        "generalization_step": gen,
        "delay_steps": None if mem is None or gen is None else gen - mem,
        "delay_ratio": _ratio(gen, mem),
        "criteria": {"train": _criterion(k_train, above, lv["mem"][0]),
                     "val": _criterion(k_val, above, lv["mem"][1])},
        "phase": {"train_step": t_train, "val_step": t_val,
                  "gap_steps": None if t_train is None or t_val is None else t_val - t_train,
                  "gap_ratio": _ratio(t_val, t_train), "evals_between": between,
                  "train": _criterion(k_train, above, lv["phase"][0]),
                  "val": _criterion(k_val, above, lv["phase"][1])},
        "thresholds": {key: {name: cross(col, levels[i]) for name, levels in lv["table"].items()}
                       for i, (key, col) in enumerate(((k_train, train), (k_val, val)))},
        "spikes": spikes,
        "n_spikes": len(spikes),
        "n_spikes_with_norm_change": sum(1 for s in spikes if s["norm_coincides"]),
        "evaluations": len(steps),
        "last_step": int(steps[-1]) if steps else None,
        "notes": notes,
        "baseline": versus,
        "config": dataclasses.asdict(cfg),
    }


def stopped_at_baseline(verdict: str, versus: dict[str, Any]) -> bool:
    """Whether validation loss came down to the trivial baseline and stayed there (never below it by the margin):
    what a generalization verdict (possible with an absolute loss_threshold) or a memorization verdict whose val
    loss reached the baseline's neighbourhood becomes `baseline`."""
    if versus["below_step"] is not None:
        return False
    best, margin = versus["best_val_loss"], versus["margin"]
    return verdict in ("grokking", "comprehension") or (
        verdict == "memorization" and best is not None and best <= versus["val/loss"] * (1 + margin))


def versus_baseline(steps: Sequence[Any], val: Sequence[Any], baseline: dict[str, Any],
                    cfg: DetectConfig) -> dict[str, Any]:
    """The trivial baseline and whether (from when, held `patience` evaluations) val/loss went below it."""
    level = baseline["val/loss"] * (1 - cfg.baseline_margin)
    best = min((v for raw in val if (v := finite(raw)) is not None), default=None)
    below = sustained_crossing(steps, val, level, cfg.patience, above=False)
    return {**baseline, "margin": cfg.baseline_margin, "level": level, "best_val_loss": best, "below_step": below}


def _criterion(key: str, above: bool, level: float | None) -> str:
    if level is None or level < 0:
        return f"{key} never measured"
    return f"{key} {'>=' if above else '<='} {level:.4g}"


def _notes(steps: Sequence[Any], val: Sequence[Any], t_train: int | None, t_val: int | None, gen: int | None,
           lv: dict[str, Any]) -> list[str]:
    """Human-readable caveats that a verdict alone would hide."""
    notes = []
    if not steps:
        notes.append("no evaluations in metrics.jsonl")
    if t_val is not None and (t_train is None or t_val < t_train):
        notes.append("validation crossed the phase level before (or without) training")
    if gen is None and t_val is not None:
        phase, level = lv["phase"][1], lv["mem"][1]
        notes.append(f"{lv['keys'][1]} reached {phase:.3g} at step {t_val:,} but never held {level:.3g}")
    last = last_finite(list(val))
    level = lv["mem"][1]
    if gen is not None and last is not None and (last < level if lv["above"] else last > level):
        notes.append(f"{lv['keys'][1]} fell back to {last:.4g} after generalizing")
    return notes


def detect_loaded(run: Run, config: DetectConfig | None = None) -> dict[str, Any]:
    """Detection of a loaded run folder, with what its summary knows: the kind, the trivial baseline of a
    regression run, and whether the run finished (an unfinished one's verdict says so in its notes)."""
    summary = run.summary
    result = detect(run.history, infer_kind(run.history, summary), config, summary.get("baseline"))
    status = summary.get("status")
    if status not in (None, "completed", "diverged", "imported"):
        result["notes"].insert(0, f"the run is {status}: a verdict of the history so far")
    return result


def detect_run(run_dir: Path | str, config: DetectConfig | None = None) -> dict[str, Any]:
    """Detect on a run folder and store the result in its summary.json under `detection` (atomically).

    A folder without summary.json is analysed but nothing is written. Raises GroklabError if `run_dir` is not a
    run folder.
    """
    run = load_run(run_dir)
    result = detect_loaded(run, config)
    if (run.path / "summary.json").is_file():
        RunDir(run.path).write_summary(detection=result)
    return result


def detect_after_training(run_dir: Path | str, config: DetectConfig | None = None) -> dict[str, Any] | None:
    """`detect_run` for a run that just finished (with its preset's detector settings, `presets.detector_for`): a
    finished run stays finished, so a detector failure is reported on stderr, not raised."""
    try:
        return detect_run(run_dir, config)
    except Exception as e:
        print(f"groklab: warning: detection failed for {run_dir}: {type(e).__name__}: {e}", file=sys.stderr)
        return None
