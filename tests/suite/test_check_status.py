"""The status model of a claim check (groklab.presets.base): reproduced / partial / not reproduced, the paper's
headline figures beside ours, and a check that raises is `failed to run`, never a traceback."""

from controls.build import Writer, jump, rows

from groklab.presets import get
from groklab.presets.base import Headline, conclude, judge
from groklab.suite.page import row_of
from groklab.suite.runner import Entry


def test_status_follows_conditions_and_what_is_not_asserted():
    ok = conclude("c", [(True, "a holds")], {})
    assert ok.passed and ok.status == "reproduced"
    part = conclude("c", [(True, "a holds")], {}, not_asserted=["the 1e6-step rise: not reached in 2k steps"])
    assert part.passed and part.status == "partial"
    bad = conclude("c", [(False, "a fails")], {}, not_asserted=["x"])
    assert not bad.passed and bad.status == "not reproduced"
    assert conclude("c", [], {}).status == "not reproduced"  # nothing asserted is nothing shown


def test_headline_puts_the_paper_beside_ours():
    h = Headline("speed-up", 43.8, 3.21, "x", "CI: 1 layer")
    assert h.text() == "speed-up: paper 43.8x / measured 3.21x (CI: 1 layer)"
    assert Headline("grokking step", 39_890, None).text() == "grokking step: paper 39,890 / measured never"
    assert h.to_dict()["paper"] == 43.8
    check = conclude("c", [(True, "a")], {}, headline=[h])
    assert check.headline == (h,)


def test_judge_says_what_each_status_rests_on():
    assert judge(lambda runs, study=None: conclude("c", [(True, "a holds")], {}), {}).status == "reproduced"
    part = judge(lambda runs, study=None: conclude("c", [(True, "a")], {}, not_asserted=["b: why"]), {})
    assert part.status == "partial" and part.reason == "not asserted at this scale: b: why"
    bad = judge(lambda runs, study=None: conclude("c", [(False, "a is 0.3")], {}), {})
    assert bad.status == "not reproduced" and bad.reason == "failed: a is 0.3"


def test_a_check_that_raises_fails_to_run_in_one_line():
    def broken(runs, study=None):
        return runs["run"].history["val/acc"][0] + 1  # a missing column

    outcome = judge(broken, {"run": type("R", (), {"history": {}})()})
    assert outcome.status == "failed to run" and outcome.check is None
    assert outcome.reason == "the check raised KeyError: 'val/acc'" and "\n" not in outcome.reason


def test_the_page_row_reads_the_arm_the_claim_is_about(tmp_path):
    """levi2023's claim is λ 0.9's grokking: its row's steps, metrics and verdict come from `Preset.main`
    (lam09_wd0), not from the first arm (λ 0.5, which generalises at once)."""
    preset, w = get("levi2023"), Writer(tmp_path / "runs", "levi2023")
    runs = {"lam05_wd0": w.run("lam05_wd0", rows(range(0, 501, 5), train__acc=jump(100, 0.0),
                                                   val__acc=jump(100, 0.0), val__loss=0.5)),
            "lam09_wd0": w.run("lam09_wd0", rows(range(0, 3201, 5), train__acc=jump(155, 0.0),
                                                   val__acc=jump(2710, 0.0), val__loss=0.5))}
    entry = Entry(preset, configs=preset.configs("ci"), runs=runs)
    row = row_of(entry, "ci", tmp_path)
    assert preset.main == "lam09_wd0" and next(iter(entry.configs)) != preset.main
    assert (row["arm"], row["steps"], row["verdict"]) == ("lam09_wd0", 3200, "grokking"), row


def test_the_page_row_of_a_study_reads_its_main_run(tmp_path):
    """minegishi2023's runs are the tickets study's (`<arm>_s<seed>`), not its declared arm (`dense`): the row reads
    `Preset.main`, the first ticket."""
    preset, w = get("minegishi2023"), Writer(tmp_path / "runs", "minegishi2023")
    runs = {name: w.run(name, rows(range(0, 3001, 50), train__acc=jump(100, 0.0), val__acc=jump(at, 0.0),
                                   val__loss=0.5), base="dense")
            for name, at in (("dense_s0", 2450), ("ticket_s0", 900))}
    row = row_of(Entry(preset, configs=preset.configs("ci"), runs=runs), "ci", tmp_path)
    assert (row["arm"], row["steps"]) == ("ticket_s0", 3000) and "ticket_s0" not in preset.configs("ci"), row
