"""Nothing lost on import (issue 24, class 1): sources damaged in generated ways (cells that are not numbers,
repeated or nameless headers, a byte-order mark, damaged JSON lines, Sacred values that are not numbers, cut or
bit-flipped TensorBoard event files) either import with every readable value kept and each unreadable one named
on stderr, or are refused in one line with exit 2 and nothing written."""

from __future__ import annotations

import csv
import io
import json
import random
import struct
from pathlib import Path

import pytest

from .importing import assert_kept, run_import

JUNK = ["N/A", "—", "?", "1.2.3", "0x", "nan%", "error", "1e", "TRUE", "[1, 2]", "−1", "#VALUE!"]
COLUMNS = ["train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm"]


def history(rng: random.Random, n: int) -> list[dict[str, float]]:
    steps = sorted(rng.sample(range(0, 50 * n), n))
    return [{"step": s, **{c: round(rng.random(), 6) for c in COLUMNS}} for s in steps]


def damaged_csv(seed: int) -> tuple[str, list[tuple[int, str, object, str]]]:
    """A Lightning-style CSV with junk in random cells, sometimes a BOM, a repeated header or a nameless column;
    returns the text and every cell as (step, column name as imported, raw value, line)."""
    rng = random.Random(seed)
    rows = history(rng, rng.randint(3, 25))
    header = ["step", *COLUMNS]
    if seed % 3 == 1:  # a repeated name: the second is kept as `name.1`
        header.append(rng.choice(COLUMNS))
    if seed % 4 == 2:  # a column with values and no name: kept as column_<n>
        header.append("")
    names = ["step"] + [n or f"column_{i}" for i, n in enumerate(header[1:], start=2)]
    names = [n if n not in names[:i] else f"{n}.1" for i, n in enumerate(names)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    cells = []
    for line, row in enumerate(rows, start=2):
        values = [row["step"], *(row.get(c, round(rng.random(), 6)) for c in header[1:])]
        for i in range(1, len(values)):
            if rng.random() < 0.15:
                values[i] = rng.choice(JUNK)
            elif rng.random() < 0.1:
                values[i] = ""  # not logged in this row
            cells.append((row["step"], names[i], values[i], f"line {line}"))
        writer.writerow(values)
    return ("\ufeff" if seed % 5 == 0 else "") + buf.getvalue(), cells


@pytest.mark.parametrize("seed", range(40))
def test_csv_cells_that_are_not_numbers_are_null_and_named(capsys, tmp_path, seed):
    text, cells = damaged_csv(seed)
    src = tmp_path / "metrics.csv"
    src.write_text(text, encoding="utf-8")
    outcome = run_import(capsys, src, tmp_path / "out")
    assert outcome.code == 0, outcome.err
    assert_kept(outcome, cells)
    if seed % 3 == 1:
        assert "again in column" in outcome.err  # the repeated header is said, and both columns kept


@pytest.mark.parametrize("seed", range(20))
def test_damaged_json_lines_are_named_and_the_rest_kept(capsys, tmp_path, seed):
    rng = random.Random(seed)
    rows = history(rng, rng.randint(4, 30))
    lines = [json.dumps(r) for r in rows]
    damaged = sorted(rng.sample(range(len(lines) - 1), rng.randint(1, max(1, len(lines) // 4))))
    for i in damaged:
        lines[i] = rng.choice([lines[i][: len(lines[i]) // 2], "[1, 2]", "null", "\x00\x01garbage", "{" * 200])
    src = tmp_path / "log.jsonl"
    src.write_text("\n".join(lines) + "\n")
    outcome = run_import(capsys, src, tmp_path / "out")
    assert outcome.code == 0
    warning = next(x for x in outcome.err.splitlines() if "lines are not JSON objects" in x)
    assert f"{len(damaged)} lines" in warning and f"line {damaged[0] + 1} (" in warning
    kept = [(r["step"], c, r[c], f"line {i + 1}") for i, r in enumerate(rows) if i not in damaged for c in COLUMNS]
    assert_kept(outcome, kept)


@pytest.mark.parametrize("seed", range(20))
def test_sacred_values_that_are_not_numbers(capsys, tmp_path, seed):
    rng = random.Random(seed)
    rows = history(rng, rng.randint(3, 20))
    metrics, cells = {}, []
    for c in COLUMNS[:4]:
        values = []
        for i, r in enumerate(rows):
            value = r[c] if rng.random() > 0.2 else rng.choice(["N/A", True, [1, 2], {"a": 1}, "x"])
            values.append(value)
            cells.append((r["step"], c, value if not isinstance(value, bool | list | dict) else repr(value),
                          f"{c}[{i}]"))
        metrics[c] = {"steps": [r["step"] for r in rows], "values": values, "timestamps": ["t"] * len(rows)}
    run = tmp_path / "sacred" / "1"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "run.json").write_text(json.dumps({"status": "COMPLETED"}))
    outcome = run_import(capsys, run, tmp_path / "out")
    if outcome.code == 2:  # every value of every metric mapped onto a key unreadable: nothing to import
        assert "no metric maps" in outcome.err
        return
    assert_kept(outcome, cells)


def event_file(tmp_path: Path, n: int) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "tb"))
    for s in range(n):
        writer.add_scalar("train/acc", s / n, s * 10)
        writer.add_scalar("val/acc", s / n / 2, s * 10)
    writer.close()
    return next((tmp_path / "tb").iterdir())


def record_ends(data: bytes) -> set[int]:
    """Byte offsets where a TFRecord ends (a cut there leaves a valid, shorter file: not detectable)."""
    ends, pos = {0}, 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        pos += 12 + length + 4
        ends.add(pos)
    return ends


@pytest.mark.parametrize("seed", range(24))
def test_a_cut_or_flipped_event_file_is_refused(capsys, tmp_path, seed):
    pytest.importorskip("tensorboard")
    path = event_file(tmp_path, 30)
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    if seed % 2:
        ends = record_ends(bytes(data))
        cut = rng.choice([i for i in range(1, len(data)) if i not in ends])
        data = data[:cut]
    else:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    outcome = run_import(capsys, path.parent, tmp_path / "out")
    assert outcome.code == 2 and "damaged after" in outcome.err and "nothing imported" in outcome.err
