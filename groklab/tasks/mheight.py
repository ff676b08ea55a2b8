"""The m-height regression task (mheight.md §4): predict log2 h_m of the code [I_k | P].

Inputs, one float vector per sample; `task.features` chooses the blocks before the one-hots (`meta["layout"]`
gives every slice):
  P       (raw) P zero-padded to K × R (row-major, P[:k, :n-k] real) divided by `scale` (the data set's entry
          range, 100 for the course, §4.3), so entries lie in [-1, 1]; K·R values;
  minors  (minors) log2 |minors| of P / scale of every size, sorted per size (groklab.mheight.features: invariant
          under the symmetries of P, §7.7), standardised with the training rows' mean and std per slot and per
          (n, k) (`TaskData.fitted["minors_scaling"]["n,k"]`); 251 values for the course groups;
  ratios  (ratios) log2 of the Cramer ratios ||G_I^-1 g_i||_1 over every basis I and column i outside it, the 16
          largest and 48 order statistics (groklab.mheight.features; invariant too), standardised the same way.
          Their largest is exactly log2 h_{n-k} (§2.3), so the m = n-k groups become a pass-through;
  then one-hot n over 1..K+R, one-hot k over 1..K, one-hot m over 1..K+R-1. `task.features` is raw, minors,
  ratios or a '+'-joined subset in that order; `in_dim` is 65 for raw P on the course's 6 × 6 padding. The
  minors and ratios of a data set are computed once and cached beside the generated data sets
  (`mheight/<kind>-<hash>.npy`, keyed by the file's path, size and mtime).
Target: log2 h (float), finite labels only (h = ∞ rows are dropped and counted in meta, §7.2, §7.4).

Sampling is balanced per group: `task.per_group` training and `task.val_per_group` validation rows from the
finite rows of every group in `task.groups`, drawn without replacement with `task.split_seed`; the validation
set therefore covers every group. `task.augment` = c adds c copies of every training row under random
row/column permutations and sign flips of P, which leave h unchanged (§7.7), so the labels stay exact.
Data come from `task.data` (a file of `groklab mheight generate` or
`import`), or, when empty, from a deterministic data set generated once into the cache folder
(`$GROKLAB_CACHE`, else `$XDG_CACHE_HOME/groklab`, else `~/.cache/groklab`; `mheight/<hash>.npz`): continuous
uniform P in [-100, 100] (the distribution that fits the course's 840k set, §4.4), exact vertex labels (§2.3),
seed 0, exactly per_group + val_per_group rows per group. The study's 5k/group over 21 groups is 115,500 exact
labels, about 1 s on one core with the batched vertex method.

What the inputs are made with is fitted on the training rows once and kept as `TaskData.fitted` (`fit_inputs`: the
groups' order, the padding, the entry scale, the features' standardisation), saved in the run folder; new rows (a
re-split, a data file, single codes to predict) are encoded with it (`build_mheight(cfg, fitted)`,
`scoring_task`), never with statistics of their own.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError, GroklabError
from groklab.tasks.base import TaskData
from groklab.tasks.registry import register, register_reader

DEFAULT_RANGE = 100.0
ROW_BYTES = 4_000  # memory per row while the task is built: P, minors and ratios features (~100 floats), copies
FEATURE_BLOCKS = ("raw", "minors", "ratios")  # task.features: one of them or a '+'-joined subset in this order
FEATURE_VERSION = 1  # bump when groklab.mheight.features changes what it computes (invalidates the cache)


def cache_dir() -> Path:
    """Where generated data sets are kept (see the module docstring)."""
    if os.environ.get("GROKLAB_CACHE"):
        return Path(os.environ["GROKLAB_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "groklab"


def layout(K: int, R: int, minors: int = 0, raw: bool = True, ratios: int = 0) -> dict[str, slice]:
    """Slices of x: the scaled padded P (if raw), the `minors` and `ratios` features (if any) and the one-hots of
    n (1..K+R), k (1..K) and m (1..K+R-1)."""
    out, at = {}, 0
    for name, width in (("P", K * R if raw else 0), ("minors", minors), ("ratios", ratios), ("n", K + R), ("k", K),
                        ("m", K + R - 1)):
        if width:
            out[name] = slice(at, at + width)
            at += width
    return out


def encode(n: np.ndarray, k: np.ndarray, m: np.ndarray, pad: tuple[int, int], P: np.ndarray | None, scale: float,
           *blocks: np.ndarray) -> Tensor:
    """Feature rows [N, in_dim]: padded P [N, K, R] (None: left out), further feature blocks [N, W] (the minors,
    the ratios), one-hots (layout above; `pad` = (K, R))."""
    N, (K, R) = len(n), pad
    parts = ([] if P is None else [P.reshape(N, K * R) / scale]) + list(blocks)
    for values, width in ((n, K + R), (k, K), (m, K + R - 1)):
        onehot = np.zeros((N, width), dtype=np.float32)
        onehot[np.arange(N), values - 1] = 1.0
        parts.append(onehot)
    return torch.tensor(np.concatenate(parts, axis=1), dtype=torch.float32)


def parse_task_groups(spec: str) -> tuple[tuple[int, int, int], ...]:
    from groklab.mheight.groups import parse_groups

    try:
        return parse_groups(spec)
    except GroklabError as e:
        raise ConfigError(f"task.groups={spec!r}: {e}") from None


@dataclass(frozen=True)
class MheightConfig(TaskConfig):
    """`task.name=mheight`: the m-height regression (module docstring, mheight.md §4)."""

    name: str = "mheight"
    data: str = ""  # a data set file (groklab mheight generate or import); "" = generate one into the cache
    groups: str = "all"  # all | n9 | n10 | hard | 'n,k,m;n,k,m' (mheight.md §4.1)
    per_group: int = 5_000  # training samples per (n, k, m) group (balanced; the course study's 5k)
    val_per_group: int = 500  # held-out validation samples per group
    augment: int = 0  # extra copies of each training row under P's symmetries (mheight.md §7.7)
    features: str = "raw"  # model inputs: raw (P), minors (sorted log2 |minors|), ratios, or e.g. raw+minors
    losses: ClassVar[tuple[str, ...]] = ("mse_violation",)  # the sampled-bound penalty (violation_term)

    def check(self) -> None:
        checked_groups(self)

    def describe(self) -> str:
        return f"m-height ({self.groups} groups, {self.per_group:,} rows each)"


def checked_groups(cfg: MheightConfig) -> tuple[tuple[int, int, int], ...]:
    """The task's own config checks (one-line ConfigError each); returns the groups."""
    if cfg.per_group < 1:
        raise ConfigError(f"task.per_group must be >= 1 (got {cfg.per_group})")
    if cfg.augment < 0:
        raise ConfigError(f"task.augment must be >= 0 (got {cfg.augment})")
    if cfg.val_per_group < 1:
        raise ConfigError(f"task.val_per_group must be >= 1 (got {cfg.val_per_group})")
    parts = cfg.features.split("+")
    if not set(parts) <= set(FEATURE_BLOCKS) or parts != sorted(set(parts), key=FEATURE_BLOCKS.index):
        raise ConfigError(f"task.features={cfg.features!r}: expected {', '.join(FEATURE_BLOCKS)} or a '+'-joined "
                          "subset in that order (e.g. raw+minors)")
    if cfg.data and not Path(cfg.data).is_file():
        raise ConfigError(f"task.data={cfg.data!r}: no such file (make one with `groklab mheight generate`)")
    groups = parse_task_groups(cfg.groups)
    for n, k, m in groups:
        if m > n - k:
            raise ConfigError(f"task.groups: group {n},{k},{m} has m > n-k, so h = inf for every code (mheight.md §0)")
    rows = len(groups) * (cfg.per_group * (cfg.augment + 1) + cfg.val_per_group)
    check_size(f"{len(groups)} groups of task.per_group={cfg.per_group:,} (x {cfg.augment + 1} with task.augment) "
               f"and task.val_per_group={cfg.val_per_group:,} ({rows:,} rows)", rows * ROW_BYTES,
               "lower task.per_group or task.augment")
    return groups


def generated_path(groups: tuple[tuple[int, int, int], ...], per_group: int) -> tuple[Path, Any]:
    """The cache file of the default data set for these groups and rows per group, and its GenerateSpec."""
    from groklab.mheight.generate import GenerateSpec

    spec = GenerateSpec(groups=groups, per_group=per_group, dist="uniform", value_range=DEFAULT_RANGE, seed=0)
    key = json.dumps({"groups": [list(g) for g in groups], "per_group": per_group, **spec.content_key()})
    return cache_dir() / "mheight" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz", spec


@contextmanager
def generation_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path`.lock (POSIX flock; no lock where fcntl is missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@lru_cache(maxsize=2)
def _load(path: str, mtime_ns: int, size: int) -> tuple[dict[str, np.ndarray], float]:
    """A data set and its entry range (from the sidecar; 100 if unknown), cached while the file is unchanged."""
    from groklab.mheight.dataset import load_dataset, sidecar_path

    table = load_dataset(path)
    scale = DEFAULT_RANGE
    side = sidecar_path(Path(path))
    if side.is_file():
        try:
            info = json.loads(side.read_text())
            scale = float(info.get("range") or DEFAULT_RANGE)
        except (ValueError, AttributeError, TypeError):
            raise GroklabError(f"{side}: damaged sidecar (not a JSON object with a numeric 'range'); delete it or "
                               "write it again with groklab mheight generate") from None
    return table, scale


def load_table(cfg: MheightConfig, groups: tuple[tuple[int, int, int], ...]
               ) -> tuple[dict[str, np.ndarray], float, str]:
    """The data set of `task.data`, or the cached generated one (made here on first use)."""
    if cfg.data:
        path = Path(cfg.data)
    else:
        from groklab.mheight.generate import generate_dataset

        path, spec = generated_path(groups, cfg.per_group + cfg.val_per_group)
        if not path.is_file():
            with generation_lock(path):  # parallel runs of a sweep generate it once
                if not path.is_file():
                    generate_dataset(path, spec, workers=min(4, os.cpu_count() or 1), progress=False, device="auto")
    stat = path.stat()
    try:
        table, scale = _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except GroklabError as exc:
        raise ConfigError(f"task.data={str(path)!r}: {exc}") from None
    return table, scale, str(path)


def features_of(kind: str, table: dict[str, np.ndarray], scale: float,
                pairs: list[list[int]] | None = None) -> np.ndarray:
    """The unstandardised `kind` ("minors" or "ratios") features of every row (groklab.mheight.features); the
    minors' slots are sized for the (n, k) `pairs` (default: those present)."""
    from groklab.mheight.features import sorted_log_minors, sorted_log_ratios

    if kind == "minors":
        return sorted_log_minors(table["P"], table["n"], table["k"], scale, pairs)
    return sorted_log_ratios(table["P"], table["n"], table["k"])


def cached_features(kind: str, path: str, table: dict[str, np.ndarray], scale: float,
                    pairs: list[list[int]] | None = None) -> np.ndarray:
    """`features_of` every row of the data set at `path`, computed once and kept in the cache folder, keyed by the
    file's resolved path, size and mtime."""
    from groklab.mheight.dataset import atomic_path

    stat = Path(path).stat()
    key = json.dumps([kind, str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, scale, FEATURE_VERSION]
                     + ([pairs] if pairs else []))
    cached = cache_dir() / "mheight" / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if cached.is_file():
        try:
            feats = np.load(cached, allow_pickle=False)
            if feats.shape[0] == len(table["n"]):
                return feats
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed
    feats = features_of(kind, table, scale, pairs)
    with atomic_path(cached) as tmp, open(tmp, "wb") as fh:
        np.save(fh, feats)
    return feats


def pairs_of(n: np.ndarray, k: np.ndarray) -> list[tuple[int, int]]:
    return sorted({(int(a), int(b)) for a, b in zip(n, k, strict=True)})


def fit_scaling(feats: np.ndarray, n: np.ndarray, k: np.ndarray, train: np.ndarray) -> dict[str, dict[str, list]]:
    """The training rows' mean and std of every feature slot, per (n, k): a slot means a different minor (or
    ratio) rank in each (n, k), and padded slots hold a constant, so statistics pooled over pairs would squash the
    real values (measured: val log2-MSE 0.95 pooled vs 0.35 per pair, minors, 3k rows per group). Returns
    {"n,k": {"mean": [...], "std": [...]}}, part of the task's fitted state."""
    scaling = {}
    for nn, kk in pairs_of(n, k):
        rows = (n == nn) & (k == kk)
        fit = feats[train[rows[train]]]
        mean = fit.mean(axis=0) if len(fit) else np.zeros(feats.shape[1], dtype=feats.dtype)
        std = fit.std(axis=0) if len(fit) else np.ones(feats.shape[1], dtype=feats.dtype)
        scaling[f"{nn},{kk}"] = {"mean": mean.tolist(), "std": np.where(std > 1e-6, std, 1.0).tolist()}
    return scaling


def apply_scaling(feats: np.ndarray, n: np.ndarray, k: np.ndarray, scaling: dict[str, dict[str, list]]
                  ) -> np.ndarray:
    """Features minus the fitted mean over the fitted std of their row's (n, k), in float32 (the same arithmetic
    for the training rows and for any rows scored later)."""
    out = np.empty(feats.shape, dtype=np.float32)
    for nn, kk in pairs_of(n, k):
        rows = (n == nn) & (k == kk)
        fit = scaling[f"{nn},{kk}"]
        mean, std = (np.asarray(fit[s], dtype=np.float32) for s in ("mean", "std"))
        out[rows] = (feats[rows] - mean) / std
    return out


def balanced_split(group_of: np.ndarray, finite: np.ndarray, sampled: list[int], per_group: int, val_per_group: int,
                   seed: int, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val): per sampled group a seeded permutation of its finite rows, first val then train."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for g in sampled:
        rows = np.flatnonzero((group_of == g) & finite)
        need = per_group + val_per_group
        if len(rows) < need:
            raise ConfigError(f"group {labels[g]} has {len(rows)} finite rows, task.per_group + task.val_per_group "
                              f"= {need} needed (lower them, set task.groups or use a larger task.data)")
        rows = rng.permutation(rows)
        val.append(rows[:val_per_group])
        train.append(rows[val_per_group:need])
    return np.concatenate(train), np.concatenate(val)


def symmetries(P: np.ndarray, n: np.ndarray, k: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """P followed by `copies` images of it under random row and column permutations and sign flips of its
    k x (n-k) block, which leave h unchanged (mheight.md §7.7): exact-label augmentation, padding untouched."""
    rng = np.random.default_rng([seed, 7])
    N, K, R = P.shape
    out = [P]
    for _ in range(copies):
        rkey = np.where(np.arange(K) < k[:, None], rng.random((N, K)), 2.0 + np.arange(K))
        ckey = np.where(np.arange(R) < (n - k)[:, None], rng.random((N, R)), 2.0 + np.arange(R))
        Q = np.take_along_axis(P, np.argsort(rkey, axis=1)[:, :, None], axis=1)
        Q = np.take_along_axis(Q, np.argsort(ckey, axis=1)[:, None, :], axis=2)
        out.append(Q * rng.choice([-1.0, 1.0], (N, K, 1)) * rng.choice([-1.0, 1.0], (N, 1, R)))
    return np.concatenate(out)


def group_index(table: dict[str, np.ndarray], groups: list[tuple[int, int, int]]) -> np.ndarray:
    """Each row's index in `groups`, -1 for a row of another group."""
    keys = np.stack([table["n"], table["k"], table["m"]], axis=1)
    group_of = np.full(len(keys), -1)
    for i, g in enumerate(groups):
        group_of[np.all(keys == np.array(g), axis=1)] = i
    return group_of


def refuse_other_groups(groups: list[tuple[int, int, int]], fitted: dict[str, Any], where: str) -> None:
    """One line naming the groups of `where` that the run's model was not trained on (it has no head for them)."""
    known = {tuple(g) for g in fitted["groups"]}
    other = [",".join(map(str, g)) for g in groups if tuple(g) not in known]
    if other:
        raise ConfigError(f"{where} holds group(s) {'; '.join(other)} that the run was not trained on (its groups: "
                          f"{'; '.join(','.join(map(str, g)) for g in fitted['groups'])})")


def fit_pad(P: np.ndarray, pad: list[int]) -> np.ndarray:
    """P in the fitted K x R zero padding (rows of the fitted groups fit inside it; the rest is zero)."""
    K, R = pad
    if P.shape[1:] == (K, R):
        return P
    out = np.zeros((len(P), K, R))
    out[:, : min(K, P.shape[1]), : min(R, P.shape[2])] = P[:, :K, :R]
    return out


def raw_features(parts: list[str], table: dict[str, np.ndarray], scale: float, source: str | None,
                 pairs: list[list[int]] | None = None) -> dict[str, np.ndarray]:
    """The unstandardised feature blocks among `parts` of every row: cached for the file at `source`, else
    computed here."""
    return {kind: cached_features(kind, source, table, scale, pairs) if source else features_of(kind, table, scale,
                                                                                               pairs)
            for kind in ("minors", "ratios") if kind in parts}


def fit_inputs(cfg: MheightConfig, table: dict[str, np.ndarray], scale: float, train: np.ndarray,
                 groups: list[tuple[int, int, int]], feats: dict[str, np.ndarray]) -> dict[str, Any]:
    """What the inputs of a model trained on these rows are made with (TaskData.fitted): the groups (one head
    each), the padding, the entry scale, the feature blocks, the (n, k) pairs the minors' slots are sized for, the
    features' standardisation fitted on the training rows, and the resulting layout."""
    pad = list(table["P"].shape[1:])
    width = {kind: f.shape[1] for kind, f in feats.items()}
    lay = layout(*pad, width.get("minors", 0), "raw" in cfg.features.split("+"), width.get("ratios", 0))
    return {"groups": [list(g) for g in groups], "pad": pad, "scale": scale, "features": cfg.features,
            "minors_pairs": [list(p) for p in pairs_of(table["n"], table["k"])],
            **{f"{kind}_scaling": fit_scaling(f, table["n"], table["k"], train) for kind, f in feats.items()},
            "layout": {k: [s.start, s.stop] for k, s in lay.items()}}


def inputs(table: dict[str, np.ndarray], rows: np.ndarray, fitted: dict[str, Any], feats: dict[str, np.ndarray],
           P: np.ndarray | None = None) -> Tensor:
    """Model inputs [len(rows), in_dim] of `rows` of `table` made with a fitted state (`fit_inputs`): `feats`
    (`raw_features` of every row) standardised with the fitted statistics; `P` replaces the rows' own P in the raw
    block (augmented copies share their original's features, which are invariant)."""
    n, k, m = (table[c][rows] for c in "nkm")
    blocks = [apply_scaling(f[rows], n, k, fitted[f"{kind}_scaling"]) for kind, f in feats.items()]
    P = table["P"][rows] if P is None else P
    raw = fit_pad(P, fitted["pad"]) if "raw" in fitted["features"].split("+") else None
    return encode(n, k, m, tuple(fitted["pad"]), raw, fitted["scale"], *blocks)


def task_meta(fitted: dict[str, Any]) -> dict[str, Any]:
    """The metadata every m-height TaskData carries (models read `groups` and `layout`, the sampled bound `pad`,
    `layout` and `scale`), from the fitted state."""
    from groklab.mheight.groups import below_mds

    return {"task": "mheight", "groups": fitted["groups"], "pad": fitted["pad"], "scale": fitted["scale"],
            "features": fitted["features"], "layout": fitted["layout"],
            "group_sets": {"m<n-k": [i for i, g in enumerate(fitted["groups"]) if below_mds(g)]}}


@register("mheight", settings=MheightConfig)
def build_mheight(cfg: MheightConfig, fitted: dict[str, Any] | None = None) -> TaskData:
    """Balanced train/validation tensors of the m-height regression (module docstring). With `fitted` (a trained
    run's TaskData.fitted) the rows are encoded with the run's statistics instead of fitting new ones, and the
    groups index the run's heads."""
    groups = checked_groups(cfg)
    table, scale, source = load_table(cfg, groups)
    if fitted is not None:
        refuse_other_groups(list(groups), fitted, "task.groups")
        if cfg.features != fitted["features"]:
            raise ConfigError(f"task.features={cfg.features!r}, but the run's model takes {fitted['features']!r}")
    order = [tuple(g) for g in fitted["groups"]] if fitted is not None else list(groups)
    group_of, finite = group_index(table, order), ~table["is_inf"]
    labels = [",".join(map(str, g)) for g in order]
    sampled = [order.index(g) for g in groups]
    for i in sampled:
        rows = int((group_of == i).sum())
        if rows and not (finite & (group_of == i)).any():
            raise ConfigError(f"group {labels[i]} has no finite labels in {source} (all {rows} heights are inf); "
                              "leave it out of task.groups")
    tr, va = balanced_split(group_of, finite, sampled, cfg.per_group, cfg.val_per_group, cfg.split_seed, labels)
    parts = cfg.features.split("+")
    if fitted is None:
        feats = raw_features(parts, table, scale, source)
        fitted = fit_inputs(cfg, table, scale, tr, order, feats)
    else:
        feats = raw_features(parts, table, fitted["scale"], source, fitted["minors_pairs"])
    P_train = symmetries(table["P"][tr], table["n"][tr], table["k"][tr], cfg.augment, cfg.split_seed)
    tr = np.tile(tr, cfg.augment + 1)  # a copy's minors and ratios are its original's: they are invariant

    def labelled(idx: np.ndarray, P: np.ndarray | None = None) -> tuple[Tensor, Tensor]:
        return inputs(table, idx, fitted, feats, P), torch.tensor(np.log2(table["height"][idx]), dtype=torch.float32)

    (x_train, y_train), (x_val, y_val) = labelled(tr, P_train), labelled(va)
    meta = task_meta(fitted) | {
        "source": source, "data_scale": scale,
        "n_infinite_excluded": {labels[i]: int(((group_of == i) & ~finite).sum()) for i in sampled},
        "y_mean": float(y_train.mean()), "train_group": group_of[tr].tolist(), "val_group": group_of[va].tolist()}
    return TaskData(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, kind="regression",
                    in_dim=int(x_train.shape[1]), meta=meta, penalty=partial(violation_term, meta=meta),
                    groups=(torch.from_numpy(group_of[tr]), torch.from_numpy(group_of[va])), fitted=fitted)


def scoring_task(table: dict[str, np.ndarray], fitted: dict[str, Any], source: str | None) -> TaskData:
    """The rows of `table` encoded with a trained run's fitted state, as the validation split of a TaskData whose
    training split is empty: what `groklab evaluate --data` and `groklab mheight predict` score. Rows with an
    infinite height are left out and counted (their log2 is no label, mheight.md §7.2); unlabelled rows keep a
    NaN label. `source` is the file the table was read from (its features are cached), or None."""
    where = source or "the data"
    keys = {tuple(int(v) for v in row) for row in np.stack([table["n"], table["k"], table["m"]], axis=1)}
    refuse_other_groups(sorted(keys), fitted, where)
    order = [tuple(g) for g in fitted["groups"]]
    group_of, finite = group_index(table, order), ~table["is_inf"]
    rows = np.flatnonzero(finite)
    feats = raw_features(fitted["features"].split("+"), table, fitted["scale"], source, fitted["minors_pairs"])
    x = inputs(table, rows, fitted, feats)
    y = torch.tensor(np.log2(table["height"][rows]), dtype=torch.float32)
    meta = task_meta(fitted) | {
        "source": source, "rows": len(table["n"]),
        "n_infinite_excluded": {",".join(map(str, g)): int(((group_of == i) & ~finite).sum())
                                for i, g in enumerate(order) if ((group_of == i) & ~finite).any()},
        "train_group": [], "val_group": group_of[rows].tolist()}
    return TaskData(x_train=x[:0], y_train=y[:0], x_val=x, y_val=y, kind="regression", in_dim=int(x.shape[1]),
                    meta=meta, groups=(torch.zeros(0, dtype=torch.long), torch.from_numpy(group_of[rows])),
                    fitted=fitted)


@register_reader("mheight")
def read_mheight(cfg: MheightConfig, path: str, fitted: dict[str, Any]) -> TaskData:
    """`groklab evaluate RUN --data FILE` for an m-height run: every row of a data file (.npz, .parquet or a CSV of
    codes, groklab.mheight.dataset; a CSV without heights gets exact labels) scored as the validation split."""
    from groklab.mheight.dataset import load_dataset

    try:
        table = load_dataset(path)
    except GroklabError as e:
        raise ConfigError(f"--data {path}: {e}") from None
    return scoring_task(table, fitted, path)


def sampled_log2_bound(x: Tensor, meta: dict[str, Any], samples: int) -> Tensor:
    """log2 of max over `samples` Gaussian u of h_m(u [I_k | P]), per row of x: a lower bound on log2 h
    (mheight.md §2.4). Loose: 20 samples fall 3.4-8.4 bits short on average (§6). u is drawn from the CPU
    generator, so a resumed run replays it (its state is in the checkpoint)."""
    (K, R), lay = meta["pad"], {k: slice(*v) for k, v in meta["layout"].items()}
    if "P" not in lay:
        raise GroklabError("the sampled bound needs P among the inputs: task.features=raw or raw+minors")
    B = len(x)
    P = x[:, lay["P"]].reshape(B, K, R).double() * meta["scale"]
    k = x[:, lay["k"]].argmax(1) + 1
    m = x[:, lay["m"]].argmax(1) + 1
    G = torch.cat([torch.eye(K, dtype=P.dtype, device=x.device).expand(B, K, K), P], dim=2)
    u = torch.randn(B, samples, K, dtype=P.dtype).to(x.device)
    u = u * (torch.arange(K, device=x.device) < k[:, None])[:, None, :]  # rows k.. of the padding stay unused
    c = (u @ G).abs()  # padded coordinates are exactly 0 and sort last
    top = c.topk(int(m.max()) + 1, dim=-1).values
    ratio = top[..., 0] / top.gather(-1, m[:, None, None].expand(B, samples, 1)).squeeze(-1).clamp_min(1e-300)
    return torch.log2(ratio.amax(1).clamp(1.0, 2.0**60)).to(x.dtype)


def violation_penalty(pred: Tensor, x: Tensor, meta: dict[str, Any], samples: int) -> Tensor:
    """mean relu(log2 h_sampled - log2 h_hat)^2: fires only when the prediction lies below a height that a
    sampled codeword already proves (the eothL violation-aware loss, mheight.md §4.6, §6)."""
    with torch.no_grad():
        bound = sampled_log2_bound(x, meta, samples)
    return torch.relu(bound.to(pred.dtype) - pred.reshape(bound.shape)).pow(2).mean()


def violation_term(pred: Tensor, x: Tensor, cfg: Any, meta: dict[str, Any]) -> Tensor | None:
    """The task's penalty (TaskData.penalty): `train.violation_weight` x the violation penalty, with
    `train.loss=mse_violation` only, in the loss precision."""
    if cfg.loss != "mse_violation" or not cfg.violation_weight:
        return None
    return cfg.violation_weight * violation_penalty(pred.to(getattr(torch, cfg.loss_dtype)), x, meta,
                                                    cfg.violation_samples)
