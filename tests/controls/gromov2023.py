"""gromov2023 (p 97, chance 1/97) and doshi2024 (p 23, chance 1/23): the delay plus the rise of the neurons' IPR."""

from controls.build import Control, acc_rows, jump, ramp, steps


def run(at, train, val, ipr, status="completed"):
    return lambda w: ({"run": w.run("run", acc_rows(at, train, val, fourier__ipr=ipr), status=status)}, None)


G = steps(800, 50)
D = steps(1400, 50)
CONTROLS = {
    "gromov2023": [
        Control("fit at 13 with test at 0, test 0.99 at 300 (23x), IPR 0.04 -> 0.53", "reproduced",
                run(G, jump(13, 0.5), jump(300, 0.0), ramp(13, 800, 0.04, 0.53))),
        Control("test tracking train (50% data: no delay)", "not reproduced",
                run(G, jump(13, 0.5), jump(20, 0.0), ramp(13, 800, 0.04, 0.53))),
        Control("test never rising (memorisation)", "not reproduced",
                run(G, jump(13, 0.5), jump(None, 0.0), ramp(13, 800, 0.04, 0.1))),
        Control("a delay with random-like neurons (IPR flat)", "not reproduced",
                run(G, jump(13, 0.5), jump(300, 0.0), ramp(13, 800, 0.04, 0.06))),
        Control("test acc 0.6 at the fit, 0.99 late", "not reproduced",
                run(G, jump(13, 0.5), lambda s: 0.6 if s < 300 else 1.0, ramp(13, 800, 0.04, 0.53))),
    ],
    "doshi2024": [
        Control("fit at 100 with test 0.02, test 0.95 at 1,200 (12x), IPR 0.16 -> 0.43", "reproduced",
                run(D, jump(100, 0.5), ramp(250, 1250, 0.02, 0.96), ramp(100, 1400, 0.16, 0.43))),
        Control("test tracking train (15% data)", "not reproduced",
                run(D, jump(100, 0.5), ramp(50, 200, 0.02, 0.97), ramp(100, 1400, 0.16, 0.43))),
        Control("test never rising (wd 0)", "not reproduced",
                run(D, jump(38, 0.5), jump(None, 0.02), ramp(38, 1400, 0.16, 0.18))),
        Control("IPR at a random row's level", "not reproduced",
                run(D, jump(100, 0.5), ramp(250, 1250, 0.02, 0.96), ramp(100, 1400, 0.16, 0.2))),
        Control("the run diverged", "not reproduced",
                run(D, jump(100, 0.5), ramp(250, 1250, 0.02, 0.96), ramp(100, 1400, 0.16, 0.43), "diverged")),
    ],
}
