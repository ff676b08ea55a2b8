"""Reading the source files: every failure is a one-line GroklabError naming the file; optional libraries are
imported lazily and a missing one names the extra to install."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from groklab.errors import GroklabError

EXTRA = "pip install 'groklab[import]'"
PACKAGES = {"yaml": "PyYAML"}  # import name -> the name pip installs


def require(module: str, why: str) -> ModuleType:
    """Import an optional dependency; missing: one line saying what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise GroklabError(f"{why} needs {PACKAGES.get(top, top)}: {EXTRA}") from None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GroklabError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GroklabError(f"{path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except ValueError as e:
        raise GroklabError(f"{path}: not valid JSON ({e})") from None


def read_yaml(path: Path) -> Any:
    """YAML through PyYAML's safe loader. Lightning's hparams.yaml holds `!!python/tuple` and similar tags
    (yaml.dump of a tuple or object); they become plain lists, dicts or strings, never Python objects."""
    yaml = require("yaml", f"reading {path.name}")

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("", plain)
    try:
        return yaml.load(read_text(path), Loader=Loader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as e:
        raise GroklabError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML file of settings (hparams.yaml, wandb's config.yaml): a mapping, or empty."""
    data = read_yaml(path)
    if data is not None and not isinstance(data, dict):
        raise GroklabError(f"{path}: expected a mapping of settings, found {type(data).__name__}")
    return data or {}


def number(value: Any) -> Any:
    """A cell as a number where it is one (int, float; NaN and inf stay floats, written as null later); None
    stays None (not logged); text that is not a number stays text (the caller sets such columns aside)."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip()
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                pass
        return value
    return repr(value)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows; an empty cell is absent from its row (not logged then)."""
    text = read_text(path)
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise GroklabError(f"{path}: empty file") from None
    except csv.Error as e:
        raise GroklabError(f"{path}: not valid CSV ({e})") from None
    rows = []
    try:
        for line, cells in enumerate(reader, start=2):
            if len(cells) > len(header):
                raise GroklabError(f"{path}: line {line} has {len(cells)} cells but the header has {len(header)}")
            rows.append({name: number(cell) for name, cell in zip(header, cells, strict=False)
                         if name and cell.strip() != ""})
    except csv.Error as e:
        raise GroklabError(f"{path}: not valid CSV ({e})") from None
    return header, rows
