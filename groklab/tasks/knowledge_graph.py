"""The knowledge-graph reasoning tasks of Wang, Yue, Su, Sun 2024, "Grokked Transformers are Implicit Reasoners"
(NeurIPS 2024, arXiv 2405.15071; papers.md §04), generated as the authors' notebooks do (OSU-NLP-Group/
GrokkedTransformer `composition.ipynb`, `comparison.ipynb`, read at d7e06b4).

Composition (2-hop). Every entity h gets `out_degree` distinct relations, each to a uniformly random tail, the
atomic facts (h, r, t). A random `ood_frac` (5%) of them are OOD: still trained on as atomic facts, never inside a
training inference. Every 2-hop path (h, r1, b), (b, r2, t) is an inferred fact (h, r1, r2) -> t: both hops ID ->
train_inferred with probability 0.995, else test_inferred_iid; both hops OOD -> test_inferred_ood; mixed paths are
dropped. Training = all atomic facts + round(phi x |ID atomic|) inferred facts drawn from train_inferred.

Comparison. Every (entity, attribute) has a value in 0..n_values-1; per attribute a random 90% of the entities are
ID (`ood_frac` = 10% OOD). Atomic facts (e, a) -> value for every entity; for every unordered pair (e1, e2), both
orders of the query (a, <q>, e1, <mask>, e2) -> one of three attribute-specific labels (value1 <, =, > value2):
both ID -> test_inferred_iid with probability 0.1, else train_inferred; both OOD -> test_inferred_ood; mixed
pairs dropped. Training = all atomic facts + round(phi x |ID atomic|) train_inferred queries.

Evaluation splits (`TaskData.evals`), up to 3,000 facts each as in the notebooks: id_atomic, ood_atomic,
train_inferred (drawn from the sampled training inferences), test_inferred_iid, test_inferred_ood. `val` is
test_inferred_iid: composition's `valid.json` in the notebook is the OOD set, on which nothing groks (§04 pitfall).

Tokens: our own small vocabulary (no GPT-2 tokenizer): composition entities 0..|E|-1, relations, then PAD;
comparison entities, attributes, values, <q>, <mask>, the 3 x n_attributes labels, then PAD. Atomic facts are
shorter than inferred ones, so rows are padded with PAD to one [N, seq] tensor: `task.padding=left` (default) puts
PAD first, so every answer is read at the last position and the pads are attended; `task.padding=right` is the
authors' layout (their batches are right-padded with the end token, every question starts at position 0): the
transformers read each row's answer at its last real token, and causal attention never sees the pads (meta
`padding` tells the model). The loss falls on the answer token only, which is what the notebooks' target masking
gives (their `</a>` end token carries no information and is not predicted here). The output layer covers the
whole vocabulary, like the authors' language-model head. Every draw comes from `task.split_seed`, so the graph
and the splits never move with the init seed (the notebooks use numpy's unseeded global state). The defaults are
the composition notebook's (|E| 2,000); the comparison notebook's are |E| 1,000, 20 attributes, 20 values, 10%
OOD entities per attribute, phi in {12.6, 9.0, 7.2, 3.6} (the wang2024_comparison preset's paper scale).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData
from groklab.tasks.registry import register

PROBE_SIZE = 3000  # facts per evaluation split (the notebooks' test_size)
COMPOSITION_IID_TEST = 0.005  # ID 2-hop paths held out as test_inferred_iid (composition.ipynb)
COMPARISON_IID_TEST = 0.1  # ID pairs held out as test_inferred_iid (comparison.ipynb)
PADDINGS = ("left", "right")
SPLITS = ("id_atomic", "ood_atomic", "train_inferred", "test_inferred_iid", "test_inferred_ood")


@dataclass(frozen=True)
class Facts:
    """Token sequences (unpadded, as rows of an int array per kind) and answers of every fact kind."""

    atomic: np.ndarray  # [n_atomic, a] tokens
    atomic_answer: np.ndarray  # [n_atomic]
    atomic_ood: np.ndarray  # [n_atomic] bool
    inferred: dict[str, np.ndarray]  # train_inferred (all candidates), test_inferred_iid, test_inferred_ood
    inferred_answer: dict[str, np.ndarray]


@dataclass(frozen=True)
class CompositionGraph:
    """Atomic facts as arrays; inferred facts (h, r1, r2) -> t with the index of their two atomic facts."""

    head: np.ndarray  # [n_atomic] entity ids
    relation: np.ndarray  # [n_atomic] relation ids (0-based)
    tail: np.ndarray  # [n_atomic] entity ids
    ood: np.ndarray  # [n_atomic] bool
    paths: dict[str, np.ndarray]  # split -> [n, 2] (first-hop, second-hop) atomic fact indices


def choose(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `count` items drawn without replacement from n, or all of them when count >= n (the notebooks'
    `choose`)."""
    if count >= n:
        return np.arange(n)
    return rng.choice(n, count, replace=False)


def composition_graph(n_entities: int, n_relations: int, out_degree: int, ood_frac: float,
                      rng: np.random.Generator) -> CompositionGraph:
    """composition.ipynb `build_dataset(..., split_train_inferred=True)`, in arrays."""
    relation = np.concatenate([rng.choice(n_relations, out_degree, replace=False) for _ in range(n_entities)])
    head = np.repeat(np.arange(n_entities), out_degree)
    tail = rng.integers(0, n_entities, size=len(head))
    ood = np.zeros(len(head), dtype=bool)
    ood[rng.choice(len(head), round(len(head) * ood_frac), replace=False)] = True
    # Every 2-hop path: the first hop's tail b is the head of out_degree facts, stored at rows b*deg .. b*deg+deg-1.
    first = np.repeat(np.arange(len(head)), out_degree)
    second = (tail[:, None] * out_degree + np.arange(out_degree)).ravel()
    both_ood, both_id = ood[first] & ood[second], ~ood[first] & ~ood[second]
    iid_test = rng.uniform(size=int(both_id.sum())) <= COMPOSITION_IID_TEST  # notebook: uniform() > 0.005 trains
    id_paths = np.stack([first[both_id], second[both_id]], 1)
    paths = {"train_inferred": id_paths[~iid_test], "test_inferred_iid": id_paths[iid_test],
             "test_inferred_ood": np.stack([first[both_ood], second[both_ood]], 1)}
    return CompositionGraph(head=head, relation=relation, tail=tail, ood=ood, paths=paths)


def composition_facts(cfg: CompositionConfig, rng: np.random.Generator) -> tuple[Facts, int]:
    """Facts as tokens: entity e -> e, relation r -> |E| + r; returns them and the PAD token (= vocab - 1)."""
    g = composition_graph(cfg.n_entities, cfg.n_relations, cfg.out_degree, cfg.ood_frac, rng)
    rel = g.relation + cfg.n_entities
    atomic = np.stack([g.head, rel], 1)
    inferred = {k: np.stack([g.head[p[:, 0]], rel[p[:, 0]], rel[p[:, 1]]], 1) for k, p in g.paths.items()}
    answers = {k: g.tail[p[:, 1]] for k, p in g.paths.items()}
    facts = Facts(atomic=atomic, atomic_answer=g.tail, atomic_ood=g.ood, inferred=inferred, inferred_answer=answers)
    return facts, cfg.n_entities + cfg.n_relations


def comparison_facts(cfg: ComparisonConfig, rng: np.random.Generator) -> tuple[Facts, int]:
    """comparison.ipynb in arrays. Tokens: entities, attributes, values, <q>, <mask>, labels (3 per attribute);
    returns the facts and the PAD token (= vocab - 1)."""
    n_e, n_a, n_v = cfg.n_entities, cfg.n_attributes, cfg.n_values
    attr0, value0 = n_e, n_e + n_a
    q, mask = value0 + n_v, value0 + n_v + 1
    label0 = mask + 1
    kb = rng.integers(0, n_v, size=(n_e, n_a))  # [entity, attribute] -> value
    pair_a, pair_b = np.triu_indices(n_e, k=1)  # itertools.combinations order
    atomic, atomic_answer, atomic_ood = [], [], []
    inferred: dict[str, list[np.ndarray]] = {"train_inferred": [], "test_inferred_iid": [], "test_inferred_ood": []}
    for a in range(n_a):
        is_id = np.zeros(n_e, dtype=bool)
        is_id[rng.choice(n_e, round((1 - cfg.ood_frac) * n_e), replace=False)] = True
        atomic.append(np.stack([np.arange(n_e), np.full(n_e, attr0 + a)], 1))
        atomic_answer.append(value0 + kb[:, a])
        atomic_ood.append(~is_id)
        both_id, both_ood = is_id[pair_a] & is_id[pair_b], ~is_id[pair_a] & ~is_id[pair_b]
        iid_test = rng.uniform(size=int(both_id.sum())) < COMPARISON_IID_TEST
        selected = {"train_inferred": (pair_a[both_id][~iid_test], pair_b[both_id][~iid_test]),
                    "test_inferred_iid": (pair_a[both_id][iid_test], pair_b[both_id][iid_test]),
                    "test_inferred_ood": (pair_a[both_ood], pair_b[both_ood])}
        for split, (e1, e2) in selected.items():
            # Both orders of every pair, each followed directly by its flip, as the notebook appends them.
            first = np.stack([e1, e2], 1).ravel()
            second = np.stack([e2, e1], 1).ravel()
            label = label0 + 3 * a + 1 + np.sign(kb[first, a] - kb[second, a])  # 0: <, 1: =, 2: >
            n = len(first)
            rows = np.stack([np.full(n, attr0 + a), np.full(n, q), first, np.full(n, mask), second, label], 1)
            inferred[split].append(rows)
    merged = {k: np.concatenate(v) for k, v in inferred.items()}
    facts = Facts(atomic=np.concatenate(atomic), atomic_answer=np.concatenate(atomic_answer),
                  atomic_ood=np.concatenate(atomic_ood), inferred={k: v[:, :5] for k, v in merged.items()},
                  inferred_answer={k: v[:, 5] for k, v in merged.items()})
    return facts, label0 + 3 * n_a


def pad_to(rows: np.ndarray, width: int, pad: int, side: str) -> np.ndarray:
    """[n, w] -> [n, width] with PAD on the left (the last position is always the question's last token) or on the
    right (every question starts at position 0, as the authors' right-padded batches have it)."""
    fill = np.full((len(rows), width - rows.shape[1]), pad, dtype=rows.dtype)
    return np.concatenate([fill, rows] if side == "left" else [rows, fill], 1)


@dataclass(frozen=True)
class GraphConfig(TaskConfig):
    """The keys both knowledge-graph tasks read; each task's schema adds its own graph's sizes."""

    n_entities: int = 2000  # entities |E| (the composition notebook: 2,000; comparison: 1,000)
    phi: float = 18.0  # φ, inferred facts in training per ID atomic fact (Wang et al. 2024: 3.6 .. 18)
    ood_frac: float = 0.05  # OOD share of atomic facts (composition) or of entities per attribute (comparison)
    padding: str = "left"  # left (PAD before the question, answer read at the last position) | right (the
    # authors' layout: questions start at position 0, the answer is read at each row's last token)

    def check(self) -> None:
        """The rules of the keys both tasks read; each task's `check` adds its own."""
        if not 0 < self.ood_frac < 1:
            raise ConfigError(f"task.ood_frac must be in (0, 1) (got {self.ood_frac})")
        if self.phi < 0:
            raise ConfigError(f"task.phi must be >= 0 (got {self.phi})")
        if self.n_entities < 2:
            raise ConfigError(f"task.n_entities must be >= 2 (got {self.n_entities})")
        if self.padding not in PADDINGS:
            raise ConfigError(f"task.padding={self.padding!r}: expected one of {', '.join(PADDINGS)}")

    def check_rows(self, rows: int) -> None:
        """The memory of `rows` inferred facts."""
        check_size(f"task.name={self.name} with task.n_entities={self.n_entities:,} ({rows:,} facts)", 64 * rows,
                   "choose a smaller graph")

    def label(self) -> str:  # the name without its kg_ prefix: composition, comparison
        return self.name.removeprefix("kg_")


@dataclass(frozen=True)
class CompositionConfig(GraphConfig):
    """`task.name=kg_composition`: 2-hop composition over a random graph (module docstring)."""

    name: str = "kg_composition"
    n_relations: int = 200  # relations |R| (the notebook: 200)
    out_degree: int = 20  # outgoing relations (atomic facts) per entity (the notebook: 20)

    def check(self) -> None:
        super().check()
        if self.n_relations < 1 or self.out_degree < 1:
            raise ConfigError(f"task.n_relations and task.out_degree must be >= 1 (got {self.n_relations}, "
                              f"{self.out_degree})")
        if self.out_degree > self.n_relations:
            raise ConfigError(f"task.out_degree={self.out_degree} exceeds task.n_relations={self.n_relations}: each "
                              "entity's relations are distinct; lower out_degree or raise n_relations")
        # the inferred facts: the two-hop paths from every entity
        self.check_rows(self.n_entities * self.out_degree * (self.out_degree + 1))


@dataclass(frozen=True)
class ComparisonConfig(GraphConfig):
    """`task.name=kg_comparison`: comparisons of entities' attribute values (module docstring)."""

    name: str = "kg_comparison"
    n_attributes: int = 20  # attributes (the comparison notebook: 20)
    n_values: int = 10  # values per attribute (the comparison notebook: 20)

    def check(self) -> None:
        super().check()
        if self.n_attributes < 1 or self.n_values < 2:
            raise ConfigError(f"task.n_attributes must be >= 1 and task.n_values >= 2 (got {self.n_attributes}, "
                              f"{self.n_values})")
        n_ood = round(self.ood_frac * self.n_entities)
        if n_ood < 2 or self.n_entities - n_ood < 2:
            raise ConfigError(f"task.n_entities={self.n_entities} with task.ood_frac={self.ood_frac} leaves {n_ood} "
                              f"OOD and {self.n_entities - n_ood} ID entities per attribute; the OOD and ID queries "
                              "each need a pair (raise task.n_entities or move task.ood_frac)")
        # the inferred facts: both orders of every pair of entities, per attribute
        self.check_rows(self.n_attributes * self.n_entities * (self.n_entities + 1))


@register("kg_composition", settings=CompositionConfig)
def build_composition(cfg: CompositionConfig) -> TaskData:
    return build_graph_task(cfg, composition_facts)


@register("kg_comparison", settings=ComparisonConfig)
def build_comparison(cfg: ComparisonConfig) -> TaskData:
    return build_graph_task(cfg, comparison_facts)


def build_graph_task(cfg: GraphConfig, make: Callable[[Any, np.random.Generator], tuple[Facts, int]]) -> TaskData:
    """Training facts, val = test_inferred_iid, the five probes, of the facts `make` draws."""
    cfg.check()
    rng = np.random.default_rng(cfg.split_seed)
    facts, pad = make(cfg, rng)
    n_id = int((~facts.atomic_ood).sum())
    wanted, available = round(cfg.phi * n_id), len(facts.inferred["train_inferred"])
    if wanted > available:
        raise ConfigError(f"task.phi={cfg.phi} needs {wanted} inferred training facts but the graph has "
                          f"{available} (phi <= {available / n_id:.2f}); lower task.phi or grow the graph")
    width = facts.inferred["train_inferred"].shape[1]
    pick = choose(available, wanted, rng)
    train_inferred = facts.inferred["train_inferred"][pick]
    train_inferred_answer = facts.inferred_answer["train_inferred"][pick]
    pools = {
        "id_atomic": (facts.atomic[~facts.atomic_ood], facts.atomic_answer[~facts.atomic_ood]),
        "ood_atomic": (facts.atomic[facts.atomic_ood], facts.atomic_answer[facts.atomic_ood]),
        "train_inferred": (train_inferred, train_inferred_answer),
        "test_inferred_iid": (facts.inferred["test_inferred_iid"], facts.inferred_answer["test_inferred_iid"]),
        "test_inferred_ood": (facts.inferred["test_inferred_ood"], facts.inferred_answer["test_inferred_ood"]),
    }
    empty = [name for name, (x, _) in pools.items() if len(x) == 0]
    if empty:
        raise ConfigError(f"the graph leaves {', '.join(empty)} empty (task.n_entities={cfg.n_entities}); "
                          "grow the graph (n_entities, out_degree or n_relations)")

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.from_numpy(pad_to(x, width, pad, cfg.padding).astype(np.int64)),
                torch.from_numpy(y.astype(np.int64)))

    evals = {}
    for name in SPLITS:  # drawn in this order after the training sample, so each split is reproducible
        x, y = pools[name]
        keep = np.sort(choose(len(x), PROBE_SIZE, rng))
        evals[name] = tensors(x[keep], y[keep])
    x_train, y_train = tensors(np.concatenate([pad_to(facts.atomic, width, pad, cfg.padding), train_inferred]),
                               np.concatenate([facts.atomic_answer, train_inferred_answer]))
    vocab = pad + 1
    meta = {"task": cfg.name, "pad_token": pad, "padding": cfg.padding, "vocab": vocab, "phi": cfg.phi,
            "n_atomic": len(facts.atomic), "n_id_atomic": n_id, "n_train_inferred": wanted,
            "available_train_inferred": available,
            **{f"n_{name}": len(pools[name][0]) for name in ("test_inferred_iid", "test_inferred_ood")}}
    return TaskData(x_train=x_train, y_train=y_train, x_val=evals["test_inferred_iid"][0],
                    y_val=evals["test_inferred_iid"][1], kind="classification", n_classes=vocab, vocab_size=vocab,
                    meta=meta, evals=evals)
