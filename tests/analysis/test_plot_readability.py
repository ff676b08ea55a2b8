"""Figures read well: the step axis fits the run's story, sweep colours show on white, panels say what they hold,
regression marks name the loss level."""

from matplotlib.colors import to_rgb

from groklab.analysis.detect import detect
from groklab.analysis.plots import comparison_figure, curves_figure, detail_figure
from groklab.runs import load_run


def test_a_rise_within_a_decade_gets_a_linear_axis_and_fig1_a_log_one(synth):
    # the default run's shape: train fitted near step 1,000, validation rising from 2k to 3.4k, stopped at 3.8k
    default = synth.history(synth.smooth_curve(600), synth.smooth_curve(2600), total=3800, every=100)
    det = detect(default)
    assert det["memorization_step"] is not None and 3800 / det["memorization_step"] < 30
    assert {ax.get_xscale() for ax in curves_figure(default, det).axes} == {"linear"}
    assert {ax.get_xscale() for ax in detail_figure(default, det).axes} == {"linear"}
    fig1 = synth.history(synth.step_curve(300), synth.step_curve(15000), total=20000)
    assert curves_figure(fig1, detect(fig1)).axes[0].get_xscale() in ("log", "symlog")


def test_sweep_colours_show_on_white_and_panels_have_titles(tmp_path, synth):
    runs = []
    for i, wd in enumerate((0.3, 1.0, 3.0)):
        hist = synth.history(synth.step_curve(500), synth.step_curve(5000))
        runs.append(load_run(synth.write_run(tmp_path, f"r{i}", hist, synth.run_config("wd", wd, 0))))
    fig = comparison_figure(runs)
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert all(ax.get_title() for ax in axes)
    for line in axes[0].get_lines():
        r, g, b = to_rgb(line.get_color())
        assert 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.7  # not viridis's last yellow (luminance 0.87)
    dashed = [line for line in axes[0].get_lines() if line.get_linestyle() == "--"]
    assert dashed and all(line.get_linewidth() >= 1.3 and line.get_alpha() >= 0.9 for line in dashed)


def test_regression_marks_name_the_loss_level(synth):
    hist = synth.history(synth.step_curve(200), synth.step_curve(5000), acc=False)
    det = detect(hist)
    labels = [line.get_label() for line in curves_figure(hist, det).axes[0].get_lines()]
    assert not any("memorized" in lb or "generalized" in lb for lb in labels)
    assert any(lb.startswith("train/loss <=") and lb.endswith("@ 200") for lb in labels)
