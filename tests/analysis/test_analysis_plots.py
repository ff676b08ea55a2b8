"""Figures: real PNG files from the CLI, step 0 on the log axis, legends from differing config keys."""

from __future__ import annotations

import struct
from pathlib import Path

from groklab.analysis.compare import differing_keys, run_labels, seed_groups, short_keys, spread
from groklab.analysis.detect import detect
from groklab.analysis.plots import comparison_figure, curves_figure, detail_figure, save_figure
from groklab.cli import main
from groklab.runs import load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk: the file is a real PNG, not just a non-empty file."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_cli_plot_one_run_writes_curves_and_detail(tmp_path, synth, capsys):
    hist = synth.history(synth.smooth_curve(800), synth.smooth_curve(9000), noise=0.02, spikes=[15000])
    run = synth.write_run(tmp_path, "grok", hist)
    assert main(["plot", str(run)]) == 0
    assert capsys.readouterr().out.split() == [str(run / "curves.png"), str(run / "detail.png")]
    w, h = png_size(run / "curves.png")
    assert w > 1000 and h > 400
    w6, h6 = png_size(run / "detail.png")
    assert w6 > 1500 and h6 > 1000


def test_cli_plot_several_runs_writes_a_comparison(tmp_path, synth):
    runs = []
    for wd, t_gen in ((0.1, None), (0.3, 15000), (1.0, 4000)):
        hist = synth.history(synth.smooth_curve(800), synth.smooth_curve(t_gen))
        runs.append(str(synth.write_run(tmp_path, f"wd{wd}", hist, synth.run_config(f"wd{wd}", wd, 0))))
    out = tmp_path / "cmp.png"
    assert main(["plot", *runs, "--out", str(out)]) == 0
    assert png_size(out)[0] > 1500


def test_figures_in_memory_step_zero_and_regression(tmp_path, synth):
    hist = synth.history(synth.step_curve(200), synth.step_curve(5000), acc=False)
    det = detect(hist)
    fig = curves_figure(hist, det, "regression")
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0  # step 0 is on the axis, not dropped
    assert [line.get_label() for line in ax.lines][:2] == ["train loss", "val loss"]
    assert "grokking" in fig.get_suptitle()
    no_zero = {k: v[1:] for k, v in hist.items()}
    assert curves_figure(no_zero, detect(no_zero)).axes[0].get_xscale() == "log"
    assert len(detail_figure(hist, det).axes) >= 6
    save_figure(detail_figure(hist, det, r"lr=$\frac{1}{$"), tmp_path / "detail.svg")  # no mathtext error
    assert (tmp_path / "detail.svg").read_text().lstrip().startswith("<?xml")


def test_comparison_legend_uses_differing_config_keys(tmp_path, synth):
    runs = []
    for i, wd in enumerate((1.0, 0.1, 0.3)):
        hist = synth.history(synth.step_curve(500), synth.step_curve(5000))
        runs.append(load_run(synth.write_run(tmp_path, f"r{i}", hist, synth.run_config(f"n{i}", wd, i))))
    fig = comparison_figure(runs)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["weight_decay=0.1, seed=1", "weight_decay=0.3, seed=2", "weight_decay=1, seed=0"]


def test_config_comparison_helpers(synth):
    a, b = synth.run_config("a", 1.0, 0), synth.run_config("b", 1.0, 1)
    c = synth.run_config("c", 0.1, 0)
    c["task"]["split_seed"] = 3
    assert differing_keys([a, b, c]) == ["optim.weight_decay", "seed", "task.split_seed"]
    assert short_keys(["task.name", "model.name", "optim.lr"]) == {
        "task.name": "task.name", "model.name": "model.name", "optim.lr": "lr"}
    assert run_labels([a, a], ["x", "y"]) == ["x", "y"]
    assert seed_groups([a, b, c]) == [[0, 1], [2]]
    assert spread([300, None, 100, 200]) == {"n": 3, "of": 4, "median": 200, "min": 100, "max": 300}


def test_a_loss_within_one_decade_still_has_labelled_y_ticks_and_an_empty_history_warns_nothing():
    """Issue 11: log-scale panels of a loss between 1.5 and 2.6 had no tick labels; an empty history leaked a
    matplotlib 'no artists with labels' warning to the console."""
    import warnings

    from groklab.analysis.plots import curves_figure

    narrow = {"step": list(range(0, 200, 10)), "train/loss": [2.5 - 0.05 * i for i in range(20)],
              "val/loss": [2.6 - 0.04 * i for i in range(20)]}
    fig = curves_figure(narrow, None, "narrow")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in [*ax.get_yticklabels(), *ax.get_yticklabels(minor=True)]]
    assert any(label.strip() for label in labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curves_figure({"step": []}, None, "empty").canvas.draw()
