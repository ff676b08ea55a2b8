"""Fast checks of the Grokking Tickets pieces (Minegishi 2023): masks, norm matching, masked training."""

import pytest
import torch

from groklab.cli import main
from groklab.config import apply_overrides
from groklab.engine import train
from groklab.errors import GroklabError
from groklab.presets import minegishi2023
from groklab.runs import execute
from groklab.studies.tickets import global_mask, norm_matched

TINY = {"task.p": 7, "model.d_model": 16, "model.d_mlp": 8, "train.steps": 20, "train.eval_every": 10,
        "train.checkpoint_every": 20, "train.log_checkpoints": 3, "train.device": "cpu"}


def test_global_magnitude_mask_keeps_the_largest_entries():
    state = {"a": torch.tensor([[1.0, -5.0], [0.1, 3.0]]), "b": torch.tensor([[-4.0, 0.2]]), "bias": torch.ones(2)}
    masks = global_mask(state, keep=0.5)
    assert set(masks) == {"a", "b"}  # weight matrices only
    assert masks["a"].tolist() == [[0.0, 1.0], [0.0, 1.0]] and masks["b"].tolist() == [[1.0, 0.0]]
    rand = global_mask(state, keep=0.5, kind="random", seed=1)
    assert sum(m.sum() for m in rand.values()) == 3
    with pytest.raises(GroklabError):
        global_mask(state, keep=0.0)


def test_norm_matched_init_has_the_ticket_norm():
    init = {"w": torch.randn(10, 10), "v": torch.randn(5, 3)}
    masks = global_mask(init, keep=0.3, kind="random")
    scaled = norm_matched(init, masks)
    ticket = torch.sqrt(sum(((init[n] * masks[n]) ** 2).sum() for n in init))
    assert torch.sqrt(sum((w**2).sum() for w in scaled.values())).item() == pytest.approx(ticket.item(), rel=1e-5)


def test_training_keeps_masked_weights_at_zero_and_starts_from_init(tmp_path):
    cfg = apply_overrides(minegishi2023.PRESET.config, TINY)
    path, _ = execute(cfg, out=tmp_path, command="test")
    init = torch.load(path / "checkpoints" / "step_0.pt", weights_only=True)["model"]
    masks = global_mask(init, keep=0.4)
    torch.save(masks, tmp_path / "mask.pt")
    torch.save({"model": init}, tmp_path / "init.pt")
    masked = apply_overrides(cfg, {"train.init_from": str(tmp_path / "init.pt"),
                                   "train.mask_from": str(tmp_path / "mask.pt"), "optim.weight_decay": 0.0})
    sink_path, _ = execute(masked, out=tmp_path, command="test")
    final = torch.load(sink_path / "checkpoints" / "step_20.pt", weights_only=True)["model"]
    first = torch.load(sink_path / "checkpoints" / "step_0.pt", weights_only=True)["model"]
    for name, m in masks.items():
        assert torch.equal(first[name], init[name] * m)  # the ticket: surviving weights at their initial values
        assert (final[name][m == 0] == 0).all() and (final[name][m == 1] != init[name][m == 1]).any()


def test_default_training_is_unchanged_by_the_hooks():
    cfg = apply_overrides(minegishi2023.PRESET.config, TINY)
    torch.manual_seed(0)
    a, b = train(cfg), train(cfg, init=None, masks=None)
    assert a.final["train/loss"] == b.final["train/loss"]


def test_missing_mask_file_is_a_one_line_error(capsys, tmp_path):
    assert main(["tickets", "task.p=7", "train.mask_from=/nonexistent.pt", "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["tickets", "task.p=7", "--keep", "1.5", "--out", str(tmp_path)]) == 2
    assert main(["probe", "fourier", str(tmp_path)]) == 2


def test_masked_and_unmasked_members_train_together_as_they_train_alone(tmp_path):
    """The tickets study trains the ticket (masked) and its dense controls (unmasked) as one vectorised group: each
    member replays its plain run (float64)."""
    from groklab.engine import MemorySink, train_many

    cfg = apply_overrides(minegishi2023.PRESET.config, TINY | {"train.dtype": "float64",
                                                                "train.loss_dtype": "float64"})
    path, _ = execute(cfg, out=tmp_path, command="test")
    init = torch.load(path / "checkpoints" / "step_0.pt", weights_only=True)["model"]
    torch.save(global_mask(init, keep=0.4), tmp_path / "mask.pt")
    torch.save({"model": init}, tmp_path / "init.pt")
    retrain = {"train.init_from": str(tmp_path / "init.pt"), "optim.weight_decay": 0.0}
    masked = apply_overrides(cfg, retrain | {"train.mask_from": str(tmp_path / "mask.pt")})
    cfgs = [masked, apply_overrides(cfg, retrain)]
    sinks = [MemorySink(), MemorySink()]
    train_many(cfgs, sinks)
    for c, sink in zip(cfgs, sinks, strict=True):
        alone = MemorySink()
        train(c, alone)
        assert [r["val/loss"] for r in sink.rows] == pytest.approx([r["val/loss"] for r in alone.rows], rel=1e-10)
