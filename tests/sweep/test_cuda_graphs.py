"""The CUDA fast path: the captured step replays the reference loop as the eager engine does (needs a GPU;
skipped on CI).

Run on a GPU machine with `python -m pytest tests/sweep/test_cuda_graphs.py`.
"""

import pytest
import torch

from groklab.config import RunConfig, apply_overrides
from groklab.engine import MemorySink, train, train_many, vectorized
from groklab.engine.graphs import GraphedStep
from groklab.runs import execute, load_run

from .test_vectorized import assert_rows_match, configs

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def graphs(monkeypatch):
    """Every GraphedStep the engine makes, to count its captures."""
    made = []

    class Recorded(GraphedStep):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(vectorized, "GraphedStep", Recorded)
    return made


@pytest.mark.parametrize(("dtype", "extra", "rtol", "captures"), [
    ("float64", {}, 1e-9, 2),
    ("float64", {"optim.name": "adam", "optim.grokfast": "ema", "optim.l1": "1e-4"}, 1e-9, 2),
    ("float64", {"train.batch_size": "full"}, 1e-9, 1),
    ("float32", {}, 1e-4, 2),
])
def test_captured_members_equal_plain_runs(tiny, graphs, dtype, extra, rtol, captures):
    """20 steps of minibatches of 16 out of 60 rows: a graph for the batch of 16 and one for an epoch's last
    batch of 12 (one graph with the full batch), captured and replayed; every member's history equals its plain
    run on the same GPU."""
    cfgs = configs(tiny, **{"train.device": "cuda", "train.dtype": dtype, "train.loss_dtype": dtype, **extra})
    sinks = [MemorySink() for _ in cfgs]
    train_many(cfgs, sinks)
    eager = [MemorySink() for _ in cfgs]
    train_many([apply_overrides(c, {"train.cuda_graphs": False}) for c in cfgs], eager)
    assert [g.captured for g in graphs] == [captures, 0]
    for cfg, sink, same in zip(cfgs, sinks, eager, strict=True):
        assert_rows_match(same.rows, sink.rows, 1e-6)  # the replay runs the eager step's kernels
        ref = MemorySink()
        train(cfg, ref)
        assert_rows_match(ref.rows, sink.rows, rtol)
        for k, v in ref.latest["model"].items():
            torch.testing.assert_close(sink.latest["model"][k].cpu(), v.cpu(), rtol=rtol, atol=1e-6)


def test_a_member_leaving_after_capture_recaptures(tiny, graphs):
    """lr 100 with a 20-step warm-up diverges around step 10, after the capture: the graph is captured again for
    the remaining member, which trains on as its plain run does."""
    cuda = tiny | {"train.device": "cuda", "train.steps": "30"}
    cfgs = [apply_overrides(RunConfig(), cuda | {"seed": "0"}),
            apply_overrides(RunConfig(), cuda | {"seed": "1", "optim.lr": "100", "optim.warmup_steps": "20"})]
    sinks = [MemorySink() for _ in cfgs]
    outcomes = train_many(cfgs, sinks)
    assert [o.status for o in outcomes] == ["completed", "diverged"]
    assert outcomes[1].steps > 3 and graphs[0].captured > 2
    ref = MemorySink()
    train(cfgs[0], ref)
    assert_rows_match(ref.rows, sinks[0].rows, 1e-4)


def test_a_single_cuda_run_takes_the_captured_path(tmp_path, tiny, graphs):
    """`groklab run` on CUDA trains a vectorisable config through the captured engine; its folder resumes in
    the history of the plain loop."""
    cfg = apply_overrides(RunConfig(), tiny | {"train.device": "cuda", "train.dtype": "float64",
                                               "train.loss_dtype": "float64"})
    path, _ = execute(cfg, out=tmp_path)
    assert graphs and graphs[0].captured == 2
    rows = load_run(path).history
    ref = MemorySink()
    train(cfg, ref)
    assert rows["val/acc"] == pytest.approx([r["val/acc"] for r in ref.rows], rel=1e-9)
    assert rows["train/loss"] == pytest.approx([r["train/loss"] for r in ref.rows], rel=1e-9)


def test_compiled_step_equals_the_eager_one(tiny, graphs):
    """train.compile: the compiled forward/backward (two batch shapes, two compilations) inside the captured
    step gives each member the history of its plain run, to float32 tolerance."""
    cfgs = configs(tiny, **{"train.device": "cuda", "train.compile": "true"})
    sinks = [MemorySink() for _ in cfgs]
    train_many(cfgs, sinks)
    assert graphs[0].captured == 2
    for cfg, sink in zip(cfgs, sinks, strict=True):
        ref = MemorySink()
        train(cfg, ref)
        assert_rows_match(ref.rows, sink.rows, 1e-4)


def test_tf32_is_scoped_to_the_run(tiny):
    """train.tf32 turns TF32 matmuls on for the run only; the losses stay within TF32's error of float32's."""
    before = torch.backends.cuda.matmul.allow_tf32
    cfg = apply_overrides(RunConfig(), tiny | {"train.device": "cuda"})
    exact, fast = MemorySink(), MemorySink()
    train_many([cfg], [exact])
    train_many([apply_overrides(cfg, {"train.tf32": "true"})], [fast])
    assert torch.backends.cuda.matmul.allow_tf32 == before
    for a, b in zip(exact.rows, fast.rows, strict=True):
        assert b["train/loss"] == pytest.approx(a["train/loss"], rel=2e-2)
