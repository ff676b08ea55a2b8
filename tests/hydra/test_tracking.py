"""TensorBoard and wandb-offline trackers: read back what they wrote; failures warn once and never raise."""

import importlib.util
import subprocess
import sys

import pytest

from groklab import tracking
from groklab.config import RunConfig
from groklab.errors import ConfigError

ROWS = [{"step": 0, "time": 0.0, "train/loss": 2.3, "val/acc": 0.1, "lr": 1e-4},
        {"step": 10, "time": 0.5, "train/loss": 1.2, "val/acc": None, "lr": 1e-3},
        {"step": 25, "time": 1.0, "train/loss": 0.4, "val/acc": 0.75, "lr": 1e-3}]


def write(spec: str, run_dir) -> None:
    trackers = tracking.open_trackers(spec, run_dir, RunConfig().to_dict())
    assert len(trackers) == len(tracking.tracker_names(spec))
    for row in ROWS:
        for t in trackers:
            t.log(row)
    for t in trackers:
        t.close()


def test_check_trackers():
    assert tracking.check_trackers("") == []
    with pytest.raises(ConfigError, match=r"train.log: unknown tracker 'mlflow'; expected some of tensorboard, wandb"):
        tracking.check_trackers("tensorboard,mlflow")


def test_absent_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError) as err:
        tracking.check_trackers("wandb")
    assert str(err.value) == "train.log=wandb needs the wandb package: pip install 'groklab[wandb]'"


def test_tensorboard_events_hold_every_metric_and_the_config(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    write("tensorboard", tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"time", "train/loss", "val/acc", "lr"}
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [0, 10, 25] and [round(e.value, 6) for e in loss] == [2.3, 1.2, 0.4]
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("val/acc")] == [(0, 0.1), (25, 0.75)]  # None left out
    assert "config/text_summary" in events.Tags()["tensors"]
    text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"weight_decay": 1.0' in text
    plugins = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(plugins)
    assert b"optim.lr" in plugins["_hparams_/session_start_info"]


@pytest.mark.slow  # wandb starts a service process: a few seconds
def test_wandb_writes_an_offline_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    write("wandb", tmp_path)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    data = next(runs[0].glob("run-*.wandb")).read_bytes()
    assert b"train/loss" in data and b"val/acc" in data and b"weight_decay" in data


@pytest.mark.slow
def test_wandb_mode_set_by_the_user_wins(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    write("wandb", tmp_path)
    assert not list(tmp_path.glob("wandb/offline-run-*"))


class Broken:
    def __init__(self, *args):
        self.calls = 0

    def log(self, row):
        self.calls += 1
        raise OSError("disk full")

    def close(self):
        raise RuntimeError("never reached")


def test_a_failing_tracker_warns_once_and_is_switched_off(capsys):
    broken = Broken()
    guarded = tracking.Guarded("tensorboard", broken)
    for row in ROWS:
        guarded.log(row)
    guarded.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert broken.calls == 1 and len(err) == 1 and "tensorboard tracker failed to log (OSError: disk full)" in err[0]


def test_a_tracker_that_cannot_open_is_left_out(capsys, monkeypatch, tmp_path):
    def refuse(*args):
        raise ImportError("no module named wandb")

    monkeypatch.setitem(tracking.CLASSES, "wandb", refuse)
    assert tracking.open_trackers("wandb", tmp_path, {}) == []
    assert "wandb tracker failed to open (ImportError" in capsys.readouterr().err


def test_imports_are_lazy():
    code = "import sys, groklab.tracking; print(any(m in sys.modules for m in ('wandb', 'tensorboard')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
