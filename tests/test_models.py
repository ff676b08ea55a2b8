import torch

from groklab.config import MODELS
from groklab.models import build_model, count_parameters
from groklab.models.mlp import MLPConfig
from groklab.models.transformer import TransformerConfig
from groklab.tasks import build_task
from groklab.tasks.modular import ModularConfig


def test_power_transformer_shapes_and_size():
    task = build_task(ModularConfig())
    model = build_model(TransformerConfig(), task)
    out = model(task.x_train[:5])
    assert out.shape == (5, 97)
    non_embedding = count_parameters(model, embeddings=False)
    assert 3.5e5 < non_embedding < 4.5e5  # Power et al. 2022: "about 4e5 non-embedding parameters"
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_parameters()}
    assert {"W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U"} <= names
    assert not {"b_in", "b_out"} & names  # bias-free linears


def test_nanda_transformer_has_no_layernorm_and_mlp_biases():
    task = build_task(ModularConfig(op="x+y", p=113, train_frac=0.3, layout="a_b_eq"))
    model = build_model(TransformerConfig(name="nanda_transformer", n_layers=1), task)
    names = [n for n, _ in model.named_parameters()]
    assert not any("ln" in n for n in names)
    assert "blocks.0.b_in" in names and "blocks.0.b_out" in names
    assert model.W_E.shape == (114, 128) and model.W_U.shape == (128, 113)
    # Nanda's init: W_E ~ N(0, 1/d_model), W_U ~ N(0, 1/d_vocab)
    assert abs(model.W_E.std().item() - 128**-0.5) < 0.01
    assert abs(model.W_U.std().item() - 114**-0.5) < 0.01
    assert model(task.x_train[:3]).shape == (3, 113)


def test_last_position_shortcut_equals_full_computation():
    """The last block computes only the last position: logits must equal a full causal forward."""
    task = build_task(ModularConfig(op="x-y", p=11))
    for name in ("power_transformer", "nanda_transformer", "gpt2_transformer"):
        torch.manual_seed(0)
        model = build_model(MODELS.make(name, d_model=32, n_heads=4, d_mlp=64), task).double()
        x = task.x_train[:17]
        h = model.W_E[x] + model.W_pos[: x.shape[1]]
        for block in model.blocks:
            h = block(h, last_only=False)
        h = h[:, -1]
        if model.ln_final is not None:
            h = model.ln_final(h)
        assert torch.allclose(h @ model.W_U, model(x), atol=1e-10)


def test_mlp_on_one_hot_inputs():
    task = build_task(ModularConfig(op="x+y", p=7))
    model = build_model(MLPConfig(d_mlp=16, n_layers=2), task)
    x = task.x_train[:4]
    onehot = torch.nn.functional.one_hot(x, task.vocab_size).float().flatten(1)
    h = torch.relu(onehot @ model.W_in.reshape(-1, 16) + model.b_in)
    h = torch.relu(h @ model.W_hidden[0] + model.b_hidden[0])
    assert torch.allclose(h @ model.W_out + model.b_out, model(x), atol=1e-6)
