"""What the CPU speed work (benchmarks/RESULTS.md "CPU: FLOPs, cores, start-up") must not change: the same
models and numbers by the faster paths."""

import pytest
import torch

from groklab.api import resolve
from groklab.engine import MemorySink, meta_model, parameter_count, train
from groklab.engine.common import FORWARD_ROWS, forward_rows
from groklab.models import build_model
from groklab.models.transformer import Transformer
from groklab.tasks import build_task


@pytest.mark.parametrize("preset", ["power2022", "nanda2023", "hydra_gpt2", "mheight", "gromov2023"])
def test_meta_model_has_the_real_models_parameters_without_initialising(preset):
    cfg = resolve(preset, {})
    task = build_task(cfg.task)
    meta = meta_model(cfg, task)
    real = build_model(cfg.model, task)
    assert {n: p.shape for n, p in meta.named_parameters()} == {n: p.shape for n, p in real.named_parameters()}
    assert all(p.is_meta for p in meta.parameters())
    assert parameter_count(cfg, task) == sum(p.numel() for p in real.parameters() if p.requires_grad)


VARIANTS = {
    "power (post-LN)": dict(norm="post", mlp_bias=False, init="torch"),
    "nanda (no LN)": dict(norm="none", mlp_bias=True, init="nanda"),
    "gpt2 (pre-LN)": dict(norm="pre", mlp_bias=True, init="torch"),
    "gpt2 rotary": dict(norm="pre", mlp_bias=True, init="torch", pos="rotary"),
    "resformer": dict(norm="pre", mlp_bias=True, init="torch", values="resformer", learn_mix=True),
    "svformer": dict(norm="pre", mlp_bias=True, init="torch", values="svformer"),
    "memory tokens": dict(norm="pre", mlp_bias=True, init="torch", n_memory=3),
    "bitlinear": dict(norm="pre", mlp_bias=True, init="torch", linear="bitlinear"),
    "right padding": dict(norm="pre", mlp_bias=True, init="gpt2", pad_token=0),
    "right padding, rotary": dict(norm="pre", mlp_bias=True, init="torch", pad_token=0, pos="rotary"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_answer_only_last_block_gives_the_every_position_logits(variant):
    """The last block computes its query, attention output, MLP and unembedding at the answer position only;
    in float64 the logits are those of the full computation to 1e-12, and so are the gradients."""
    torch.manual_seed(0)
    model = Transformer(d_vocab=13, d_out=11, n_ctx=5, d_model=32, n_layers=3, n_heads=4, d_mlp=64, act="gelu",
                        **VARIANTS[variant]).double()
    tokens = torch.randint(1, 13, (64, 5))
    if "pad_token" in VARIANTS[variant]:  # rows of 2 to 5 real tokens, then the pad token 0
        tokens[torch.arange(5) >= torch.randint(2, 6, (64, 1))] = 0
    fast, full = model(tokens), model(tokens, answer_only=False)
    assert (fast - full).abs().max().item() < 1e-12
    grads = [torch.autograd.grad(out.square().sum(), list(model.parameters())) for out in (fast, full)]
    assert max((a - b).abs().max().item() for a, b in zip(*grads, strict=True)) < 1e-10


def test_answer_only_step_is_reproducible_bit_for_bit():
    """Two fresh runs of the same config and seed give the same history, every float equal."""
    overrides = {"task.p": "23", "model.d_model": "32", "model.d_mlp": "64", "train.steps": "12",
                 "train.eval_every": "4", "train.log_checkpoints": "0", "train.checkpoint_every": "12"}
    cfg = resolve("power2022", overrides)
    rows = []
    for _ in range(2):
        sink = MemorySink()
        train(cfg, sink)
        rows.append([{k: v for k, v in r.items() if k != "time"} for r in sink.rows])
    assert rows[0] == rows[1]


TOKEN_PRESETS = ["power2022", "nanda2023", "hydra_gpt2", "gromov2023", "doshi2024", "prieto2025", "thilak2022",
                 "grokfast2024", "minegishi2023", "liu2022_toy", "variable_binding", "wang2024", "wang2024_comparison"]


@pytest.mark.parametrize("preset", [*TOKEN_PRESETS, "levi2023", "mheight"])
def test_evaluation_in_pieces_gives_the_whole_forwards_outputs_bit_for_bit(preset):
    """forward_rows splits a CPU evaluation of token inputs into training-batch-sized forwards: every logged
    number must stay (inputs that are not tokens keep one forward)."""
    cfg = resolve(preset, {})
    task = build_task(cfg.task)
    torch.manual_seed(0)
    model = build_model(cfg.model, task).eval()
    x = torch.cat([task.x_val, task.x_train])[: 3 * FORWARD_ROWS + 77]  # pieces and a short remainder
    assert x.is_floating_point() == (preset not in TOKEN_PRESETS)
    with torch.no_grad():
        assert torch.equal(forward_rows(model, x), model(x))
