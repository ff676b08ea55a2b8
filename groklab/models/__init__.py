"""Models: the Power 2022 and Nanda 2023 transformers, and a one-hot MLP (papers.md §01, §03)."""

from __future__ import annotations

from torch import nn

from groklab.config import ModelConfig
from groklab.errors import ConfigError
from groklab.models.concat import build_concat_mlp
from groklab.models.gpt2 import GPT2_MODELS, build_gpt2, check_model_keys
from groklab.models.heads import build_group_heads
from groklab.models.image_mlp import build_image_mlp
from groklab.models.linear import build_linear_student
from groklab.models.mlp import OneHotMLP
from groklab.models.moe import MHEIGHT_MODELS, build_mheight_model
from groklab.models.tickets import TicketsMLP
from groklab.models.toy import build_liu_toy
from groklab.models.transformer import Transformer
from groklab.tasks import TaskData

MODELS = ("power_transformer", "nanda_transformer", "gpt2_transformer", "mlp", "tickets_mlp", "mlp_concat", "liu_toy")
MODELS += MHEIGHT_MODELS  # regression on vector inputs: the m-height expert and its mixture (issue 4)
MODELS += GPT2_MODELS[1:]  # ResFormer, SVFormer, GPT-2 with memory tokens (issue 16; groklab.models.gpt2)
MODELS += ("image_mlp",)  # Omnigrok / Humayun 2024 MNIST MLP (issue 13)
MODELS += ("linear",)  # Levi 2023's linear student (issue 14)
MODELS += ("group_heads",)  # m-height: a residual MLP with one head per (n, k, m) group (issue 17)


def build_model(cfg: ModelConfig, task: TaskData) -> nn.Module:
    check_model_keys(cfg)  # model.linear, model.pos, model.n_memory, model.value_mix
    if cfg.name == "mlp_concat":  # Gromov 2023, Doshi 2024, Prieto 2025: concatenated one-hot operands
        return build_concat_mlp(cfg, task)
    if cfg.name == "liu_toy":  # Liu et al. 2022's addition toy
        return build_liu_toy(cfg, task)
    if cfg.name == "image_mlp":  # Omnigrok and Humayun 2024: MLP on flattened images, α-scaled init
        return build_image_mlp(cfg, task)
    if cfg.name == "linear":  # Levi et al. 2023: S^T x, or S1^T sigma(S0^T x)
        return build_linear_student(cfg, task)
    if cfg.name in MHEIGHT_MODELS:  # the regression branch: vector inputs, one output (mheight.md §4.6)
        return build_mheight_model(cfg, task)
    if cfg.name == "group_heads":  # m-height, one head per (n, k, m) group (issue 17)
        return build_group_heads(cfg, task)
    own_init = cfg.init == "torch" or cfg.name in GPT2_MODELS  # the GPT-2 family takes model.init=gpt2
    if cfg.act not in ("relu", "gelu") or not cfg.bias or not own_init or cfg.init_scale != 1:
        raise ConfigError(f"model.name={cfg.name} takes model.act=relu or gelu; model.bias, model.init and "
                          "model.init_scale apply to mlp_concat and liu_toy only (model.init=gpt2: the GPT-2 family)")
    if task.vocab_size is None or task.n_classes is None:
        raise ConfigError(f"model.name={cfg.name} needs a token classification task")
    sizes = dict(d_vocab=task.vocab_size, d_out=task.n_classes, n_ctx=task.seq_len)
    if task.meta.get("padding") == "right":  # the transformers read each row's answer at its last real token
        sizes["pad_token"] = task.meta["pad_token"]
    common = dict(d_model=cfg.d_model, n_layers=cfg.n_layers, n_heads=cfg.n_heads, d_mlp=cfg.d_mlp, act=cfg.act)
    if cfg.name == "power_transformer":  # post-LN, bias-free linears, learned positions, torch default init
        return Transformer(**sizes, **common, norm="post", mlp_bias=False, init="torch", linear=cfg.linear)
    if cfg.name == "nanda_transformer":  # no LayerNorm, MLP biases only, Nanda's init
        return Transformer(**sizes, **common, norm="none", mlp_bias=True, init="nanda", linear=cfg.linear)
    if cfg.name in GPT2_MODELS:  # pre-LN with a final LayerNorm, MLP biases, and its variants
        return build_gpt2(cfg, sizes, common)
    if cfg.name == "mlp":  # an MLP sees every position: padding needs no special reading
        return OneHotMLP(sizes["d_vocab"], sizes["n_ctx"], sizes["d_out"], cfg.d_mlp, cfg.n_layers, cfg.act,
                         cfg.linear)
    if cfg.name == "tickets_mlp":  # Minegishi 2023: d_model = embedding width, d_mlp = hidden width
        return TicketsMLP(sizes["d_vocab"], sizes["n_ctx"], sizes["d_out"], cfg.d_model, cfg.d_mlp, cfg.act,
                          cfg.linear)
    raise ConfigError(f"model.name={cfg.name!r}: expected one of {', '.join(MODELS)}")


def count_parameters(model: nn.Module, embeddings: bool = True) -> int:
    """Parameter count; embeddings=False leaves out W_E, W_pos and W_U (Power's "non-embedding" count)."""
    skip = () if embeddings else ("W_E", "W_pos", "W_U")
    return sum(p.numel() for n, p in model.named_parameters() if n.rsplit(".", 1)[-1] not in skip)
