"""Bad input to `groklab evaluate` and `groklab mheight predict`: one line on stderr, exit status 2, nothing
written (no evaluation in the run folder, no --out file)."""

import argparse
import json
import pickle

import pytest
import torch

from groklab.cli import main
from groklab.io import write_json
from groklab.mheight import GenerateSpec, generate_dataset

from .conftest import GROUPS


def snapshot(folder):
    return sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.name != ".lock")


def unfinished(run):
    summary = run / "summary.json"
    write_json(summary, {**json.loads(summary.read_text()), "status": "running"})


def wrong_shapes(run):
    """A checkpoint whose tensors do not fit the config (another width)."""
    path = run / "checkpoints" / "latest.pt"
    state = torch.load(path, weights_only=True)
    state["model"] = {k: torch.zeros(*(2 * s for s in v.shape)) if v.dim() else v for k, v in state["model"].items()}
    torch.save(state, path)


def pickled_checkpoint(run):
    """A checkpoint holding an arbitrary object: refused, never unpickled."""
    torch.save({"model": argparse.Namespace(weights=1), "step": 1}, run / "checkpoints" / "latest.pt")


def other_groups(tmp_path):
    path = tmp_path / "other.npz"
    generate_dataset(path, GenerateSpec(groups=((*GROUPS[0],), (10, 6, 2)), per_group=5, seed=3), progress=False)
    return path


def csv_file(tmp_path, text):
    path = tmp_path / "codes.csv"
    path.write_text(text)
    return path


P = "1,2,3,4,5;6,7,8,9,10;3,1,4,1,5;9,2,6,5,3"  # 4 x 5: (9, 4)
CASES = {
    "unfinished run": (unfinished, lambda t: ["evaluate", "RUN"], "has status interrupted"),
    "checkpoint of other shapes": (wrong_shapes, lambda t: ["evaluate", "RUN"], "does not fit the run's config"),
    "pickled checkpoint": (pickled_checkpoint, lambda t: ["evaluate", "RUN"], "refused to load checkpoint"),
    "no such checkpoint": (None, lambda t: ["evaluate", "RUN", "--checkpoint", "99999"], "no checkpoint 'step_99999'"),
    "other groups": (None, lambda t: ["evaluate", "RUN", "--data", other_groups(t)], "10,6,2 that the run was not"),
    "pickle data": (None, lambda t: ["evaluate", "RUN", "--data", pickle_file(t)], "is a pickle"),
    "NaN in a CSV": (None, lambda t: ["evaluate", "RUN", "--data", csv_file(t, f'n,k,m,P\n9,4,2,"nan,{P[2:]}"\n')],
                     "NaN or infinite entries in P"),
    "P of a CSV of the wrong shape": (None, lambda t: ["evaluate", "RUN", "--data", csv_file(
        t, 'n,k,m,P\n9,4,2,"1,2;3,4"\n')], "P is 2 x 2 but (n, k) = (9, 4)"),
    "a CSV without P": (None, lambda t: ["evaluate", "RUN", "--data", csv_file(t, "n,k,m\n9,4,2\n")],
                        "needs a header with the columns n, k, m, P"),
    "a CSV with n = 9.5": (None, lambda t: ["evaluate", "RUN", "--data", csv_file(t, f'n,k,m,P\n9.5,4,2,"{P}"\n')],
                           "codes.csv:2: n, k, m must be integers"),
    "--out is a folder": (None, lambda t: ["evaluate", "RUN", "--out", t], "is a folder"),
    "a model override": (None, lambda t: ["evaluate", "RUN", "model.d_model=8"], "task.* overrides only"),
    "another feature set": (None, lambda t: ["evaluate", "RUN", "task.features=raw"], "the run's model takes"),
    "predict: P of the wrong shape": (None, lambda t: ["mheight", "predict", "RUN", "--P", "1,2;3,4", "--n", "9",
                                                       "--k", "4", "--m", "2"], "P is 2 x 2, but n = 9, k = 4"),
    "predict: NaN entry": (None, lambda t: ["mheight", "predict", "RUN", "--P", "nan" + P[1:], "--m", "2"],
                           "NaN or infinite entries"),
    "predict: inf entry": (None, lambda t: ["mheight", "predict", "RUN", "--P", "inf" + P[1:], "--m", "2"],
                           "NaN or infinite entries"),
    "predict: another group": (None, lambda t: ["mheight", "predict", "RUN", "--P", P, "--m", "3"],
                               "9,4,3 that the run was not trained on"),
    "predict: no such file": (None, lambda t: ["mheight", "predict", "RUN", "--P", t / "codes.csv"], "no such file"),
    "predict: a pickle": (None, lambda t: ["mheight", "predict", "RUN", "--P", pickle_file(t)], "is a pickle"),
    "predict: unfinished run": (unfinished, lambda t: ["mheight", "predict", "RUN", "--P", P, "--m", "2"],
                                "has status interrupted"),
    "predict: --out not CSV": (None, lambda t: ["mheight", "predict", "RUN", "--P", P, "--m", "2", "--out",
                                                t / "p.json"], "written as CSV"),
}


def pickle_file(tmp_path):
    path = tmp_path / "course.pkl"
    path.write_bytes(pickle.dumps([[9, 4, 2, [[1.0]]]]))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_one_line_exit_2_nothing_written(case, mheight_run, copy_of, tmp_path, capsys):
    damage, argv, needle = CASES[case]
    run = copy_of(mheight_run)
    if damage is not None:
        damage(run)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [str(run) if a == "RUN" else str(a) for a in argv(out_dir)]
    if args[0] == "evaluate" and "--out" not in args:
        args += ["--out", str(out_dir / "evaluation.json")]
    before, outside = snapshot(run), snapshot(out_dir)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and err.count("\n") == 1 and needle in err, err
    assert snapshot(run) == before and snapshot(out_dir) == outside


@pytest.mark.parametrize("argv, needle", [
    (["task.p=11"], "n_classes is 11 where the model was trained on 7"),
    (["--data", "anything.npz"], "task.name=modular reads no data files"),
    (["task.op=bogus"], "task.op='bogus' is unknown"),
])
def test_modular_data_that_does_not_fit(argv, needle, modular_run, copy_of, capsys):
    run = copy_of(modular_run)
    before = snapshot(run)
    assert main(["evaluate", str(run), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and err.count("\n") == 1 and needle in err, err
    assert snapshot(run) == before
