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

from dataclasses import dataclass
from typing import Any

from groklab.config import MAX_WIDTH, check_count
from groklab.errors import ConfigError
from groklab.models.registry import register, token_sizes
from groklab.models.transformer import Transformer, TransformerConfig
from groklab.tasks.base import TaskData

POSITIONS = ("learned", "rotary")
VALUE_MIXES = ("identity", "learnable")
INITS = ("torch", "gpt2")


@dataclass(frozen=True)
class GPT2Config(TransformerConfig):
    """The GPT-2 family's settings; a variant with keys of its own subclasses it, and `variant()` says what its
    blocks do differently."""

    name: str = "gpt2_transformer"  # gpt2_transformer | gpt2_resformer | gpt2_svformer | gpt2_meta
    init: str = "torch"  # torch | gpt2 (Radford et al. 2019: N(0, 0.02), residual projections / sqrt(2 n_layers))
    tie_embeddings: bool = False  # the unembedding is W_E transposed (GPT-2's tied LM head)
    dropout: float = 0.0  # dropout on embeddings, attention weights and residual branches (GPT-2: 0.1)
    pos: str = "learned"  # learned absolute positions | rotary (RoPE on queries and keys)

    def variant(self) -> dict[str, Any]:
        """The Transformer options of this variant: the plain GPT-2's blocks compute their own values."""
        return dict(values="own")

    def check(self) -> None:
        super().check()
        if self.init not in INITS:
            raise ConfigError(f"model.init={self.init!r}: {self.name} expects one of {', '.join(INITS)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1) (got {self.dropout})")
        if self.pos not in POSITIONS:
            raise ConfigError(f"model.pos={self.pos!r}: expected one of {', '.join(POSITIONS)}")
        if self.pos == "rotary" and self.d_head % 2:
            raise ConfigError(f"model.pos=rotary needs an even head width; d_model/n_heads = {self.d_model}/"
                              f"{self.n_heads} is odd")


@dataclass(frozen=True)
class ResFormerConfig(GPT2Config):
    name: str = "gpt2_resformer"
    value_mix: str = "identity"  # identity (V1, Vn mixed 0.5/0.5, fixed) | learnable (init 0.5)

    def variant(self) -> dict[str, Any]:
        return dict(values="resformer", learn_mix=self.value_mix == "learnable")

    def check(self) -> None:
        super().check()
        if self.value_mix not in VALUE_MIXES:
            raise ConfigError(f"model.value_mix={self.value_mix!r}: expected one of {', '.join(VALUE_MIXES)}")


@dataclass(frozen=True)
class SVFormerConfig(GPT2Config):
    name: str = "gpt2_svformer"

    def variant(self) -> dict[str, Any]:
        return dict(values="svformer")


@dataclass(frozen=True)
class MetaConfig(GPT2Config):
    name: str = "gpt2_meta"
    n_memory: int = 8  # learned memory tokens every block cross-attends to (0 = none)

    def variant(self) -> dict[str, Any]:
        return dict(values="own", n_memory=self.n_memory)

    def check(self) -> None:
        super().check()
        check_count("n_memory", self.n_memory, MAX_WIDTH, least=0)


@register("gpt2_meta", settings=MetaConfig)  # decorators apply bottom-up: the plain GPT-2 registers first
@register("gpt2_svformer", settings=SVFormerConfig)
@register("gpt2_resformer", settings=ResFormerConfig)
@register("gpt2_transformer", settings=GPT2Config)
def build_gpt2(cfg: GPT2Config, task: TaskData) -> Transformer:
    """A GPT-2 family model: pre-LN with a final LayerNorm, MLP biases, torch's default init or GPT-2's."""
    sizes = token_sizes(cfg, task)
    if cfg.tie_embeddings and sizes["d_out"] != sizes["d_vocab"]:
        raise ConfigError(f"model.tie_embeddings needs a task whose answers are tokens of its input vocabulary "
                          f"(this one has {sizes['d_out']} classes and {sizes['d_vocab']} input tokens)")
    return Transformer(**sizes, **cfg.sizes(), norm="pre", mlp_bias=True, init=cfg.init, pos=cfg.pos,
                       linear=cfg.linear, tie=cfg.tie_embeddings, dropout=cfg.dropout, **cfg.variant())
