"""The HTML report in real headless Chromium: rendered, tables and inline images present, markup not run."""

from __future__ import annotations

import os
from pathlib import Path


def test_report_in_headless_chromium(browser, report_files, synth):
    page = report_files[0]
    data = browser.screenshot(page)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a rendered page, not a blank one
    if os.environ.get("GROKLAB_KEEP_SCREENSHOT"):
        Path(os.environ["GROKLAB_KEEP_SCREENSHOT"]).write_bytes(data)

    raw, dom = browser.dom(page)
    assert dom.title == "groklab report: runs"  # the payload would have set it to PWNED
    assert "script" not in dom.tag_names  # the report has no scripts; an injected one would be in the DOM
    assert not any(a.get("id") == "pwned" or "data-pwned" in a or "onerror" in a for _, a in dom.tags)
    assert synth.xss in dom.text and synth.xss_dom in dom.text and synth.xss_img in dom.text  # shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    links = {a["href"]: None for t, a in dom.tags if t == "a" and a.get("href", "").startswith("#run-")}
    assert len(links) == 4
    for name in ("crashed", "evil", "sweep/wd1-s0", "sweep/wd1-s1"):
        assert f">{name}</a></td>" in raw
    imgs = [a.get("src", "") for t, a in dom.tags if t == "img"]
    assert len(imgs) == 7 and all(src.startswith("data:image/png;base64,") for src in imgs)
    assert dom.tag_names.count("tr") == (1 + 4) + (1 + 3)  # run table and seed-group table, with headers
