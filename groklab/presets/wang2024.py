"""Wang, Yue, Su, Sun 2024, "Grokked Transformers are Implicit Reasoners: A Mechanistic Journey to the Edge of
Generalization" (NeurIPS 2024, arXiv 2405.15071); papers.md §04. Data as the authors' notebooks generate it
(groklab.tasks.knowledge_graph); the model is the GPT-2-style decoder trained from scratch on our own vocabulary.

`wang2024` (composition): train accuracy on atomic and inferred facts saturates early, test_inferred_iid (`val`)
rises to ~100% much later, test_inferred_ood stays near chance (1/|E|); a larger phi groks sooner. CI scale: the
authors' advice to shrink the graph (GrokkedTransformer issue #5): |E| 50, |R| 20, out-degree 20 (the paper's),
phi 12.6, 2 layers of width 128, AdamW lr 1e-3 (paper 1e-4), weight decay 0.3, batch 256, 200 warm-up steps. The
paper's §3 finds the speed of grokking set by phi, not by |E|, when counted in epochs, so a smaller graph groks in
fewer steps. Measured (own loop, seed 0): train accuracy 0.98 at step 1,500, test_inferred_iid 0.28 there, 0.95 at
3,500, 0.99 at 4,500; test_inferred_ood 0-0.03 throughout; phi 9 instead: train saturated at 1,500, test_inferred_iid
0.18 at 4,000.

`wang2024_comparison`: atomic facts (entity, attribute) -> value and queries (attribute, <q>, e1, <mask>, e2) ->
<, =, >; the paper finds the OOD queries generalize too after grokking. Not reproduced at this CI scale (|E| 50,
20 attributes, 20 values, phi 12.6, own loop, seed 0): ID queries reach 0.87-0.90 within 1,000-1,500 steps, before
the atomic facts are learned (by step 3,500), and stay there; OOD queries stay at chance (0.46-0.53) through 10,500
steps (2 layers, wd 0.3) and 7,500 steps (4 layers); wd 1.0 does not learn the atomic facts. The paper-scale
command is the way to check the claim (GPU).

The paper's runs (README command): GPT-2 configuration (n_embd 768, 12 heads; n_layer on the command line, 8 per
papers.md, unverified), AdamW lr 1e-4, batch 512, constant schedule after warm-up, weight decay given on the command
line (0.1 here), 1.5M steps, fp16. Not reproduced here:
GPT-2's tied input/output embeddings, dropout 0.1, gradient clipping at 1.0 and fp16.
"""

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PAPER = ("Wang, Yue, Su, Sun 2024, Grokked Transformers are Implicit Reasoners: A Mechanistic Journey to the Edge "
         "of Generalization (arXiv 2405.15071)")
MODEL = ModelConfig(name="gpt2_transformer", d_model=128, n_layers=2, n_heads=4, d_mlp=512, act="gelu")
# Weight decay 0.3, not the README's 0.1: the paper's Appendix E.1 finds larger weight decay groks sooner; it halves
# the CI run (test_inferred_iid 0.95 at step 3,500; at 0.1 at ~10,000).
OPTIM = OptimConfig(name="adamw", lr=1e-3, weight_decay=0.3, beta1=0.9, beta2=0.999, eps=1e-8, warmup_steps=200)
PAPER_MODEL = ("model.d_model=768", "model.n_layers=8", "model.n_heads=12", "model.d_mlp=3072", "optim.lr=1e-4",
               "optim.warmup_steps=2000", "train.batch_size=512", "train.steps=1500000", "train.eval_every=10000")

PRESET = Preset(
    name="wang2024",
    paper=PAPER,
    reproduces="Fig. 2: composition is learned only through grokking (test_inferred_iid -> ~100% long after the "
    "training facts), OOD composition stays at chance, a larger inferred/atomic ratio phi groks sooner",
    config=RunConfig(
        name="wang2024",
        task=TaskConfig(name="kg_composition", op="composition", p=None, n_entities=50, n_relations=20,
                        out_degree=20, phi=12.6, ood_frac=0.05),
        model=MODEL,
        optim=OPTIM,
        train=TrainConfig(steps=5_000, batch_size="256", eval_every=250, loss="ce", checkpoint_every=2_500),
    ),
    paper_scale=("task.n_entities=2000", "task.n_relations=200", "task.phi=18", "optim.weight_decay=0.1",
                 *PAPER_MODEL),
)

COMPARISON = Preset(
    name="wang2024_comparison",
    paper=PAPER,
    reproduces="Fig. 1: comparison is learned through grokking and, unlike composition, generalizes to OOD "
    "entities (test_inferred_ood -> high); not reproduced at the CI scale (see the module docstring)",
    config=RunConfig(
        name="wang2024_comparison",
        task=TaskConfig(name="kg_comparison", op="comparison", p=None, n_entities=50, n_attributes=20, n_values=20,
                        phi=12.6, ood_frac=0.1),
        model=MODEL,
        optim=OPTIM,
        train=TrainConfig(steps=10_000, batch_size="256", eval_every=250, loss="ce", checkpoint_every=2_500),
    ),
    paper_scale=("task.n_entities=1000", "optim.weight_decay=0.1", *PAPER_MODEL),
)
