"""Local complexity on hand-placed hyperplanes, against a per-point loop, and as the `lc` live probe."""

import pytest
import torch

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.models.image_mlp import ImageMLP
from groklab.probes import local_complexity as lc
from groklab.probes.live import PROBES


def planes_mlp() -> ImageMLP:
    """2-d inputs, one hidden ReLU layer of 3 neurons with hyperplanes x1 = 0.5, x2 = 0.5 and x1 + x2 = 10, and a
    read-out whose pre-activation is the constant 1 (it never changes sign)."""
    model = ImageMLP(2, 10, 3, 1, "relu", 1.0)
    with torch.no_grad():
        model.layers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        model.layers[0].bias.copy_(torch.tensor([-0.5, -0.5, -10.0]))
        model.layers[1].weight.zero_()
        model.layers[1].bias.fill_(1.0)
    return model


def test_hand_placed_hyperplanes():
    """With radius r and any orthonormal frame of R², a hyperplane at distance < r/√2 from x always crosses the
    hull (some direction has |cos| >= 1/√2 to its normal) and one farther than r never does."""
    points = torch.tensor([[0.45, 0.9], [0.55, 0.48], [0.2, 0.2], [0.9, 0.9]])  # crosses 1, 2, 0, 0 neurons
    for seed in range(5):
        per_layer = lc.local_complexity(planes_mlp().preactivations, points, n_vertices=4, radius=0.1, seed=seed)
        assert per_layer.tolist() == [0.75, 0.0]  # (1 + 2 + 0 + 0) / 4 points; the read-out never crosses


def test_axis_frame_counts_exactly():
    """With the frame e1, e2 the hull is x ± r·e1, x ± r·e2: a neuron x_i = c crosses iff |x_i - c| < r."""
    model, frame = planes_mlp(), torch.eye(2)
    points = torch.tensor([[0.45, 0.9], [0.45, 0.55], [0.7, 0.3]])
    counts = lc.crossings(model.preactivations, points, frame, radius=0.1)
    assert counts.tolist() == [[1, 0], [2, 0], [0, 0]]
    assert lc.crossings(model.preactivations, points, frame, radius=0.3).tolist() == [[1, 0], [2, 0], [2, 0]]


def test_vectorised_equals_a_loop_over_points(monkeypatch):
    torch.manual_seed(0)
    model = ImageMLP(30, 10, 24, 3, "relu", 1.0)
    points = torch.rand(17, 30)
    frame = lc.orthonormal_directions(6, 30, seed=1)
    batched = lc.crossings(model.preactivations, points, frame, radius=0.5)
    looped = torch.cat([lc.crossings(model.preactivations, p[None], frame, 0.5) for p in points])
    assert torch.equal(batched, looped)
    assert batched.sum() > 0 and batched.shape == (17, 4)
    monkeypatch.setattr(lc, "CHUNK_FLOATS", 12 * 30 * 3)  # three points per forward
    assert torch.equal(lc.crossings(model.preactivations, points, frame, radius=0.5), batched)
    mean = lc.local_complexity(model.preactivations, points, n_vertices=12, radius=0.5, seed=1)
    torch.testing.assert_close(mean, batched.double().mean(0))


def test_directions_are_an_orthonormal_seeded_frame():
    d = lc.orthonormal_directions(25, 784, seed=0)
    torch.testing.assert_close(d @ d.T, torch.eye(25), atol=1e-5, rtol=0)
    assert torch.equal(d, lc.orthonormal_directions(25, 784, seed=0))
    assert not torch.allclose(d, lc.orthonormal_directions(25, 784, seed=1))
    hull = lc.hull_vertices(torch.zeros(3, 784), d, radius=0.5)
    assert hull.shape == (3, 50, 784)
    torch.testing.assert_close(hull.norm(dim=-1), torch.full((3, 50), 0.5))
    torch.testing.assert_close(hull[:, 25:], -hull[:, :25])


def test_bad_settings():
    model = planes_mlp()
    with pytest.raises(GroklabError, match="n_vertices // 2 <= input dimension 2"):
        lc.local_complexity(model.preactivations, torch.rand(3, 2), n_vertices=6, radius=0.1)
    with pytest.raises(GroklabError, match="radius must be > 0"):
        lc.local_complexity(model.preactivations, torch.rand(3, 2), n_vertices=4, radius=0.0)


def test_lc_probe_keys():
    torch.manual_seed(0)
    model = ImageMLP(784, 10, 16, 2, "relu", 1.0)
    data = {"x_train": torch.rand(40, 784), "y_train": torch.zeros(40, dtype=torch.long),
            "x_val": torch.rand(30, 784), "y_val": torch.zeros(30, dtype=torch.long)}
    out = PROBES["lc"](model, data, None, ProbeConfig())
    for name in ("train", "test", "random"):
        layers = [out[f"lc/{name}/layer{i}"] for i in range(3)]
        assert out[f"lc/{name}"] == pytest.approx(sum(layers))
        assert 0 <= layers[0] <= 16 and 0 <= layers[2] <= 10
    assert out == PROBES["lc"](model, data, None, ProbeConfig())  # fixed directions and points: same figures
    with pytest.raises(GroklabError, match="lc probe needs a model with per-layer pre-activations"):
        PROBES["lc"](torch.nn.Linear(784, 10), data, None, ProbeConfig())
