"""Groups: frequent co-occurring sets seeded by cliques of strong ties."""

from __future__ import annotations

from itertools import combinations

from graph.groups import find_groups
from graph.settings import GraphSettings


def groups_of(moments_of: dict[str, set[str]], settings: GraphSettings | None = None) -> list[tuple]:
    shared = {
        (p, q): len(moments_of[p] & moments_of[q])
        for p, q in combinations(sorted(moments_of), 2)
        if moments_of[p] & moments_of[q]
    }
    found = find_groups(shared, moments_of, settings or GraphSettings())
    return [(members, len(support)) for members, support in found]


def moments(*ids: int) -> set[str]:
    return {f"m{i}" for i in ids}


def test_a_family_and_a_couple() -> None:
    found = groups_of(
        {
            "a": moments(1, 2, 3, 4, 5, 6),
            "b": moments(1, 2, 3, 4, 5, 6),
            "c": moments(1, 2, 3),
            "d": moments(7, 8, 9),
            "e": moments(7, 8, 9, 10),
            "f": moments(1, 7),  # seen once with each: no group
        }
    )
    # {a, b} is kept beside {a, b, c}: the couple is also seen without the child (6 moments vs 3).
    assert found == [(("a", "b", "c"), 3), (("a", "b"), 6), (("d", "e"), 3)]


def test_a_subset_with_the_same_support_is_the_same_group() -> None:
    found = groups_of({"a": moments(1, 2, 3), "b": moments(1, 2, 3), "c": moments(1, 2, 3, 4)})
    assert found == [(("a", "b", "c"), 3)]


def test_a_clique_never_seen_all_together_shrinks_to_its_best_pair() -> None:
    # Every pair shares 3 moments but the three were never together. Dropping any one member
    # gains the same, so the last in order goes; a and b are also each other's closest tie.
    found = groups_of(
        {"a": moments(1, 2, 3, 4, 5, 6), "b": moments(1, 2, 3, 7, 8, 9), "c": moments(4, 5, 6, 7, 8, 9)}
    )
    assert found == [(("a", "b"), 3)]


def test_office_seen_in_random_subsets_is_not_every_pair() -> None:
    # Six colleagues, each moment a different half of them: every pair is a strong tie, yet only
    # the trimmed clique and the mutual-closest pairs can become groups, not all 15 pairs.
    from itertools import combinations as choose

    office = [f"o{i}" for i in range(6)]
    attend: dict[str, set[str]] = {p: set() for p in office}
    for index, present in enumerate(choose(office, 3)):
        for person in present:
            attend[person].add(f"m{index}")
    # Any three met once only: the clique trims down to a pair (ties drop the last member), and
    # with every tie equal the mutual-closest pair is the first two in order.
    assert groups_of(attend) == [(("o0", "o1"), 4)]


def test_overlap_threshold_drops_chance_meetings() -> None:
    busy = moments(*range(1, 101))
    friend = moments(1, 2, 3, *range(200, 220))  # 3 of 23 moments with the busy person: 0.13
    assert groups_of({"busy": busy, "friend": friend}) == []
    assert groups_of({"busy": busy, "friend": friend}, GraphSettings(group_min_overlap=0.1)) == [
        (("busy", "friend"), 3)
    ]


def test_a_crowd_over_the_size_cap_is_no_group_but_a_closer_pair_inside_it_is() -> None:
    crowd = {f"p{i:02d}": moments(1, 2, 3) for i in range(5)}
    assert groups_of(crowd, GraphSettings(group_max_size=3)) == []
    assert groups_of(crowd, GraphSettings(group_max_size=5)) == [(("p00", "p01", "p02", "p03", "p04"), 3)]
    crowd["p00"] = crowd["p01"] = moments(1, 2, 3, 4, 5, 6)
    assert groups_of(crowd, GraphSettings(group_max_size=3)) == [(("p00", "p01"), 6)]
