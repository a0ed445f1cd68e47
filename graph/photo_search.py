"""Photo search: people (all / any), people to exclude, a place, a date range.

Candidates come from the most selective index the query has, never from a walk of every asset
unless the query has no criterion at all: the rarest named person's photos (all), the union of
the named people's photos (any), the place's photos, or the moments of the years in the date
range. The other criteria then filter those candidates. Dates are the photographer's local
calendar days, both bounds included.

Lookups go through networkx's own dicts (`graph._node`, `graph._adj`): its public views cost a
Python call per step, which dominated searches returning thousands of photos.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypedDict, Unpack

import networkx as nx

from graph.build import neighbours_of_kind, node_key
from graph.dates import parse_day
from graph.derived import kept
from graph.names import person_label, resolve_people, resolve_places, visible_people
from graph.rows import AssetRow, TogetherRow

Match = Literal["all", "any"]
DateLike = str | date | datetime


def asset_rows(graph: nx.Graph, assets: Sequence[str]) -> list[AssetRow]:
    """One JSON-ready row per asset: id, path, time, moment, place and the visible people in it."""
    nodes, adj = graph._node, graph._adj
    # Every visible person's (id, label) up front: a dict hit per face instead of a call.
    shown_as = {p: (nodes[p]["id"], person_label(nodes[p])) for p in visible_people(graph)}
    rows: list[AssetRow] = []
    for asset in assets:
        attrs = nodes[asset]
        place, moment = attrs["place"], attrs["moment"]
        shown = sorted(shown_as[n] for n in adj[asset] if n in shown_as)
        rows.append(
            {
                "id": attrs["id"],
                "path": attrs["path"],
                "taken_at": attrs["taken_at"],
                "date": attrs["date"],
                "moment": nodes[moment]["id"] if moment is not None else None,
                "place": nodes[place]["label"] if place is not None else None,
                "people": [label for _, label in shown],
            }
        )
    return rows


def _assets_in_days(graph: nx.Graph, first: str | None, last: str | None) -> Iterable[str]:
    low_year = int(first[:4]) - 1 if first else None  # a moment may start the day before
    high_year = int(last[:4]) if last else None
    for year in graph.graph["years"]:
        number = node_key(year)
        if (low_year is not None and number < low_year) or (high_year is not None and number > high_year):
            continue
        for moment in neighbours_of_kind(graph, year, "moment"):
            attrs = graph._node[moment]
            if (first and (attrs["end_date"] or attrs["start_date"]) < first) or (
                last and attrs["start_date"] > last
            ):
                continue
            yield from neighbours_of_kind(graph, moment, "asset")


def _newest_key(attrs: dict[str, Any]) -> tuple[float, int]:
    stamp = attrs["taken_ts"]
    return (stamp if stamp is not None else float("-inf"), attrs["id"])


def _newest_rank(graph: nx.Graph) -> dict[str, int]:
    """Each asset's position in time (larger is newer, by `_newest_key`), sorted once per graph
    state: ordering a page of 60,000 matches is then a dict lookup each, not a tuple built."""
    values = kept(graph)
    if "newest_rank" not in values:
        nodes = graph._node
        assets = [n for n in nodes if n.startswith("asset:")]
        assets.sort(key=lambda a: _newest_key(nodes[a]))
        values["newest_rank"] = {asset: i for i, asset in enumerate(assets)}
    return values["newest_rank"]  # type: ignore[no-any-return]


def _newest_accepted(graph: nx.Graph, accept: Callable[[str], bool], limit: int) -> list[str]:
    """The `limit` newest accepted assets, walking moments from the latest end backwards.

    Stops once `limit` are found and the next moment ends before the oldest of them: no photo of
    an earlier-ending moment can be newer. Assets in no moment are few and all checked.
    """
    if limit == 0:
        return []
    nodes, adj = graph._node, graph._adj
    newest: list[tuple[tuple[float, int], str]] = []  # min-heap of the best `limit` so far

    def offer(asset: str) -> None:
        if accept(asset):
            item = (_newest_key(nodes[asset]), asset)
            if len(newest) < limit:
                heapq.heappush(newest, item)
            elif item > newest[0]:
                heapq.heapreplace(newest, item)

    for asset in graph.graph["loose_assets"]:
        offer(asset)
    moments = [m for year in graph.graph["years"] for m in adj[year] if m.startswith("moment:")]
    moments.sort(key=lambda m: nodes[m]["end_ts"], reverse=True)
    for moment in moments:
        if len(newest) == limit and nodes[moment]["end_ts"] < newest[0][0][0]:
            break
        for asset in adj[moment]:
            if asset.startswith("asset:"):
                offer(asset)
    return [asset for _, asset in sorted(newest, reverse=True)]


class Criteria(TypedDict, total=False):
    """`find`'s keyword arguments, for the functions that hand them on (see `find` for each)."""

    match: Match
    exclude: Sequence[str | int]
    place: str | None
    date_from: DateLike | None
    date_to: DateLike | None
    limit: int | None


def search(graph: nx.Graph, people: Sequence[str | int] = (), **criteria: Unpack[Criteria]) -> list[AssetRow]:
    """Visible photos matching every criterion given, newest first (time, then id, descending).

    people + match="all": photos showing every one of them; match="any": at least one.
    exclude: photos showing none of them. place: a town, region or country name or a place id.
    date_from / date_to: local days, inclusive ("2023-05-01", a date or a datetime).
    limit: at most this many, the newest.
    """
    return asset_rows(graph, find(graph, people, **criteria))


def find_page(
    graph: nx.Graph,
    people: Sequence[str | int] = (),
    *,
    start: int = 0,
    size: int = 200,
    **criteria: Any,
) -> tuple[int, list[str]]:
    """(how many photos match, the `size` of them from `start` on, newest first): one page of
    `find`'s answer without sorting every match (a place can hold tens of thousands)."""
    found = _matching(graph, people, **criteria)
    wanted = heapq.nlargest(start + size, found, key=_newest_rank(graph).__getitem__)
    return len(found), wanted[start:]


def find(
    graph: nx.Graph,
    people: Sequence[str | int] = (),
    *,
    match: Match = "all",
    exclude: Sequence[str | int] = (),
    place: str | None = None,
    date_from: DateLike | None = None,
    date_to: DateLike | None = None,
    limit: int | None = None,
) -> list[str]:
    """The asset nodes `search` answers with, newest first (a page of rows is `asset_rows` of a slice)."""
    criteria = {"exclude": exclude, "place": place, "date_from": date_from, "date_to": date_to}
    if limit is not None and not people:
        accept, _ = _acceptor(graph, **criteria)  # type: ignore[arg-type]
        return _newest_accepted(graph, accept, max(0, limit))
    found = _matching(graph, people, match=match, **criteria)  # type: ignore[arg-type]
    found.sort(key=_newest_rank(graph).__getitem__, reverse=True)
    return found[: max(0, limit)] if limit is not None else found


def _acceptor(
    graph: nx.Graph,
    exclude: Sequence[str | int] = (),
    place: str | None = None,
    date_from: DateLike | None = None,
    date_to: DateLike | None = None,
) -> tuple[Callable[[str], bool], dict[str, Any]]:
    """Whether an asset passes the non-people criteria, and those criteria resolved."""
    excluded = resolve_people(graph, exclude)
    places = resolve_places(graph, place) if place is not None else None
    first = parse_day(date_from) if date_from is not None else None
    last = parse_day(date_to) if date_to is not None else None
    nodes, adj = graph._node, graph._adj
    excluded_adj = [adj[p] for p in excluded]

    def accept(asset: str) -> bool:
        attrs = nodes[asset]
        if attrs["hidden"] or (places is not None and attrs["place"] not in places):
            return False
        if first or last:
            day = attrs["date"]
            if day is None or (first and day < first) or (last and day > last):
                return False
        return not (excluded_adj and any(asset in other for other in excluded_adj))

    return accept, {"places": places, "first": first, "last": last, "simple": not excluded_adj}


def _matching(
    graph: nx.Graph, people: Sequence[str | int] = (), *, match: Match = "all", **criteria: Any
) -> list[str]:
    """Every matching asset node, in no particular order. Candidates come from the most selective
    index the query has (see the module docstring); the other criteria filter them."""
    if match not in ("all", "any"):
        raise ValueError(f"match must be 'all' or 'any', not {match!r}")
    wanted = resolve_people(graph, people)
    accept, resolved = _acceptor(graph, **criteria)
    places, first, last = resolved["places"], resolved["first"], resolved["last"]
    adj = graph._adj
    candidates: Iterable[str]
    if wanted and match == "all":
        photo_sets = sorted((neighbours_of_kind(graph, p, "asset") for p in wanted), key=len)
        others = [adj[p] for p in wanted] if len(wanted) > 1 else []
        candidates = [a for a in photo_sets[0] if all(a in other for other in others)]
    elif wanted:
        candidates = {a for p in wanted for a in neighbours_of_kind(graph, p, "asset")}
    elif places is not None:
        candidates = [a for p in sorted(places) for a in neighbours_of_kind(graph, p, "asset")]
    elif first or last:
        candidates = _assets_in_days(graph, first, last)
    else:
        candidates = [n for n, kind in graph.nodes(data="kind") if kind == "asset"]
    if resolved["simple"] and not (first or last):  # the common case, without a call per photo
        nodes = graph._node
        return [
            a
            for a in candidates
            if not nodes[a]["hidden"] and (places is None or nodes[a]["place"] in places)
        ]
    return [a for a in candidates if accept(a)]


def photos_together(graph: nx.Graph, people: Sequence[str | int]) -> list[TogetherRow]:
    """Photos showing all of `people` (two or more), by moment, the latest moment first.

    Each entry: the moment, its dates and place, and the ids of its photos with everyone, in
    capture order. Photos outside any moment come last, as one entry with moment None.
    """
    wanted = resolve_people(graph, people)
    if len(wanted) < 2:
        raise ValueError("photos together needs at least two different people")
    photo_sets = sorted((neighbours_of_kind(graph, p, "asset") for p in wanted), key=len)
    shared = [
        a for a in photo_sets[0] if not graph._node[a]["hidden"] and all(a in graph._adj[p] for p in wanted)
    ]
    by_moment: dict[str | None, list[str]] = {}
    for asset in shared:
        by_moment.setdefault(graph._node[asset]["moment"], []).append(asset)

    def moment_order(moment: str | None) -> tuple[int, float, int]:
        if moment is None:
            return (1, 0.0, 0)
        return (0, -graph._node[moment]["start_ts"], -node_key(moment))

    rows: list[TogetherRow] = []
    for moment in sorted(by_moment, key=moment_order):
        assets = sorted(by_moment[moment], key=lambda a: (graph._node[a]["taken_ts"] or 0.0, node_key(a)))
        attrs = graph._node[moment] if moment is not None else None
        rows.append(
            {
                "moment": attrs["id"] if attrs else None,
                "start": attrs["start_date"] if attrs else None,
                "end": attrs["end_date"] if attrs else None,
                "place": graph._node[attrs["place"]]["label"] if attrs and attrs["place"] else None,
                "photos": [node_key(a) for a in assets],
            }
        )
    return rows
