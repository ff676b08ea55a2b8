"""PLACEHOLDERS for the four presets whose mechanisms issue 23 (helper B) makes faithful: thilak2022, humayun2024,
prieto2025, minegishi2023. Simple cases for their *current* checks (which say `partial`, naming what they do not
assert), marked `placeholder=True`: once a preset's own module (tests/controls/<preset>.py) gives cases, these are
dropped for it (test_controls.all_controls); delete them here when all four have their own."""

from controls.build import Control, acc_rows, jump, rows, steps


def slingshot(spike_at: int | None, norm_grows: bool = True):
    """thilak2022: every step logged; loss ~1e-7, a spike to 17 at `spike_at`; the last-layer norm flat, growing
    16.8 -> 22 over the 300 steps into the spike and jumping to 24.4 with it (or flat throughout), flat after."""
    def norm(s):
        if not norm_grows or spike_at is None or s <= spike_at - 300:
            return 16.8
        return 24.4 if s >= spike_at else 16.8 + 5.2 * (s - spike_at + 300) / 300

    def loss(s):
        return 17.0 / (1 + 10 * (s - spike_at)) if spike_at is not None and spike_at <= s < spike_at + 5 else 1e-7

    table = rows(range(2001), train__loss=loss, params__last_layer_norm=norm)
    return lambda w: ({"run": w.run("run", table)}, None)


def humayun(adv_rise: int | None):
    at = steps(11_000, 1000)
    lc = {0: 20.0, 50: 23.7, 1000: 34.1, 2000: 30.0, 3000: 25.0}
    table = acc_rows(at, jump(50, 0.5), lambda s: 0.1 if s < 50 else 0.89,
                     adv__acc=jump(adv_rise, 0.05, 0.24), lc__train=lambda s: lc.get(s, max(11.0, 25 - s / 1000)))
    return lambda w: ({"run": w.run("run", table)}, None)


def prieto(ortho_best: float, plain_val: float, collapse: float):
    def build(w):
        ortho = w.run("orthograd", acc_rows(steps(300, 10), jump(150, 0.5), jump(210, 0.02, ortho_best)))
        plain = w.run("plain", acc_rows(steps(1800, 100), jump(300, 0.5), jump(None, plain_val),
                                        train__softmax_collapse=lambda s: min(collapse, s / 2000)))
        return {"orthograd": ortho, "plain": plain}, None
    return build


def tickets(val95: dict[str, int | None]):
    def build(w):
        runs = {}
        for arm, at in val95.items():
            mask = f"/study/mask_{'magnitude' if arm == 'ticket' else 'random'}.pt"
            over = {} if arm == "dense" else {"optim.weight_decay": 0.0, "train.steps": 400, "train.mask_from": mask}
            runs[arm] = w.run(arm, acc_rows(steps(2000 if arm == "dense" else 400, 50), jump(100, 0.5),
                                            jump(at, 0.02)), base="dense", overrides=over)
        return runs, None
    return build


SPEEDS = {"dense": 1150, "ticket": 100, "random_mask": None, "dense_retrain": None, "norm_matched": None}
CONTROLS = {
    "thilak2022": [
        Control("a spike from 1e-7 with the last-layer norm jumping into it", "partial", slingshot(1700), True),
        Control("no spike", "not reproduced", slingshot(None), True),
        Control("a spike with the norm flat", "not reproduced", slingshot(1700, norm_grows=False), True),
    ],
    "humayun2024": [
        Control("fit at 50, stable test acc, PGD accuracy rising after 9k", "partial", humayun(10_000), True),
        Control("PGD accuracy never rising", "not reproduced", humayun(None), True),
        Control("PGD accuracy rising at once (no delay)", "not reproduced", humayun(1000), True),
    ],
    "prieto2025": [
        Control("⊥AdamW 0.99, plain AdamW at chance with collapse", "partial", prieto(0.99, 0.0, 0.64), True),
        Control("plain AdamW generalises too", "not reproduced", prieto(0.99, 0.9, 0.64), True),
        Control("⊥AdamW never generalises", "not reproduced", prieto(0.3, 0.0, 0.64), True),
    ],
    "minegishi2023": [
        Control("the ticket at 100, dense at 1,150, controls never", "partial", tickets(SPEEDS), True),
        Control("the ticket no faster than dense", "not reproduced", tickets(SPEEDS | {"ticket": 1200}), True),
        Control("roles swapped: the random mask fastest", "not reproduced", tickets(SPEEDS | {"random_mask": 50}),
                True),
    ],
}
