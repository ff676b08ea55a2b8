"""What a preset is: one paper's core experiment as data."""

from __future__ import annotations

from dataclasses import dataclass

from groklab.config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    paper: str  # authors, year, title, arXiv id
    reproduces: str  # the figure and the number it should reproduce
    config: RunConfig  # CI/laptop-scale defaults; `paper_scale` lists the overrides of the full experiment
    paper_scale: tuple[str, ...] = ()
