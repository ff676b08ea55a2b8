"""liu2022_toy: RQI rising with test accuracy (arm `rqi`) and the phase corners of Fig. 6a (the detector's verdict
with Liu's gap as an extra condition); the grokking corner's shared delay is named when it does not hold."""

from controls.build import Control, acc_rows, jump, ramp, steps

CHANCE = 1 / 19


def corners(grok_val_at=15_100, grok_low=CHANCE, memo_val=None, rqi_end=1.0, comp_val=1350, only=None):
    def build(w):
        runs, _ = every(w)
        return {k: v for k, v in runs.items() if only is None or k in only}, None

    def every(w):
        rqi = w.run("rqi", acc_rows(steps(3000, 50), jump(1200, 0.3), jump(2450, 0.2),
                                    repr__rqi=ramp(0, 700, 0.3, rqi_end)))
        return {"rqi": rqi,
                "comprehension": w.run("comprehension", acc_rows(steps(2000, 50), jump(750, 0.3),
                                                                 jump(comp_val, CHANCE))),
                "grokking": w.run("grokking", acc_rows(steps(20_000, 50), jump(1300, 0.3),
                                                       jump(grok_val_at, grok_low))),
                "memorization": w.run("memorization", acc_rows(steps(3000, 50), jump(300, 0.3),
                                                               jump(memo_val, CHANCE)))}, None
    return build


CONTROLS = {
    "liu2022_toy": [
        Control("every corner in its phase, the grokking cell's test at chance at the fit", "reproduced", corners()),
        Control("as measured: the grokking cell's test 0.7 at the fit (7 of 10 pairs)", "partial",
                corners(grok_low=0.7)),
        Control("only the grokking corner run: RQI and the other corners not asserted", "partial",
                corners(only=("grokking",))),
        Control("the grokking cell's test following within 2x", "not reproduced", corners(grok_val_at=2600)),
        Control("roles swapped: the memorization cell generalises", "not reproduced", corners(memo_val=500)),
        Control("the comprehension cell delayed 10x", "not reproduced", corners(comp_val=7500)),
        Control("RQI never rising", "not reproduced", corners(rqi_end=0.3)),
    ],
}
