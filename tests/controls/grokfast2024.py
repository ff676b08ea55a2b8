"""grokfast2024 (EMA) and grokfast2024_ma: the speed-up as a ratio of measured steps to val acc 0.95, with a
baseline that completes, fits and reaches the level."""

from controls.build import Control, acc_rows, jump, steps


def pair(fast_at, slow_at, slow_fit=300, slow_total=12_000, slow_status="completed"):
    def build(w):
        fast = w.run("filter", acc_rows(steps(2600, 20), jump(900, 0.3), jump(fast_at, 0.02)))
        slow = w.run("no_filter", acc_rows(steps(slow_total, 100), jump(slow_fit, 0.3), jump(slow_at, 0.02)),
                     status=slow_status)
        return {"filter": fast, "no_filter": slow}, None
    return build


def cases(fast):
    return [
        Control(f"filter at {fast:,}, baseline at 10,000", "reproduced", pair(fast, 10_000)),
        Control("a baseline that never reaches the level: no ratio, the speed-up not asserted (as at CI)", "partial",
                pair(fast, None, slow_total=3000)),
        Control("the filter never reaches the level either", "not reproduced", pair(None, None, slow_total=3000)),
        Control("a baseline that never fits training", "not reproduced", pair(fast, 10_000, slow_fit=None)),
        Control("a tie", "not reproduced", pair(fast, fast)),
        Control("roles swapped: the filter slower", "not reproduced", pair(2500, fast)),
        Control("a speed-up inside the margin", "not reproduced", pair(fast, int(fast * 1.1))),
        Control("the baseline failed", "not reproduced", pair(fast, 10_000, slow_status="failed")),
    ]


CONTROLS = {"grokfast2024": cases(1000), "grokfast2024_ma": cases(2250)}
