"""The `mheight` recipe learns P where the raw-P ResNet does not (issue 17 §2): a claim test at small scale, through
the preset's check on its CI arms (groklab/presets/mheight.py: `recipe` and `raw`), as `groklab suite` runs it."""

import pytest


@pytest.mark.slow
def test_recipe_beats_the_constant_baseline_where_raw_P_does_not(claim):
    """800 rows per group, 400 steps (about 40 s on one core): the preset's recipe (sorted minors and Cramer ratios,
    per-group heads) ends at ~0.19 of the per-group-mean baseline; the ResNet on raw P never gets below ~1.0 of it,
    as at 2,000 rows per group in benchmarks/RESULTS.md."""
    entry = claim("mheight")
    assert entry.check.status == "partial", entry.check.detail  # the published scores need all 21 groups
    assert entry.check.not_asserted[0].startswith("the scores against the published best")
    new, raw = entry.runs["recipe"], entry.runs["raw"]
    assert new.summary["baseline"]["kind"] == "group mean"
    assert new.config["model"]["name"] == "group_heads" and raw.config["model"]["name"] == "resnet_mlp"
    f = entry.check.figures
    assert 1.0 < f["baseline"] < 1.7  # three easy-to-medium groups and one m = n-k group (mheight.md §4.4)
    assert f["course_mse"] < 0.4 * f["baseline"] and f["raw_best"] > 0.9 * f["baseline"]
    # the honest part: on the three groups with m < n-k (measured 0.272 against their baseline 0.453)
    assert f["course_mse_m<n-k"] < 0.8 * f["baseline_m<n-k"]
    assert len(f["groups"]) == 4
