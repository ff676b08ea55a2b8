import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

import groklab

# Under pytest-xdist each worker gets one thread, so two workers share two cores without oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def tiny_overrides() -> dict[str, str]:
    """A run that takes about a second: x+y mod 7 with a small model."""
    return {
        "task.op": "x+y", "task.p": "7", "model.d_model": "16", "model.n_heads": "2", "model.d_mlp": "32",
        "train.steps": "30", "train.eval_every": "10", "train.checkpoint_every": "10", "train.log_checkpoints": "4",
    }


def run_claim(name, out, arms=None):
    """A preset's claim at CI scale through the suite's own steps (groklab.suite.runner.claim: its arms trained
    into run folders, its study, its check), with one torch thread: these nets are tiny, and two threads fight
    over two shared cores."""
    from groklab.suite.runner import claim as suite_claim

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        entry = suite_claim(name, out, arms=arms)
    finally:
        torch.set_num_threads(threads)
    assert entry.error is None, entry.error
    assert entry.check is not None, f"{name}: its runs did not finish"
    return entry


@pytest.fixture
def claim(tmp_path):
    """`claim(preset, arms=None)` -> the suite's Entry: `.check` (passed, claim, figures, detail) and `.runs`."""
    return lambda name, arms=None: run_claim(name, tmp_path, arms)


@pytest.fixture(scope="session")
def nanda_grokked(tmp_path_factory):
    """The nanda2023 preset's CI arm (groklab/presets/nanda2023.py CI: (a + b) mod 53, 40% of the pairs, wd 5,
    1,300 steps; ~1 min), one real run that groks, shared by the end-to-end and progress-measure tests. Tests
    using it carry `xdist_group("nanda_run")` so that pytest-xdist (`--dist loadgroup`) trains it once."""
    from groklab.presets.nanda2023 import CI

    return groklab.run("nanda2023", CI, out=tmp_path_factory.mktemp("nanda"))


CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1400,2400")


class DomSummary(HTMLParser):
    """Tags with attributes, the <title>, and the visible text of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.title, self.text, self._in_title = "", "", False

    @property
    def tag_names(self) -> list[str]:
        return [t for t, _ in self.tags]

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.text += data
        if self._in_title:
            self.title += data


class Browser:
    """Headless Chromium on local files: a screenshot, or the DOM after rendering (scripts would have run)."""

    def __init__(self, path: str, tmp_path: Path) -> None:
        self.path, self.tmp_path = path, tmp_path

    def run(self, *args: str) -> subprocess.CompletedProcess:
        profile = self.tmp_path / f"profile-{len(list(self.tmp_path.iterdir()))}"
        profile.mkdir()
        return subprocess.run([self.path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=120, cwd=self.tmp_path)

    def screenshot(self, page: Path) -> bytes:
        shot = self.tmp_path / f"{page.stem}.png"
        proc = self.run(f"--screenshot={shot}", page.resolve().as_uri())
        assert proc.returncode == 0, proc.stderr[-2000:]
        return shot.read_bytes()

    def dom(self, page: Path) -> tuple[str, DomSummary]:
        proc = self.run("--dump-dom", page.resolve().as_uri())
        assert proc.returncode == 0, proc.stderr[-2000:]
        dom = DomSummary()
        dom.feed(proc.stdout)
        return proc.stdout, dom


@pytest.fixture
def browser(tmp_path) -> Browser:
    """Chromium; missing is a skip locally and a failure in CI (the CI script installs it)."""
    path = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not found but CI is set: install it (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    folder = tmp_path / "browser"
    folder.mkdir()
    return Browser(path, folder)
