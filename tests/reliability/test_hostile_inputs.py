"""About fifty bad or hostile inputs across every command: exit status 2, one line on stderr naming the problem, no
traceback, no folder left that looks like a run, and the existing run untouched (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from groklab.cli import main

from .conftest import TINY, snapshot


class Payload:
    """Stands for arbitrary code in a pickle: torch.load(weights_only=True) must refuse to build it."""


CASES = [
    # run: values
    (["run", "optim.lr=inf"], "optim.lr=inf: expected a finite number"),
    (["run", "optim.lr=nan"], "optim.lr=nan: expected a finite number"),
    (["run", "optim.weight_decay=-inf"], "expected a finite number"),
    (["run", "task.train_frac=nan"], "expected a finite number"),
    (["run", "optim.lrr=0.1"], "did you mean optim.lr"),
    (["run", "seed=1.5"], "seed='1.5': expected int"),
    (["run", "train.steps=1e12"], "train.steps must be in 1..1e+09"),
    (["run", "train.steps=100000000", "train.eval_every=1"], "at most 1,000,000"),
    (["run", "train.log_checkpoints=100000"], "train.log_checkpoints must be in 0..10000"),
    (["run", "train.batch_size=abc"], "train.batch_size='abc'"),
    (["run", "train.fixed_norm=-1"], "train.fixed_norm must be >= 0"),
    (["run", "train.probe_every=-1"], "train.probe_every must be >= 0"),
    (["run", "train.device=tpu"], "train.device='tpu'"),
    (["run", "probe.adv_eps=-0.1"], "probe.adv_eps must be >= 0"),
    (["run", "probe.lc_vertices=3"], "probe.lc_vertices must be an even number"),
    (["run", "model.init_scale=0"], "model.init_scale applies to model.name=mlp_concat or image_mlp"),
    (["run", "train.baseline=mean"], "train.baseline=mean applies to regression tasks"),
    (["run", "train.probes=nosuch"], "unknown probe 'nosuch'"),
    (["run", "train.keep_best=val/nope"], "train.keep_best='val/nope' is not a logged metric"),
    (["run", "task.p=100000", "task.op=x+y"], "task.p=100000"),
    (["run", "task.op=x/y", "task.p=91"], "task.p=91 is not prime"),
    (["run", "task.op=x%y"], "task.op='x%y' is unknown"),
    (["run", "task.op=s5conj"], "set task.p=null"),
    (["run", "model.name=foo"], "model.name='foo'"),
    (["run", "model.d_model=8192", "model.d_mlp=100000", "model.n_heads=4"], "choose smaller model sizes"),
    (["run", "model.d_model=30", "model.n_heads=4"], "not divisible"),
    (["run", "optim.name=lion"], "optim.name='lion'"),
    (["run", "nosuchpreset"], "unknown preset 'nosuchpreset'"),
    (["run", "optim.lr"], "is not KEY=VALUE"),
    # run: names and paths
    (["run", "name=../../escaped"], "a run name must be a single folder name"),
    (["run", "name=/tmp/x"], "a run name must be a single folder name"),
    (["run", "name=a/b"], "a run name must be a single folder name"),
    (["run", "name="], "a run name must be a single folder name"),
    (["run", "name=bad\x07name"], "a run name must be a single folder name"),
    (["run", "--out", ""], "--out is empty"),
    (["run", "--out", "{garbage}/runs"], "is a file, not a folder"),
    (["run", "--resume", "{tmp}/nothing"], "not a run folder"),
    (["run", "train.init_from={pickle}"], "refused to load"),
    (["run", "train.init_from={garbage}"], "damaged or truncated"),
    (["run", "train.mask_from={pickle}"], "refused to load"),
    (["run", "train.init_from={tmp}/missing.pt"], "no such file"),
    (["run", "--bogus-flag"], "unrecognized arguments"),
    # sweep
    (["sweep", "optim.lr=1e-3"], "nothing to sweep"),
    (["sweep", "seed=range(0)"], "malformed range"),
    (["sweep", "seed=1,1"], "same config twice"),
    (["sweep", "seed=0,1", "optim.lr=inf"], "expected a finite number"),
    (["sweep", "seed=0,1", "name=../x"], "a run name must be a single folder name"),
    (["sweep", "seed=0,1", "--executor", "pbs"], "invalid choice"),
    # show, detect, plot, report
    (["show", "{tmp}/nothing"], "no such folder"),
    (["show", "{tmp}"], "not a run folder"),
    (["detect", "{tmp}/nothing"], "no such folder"),
    (["detect", "-p", "patience=0", "{run}"], "patience must be >= 1"),
    (["plot", "{run}", "--out", "{tmp}/x.gif"], "figure format"),
    (["plot", "{run}", "--out", "{tmp}/no/such/x.png"], "no such folder"),
    (["report", "{tmp}/nothing"], "no such folder"),
    (["report", "{tmp}/empty"], "no run folders"),
    (["report", "{run}", "--out", "/proc/x.html"], "cannot write"),
    # probe, tickets, mheight
    (["probe", "fourier", "{run}", "--min-frac", "2"], "--min-frac must be in [0, 1]"),
    (["probe", "fourier", "{tmp}/nothing"], "not a run folder"),
    (["tickets", "--keep", "0"], "--keep must be in (0, 1]"),
    (["tickets", "--retrain-steps", "0"], "--retrain-steps must be > 0"),
    (["tickets", "optim.lr=-1"], "optim.lr must be > 0"),
    (["mheight", "height", "--m", "9", "--P", "1,2"], "m must be in 1..n-1"),
    (["mheight", "height", "--m", "1", "--P", "1,x"], ""),
]


@pytest.fixture
def places(run_copy: Path, tmp_path: Path) -> dict[str, str]:
    torch.save({"model": Payload()}, tmp_path / "payload.pt")
    (tmp_path / "garbage.bin").write_bytes(b"\x00garbage\xff" * 10)
    (tmp_path / "empty").mkdir()
    return {"tmp": str(tmp_path), "run": str(run_copy), "pickle": str(tmp_path / "payload.pt"),
            "garbage": str(tmp_path / "garbage.bin")}


@pytest.mark.parametrize(("argv", "needle"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_and_leaves_no_trace(argv, needle, places, run_copy, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray write would land here, where the check below finds it
    before = snapshot(tmp_path)
    args = [a.format(**places) for a in argv]
    if args[0] in ("run", "sweep"):  # [preset], the tiny config, then the case's own keys (later keys win)
        rest = args[1:]
        preset = [rest.pop(0)] if rest and "=" not in rest[0] and not rest[0].startswith("-") else []
        args = [args[0], *preset, *TINY, *rest]
    if args[0] in ("run", "sweep", "tickets") and "--out" not in args:
        args += ["--out", str(tmp_path / "runs"), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("groklab: error: ") and needle in lines[0], err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before  # nothing written anywhere, the existing run untouched
