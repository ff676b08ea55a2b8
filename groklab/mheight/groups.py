"""The CSCE 636 course groups (mheight.md §4.1) and the ``--groups`` spec parser.

21 triples: n in {9, 10}, k in {4, 5, 6}, m = 2 .. n-k (m = n-k is the hard, heavy-tailed case; larger m
gives h = inf for every code because d <= n-k+1, §0).
"""

from __future__ import annotations

from groklab.errors import GroklabError
from groklab.mheight.height import check_nkm

Group = tuple[int, int, int]

COURSE_GROUPS: tuple[Group, ...] = tuple(
    (n, k, m) for n in (9, 10) for k in (4, 5, 6) for m in range(2, n - k + 1)
)
NAMED_SPECS: dict[str, tuple[Group, ...]] = {
    "all": COURSE_GROUPS,
    "n9": tuple(g for g in COURSE_GROUPS if g[0] == 9),
    "n10": tuple(g for g in COURSE_GROUPS if g[0] == 10),
    "hard": tuple(g for g in COURSE_GROUPS if g[2] == g[0] - g[1]),
}


def below_mds(group: Group | list[int]) -> bool:
    """m < n-k: a group whose height the features do not hand over. For m = n-k the height is the largest Cramer
    ratio (mheight.md §2.3), one of the `mheight` recipe's inputs, so those six course groups score ~0.01 by
    passing it through; the other 15 are where a model learns something, and the honest headline."""
    n, k, m = group
    return m < n - k


def group_key(group: Group) -> str:
    """'n,k,m', the key used in sidecars and metrics."""
    return ",".join(str(x) for x in group)


def parse_groups(spec: str) -> tuple[Group, ...]:
    """'all' | 'n9' | 'n10' | 'hard' | 'n,k,m;n,k,m;...' -> validated, duplicate-free triples."""
    text = spec.strip()
    if text.lower() in NAMED_SPECS:
        return NAMED_SPECS[text.lower()]
    groups: list[Group] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        fields = [f.strip() for f in part.split(",")]
        if len(fields) != 3 or not all(f.lstrip("-").isdigit() for f in fields):
            raise GroklabError(f"unknown group spec {part!r}: use {', '.join(NAMED_SPECS)} or 'n,k,m;n,k,m'")
        n, k, m = (int(f) for f in fields)
        check_nkm(n, k, m)
        if (n, k, m) in groups:
            raise GroklabError(f"group {part!r} is listed twice")
        groups.append((n, k, m))
    if not groups:
        raise GroklabError(f"empty group spec {spec!r}: use {', '.join(NAMED_SPECS)} or 'n,k,m;n,k,m'")
    return tuple(groups)
