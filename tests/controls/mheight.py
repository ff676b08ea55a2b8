"""mheight (regression: the recipe against the per-group mean and the ResNet on raw P) and mheight_grokking (the
detector's verdicts per weight decay, relative to the trivial baseline)."""

from controls.build import Control, rows, steps

GROUPS = ("9,4,2", "9,5,3", "10,4,4", "10,6,4")
# the per-group means: three groups with m < n-k near 0.45, the m = n-k group (10,6,4) far higher (mheight.md §4.4)
PER_GROUP = {"9,4,2": 0.45, "9,5,3": 0.45, "10,4,4": 0.46, "10,6,4": 4.04}
BASE = {"kind": "group mean", "groups": 4, "train/loss": 1.3, "val/loss": 1.35, "val/loss per group": PER_GROUP}


def recipe(w, scores, base=BASE, arm="recipe", raw_curve=None):
    final = {f"val/mse/{g}": v for g, v in zip(GROUPS, scores, strict=True)}
    final["val/course_mse"] = sum(scores) / len(scores)
    final["val/course_mse_m<n-k"] = sum(scores[:3]) / 3  # GROUPS' first three have m < n-k
    table = rows(steps(400, 50), train__loss=0.2, val__loss=final["val/course_mse"],
                 val__course_mse=raw_curve or final["val/course_mse"])
    return w.run(arm, table, summary={"final": final | {"step": 400}, "baseline": base, "kind": "regression"})


def pair(recipe_scores, raw_best):
    def build(w):
        raw = recipe(w, [raw_best] * 4, arm="raw", raw_curve=lambda s: raw_best + 1.0 / (1 + s))
        return {"recipe": recipe(w, recipe_scores), "raw": raw}, None
    return build


def loss_curve(drop_at, level):
    """Regression: val loss 20 until `drop_at`, then `level`; train loss 0.05 from step 1,000."""
    return rows(steps(10_000, 100), train__loss=lambda s: 20.0 if s < 1000 else 0.05,
                val__loss=lambda s: 20.0 if drop_at is None or s < drop_at else level)


def study(levels, drops, baseline=None):
    def build(w):
        summary = {"kind": "regression"} | ({"baseline": baseline} if baseline else {})
        return {arm: w.run(arm, loss_curve(drop, level), summary=summary)
                for arm, level, drop in zip(("wd0.01", "wd0.03", "wd0.1"), levels, drops, strict=True)}, None
    return build


MHEIGHT_BASE = {"kind": "group mean", "groups": 21, "train/loss": 1.33, "val/loss": 1.35}
CONTROLS = {
    "mheight": [
        Control("recipe 0.2 against the baseline 1.35, raw P stuck at 1.3: the 21-group score not asserted",
                "partial", pair([0.1, 0.2, 0.3, 0.2], 1.3)),
        Control("recipe at the per-group mean", "not reproduced", pair([1.3, 1.2, 1.4, 1.3], 1.3)),
        Control("roles swapped: raw P learns too", "not reproduced", pair([0.1, 0.2, 0.3, 0.2], 0.3)),
        Control("only the m = n-k group learnt (its height is an input): the others at their mean",
                "not reproduced", pair([0.45, 0.45, 0.46, 0.0], 1.3)),
    ],
    "mheight_grokking": [
        Control("late drops to 0.3 at wd 0.01 and 0.03 (no baseline known), none at 0.1", "reproduced",
                study((0.3, 0.3, 20.0), (6000, 7000, None))),
        Control("the users' artefact: the late drops stop at the per-group mean", "not reproduced",
                study((1.36, 1.36, 20.0), (6000, 7000, None), MHEIGHT_BASE)),
        Control("an immediate drop (no delay) at wd 0.01", "not reproduced",
                study((0.3, 0.3, 20.0), (1100, 7000, None))),
        Control("wd 0.1 groks too", "not reproduced", study((0.3, 0.3, 0.3), (6000, 7000, 6000))),
    ],
}
