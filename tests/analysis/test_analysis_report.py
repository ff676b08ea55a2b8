"""report.md / report.html on synthetic run folders, and the CLI commands and their errors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from groklab.analysis.report import write_report
from groklab.analysis.tables import RUN_COLUMNS
from groklab.cli import main
from groklab.errors import GroklabError


class Tags(HTMLParser):
    """Collects start tags, table rows' cells and visible text of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Tags:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_markdown_report(report_files, synth):
    md = report_files[1].read_text()
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert lines[0].startswith("| run | status | steps | final train | final val | verdict |")
    rows = {ln.split(" | ")[0][2:]: ln for ln in lines[1:]}
    assert {"crashed", "evil", "sweep/wd1-s0", "sweep/wd1-s1"} <= set(rows)
    assert "| failed |" in rows["crashed"] and "error: RuntimeError: boom &lt;b&gt;" in rows["crashed"]
    assert "| grokking |" in rows["sweep/wd1-s0"]
    assert "loss spike at step 14,000: norms: params/norm -13% off their course" in rows["sweep/wd1-s1"]
    assert "## Seed groups" in md and "| 2 | grokking ×2 |" in md
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_html_report_is_self_contained_and_escaped(report_files, synth):
    html_path = report_files[0]
    doc = parse(html_path)
    tags = [t for t, _ in doc.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    imgs = [a["src"] for t, a in doc.tags if t == "img"]
    assert len(imgs) == 1 + 2 * 3  # comparison + curves and detail for the 3 runs with evaluations
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(not (a.get("src") or a.get("href") or "#").startswith(("http", "//")) for _, a in doc.tags)
    run_names = [row[0] for row in doc.rows if len(row) == len(RUN_COLUMNS)][1:]
    assert run_names == ["crashed", "evil", "sweep/wd1-s0", "sweep/wd1-s1"]
    text = "".join(doc.text)
    for payload in (synth.xss, synth.xss_dom, synth.xss_img):
        assert payload in text  # shown as text (the parser unescaped it), never as markup
    assert "RuntimeError: boom <b>" in text and "No evaluations in metrics.jsonl" in text
    assert not any(a.get("onerror") or a.get("id") == "pwned" for _, a in doc.tags)


def test_report_errors(tmp_path):
    with pytest.raises(GroklabError, match="no run folders"):
        write_report(tmp_path)
    with pytest.raises(GroklabError, match="no such folder"):
        write_report(tmp_path / "missing")
    with pytest.raises(GroklabError, match=r"\.html"):
        write_report(tmp_path, tmp_path / "report.txt")


def test_cli_detect_lines_json_and_summary(report_runs, capsys):
    runs = [report_runs / "sweep" / "wd1-s0", report_runs / "crashed"]
    assert main(["detect", *map(str, runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["wd1-s0", "grokking"] and "delay" in lines[0]
    assert lines[1].split()[:3] == ["crashed", "no", "learning"]
    assert main(["detect", "--json", "-p", "patience=4", str(runs[0])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["run"] == str(runs[0]) and out[0]["detection"]["config"]["patience"] == 4
    stored = json.loads((runs[0] / "summary.json").read_text())["detection"]
    assert stored == out[0]["detection"]


@pytest.mark.parametrize("argv, message", [
    (["detect", "{tmp}/nope"], "no such folder"),
    (["detect", "{tmp}"], "not a run folder (missing config.json, metrics.jsonl)"),
    (["report", "{tmp}"], "no run folders"),
    (["plot", "{tmp}"], "not a run folder"),
    (["detect", "-p", "gap=1", "{tmp}"], "unknown detect setting"),
])
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, message):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and message in err and err.count("\n") == 1


def test_module_entry_point(tmp_path, report_runs, capsys):
    """`python -m groklab.cli` runs the analysis commands as a process, errors as one line."""
    proc = subprocess.run([sys.executable, "-m", "groklab.cli", "detect", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr == f"groklab: error: {tmp_path / 'x'}: no such folder\n"
    out = tmp_path / "r.html"
    assert main(["report", str(report_runs), "--out", str(out), "--no-figures"]) == 0
    assert capsys.readouterr().out.split() == [str(out), str(tmp_path / "r.md")]
    assert "<img" not in out.read_text() and "| crashed | failed |" in (tmp_path / "r.md").read_text()
