"""wang2024_comparison at CI scale (|E| 500, 20 values: chance 0.475; OOD must hold chance + 0.25 = 0.725; the
composition arm on |E| 50: chance 0.02): OOD comparison well above chance where composition stays at chance at the
same recipe, phi's order; the delay and OOD >= 0.9 are left out at this scale (`partial`). The paper-size cases
(`reproduced`) are in tests/knowledge_graph/test_wang2024_comparison_check.py."""

from controls.build import Control
from controls.wang2024_composition import arm

SHORTCUT = arm(500, 2000, ood=0.88, iid_low=0.88)  # as measured: ID queries generalise with the fit, OOD 0.88
SLOWER = arm(750, None, iid_low=0.5)
COMPOSITION = arm(500, 3000, ood=0.03, iid_low=0.1)


def case(high=SHORTCUT, low=SLOWER, composition=COMPOSITION):
    return lambda w: ({"phi_high": w.run("phi_high", high), "phi_low": w.run("phi_low", low),
                       "composition": w.run("composition", composition)}, None)


CONTROLS = {
    "wang2024_comparison": [
        Control("as measured: OOD comparison 0.88, OOD composition 0.03, phi 3.6 never at 0.9", "partial", case()),
        Control("OOD comparison only a little above chance (0.6)", "not reproduced",
                case(high=arm(500, 2000, ood=0.6, iid_low=0.88))),
        Control("composition generalises OOD as much: no contrast", "not reproduced",
                case(composition=arm(500, 3000, ood=0.88, iid_low=0.1))),
        Control("roles swapped: the low phi is the faster one", "not reproduced", case(high=SLOWER, low=SHORTCUT)),
        Control("nothing generalises: ID and OOD at chance", "not reproduced",
                case(high=arm(500, None, ood=0.48, iid_low=0.5))),
    ],
}
