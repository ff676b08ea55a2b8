"""What differs between runs: dotted config keys for legends, and seed groups for medians.

Both work on flattened config.json (`optim.weight_decay`), the same dotted keys as the CLI overrides, so a
legend reads like the command that made the sweep.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Sequence
from typing import Any

from groklab.config import GROUPS, flatten
from groklab.errors import GroklabError
from groklab.runs import stored_config

# Keys that make repeats of one experiment: different seeds of the same config (and the run's name, which is
# often derived from them). Runs equal on every other key are one group.
SEED_KEYS = ("seed", "task.split_seed")
IGNORED_KEYS = ("name",)
_MISSING = "<missing>"


def _canon(value: Any) -> str:
    """A hashable, order-stable form of a config value (lists and dicts included)."""
    return json.dumps(value, sort_keys=True, default=str)


def comparable(configs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The configs as they compare. A config.json written before config groups holds every key of every task (model,
    optimizer), one written since only its own task's: where two configs of one task name hold different keys of it,
    all are read in today's layout (runs.stored_config; it loads the schemas, so only then). Else as stored."""
    layouts: dict[tuple[str, Any], frozenset[str]] = {}
    for config in configs:
        for group in GROUPS:
            section = config.get(group)
            if isinstance(section, dict) and layouts.setdefault((group, str(section.get("name"))),
                                                                frozenset(section)) != frozenset(section):
                return [_current(c) for c in configs]
    return list(configs)


def _current(config: dict[str, Any]) -> dict[str, Any]:
    with contextlib.suppress(GroklabError):  # a config of no known layout (an imported run's) compares as it is
        return stored_config(config).to_dict() if any(g in config for g in GROUPS) else config
    return config


def differing_keys(configs: Sequence[dict[str, Any]], ignore: Sequence[str] = IGNORED_KEYS) -> list[str]:
    """Dotted keys whose value is not the same in every config (a key missing somewhere counts), sorted."""
    flats = [flatten(c) for c in comparable(configs)]
    keys = sorted({k for f in flats for k in f} - set(ignore))
    return [k for k in keys if len({_canon(f.get(k, _MISSING)) for f in flats}) > 1]


def short_keys(keys: Sequence[str], universe: Sequence[str] = ()) -> dict[str, str]:
    """Shortest dotted suffix unique among `universe` (all keys): optim.weight_decay -> weight_decay.

    Uniqueness is checked against every config key, not only the differing ones, so `model.name` never
    shortens to `name` (the run's own name) and legends stay unambiguous.
    """
    pool = set(keys) | set(universe)
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(1 for other in pool if other == suffix or other.endswith("." + suffix)) == 1:
                out[key] = suffix
                break
        else:
            out[key] = key
    return out


def fmt_value(value: Any) -> str:
    """A config value for a label: floats to 4 significant digits, containers as compact JSON."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value) if not isinstance(value, dict | list) else _canon(value)


MAX_LABEL_KEYS = 4  # more differing keys than this: runs of several presets, labelled preset by preset


def run_labels(configs: Sequence[dict[str, Any]], names: Sequence[str]) -> list[str]:
    """A label per run from the config keys that differ (`weight_decay=0.1, seed=1`), else its name. Runs that
    differ in more than MAX_LABEL_KEYS keys (several presets: a transformer's and an MLP's configs differ in dozens)
    are labelled by their preset (the config's `name`) and the keys that differ among that preset's runs
    (`power2022: weight_decay=0.3`), never by keys of another preset's config."""
    configs = comparable(configs)
    presets = [c.get("name") for c in configs]
    grouped = len(differing_keys(configs)) > MAX_LABEL_KEYS and len(set(presets)) > 1
    out = []
    for config, preset, name in zip(configs, presets, names, strict=True):
        same = [c for c, p in zip(configs, presets, strict=True) if p == preset] if grouped else list(configs)
        keys = differing_keys(same)
        short = short_keys(keys, [k for c in same for k in flatten(c)])
        flat = flatten(config)
        pairs = ", ".join(f"{short[k]}={fmt_value(flat.get(k, '-'))}" for k in keys)
        out.append((f"{preset}: {pairs}" if pairs else str(preset)) if grouped else pairs or name)
    return out


def sort_key(config: dict[str, Any], keys: Sequence[str]) -> tuple:
    """Order runs by their differing values (numbers before strings), so sweep colours run monotonically."""
    flat = flatten(config)
    return tuple((0, v, "") if isinstance(v := flat.get(k), int | float) and not isinstance(v, bool)
                 else (1, 0, _canon(v)) for k in keys)


def seed_groups(configs: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Run indices grouped by equal config apart from SEED_KEYS and the name, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(comparable(configs)):
        flat = {k: v for k, v in flatten(config).items() if k not in (*SEED_KEYS, *IGNORED_KEYS)}
        groups.setdefault(_canon(flat), []).append(i)
    return list(groups.values())


def spread(values: Sequence[int | float | None]) -> dict[str, Any]:
    """Median, min and max of the values that exist, plus how many exist out of how many runs.

    Min-max, not IQR: seed groups are usually 3-5 runs, where quartiles are not meaningful.
    """
    present = [v for v in values if v is not None]
    if not present:
        return {"n": 0, "of": len(values), "median": None, "min": None, "max": None}
    return {"n": len(present), "of": len(values), "median": statistics.median(present),
            "min": min(present), "max": max(present)}
