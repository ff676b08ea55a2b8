"""Negative controls over the registry, without training: for every preset with a check, histories that lack the
paper's phenomenon (validation tracking training, validation never rising, the arms' roles swapped, an effect
inside seed noise or a tie) must give `not reproduced`, and a history with it the status the check claims at CI
scale. The cases live in one module per preset (`tests/controls/<module>.py`, `CONTROLS = {preset: [...]}`); a
checked preset without a negative case and a positive one fails here: a check that cannot be made to fail is a
defect."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from controls.build import Control, Writer
from groklab.presets import registry
from groklab.presets.base import judge

HERE = Path(__file__).parent
CHECKED = [name for name, preset in registry().items() if preset.check is not None]


def all_controls() -> dict[str, list[Control]]:
    """Every module's CONTROLS, merged by preset name."""
    found: dict[str, list[Control]] = {}
    for path in sorted(HERE.glob("*.py")):
        if path.stem in ("__init__", "build") or path.stem.startswith("test_"):
            continue
        module = importlib.import_module(f"controls.{path.stem}")
        for name, cases in getattr(module, "CONTROLS", {}).items():
            found.setdefault(name, []).extend(cases)
    return found


def scale_of(name: str) -> str:
    return "ci" if registry()[name].arms.get("ci") else "paper"


@pytest.mark.parametrize("name", CHECKED)
def test_every_checked_preset_fails_without_its_phenomenon(name, tmp_path):
    cases = all_controls().get(name, [])
    assert any(c.negative for c in cases), f"{name}: no negative control (add tests/controls/<module>.py)"
    assert any(not c.negative for c in cases), f"{name}: no control with the phenomenon"
    check = registry()[name].check
    wrong = []
    for i, case in enumerate(cases):
        runs, study = case.build(Writer(tmp_path / f"case{i}", name, scale_of(name)))
        outcome = judge(check, runs, study)
        if outcome.status != case.expect:
            wrong.append(f"{case.name}: {outcome.status} (expected {case.expect}): {outcome.reason}")
    assert not wrong, "\n".join(wrong)


def test_the_controls_name_only_presets_that_exist():
    assert set(all_controls()) <= set(registry()), set(all_controls()) - set(registry())
