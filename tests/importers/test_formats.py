"""Round trips: write a history in each format (with the real library where it installs, else by hand in the
documented layout), import it, and check detection gives the verdict of the original history."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import import_and_detect, make_history, verdict_of

from groklab.errors import GroklabError
from groklab.importers import detect_format

EPOCH = 50  # steps per epoch in the epoch-indexed formats


def by_epoch(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "step": r["step"] // EPOCH} for r in rows]


def lightning_rows(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    """What a LightningModule logs: a train row and a separate validation row at each evaluated step."""
    out = []
    for r in rows:
        epoch = r["step"] // EPOCH
        out.append((r["step"], {"train_loss": r["train/loss"], "train_acc": r["train/acc"], "epoch": epoch}))
        out.append((r["step"], {"val_loss": r["val/loss"], "val_acc": r["val/acc"], "epoch": epoch}))
    return out


def test_lightning_csvlogger(original, tmp_path):
    loggers = pytest.importorskip("lightning.pytorch.loggers")
    expected, rows = original
    logger = loggers.CSVLogger(tmp_path / "logs", name="grok")
    logger.log_hyperparams({"lr": 1e-3, "weight_decay": 1.0, "dims": (2, 3)})
    for step, metrics in lightning_rows(rows):
        logger.log_metrics(metrics, step=step)
    logger.save()
    logger.finalize("success")
    version = Path(logger.log_dir)
    assert detect_format(version) == "lightning"
    det, folder = import_and_detect(version, tmp_path / "out")
    assert det == verdict_of(rows) and det["verdict"] == expected
    config = json.loads((folder / "config.json").read_text())["imported"]
    assert config["hparams"] == {"lr": 1e-3, "weight_decay": 1.0, "dims": [2, 3]}  # !!python/tuple -> list
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "imported" and summary["format"] == "lightning" and summary["x_axis"] == "step"
    assert summary["kind"] == "classification"
    lines = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == len(rows)  # train and validation rows merged by step
    assert lines[3] == {**rows[3], "epoch": 3}


def test_lightning_layout_by_hand(tmp_path):
    """The documented CSVLogger layout without lightning installed: epoch,step,<metrics> with empty cells."""
    rows = make_history(200, 2000)
    version = tmp_path / "lightning_logs" / "version_0"
    version.mkdir(parents=True)
    names = ["epoch", "step", "train_acc", "train_loss", "val_acc", "val_loss"]
    with open(version / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, names)
        writer.writeheader()
        for step, metrics in lightning_rows(rows):
            writer.writerow({"step": step, **metrics})
    (version / "hparams.yaml").write_text("lr: 0.001\nwd: 1.0\n")
    assert detect_format(tmp_path / "lightning_logs") == "lightning"  # one version folder: read as that run
    det, folder = import_and_detect(tmp_path / "lightning_logs", tmp_path / "out")
    assert det == verdict_of(rows)
    assert json.loads((folder / "config.json").read_text())["imported"]["hparams"] == {"lr": 0.001, "wd": 1.0}


def test_tensorboard_summary_writer(original, tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    expected, rows = original
    writer = SummaryWriter(str(tmp_path / "runs" / "exp1"))
    for r in rows:
        writer.add_scalar("Loss/train", r["train/loss"], r["step"])
        writer.add_scalar("Accuracy/train", r["train/acc"], r["step"])
        writer.add_scalars("Loss", {"validation": r["val/loss"]}, r["step"])  # into a sub-folder
        writer.add_scalar("Accuracy/test", r["val/acc"], r["step"])
    writer.add_hparams({"lr": 0.001, "optimizer": "AdamW"}, {"hparam/final_acc": rows[-1]["val/acc"]})
    writer.close()
    assert detect_format(tmp_path / "runs") == "tensorboard"
    det, folder = import_and_detect(tmp_path / "runs", tmp_path / "out")
    assert det == verdict_of(rows) and det["verdict"] == expected
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["key_map"] == {"Loss/train": "train/loss", "Accuracy/train": "train/acc",
                                  "Loss/validation": "val/loss", "Accuracy/test": "val/acc"}
    assert any("test metrics" in n for n in summary["notes"])
    hparams = json.loads((folder / "config.json").read_text())["imported"]["hparams"]
    assert hparams == {"lr": 0.001, "optimizer": "AdamW"}


def test_tensorboard_tensor_scalars_keras_layout(tmp_path):
    """Keras's TensorBoard callback: scalars stored as tensors (tf.summary.scalar) under the tags epoch_loss and
    epoch_accuracy, in train/ and validation/ sub-folders; written here with tensorboard's own writer."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.scalar.summary_v2 import scalar_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    rows = make_history(200, 2000)
    for split, prefix in (("train", "train/"), ("validation", "val/")):
        writer = EventFileWriter(str(tmp_path / "logs" / split))
        for r in rows:
            for tag, key in (("epoch_loss", "loss"), ("epoch_accuracy", "acc")):
                writer.add_event(event_pb2.Event(step=r["step"], summary=scalar_pb(tag, r[prefix + key])))
        writer.close()
    assert detect_format(tmp_path / "logs") == "tensorboard"
    det, folder = import_and_detect(tmp_path / "logs", tmp_path / "out")
    assert det == verdict_of(rows)
    key_map = json.loads((folder / "summary.json").read_text())["key_map"]
    assert key_map == {"train/epoch_loss": "train/loss", "train/epoch_accuracy": "train/acc",
                       "validation/epoch_loss": "val/loss", "validation/epoch_accuracy": "val/acc"}
    event_file = next((tmp_path / "logs" / "train").iterdir())  # one event file alone
    assert import_and_detect(event_file, tmp_path / "out2")[0]["memorization_step"] == det["memorization_step"]


def test_wandb_offline_history_jsonl(tmp_path):
    """A wandb run folder with files/wandb-history.jsonl and files/config.yaml (layout of wandb's filenames)."""
    rows = make_history(200, 2000)
    run = tmp_path / "wandb" / "offline-run-20240101_120000-abc123"
    (run / "files").mkdir(parents=True)
    with open(run / "files" / "wandb-history.jsonl", "w") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({"train/loss": r["train/loss"], "train/accuracy": r["train/acc"],
                                "trainer/global_step": r["step"], "_step": 2 * i, "_runtime": 0.1 * i}) + "\n")
            f.write(json.dumps({"validation/loss": r["val/loss"], "validation/accuracy": r["val/acc"],
                                "trainer/global_step": r["step"], "_step": 2 * i + 1}) + "\n")
    (run / "files" / "config.yaml").write_text(
        "wandb_version: 1\n_wandb:\n  desc: null\n  value:\n    cli_version: 0.16.0\n"
        "lr:\n  desc: null\n  value: 0.001\n")
    assert detect_format(tmp_path / "wandb") == "wandb"
    det, folder = import_and_detect(tmp_path / "wandb", tmp_path / "out")
    assert det == verdict_of(rows)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["x_column"] == "trainer/global_step" and summary["x_axis"] == "step"
    imported = json.loads((folder / "config.json").read_text())["imported"]
    assert imported["hparams"] == {"lr": 0.001} and imported["meta"] == {"run_id": "abc123"}


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A real offline run made by the wandb in [test]: its history is only in run-<id>.wandb."""
    wandb = pytest.importorskip("wandb")
    tmp_path = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("WANDB_DIR", ""), ("WANDB_CONFIG_DIR", "cfg"), ("WANDB_CACHE_DIR", "cache"),
                         ("WANDB_DATA_DIR", "data")):
            mp.setenv(var, str(tmp_path / sub))
        mp.setenv("WANDB_MODE", "offline")
        mp.setenv("WANDB_SILENT", "true")
        rows = make_history(200, 2000)
        # mode given, not only WANDB_MODE: wandb reads the environment once per process, at its first setup
        # (another test in the same worker may have set it up already).
        run = wandb.init(project="grok", dir=str(tmp_path), config={"lr": 0.001}, mode="offline",
                         reinit="create_new")
        for r in rows:
            run.log({"train/loss": r["train/loss"], "train/acc": r["train/acc"]}, step=r["step"])
            run.log({"val/loss": r["val/loss"], "val/acc": r["val/acc"]}, step=r["step"])
        run.finish()
    return next((tmp_path / "wandb").glob("offline-run-*")), rows


def test_wandb_offline_binary(wandb_run, tmp_path):
    """The run's .wandb transaction log, read through wandb's own reader: every row, the verdict, the config."""
    folder, rows = wandb_run
    assert detect_format(folder) == "wandb"
    det, out = import_and_detect(folder, tmp_path / "out")
    assert det == verdict_of(rows)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    keys = ("step", "train/loss", "train/acc", "val/loss", "val/acc")  # wandb adds _runtime and _timestamp
    assert [{k: line[k] for k in keys} for line in lines] == rows  # every value, two log calls merged per step
    assert json.loads((out / "config.json").read_text())["imported"]["hparams"]["lr"] == 0.001


@pytest.mark.parametrize("damage", ["truncated", "bit flipped"])
def test_a_damaged_wandb_log_is_refused(wandb_run, tmp_path, damage):
    """A cut or flipped .wandb file: wandb's reader stops at the damage, so the history's extent is unknown."""
    folder, _ = wandb_run
    copy = tmp_path / folder.name
    copy.mkdir()
    (binary,) = folder.glob("*.wandb")
    data = bytearray(binary.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x10
    (copy / binary.name).write_bytes(bytes(data))
    with pytest.raises(GroklabError, match="wandb's reader says") as info:
        import_and_detect(copy, tmp_path / "out")
    assert "\n" not in str(info.value) and "nothing imported" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_wandb_chart_csv(tmp_path):
    """A line plot's "Export panel data" CSV: Step, '<run> - <metric>' and its __MIN/__MAX columns."""
    rows = make_history(200, 2000)
    metrics = {"train/loss": "train/loss", "train/acc": "train/acc", "val/loss": "val/loss", "val/acc": "val/acc"}
    header = ["Step"] + [f"{pre}{m}{suf}" for m in metrics for pre in ["royal-sweep-3 - "]
                         for suf in ("", "__MIN", "__MAX")]
    path = tmp_path / "wandb_export_2024-01-01T12_00_00.000+01_00.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for r in rows:
            writer.writerow([r["step"]] + [r[k] for k in metrics for _ in range(3)])
    assert detect_format(path) == "wandb-csv"
    det, folder = import_and_detect(path, tmp_path / "out")
    assert det == verdict_of(rows)
    imported = json.loads((folder / "config.json").read_text())["imported"]
    assert imported["meta"] == {"run_name": "royal-sweep-3"}


def test_json_history_of_lists(original, tmp_path):
    """training_history.json: lists per metric indexed by epoch; the x axis is the epoch."""
    expected, rows = original
    epochs = by_epoch(rows)
    path = tmp_path / "wd1" / "training_history.json"
    path.parent.mkdir()
    path.write_text(json.dumps({
        "epoch": [r["step"] for r in epochs], "train_loss": [r["train/loss"] for r in epochs],
        "train_acc": [r["train/acc"] for r in epochs], "test_loss": [r["val/loss"] for r in epochs],
        "test_acc": [r["val/acc"] for r in epochs], "model": "mlp"}))
    assert detect_format(path) == "json"
    det, folder = import_and_detect(path, tmp_path / "out")
    assert det == verdict_of(epochs) and det["verdict"] == expected
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["x_axis"] == "epoch" and summary["steps"] == epochs[-1]["step"]
    assert folder.name.startswith("wd1-training_history-")
    assert json.loads((folder / "config.json").read_text())["imported"]["hparams"] == {"model": "mlp"}


def test_json_lines(tmp_path):
    rows = make_history(200, 2000)
    path = tmp_path / "log.jsonl"
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps({"iteration": r["step"], "train": {"loss": r["train/loss"], "acc": r["train/acc"]},
                                "lr": 1e-3, "phase": "train"}) + "\n")
            f.write(json.dumps({"iteration": r["step"], "valid_loss": r["val/loss"],
                                "valid_accuracy": r["val/acc"], "val_acc_top5": 1.0}) + "\n")
        f.write('{"iteration": 99999, "train": {"lo')  # a last line cut by a kill
    assert detect_format(path) == "jsonl"
    det, folder = import_and_detect(path, tmp_path / "out")
    assert det == verdict_of(rows)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["skipped"] == ["phase"] and summary["x_column"] == "iteration"
    assert any("cut short" in n for n in summary["notes"])
    last = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["lr"] == 1e-3 and last["val_acc_top5"] == 1.0  # unmapped names kept as they are


def write_sacred_by_hand(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True)
    names = {"training.loss": "train/loss", "training.accuracy": "train/acc", "test.loss": "val/loss",
             "test.accuracy": "val/acc"}
    metrics = {name: {"steps": [r["step"] for r in rows], "values": [r[key] for r in rows],
                      "timestamps": ["2024-01-01T12:00:00.000000"] * len(rows)} for name, key in names.items()}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.json").write_text(json.dumps({"lr": 0.001, "seed": 1}))
    (folder / "run.json").write_text(json.dumps({"status": "COMPLETED", "experiment": {"name": "grok"}}))


def test_sacred_by_hand(tmp_path):
    rows = make_history(200, 2000)
    write_sacred_by_hand(tmp_path / "sacred" / "1", rows)
    (tmp_path / "sacred" / "_sources").mkdir()
    assert detect_format(tmp_path / "sacred") == "sacred"
    det, folder = import_and_detect(tmp_path / "sacred", tmp_path / "out")
    assert det == verdict_of(rows)
    imported = json.loads((folder / "config.json").read_text())["imported"]
    assert imported["hparams"] == {"lr": 0.001, "seed": 1}
    assert imported["meta"] == {"status": "COMPLETED", "experiment": "grok"}


def test_sacred_file_storage_observer(original, tmp_path):
    try:  # sacred imports pkg_resources, which setuptools >= 81 no longer ships
        from sacred import Experiment
        from sacred.observers import FileStorageObserver
    except ImportError:
        pytest.skip("sacred does not import here")
    expected, rows = original
    ex = Experiment("grok", save_git_info=False)
    ex.observers.append(FileStorageObserver(str(tmp_path / "sacred_runs")))

    @ex.config
    def config():
        lr = 0.001  # noqa: F841 (a Sacred config scope collects its locals)

    @ex.main
    def main(_run):
        for r in rows:
            _run.log_scalar("training.loss", r["train/loss"], r["step"])
            _run.log_scalar("training.accuracy", r["train/acc"], r["step"])
            _run.log_scalar("test.loss", r["val/loss"], r["step"])
            _run.log_scalar("test.accuracy", r["val/acc"], r["step"])

    ex.run(options={"--loglevel": "ERROR"})
    assert detect_format(tmp_path / "sacred_runs") == "sacred"
    det, folder = import_and_detect(tmp_path / "sacred_runs", tmp_path / "out")
    assert det == verdict_of(rows) and det["verdict"] == expected
    imported = json.loads((folder / "config.json").read_text())["imported"]
    assert imported["hparams"]["lr"] == 0.001 and imported["meta"]["status"] == "COMPLETED"


def test_regression_history_is_kind_regression(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"step": [0, 10, 20], "loss": [1.0, 0.5, 0.1], "val_loss": [1.0, 0.9, 0.8]}))
    _, folder = import_and_detect(path, tmp_path / "out")
    assert json.loads((folder / "summary.json").read_text())["kind"] == "regression"
    assert os.stat(folder / "summary.json").st_mode & 0o044  # readable by others, like open() makes files
