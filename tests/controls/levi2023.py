"""levi2023 (CI: lambda 0.9 is d_in 200 / N_tr 222): the delay at 95% accuracy, the smooth loss, the prediction."""

import math

from controls.build import Control, jump, ramp, rows

AT = range(0, 3201, 5)


def arm(name, val, predicted=2711, loss=lambda s: (1 + s / 300) ** -3, train_at=155):
    table = rows(AT, train__acc=jump(train_at, 0.0), val__acc=val, val__loss=loss, train__loss=1e-4)
    return lambda w: ({name: w.run(name, table, summary={"prediction": {"predicted_grokking_step": predicted}})},
                      None)


GROKS = ramp(2500, 2750, 0.0)
CONTROLS = {
    "levi2023": [
        Control("train 0.95 at 155, val 0.95 at ~2,710 as predicted (2,711), loss smooth", "reproduced",
                arm("lam09_wd0", GROKS)),
        Control("the prediction off by 30%", "not reproduced", arm("lam09_wd0", GROKS, predicted=3600)),
        Control("val tracking train", "not reproduced", arm("lam09_wd0", jump(160, 0.0), predicted=160)),
        Control("val never rising (predicted to)", "not reproduced", arm("lam09_wd0", jump(None, 0.0))),
        Control("the validation loss rises before it falls", "not reproduced",
                arm("lam09_wd0", GROKS, loss=lambda s: 1 + s / 100 if s < 1000 else math.exp(-s / 600))),
        Control("only lambda 0.5 (no grokking arm)", "not reproduced",
                lambda w: ({"lam05_wd0": w.run("lam05_wd0", rows(AT, train__acc=jump(100, 0.0),
                                                                   val__acc=jump(100, 0.0), val__loss=0.5),
                                               summary={"prediction": {"predicted_grokking_step": 97}})}, None)),
    ],
}
