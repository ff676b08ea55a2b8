"""`groklab evaluate RUN --data FOLDER` for an image run: the whole test set of another IDX folder."""

import groklab
from groklab.cli import main
from groklab.runs import RunDir

from .conftest import fake_mnist

TINY = {"task.source": "idx", "task.n_train": 30, "model.d_mlp": 16, "train.steps": 10, "train.eval_every": 5,
        "train.checkpoint_every": 10, "train.device": "cpu"}


def test_another_idx_folder_is_scored_whole(tmp_path, capsys):
    fake_mnist(tmp_path / "a", n_train=40, n_test=12, seed=0)
    fake_mnist(tmp_path / "b", n_train=40, n_test=30, seed=1)
    fake_mnist(tmp_path / "small", n_train=40, n_test=12, side=8, seed=2)
    run = groklab.run("omnigrok2022", {**TINY, "task.data_dir": str(tmp_path / "a")}, out=tmp_path / "runs")
    assert main(["evaluate", str(run), "--data", str(tmp_path / "b")]) == 0
    [(_, record)] = RunDir(run).evaluations()
    assert record["splits"]["val"]["rows"] == 30 and record["splits"]["train"]["rows"] == 30  # the whole test set
    assert 0 <= record["splits"]["val"]["acc"] <= 1 and "baseline" not in record["splits"]["val"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "small")]) == 2  # 8 x 8 images: another model
    err = capsys.readouterr().err
    assert "does not fit the run's model: in_dim is 64 where the model was trained on 784" in err
    assert main(["evaluate", str(run), "--data", str(tmp_path / "nowhere")]) == 2
    assert len(RunDir(run).evaluations()) == 1
