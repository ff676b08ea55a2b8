"""Decoder-only transformers for `[a, op, b, =]`-style inputs, with TransformerLens parameter names.

Shapes follow TransformerLens: W_E [d_vocab, d_model], W_pos [n_ctx, d_model], W_Q/W_K/W_V [n_heads, d_model,
d_head], W_O [n_heads, d_head, d_model], W_in [d_model, d_mlp], W_out [d_mlp, d_model], W_U [d_model, d_out].
The answer is read at the last position, so the last block computes the query, the MLP and the unembedding for
that position only (keys and values still see every position): the same logits, a fraction of the work.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_mlp: int, norm: str, mlp_bias: bool, act: str) -> None:
        super().__init__()
        d_head = d_model // n_heads
        self.n_heads, self.d_head, self.norm, self.act = n_heads, d_head, norm, act
        self.W_Q = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_K = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_V = nn.Parameter(torch.empty(n_heads, d_model, d_head))
        self.W_O = nn.Parameter(torch.empty(n_heads, d_head, d_model))
        self.W_in = nn.Parameter(torch.empty(d_model, d_mlp))
        self.W_out = nn.Parameter(torch.empty(d_mlp, d_model))
        self.b_in = nn.Parameter(torch.zeros(d_mlp)) if mlp_bias else None
        self.b_out = nn.Parameter(torch.zeros(d_model)) if mlp_bias else None
        self.ln1 = nn.LayerNorm(d_model) if norm != "none" else None
        self.ln2 = nn.LayerNorm(d_model) if norm != "none" else None

    def attn(self, x: Tensor, last_only: bool) -> Tensor:
        """x [batch, pos, d_model] -> [batch, q_pos, d_model]; causal, scores scaled by 1/sqrt(d_head)."""
        batch, pos, d_model = x.shape
        h, dh = self.n_heads, self.d_head
        w = torch.cat([self.W_Q, self.W_K, self.W_V], 0).permute(1, 0, 2).reshape(d_model, 3 * h * dh)
        qkv = (x @ w).view(batch, pos, 3, h, dh).permute(2, 0, 3, 1, 4)  # [3, batch, head, pos, d_head]
        q, k, v = qkv.unbind(0)  # one backward op (a stack), not three zero-filled selects summed
        if last_only:  # the last query attends to every position: no mask needed
            z = F.scaled_dot_product_attention(q[:, :, -1:], k, v)
        else:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # [batch, head, pos, d_head]
        return z.transpose(1, 2).reshape(batch, z.shape[2], h * dh) @ self.W_O.reshape(h * dh, d_model)

    def mlp(self, x: Tensor) -> Tensor:
        pre = x @ self.W_in
        if self.b_in is not None:
            pre = pre + self.b_in
        out = (F.relu(pre) if self.act == "relu" else F.gelu(pre)) @ self.W_out
        return out + self.b_out if self.b_out is not None else out

    def forward(self, x: Tensor, last_only: bool = False) -> Tensor:
        resid = x[:, -1:] if last_only else x
        if self.norm == "pre":  # GPT-2 style
            resid = resid + self.attn(self.ln1(x), last_only)
            return resid + self.mlp(self.ln2(resid))
        resid = resid + self.attn(x, last_only)
        if self.norm == "post":  # Power et al. 2022: LN(x + Attn(x)), then LN(a + FFN(a))
            resid = self.ln1(resid)
            return self.ln2(resid + self.mlp(resid))
        return resid + self.mlp(resid)


class Transformer(nn.Module):
    """norm: post (Power 2022) | pre (GPT-2, with a final LayerNorm) | none (Nanda 2023)."""

    def __init__(
        self, d_vocab: int, d_out: int, n_ctx: int, d_model: int, n_layers: int, n_heads: int, d_mlp: int,
        norm: str, mlp_bias: bool, act: str, init: str,
    ) -> None:
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(d_vocab, d_model))
        self.W_pos = nn.Parameter(torch.empty(n_ctx, d_model))
        self.blocks = nn.ModuleList(Block(d_model, n_heads, d_mlp, norm, mlp_bias, act) for _ in range(n_layers))
        self.ln_final = nn.LayerNorm(d_model) if norm == "pre" else None
        self.W_U = nn.Parameter(torch.empty(d_model, d_out))
        self.reset_parameters(init, d_vocab)

    def reset_parameters(self, init: str, d_vocab: int) -> None:
        d_model = self.W_E.shape[1]
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf.startswith("b_") or ".ln" in f".{name}" or name.startswith("ln_"):
                continue  # biases start at 0, LayerNorm at (1, 0)
            if init == "nanda":  # Nanda 2023 (papers.md §03): N(0, 1/d_model), W_U N(0, 1/d_vocab)
                std = 1 / math.sqrt(d_vocab if leaf == "W_U" else d_model)
                nn.init.normal_(p, std=std)
            elif leaf in ("W_E", "W_pos"):  # nn.Embedding's default, as the re-implementations use
                nn.init.normal_(p)
            else:  # nn.Linear's default: U(±1/sqrt(fan_in))
                fan_in = p.shape[-2] * (p.shape[0] if leaf == "W_O" else 1)
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(p, -bound, bound)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [batch, pos] -> logits [batch, d_out] at the last position."""
        x = F.embedding(tokens, self.W_E) + self.W_pos[: tokens.shape[1]]  # F.embedding: deterministic backward
        for i, block in enumerate(self.blocks):
            x = block(x, last_only=i == len(self.blocks) - 1)
        x = x[:, -1]
        if self.ln_final is not None:
            x = self.ln_final(x)
        return x @ self.W_U
