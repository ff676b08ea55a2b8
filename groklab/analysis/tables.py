"""Status rows and seed-group rows for the report, and their Markdown rendering.

Rows hold display strings (already formatted), so the Markdown and HTML reports show exactly the same numbers.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from groklab.analysis.compare import run_labels, seed_groups, spread
from groklab.analysis.spikes import describe_moved
from groklab.io import last_finite
from groklab.runs import Run

DASH = "—"
RUN_COLUMNS = ("run", "status", "steps", "final train", "final val", "verdict", "memorization step",
               "generalization step", "delay", "vs baseline", "notes")
GROUP_COLUMNS = ("group", "runs", "verdicts", "memorization step", "generalization step", "delay")


@dataclass(frozen=True)
class Analysed:
    """A loaded run and its detection (computed in memory; the report never rewrites a run's files)."""

    run: Run
    detection: dict[str, Any]


def plural(n: int, noun: str) -> str:
    """'1 run', '3 runs'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def fmt_step(step: float | None) -> str:
    """1750 -> '1,750'; None (never reached) -> a dash."""
    return DASH if step is None else f"{round(step):,}"


def fmt_steps(summary: dict[str, Any], fallback: int | None = None) -> str:
    """A run's steps against its budget: '4,000 / 4,000', or '3,800 (stopped, settled; at most 10,000)' for a run that
    `train.stop_when` ended early, so a settled run does not read as an unfinished one."""
    steps, total = summary.get("steps", fallback), summary.get("total_steps")
    if summary.get("stopped") and total is not None:
        return f"{fmt_step(steps)} (stopped, settled; at most {fmt_step(total)})"
    return fmt_step(steps) + (f" / {fmt_step(total)}" if total is not None else "")


def fmt_metric(value: float | None, metric: str) -> str:
    """Accuracy as a percentage, loss with 3 significant digits (runs without accuracy report loss)."""
    if value is None:
        return DASH
    return f"{100 * value:.1f}%" if metric == "acc" else f"{value:.3g}"


def fmt_delay(detection: dict[str, Any]) -> str:
    """Delay as steps and ratio, e.g. '18,000 (×11.3)': both matter (papers.md §02 vs run length)."""
    steps, ratio = detection.get("delay_steps"), detection.get("delay_ratio")
    if steps is None:
        return DASH
    return f"{steps:,}" + (f" (×{ratio:.3g})" if ratio is not None else "")


def error_line(text: Any, limit: int = 160) -> str:
    """The last non-empty line of an error (a traceback's message), shortened for a table cell."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_notes(item: Analysed, with_error: bool = True) -> str:
    """Why a row needs attention: a missing summary, the error, loss spikes, detector caveats."""
    summary, det = item.run.summary, item.detection
    notes = []
    if not summary:
        notes.append("no summary.json")
    if summary.get("error") and with_error:
        notes.append(f"error: {error_line(summary['error'])}")
    spikes = det.get("spikes") or []
    notes += [f"loss spike at step {fmt_step(s['step'])}: {describe_moved(s.get('moved') or {})}" for s in spikes[:3]]
    if len(spikes) > 3:
        notes.append(f"{len(spikes) - 3} more loss spike{'s' if len(spikes) > 4 else ''}")
    notes.extend(det.get("notes", []))
    return "; ".join(notes)


def run_row(item: Analysed) -> dict[str, str]:
    """One status-table row of display strings."""
    run, det = item.run, item.detection
    metric = det.get("metric", "acc")
    return {
        "run": run.name,
        "status": str(run.summary.get("status", "unknown")),
        "steps": fmt_steps(run.summary, det.get("last_step")),
        "final train": fmt_metric(last_finite(run.history.get(f"train/{metric}")), metric),
        "final val": fmt_metric(last_finite(run.history.get(f"val/{metric}")), metric),
        "verdict": det.get("verdict", DASH),
        "memorization step": fmt_step(det.get("memorization_step")),
        "generalization step": fmt_step(det.get("generalization_step")),
        "delay": fmt_delay(det),
        "vs baseline": fmt_baseline(det.get("baseline")),
        "notes": run_notes(item),
    }


def fmt_baseline(base: dict[str, Any] | None) -> str:
    """A regression run against its trivial baseline: '1.31 (group mean): below from 2,400' or 'never below'."""
    if not base:
        return DASH
    where = f"below from {fmt_step(base['below_step'])}" if base.get("below_step") is not None else "never below"
    return f"{base['val/loss']:.3g} ({base['kind']}): {where}"


def fmt_spread(values: Sequence[float | None]) -> str:
    """'2,100 [1,900–2,500] (3/3)': median, min–max over the seeds that got there, and how many did."""
    s = spread(values)
    if not s["n"]:
        return f"{DASH} (0/{s['of']})"
    rng = "" if s["min"] == s["max"] else f" [{fmt_step(s['min'])}–{fmt_step(s['max'])}]"
    return f"{fmt_step(s['median'])}{rng} ({s['n']}/{s['of']})"


def group_rows(items: Sequence[Analysed]) -> list[dict[str, str]]:
    """One row per seed group (equal apart from seed / split seed), labelled by what differs between them."""
    groups = seed_groups([it.run.config for it in items])
    reps = [items[g[0]].run.config for g in groups]
    labels = run_labels(reps, [items[g[0]].run.name for g in groups])
    rows = []
    for members, label in zip(groups, labels, strict=True):
        dets = [items[i].detection for i in members]
        verdicts = Counter(d.get("verdict", DASH) for d in dets)
        rows.append({
            "group": label,
            "runs": str(len(members)),
            "verdicts": ", ".join(f"{v} ×{n}" for v, n in verdicts.most_common()),
            "memorization step": fmt_spread([d.get("memorization_step") for d in dets]),
            "generalization step": fmt_spread([d.get("generalization_step") for d in dets]),
            "delay": fmt_spread([d.get("delay_steps") for d in dets]),
        })
    return rows


GROUP_TABLE_COLUMNS = ("group", "final val", "group-mean baseline", "published best")


def group_table(run: Run) -> list[dict[str, str]]:
    """Per-group validation figures of a run that logs them (the m-height probe's `val/mse/n,k,m`): the final
    value, the group-mean baseline and the published best figure where there is one (mheight.md §4.6); then the
    plain means over all groups and over the groups with m < n-k, the honest headline (the m = n-k groups' height is
    an input of the `mheight` recipe). Empty for other runs."""
    from groklab.mheight.metric import PUBLISHED_BELOW_MDS_MEAN, PUBLISHED_GROUPS, PUBLISHED_MEAN, headline

    keys = [k for k in run.history if k.startswith("val/mse/")]
    if not keys:
        return []
    base = (run.summary.get("baseline") or {}).get("val/loss per group") or {}
    groups = {tuple(int(v) for v in k.rsplit("/", 1)[1].split(",")): k for k in keys}
    final = {g: last_finite(run.history[k]) for g, k in groups.items()}
    rows = [{"group": ",".join(map(str, g)), "final val": fmt_metric(final[g], "loss"),
             "group-mean baseline": fmt_metric(base.get(",".join(map(str, g))), "loss"),
             "published best": fmt_metric(PUBLISHED_GROUPS.get(g), "loss")} for g in sorted(groups)]
    known = {g: v for g, v in final.items() if v is not None}
    bases = {g: base[",".join(map(str, g))] for g in groups if ",".join(map(str, g)) in base}
    course = len(groups) == 21 and all(g in groups for g in PUBLISHED_GROUPS)  # the 21 course groups
    published = {"all": f"{PUBLISHED_MEAN} (MoE)", "m<n-k": f"≈{PUBLISHED_BELOW_MDS_MEAN:.2f} (derived)"}
    for name, value in headline(known).items():
        count = len(known) if name == "all" else sum(1 for n, k, m in known if m < n - k)
        rows.append({"group": f"mean over {'all' if name == 'all' else name} ({count})",
                     "final val": fmt_metric(value, "loss"),
                     "group-mean baseline": fmt_metric(headline(bases).get(name), "loss"),
                     "published best": published[name] if course else DASH})
    return rows


def has_repeats(items: Sequence[Analysed]) -> bool:
    """A grouped table is only worth printing when some group has more than one seed."""
    return any(len(g) > 1 for g in seed_groups([it.run.config for it in items]))


def md_cell(text: str) -> str:
    """Markdown-safe cell: HTML-escaped (renderers pass raw HTML through), pipes escaped, one line."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def md_table(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(md_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


DEFINITIONS = (
    "Steps are first steps of a crossing held for `patience` consecutive evaluations. Memorization / "
    "generalization: train / val accuracy ≥ 99% (Power et al. 2022); regression runs use loss instead. "
    "Verdict: Liu et al. 2022 phases at accuracy ≥ 90% — grokking if val reaches it ≥ `gap_ratio` (5) times "
    "later than train, with ≥ `min_gap_evals` evaluations in between (and ≥ `gap_steps` later, 0 by default); "
    "comprehension if it lags less; memorization if only train gets there; confusion if neither (but train "
    "accuracy rose); no learning if train accuracy never rose. Delay = generalization − memorization step (×ratio). "
    "A regression run is compared with its trivial baseline (the training mean per group, or overall): one whose "
    "validation loss never fell 10% below it gets the verdict baseline, not a generalization verdict. "
    "Group ranges are median [min–max] over seeds that got there (k/n)."
)


def markdown_report(items: Sequence[Analysed], title: str) -> str:
    """report.md: the status table, the seed-group table when there are repeats, and the definitions."""
    parts = [f"# {md_cell(title)}", "", f"{plural(len(items), 'run')}.", "", "## Runs", "",
             md_table(RUN_COLUMNS, [run_row(it) for it in items]), ""]
    if has_repeats(items):
        parts += ["## Seed groups", "", md_table(GROUP_COLUMNS, group_rows(items)), ""]
    for it in items:
        rows = group_table(it.run)
        if rows:
            parts += [f"## Per group: {md_cell(it.run.name)}", "", md_table(GROUP_TABLE_COLUMNS, rows), ""]
    parts += ["## Definitions", "", DEFINITIONS, ""]
    return "\n".join(parts)
