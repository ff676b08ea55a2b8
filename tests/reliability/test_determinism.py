"""The same config and seed give the same numbers (issue 11): bitwise, with the machine's default thread count."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from groklab.api import resolve
from groklab.engine import MemorySink, train
from groklab.io import read_jsonl

from .conftest import TINY

MODELS = [{}, {"model.name": "nanda_transformer"}, {"model.name": "gpt2_transformer"}, {"model.name": "mlp"},
          {"model.name": "tickets_mlp", "model.d_mlp": "8"}, {"model.name": "mlp_concat", "model.n_layers": "1"}]


def without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


@pytest.mark.parametrize("extra", MODELS, ids=lambda e: e.get("model.name", "power_transformer"))
def test_every_model_trains_bitwise_identically_on_two_threads(extra):
    """Embedding lookups through F.embedding, not `W_E[tokens]`: index_put's CPU backward adds in thread order."""
    # Large enough for the CPU kernels to split work across threads (vocabulary 99, 512 x 4 tokens a batch).
    overrides = dict(a.split("=", 1) for a in TINY) | {"task.p": "97", "train.batch_size": "512",
                                                        "train.steps": "4", "train.eval_every": "4"}
    cfg = resolve(resolve(None, overrides), extra)  # a new model.name keeps the widths it takes
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [MemorySink(), MemorySink()]
        for sink in runs:
            train(cfg, sink)
    finally:
        torch.set_num_threads(threads)
    assert without_time(runs[0].rows) == without_time(runs[1].rows)
    for k, v in runs[0].latest["model"].items():
        assert torch.equal(v, runs[1].latest["model"][k]), k


@pytest.mark.slow
def test_two_fresh_processes_with_default_threads_write_the_same_history(tmp_path):
    args = [*TINY, "task.op=x/y", "task.p=23", "train.steps=300", "train.batch_size=64", "train.eval_every=50",
            "--quiet"]
    for out in ("a", "b"):
        proc = subprocess.run([sys.executable, "-m", "groklab.cli", "run", *args, "--out", str(tmp_path / out)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
    a, b = (without_time(read_jsonl(next((tmp_path / o).iterdir()) / "metrics.jsonl").rows) for o in ("a", "b"))
    assert len(a) > 10 and a == b
