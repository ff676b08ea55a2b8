"""prieto2025: the four CI arms (⊥AdamW 400 steps and AdamW 1,800 at p 47, 40%; the float32 / float64 collapse pair
at p 31, 80%, 4,500 steps) and, for the full claim, a StableMax arm and the collapse pair at Fig. 2's lr 5e-4.
Measured shapes: ⊥AdamW train acc 0.99 at step 90, val acc 0.95 at 260; float32 SC 0.44 at 1,400 and >= 0.9 from
3,800 with val acc <= 0.03 and loss 3e-9; float64 SC 0 with loss 3e-13 there."""

from controls.build import Control, acc_rows, jump, ramp, rows, steps

FIG2 = {"optim.lr": 5e-4}


def collapse_rows(sc_top: float = 0.99, val=None, sc64: float = 0.0, loss: float = 3e-9):
    """The collapse pair's rows: fit at 30, SC rising to `sc_top` over 1,400-3,800 (float64 SC `sc64`), loss."""
    return rows(steps(4500, 100), train__acc=jump(30, 0.05), val__acc=val or jump(None, 0.02),
                train__softmax_collapse=ramp(1400, 3800, 0.0, sc_top), train__softmax_collapse64=sc64,
                train__loss=lambda s: 1e-4 if s < 1000 else loss)


def case(ortho_fit=90, ortho_val=260, plain_val=None, sc_top=0.99, f32_val=None, sc64=0.0, loss64=3e-13, stablemax=None,
         lr=None):
    """Every arm's history; `stablemax`: (fit, val 0.95) steps of a StableMax arm (None: no such arm); `lr`: the
    collapse pair's learning rate (None: the CI arm's)."""
    def build(w):
        over = FIG2 if lr else {}
        runs = {
            "orthograd": w.run("orthograd", acc_rows(steps(400, 10), jump(ortho_fit, 0.5), jump(ortho_val, 0.01))),
            "plain": w.run("plain", acc_rows(steps(1800, 100), jump(90, 0.5), jump(plain_val, 0.01))),
            "float32": w.run("float32", collapse_rows(sc_top, f32_val), overrides=over),
            "float64": w.run("float64", collapse_rows(0.99, None, sc64, loss64), overrides=over)}
        if stablemax:
            fit, gen = stablemax
            runs["stablemax"] = w.run("stablemax", acc_rows(steps(20_000, 500), jump(fit, 0.3), jump(gen, 0.02)),
                                      base="float64", overrides={"train.loss": "stablemax", "train.steps": 20_000})
        return runs, None
    return build


CONTROLS = {
    "prieto2025": [
        Control("CI: ⊥AdamW 2.9x, AdamW never, float32 SC 0.99 while val stalls, float64 no SC", "partial", case()),
        Control("with StableMax grokking (fit 500, val 0.95 at 10,000) and the pair at Fig. 2's lr", "reproduced",
                case(stablemax=(500, 10_000), lr=5e-4)),
        Control("⊥AdamW delayed too (fit at 40, val acc 0.95 at 260: 6.5x)", "not reproduced", case(ortho_fit=40)),
        Control("⊥AdamW never generalising in its 400 steps", "not reproduced", case(ortho_val=None)),
        Control("AdamW without ⊥Grad generalises as soon (val 0.95 at 800)", "not reproduced", case(plain_val=800)),
        Control("float32 never collapses (SC at most 0.6)", "not reproduced", case(sc_top=0.6)),
        Control("float32 val acc rising before the collapse", "not reproduced", case(f32_val=jump(2000, 0.02))),
        Control("float64 collapses too (SC 0.99 at the float32 collapse)", "not reproduced", case(sc64=0.99)),
        Control("float64's loss no lower than float32's", "not reproduced", case(loss64=3e-9)),
        Control("StableMax generalising with the fit (no delay)", "not reproduced",
                case(stablemax=(500, 500), lr=5e-4)),
        Control("StableMax never generalising", "not reproduced", case(stablemax=(500, None), lr=5e-4)),
    ],
}
