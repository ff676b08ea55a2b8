"""A self-contained report of a folder of runs: report.md (tables) and report.html (tables + every figure).

The HTML embeds each figure as a base64 PNG data URI and has no scripts, external styles or fonts, so it can
be mailed, archived next to the runs, or opened offline. Every string that comes from a run (names, config
values, errors) goes through html.escape: configs are user input and may contain markup.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from groklab.analysis.detect import DetectConfig, detect_loaded
from groklab.analysis.plots import comparison_figure, curves_figure, detail_figure, figure_png
from groklab.analysis.tables import (
    DEFINITIONS,
    GROUP_COLUMNS,
    GROUP_TABLE_COLUMNS,
    RUN_COLUMNS,
    Analysed,
    fmt_step,
    group_rows,
    group_table,
    has_repeats,
    markdown_report,
    plural,
    run_notes,
    run_row,
)
from groklab.errors import GroklabError
from groklab.io import all_or_nothing
from groklab.runs import find_runs, load_run

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1500px;
 padding:0 1.5rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1.05rem;margin:1.6rem 0 .4rem}.meta,.defs{color:#555;font-size:.9rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ccc;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:nth-child(even) td{background:#fafafa}
.v{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;white-space:nowrap}
.v-grokking{background:#fde2c8}.v-comprehension{background:#d5f0d5}.v-memorization{background:#f8d7da}
.v-confusion{background:#e5e5f7}.v-no-learning{background:#e6e6e6}
.s-failed,.s-diverged{color:#b00020;font-weight:600}
img{max-width:100%;height:auto;border:1px solid #eee}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;
 font-size:.8rem}figure{margin:.8rem 0}figcaption{color:#555;font-size:.85rem}
"""
NUMERIC = {"steps", "final train", "final val", "memorization step", "generalization step", "delay", "runs"}


def e(text: object) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def analyse(root: Path, config: DetectConfig | None = None) -> list[Analysed]:
    """Load every run folder under `root` and detect in memory; a folder without runs is an error."""
    root = Path(root)
    paths = find_runs(root)
    if not paths:
        raise GroklabError(f"{root}: no run folders (config.json + metrics.jsonl) found")
    return analyse_paths(paths, [p.relative_to(root).as_posix() if p != root else p.name for p in paths], config)


def analyse_paths(paths: Sequence[Path], names: Sequence[str], config: DetectConfig | None = None) -> list[Analysed]:
    """Load the given run folders (labelled `names`) and detect in memory."""
    items = []
    for path, name in zip(paths, names, strict=True):
        run = load_run(path, name=name)
        items.append(Analysed(run, detect_loaded(run, config)))
    return items


def code_spans(escaped: str) -> str:
    """`name` -> <code>name</code> in already-escaped text (the definitions are written in Markdown)."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{e(alt)}">'


def cell(column: str, value: str, anchor: str | None = None) -> str:
    """One <td>: verdict badges, status colours, right-aligned numbers, run names linking to their section."""
    text = e(value)
    if column == "verdict":
        text = f'<span class="v v-{e(value.replace(" ", "-"))}">{text}</span>'
    elif column == "run" and anchor:
        text = f'<a href="#{anchor}">{text}</a>'
    cls = f' class="s-{e(value)}"' if column == "status" else (' class="num"' if column in NUMERIC else "")
    return f"<td{cls}>{text}</td>"


def html_table(columns: Sequence[str], rows: Sequence[dict[str, str]], anchors: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        anchor = anchors[i] if i < len(anchors) else None
        body.append("<tr>" + "".join(cell(c, row.get(c, ""), anchor) for c in columns) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def run_section(item: Analysed, anchor: str, figures: bool) -> str:
    """Per-run section: verdict, both figures, the error if any, and the config (collapsed)."""
    run, det = item.run, item.detection
    badge = f'<span class="v v-{e(det["verdict"].replace(" ", "-"))}">{e(det["verdict"])}</span>'
    row, phase = run_row(item), det.get("phase", {})
    facts = [f"status {row['status']}", f"steps {row['steps']}", f"memorized {row['memorization step']}",
             f"generalized {row['generalization step']}", f"delay {row['delay']}",
             f"phase steps ({phase.get('val', '')}): train {fmt_step(phase.get('train_step'))}, "
             f"val {fmt_step(phase.get('val_step'))}"]
    parts = [f'<section id="{anchor}"><h3>{e(run.name)} {badge}</h3>',
             f'<p class="meta">{e(" · ".join(facts))}</p>']
    notes = run_notes(item, with_error=False)  # the error itself is shown in full below
    if notes:
        parts.append(f"<p>{e(notes)}</p>")
    if run.summary.get("error"):
        parts.append(f"<p><strong>error:</strong></p><pre>{e(run.summary['error'])}</pre>")
    groups = group_table(run)
    if groups:
        parts.append(f"<p>Validation per group:</p>{html_table(GROUP_TABLE_COLUMNS, groups)}")
    if figures and run.history.get("step"):
        for make, what in ((curves_figure, "curves"), (detail_figure, "detail")):
            png = figure_png(make(run.history, det, run.name, run.unit))
            parts.append(f"<figure>{img(png, f'{run.name} {what}')}</figure>")
    elif not run.history.get("step"):
        parts.append("<p>No evaluations in metrics.jsonl: nothing to plot.</p>")
    parts.append(f"<details><summary>config.json</summary><pre>{e(json.dumps(run.config, indent=2))}</pre>"
                 "</details></section>")
    return "".join(parts)


def html_report(items: Sequence[Analysed], title: str, figures: bool = True, run_figures: bool = True) -> str:
    """report.html as one string: tables, comparison figure, per-run figures (`run_figures`), all inline."""
    anchors = [f"run-{i}" for i in range(len(items))]
    counts = Counter(it.detection["verdict"] for it in items)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="meta">{plural(len(items), "run")} · generated {e(stamp)} · '
        + e(", ".join(f"{v}: {n}" for v, n in counts.most_common())) + "</p>",
        "<h2>Runs</h2>", html_table(RUN_COLUMNS, [run_row(it) for it in items], anchors),
        f'<p class="defs">{code_spans(e(DEFINITIONS))}</p>',
    ]
    if has_repeats(items):
        parts += ["<h2>Seed groups</h2>", html_table(GROUP_COLUMNS, group_rows(items))]
    plotted = [it.run for it in items if it.run.history.get("step")]
    if figures and len(plotted) > 1:
        fig = comparison_figure(plotted, title=f"{len(plotted)} runs")
        caption = "Validation solid, train dashed; legend from the config keys that differ between runs."
        parts += ["<h2>Comparison</h2>", f"<figure>{img(figure_png(fig), 'comparison of runs')}"
                  f"<figcaption>{caption}</figcaption></figure>"]
    parts.append("<h2>Runs in detail</h2>")
    parts += [run_section(it, a, figures and run_figures) for it, a in zip(items, anchors, strict=True)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    root: Path | str | Sequence[Path], out: Path | str | None = None, config: DetectConfig | None = None,
    figures: bool = True, title: str | None = None, run_figures: bool = True,
) -> tuple[Path, Path]:
    """Write report.html (default `root/report.html`) and report.md beside it; return both paths. `root` is a
    folder searched for run folders, or a list of run folders (then `out` is required)."""
    if isinstance(root, str | Path):
        root = Path(root)
        out = Path(out) if out is not None else root / "report.html"
        title = title or f"groklab report: {root.resolve().name}"
    elif out is None:
        raise GroklabError("a report of listed run folders needs an output file")
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise GroklabError(f"{out}: the report must be an .html file")
    if not out.parent.is_dir():
        raise GroklabError(f"{out.parent}: no such folder for the report")
    if isinstance(root, Path):
        items = analyse(root, config)
    else:
        items = analyse_paths(list(root), [Path(p).name for p in root], config)
    title = title or "groklab report"
    md_path = out.with_suffix(".md")
    with all_or_nothing() as batch:  # both files or neither
        batch.write(md_path, markdown_report(items, title))
        batch.write(out, html_report(items, title, figures=figures, run_figures=run_figures))
    return out, md_path

