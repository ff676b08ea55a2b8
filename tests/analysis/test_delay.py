"""The one definition of the grokking delay (groklab.analysis.delay) on hand-made histories."""

import math

import pytest

from groklab.analysis.delay import DelayRule, delayed_generalization
from groklab.errors import ConfigError

STEPS = list(range(0, 5001, 50))


def ramp(at: int | None, low: float = 0.01, high: float = 1.0) -> list[float]:
    """`low` before step `at`, `high` from it on (None: never)."""
    return [high if at is not None and s >= at else low for s in STEPS]


def delay(train, val, **rule):
    return delayed_generalization(STEPS, train, val, DelayRule(**rule))


def test_a_delay_holds_with_the_figures():
    d = delay(ramp(200), ramp(2000))
    assert d.holds and d.outcome == "delayed"
    assert (d.fit_step, d.gen_step, d.ratio, d.val_at_fit, d.last_step) == (200, 2000, 10.0, 0.01, 5000)
    assert "10x later (needs >= 5x)" in d.reason and "train/acc 0.99 at step 200" in d.reason


def test_validation_tracking_training_is_no_delay():
    d = delay(ramp(200), ramp(200))
    assert not d.holds and d.outcome == "not low" and "val/acc 1 there" in d.reason


def test_a_slow_gradual_rise_is_no_delay():
    """Validation crosses its level late, but was already well above chance when training fitted."""
    val = [min(1.0, 0.3 + s / 3000) for s in STEPS]
    d = delay(ramp(200), val)
    assert d.gen_step is not None and d.gen_step >= 5 * 200
    assert not d.holds and d.outcome == "not low"


def test_too_soon_and_never_reached():
    soon = delay(ramp(200), ramp(600))
    assert soon.outcome == "too soon" and "only 3x later" in soon.reason
    never = delay(ramp(200), ramp(None))
    assert not never.holds and never.outcome == "not reached" and "25x the fit" in never.reason
    short = delayed_generalization(STEPS[:10], ramp(200)[:10], ramp(None)[:10], DelayRule())
    assert short.outcome == "too soon" and "before 5x the fit" in short.reason


def test_no_fit_and_no_evaluations():
    assert delay(ramp(None, high=0.5), ramp(None)).outcome == "no fit"
    assert delay(ramp(0), ramp(2000)).outcome == "no fit"  # fitted from step 0: nothing to time
    empty = delayed_generalization([], [], [])
    assert empty.outcome == "no evaluations" and not empty.holds


def test_crossings_are_sustained():
    """One evaluation at the level is not a crossing (patience 3); NaN and inf break a stretch."""
    train = ramp(200)
    train[STEPS.index(100)] = 1.0  # a lone early hit
    val = ramp(2000)
    val[STEPS.index(1000)] = 1.0
    d = delay(train, val)
    assert d.fit_step == 200 and d.gen_step == 2000
    val[STEPS.index(2050)] = math.nan
    assert delay(train, val).gen_step == 2100


def test_missing_validation_at_the_fit_reads_the_last_measured_value():
    val = [v if s % 100 == 0 else None for s, v in zip(STEPS, ramp(2000), strict=True)]
    d = delay(ramp(250), val)
    assert d.val_at_fit == 0.01 and d.holds
    assert delay(ramp(250), [None] * len(STEPS)).outcome == "not low"


def test_the_rule_is_per_preset():
    val = [0.3 if s < 2000 else 1.0 for s in STEPS]
    assert not delay(ramp(200), val).holds
    assert delay(ramp(200), val, chance=0.25, low_margin=0.1).holds  # e.g. a 4-class task
    assert not delay(ramp(200), ramp(900), ratio=5).holds
    assert delay(ramp(200), ramp(900), ratio=4).holds
    d = delay(ramp(200, high=0.96), ramp(2000, high=0.96), fit_level=0.95, gen_level=0.95)
    assert d.holds
    with pytest.raises(ConfigError, match="ratio"):
        DelayRule(ratio=1.0)
    with pytest.raises(ConfigError, match="gen_level"):
        DelayRule(gen_level=0.0)
