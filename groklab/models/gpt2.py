"""The GPT-2 family: pre-LN decoders with a final LayerNorm and MLP biases (groklab.models.transformer), and the
variants the Hydra re-implementation of Power et al. (`ndtippens/grok-tests`) advertised, built so they run.

- `gpt2_transformer`: the plain one (Radford et al. 2019's block order).
- `gpt2_resformer`: value residual learning (Zhou et al. 2024, "Value Residual Learning For Alleviating Attention
  Concentration In Transformers", arXiv 2410.17897, Fig. 2). Every layer n > 1 attends over
  λ_{n,1}·V1 + λ_{n,2}·V_n, V1 the first layer's values, with its own attention matrix A_n. `model.value_mix=identity`
  (default) is the paper's Identity-ResFormer, λ = 0.5 and 0.5 fixed, as the authors' code computes it
  (`0.5*V1 + 0.5*V_n`); `model.value_mix=learnable` is Learnable-ResFormer, a trainable (λ_{n,1}, λ_{n,2}) per layer
  (`blocks.n.v_mix`) starting at 0.5 (they are weight-decayed like every other parameter). Not reproduced: the
  Constant-, Sparse- and Dense-ResFormer ablations.
- `gpt2_svformer`: the paper's SVFormer: every layer uses the first layer's values, U_n = A_n V1, so layers n > 1
  have no W_V (fewer parameters; the paper's KV-cache saving).
- `gpt2_meta`: a GPT-2 whose blocks cross-attend to `model.n_memory` learned memory tokens W_mem [n_memory,
  d_model], shared by all blocks (each block has its own cross-attention projections, `blocks.n.mem`), in a
  sub-layer between self-attention and the MLP: x + Attn(LN x), then + CrossAttn(LN x, W_mem), then + MLP(LN x).
  What it is: input-independent learned key/value slots, i.e. the persistent memory vectors of Sukhbaatar et al.
  2019 ("Augmenting Self-attention with Persistent Memory", arXiv 1907.01470), read through a separate
  cross-attention as a decoder reads its encoder (Vaswani et al. 2017); the memory is a parameter, not updated by
  the layers as in the Memory Transformer (Burtsev et al. 2020, arXiv 2006.11527), and nothing attends back to
  the input as in Perceiver latents. It is *not* the reference repository's "meta-learning frames" design, which
  was never wired into its model (its forward references an undefined `position_ids`). `model.n_memory=0` leaves
  a plain GPT-2.

GPT-2 as its authors train it (Radford et al. 2019; the HF GPT2LMHeadModel that Wang et al. 2024 train from
scratch): `model.init=gpt2` (every weight N(0, 0.02), the two projections into the residual stream of each block,
W_O and W_out, N(0, 0.02 / sqrt(2 n_layers)); biases 0, LayerNorm (1, 0)), `model.tie_embeddings` (logits = x W_E^T,
GPT-2's tied LM head; the task must predict its own vocabulary) and `model.dropout` (GPT-2: 0.1 on the embeddings,
the attention weights and both residual branches). Not GPT-2: no biases on the attention projections, and exact
(erf) GELU where GPT-2 uses the tanh approximation.

`model.pos=rotary` (every model here) replaces W_pos by rotary positions on queries and keys (Su et al. 2021);
the reference's GPT-2 Meta used rotary positions. `model.linear=bitlinear` (groklab.models.bitlinear) applies to
these and the other transformers and MLPs.
"""

from __future__ import annotations

from groklab.config import ModelConfig
from groklab.errors import ConfigError
from groklab.models.bitlinear import LINEARS
from groklab.models.registry import register, token_sizes
from groklab.models.transformer import Transformer
from groklab.tasks.base import TaskData

GPT2_MODELS = ("gpt2_transformer", "gpt2_resformer", "gpt2_svformer", "gpt2_meta")
VALUES = {"gpt2_transformer": "own", "gpt2_resformer": "resformer", "gpt2_svformer": "svformer", "gpt2_meta": "own"}
POSITIONS = ("learned", "rotary")
VALUE_MIXES = ("identity", "learnable")
INITS = ("torch", "gpt2")
TRANSFORMERS = ("power_transformer", "nanda_transformer", *GPT2_MODELS)
BITLINEAR_MODELS = (*TRANSFORMERS, "mlp", "tickets_mlp", "mlp_concat")  # models with hidden linear layers


def check_model_keys(cfg: ModelConfig) -> None:
    """One-line ConfigErrors for model.linear, model.pos, model.n_memory and model.value_mix."""
    default = ModelConfig()
    if cfg.linear not in LINEARS:
        raise ConfigError(f"model.linear={cfg.linear!r}: expected one of {', '.join(LINEARS)}")
    if cfg.linear == "bitlinear" and cfg.name not in BITLINEAR_MODELS:
        raise ConfigError(f"model.linear=bitlinear applies to {', '.join(BITLINEAR_MODELS)} (got model.name="
                          f"{cfg.name})")
    if cfg.linear == "bitlinear" and cfg.name in ("mlp", "mlp_concat") and cfg.n_layers < 2:
        raise ConfigError(f"model.linear=bitlinear quantises the hidden-to-hidden layers of {cfg.name}; with "
                          f"model.n_layers={cfg.n_layers} there are none (set model.n_layers >= 2)")
    if cfg.pos not in POSITIONS:
        raise ConfigError(f"model.pos={cfg.pos!r}: expected one of {', '.join(POSITIONS)}")
    if cfg.pos != default.pos and cfg.name not in GPT2_MODELS:
        raise ConfigError(f"model.pos={cfg.pos} applies to {', '.join(GPT2_MODELS)} (got model.name={cfg.name})")
    if cfg.pos == "rotary" and cfg.n_heads > 0 and (cfg.d_model // cfg.n_heads) % 2:
        raise ConfigError(f"model.pos=rotary needs an even head width; d_model/n_heads = {cfg.d_model}/"
                          f"{cfg.n_heads} is odd")
    if cfg.n_memory < 0:
        raise ConfigError(f"model.n_memory must be >= 0 (got {cfg.n_memory})")
    if cfg.n_memory != default.n_memory and cfg.name != "gpt2_meta":
        raise ConfigError(f"model.n_memory applies to model.name=gpt2_meta only (got model.name={cfg.name})")
    if cfg.value_mix not in VALUE_MIXES:
        raise ConfigError(f"model.value_mix={cfg.value_mix!r}: expected one of {', '.join(VALUE_MIXES)}")
    if cfg.value_mix != default.value_mix and cfg.name != "gpt2_resformer":
        raise ConfigError(f"model.value_mix applies to model.name=gpt2_resformer only (got model.name={cfg.name})")
    if cfg.name in GPT2_MODELS and cfg.init not in INITS:
        raise ConfigError(f"model.init={cfg.init!r}: {cfg.name} expects one of {', '.join(INITS)}")
    for key in ("tie_embeddings", "dropout"):
        if getattr(cfg, key) != getattr(default, key) and cfg.name not in GPT2_MODELS:
            raise ConfigError(f"model.{key} applies to {', '.join(GPT2_MODELS)} (got model.name={cfg.name})")


@register(*GPT2_MODELS)
def build_gpt2(cfg: ModelConfig, task: TaskData) -> Transformer:
    """A GPT-2 family model: pre-LN with a final LayerNorm, MLP biases, torch's default init or GPT-2's."""
    sizes, common = token_sizes(cfg, task, own_init=True)
    if cfg.tie_embeddings and sizes["d_out"] != sizes["d_vocab"]:
        raise ConfigError(f"model.tie_embeddings needs a task whose answers are tokens of its input vocabulary "
                          f"(this one has {sizes['d_out']} classes and {sizes['d_vocab']} input tokens)")
    return Transformer(**sizes, **common, norm="pre", mlp_bias=True, init=cfg.init, pos=cfg.pos, linear=cfg.linear,
                       values=VALUES[cfg.name], learn_mix=cfg.value_mix == "learnable",
                       n_memory=cfg.n_memory if cfg.name == "gpt2_meta" else 0, tie=cfg.tie_embeddings,
                       dropout=cfg.dropout)
