"""Issue 16's claims at CI scale, through the public API (`groklab.run`, reading summary.json).

- ResFormer, SVFormer, GPT-2 with memory tokens and a BitLinear GPT-2 each fit x+y mod 31 (train acc >= 0.99) and
  generalise (verdict grokking or comprehension) with the `hydra_gpt2` recipe: measured train99 at steps 100-400
  and val99 at 550-750 (docs/models.md); ~30-40 s of one core each.
- A 2-layer GPT-2 learns one-hop variable binding among three distractors (val acc >= 0.95; measured: 0.99 and
  above from step 300 with seed 0), ~35 s of one core. The `variable_binding` preset's two-hop task takes ~6 min
  (val99 at step 1,900 with 3 layers), so it is measured in docs/models.md, not run here.
"""

import json

import pytest

import groklab

FAST = {"train.device": "cpu", "train.log_checkpoints": 0}


def summary_of(path) -> dict:
    return json.loads((path / "summary.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    {"model.name": "gpt2_resformer"},
    {"model.name": "gpt2_svformer"},
    {"model.name": "gpt2_meta"},
    {"model.name": "gpt2_transformer", "model.linear": "bitlinear"},
], ids=["resformer", "svformer", "meta", "bitlinear"])
def test_new_models_fit_and_generalise_modular_addition(tmp_path, overrides):
    summary = summary_of(groklab.run("hydra_gpt2", {**overrides, **FAST}, out=tmp_path))
    assert summary["status"] == "completed"
    assert summary["thresholds"]["train/acc"]["0.99"] is not None, summary["thresholds"]
    assert summary["thresholds"]["val/acc"]["0.95"] is not None, summary["thresholds"]
    assert summary["detection"]["verdict"] in ("grokking", "comprehension"), summary["detection"]


@pytest.mark.slow
def test_variable_binding_is_learnt(tmp_path):
    one_hop = {"task.chain": 1, "task.distractors": 3, "task.n_examples": 10_000, "task.train_frac": 0.8,
               "model.n_layers": 2, "optim.lr": 1e-3, "train.steps": 600}
    path = groklab.run("variable_binding", {**one_hop, **FAST}, out=tmp_path)
    summary = summary_of(path)
    assert summary["status"] == "completed"
    assert summary["thresholds"]["val/acc"]["0.95"] is not None, summary["thresholds"]
    last = json.loads((path / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["val/acc"] >= 0.95, last
