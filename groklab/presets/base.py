"""What a preset is: one paper's core experiment as data, the runs its claim needs, and the claim as a check.

A preset names its claim's runs as `Arm`s per scale (`ci`: minutes on a laptop CPU; `paper`: the paper's budget,
after `paper_scale`), the detector settings its verdicts need, and, where the claim needs a workflow on top of
plain runs, a `Study`. `check` is a pure function of the finished runs (and the study's result) returning a
`Check`; `groklab suite` and the claim tests call the same function, so they assert the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from groklab.analysis.detect import DetectConfig
from groklab.config import RunConfig, apply_overrides
from groklab.errors import ConfigError
from groklab.runs import Run

SCALES = ("ci", "paper")
STUDIES = ("tickets", "fourier")


@dataclass(frozen=True)
class Arm:
    """One run a claim needs: dotted overrides relative to the preset's config (at paper scale, applied after
    `paper_scale`)."""

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """A workflow the claim needs on top of the arm `arm`: `tickets` (groklab.studies.tickets, the arm is the
    dense run) or `fourier` (Nanda's progress measures on the arm's checkpoints); `options` maps a scale to the
    workflow's keyword arguments (run_tickets', fourier_progress')."""

    kind: str
    arm: str
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in STUDIES:
            raise ConfigError(f"study {self.kind!r}: expected one of {', '.join(STUDIES)}")


@dataclass(frozen=True)
class Check:
    """A claim checked on runs: whether it holds, the claim in words, the measured figures behind it, and one line
    that says what was found (the failed conditions when it does not hold)."""

    passed: bool
    claim: str
    figures: dict[str, Any]
    detail: str


Checker = Callable[..., Check]  # (runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check


def conclude(claim: str, conditions: list[tuple[bool, str]], figures: dict[str, Any]) -> Check:
    """A Check from (holds, statement) conditions: passed iff all hold; the detail lists the failed statements,
    or all of them when every one holds."""
    failed = [text for ok, text in conditions if not ok]
    detail = "; ".join(failed if failed else [text for _, text in conditions])
    return Check(not failed, claim, figures, ("failed: " if failed else "") + detail)


@dataclass(frozen=True)
class Preset:
    name: str
    paper: str  # authors, year, title, arXiv id
    reproduces: str  # the figure and the number it should reproduce
    config: RunConfig  # CI/laptop-scale defaults; `paper_scale` lists the overrides of the full experiment
    paper_scale: tuple[str, ...] = ()
    arms: Mapping[str, tuple[Arm, ...]] = field(default_factory=dict)  # scale -> the runs `check` needs
    check: Checker | None = None  # the claim as a pure function of the arms' runs (and the study's result)
    detect: tuple[str, ...] = ()  # detector settings (DetectConfig key=value) of this preset's verdicts
    study: Study | None = None  # a workflow on top of the arms (tickets, Fourier progress measures)
    note: Mapping[str, str] = field(default_factory=dict)  # scale -> why no arms (or no check) are declared there

    def detector(self) -> DetectConfig:
        return DetectConfig.from_overrides(self.detect)

    def configs(self, scale: str) -> dict[str, RunConfig]:
        """The config of every arm at `scale` ({} when the preset declares none there)."""
        if scale not in SCALES:
            raise ConfigError(f"--scale {scale!r}: expected one of {', '.join(SCALES)}")
        base = self.config
        if scale == "paper":
            base = apply_overrides(base, dict(item.split("=", 1) for item in self.paper_scale))
        return {arm.name: apply_overrides(base, dict(arm.overrides)) for arm in self.arms.get(scale, ())}


__all__ = ["SCALES", "Arm", "Check", "Checker", "Preset", "Run", "Study", "conclude"]
