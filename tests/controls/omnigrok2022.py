"""omnigrok2022: α 8 against α 1 (the delay, the verdicts, the falling weight norm) and the fixed-norm arms."""

from controls.build import Control, acc_rows, jump, ramp, steps

AT = steps(11_000, 250)


def alpha8(val, norm=lambda s: 84 - 5e-3 * s):
    return acc_rows(AT, jump(1750, 0.5), val, params__norm=norm, params__last_layer_norm=norm)


def alpha1(val_at=20):
    return acc_rows(steps(1000, 50), jump(20, 0.5), jump(val_at, 0.1, 0.9))


def fixed(w, small_val_at=200, large_val=0.2):
    small = w.run("norm_small", acc_rows(steps(2000, 100), jump(200, 0.5), jump(small_val_at, 0.1, 0.9),
                                         params__norm=11.71))
    large = w.run("norm_large", acc_rows(steps(2000, 100), jump(200, 0.5), jump(None, large_val),
                                         params__norm=93.66))
    return small, large


def case(val8, val1_at=20, norm=lambda s: 84 - 5e-3 * s, fixed_norm=True, **fixed_kw):
    def build(w):
        runs = {"alpha8": w.run("alpha8", alpha8(val8, norm)), "alpha1": w.run("alpha1", alpha1(val1_at))}
        if fixed_norm:
            runs["norm_small"], runs["norm_large"] = fixed(w, **fixed_kw)
        return runs, None
    return build


RISE = ramp(3000, 10_500, 0.25, 0.87)  # ~0.25 at the fit, 0.8 at ~9,700 (5.5x)
CONTROLS = {
    "omnigrok2022": [
        Control("α 8: fit at 1,750 with test 0.25, test 0.8 at ~9,700; α 1 at once; fixed norms as §3", "reproduced",
                case(RISE)),
        Control("the delay as measured, the fixed-norm arms not run: not asserted", "partial",
                case(RISE, fixed_norm=False)),
        Control("roles swapped: α 8 learns at once, α 1 is delayed", "not reproduced",
                case(jump(1750, 0.1, 0.87), val1_at=800)),
        Control("α 8's test tracks train", "not reproduced", case(jump(1800, 0.1, 0.87))),
        Control("α 8's test never rises", "not reproduced", case(jump(None, 0.25))),
        Control("α 8's test already 0.6 at the fit", "not reproduced", case(ramp(0, 9000, 0.6, 0.87))),
        Control("the weight norm grows during the rise", "not reproduced", case(RISE, norm=lambda s: 40 + 5e-3 * s)),
        Control("held at α 8's norm it generalises too", "not reproduced", case(RISE, large_val=0.8)),
    ],
}
