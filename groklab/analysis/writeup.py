"""`groklab writeup`: a scientific-structure document (Markdown and self-contained HTML) generated from run folders.

Title, abstract, methods (config.json and the parameter count summary.json records), results (the detector's
figures as stored in summary.json, a table across the keys that differ between the runs, figures), observations
the data supports (runs that did not finish, whether a crossing was sustained, loss spikes and whether the weight
norm moved with them, whether a regression run beat its trivial baseline), and an interpretation section left to
the author. Every number in the text is a value of a run's files (config.json, summary.json, metrics.jsonl), shown
with `num` (4 significant digits); identifiers are code spans. Nothing is counted or averaged in prose.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groklab.analysis.compare import differing_keys, fmt_value, short_keys, sort_key
from groklab.analysis.detect import detect, infer_kind
from groklab.analysis.plots import comparison_figure, curves_figure, figure_png
from groklab.analysis.report import CSS, data_uri
from groklab.analysis.spikes import describe_moved
from groklab.config import RunConfig, flatten
from groklab.errors import GroklabError
from groklab.io import all_or_nothing, finite, last_finite
from groklab.runs import Run, load_run

MAX_FIGURES = 12  # per-run curves figures; the comparison figure shows every run


def num(value: Any) -> str:
    """A number as the document prints it: integers with thousands separators, floats to 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def code(text: Any) -> str:
    return f"`{str(text).replace('`', chr(39))}`"


@dataclass
class Block:
    """One piece of the document: a heading, a paragraph, a bullet list, a table or a figure."""

    kind: str  # h1 | h2 | p | list | table | figure
    text: str = ""
    items: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    png: bytes = b""
    name: str = ""


@dataclass(frozen=True)
class Item:
    run: Run
    detection: dict[str, Any]
    stored: bool  # the detection is summary.json's (its numbers are in the files)


def load(paths: Sequence[Path]) -> list[Item]:
    if not paths:
        raise GroklabError("no run folders to write up")
    items = []
    for path in paths:
        run = load_run(path)
        stored = run.summary.get("detection")
        det = stored or detect(run.history, infer_kind(run.history, run.summary))
        items.append(Item(run, det, bool(stored)))
    return items


def metric(item: Item) -> str:
    return item.detection.get("metric", "acc")


def best(item: Item) -> tuple[float | None, int | None]:
    """Best validation value (max accuracy, min loss) and its step."""
    key = f"val/{metric(item)}"
    pairs = [(v, s) for s, raw in zip(item.run.history.get("step") or [], item.run.history.get(key) or [],
                                      strict=False) if (v := finite(raw)) is not None]
    if not pairs:
        return None, None
    value, step = (max if metric(item) == "acc" else min)(pairs, key=lambda p: p[0])
    return value, step


CORE = {"task.name", "task.op", "task.p", "task.train_frac", "model.name", "model.d_model", "model.n_layers",
        "model.d_mlp", "optim.name", "optim.lr", "optim.weight_decay", "optim.beta1", "optim.beta2",
        "optim.warmup_steps", "train.steps", "train.batch_size", "train.eval_every", "train.dtype", "train.loss",
        "seed", "task.split_seed"}


def shared(items: list[Item]) -> dict[str, Any]:
    """Flattened config values every run shares: the core keys and those that differ from the built-in defaults
    (a key the task or model does not use keeps its default and is left out)."""
    flats = [flatten(it.run.config) for it in items]
    defaults = flatten(RunConfig().to_dict())
    return {k: v for k, v in flats[0].items() if all(f.get(k) == v for f in flats[1:])
            and (k in CORE or k not in defaults or v != defaults[k])}


def setting(flat: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{code(k)} = {num(flat[k]) if isinstance(flat[k], int | float) else code(flat[k])}"
                     for k in keys if k in flat)


def methods(items: list[Item], varied: list[str]) -> list[Block]:
    """Task, data sizes, model and parameter count, optimiser and schedule, steps, seeds: from config.json and
    summary.json, the shared values once and the varied keys per run."""
    flat = shared(items)
    sizes = {code(it.run.name): (it.run.summary.get("task") or {}).get("sizes") for it in items}
    params = {code(it.run.name): it.run.summary.get("parameters") for it in items}
    lines = [f"Task: {setting(flat, [k for k in flat if k.startswith('task.')])}.",
             f"Model: {setting(flat, [k for k in flat if k.startswith('model.')])}.",
             f"Optimiser: {setting(flat, [k for k in flat if k.startswith('optim.')])}.",
             f"Training: {setting(flat, [k for k in flat if k.startswith('train.')])}.",
             f"Seeds: {setting(flat, ['seed', 'task.split_seed']) or 'varied (see the table)'}."]
    blocks = [Block("h2", "Methods"), Block("list", items=lines)]
    rows = []
    for it in items:
        size = sizes[code(it.run.name)] or {}
        count = params[code(it.run.name)]
        rows.append([code(it.run.name), ", ".join(f"{k} {num(v)}" for k, v in size.items()) or "not recorded",
                     num(count) if count is not None else "not recorded"])
    blocks.append(Block("table", columns=["run", "examples per split", "parameters"], rows=rows))
    if varied:
        keyed = [[code(it.run.name), *(fmt_cell(flatten(it.run.config).get(k)) for k in varied)] for it in items]
        blocks += [Block("p", "Keys that differ between the runs:"),
                   Block("table", columns=["run", *(code(k) for k in varied)], rows=keyed)]
    return blocks


def fmt_cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return num(value)
    return code(fmt_value(value)) if value not in (None, "") else "—"


def result_row(item: Item) -> list[str]:
    run, det = item.run, item.detection
    m = metric(item)
    value, step = best(item)
    summary = run.summary
    steps = num(summary.get("steps")) + (f" of {num(summary['total_steps'])}" if summary.get("total_steps") else "")
    if summary.get("stopped") and summary.get("total_steps"):  # train.stop_when ended it once its rule had held
        steps = f"{num(summary.get('steps'))} (stopped: {code(summary['stopped'].get('when'))} held; at most " \
                f"{num(summary['total_steps'])})"
    delay = (f"{num(det['delay_steps'])} (×{num(det['delay_ratio'])})" if item.stored and det.get("delay_steps")
             is not None else "—")
    return [code(run.name), code(summary.get("status", "unknown")), steps,
            num(last_finite(run.history.get(f"train/{m}"))), num(last_finite(run.history.get(f"val/{m}"))),
            f"{num(value)} at step {num(step)}" if value is not None else "—", code(det.get("verdict")),
            num(det.get("memorization_step")) if det.get("memorization_step") is not None else "—",
            num(det.get("generalization_step")) if det.get("generalization_step") is not None else "—", delay]


RESULT_COLUMNS = ["run", "status", "steps", "final train", "final val", "best val", "verdict", "memorization step",
                  "generalization step", "delay"]


def sweep_table(items: list[Item], varied: list[str]) -> Block:
    """Across the varied keys: verdict, generalization step, best validation value, delay."""
    short = short_keys(varied, [k for it in items for k in flatten(it.run.config)])
    ordered = sorted(items, key=lambda it: sort_key(it.run.config, varied))
    rows = []
    for it in ordered:
        flat = flatten(it.run.config)
        full = result_row(it)
        rows.append([*(fmt_cell(flat.get(k)) for k in varied), full[6], full[8], full[5], full[9]])
    return Block("table", columns=[*(code(short[k]) for k in varied), "verdict", "generalization step", "best val",
                                   "delay"], rows=rows)


def crossing(item: Item) -> str | None:
    """Whether the validation crossing held: first reached (summary.json `thresholds`) vs held for `patience`
    evaluations (the detector), and where the last evaluation ends."""
    det, summary = item.detection, item.run.summary
    name, m = code(item.run.name), metric(item)
    patience = (det.get("config") or {}).get("patience")
    first = ((summary.get("thresholds") or {}).get("val/acc") or {}).get("0.99") if m == "acc" else None
    held = det.get("generalization_step")
    criterion = (det.get("criteria") or {}).get("val", "")
    final = last_finite(item.run.history.get(f"val/{m}"))
    fell = any("fell back" in n for n in det.get("notes") or [])
    if held is None:
        if first is None:
            return f"{name}: the validation criterion ({code(criterion)}) was never met."
        return (f"{name}: val acc first reached 0.99 at step {num(first)} but never held it for {num(patience)} "
                "consecutive evaluations.")
    start = f"{name}: {code(criterion)} held from step {num(held)} for {num(patience)} consecutive evaluations"
    if first is not None and first != held:
        start += f" (first reached at step {num(first)})"
    return start + (f"; it did not last: the final value is {num(final)}." if fell
                    else f"; the final value is {num(final)}.")


def spikes(item: Item) -> list[str]:
    """Each loss spike and what moved with it: the detector's one decision (`analysis.spikes.what_moved`), as
    `groklab detect` and the report print it."""
    det, name = item.detection, code(item.run.name)
    cfg = det.get("config") or {}
    found = det.get("spikes") or []
    if not found:
        return [f"{name}: no train-loss spike (a rise to {num(cfg.get('spike_factor'))}x the recent minimum)."]
    out = []
    for s in found:
        norm = "no weight norm was logged around it"
        if s.get("norm_key") and s.get("norm_change") is not None:
            moved = "moved with it" if s.get("norm_coincides") else "did not move with it"
            norm = f"{code(s['norm_key'])} {moved}"
        what = describe_moved(s.get("moved") or {}, percent=False)
        out.append(f"{name}: at step {num(s['step'])} the train loss rose from {num(s['baseline'])} to "
                   f"{num(s['loss'])} (peak {num(s['peak_loss'])} at step {num(s['peak_step'])}); {norm}. What "
                   f"left its course there (by at least {num(cfg.get('norm_change'))}, relative, within "
                   f"{num(cfg.get('norm_window'))} evaluations): {what}.")
    return out


def baseline(item: Item) -> str | None:
    """A regression run against the trivial baseline summary.json records (`baseline`: kind and val/loss)."""
    if metric(item) != "loss":
        return None
    name, base = code(item.run.name), item.run.summary.get("baseline")
    value, step = best(item)
    if not isinstance(base, dict) or finite(base.get("val/loss")) is None:
        return f"{name}: no trivial baseline is recorded (summary.json has no `baseline`), so none is compared."
    verdict = "beat" if value is not None and value < base["val/loss"] else "did not beat"
    return (f"{name}: best val loss {num(value)} (step {num(step)}) {verdict} the trivial baseline "
            f"({code(base.get('kind', 'unknown'))}, val loss {num(base['val/loss'])}).")


def unfinished(item: Item) -> str | None:
    summary = item.run.summary
    status = summary.get("status", "unknown")
    if status in ("completed", "imported"):
        return None
    error = f": {code(' '.join(str(summary['error']).split()))}" if summary.get("error") else ""
    return (f"{code(item.run.name)} did not finish: status {code(status)} after {num(summary.get('steps'))} of "
            f"{num(summary.get('total_steps'))} steps{error}.")


def observations(items: list[Item]) -> list[Block]:
    blocks = [Block("h2", "Observations"),
              Block("p", "Statements the runs' files support; no cause is claimed.")]
    groups = [("Runs that did not finish", [u for it in items if (u := unfinished(it))]),
              ("Sustained crossings", [c for it in items if (c := crossing(it))]),
              ("Loss spikes and the weight norm", [s for it in items for s in spikes(it)]),
              ("Trivial baselines", [b for it in items if (b := baseline(it))])]
    for heading, lines in groups:
        if lines:
            blocks += [Block("h3", heading), Block("list", items=lines)]
    return blocks


def abstract(items: list[Item], varied: list[str]) -> Block:
    flat = shared(items)
    what = setting(flat, [k for k in ("task.name", "task.op", "model.name", "optim.name") if k in flat])
    by_verdict: dict[str, list[str]] = {}
    for it in items:
        by_verdict.setdefault(str(it.detection.get("verdict")), []).append(code(it.run.name))
    verdicts = "; ".join(f"{code(v)}: {', '.join(names)}" for v, names in by_verdict.items())
    vary = f", varying {', '.join(code(k) for k in varied)}" if varied else ""
    held = [(it.detection["generalization_step"], it) for it in items if it.detection.get("generalization_step")
            is not None]
    first = ""
    if held:
        step, it = min(held, key=lambda p: p[0])
        first = (f" The earliest held validation crossing ({code((it.detection.get('criteria') or {}).get('val'))}) "
                 f"is at step {num(step)} in {code(it.run.name)}.")
    return Block("p", f"Runs with {what}{vary}. The grokking detector's verdicts: {verdicts}.{first}")


def results(items: list[Item], varied: list[str]) -> list[Block]:
    blocks = [Block("h2", "Results"),
              Block("p", "Per run, from summary.json and metrics.jsonl. Memorization and generalization steps are "
                         "the detector's (summary.json `detection`): the first step of a crossing held for "
                         "`patience` evaluations; delay is their difference (×ratio)."),
              Block("table", columns=RESULT_COLUMNS, rows=[result_row(it) for it in items])]
    if not all(it.stored for it in items):
        blocks.append(Block("p", "Runs without a stored detection were classified now with the default settings; "
                                 "their delay is not shown (`groklab detect` stores it)."))
    if varied:
        blocks += [Block("h3", "Across the varied keys"), sweep_table(items, varied)]
    runs = [it.run for it in items if it.run.history.get("step")]
    if len(runs) > 1:
        blocks.append(Block("figure", "All runs: validation solid, train dashed.", png=figure_png(
            comparison_figure(runs)), name="comparison"))
    for it in [it for it in items if it.run.history.get("step")][:MAX_FIGURES]:
        blocks.append(Block("figure", f"Curves of {code(it.run.name)} with the detected steps marked.",
                            png=figure_png(curves_figure(it.run.history, it.detection, it.run.name,
                                                         it.run.unit)), name=it.run.name))
    return blocks


def document(paths: Sequence[Path]) -> list[Block]:
    items = load(paths)
    varied = differing_keys([it.run.config for it in items])
    names = sorted({str(it.run.config.get("name", "")) for it in items})
    return [Block("h1", f"Write-up: {', '.join(code(n) for n in names)} runs"),
            Block("h2", "Abstract"), abstract(items, varied),
            *methods(items, varied), *results(items, varied), *observations(items),
            Block("h2", "Interpretation (left to the author)"),
            Block("p", "This section is the author's. Everything above is what the runs' files record; why it "
                       "happened, and whether it answers the question the runs were made for, is not stated by "
                       "the tool.")]


def figure_file(block: Block, index: int) -> str:
    return f"{index:02d}-{re.sub(r'[^A-Za-z0-9._-]', '_', block.name)[:80]}.png"


def to_markdown(blocks: list[Block], figure_dir: str) -> str:
    """Markdown; figures are linked from `figure_dir` (written by `write_writeup`)."""
    out: list[str] = []
    figures = 0
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "list":
            out += [*(f"- {item}" for item in b.items), ""]
        elif b.kind == "table":
            out += ["| " + " | ".join(b.columns) + " |", "|" + "---|" * len(b.columns)]
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in b.rows] + [""]
        else:
            figures += 1
            out += [f"![{b.name}]({figure_dir}/{figure_file(b, figures)})", "", f"*{b.text}*", ""]
    return "\n".join(out)


def inline(text: str) -> str:
    """Escaped text with `code` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text, quote=True))


def to_html(blocks: list[Block], title: str) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{inline(b.text)}</p>")
        elif b.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{inline(c)}</th>" for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            parts.append(f'<figure><img src="{data_uri(b.png)}" alt="{html.escape(b.name, quote=True)}">'
                         f"<figcaption>{inline(b.text)}</figcaption></figure>")
    return "\n".join([*parts, "</body></html>"])


def write_writeup(paths: Sequence[Path], out: Path) -> tuple[Path, Path]:
    """Write `out` (.md), its figures beside it (`<stem>_figures/`) and the HTML (`<stem>.html`, figures inline)."""
    out = Path(out)
    if out.suffix.lower() != ".md":
        raise GroklabError(f"--out {out}: the write-up must be a .md file (the HTML goes beside it)")
    if not out.parent.is_dir():
        raise GroklabError(f"--out {out}: no such folder {out.parent}")
    blocks = document(paths)
    figure_dir = out.parent / f"{out.stem}_figures"
    figures = [b for b in blocks if b.kind == "figure"]
    html_path = out.with_suffix(".html")
    with all_or_nothing() as batch:  # the figures, the Markdown and the HTML, or none of them
        if figures:
            batch.mkdir(figure_dir)
        for i, b in enumerate(figures, start=1):
            batch.write(figure_dir / figure_file(b, i), b.png)
        batch.write(out, to_markdown(blocks, figure_dir.name))
        batch.write(html_path, to_html(blocks, re.sub(r"`", "", blocks[0].text)))
    return out, html_path
