"""Wang et al. 2024 (issue 14): the knowledge-graph generators follow the authors' notebooks."""

import dataclasses

import numpy as np
import pytest
import torch

from groklab.cli import main
from groklab.tasks import build_task
from groklab.tasks.knowledge_graph import SPLITS, ComparisonConfig, CompositionConfig, composition_graph

COMPOSITION = CompositionConfig(n_entities=120, n_relations=15, out_degree=12, phi=6.0)
COMPARISON = ComparisonConfig(n_entities=60, n_attributes=4, n_values=6, phi=5.0, ood_frac=0.1)


def rows(x: torch.Tensor) -> list[tuple[int, ...]]:
    return [tuple(r) for r in x.tolist()]


def test_composition_graph_is_the_notebooks():
    g = composition_graph(80, 10, 6, 0.05, np.random.default_rng(0))
    assert len(g.head) == 80 * 6 and g.ood.sum() == round(0.05 * 480)  # 5% of the atomic facts are OOD
    for h in range(80):  # every entity has out_degree distinct relations
        assert len(set(g.relation[g.head == h].tolist())) == 6
    for split, paths in g.paths.items():
        first, second = paths[:, 0], paths[:, 1]
        assert (g.tail[first] == g.head[second]).all()  # the second hop starts at the bridge entity
        if split == "test_inferred_ood":
            assert (g.ood[first] & g.ood[second]).all()  # both hops OOD
        else:
            assert (~g.ood[first] & ~g.ood[second]).all()  # both hops ID
    # Every 2-hop path with both hops ID is in train_inferred or test_inferred_iid (about 0.5% in the latter).
    n_id = sum(int((~g.ood[g.head == t]).sum()) for t in g.tail[~g.ood])
    n_iid = len(g.paths["test_inferred_iid"])
    assert len(g.paths["train_inferred"]) + n_iid == n_id and n_iid < 0.02 * n_id


def test_composition_data_answers_are_compositions_of_atomic_facts():
    task = build_task(COMPOSITION)
    pad, n_e = task.meta["pad_token"], COMPOSITION.n_entities
    assert task.vocab_size == task.n_classes == pad + 1 == n_e + COMPOSITION.n_relations + 1
    atomic_rows = task.x_train[:, 0] == pad
    atomic = {(h, r): t for (_, h, r), t in zip(rows(task.x_train[atomic_rows]), task.y_train[atomic_rows].tolist(),
                                                 strict=True)}
    assert len(atomic) == n_e * COMPOSITION.out_degree == task.meta["n_atomic"]  # every atomic fact is trained on
    inferred_x, inferred_y = task.x_train[~atomic_rows], task.y_train[~atomic_rows]
    assert len(inferred_x) == round(COMPOSITION.phi * task.meta["n_id_atomic"]) == task.meta["n_train_inferred"]
    splits = {"train": (inferred_x, inferred_y), **{k: task.evals[k] for k in SPLITS if "inferred" in k}}
    for name, (x, y) in splits.items():
        assert (x[:, 0] < n_e).all() and (x[:, 1:] >= n_e).all()  # [h, r1, r2]: no padding on inferred facts
        for (h, r1, r2), t in zip(rows(x), y.tolist(), strict=True):
            assert atomic[(atomic[(h, r1)], r2)] == t, name
    for name in ("id_atomic", "ood_atomic"):
        x, y = task.evals[name]
        assert (x[:, 0] == pad).all() and all(atomic[(h, r)] == t for (_, h, r), t in zip(rows(x), y.tolist(),
                                                                                          strict=True))
    assert torch.equal(task.x_val, task.evals["test_inferred_iid"][0])  # val is the split the verdict uses
    train = set(rows(inferred_x))
    assert not train & set(rows(task.evals["test_inferred_iid"][0]))
    assert not train & set(rows(task.evals["test_inferred_ood"][0]))
    assert set(rows(task.evals["train_inferred"][0])) <= train


def test_ood_inferred_facts_use_ood_atomic_facts_only():
    task = build_task(COMPOSITION)
    ood = set(rows(task.evals["ood_atomic"][0][:, 1:]))
    atomic_rows = task.x_train[:, 0] == task.meta["pad_token"]
    atomic = {(h, r): t for (_, h, r), t in zip(rows(task.x_train[atomic_rows]), task.y_train[atomic_rows].tolist(),
                                                 strict=True)}
    assert len(ood) == round(0.05 * task.meta["n_atomic"])
    for h, r1, r2 in rows(task.evals["test_inferred_ood"][0]):
        assert (h, r1) in ood and (atomic[(h, r1)], r2) in ood
    for h, r1, r2 in rows(task.evals["test_inferred_iid"][0]):
        assert (h, r1) not in ood and (atomic[(h, r1)], r2) not in ood


def test_comparison_answers_compare_the_attribute_values():
    task = build_task(COMPARISON)
    n_e, n_a, n_v = COMPARISON.n_entities, COMPARISON.n_attributes, COMPARISON.n_values
    attr0, value0 = n_e, n_e + n_a
    q, mask, label0 = value0 + n_v, value0 + n_v + 1, value0 + n_v + 2
    assert task.vocab_size == task.meta["pad_token"] + 1 == label0 + 3 * n_a + 1
    atomic_rows = task.x_train[:, 0] == task.meta["pad_token"]
    kb = np.full((n_e, n_a), -1)
    for row, v in zip(rows(task.x_train[atomic_rows]), task.y_train[atomic_rows].tolist(), strict=True):
        e, a = row[-2], row[-1] - attr0
        kb[e, a] = v - value0
    assert (kb >= 0).all() and (kb < n_v).all()  # one value per (entity, attribute), all trained on
    queries = {"train": (task.x_train[~atomic_rows], task.y_train[~atomic_rows]),
               **{k: task.evals[k] for k in SPLITS if "inferred" in k}}
    for name, (x, y) in queries.items():
        for (a, q_, e1, m_, e2), label in zip(rows(x), y.tolist(), strict=True):
            a -= attr0
            assert (q_, m_) == (q, mask) and e1 != e2, name
            assert label == label0 + 3 * a + 1 + int(np.sign(kb[e1, a] - kb[e2, a])), name
    ood = {(row[-1] - attr0, row[-2]) for row in rows(task.evals["ood_atomic"][0])}
    assert len(ood) == n_a * round(COMPARISON.ood_frac * n_e)  # 10% of the entities per attribute
    for a, _, e1, _, e2 in rows(task.evals["test_inferred_ood"][0]):
        assert (a - attr0, e1) in ood and (a - attr0, e2) in ood
    for a, _, e1, _, e2 in rows(task.evals["test_inferred_iid"][0]):
        assert (a - attr0, e1) not in ood and (a - attr0, e2) not in ood
    iid = set(rows(task.evals["test_inferred_iid"][0]))
    assert all((a, q_, e2, m_, e1) in iid for a, q_, e1, m_, e2 in iid)  # both orders of every held-out pair
    assert len(queries["train"][0]) == round(COMPARISON.phi * task.meta["n_id_atomic"])


@pytest.mark.parametrize("cfg", [COMPOSITION, COMPARISON], ids=["composition", "comparison"])
def test_the_data_depend_on_split_seed_only(cfg):
    a, b = build_task(cfg), build_task(cfg)
    c = build_task(dataclasses.replace(cfg, split_seed=1))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert all(torch.equal(a.evals[k][0], b.evals[k][0]) for k in SPLITS)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize(("args", "needle"), [
    (["task.name=kg_composition", "task.n_relations=10", "task.out_degree=12"], "exceeds task.n_relations=10"),
    (["task.name=kg_composition", "task.n_entities=50", "task.n_relations=10", "task.out_degree=5", "task.phi=18"],
     "task.phi=18.0 needs"),
    (["task.name=kg_composition", "task.ood_frac=0"], "task.ood_frac must be in (0, 1)"),
    (["task.name=kg_comparison", "task.ood_frac=1"], "task.ood_frac must be in (0, 1)"),
    (["task.name=kg_composition", "task.phi=-1"], "task.phi must be >= 0"),
    (["task.name=kg_composition", "task.n_entities=6", "task.n_relations=4", "task.out_degree=2", "task.phi=0.5"],
     "empty"),
    (["task.name=kg_comparison", "task.n_values=1"], "task.n_values >= 2"),
])
def test_bad_graphs_exit_2_with_one_line(capsys, tmp_path, args, needle):
    model = ["model.name=gpt2_transformer", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32"]
    code = main(["run", *args, *model, "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not any(tmp_path.iterdir())
