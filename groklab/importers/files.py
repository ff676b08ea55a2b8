"""Reading the source files: every failure is a one-line GroklabError naming the file; optional libraries are
imported lazily and a missing one names the extra to install.

Shape and size are checked here, at the edge: a text file larger than this machine's memory can parse, JSON or
YAML nested deeper than any run record needs (`io.MAX_DEPTH`), a YAML alias that expands beyond `MAX_NODES`
values (an alias bomb) or contains itself, and integers too large for a float are refused or marked before any
reader works on them.
"""

from __future__ import annotations

import csv
import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from groklab.config import PARSED_BYTES, check_size
from groklab.errors import GroklabError
from groklab.io import depth_error, loads, read_bytes

PACKAGES = {"yaml": "PyYAML"}  # import name -> the name pip installs
EXTRAS = {"wandb": "wandb"}  # import name -> the groklab extra that installs it (default: import)
MAX_NODES = 100_000  # values a YAML settings file may expand to through its aliases (Lightning's: a few hundred)


def require(module: str, why: str) -> ModuleType:
    """Import an optional dependency; missing: one line saying what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise GroklabError(f"{why} needs {PACKAGES.get(top, top)}: pip install "
                           f"'groklab[{EXTRAS.get(top, 'import')}]'") from None


def read_text(path: Path) -> str:
    """A text source, without a UTF-8 byte-order mark; refused before reading when parsing it would not fit in
    memory."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_bytes says what is wrong
    check_size(f"reading {path} ({size:,} bytes)", size * PARSED_BYTES, "import a smaller file, or split it")
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GroklabError(f"{path}: cannot read it (not UTF-8 text: byte {e.start})") from None


def read_json(path: Path) -> Any:
    try:
        return loads(read_text(path))
    except ValueError as e:
        raise GroklabError(f"{path}: not valid JSON ({e})") from None


def read_yaml(path: Path) -> Any:
    """YAML through PyYAML's safe loader. Lightning's hparams.yaml holds `!!python/tuple` and similar tags
    (yaml.dump of a tuple or object); they become plain lists, dicts or strings, never Python objects. Aliases
    are followed only while the document stays small and finite (see the module docstring)."""
    yaml = require("yaml", f"reading {path.name}")

    class Loader(yaml.SafeLoader):
        def construct_document(self, node: Any) -> Any:
            why = _expansion_error(node, yaml)
            if why:
                raise GroklabError(f"{path}: refused: {why}")
            return super().construct_document(node)

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("", plain)
    try:
        data = yaml.load(read_text(path), Loader=Loader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as e:
        raise GroklabError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    except RecursionError:
        raise GroklabError(f"{path}: refused: nested too deeply") from None
    except ValueError as e:  # PyYAML's own int(): more digits than Python converts
        raise GroklabError(f"{path}: not valid YAML ({str(e).splitlines()[0][:100]})") from None
    why = depth_error(data)
    if why:
        raise GroklabError(f"{path}: refused: {why}")
    return data


def _expansion_error(root: Any, yaml: ModuleType) -> str | None:
    """Why a composed YAML document is unsafe to construct (an alias cycle, or more than MAX_NODES values once
    every alias is expanded), or None. Counts with memoised subtree sizes, so a bomb is measured, not built."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = node.value if isinstance(node, yaml.SequenceNode) else (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
        if done:
            busy.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                return f"its aliases expand to more than {MAX_NODES:,} values (an alias bomb?)"
            continue
        if id(node) in sizes:
            continue
        if id(node) in busy:
            return "an alias refers to the value that contains it (a recursive alias)"
        busy.add(id(node))
        stack.append((node, True))
        stack += [(c, False) for c in children if id(c) not in sizes]
        if len(stack) > 10 * MAX_NODES:
            return f"more than {MAX_NODES:,} values"
    return None


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML file of settings (hparams.yaml, wandb's config.yaml): a mapping, or empty."""
    data = read_yaml(path)
    if data is not None and not isinstance(data, dict):
        raise GroklabError(f"{path}: expected a mapping of settings, found {type(data).__name__}")
    return data or {}


def number(value: Any) -> Any:
    """A cell as a number where it is one (int, float; NaN and inf stay floats, written as null later; an integer
    too large for a float becomes inf); None stays None (not logged); text that is not a number stays text (the
    caller counts such cells), and any other value (a bool, a list) becomes its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
        return value
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        for parse in (int, float):
            try:
                return number(parse(text))
            except ValueError:  # not a number, or digits beyond int()'s limit (float() still reads those)
                pass
        return value
    return repr(value)


@dataclass(frozen=True)
class Csv:
    header: list[str]
    rows: list[dict[str, Any]]  # an empty cell is absent from its row (not logged then)
    lines: list[str]  # where each row is ("line 7")
    warnings: list[str]  # what the header needed


def read_csv(path: Path) -> Csv:
    """A CSV with a header. A repeated name is kept as `name.1`, `name.2` (pandas' convention) and a nameless
    column with values as `column_<n>`, so no column's cells are lost; each such change is a warning."""
    reader = csv.reader(read_text(path).splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise GroklabError(f"{path}: empty file") from None
    except csv.Error as e:
        raise GroklabError(f"{path}: not valid CSV ({e})") from None
    names, warnings = unique_names(header, path)
    rows, lines = [], []
    try:
        for cells in reader:
            if len(cells) > len(header):
                raise GroklabError(f"{path}: line {reader.line_num} has {len(cells)} cells but the header has "
                                   f"{len(header)}")
            rows.append({name: number(cell) for name, cell in zip(names, cells, strict=False) if cell.strip()})
            lines.append(f"line {reader.line_num}")
    except csv.Error as e:
        raise GroklabError(f"{path}: not valid CSV ({e})") from None
    for i, (raw, name) in enumerate(zip(header, names, strict=True), start=1):
        if not raw.strip() and any(name in row for row in rows):
            warnings.append(f"{path}: column {i} has values but no name in the header: imported as {name!r}")
    return Csv(names, rows, lines, warnings)


def unique_names(header: list[str], path: Path) -> tuple[list[str], list[str]]:
    """The header's names, each once: a repeated name is kept as `name.1`, `name.2`, a missing one as `column_<n>`;
    with a warning for each renamed column."""
    names: list[str] = []
    warnings = []
    for i, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{i}"
        base, n = name, 0
        while name in names:
            n += 1
            name = f"{base}.{n}"
        if n:
            warnings.append(f"{path}: the header names {base!r} again in column {i}: imported as {name!r}")
        names.append(name)
    return names, warnings
