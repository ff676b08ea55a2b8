"""Presets: one paper's core experiment each, as data (a RunConfig plus what it reproduces)."""

from __future__ import annotations

from typing import Any

from groklab.config import RunConfig, apply_overrides
from groklab.errors import ConfigError
from groklab.presets import (
    grokfast2024,
    gromov2023,
    humayun2024,
    hydra,
    levi2023,
    liu2022,
    mheight,
    minegishi2023,
    nanda2023,
    omnigrok2022,
    power2022,
    prieto2025,
    thilak2022,
    wang2024,
)
from groklab.presets.base import Preset


def registry() -> dict[str, Preset]:
    presets = [power2022.PRESET, power2022.FIG1, nanda2023.PRESET, grokfast2024.PRESET, grokfast2024.MA,
               minegishi2023.PRESET, liu2022.PRESET, gromov2023.PRESET, gromov2023.DOSHI, prieto2025.PRESET,
               thilak2022.PRESET, omnigrok2022.PRESET, humayun2024.PRESET, mheight.PRESET, mheight.GROKKING,
               hydra.PRESET, hydra.BINDING, levi2023.PRESET, wang2024.PRESET,
               wang2024.COMPARISON]
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


def resolve(config: RunConfig | str | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A RunConfig, a preset name or None (the default preset), with dotted-key overrides applied."""
    if config is None or isinstance(config, str):
        config = get(config or DEFAULT).config
    return apply_overrides(config, overrides or {})


def split_positionals(items: list[str]) -> tuple[str | None, list[str]]:
    """`[PRESET] [KEY=VALUE ...]`: the first item is a preset name unless it looks like a key (has '=' or '.')."""
    if items and "=" not in items[0] and "." not in items[0]:
        return items[0], items[1:]
    return None, items
