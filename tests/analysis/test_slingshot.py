"""Slingshot cycles and the split of validation accuracy's rise around their onsets (groklab.analysis.slingshot)."""

import pytest

from groklab.analysis.slingshot import cycles, gains
from groklab.runs import columns


def history(spikes: dict[int, list[float]], total: int = 1000):
    """The loss at 1e-7 with, at each key, the listed spike values on consecutive steps."""
    loss = {s + i: v for s, values in spikes.items() for i, v in enumerate(values)}
    return columns([{"step": s, "train/loss": loss.get(s, 1e-7)} for s in range(total + 1)])


def test_cycles_merge_aftershocks_and_windows_come_from_the_onsets():
    found = cycles(history({200: [5.0, 0.5], 205: [1e-3], 600: [8.0]}))
    assert [(c.onset, c.spikes, c.end) for c in found] == [(200, 2, 400), (600, 1, 800)]
    assert found[0].peak == 5.0 and found[0].baseline == pytest.approx(1e-7)
    # one cycle: its window reaches halfway to the end of the run
    assert [(c.onset, c.end) for c in cycles(history({600: [8.0]}))] == [(600, 800)]


def test_small_spikes_or_spikes_from_a_high_loss_are_not_slingshots():
    assert cycles(history({300: [5e-5]})) == []  # up 500x only
    high = columns([{"step": s, "train/loss": 10.0 if s == 300 else 1e-3} for s in range(1001)])
    assert cycles(high) == []  # from 1e-3, above the 1e-6 floor


def test_gains_split_the_rise_inside_and_outside_the_windows():
    steps = [0, 100, 200, 300, 400, 500]
    val = [0.0, 0.1, 0.1, 0.7, 0.9, 0.85]
    g = gains(steps, val, [(250, 450)], start=50)
    assert g.inside == pytest.approx(0.8) and g.outside == pytest.approx(0.1)
    assert g.share == pytest.approx(0.8 / 0.9) and g.largest_step == 300 and g.largest_inside
    assert gains(steps, [0.0] * 6, [(250, 450)]).share is None
