"""The grokking delay: one definition, used by every classification claim check.

Power et al. 2022 (papers.md §01) call it grokking when validation accuracy reaches 99% long after training accuracy
did, with validation near chance in between (Fig. 1: train ~1 before 1e3 steps, validation near chance until
~1e5); Liu et al. 2022 (§02) time both at 90% and ask for a gap. A gap alone does not make the phenomenon: a
validation accuracy that rises slowly, step by step with training, also crosses its level late. So the delay here
asks three things, each on sustained crossings (`patience` consecutive evaluations, the detector's rule):

1. **fit**: the first step `t_fit` from which training accuracy holds `fit_level` (0.99, or the paper's);
2. **low**: at `t_fit` validation accuracy is still low: <= `chance + low_margin` (chance + 0.1 unless the paper
   defines otherwise);
3. **late**: validation accuracy holds `gen_level` from a step `t_gen >= ratio x t_fit` (R = 5 unless the paper
   gives its own figure).

The parameters are stated per preset (`DelayRule`, with the paper's section in `source`). The result is a `Delay`:
the measured figures, `holds` and a one-line `reason`; `outcome` names which part failed, and `"not reached"`
(fit, low, validation still below its level at the end of a budget >= R x t_fit) lets a check say "a delay of at
least R x, generalization not reached in this budget" instead of calling it grokking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from groklab.analysis.detect import sustained_crossing
from groklab.errors import ConfigError
from groklab.io import finite
from groklab.runs import Run

OUTCOMES = ("delayed", "no fit", "not low", "not reached", "too soon", "no evaluations")


@dataclass(frozen=True)
class DelayRule:
    """The delay's parameters (module docstring), stated per preset from its paper."""

    fit_level: float = 0.99  # training accuracy that counts as fitted (Power's 99%)
    gen_level: float = 0.99  # validation accuracy that counts as generalized
    chance: float = 0.0  # validation accuracy of a guess (1 / classes)
    low_margin: float = 0.1  # at the fit, validation accuracy <= chance + low_margin
    ratio: float = 5.0  # t_gen >= ratio x t_fit
    patience: int = 3  # consecutive evaluations a crossing must hold
    train_key: str = "train/acc"
    val_key: str = "val/acc"
    source: str = ""  # where the parameters come from (paper, section)

    def __post_init__(self) -> None:
        for name in ("fit_level", "gen_level"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"delay {name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.chance < 1 or self.low_margin < 0:
            raise ConfigError(f"delay chance must be in [0, 1) and low_margin >= 0, got {self.chance}, "
                              f"{self.low_margin}")
        if not (finite(self.ratio) and self.ratio > 1) or self.patience < 1:
            raise ConfigError(f"delay ratio must be > 1 and patience >= 1, got {self.ratio}, {self.patience}")

    @property
    def low_level(self) -> float:
        return self.chance + self.low_margin


@dataclass(frozen=True)
class Delay:
    """The delay measured on one history under `rule`: steps, validation accuracy at the fit, the ratio, whether
    it holds and why (one line). `outcome` is one of OUTCOMES."""

    rule: DelayRule
    fit_step: int | None  # first step of the sustained fit
    val_at_fit: float | None  # validation accuracy at the fit (the last measured at or before it)
    gen_step: int | None  # first step of the sustained generalization
    ratio: float | None  # gen_step / fit_step
    last_step: int | None
    val_peak: float | None  # best validation accuracy from the fit on
    outcome: str
    holds: bool
    reason: str

    def figures(self) -> dict[str, Any]:
        """The measured figures, JSON-able, for a check's `figures`."""
        return {"fit_step": self.fit_step, "val_at_fit": self.val_at_fit, "gen_step": self.gen_step,
                "delay_ratio": self.ratio, "last_step": self.last_step, "outcome": self.outcome}


def _step(value: int | None) -> str:
    return "never" if value is None else f"{value:,}"


def _acc(value: float | None) -> str:
    return "none" if value is None else f"{value:.3g}"


def delayed_generalization(steps: Sequence[Any], train: Sequence[Any], val: Sequence[Any],
                           rule: DelayRule | None = None) -> Delay:
    """The delay (module docstring) of one history given as aligned columns (None where not measured; NaN and
    inf never count as reached)."""
    rule = rule or DelayRule()
    tr, va = rule.train_key, rule.val_key
    last = next((int(s) for s in reversed(steps) if s is not None), None)
    fit = sustained_crossing(steps, train, rule.fit_level, rule.patience)
    gen = sustained_crossing(steps, val, rule.gen_level, rule.patience)
    measured = [(int(s), v) for s, raw in zip(steps, val, strict=False) if (v := finite(raw)) is not None]
    at_fit = next((v for s, v in reversed(measured) if fit is not None and s <= fit), None)
    peak = max((v for s, v in measured if fit is not None and s >= fit), default=None)
    ratio = round(gen / fit, 4) if gen is not None and fit else None

    def result(outcome: str, reason: str) -> Delay:
        return Delay(rule, fit, at_fit, gen, ratio, last, peak, outcome, outcome == "delayed", reason)

    if last is None:
        return result("no evaluations", "no evaluations")
    if fit is None or fit == 0:
        return result("no fit", f"{tr} never held {rule.fit_level:g} for {rule.patience} evaluations"
                      if fit is None else f"{tr} held {rule.fit_level:g} from step 0: no training to time")
    fitted = f"{tr} {rule.fit_level:g} at step {fit:,}"
    if at_fit is None or at_fit > rule.low_level:
        return result("not low", f"{fitted} with {va} {_acc(at_fit)} there (needs <= {rule.low_level:.3g}: "
                                 f"chance {rule.chance:.3g} + {rule.low_margin:g})")
    low = f"{fitted} with {va} {_acc(at_fit)}"
    if gen is None:
        if last >= rule.ratio * fit:
            return result("not reached", f"{low}; {va} never held {rule.gen_level:g} in {last:,} steps "
                                         f"({last / fit:.3g}x the fit; best {_acc(peak)})")
        return result("too soon", f"{low}; {va} never held {rule.gen_level:g} and the run ends at step "
                                  f"{last:,}, before {rule.ratio:g}x the fit")
    if gen < rule.ratio * fit:
        return result("too soon", f"{low}; {va} {rule.gen_level:g} at step {gen:,}, only {ratio:.3g}x later "
                                  f"(needs >= {rule.ratio:g}x)")
    return result("delayed", f"{low}; {va} {rule.gen_level:g} at step {gen:,}, {ratio:.3g}x later "
                             f"(needs >= {rule.ratio:g}x)")


def delay_of(run: Run, rule: DelayRule | None = None) -> Delay:
    """`delayed_generalization` on a loaded run's history (a missing column reads as never measured)."""
    rule = rule or DelayRule()
    steps = run.history.get("step") or []
    n = len(steps)
    return delayed_generalization(steps, run.history.get(rule.train_key) or [None] * n,
                                  run.history.get(rule.val_key) or [None] * n, rule)
