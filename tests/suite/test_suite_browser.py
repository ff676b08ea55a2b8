"""status.html and the write-up's HTML in real headless Chromium: rendered, images inline, markup from runs and
presets shown as text and never run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from groklab.cli import main
from groklab.config import apply_overrides
from groklab.presets import power2022
from groklab.presets.base import Arm, Preset
from groklab.runs import load_run
from groklab.suite.page import write_status
from groklab.suite.runner import Entry

XSS = '<script>document.title="PWNED"</script>'
XSS_IMG = '<img src=x onerror="document.body.dataset.pwned=1">'


def hostile_run(root: Path, name: str, error: str | None = None) -> Path:
    """A finished run folder whose name, config and error carry markup."""
    run = root / name
    run.mkdir(parents=True)
    rows = [{"step": s, "train/loss": 1 / (s + 1), "val/loss": 2 / (s + 1), "train/acc": min(1.0, s / 100),
             "val/acc": min(1.0, s / 1000), "params/norm": 10.0} for s in range(0, 2001, 50)]
    (run / "config.json").write_text(json.dumps({"name": XSS, "seed": 0, "task": {"op": XSS_IMG},
                                                 "train": {"steps": 2000}}))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "summary.json").write_text(json.dumps({"status": "failed" if error else "completed", "steps": 2000,
                                                  "total_steps": 2000, "error": error, "kind": "classification"}))
    return run


def assert_inert(raw: str, dom) -> None:
    assert "script" not in dom.tag_names and dom.title != "PWNED"
    assert not any("data-pwned" in a or "onerror" in a for _, a in dom.tags)
    assert "&lt;script&gt;" in raw


def test_status_page_in_headless_chromium(browser, tmp_path):
    config = apply_overrides(power2022.PRESET.config, {"name": "hostile"})
    preset = Preset("hostile", f"{XSS_IMG} 2024, A title (arXiv 2401.00001)", XSS, config, arms={"ci": (Arm("a"),)},
                    check=power2022.check)
    ok, bad = hostile_run(tmp_path / "runs", "ok"), hostile_run(tmp_path / "runs", "bad", error=XSS)
    entries = [Entry(preset, configs={"a": config}, runs={"a": load_run(ok)},
                     check=power2022.check({"run": load_run(ok)})),
               Entry(preset, configs={"a": config}, runs={"a": load_run(bad)})]
    write_status(tmp_path, entries, "ci", {"wall_s": 1.0, "cpu_s": 1.0, "command": f"groklab suite {XSS}"})
    page = tmp_path / "status.html"
    assert len(browser.screenshot(page)) > 20_000
    raw, dom = browser.dom(page)
    assert_inert(raw, dom)
    assert dom.title == "groklab suite --scale ci" and XSS in dom.text and XSS_IMG in dom.text
    imgs = [a["src"] for t, a in dom.tags if t == "img"]
    assert len(imgs) == 3 and all(src.startswith("data:image/png;base64,") for src in imgs)  # 2 thumbnails + 1
    assert dom.tag_names.count("tr") == 1 + 2
    assert "Reproduced: 1 of 2 (failed to run: 1)" in dom.text


def test_writeup_in_headless_chromium(browser, tmp_path):
    runs = [hostile_run(tmp_path / "runs", "a"), hostile_run(tmp_path / "runs", "b", error=XSS)]
    assert main(["detect", *map(str, runs)]) == 0
    assert main(["writeup", *map(str, runs), "--out", str(tmp_path / "w.md")]) == 0
    page = tmp_path / "w.html"
    assert len(browser.screenshot(page)) > 20_000
    raw, dom = browser.dom(page)
    assert_inert(raw, dom)
    assert XSS in dom.text and XSS_IMG in dom.text
    assert [t for t in dom.tag_names if t in ("h1", "h2")][:3] == ["h1", "h2", "h2"]
    imgs = [a["src"] for t, a in dom.tags if t == "img"]
    assert len(imgs) == 3 and all(src.startswith("data:image/png;base64,") for src in imgs)  # comparison + 2 runs


MEASURE = """<script>
const width = document.documentElement.clientWidth;
const out = [...document.querySelectorAll("body *")].filter(
  el => el.getBoundingClientRect().right > width + 0.5).length;
const thumbs = [...document.querySelectorAll("table img")].map(el => Math.round(el.getBoundingClientRect().width));
document.title = `width=${width} scroll=${document.documentElement.scrollWidth} out=${out} thumbs=${thumbs}`;
</script>"""


def test_status_page_fits_1400px(browser, tmp_path):
    """At a 1,400 px window the table does not overflow and no thumbnail is cut: a copy of status.html with a
    measuring script (the page itself has none) reports the layout through its title (issue 25 point 7)."""
    config = apply_overrides(power2022.PRESET.config, {"name": "wide"})
    long = " ".join(f"lam{i}_wd{i}: val acc 0.95 at step never, predicted never;" for i in range(30))
    preset = Preset("levi_like_" + "x" * 40, "Levi, Beck, Bar-Sinai 2023, A long title (arXiv 2310.16441)",
                    long, config, arms={"ci": (Arm("a"),)}, check=power2022.check,
                    measured_at={"ci": "d_in 200, lambda 0.5 and 0.9 x three weight decays, " + "y" * 60})
    run = hostile_run(tmp_path / "runs", "ok")
    check = power2022.check({"run": load_run(run)})
    entries = [Entry(preset, configs={"a": config}, runs={"a": load_run(run)},
                     check=dataclasses.replace(check, detail=long, not_asserted=(long,)))
               for _ in range(3)]
    write_status(tmp_path, entries, "ci", {"wall_s": 1.0, "cpu_s": 1.0, "command": "groklab suite " + "z" * 300})
    page = tmp_path / "status.html"
    assert len(browser.screenshot(page)) > 20_000  # rendered at 1,400 x 2,400 (conftest CHROMIUM_FLAGS)
    probe = tmp_path / "measure.html"
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    _, dom = browser.dom(probe)
    found = dict(item.split("=", 1) for item in dom.title.split())
    assert int(found["width"]) <= 1400 and int(found["scroll"]) <= int(found["width"]), dom.title
    assert found["out"] == "0", dom.title
    assert [int(w) for w in found["thumbs"].split(",")] == [160] * 3, dom.title
    md = (tmp_path / "STATUS.md").read_text()
    assert "&gt;" not in md and "-&gt;" not in md
    assert all(len(cell) <= 400 for line in md.splitlines() if line.startswith("| ") for cell in line.split(" | "))
