"""Groups: sets of 2+ people seen together, all of them, in several moments.

Method: frequent co-occurring sets, seeded by the cliques of strong ties.
  1. Strong tie between two people: together in >= `group_min_moments` moments, and those are
     >= `group_min_overlap` of the rarer person's moments.
  2. Candidates: every maximal clique of the strong-tie graph, and every pair of mutual closest
     ties (each is the other's most shared partner: a couple, best friends), so that "Mum & Dad"
     stands beside "Mum, Dad & Leo". Not every strong pair: in a 30-person office photographed
     in random subsets every pair is strong, and 435 pair "groups" would bury the real ones.
  3. A candidate's support is counted exactly: the moments where *every* member appears. While
     it is under `group_min_moments` the member whose removal raises the support most is dropped.
  4. Closed sets only: a group inside another with the same support is the same occasions, and
     is dropped; one with more support (the couple also seen without their child) stays.
  5. Sets over `group_max_size` are crowds (a class, a wedding party): not reported, and the sets
     inside them with no occasions of their own are not either.
Why not communities (Louvain, modularity) of the co-occurrence graph: they partition people, so a
person sits in exactly one group while real people belong to several (family and work), and they
join people who were never photographed together (two friend circles linked by one person). Why
not plain Apriori over moments: one 30-person party repeated a few times has 2^30 frequent
subsets; maximal cliques bound the search to sets whose every pair is close, at the price of not
listing a mid-sized subset (3 of a clique of 5) on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import networkx as nx

from graph.settings import DEFAULT_SETTINGS, GraphSettings


def _support(members: list[str], moments_of: Mapping[str, set[str]]) -> set[str]:
    ordered = sorted((moments_of[m] for m in members), key=len)
    return set(ordered[0]).intersection(*ordered[1:])


def _drop_weakest(members: list[str], moments_of: Mapping[str, set[str]]) -> None:
    """Remove the member whose absence leaves the most moments shared by all the rest.

    One pass: a moment that all but one member attend is gained by dropping that member. Ties
    drop the later member in `members` order.
    """
    size = len(members)
    seen = Counter(m for p in members for m in moments_of[p])
    gain = [0] * size
    for moment, count in seen.items():
        if count == size - 1:
            for index, person in enumerate(members):
                if moment not in moments_of[person]:
                    gain[index] += 1
                    break
    members.pop(max(range(size), key=lambda i: (gain[i], i)))


def find_groups(
    shared_moments: Mapping[tuple[str, str], int],
    moments_of: Mapping[str, set[str]],
    settings: GraphSettings = DEFAULT_SETTINGS,
    *,
    order: Mapping[str, int] | None = None,
) -> list[tuple[tuple[str, ...], set[str]]]:
    """Groups as (members, moments where all members appear), largest first.

    `shared_moments[(p, q)]` counts the moments p and q share; `moments_of[p]` is p's moment set.
    Members are listed by `order` (then name); groups of one size by their members.
    """
    rank = order if order is not None else {}

    def key(person: str) -> tuple[int, str]:
        return (rank.get(person, 0), person)

    strong = nx.Graph()
    closest: dict[str, tuple[tuple[int, float, int, str], str]] = {}
    for (p, q), shared in shared_moments.items():
        if shared < settings.group_min_moments:
            continue
        rarer = min(len(moments_of[p]), len(moments_of[q]))
        if not rarer or shared / rarer < settings.group_min_overlap:
            continue
        strong.add_edge(p, q)
        for person, other in ((p, q), (q, p)):
            # Most shared moments, then highest overlap, then the first partner in `order`.
            score = (shared, shared / rarer, -rank.get(other, 0), other)
            if (
                person not in closest
                or score[:3] > closest[person][0][:3]
                or (score[:3] == closest[person][0][:3] and other < closest[person][1])
            ):
                closest[person] = (score, other)
    seeds = [sorted(clique, key=key) for clique in nx.find_cliques(strong)]
    seeds += [
        sorted((p, q), key=key) for p, (_, q) in closest.items() if closest[q][1] == p and key(p) < key(q)
    ]
    candidates: dict[tuple[str, ...], set[str]] = {}
    for members in seeds:
        support = _support(members, moments_of)
        while len(members) > 2 and len(support) < settings.group_min_moments:
            _drop_weakest(members, moments_of)
            support = _support(members, moments_of)
        if len(support) >= settings.group_min_moments:
            candidates[tuple(members)] = support
    # Largest first, so every set meets its supersets before itself. A set over the size cap is a
    # crowd: never reported, but the sets inside it with no more occasions are its occasions too.
    closed: list[tuple[tuple[str, ...], set[str]]] = []
    closed_with: dict[str, list[int]] = {}  # person -> indices into `closed` of sets holding them
    for group, together in sorted(candidates.items(), key=lambda kv: (-len(kv[0]), [key(m) for m in kv[0]])):
        member_set = set(group)
        if any(
            len(together) == len(closed[i][1]) and member_set < set(closed[i][0])
            for i in closed_with.get(group[0], [])
        ):
            continue
        for person in group:
            closed_with.setdefault(person, []).append(len(closed))
        closed.append((group, together))
    return [(group, together) for group, together in closed if len(group) <= settings.group_max_size]
