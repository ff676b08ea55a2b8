"""What a preset is: one paper's core experiment as data, the runs its claim needs, and the claim as a check.

A preset names its claim's runs as `Arm`s per scale (`ci`: minutes on a laptop CPU; `paper`: the paper's budget,
after `paper_scale`), the detector settings its verdicts need, and, where the claim needs a workflow on top of
plain runs, a `Study`. `check` is a pure function of the finished runs (and the study's result) returning a
`Check`; `groklab suite` and the claim tests call the same function, so they assert the same thing.

A check says how much it showed (`Check.status`): `reproduced` only when every element of the preset's headline
claim (`reproduces`) is asserted at that scale and holds; `partial` when what it asserts holds but it names the
elements it does not assert there, and why; `not reproduced` with the measured figures. The suite adds `failed to
run` (a run or the check itself failed: `judge`), `pending` and `not checked`. Every classification check times
the delay with the one definition in `groklab.analysis.delay`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from groklab.analysis.detect import DetectConfig
from groklab.config import RunConfig, apply_overrides
from groklab.errors import ConfigError, GroklabError
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


# What a check can conclude, and what the suite adds for a preset it could not check.
CHECK_STATUSES = ("reproduced", "partial", "not reproduced")
STATUSES = (*CHECK_STATUSES, "failed to run", "pending", "not checked")


@dataclass(frozen=True)
class Headline:
    """One headline number of the paper beside ours: `quantity` in words, the paper's figure, the measured one
    (numbers or short text; None: not measured or never reached), their `unit` ("x", "steps", "" ...) and a `note`
    on what differs (e.g. the scale)."""

    quantity: str
    paper: Any
    measured: Any
    unit: str = ""
    note: str = ""

    def text(self) -> str:
        def show(value: Any) -> str:
            if value is None:
                return "never"
            if isinstance(value, float):
                return f"{value:,.3g}{self.unit}" if abs(value) < 1000 else f"{value:,.0f}{self.unit}"
            if isinstance(value, int) and not isinstance(value, bool):
                return f"{value:,}{self.unit}"
            return f"{value}{self.unit}" if self.unit and not isinstance(value, str) else str(value)

        note = f" ({self.note})" if self.note else ""
        return f"{self.quantity}: paper {show(self.paper)} / measured {show(self.measured)}{note}"

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "paper": self.paper, "measured": self.measured, "unit": self.unit,
                "note": self.note, "text": self.text()}


@dataclass(frozen=True)
class Check:
    """A claim checked on runs: whether every asserted condition holds (`passed`), the claim in words, the measured
    figures behind it, one line that says what was found (the failed conditions when it does not hold), the
    elements of the preset's headline claim that this check does not assert at this scale, each with why
    (`not_asserted`), and the paper's headline numbers beside ours (`headline`).

    `status`: `reproduced` only when every asserted condition holds and nothing of the headline claim is left
    unasserted; `partial` when the asserted conditions hold but `not_asserted` names what is missing; `not
    reproduced` when a condition fails (the detail says which, with the figures)."""

    passed: bool
    claim: str
    figures: dict[str, Any]
    detail: str
    not_asserted: tuple[str, ...] = ()
    headline: tuple[Headline, ...] = ()

    @property
    def status(self) -> str:
        if not self.passed:
            return "not reproduced"
        return "partial" if self.not_asserted else "reproduced"


Checker = Callable[..., Check]  # (runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check


def conclude(claim: str, conditions: list[tuple[bool, str]], figures: dict[str, Any],
             not_asserted: Sequence[str] = (), headline: Sequence[Headline] = ()) -> Check:
    """A Check from (holds, statement) conditions: passed iff all hold; the detail lists the failed statements,
    or all of them when every one holds. `not_asserted` (elements of the headline claim this check leaves out at
    this scale, each with why) makes a pass `partial`; `headline` puts the paper's numbers beside ours."""
    failed = [text for ok, text in conditions if not ok]
    detail = "; ".join(failed if failed else [text for _, text in conditions])
    return Check(not failed and bool(conditions), claim, figures, ("failed: " if failed else "") + detail,
                 tuple(not_asserted), tuple(headline))


@dataclass(frozen=True)
class Outcome:
    """What the suite shows for one preset's check: a status of STATUSES, one line of reason (the failed
    conditions, the elements not asserted, or the error) and the Check when it ran."""

    status: str
    reason: str
    check: Check | None = None


def judge(check: Checker, runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Outcome:
    """Apply a check; a check that raises on the runs it was given (a damaged or partial run: a missing column,
    NaN rows, fewer evaluations than a window) is `failed to run` with one line, never a traceback and never
    `reproduced`."""
    try:
        result = check(runs, study)
    except Exception as e:
        text = str(e) if isinstance(e, GroklabError) else f"the check raised {type(e).__name__}: {e}"
        return Outcome("failed to run", " ".join(text.split())[:300])
    if result.status == "partial":
        reason = "not asserted at this scale: " + "; ".join(result.not_asserted)
    else:
        reason = result.detail
    return Outcome(result.status, reason, result)


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
    measured_at: Mapping[str, str] = field(default_factory=dict)  # scale -> the setting its arms measure, in words
    main: str = ""  # the arm whose curves stand for the claim on the suite page (default: the first)

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


PRESETS: dict[str, Preset] = {}  # name -> preset, filled by the preset modules in the order they register


def register(*presets: Preset) -> None:
    """Add `presets` to PRESETS (what `groklab presets`, the suite and STATUS.md list, in registration order): each
    preset module registers its own presets at its end."""
    for preset in presets:
        if PRESETS.get(preset.name, preset) is not preset:
            raise ValueError(f"preset {preset.name!r} registered twice ({PRESETS[preset.name].paper}; {preset.paper})")
        PRESETS[preset.name] = preset


__all__ = ["CHECK_STATUSES", "PRESETS", "SCALES", "STATUSES", "Arm", "Check", "Checker", "Headline", "Outcome",
           "Preset", "Run", "Study", "conclude", "judge", "register"]
