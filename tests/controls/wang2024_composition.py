"""wang2024 (composition, CI |E| 50: chance 0.02): the delay on test_inferred_iid (`val`), the training facts fitted,
OOD at chance, and phi's order."""

from controls.build import Control, jump, rows, steps

AT = steps(5000, 250)


def arm(fit, iid, ood=0.02, iid_low=0.02):
    """Training facts 0.5 -> 1 at `fit`; test_inferred_iid `iid_low` until `iid` then 0.97; OOD constant."""
    def val(s):
        return 0.97 if iid is not None and s >= iid else iid_low

    facts = jump(fit, 0.5)
    return rows(AT, train__acc=facts, id_atomic__acc=facts, ood_atomic__acc=facts, train_inferred__acc=facts,
                val__acc=val, test_inferred_iid__acc=val, test_inferred_ood__acc=ood, train__loss=0.1, val__loss=1.0)


def case(high, low):
    return lambda w: ({"phi_high": w.run("phi_high", high), "phi_low": w.run("phi_low", low)}, None)


CONTROLS = {
    "wang2024": [
        Control("facts at 500 with iid at chance, iid 0.95 at 3,000 (6x), OOD at chance, phi 9 never",
                "reproduced", case(arm(500, 3000), arm(500, None))),
        Control("the measured CI run: iid 0.40 at the fit (1,750), 0.9 at 3,500 (2x)", "not reproduced",
                case(arm(1750, 3500, iid_low=0.4), arm(1500, None))),
        Control("iid tracking the facts", "not reproduced", case(arm(500, 750), arm(500, None))),
        Control("iid never rising", "not reproduced", case(arm(500, None), arm(500, None))),
        Control("OOD generalises too", "not reproduced", case(arm(500, 3000, ood=0.6), arm(500, None))),
        Control("roles swapped: phi 9 groks first", "not reproduced", case(arm(500, 3000), arm(500, 2500))),
        Control("a tie between the phis", "not reproduced", case(arm(500, 3000), arm(500, 3000))),
    ],
}
