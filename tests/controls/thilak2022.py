"""thilak2022: histories logged at every step, three seeds of the Adam arm and three of the larger-ε arm. A
Slingshot is the loss leaving ~1e-7 for 17 while the last-layer norm, flat before, grows 16.8 -> 24.4 over the 300
steps into the spike and stays there."""

from controls.build import Control, jump, rows

TOTAL = 3000
SEEDS = (0, 1, 2)


def history(spike_at: int | None, norm_grows: bool = True, val=None):
    """One run's rows: train acc 1 from step 15, the loss ~1e-7 (a spike at `spike_at`), the norm, val acc."""
    def norm(s):
        if not norm_grows or spike_at is None or s <= spike_at - 300:
            return 16.8
        return 24.4 if s >= spike_at else 16.8 + 7.6 * (s - spike_at + 300) / 300

    def loss(s):
        return 17.0 / (1 + 10 * (s - spike_at)) if spike_at is not None and spike_at <= s < spike_at + 5 else 1e-7

    return rows(range(TOTAL + 1), train__acc=jump(15, 0.05), val__acc=val or 0.0, train__loss=loss,
                params__last_layer_norm=norm)


def case(adam: dict, eps: dict):
    """Every seed of each arm with the same history (keyword arguments of `history`)."""
    def build(w):
        runs = {f"adam_s{s}": w.run(f"adam_s{s}", history(**adam)) for s in SEEDS}
        runs |= {f"eps_s{s}": w.run(f"eps_s{s}", history(**eps)) for s in SEEDS}
        return runs, None
    return build


SLING = {"spike_at": 1800}
QUIET = {"spike_at": None}
CONTROLS = {
    "thilak2022": [
        Control("Slingshots in every Adam seed, none with the larger ε, no run generalising in 3,000 steps",
                "partial", case(SLING, QUIET)),
        Control("val acc 0 -> 1 within the window after each Slingshot onset, none with the larger ε",
                "reproduced", case(SLING | {"val": jump(1850, 0.0)}, QUIET)),
        Control("no Slingshot with Adam", "not reproduced", case(QUIET, QUIET)),
        Control("a loss spike with the norm flat", "not reproduced", case(SLING | {"norm_grows": False}, QUIET)),
        Control("the larger ε slingshots too", "not reproduced", case(SLING, SLING)),
        Control("roles swapped: only the larger ε slingshots", "not reproduced", case(QUIET, SLING)),
        Control("val acc rising before any Slingshot", "not reproduced",
                case(SLING | {"val": jump(600, 0.0)}, QUIET)),
        Control("the larger ε generalises too", "not reproduced",
                case(SLING | {"val": jump(1850, 0.0)}, QUIET | {"val": jump(1850, 0.0)})),
    ],
}
