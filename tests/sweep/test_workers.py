"""The local executor's workers x threads: the rule, and members that are `groklab run` bit for bit."""

import json

import torch

from groklab.config import RunConfig
from groklab.engine import MemorySink, train
from groklab.io import read_jsonl
from groklab.sweep import run_sweep
from groklab.sweep.local import Layout, choose_layout

from .conftest import tiny_items

MiB = 2**20


def test_layout_rule_one_single_threaded_process_per_core():
    assert choose_layout(8, 2, MiB, on_cpu=True) == Layout(2, 1, "2 cores, 8 unit(s) of work: one per core")
    assert choose_layout(1, 2, MiB, on_cpu=True).workers == 1  # a lone member keeps every thread
    assert choose_layout(1, 2, MiB, on_cpu=True).threads == 2
    assert choose_layout(3, 16, MiB, on_cpu=True).threads == 5  # 16 cores over 3 workers
    assert choose_layout(8, 2, MiB, on_cpu=False).workers == 1  # a GPU: one process
    assert choose_layout(8, 64, 2**50, on_cpu=True).workers == 1  # members too big for two in memory
    forced = choose_layout(8, 2, MiB, on_cpu=True, workers=4)
    assert (forced.workers, forced.threads, forced.why) == (4, 1, "--workers 4")


def test_worker_members_are_groklab_run_bit_for_bit(tmp_path, capsys):
    """Two worker processes of one thread each; every member's history equals the reference loop's at one
    thread (what `OMP_NUM_THREADS=1 groklab run` trains), every float equal, and env.json says 1 thread."""
    path = run_sweep(None, [*tiny_items(), "seed=0,1"], out=tmp_path, workers=2, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("sweep: 2 members on 2 worker processes x 1 torch thread(s)")
    record = json.loads((path / "sweep.json").read_text())
    assert {line.split()[1] for line in err.splitlines()[1:] if line.endswith("/2)")} == \
        {m["run"] for m in record["members"]}  # the workers are quiet; this process names each finished member
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for m in record["members"]:
            run = tmp_path / m["run"]
            assert json.loads((run / "env.json").read_text())["threads"] == 1
            sink = MemorySink()
            train(RunConfig.from_dict(json.loads((run / "config.json").read_text())), sink)
            got = [{k: v for k, v in r.items() if k != "time"} for r in read_jsonl(run / "metrics.jsonl").rows]
            assert got == [{k: v for k, v in r.items() if k != "time"} for r in sink.rows]
    finally:
        torch.set_num_threads(threads)
