"""Figures from run histories: curves, a six-panel detail, and a comparison across runs.

Figures are built on `matplotlib.figure.Figure` with an Agg canvas, never through pyplot, so they work
headless and never touch the global backend of a user's notebook. Steps go on a log axis because grokking is
a story told in decades (papers.md §01/§02); step 0 (before training, design.md) stays visible through a
symlog axis that is linear on [0, 1].
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from groklab.analysis.compare import differing_keys, run_labels, sort_key
from groklab.analysis.spikes import norm_key
from groklab.io import atomic_write, finite
from groklab.runs import History, Run

TRAIN, VAL, NORM, LAST, SPIKE = "#1f77b4", "#d62728", "#555555", "#2ca02c", "#ff7f0e"
FORMATS = (".png", ".pdf", ".svg")


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure with an Agg canvas attached."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (for data URIs in the HTML report)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_bytes(fig: Figure, path: Path | str, dpi: int = 150) -> bytes:
    """A figure as the bytes of a file named `path` (the format follows the suffix: .png, .pdf or .svg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=dpi)
    return buf.getvalue()


def save_figure(fig: Figure, path: Path | str, dpi: int = 150) -> Path:
    """Write a figure atomically; the format follows the suffix (.png, .pdf or .svg)."""
    atomic_write(path, figure_bytes(fig, path, dpi))
    return Path(path)


def series(history: History, key: str, positive: bool = False) -> tuple[list[float], list[float]]:
    """(steps, values) where `key` is finite (and > 0 when the axis is logarithmic)."""
    xs, ys = [], []
    for step, raw in zip(history.get("step") or [], history.get(key) or [], strict=False):
        value = finite(raw)
        if value is not None and (value > 0 or not positive):
            xs.append(float(step))
            ys.append(value)
    return xs, ys


def step_label(x: float, _pos: object = None) -> str:
    """Compact step tick labels (0, 10, 1k, 100k, 1M): plain text renders far faster than mathtext."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


DECADES = 30  # a run whose first event lies more than this many times before its last step is drawn on a log axis


def spans_decades(history: History, detection: dict[str, Any] | None) -> bool:
    """Whether a run's story needs a log step axis: its first event (the step from which train accuracy, or loss,
    held the memorization or the phase level) lies more than DECADES times before its last step, as in Power's
    Fig. 1 (fit near 1e3, generalization near 1e6). Otherwise a linear axis, so a validation rise from step 1k to
    4k fills the panel instead of its last fifth. Without such an event (nothing was learnt): log."""
    det = detection or {}
    events = [s for s in (det.get("memorization_step"), (det.get("phase") or {}).get("train_step")) if s]
    steps = [s for s in history.get("step") or [] if finite(s) is not None]
    return not events or not steps or max(steps) > DECADES * min(events)


def log_steps(ax: Axes, history: History, log: bool = True) -> None:
    """Log step axis; symlog (linear on [0, 1]) when step 0 is present so it is not silently dropped; with
    `log=False` (`spans_decades`) a linear one.

    Minor ticks are off: on decade-spanning axes they cost most of the drawing time and add little.
    """
    steps = [s for s in history.get("step") or [] if finite(s) is not None]
    if not log:
        ax.set_xlim(0, max(1.0, max(steps, default=1.0)) * 1.02)
    elif steps and min(steps) <= 0:
        ax.set_xscale("symlog", linthresh=1, linscale=0.3)
        ax.set_xlim(0, max(1.0, max(steps)) * 1.3)
    else:
        ax.set_xscale("log")
        if steps:
            ax.set_xlim(min(steps) / 1.3, max(steps) * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(step_label))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("optimizer step")
    ax.grid(True, which="major", alpha=0.3)


def x_label(unit: str) -> str:
    """The x axis' name: what a run's `step` counts (runs.x_unit)."""
    return {"step": "optimizer step", "epoch": "epoch"}.get(unit, unit)


def _label_x(fig: Figure, unit: str) -> None:
    """Name the x axis of every panel that has one by `unit` (log_steps names it by optimizer steps)."""
    for ax in fig.axes:
        if ax.get_xlabel():
            ax.set_xlabel(x_label(unit))


def _line(ax: Axes, history: History, key: str, label: str, color: str, log: bool = False, **kw: Any) -> bool:
    xs, ys = series(history, key, positive=log)
    if xs:
        ax.plot(xs, ys, color=color, label=label, lw=kw.pop("lw", 1.6), **kw)
    if log:  # matplotlib's log axis labels its minor ticks when the data span less than a decade
        ax.set_yscale("log")
    return bool(xs)


def _legend(ax: Axes, handles: list[Any] | None = None, labels: list[str] | None = None, **kw: Any) -> None:
    """A legend only where something is labelled (an empty history draws no curve)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, **kw)


def mark_steps(ax: Axes, detection: dict[str, Any] | None, labels: bool = True) -> None:
    """Dashed lines at the detected memorization (train colour) and generalization (val colour) steps; a regression
    run's are labelled with the loss level each held (`train/loss <= 0.068`), not as memorized / generalized.

    With `labels` they enter the legend with their step: readable where text on the curves would not be.
    """
    if not detection:
        return
    words = ("memorized", "generalized")  # a regression run fits a loss level: its criterion names it
    if detection.get("metric") == "loss":
        words = tuple(str((detection.get("criteria") or {}).get(k, k)) for k in ("train", "val"))
    marks = (("memorization_step", TRAIN, words[0]), ("generalization_step", VAL, words[1]))
    for key, color, text in marks:
        step = detection.get(key)
        if step is not None:
            label = f"{text} @ {step:,}" if labels else "_nolegend_"
            ax.axvline(step, color=color, ls="--", lw=1, alpha=0.8, label=label)


def mark_spikes(ax: Axes, detection: dict[str, Any] | None, shade: bool = False) -> None:
    """Small triangles (or shaded spans) at detected loss spikes (papers.md §07); with `shade`, each spike is
    also labelled with what moved at the same time (the norm, layer or group that moved most, a learning-rate
    change), the question of the m-height study."""
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, spike in enumerate((detection or {}).get("spikes", [])):
        ax.plot([spike["step"]], [0.02], marker="^", color=SPIKE, transform=trans, ms=6, clip_on=False)
        if shade:
            ax.axvspan(spike["step"], spike.get("end_step") or spike["peak_step"], color=SPIKE, alpha=0.15)
            moved = spike.get("moved") or {}
            label = ", ".join([*(f"{k} +{100 * v:.0f}%" for kind in ("norms", "groups")
                                 for k, v in list((moved.get(kind) or {}).items())[:1]),
                               *(["lr changing"] if moved.get("lr") else [])])
            if label:
                ax.text(spike["step"], 0.95 - 0.07 * (i % 4), label, transform=trans, fontsize=7, color=SPIKE)


def _norm_twin(ax: Axes, history: History) -> None:
    """Weight norm on a right-hand axis (the quantity weight decay acts on; last-layer norm for §07)."""
    key = norm_key(history)
    if key is None:
        return
    twin = ax.twinx()
    _line(twin, history, key, key.split("/")[-1].replace("_", " "), NORM, lw=1.1, ls=":")
    twin.set_ylabel(key, color=NORM)
    twin.tick_params(axis="y", colors=NORM)
    handles, labels = ax.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    _legend(ax, handles + more, labels + more_labels, fontsize=8, loc="center left")


def plain(text: str, limit: int = 90) -> str:
    """Config or run-name text made safe for matplotlib: `$` escaped (no mathtext errors), one line, short."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _title(detection: dict[str, Any] | None, title: str) -> str:
    verdict = (detection or {}).get("verdict")
    return plain(f"{title} — {verdict}" if verdict and title else (title or verdict or ""))


def _is_classification(history: History, detection: dict[str, Any] | None) -> bool:
    if detection and detection.get("metric"):
        return detection["metric"] == "acc"
    return bool(series(history, "train/acc")[0] or series(history, "val/acc")[0])


def _loss_panel(ax: Axes, history: History, detection: dict[str, Any] | None) -> None:
    _line(ax, history, "train/loss", "train loss", TRAIN, log=True)
    _line(ax, history, "val/loss", "val loss", VAL, log=True)
    base = (detection or {}).get("baseline")
    if base:  # a regression run is judged against the constant predictor
        ax.axhline(base["val/loss"], color=VAL, ls=":", lw=1.2, label=f"trivial baseline ({base['kind']})")
    log_steps(ax, history, spans_decades(history, detection))
    mark_steps(ax, detection, labels=False)
    mark_spikes(ax, detection)
    ax.set_ylabel("loss")
    _legend(ax, fontsize=8)


def _acc_panel(ax: Axes, history: History, detection: dict[str, Any] | None, labels: bool = True) -> None:
    _line(ax, history, "train/acc", "train acc", TRAIN)
    _line(ax, history, "val/acc", "val acc", VAL)
    ax.set_ylim(-0.02, 1.02)
    log_steps(ax, history, spans_decades(history, detection))
    mark_steps(ax, detection, labels=labels)
    ax.set_ylabel("accuracy")
    _legend(ax, fontsize=8, loc="center left")


def curves_figure(history: History, detection: dict[str, Any] | None = None, title: str = "",
                  unit: str = "step") -> Figure:
    """Loss and accuracy (train, val) on a log step axis (`unit`: what a step counts), detected steps marked,
    weight norm on a twin."""
    classification = _is_classification(history, detection)
    fig = new_figure(11 if classification else 6.5, 3.8)
    axes = fig.subplots(1, 2 if classification else 1, squeeze=False)[0]
    _loss_panel(axes[0], history, detection)
    if classification:
        _acc_panel(axes[1], history, detection)
        _norm_twin(axes[1], history)
    else:
        mark_steps(axes[0], detection)
        _norm_twin(axes[0], history)
    fig.suptitle(_title(detection, title), fontsize=11)
    _label_x(fig, unit)
    return fig


def _ratio_history(history: History, num: str, den: str, diff: bool = False) -> History:
    """A one-column history of num/den (or num - den) where both are finite, for gap and ratio panels."""
    steps, out = [], []
    cols = (history.get("step") or [], history.get(num) or [], history.get(den) or [])
    for step, a, b in zip(*cols, strict=False):
        a, b = finite(a), finite(b)
        if a is not None and b is not None and (diff or b > 0):
            steps.append(step)
            out.append(a - b if diff else a / b)
    return {"step": steps, "value": out}


def detail_figure(history: History, detection: dict[str, Any] | None = None, title: str = "",
                  unit: str = "step") -> Figure:
    """Six panels: loss, accuracy, generalization gap, weight norm, val/train loss ratio, spikes."""
    classification = _is_classification(history, detection)
    log = spans_decades(history, detection)
    fig = new_figure(15, 8)
    (a_loss, a_acc, a_gap), (a_norm, a_ratio, a_spk) = fig.subplots(2, 3)
    _loss_panel(a_loss, history, detection)
    a_loss.set_title("loss")
    if classification:
        _acc_panel(a_acc, history, detection)
        gap = _ratio_history(history, "train/acc", "val/acc", diff=True)
        a_gap.set_ylabel("train acc − val acc")
    else:
        _line(a_acc, history, "val/loss", "val loss", VAL, log=True)
        log_steps(a_acc, history, log)
        mark_steps(a_acc, detection)
        a_acc.set_ylabel("val loss")
        gap = _ratio_history(history, "val/loss", "train/loss", diff=True)
        a_gap.set_ylabel("val loss − train loss")
    a_acc.set_title("accuracy" if classification else "validation loss")
    _line(a_gap, gap, "value", "gap", "#9467bd")
    a_gap.axhline(0, color="k", lw=0.6)
    log_steps(a_gap, history, log)
    mark_steps(a_gap, detection, labels=False)
    a_gap.set_title("generalization gap")
    drew = [_line(a_norm, history, "params/norm", "total norm", NORM)]
    if series(history, "params/last_layer_norm")[0]:
        twin = a_norm.twinx()
        drew.append(_line(twin, history, "params/last_layer_norm", "last-layer norm", LAST))
        twin.set_ylabel("last-layer norm", color=LAST)
    log_steps(a_norm, history, log)
    mark_steps(a_norm, detection, labels=False)
    a_norm.set_ylabel("total weight norm")
    a_norm.set_title("weight norm" if any(drew) else "weight norm (not logged)")
    ratio = _ratio_history(history, "val/loss", "train/loss")
    _line(a_ratio, ratio, "value", "val/train", "#8c564b", log=True)
    a_ratio.axhline(1, color="k", lw=0.6)
    log_steps(a_ratio, history, log)
    mark_steps(a_ratio, detection, labels=False)
    a_ratio.set_ylabel("val loss / train loss")
    a_ratio.set_title("loss ratio")
    _line(a_spk, history, "train/loss", "train loss", TRAIN, log=True)
    log_steps(a_spk, history, log)
    mark_spikes(a_spk, detection, shade=True)
    a_spk.set_ylabel("train loss")
    n, k = (detection or {}).get("n_spikes", 0), (detection or {}).get("n_spikes_with_norm_change", 0)
    a_spk.set_title(f"loss spikes: {n} ({k} with a norm change)")
    _norm_twin(a_spk, history)
    fig.suptitle(_title(detection, title), fontsize=12)
    _label_x(fig, unit)
    return fig


def comparison_figure(runs: Sequence[Run], title: str = "") -> Figure:
    """One colour per run (val solid, train dashed); legend from the config keys that differ between runs.

    Runs are ordered by those keys, and a one-key sweep gets a sequential colormap, so colour follows the
    swept value (e.g. weight decay, papers.md §05).
    """
    runs = sorted(runs, key=lambda r: sort_key(r.config, differing_keys([x.config for x in runs])))
    labels = [plain(label, 70) for label in run_labels([r.config for r in runs], [r.name for r in runs])]
    all_steps: History = {"step": [s for r in runs for s in r.history.get("step") or []]}
    classification = any(series(r.history, "val/acc")[0] for r in runs)
    sequential = (len(differing_keys([r.config for r in runs])) == 1 and len(runs) > 2) or len(runs) > 10
    cmap = colormaps["viridis" if sequential else "tab10"]
    # viridis ends in a yellow that vanishes on white: its last colour is taken at 0.72 (a green)
    colors = [cmap(0.72 * i / max(1, len(runs) - 1)) if sequential else cmap(i) for i in range(len(runs))]
    decades = any(spans_decades(r.history, r.summary.get("detection")) for r in runs)
    fig = new_figure(15, 4.6)
    panels = fig.subplots(1, 3)
    keys = (("val/acc", "train/acc", "accuracy", False) if classification else
            ("val/loss", None, "val loss", True), ("val/loss", "train/loss", "loss", True),
            ("params/norm", None, "total weight norm", False))
    for ax, (val_key, train_key, ylabel, log) in zip(panels, keys, strict=True):
        for run, label, color in zip(runs, labels, colors, strict=True):
            _line(ax, run.history, val_key, label, color, log=log)
            if train_key:
                _line(ax, run.history, train_key, "_nolegend_", color, log=log, ls="--", lw=1.3, alpha=0.9)
        log_steps(ax, all_steps, decades)
        ax.set_ylabel(ylabel + (" (train dashed)" if train_key else ""))
        ax.set_title(ylabel + (": validation solid, train dashed" if train_key else ""), fontsize=10)
    handles, names = panels[0].get_legend_handles_labels()
    ncol = max(1, min(4, len(runs), 150 // max(1, *(len(n) for n in names))))
    fig.legend(handles, names, loc="outside lower center", ncol=ncol, fontsize=8)
    fig.suptitle(plain(title or f"{len(runs)} runs"), fontsize=12)
    units = sorted({r.unit for r in runs})
    _label_x(fig, units[0] if len(units) == 1 else "optimizer step or epoch (runs differ)")
    return fig


def _runs_panel(ax: Axes, runs: Sequence[Run], labels: Sequence[str], legend: bool = True) -> None:
    """Train (dashed) and validation (solid) curves of a few runs on one axis: accuracy where any run measured
    it, else loss on a log axis; one colour per run."""
    acc = any(series(r.history, "val/acc")[0] or series(r.history, "train/acc")[0] for r in runs)
    val_key, train_key = ("val/acc", "train/acc") if acc else ("val/loss", "train/loss")
    cmap = colormaps["tab10"]
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        _line(ax, run.history, val_key, plain(label, 40), cmap(i % 10), log=not acc, lw=1.3)
        _line(ax, run.history, train_key, "_nolegend_", cmap(i % 10), log=not acc, ls="--", lw=0.9, alpha=0.7)
    if acc:
        ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy" if acc else "loss")
    if legend and len(runs) > 1:
        _legend(ax, fontsize=6, loc="best")


def papers_figure(panels: Sequence[tuple[str, Sequence[Run], Sequence[str]]], columns: int = 4) -> Figure:
    """One panel per paper (title, its runs, their labels), all on one shared log-step axis: train dashed,
    validation solid (`groklab suite`'s comparison of every preset side by side)."""
    columns = max(1, min(columns, len(panels)))
    rows = max(1, -(-len(panels) // columns))
    fig = new_figure(4 * columns, 2.9 * rows)
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
    steps: History = {"step": [s for _, runs, _ in panels for r in runs for s in r.history.get("step") or []]}
    for ax, (title, runs, labels) in zip(axes.flat, panels, strict=False):
        _runs_panel(ax, runs, labels)
        ax.set_title(plain(title, 48), fontsize=9)
    for ax in axes.flat:
        log_steps(ax, steps)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    fig.suptitle("train (dashed) and validation (solid) per paper", fontsize=11)
    return fig


def thumbnail_figure(runs: Sequence[Run], labels: Sequence[str]) -> Figure:
    """A small curves panel (a table cell's thumbnail)."""
    fig = new_figure(2.6, 1.7)
    ax = fig.subplots()
    _runs_panel(ax, runs, labels, legend=False)
    log_steps(ax, {"step": [s for r in runs for s in r.history.get("step") or []]})
    ax.set_xlabel("")
    ax.tick_params(labelsize=6)
    ax.yaxis.label.set_size(7)
    return fig
