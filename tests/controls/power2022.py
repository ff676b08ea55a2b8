"""power2022 (the default run: x/y mod 97, chance 1/97) and power2022_fig1 (x/y mod 41 CI arm, chance 1/41)."""

from controls.build import Control, acc_rows, jump, ramp, steps

CHANCE = 1 / 97
AT = steps(6000, 100)


def one(train, val, status="completed", at=AT):
    return lambda w: ({"run": w.run("run", acc_rows(at, train, val), status=status)}, None)


CONTROLS = {
    "power2022": [
        Control("grokking: val near chance at the fit, 0.99 held 5.5x later", "reproduced",
                one(jump(1000, 0.3), jump(5500, 0.02))),
        Control("val tracking train", "not reproduced", one(jump(1000, 0.3), jump(1000, 0.02))),
        Control("val never rising", "not reproduced", one(jump(1000, 0.3), jump(None, 0.02))),
        Control("a slow gradual rise of val (0.5 at the fit)", "not reproduced",
                one(jump(1000, 0.3), ramp(0, 5400, 0.02))),
        Control("the measured default run: 3.4x, inside the rule's margin", "not reproduced",
                one(jump(1000, 0.3), jump(3400, 0.02))),
        Control("a delay but the run failed", "not reproduced",
                one(jump(1000, 0.3), jump(5500, 0.02), status="failed")),
        Control("train never fits", "not reproduced", one(jump(None, 0.3), jump(5500, 0.02))),
    ],
    "power2022_fig1": [
        Control("memorisation through 2k steps, val at chance: the late rise not asserted", "partial",
                one(jump(350, 0.1), jump(None, 1 / 41), at=steps(2000, 50))),
        Control("the full curve: train 0.99 at 350, val 0.99 at 1e5 (285x)", "reproduced",
                one(jump(350, 0.1), jump(100_000, 1 / 41), at=steps(2000, 50) + list(range(3000, 103_001, 1000)))),
        Control("val tracking train", "not reproduced", one(jump(350, 0.1), jump(350, 1 / 41), at=steps(2000, 50))),
        Control("val rising to 0.6 within the budget", "not reproduced",
                one(jump(350, 0.1), ramp(400, 1900, 1 / 41, 0.6), at=steps(2000, 50))),
        Control("val 0.99 only 20x later (the weight-decay delay, not Fig. 1's)", "not reproduced",
                one(jump(350, 0.1), jump(7000, 1 / 41), at=steps(8000, 100))),
        Control("a budget too short to say (3x the fit)", "not reproduced",
                one(jump(350, 0.1), jump(None, 1 / 41), at=steps(1000, 50))),
        Control("train fits only after 1e3 steps", "not reproduced",
                one(jump(1500, 0.1), jump(None, 1 / 41), at=steps(8000, 100))),
    ],
}
