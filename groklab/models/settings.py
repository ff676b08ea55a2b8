"""Keys several models share, as mixins of their schemas (each model module's frozen dataclass subclasses
ModelConfig and the mixins of the keys its builder reads), each with the rules of its keys.

A dataclass's fields follow its bases in reverse (the reverse MRO), so a schema's read name, d_mlp, act, then its
mixins' from the last base to the first, then its own. Every `check` calls the next one (`super().check()`) and
then adds its keys' rules, so ModelConfig's run first.
"""

from __future__ import annotations

from dataclasses import dataclass

from groklab.config import MAX_LAYERS, MAX_WIDTH, ModelConfig, check_count
from groklab.errors import ConfigError
from groklab.models.bitlinear import LINEARS


@dataclass(frozen=True)
class Depth(ModelConfig):
    n_layers: int = 2  # blocks (transformers, residual MLPs) or hidden layers (MLPs)

    def check(self) -> None:
        super().check()
        check_count("n_layers", self.n_layers, MAX_LAYERS)


@dataclass(frozen=True)
class Width(ModelConfig):
    d_model: int = 128  # residual width (transformers, residual MLPs) or embedding width

    def check(self) -> None:
        super().check()
        check_count("d_model", self.d_model, MAX_WIDTH)


@dataclass(frozen=True)
class TransformerSizes(Depth, Width):
    n_heads: int = 4  # attention heads, each of width d_head = d_model / n_heads

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def sizes(self) -> dict[str, int | str]:
        """The widths a transformer's constructor takes."""
        return dict(d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads, d_mlp=self.d_mlp,
                    act=self.act)

    def check(self) -> None:
        super().check()
        check_count("n_heads", self.n_heads, MAX_WIDTH)
        if self.d_model % self.n_heads:
            raise ConfigError(f"model.d_model={self.d_model} is not divisible by model.n_heads={self.n_heads}")


@dataclass(frozen=True)
class Linear(ModelConfig):
    linear: str = "dense"  # dense | bitlinear (BitNet b1.58 ternary weights, 8-bit activations; hidden layers)

    def check(self) -> None:
        super().check()
        if self.linear not in LINEARS:
            raise ConfigError(f"model.linear={self.linear!r}: expected one of {', '.join(LINEARS)}")


@dataclass(frozen=True)
class HiddenLinear(Linear, Depth):
    """An MLP whose first layer reads one-hots (an embedding): bitlinear quantises its hidden-to-hidden layers."""

    def check(self) -> None:
        super().check()
        if self.linear == "bitlinear" and self.n_layers < 2:
            raise ConfigError(f"model.linear=bitlinear quantises the hidden-to-hidden layers of {self.name}; with "
                              f"model.n_layers={self.n_layers} there are none (set model.n_layers >= 2)")


@dataclass(frozen=True)
class Scaled(ModelConfig):
    init_scale: float = 1.0  # multiplies the initial weights (each model says which: its α)

    def check(self) -> None:
        super().check()
        if not self.init_scale > 0:
            raise ConfigError(f"model.init_scale must be > 0 (got {self.init_scale})")
