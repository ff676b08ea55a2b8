"""nanda2023 (CI: p 53, chance 1/53): the delay, the verdict, and the progress measures of the Fourier study."""

from controls.build import Control, acc_rows, jump, ramp, steps

AT = steps(1300, 50)


def fourier(circuit_first=True, keys=(4, 11, 14, 23, 26)):
    """Progress-measure rows: the excluded loss rises (circuit) at 500, the test loss halves at 800; or the other
    way round."""
    rise, fall = (500, 800) if circuit_first else (1000, 600)
    rows = [{"step": s, "fourier/excluded_loss_train": 0.01 if s < rise else 3.0,
             "fourier/test_loss": 8.0 if s < fall else 0.5, "fourier/restricted_loss_test": 8.0 if s < fall else 0.4,
             "fourier/train_loss": 0.001, "fourier/gini_W_E": 0.1 if s < 900 else 0.5,
             "fourier/gini_W_L": 0.1 if s < 900 else 0.6} for s in range(0, 1301, 100)]
    return {"record": {"key_frequencies": list(keys)}, "rows": rows}


def case(train, val, study):
    return lambda w: ({"run": w.run("run", acc_rows(AT, train, val))}, study)


CONTROLS = {
    "nanda2023": [
        Control("train 0.99 at 130 with test 0.05, test 0.99 at 900; circuit before the fall", "reproduced",
                case(jump(130, 0.4), jump(900, 0.05), fourier())),
        Control("test tracking train", "not reproduced", case(jump(130, 0.4), jump(200, 0.05), fourier())),
        Control("test never rising", "not reproduced", case(jump(130, 0.4), jump(None, 0.05), fourier())),
        Control("a gradual test rise (0.4 at the fit)", "not reproduced",
                case(jump(130, 0.4), ramp(0, 900, 0.05), fourier())),
        Control("the test loss falls before the circuit forms", "not reproduced",
                case(jump(130, 0.4), jump(900, 0.05), fourier(circuit_first=False))),
        Control("no key frequencies (a dense spectrum)", "not reproduced",
                case(jump(130, 0.4), jump(900, 0.05), fourier(keys=()))),
        Control("no progress measures", "not reproduced", case(jump(130, 0.4), jump(900, 0.05), None)),
    ],
}
