"""The new-task tutorial of docs/design.md ("A new task, in one file"): the example task, added in one file
(examples/parity_task.py) and quoted in the doc, registers itself, trains through the public API and the CLI, and its
keys are its own."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import groklab
from groklab.cli import main
from groklab.config import PLUGINS, TASKS, every_key
from groklab.errors import ConfigError
from groklab.presets.base import PRESETS
from groklab.tasks.registry import BUILDERS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "parity_task.py"
TINY = {"task.n_bits": 6, "model.d_mlp": 32, "train.steps": 20, "train.eval_every": 10, "train.device": "cpu"}


def test_the_doc_quotes_the_example_file():
    doc = (ROOT / "docs" / "design.md").read_text()
    section = doc[doc.index("### A new task, in one file"):]
    quoted = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert quoted == EXAMPLE.read_text()


@pytest.fixture
def parity(monkeypatch):
    """`import parity_task`, as the tutorial does; unregistered afterwards, so other tests see groklab's tasks only."""
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    module = importlib.import_module("parity_task")
    yield module
    TASKS.pop("parity", None)
    BUILDERS.pop("parity", None)
    PRESETS.pop("parity", None)
    sys.modules.pop("parity_task", None)


def test_the_example_task_trains_through_the_python_api(parity, tmp_path):
    path = groklab.run("parity", TINY, out=tmp_path)
    assert path.name.startswith("parity-parity3of6-")
    run = groklab.load_run(path)
    assert run.summary["status"] == "completed" and run.history["step"][-1] == 20
    assert run.config["task"]["name"] == "parity" and (run.config["task"]["n_bits"], run.config["task"]["k"]) == (6, 3)
    assert run.summary["task"]["sizes"] == {"train": 32, "val": 32}  # 2**6 strings, half for training
    assert isinstance(TASKS.make("parity", k=2), parity.ParityConfig)
    assert "task.k" in every_key()
    other = groklab.run("power2022", {"name": "parity", "task.name": "parity", "model.name": "mlp"} | TINY,
                        out=tmp_path)  # the task under another preset's model and training
    assert groklab.load_run(other).summary["status"] == "completed"


def test_its_keys_are_its_own(parity, tmp_path):
    with pytest.raises(ConfigError, match=r"task\.k applies to task\.name=parity; this task is modular"):
        groklab.run(overrides={"task.k": 2}, out=tmp_path)
    with pytest.raises(ConfigError, match=r"task\.k and task\.n_bits need 1 <= k <= n_bits <= 20"):
        groklab.run("parity", TINY | {"task.n_bits": 40}, out=tmp_path)
    assert not any(tmp_path.iterdir())  # refused before anything is written


def test_the_cli_imports_the_modules_groklab_plugins_names(tmp_path):
    env = os.environ | {PLUGINS: str(EXAMPLE), "OMP_NUM_THREADS": "1"}
    items = [f"{k}={v}" for k, v in TINY.items()]
    done = subprocess.run([sys.executable, "-m", "groklab.cli", "run", "parity", *items, "--out", str(tmp_path),
                           "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (run,) = tmp_path.iterdir()
    assert json.loads((run / "config.json").read_text())["task"]["k"] == 3


@pytest.mark.parametrize("name", ["missing.py", "json.py"])  # json.py: a module of that name is imported already
def test_a_plugin_that_cannot_be_imported_is_one_line(tmp_path, monkeypatch, capsys, name):
    if name == "json.py":
        (tmp_path / name).write_text(EXAMPLE.read_text())
    monkeypatch.setenv(PLUGINS, str(tmp_path / name))
    assert main(["run", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("groklab: error: GROKLAB_PLUGINS: cannot import") and "\n" not in err
    assert ("already imported" in err) == (name == "json.py")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_sweeps_worker_processes_find_the_plugin(tmp_path):
    """Sweep members train in spawned worker processes: they import the plugin from the inherited variable."""
    env = os.environ | {PLUGINS: str(EXAMPLE), "OMP_NUM_THREADS": "1"}
    items = [f"{k}={v}" for k, v in TINY.items()] + ["task.k=2,3"]
    done = subprocess.run([sys.executable, "-m", "groklab.cli", "sweep", "parity", *items, "--workers", "2", "--out",
                           str(tmp_path), "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "2 members on 2 worker processes" in done.stderr
    assert len([p for p in tmp_path.glob("parity-*") if (p / "summary.json").is_file()]) == 2
