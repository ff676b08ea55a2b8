"""model.name=image_mlp: sizes, the α-scaled init (biases too), pre-activations, and functional_call/vmap."""

import pytest
import torch
from torch.func import functional_call, stack_module_state, vmap

from groklab.config import MODELS, RunConfig, validate
from groklab.errors import ConfigError
from groklab.models import build_model
from groklab.models.image_mlp import ImageMLP, ImageMLPConfig
from groklab.tasks.base import TaskData


def vector_task(in_dim=784, n=8):
    x = torch.rand(n, in_dim)
    y = torch.randint(0, 10, (n,))
    return TaskData(x, y, x, y, kind="classification", n_classes=10, in_dim=in_dim)


def mlp(seed=0, **kw):
    task = vector_task()
    torch.manual_seed(seed)
    cfg = MODELS.make(**({"name": "image_mlp", "n_layers": 2, "d_mlp": 200} | kw))
    return build_model(cfg, task)


def test_sizes_match_the_papers():
    """Omnigrok 784-200-200-10 (n_layers 2); Humayun's 4 Linear layers (n_layers 3)."""
    shapes = [tuple(p.shape) for p in mlp().parameters()]
    assert shapes == [(200, 784), (200,), (200, 200), (200,), (10, 200), (10,)]
    assert len(mlp(n_layers=3).layers) == 4
    assert sum(p.numel() for p in mlp().parameters()) == 199_210


def test_init_scale_multiplies_every_parameter():
    """Omnigrok's notebook scales all of mlp.parameters(), biases included, after nn.Linear's init."""
    base, big = mlp(seed=3, init_scale=1.0), mlp(seed=3, init_scale=8.0)
    for (name, p), q in zip(base.named_parameters(), big.parameters(), strict=True):
        torch.testing.assert_close(q, 8.0 * p, msg=name)
    torch.manual_seed(3)
    reference = torch.nn.Linear(784, 200)  # nn.Linear's default init, drawn first from the same seed
    torch.testing.assert_close(base.layers[0].weight, reference.weight)
    torch.testing.assert_close(base.layers[0].bias, reference.bias)


def test_preactivations_and_forward():
    model = mlp(n_layers=3, d_mlp=16)
    x = torch.rand(5, 784)
    zs = model.preactivations(x)
    assert [tuple(z.shape) for z in zs] == [(5, 16), (5, 16), (5, 16), (5, 10)]
    torch.testing.assert_close(model(x), zs[-1])
    manual = torch.relu(model.layers[0](x))
    torch.testing.assert_close(zs[1], model.layers[1](manual))
    gelu = mlp(n_layers=1, d_mlp=16, act="gelu")
    relu = mlp(n_layers=1, d_mlp=16, act="relu")
    assert not torch.allclose(gelu(x), relu(x))


def test_float64_model_takes_float32_images():
    model = mlp(d_mlp=8).double()
    assert model(torch.rand(3, 784)).dtype == torch.float64


def test_functional_call_under_vmap():
    """Three models (three α) stacked: vmap(functional_call) gives each model's own forward and gradients."""
    models = [mlp(seed=s, d_mlp=16, init_scale=a) for s, a in ((0, 1.0), (1, 4.0), (2, 8.0))]
    params, buffers = stack_module_state(models)
    template = ImageMLP(784, 10, 16, 2, "relu", 1.0).to("meta")
    x = torch.rand(3, 6, 784)
    y = torch.randint(0, 10, (3, 6))

    def loss(p, b, xi, yi):
        return torch.nn.functional.cross_entropy(functional_call(template, (p, b), (xi,)), yi)

    out = vmap(lambda p, b, xi: functional_call(template, (p, b), (xi,)))(params, buffers, x)
    grads = vmap(torch.func.grad(loss))(params, buffers, x, y)
    for i, model in enumerate(models):
        torch.testing.assert_close(out[i], model(x[i]))
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i]), y[i]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad)


@pytest.mark.parametrize(("kw", "message"), [
    ({"act": "tanh"}, "model.name=image_mlp takes model.act=relu or gelu"),
    ({"bias": False}, "model.bias applies to model.name=mlp_concat; this model is image_mlp"),
    ({"init": "gromov"}, "model.init applies to model.name=mlp_concat or gpt2_transformer"),
])
def test_bad_model_keys(kw, message):
    with pytest.raises(ConfigError, match=message):
        mlp(**kw)


def test_needs_vector_classification():
    tokens = TaskData(torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long),
                      torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long),
                      kind="classification", n_classes=10, vocab_size=5)
    with pytest.raises(ConfigError, match="needs a classification task on vector inputs"):
        build_model(ImageMLPConfig(), tokens)


@pytest.mark.parametrize("alpha", [0.0, -8.0])
def test_alpha_must_be_positive(alpha):
    cfg = RunConfig(model=ImageMLPConfig(init_scale=alpha))
    with pytest.raises(ConfigError, match=f"model.init_scale must be > 0 \\(got {alpha}\\)"):
        validate(cfg)
