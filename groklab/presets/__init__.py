"""Presets: one paper's core experiment each, as data (a RunConfig, what it reproduces, the runs its claim needs and
the claim as a check: groklab.presets.base)."""

from __future__ import annotations

from typing import Any

from groklab.analysis.detect import DetectConfig
from groklab.config import RunConfig, apply_overrides
from groklab.errors import ConfigError
from groklab.presets.base import PRESETS, Preset

# Each module registers its presets when imported, in this order: the order of `groklab presets`, the suite and
# STATUS.md.
# isort: off
from groklab.presets import power2022, nanda2023, grokfast2024, minegishi2023, liu2022, gromov2023  # noqa: F401
from groklab.presets import prieto2025, thilak2022, omnigrok2022, humayun2024, mheight, hydra  # noqa: F401
from groklab.presets import levi2023, wang2024  # noqa: F401
# isort: on


def registry() -> dict[str, Preset]:
    """Every registered preset by name, in registration order (a copy: the table itself is PRESETS)."""
    return dict(PRESETS)


DEFAULT = "power2022"


def get(name: str) -> Preset:
    presets = registry()
    if name not in presets:
        import difflib

        close = difflib.get_close_matches(name, list(presets), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown preset {name!r}{hint}; `groklab presets` lists them")
    return presets[name]


def detector_for(cfg: RunConfig) -> DetectConfig | None:
    """The detector settings of the preset a config was made from (by its `name`, which is the preset's unless
    overridden); None (the defaults) for any other name."""
    preset = registry().get(cfg.name)
    return preset.detector() if preset is not None and preset.detect else None


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
