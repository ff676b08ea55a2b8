"""humayun2024: the CI arm (float64, 4,000 steps: windows T/4 = 1,000, T/10 = 400) and, for the late phase, the
same run at a paper budget (100,000 steps). Measured CI shape (float64, seed 0): train acc 0.99 at step 49, test acc
0.90, PGD accuracy 0.04-0.05, local complexity around training points 24.9 at the fit, 34.2 at step 500, 24.7 at
the end; the weight norm 18 -> 20 (then 22 at step 3,000)."""

from controls.build import Control, acc_rows, jump, steps

CI_AT = steps(4000, 500)
PAPER_AT = sorted(set(steps(100_000, 5000)) | {100, 200, 300, 500, 700, 1000, 1500, 2000, 3000})  # log-spaced early
PAPER = {"train.steps": 100_000}


def lc_curve(rises: bool = True, falls_at: int | None = None, low: float = 12.0):
    """24.9 at the fit (step 50), 34.2 at 500 (or flat), ~25 after; from `falls_at` on, `low`."""
    def lc(s):
        if falls_at is not None and s >= falls_at:
            return low
        if s < 50:
            return 30.0
        return 24.9 if s < 500 or not rises else 34.2 if s < 1500 else 25.0
    return lc


def history(at, adv=None, norm=None, lc=None, val=None, fit=50):
    return acc_rows(at, jump(fit, 0.5), val or (lambda s: 0.3 if s < fit else 0.90), adv__acc=adv or 0.045,
                    lc__train=lc or lc_curve(), lc__test=lambda s: (lc or lc_curve())(s) * 0.95, lc__random=20.0,
                    params__norm=norm or (lambda s: 18.0 + min(s, 3000) / 1500))


def case(at=CI_AT, precision="float64", over=None, **kw):
    overrides = {"train.dtype": precision, "train.loss_dtype": precision} | (over or {})
    return lambda w: ({"run": w.run("run", history(at, **kw), overrides=overrides)}, None)


def paper(**kw):
    return case(PAPER_AT, over=PAPER, **kw)


ROBUST = jump(60_000, 0.045, 0.3)  # PGD accuracy rising late at the paper budget
SMOOTH_FALL = lc_curve(falls_at=50_000)
CONTROLS = {
    "humayun2024": [
        Control("CI: fit at 50, test acc settled, PGD flat, LC 24.9 -> 34.2 -> 25 (the late phase not reached)",
                "partial", case()),
        Control("CI: LC falling 0.3x the peak across a weight-norm jump (20 -> 36): not counted", "partial",
                case(lc=lc_curve(falls_at=3000), norm=jump(3000, 20.0, 36.0))),
        Control("LC not rising after the fit", "not reproduced", case(lc=lc_curve(rises=False))),
        Control("PGD accuracy 0.3 on the plateau (robust at once)", "not reproduced", case(adv=0.3)),
        Control("float32 (not the paper's precision)", "not reproduced", case(precision="float32")),
        Control("the fit only at step 1,500", "not reproduced", case(fit=1500)),
        Control("CI: PGD rising at 3,000 with a weight-norm jump (20 -> 36)", "not reproduced",
                case(adv=jump(3000, 0.045, 0.25), norm=jump(3000, 20.0, 36.0))),
        Control("paper budget: PGD rising at 60k after test acc settled, LC falling at 50k, the norm steady",
                "reproduced", paper(adv=ROBUST, lc=SMOOTH_FALL)),
        Control("paper budget: PGD never rising", "not reproduced", paper(lc=SMOOTH_FALL)),
        Control("paper budget: LC never falling", "not reproduced", paper(adv=ROBUST)),
        Control("paper budget: PGD rising with a weight-norm jump (20 -> 36)", "not reproduced",
                paper(adv=ROBUST, lc=SMOOTH_FALL, norm=jump(58_000, 20.0, 36.0))),
        Control("paper budget: PGD rising before test acc settles", "not reproduced",
                paper(adv=ROBUST, lc=SMOOTH_FALL, val=lambda s: 0.3 if s < 50 else 0.8 if s < 80_000 else 0.9)),
        Control("paper budget: LC falling only with a weight-norm jump", "not reproduced",
                paper(adv=ROBUST, lc=SMOOTH_FALL, norm=jump(50_000, 20.0, 36.0))),
    ],
}
