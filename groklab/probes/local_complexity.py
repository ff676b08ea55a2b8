"""Local complexity (LC) of a piecewise-linear network around points: Humayun, Balestriero, Baraniuk 2024, "Deep
Networks Always Grok and Here is Why" (arXiv 2402.15555, §3; papers.md §06).

LC at x is the number of neurons whose hyperplane (pre-activation = 0) crosses a small neighbourhood of x: the
density of the spline partition's region boundaries there. As in the authors' code (AhmedImtiazPrio/grok-adversarial:
local_complexity.py at a3bafa9, samplers.py at 1767226, train_mlp_mnist.py at b0b3b33; read, not copied):
- `samplers.get_ortho_hull_around_samples`: n//2 orthonormal random directions (one set, drawn from a fixed seed,
  shared by every point and every evaluation), each scaled to radius r; the neighbourhood is the 2·(n//2)
  vertices x ± r·v_i (the centre itself is not a vertex);
- `local_complexity.get_intersection_from_activation_batched`: a neuron crosses the neighbourhood when
  `sign(pre-activation)` at some vertex differs from its sign at the first vertex; counted per layer, for every
  nn.Linear output, the read-out included (train_mlp_mnist.py hooks all nn.Linear modules);
- the logged figure is the per-layer count summed over layers and averaged over the points
  (`density_approx_train[r]`, `.sum(2).mean(1)` in train_mlp_mnist.py).
The directions here come from a QR decomposition of a seeded Gaussian matrix (the authors draw them through
torch's orthogonal parametrisation on CUDA); both are orthonormal random frames, not bit-identical ones.

Vectorised: all vertices of a chunk of points go through one forward pass; chunks bound the memory only.
Exact as a region count for ReLU; for GELU the sign change is the same count of hyperplane crossings of the
pre-activations, but the map is not piecewise linear (papers.md §06 pitfall).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.probes.registry import register

Preactivations = Callable[[Tensor], list[Tensor]]
CHUNK_FLOATS = 1 << 24  # vertex coordinates held at once (64 MiB in float32)


def orthonormal_directions(n: int, dim: int, seed: int, dtype: torch.dtype = torch.float32,
                           device: torch.device | str = "cpu") -> Tensor:
    """n orthonormal random directions in R^dim, [n, dim]: Haar-distributed (QR of a Gaussian matrix with the
    signs of R's diagonal folded in), the same for the same seed."""
    if not 1 <= n <= dim:
        raise GroklabError(f"local complexity needs 1 <= n_vertices // 2 <= input dimension {dim} (got {n})")
    gaussian = torch.randn(dim, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return (q * torch.sign(torch.diagonal(r))).T.to(dtype=dtype, device=device)


def hull_vertices(points: Tensor, directions: Tensor, radius: float) -> Tensor:
    """[P, d] points and [k, d] unit directions -> [P, 2k, d]: x + r·v_1..x + r·v_k, then x - r·v_1..x - r·v_k."""
    offsets = radius * directions
    return torch.cat([points[:, None, :] + offsets, points[:, None, :] - offsets], dim=1)


@torch.no_grad()
def crossings(preactivations: Preactivations, points: Tensor, directions: Tensor, radius: float) -> Tensor:
    """[P, n_layers]: per point and layer, the neurons whose pre-activation sign is not constant over the hull."""
    n_points, dim = points.shape
    n_vertices = 2 * len(directions)
    chunk = max(1, CHUNK_FLOATS // (n_vertices * dim))
    out = []
    for start in range(0, n_points, chunk):  # chunks of many points, one forward each
        block = points[start : start + chunk]
        vertices = hull_vertices(block, directions.to(block.dtype), radius).reshape(-1, dim)
        per_layer = []
        for z in preactivations(vertices):
            signs = torch.sign(z).reshape(len(block), n_vertices, -1)
            per_layer.append((signs[:, 1:] != signs[:, :1]).any(dim=1).sum(dim=-1))
        out.append(torch.stack(per_layer, dim=1))
    return torch.cat(out)


def local_complexity(preactivations: Preactivations, points: Tensor, n_vertices: int = 20, radius: float = 1.0,
                     seed: int = 0) -> Tensor:
    """Mean over the points of the per-layer crossing counts, [n_layers] (float64); `.sum()` is the total LC.

    `preactivations(x)` maps inputs [M, d] to the list of every layer's pre-activations [M, width_l]
    (ImageMLP.preactivations); `n_vertices` = the hull's size (n//2 directions, each used ±), `radius` = r.
    """
    if radius <= 0:
        raise GroklabError(f"local complexity radius must be > 0 (got {radius})")
    directions = orthonormal_directions(n_vertices // 2, points.shape[1], seed, points.dtype, points.device)
    return crossings(preactivations, points, directions, radius).double().mean(dim=0)


def uniform_points(n: int, dim: int, seed: int, dtype: torch.dtype = torch.float32,
                   device: torch.device | str = "cpu") -> Tensor:
    """n points uniform on [0, 1]^dim, the authors' "random" LC points (`torch.rand(approx_n, ...)`)."""
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)


def _preactivations(model: nn.Module) -> Any:
    if not hasattr(model, "preactivations"):
        raise GroklabError("the lc probe needs a model with per-layer pre-activations (model.name=image_mlp)")
    return model.preactivations


@register("lc")
@torch.no_grad()
def lc_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Local complexity around training, test and uniform random points: the total (`lc/<set>`) and per layer
    (`lc/<set>/layer<i>`, the read-out last), mean over the points (groklab.probes.local_complexity)."""
    preact, n = _preactivations(model), settings.lc_points
    x = data["x_train"]
    sets = {"train": x[:n], "test": data["x_val"][:n],
            "random": uniform_points(n, x.shape[1], settings.lc_seed, x.dtype, x.device)}
    out: dict[str, float] = {}
    for name, points in sets.items():
        per_layer = local_complexity(preact, points, settings.lc_vertices, settings.lc_radius,
                                     settings.lc_seed).tolist()
        out[f"lc/{name}"] = sum(per_layer)
        out |= {f"lc/{name}/layer{i}": v for i, v in enumerate(per_layer)}
    return out
