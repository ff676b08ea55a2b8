"""minegishi2023: the runs of a three-seed tickets study (`<arm>_s<seed>`, groklab.studies.tickets): the dense net
and the four retraining arms (8,000 steps, wd 1), each with the step at which its val acc jumps to 1 (None:
never)."""

from controls.build import Control, acc_rows, jump, steps

DENSE = [6000, 6200, 5800]
TICKET = [2500, 2700, 2600]
GOOD = {"dense": DENSE, "ticket": TICKET, "random_mask": [None] * 3, "dense_retrain": DENSE,
        "norm_matched": [None, 7900, None]}


def study(val95: dict, retrain: int = 8000, pairs: str = "unordered", seeds: int = 3):
    def build(w):
        runs = {}
        for arm, at in val95.items():
            for seed, step in enumerate(at[:seeds]):
                mask = f"/study/s{seed}/mask_{'magnitude' if arm == 'ticket' else 'random'}.pt"
                over = {"task.pairs": pairs, "seed": seed}
                if arm != "dense":
                    over |= {"optim.weight_decay": 1.0, "train.steps": retrain,
                             "train.mask_from": mask if arm in ("ticket", "random_mask") else ""}
                total = 8000 if arm == "dense" else retrain
                runs[f"{arm}_s{seed}"] = w.run(f"{arm}_s{seed}", acc_rows(steps(total, 100), jump(200, 0.5),
                                                                           jump(step, 0.01)),
                                               base="dense", overrides=over)
        return runs, {"seeds": list(range(seeds))}
    return build


CONTROLS = {
    "minegishi2023": [
        Control("ticket 2,500-2,700 in every seed; dense 5,800-6,200; the other controls later or never",
                "reproduced", study(GOOD)),
        Control("the ticket inside the margin of dense (5,000)", "not reproduced",
                study(GOOD | {"ticket": [5000, 5000, 5000]})),
        Control("one seed's ticket as slow as dense (seed spread)", "not reproduced",
                study(GOOD | {"ticket": [2500, 2700, 6100]})),
        Control("roles swapped: the random mask as fast as the ticket", "not reproduced",
                study(GOOD | {"random_mask": [2400, 2600, 2500]})),
        Control("the norm-matched dense net as fast as the ticket", "not reproduced",
                study(GOOD | {"norm_matched": [3000, 3100, 2900]})),
        Control("ordered pairs (validation pairs mirrored in training)", "not reproduced", study(GOOD, pairs="all")),
        Control("retraining shorter than the dense net needs", "not reproduced", study(GOOD, retrain=4000)),
        Control("one seed only", "not reproduced", study(GOOD, seeds=1)),
    ],
}
