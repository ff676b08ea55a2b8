"""Decoder-only transformers for `[a, op, b, =]`-style inputs, with TransformerLens parameter names.

Shapes follow TransformerLens: W_E [d_vocab, d_model], W_pos [n_ctx, d_model], W_Q/W_K/W_V [n_heads, d_model,
d_head], W_O [n_heads, d_head, d_model], W_in [d_model, d_mlp], W_out [d_mlp, d_model], W_U [d_model, d_out].
The answer is read at the last position, so the last block computes the query, the attention output, the MLP and
the unembedding for that position only (keys and values still see every position): the same logits up to float
rounding, a fraction of the work.

Options of the GPT-2 family (groklab.models.gpt2 says which model uses which, and why): rotary positions instead
of W_pos, value residuals (ResFormer / SVFormer), cross-attention to learned memory tokens, BitLinear matmuls
(groklab.models.bitlinear), GPT-2's initialisation, tied embeddings and dropout, and right-padded inputs. With
every option off, the forward runs exactly the ops it always ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models import bitlinear
from groklab.models.registry import register, token_sizes
from groklab.models.settings import Linear, TransformerSizes
from groklab.tasks.base import TaskData

ROPE_BASE = 10_000.0
GPT2_STD = 0.02  # GPT-2's initializer_range


def rotary_tables(n_pos: int, d_head: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """cos, sin [n_pos, d_head / 2] of rotary positions (Su et al. 2021, RoFormer, arXiv 2104.09864):
    the i-th pair of a head's features turns by the angle pos · 10000^(-2i / d_head)."""
    freqs = ROPE_BASE ** (-torch.arange(0, d_head, 2, device=like.device, dtype=like.dtype) / d_head)
    angles = torch.arange(n_pos, device=like.device, dtype=like.dtype)[:, None] * freqs
    return angles.cos(), angles.sin()


def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary positions on x [..., pos, d_head], pairing feature i with i + d_head/2 (the GPT-NeoX layout: a fixed
    permutation of RoFormer's adjacent pairs, which W_Q and W_K absorb). q·k then depends on positions only
    through their difference."""
    x1, x2 = x.chunk(2, -1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class MemoryAttention(nn.Module):
    """Cross-attention from the residual stream (queries) to learned memory tokens (keys and values), no mask."""

    def __init__(self, d_model: int, n_heads: int, linear: str) -> None:
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.d_head, self.linear = n_heads, d_head, linear
        self.W_Q = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_K = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_V = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        """x [batch, pos, d_model], memory [n_memory, d_model] -> [batch, pos, d_model]."""
        batch, pos, d_model = x.shape
        h, dh, lin = self.n_heads, self.d_head, self.linear
        w_q = self.W_Q.permute(1, 0, 2).reshape(d_model, h * dh)
        q = bitlinear.matmul(x, w_q, lin).view(batch, pos, h, dh).transpose(1, 2)
        w_kv = torch.cat([bitlinear.weight(self.W_K, lin), bitlinear.weight(self.W_V, lin)], 0)
        kv = bitlinear.activation(memory, lin) @ w_kv.permute(1, 0, 2).reshape(d_model, 2 * h * dh)
        k, v = kv.view(-1, 2, h, dh).permute(1, 2, 0, 3).unbind(0)  # each [head, n_memory, d_head]
        z = F.scaled_dot_product_attention(q, k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1))
        return bitlinear.matmul(z.transpose(1, 2).reshape(batch, pos, h * dh), self.W_O.reshape(h * dh, d_model), lin)


class Block(nn.Module):
    """values: own (a plain block), mix (ResFormer: λ1·V1 + λ2·V_n, λ fixed at 0.5 or learnt as `v_mix`) or first
    (SVFormer: the first layer's values V1, so the block has no W_V); memory: a cross-attention sub-layer to the
    model's memory tokens between attention and MLP (pre-LN only)."""

    def __init__(
        self, d_model: int, n_heads: int, d_mlp: int, norm: str, mlp_bias: bool, act: str, linear: str = "dense",
        values: str = "own", learn_mix: bool = False, memory: bool = False, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.d_head, self.norm, self.act, self.dropout = n_heads, d_head, norm, act, dropout
        self.linear, self.values = linear, values
        self.W_Q = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_K = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_V = nn.Parameter(torch.empty(n_heads, d_model, d_head)) if values != "first" else None
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))
        self.W_in = nn.Parameter(torch.empty(d_model, d_mlp))
        self.W_out = nn.Parameter(torch.empty(d_mlp, d_model))
        self.b_in = nn.Parameter(torch.zeros(d_mlp)) if mlp_bias else None
        self.b_out = nn.Parameter(torch.zeros(d_model)) if mlp_bias else None
        self.ln1 = nn.LayerNorm(d_model) if norm != "none" else None
        self.ln2 = nn.LayerNorm(d_model) if norm != "none" else None
        # ResFormer's λ_{n,1}, λ_{n,2} (weights of V1 and V_n): Learnable-ResFormer starts them at 0.5
        self.v_mix = nn.Parameter(torch.full((2,), 0.5)) if values == "mix" and learn_mix else None
        self.mem = MemoryAttention(d_model, n_heads, linear) if memory else None
        self.ln_mem = nn.LayerNorm(d_model) if memory else None

    def drop(self, x: Tensor) -> Tensor:
        """GPT-2's dropout (attention weights, residual branches) while training; nothing when dropout is 0."""
        return F.dropout(x, self.dropout, self.training) if self.dropout else x

    def attn_values(
        self, x: Tensor, last_only: bool, v1: Tensor | None = None, rope: tuple[Tensor, Tensor] | None = None,
        last: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """x [batch, pos, d_model] -> ([batch, q_pos, d_model], this block's values [batch, head, pos, d_head]);
        causal, scores scaled by 1/sqrt(d_head). `v1`: the first block's values (value residual blocks); `last`:
        each row's last real position when rows are padded on the right (the only query of a last-only block)."""
        batch, pos, d_model = x.shape
        h, dh, lin = self.n_heads, self.d_head, self.linear
        a = bitlinear.activation(x, lin)
        # keys and values at every position; queries at the answer position only when that is all that is read
        mats = ([] if last_only else [self.W_Q]) + [self.W_K] + ([] if self.W_V is None else [self.W_V])
        w = torch.cat([bitlinear.weight(m, lin) for m in mats], 0).permute(1, 0, 2)
        proj = a @ w.reshape(d_model, len(mats) * h * dh)
        # each [batch, head, pos, d_head]; unbind: one backward op (a stack), not zero-filled selects summed
        parts = list(proj.view(batch, pos, len(mats), h, dh).permute(2, 0, 3, 1, 4).unbind(0))
        if last_only:  # the answer position: the last one, or each row's last real one (right padding)
            a_q = a[:, -1:] if last is None else a.take_along_dim(last.view(-1, 1, 1), 1)
            w_q = bitlinear.weight(self.W_Q, lin).permute(1, 0, 2).reshape(d_model, h * dh)
            q = (a_q @ w_q).view(batch, 1, h, dh).transpose(1, 2)
        else:
            q = parts.pop(0)
        k = parts.pop(0)
        v = parts.pop(0) if self.W_V is not None else v1  # SVFormer: U_n = A_n V1
        if rope is not None:
            cos, sin = rope
            if last_only:  # the query's own position (each row's, under right padding)
                at = slice(-1, None) if last is None else last
                cos, sin = (cos[at], sin[at]) if last is None else (cos[at][:, None, None], sin[at][:, None, None])
            q, k = rotate(q, cos, sin), rotate(k, *rope)
        mixed = v
        if self.values == "mix":  # ResFormer: U_n = A_n (λ_{n,1} V1 + λ_{n,2} V_n)
            mixed = self.v_mix[0] * v1 + self.v_mix[1] * v if self.v_mix is not None else 0.5 * v1 + 0.5 * v
        extra = {"dropout_p": self.dropout} if self.dropout and self.training else {}
        if last_only and last is not None:  # right padding: row i's query at last[i] sees positions <= last[i]
            keep = torch.arange(x.shape[1], device=x.device) <= last[:, None]
            z = F.scaled_dot_product_attention(q, k, mixed, attn_mask=keep[:, None, None, :], **extra)
        elif last_only:  # the last query attends to every position: no mask needed
            z = F.scaled_dot_product_attention(q, k, mixed, **extra)
        else:
            z = F.scaled_dot_product_attention(q, k, mixed, is_causal=True, **extra)  # [batch, head, pos, d_head]
        z = z.transpose(1, 2).reshape(batch, z.shape[2], h * dh)
        return self.drop(bitlinear.matmul(z, self.W_O.reshape(h * dh, d_model), self.linear)), v

    def attn(self, x: Tensor, last_only: bool) -> Tensor:
        return self.attn_values(x, last_only)[0]

    def mlp(self, x: Tensor) -> Tensor:
        pre = bitlinear.matmul(x, self.W_in, self.linear)
        if self.b_in is not None:
            pre = pre + self.b_in
        out = bitlinear.matmul(F.relu(pre) if self.act == "relu" else F.gelu(pre), self.W_out, self.linear)
        return self.drop(out + self.b_out if self.b_out is not None else out)

    def run(
        self, x: Tensor, last_only: bool, v1: Tensor | None = None, rope: tuple[Tensor, Tensor] | None = None,
        memory: Tensor | None = None, last: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """The block's output and its values (the first block's are V1 of the value residual models)."""
        resid = x[:, -1:] if last_only else x
        if last_only and last is not None:  # right padding: each row's answer position
            resid = x.take_along_dim(last.view(-1, 1, 1), 1)
        if self.norm == "pre":  # GPT-2 style
            out, v = self.attn_values(self.ln1(x), last_only, v1, rope, last)
            resid = resid + out
            if self.mem is not None:
                resid = resid + self.mem(self.ln_mem(resid), memory)
            return resid + self.mlp(self.ln2(resid)), v
        out, v = self.attn_values(x, last_only, v1, rope, last)
        resid = resid + out
        if self.norm == "post":  # Power et al. 2022: LN(x + Attn(x)), then LN(a + FFN(a))
            resid = self.ln1(resid)
            return self.ln2(resid + self.mlp(resid)), v
        return resid + self.mlp(resid), v

    def forward(self, x: Tensor, last_only: bool = False) -> Tensor:
        return self.run(x, last_only)[0]


class Transformer(nn.Module):
    """norm: post (Power 2022) | pre (GPT-2, with a final LayerNorm) | none (Nanda 2023).

    pos: learned (W_pos) | rotary (no W_pos); linear: dense | bitlinear; values: own | resformer | svformer (the
    first block always computes its own values V1); n_memory > 0: learned memory tokens W_mem [n_memory, d_model]
    that every (pre-LN) block cross-attends to. init: torch | nanda | gpt2; tie: the unembedding is W_E^T (no W_U);
    dropout: GPT-2's, on the embeddings, attention weights and residual branches; pad_token: inputs are padded on
    the right with it, and each row's answer is read at its last other token.
    """

    def __init__(
        self, d_vocab: int, d_out: int, n_ctx: int, d_model: int, n_layers: int, n_heads: int, d_mlp: int,
        norm: str, mlp_bias: bool, act: str, init: str, pos: str = "learned", linear: str = "dense",
        values: str = "own", learn_mix: bool = False, n_memory: int = 0, tie: bool = False, dropout: float = 0.0,
        pad_token: int | None = None,
    ) -> None:
        super().__init__()
        self.pos, self.d_head, self.dropout, self.pad_token = pos, d_model // n_heads, dropout, pad_token
        later = {"own": "own", "resformer": "mix", "svformer": "first"}[values]
        self.W_E = nn.Parameter(torch.empty(d_vocab, d_model))
        self.W_pos = nn.Parameter(torch.empty(n_ctx, d_model)) if pos == "learned" else None
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, d_mlp, norm, mlp_bias, act, linear, "own" if i == 0 else later, learn_mix,
                  memory=n_memory > 0, dropout=dropout)
            for i in range(n_layers))
        self.ln_final = nn.LayerNorm(d_model) if norm == "pre" else None
        self.W_U = nn.Parameter(torch.empty(d_model, d_out)) if not tie else None
        self.W_mem = nn.Parameter(torch.empty(n_memory, d_model)) if n_memory > 0 else None
        self.reset_parameters(init, d_vocab)

    def reset_parameters(self, init: str, d_vocab: int) -> None:
        d_model = self.W_E.shape[1]
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf.startswith("b_") or ".ln" in f".{name}" or name.startswith("ln_") or leaf == "v_mix":
                continue  # biases start at 0, LayerNorm at (1, 0), ResFormer's λ at 0.5
            if init == "gpt2":  # GPT-2 (Radford et al. 2019; HF's GPT2PreTrainedModel._init_weights): N(0, 0.02),
                # the projections into the residual stream (c_proj: W_O, W_out) by 1/sqrt(2 n_layers)
                residual = leaf in ("W_O", "W_out")
                nn.init.normal_(p, std=GPT2_STD / math.sqrt(2 * len(self.blocks)) if residual else GPT2_STD)
            elif init == "nanda":  # Nanda 2023 (papers.md §03): N(0, 1/d_model), W_U N(0, 1/d_vocab)
                std = 1 / math.sqrt(d_vocab if leaf == "W_U" else d_model)
                nn.init.normal_(p, std=std)
            elif leaf in ("W_E", "W_pos", "W_mem"):  # nn.Embedding's default, as the re-implementations use
                nn.init.normal_(p)
            else:  # nn.Linear's default: U(±1/sqrt(fan_in))
                fan_in = p.shape[-2] * (p.shape[0] if leaf == "W_O" else 1)
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(p, -bound, bound)

    def forward(self, tokens: Tensor, answer_only: bool = True) -> Tensor:
        """tokens [batch, pos] -> logits [batch, d_out] at the last position. answer_only=False computes every
        block at every position (the reference the answer-only path is tested against)."""
        x = F.embedding(tokens, self.W_E)  # not W_E[tokens]: its CPU backward adds in thread order
        rope = None
        if self.W_pos is not None:
            x = x + self.W_pos[: tokens.shape[1]]
        else:
            rope = rotary_tables(tokens.shape[1], self.d_head, x)
        if self.dropout:  # GPT-2's embedding dropout
            x = F.dropout(x, self.dropout, self.training)
        last = None
        if self.pad_token is not None:  # right padding: the questions' last tokens (real tokens come first)
            last = (tokens != self.pad_token).sum(1) - 1
        v1 = None
        for i, block in enumerate(self.blocks):
            x, v = block.run(x, answer_only and i == len(self.blocks) - 1, v1, rope, self.W_mem, last)
            v1 = v if i == 0 else v1
        if last is not None and not answer_only:  # each row's answer position
            x = x.take_along_dim(last.view(-1, 1, 1), 1)
        x = x[:, -1]
        if self.ln_final is not None:
            x = self.ln_final(x)
        return x @ self.W_U if self.W_U is not None else x @ self.W_E.T


@dataclass(frozen=True)
class TransformerConfig(Linear, TransformerSizes):
    """The widths of power_transformer and nanda_transformer; their architecture is fixed by the paper."""

    name: str = "power_transformer"  # power_transformer | nanda_transformer


@register("power_transformer", settings=TransformerConfig)
def build_power_transformer(cfg: TransformerConfig, task: TaskData) -> Transformer:
    """Power et al. 2022: post-LN, bias-free linears, learned positions, torch's default init."""
    return Transformer(**token_sizes(cfg, task), **cfg.sizes(), norm="post", mlp_bias=False, init="torch",
                       linear=cfg.linear)


@register("nanda_transformer", settings=TransformerConfig)
def build_nanda_transformer(cfg: TransformerConfig, task: TaskData) -> Transformer:
    """Nanda et al. 2023: no LayerNorm, MLP biases only, Nanda's init."""
    return Transformer(**token_sizes(cfg, task), **cfg.sizes(), norm="none", mlp_bias=True, init="nanda",
                       linear=cfg.linear)
