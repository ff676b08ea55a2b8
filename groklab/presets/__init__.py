"""Presets: one paper's core experiment each, as data (a RunConfig plus what it reproduces)."""

from __future__ import annotations

from dataclasses import dataclass

from groklab.config import RunConfig
from groklab.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    name: str
    paper: str  # authors, year, title, arXiv id
    reproduces: str  # the figure and the number it should reproduce
    config: RunConfig  # CI/laptop-scale defaults; `paper_scale` lists the overrides of the full experiment
    paper_scale: tuple[str, ...] = ()


def registry() -> dict[str, Preset]:
    from groklab.presets import grokfast2024, minegishi2023, nanda2023, power2022

    presets = [power2022.PRESET, power2022.FIG1, nanda2023.PRESET]
    presets += [grokfast2024.PRESET, grokfast2024.MA, minegishi2023.PRESET]
    from groklab.presets import gromov2023, liu2022, prieto2025, thilak2022

    presets += [liu2022.PRESET, gromov2023.PRESET, gromov2023.DOSHI, prieto2025.PRESET, thilak2022.PRESET]
    from groklab.presets import mheight

    presets += [mheight.PRESET, mheight.GROKKING]  # issue 4
    from groklab.presets import levi2023, wang2024

    presets += [levi2023.PRESET, wang2024.PRESET, wang2024.COMPARISON]  # issue 14
    return {p.name: p for p in presets}


DEFAULT = "power2022"


def get(name: str) -> Preset:
    presets = registry()
    if name not in presets:
        import difflib

        close = difflib.get_close_matches(name, list(presets), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown preset {name!r}{hint}; `groklab presets` lists them")
    return presets[name]
