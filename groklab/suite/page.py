"""The suite's three files: STATUS.md, status.html (self-contained: figures as base64 PNG, no scripts, every string
from a run or a preset escaped) and status.json, plus comparison.png and thumbs/<preset>.png beside STATUS.md.

One row per preset: the paper (authors, year, arXiv), the status with what it rests on in one line (`reproduced`,
`partial` naming what is not asserted at this scale, `not reproduced` with the failed conditions, `failed to run`
with the error, `pending` while its runs train elsewhere, `not checked` with the reason), the paper's headline
numbers beside ours (`Check.headline`), the setting measured (`Preset.measured_at`), the main arm's steps, final
metrics, verdict and delay (the preset's detector settings) and a thumbnail. Everything the table shortens (the
claim, every condition, the run folders) is in a Details section below it and in status.json.
"""

from __future__ import annotations

import html
import os
import platform
import re
import socket
from collections import Counter
from pathlib import Path
from typing import Any

from groklab.analysis.detect import detect_loaded
from groklab.analysis.plots import figure_png, papers_figure, save_figure, thumbnail_figure
from groklab.analysis.report import CSS, data_uri
from groklab.analysis.tables import DASH, fmt_delay, fmt_metric, fmt_step
from groklab.io import atomic_write, finite, last_finite, write_json
from groklab.presets.base import STATUSES, Preset
from groklab.suite.runner import Entry

COLUMNS = ("preset", "paper", "status", "paper vs ours", "scale measured", "main run", "curves")
SHORT = 240  # characters of a status cell; the full detail is in the Details section and status.json
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
ARXIV = re.compile(r"arXiv[: ]\s*(\d{4}\.\d{4,5})")


def citation(paper: str) -> dict[str, str]:
    """Authors, year and arXiv id from a preset's `paper` line ("Power et al. 2022, Title (arXiv 2201.02177)")."""
    year = YEAR.search(paper)
    arxiv = ARXIV.search(paper)
    authors = paper[: year.start()] if year else re.split(r"[,(]", paper)[0]
    return {"authors": authors.strip(" ,"), "year": year.group(0) if year else "",
            "arxiv": arxiv.group(1) if arxiv else ""}


def status_of(entry: Entry, scale: str) -> tuple[str, str]:
    """(status, error) of one preset."""
    if entry.preset.check is None:
        return "not checked", entry.preset.note.get(scale, "the preset declares no claim check (Preset.check)")
    if not entry.configs and entry.error is None:
        return "not checked", entry.preset.note.get(scale, f"no runs declared at --scale {scale}")
    if entry.error is not None:
        return "failed to run", entry.error
    failed = [(arm, r) for arm, r in entry.runs.items() if r.summary.get("status") == "failed"]
    if failed:
        arm, run = failed[0]
        return "failed to run", f"{arm}: {run.summary.get('error') or 'failed'}"
    if entry.check is None:
        return "pending", "its runs have not finished (groklab status shows them)"
    return entry.check.status, ""


def main_facts(entry: Entry) -> dict[str, Any]:
    """Steps, final train / validation metric, verdict and delay of the preset's main arm (`Preset.main`: a declared
    arm or a study's run, else its first arm)."""
    main = entry.preset.main
    arm = main if main and (main in entry.configs or main in entry.runs) else next(iter(entry.configs), None)
    run = entry.runs.get(arm) if arm is not None else None
    if run is None:
        return {"arm": arm}
    det = detect_loaded(run, entry.preset.detector())
    metric = det["metric"]
    return {"arm": arm, "steps": run.summary.get("steps"), "total_steps": run.summary.get("total_steps"),
            "metric": metric, "train": last_finite(run.history.get(f"train/{metric}")),
            "val": last_finite(run.history.get(f"val/{metric}")), "verdict": det["verdict"],
            "delay_steps": det["delay_steps"], "delay_ratio": det["delay_ratio"]}


def row_of(entry: Entry, scale: str, out: Path) -> dict[str, Any]:
    preset: Preset = entry.preset
    status, error = status_of(entry, scale)
    check = entry.check
    return {"preset": preset.name, "paper": preset.paper, **citation(preset.paper), "reproduces": preset.reproduces,
            "claim": check.claim if check else "", "status": status, "error": error,
            "detail": check.detail if check else "", "figures": check.figures if check else {},
            "not_asserted": list(check.not_asserted) if check else [],
            "headline": [h.to_dict() for h in check.headline] if check else [],
            "measured_at": preset.measured_at.get(scale, ""),
            **main_facts(entry),
            "runs": {arm: os.path.relpath(run.path, out) for arm, run in entry.runs.items()}}


def strict(value: Any) -> Any:
    """JSON-able: non-finite floats (a correlation of constants) become null, tuples lists."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, float):
        return finite(value)
    return value


def machine(meta: dict[str, Any]) -> dict[str, Any]:
    import torch

    return {"host": socket.gethostname(), "platform": platform.platform(), "processor": platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__} | meta


def shorten(text: str, limit: int = SHORT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;") + "…"


def reason(row: dict[str, Any]) -> str:
    """What the status rests on, in a line: the elements not asserted (partial), the failed conditions, the error
    or the note; nothing for `reproduced` (its figures are in the next column)."""
    if row["status"] == "partial":
        return "not asserted: " + "; ".join(row["not_asserted"])
    if row["status"] == "not reproduced":
        return row["detail"].removeprefix("failed: ")
    return "" if row["status"] == "reproduced" else row["error"]


def main_run(row: dict[str, Any]) -> str:
    """`arm: steps, final train / val, verdict (delay)` of the main arm."""
    if not row.get("arm") or row.get("steps") is None:
        return DASH
    metric = row.get("metric") or "acc"
    steps = fmt_step(row.get("steps")) + (f"/{fmt_step(row['total_steps'])}" if row.get("total_steps") else "")
    delay = f", delay {fmt_delay(row)}" if row.get("delay_steps") is not None else ""
    train = f"train {fmt_metric(row.get('train'), metric)}, " if metric == "acc" else ""
    return (f"{row['arm']}: {steps} steps, {train}val {fmt_metric(row.get('val'), metric)}; "
            f"{row.get('verdict') or DASH}{delay}")


def display(row: dict[str, Any]) -> dict[str, Any]:
    """The row's table cells as display strings (the Markdown and HTML tables show the same text); `paper vs ours`
    is a list of lines, one per headline number."""
    paper = " ".join(x for x in (row["authors"], row["year"]) if x) + (f", arXiv {row['arxiv']}" if row["arxiv"]
                                                                       else "")
    why = reason(row)
    return {"preset": row["preset"], "paper": paper,
            "status": row["status"] + (f": {shorten(why)}" if why else ""),
            "paper vs ours": [h["text"] for h in row["headline"]] or [DASH],
            "scale measured": row.get("measured_at") or DASH, "main run": main_run(row)}


def summary_line(rows: list[dict[str, Any]]) -> tuple[str, dict[str, int]]:
    counts = Counter(r["status"] for r in rows)
    ordered = {s: counts[s] for s in STATUSES if counts[s]}
    line = f"Reproduced: {counts['reproduced']} of {len(rows)}"
    rest = ", ".join(f"{s}: {n}" for s, n in ordered.items() if s != "reproduced")
    return line + (f" ({rest})" if rest else ""), ordered


def figures(entries: list[Entry], out: Path) -> tuple[dict[str, bytes], bytes | None]:
    """Thumbnails (preset -> PNG, also written to thumbs/) and the comparison of all papers (comparison.png)."""
    panels = [(f"{e.preset.name}: {citation(e.preset.paper)['authors']} {citation(e.preset.paper)['year']}",
               list(e.runs.values()), list(e.runs)) for e in entries if e.runs]
    thumbs: dict[str, bytes] = {}
    if panels:
        (out / "thumbs").mkdir(exist_ok=True)
    for entry in (e for e in entries if e.runs):
        thumbs[entry.preset.name] = figure_png(thumbnail_figure(list(entry.runs.values()), list(entry.runs)), dpi=80)
        atomic_write(out / "thumbs" / f"{entry.preset.name}.png", thumbs[entry.preset.name])
    if not panels:
        return thumbs, None
    fig = papers_figure(panels)
    save_figure(fig, out / "comparison.png", dpi=100)
    return thumbs, (out / "comparison.png").read_bytes()


def md_text(text: object) -> str:
    """A Markdown table cell that reads as text: one line, `<` and `&` escaped (no raw HTML can start), pipes
    escaped; `>`, `>=` and `->` stay as written."""
    return " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def markdown(rows: list[dict[str, Any]], info: dict[str, Any], thumbs: dict[str, bytes], comparison: bool) -> str:
    line, _ = summary_line(rows)
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cell = display(row)
        cells = [md_text(cell[c]) if c != "paper vs ours" else "<br>".join(md_text(x) for x in cell[c])
                 for c in COLUMNS[:-1]]
        cells.append(f"![{row['preset']}](thumbs/{row['preset']}.png)" if row["preset"] in thumbs else "")
        table.append("| " + " | ".join(cells) + " |")
    parts = [f"# groklab suite --scale {info['scale']}", "", f"**{line}**", "",
             f"Machine: {md_text(info['host'])} ({md_text(info['platform'])}, {info['cpus']} CPUs, torch "
             f"{md_text(info['torch'])}, {info['torch_threads']} threads). Wall time {info['wall_s']:.0f} s "
             f"({info['cpu_s']:.0f} s of CPU in this process; the runs' own clocks sum to {info['runs_s']:.0f} s). "
             f"Command: `{md_text(info['command'])}`.", "", STATUS_TEXT, "", "\n".join(table), ""]
    if comparison:
        parts += ["## All papers side by side", "", "![comparison](comparison.png)", ""]
    parts += ["## Details", ""]
    for row in rows:
        parts += [f"### {md_text(row['preset'])}", "", *(f"- {label}: {md_text(text)}" for label, text in details(row)),
                  ""]
    return "\n".join(parts)


STATUS_TEXT = ("Status: `reproduced` when every element of the paper's headline claim is asserted at this scale and "
               "holds; `partial` when what is asserted holds and the row names what is not; `not reproduced` with the "
               "failed conditions; `failed to run` with the error; `not checked` with the reason. The delay of every "
               "classification claim is groklab.analysis.delay: training fits while validation is near chance, and "
               "validation reaches its level >= R x later.")


def details(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines of a preset's Details entry: everything the table shortens."""
    out = [("reproduces", row["reproduces"]), ("claim checked", row["claim"] or DASH),
           ("status", row["status"]), ("conditions", row["detail"] or row["error"] or DASH)]
    out += [("not asserted at this scale", item) for item in row["not_asserted"]]
    out += [("paper vs ours", h["text"]) for h in row["headline"]]
    out += [("scale measured", row.get("measured_at") or DASH), ("main run", main_run(row))]
    out += [("run folder", f"{arm}: {path}") for arm, path in row["runs"].items()]
    return out


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_cell(row: dict[str, Any], column: str, cell: dict[str, Any]) -> str:
    if column == "paper vs ours":
        return "<td class=\"figs\">" + "".join(f"<div>{e(x)}</div>" for x in cell[column]) + "</td>"
    text = e(cell[column])
    if column == "paper" and row["arxiv"]:
        text = f'<a href="https://arxiv.org/abs/{e(row["arxiv"])}">{text}</a>'
    if column == "preset":
        text = f'<a href="#d-{e(row["preset"])}">{text}</a>'
    cls = f' class="s-{e(row["status"].replace(" ", "-"))}"' if column == "status" else ""
    return f"<td{cls}>{text}</td>"


def html_page(rows: list[dict[str, Any]], info: dict[str, Any], thumbs: dict[str, bytes],
              comparison: bytes | None) -> str:
    line, _ = summary_line(rows)
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = []
    for row in rows:
        cell = display(row)
        tds = [html_cell(row, column, cell) for column in COLUMNS[:-1]]
        thumb = thumbs.get(row["preset"])
        tds.append(f'<td><img src="{data_uri(thumb)}" alt="{e(row["preset"])} curves"></td>' if thumb else "<td></td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    title = f"groklab suite --scale {info['scale']}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title><style>{CSS}{EXTRA_CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
             f'<p class="summary">{e(line)}</p>',
             f'<p class="meta">{e(info["host"])} · {e(info["platform"])} · {e(info["cpus"])} CPUs · torch '
             f'{e(info["torch"])} ({e(info["torch_threads"])} threads) · wall time {info["wall_s"]:.0f} s '
             f'({info["cpu_s"]:.0f} s of CPU; runs\' own clocks {info["runs_s"]:.0f} s) · '
             f'<code>{e(info["command"])}</code></p>', f'<p class="meta">{e(STATUS_TEXT)}</p>',
             f"<table class=\"suite\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    if comparison is not None:
        parts += ["<h2>All papers side by side</h2>",
                  f'<figure><img src="{data_uri(comparison)}" alt="all papers side by side"><figcaption>Train '
                  "dashed, validation solid, one panel per paper on one log-step axis.</figcaption></figure>"]
    parts.append("<h2>Details</h2>")
    for row in rows:
        items = "".join(f"<dt>{e(label)}</dt><dd>{e(text)}</dd>" for label, text in details(row))
        parts.append(f'<h3 id="d-{e(row["preset"])}">{e(row["preset"])}</h3><dl class="details">{items}</dl>')
    parts.append("</body></html>")
    return "\n".join(parts)


# A fixed layout that fits 1,400 px: text columns wrap (long tokens too), the thumbnail column has its own width.
EXTRA_CSS = (".summary{font-size:1.2rem;font-weight:600}.s-reproduced{color:#1b7a1b;font-weight:600}"
             "table.suite{table-layout:fixed;width:100%}table.suite td,table.suite th{overflow-wrap:anywhere}"
             "table.suite th:nth-child(1){width:7rem}table.suite th:nth-child(2){width:8rem}"
             "table.suite th:nth-child(3){width:15rem}table.suite th:nth-child(5){width:11rem}"
             "table.suite th:nth-child(6){width:11rem}table.suite th:nth-child(7){width:172px}"
             "table.suite td img{width:160px;max-width:100%;border:0}td.figs div{margin-bottom:.25rem}"
             ".s-partial{color:#8a5a00;font-weight:600}"
             ".s-not-reproduced,.s-failed-to-run{color:#b00020;font-weight:600}.s-pending{color:#8a6d00}"
             "dl.details{display:grid;grid-template-columns:12rem 1fr;gap:.2rem .8rem;font-size:.85rem}"
             "dl.details dd{margin:0}p,h3,dd,code{overflow-wrap:anywhere}")


def write_status(out: Path, entries: list[Entry], scale: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Write status.json, STATUS.md, status.html (and the figures); returns status.json's content."""
    rows = [row_of(entry, scale, out) for entry in entries]
    clocks = {run.path: last_finite(run.history.get("time")) or 0.0 for e in entries for run in e.runs.values()}
    info = machine(meta | {"scale": scale, "runs_s": round(sum(clocks.values()), 1)})
    thumbs, comparison = figures(entries, out)
    _, counts = summary_line(rows)
    status = {**info, "reproduced": counts.get("reproduced", 0), "presets": len(rows), "counts": counts,
              "rows": rows}
    write_json(out / "status.json", strict(status))
    atomic_write(out / "STATUS.md", markdown(rows, info, thumbs, comparison is not None))
    atomic_write(out / "status.html", html_page(rows, info, thumbs, comparison))
    return status
