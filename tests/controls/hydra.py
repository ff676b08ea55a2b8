"""hydra_gpt2 (each model fits x+y mod 31 and generalises; no published figure) and variable_binding."""

from controls.build import Control, acc_rows, jump, steps

MODELS = ("gpt2", "resformer", "svformer", "meta", "bitlinear")
AT = steps(1000, 50)


def models(val_at, only=MODELS):
    return lambda w: ({m: w.run(m, acc_rows(AT, jump(250, 0.1), jump(val_at.get(m, 600), 0.05)))
                       for m in only}, None)


def binding(val):
    return lambda w: ({"run": w.run("run", acc_rows(steps(600, 50), jump(100, 0.3), val))}, None)


CONTROLS = {
    "hydra_gpt2": [
        Control("every model fits by 250 and reaches val 0.99 by 600", "reproduced", models({})),
        Control("BitLinear never generalises", "not reproduced", models({"bitlinear": None})),
        Control("no model generalises", "not reproduced", models(dict.fromkeys(MODELS))),
        Control("only GPT-2 run, and it generalises: the others not asserted", "partial", models({}, ("gpt2",))),
    ],
    "variable_binding": [
        Control("val acc 0.99 from step 300", "reproduced", binding(jump(300, 0.3, 0.99))),
        Control("val acc at chance", "not reproduced", binding(jump(None, 0.3))),
        Control("val acc reaches 0.96 then falls to 0.6", "not reproduced",
                binding(lambda s: 0.96 if 300 <= s < 500 else 0.6)),
    ],
}
