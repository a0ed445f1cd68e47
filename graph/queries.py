"""Queries over the knowledge graph: plain functions returning plain data (lists of dicts, typed
by `graph.rows`).

Each result is JSON-ready and flat enough for a table. Every ranking has a full, deterministic
order: ties on the ranked quantity fall to the next field named in the function's docstring and
finally to the smaller id, so the same library always prints the same table. Hidden people and
hidden assets never appear; the summaries read here were precomputed by `build`, so no query
walks the library's assets. Lookups use networkx's own dicts (`graph._node`, `graph._adj`),
several times cheaper per step than its public views.
"""

from __future__ import annotations

import math
from typing import TypeVar

import networkx as nx

from graph.build import neighbours_of_kind, node_key
from graph.names import person_label, person_summary, resolve_person, visible_people
from graph.rows import (
    GroupRow,
    HomeRow,
    LastSeenRow,
    PersonRow,
    PlaceRow,
    TimelineRow,
    TripRow,
)
from graph.settings import GraphSettings

_DAY_S = 86400.0


def _settings(graph: nx.Graph) -> GraphSettings:
    return GraphSettings.from_json(graph.graph["settings"])


def _place_label(graph: nx.Graph, place: str | None) -> str | None:
    return graph._node[place]["label"] if place is not None else None


Ranked = TypeVar("Ranked", PersonRow, GroupRow, PlaceRow, TripRow)


def _limited(rows: list[Ranked], limit: int | None) -> list[Ranked]:
    """The first `limit` rows (all for None), each given its 1-based `rank`."""
    rows = rows if limit is None else rows[: max(0, limit)]
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def important_people(graph: nx.Graph, limit: int | None = 20) -> list[PersonRow]:
    """People ranked by importance, with the parts of the score and a sentence saying why.

    score = w_f * frequency + w_r * recency + w_s * spread + w_c * centrality, each in [0, 1]:
      frequency  log(1 + moments) / log(1 + most moments of anyone)   (log: 400 vs 200 moments
                 matters less than 20 vs 10)
      recency    0.5 ** (days from the person's last moment to the library's last / half-life)
      spread     years the person appears in / years the library covers
      centrality people seen with this person / (people - 1)   (degree in the co-occurrence graph)
    Order: score, then moments, then photos (all descending), then id.
    """
    settings = _settings(graph)
    people = [p for p in visible_people(graph) if graph._node[p]["moments"] > 0]
    if not people:
        return []
    most_moments = max(graph._node[p]["moments"] for p in people)
    latest = graph.graph["latest_ts"] or 0.0
    library_years = max(1, len(graph.graph["years"]))
    others = max(1, len(people) - 1)
    rows: list[PersonRow] = []
    for person in people:
        attrs = graph._node[person]
        days_since = max(0.0, (latest - attrs["last_ts"]) / _DAY_S)
        parts = {
            "frequency": math.log1p(attrs["moments"]) / math.log1p(most_moments),
            "recency": 0.5 ** (days_since / settings.recency_half_life_days),
            "spread": len(attrs["years"]) / library_years,
            "centrality": min(1.0, attrs["people"] / others),
        }
        weights = {
            "frequency": settings.weight_frequency,
            "recency": settings.weight_recency,
            "spread": settings.weight_spread,
            "centrality": settings.weight_centrality,
        }
        score = round(sum(weights[k] * v for k, v in parts.items()), 6)
        phrases = {
            "frequency": f"in {attrs['moments']} moments ({attrs['photos']} photos)",
            "recency": f"last seen {attrs['last_date']}",
            "spread": f"seen in {len(attrs['years'])} of {library_years} years",
            "centrality": f"seen with {attrs['people']} other people",
        }
        by_weight = sorted(parts, key=lambda k: (-weights[k] * parts[k], k))
        rows.append(
            {
                **person_summary(graph, person),
                "score": score,
                "photos": attrs["photos"],
                "moments": attrs["moments"],
                "first_seen": attrs["first_date"],
                "last_seen": attrs["last_date"],
                "years": len(attrs["years"]),
                "people": attrs["people"],
                "frequency": round(parts["frequency"], 4),
                "recency": round(parts["recency"], 4),
                "spread": round(parts["spread"], 4),
                "centrality": round(parts["centrality"], 4),
                "reason": "; ".join(phrases[k] for k in by_weight),
                "rank": 0,  # set by _limited
            }
        )
    rows.sort(key=lambda r: (-r["score"], -r["moments"], -r["photos"], r["id"]))
    return _limited(rows, limit)


def _group_label(graph: nx.Graph, members: list[str]) -> str:
    labels = [person_label(graph._node[m]) for m in members]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " & " + labels[-1]


def important_groups(graph: nx.Graph, limit: int | None = 20) -> list[GroupRow]:
    """Groups (see graph.groups) ranked by moments together, then last time together (latest
    first), then photos together, then size, then the group id.
    """
    keyed: list[tuple[tuple[int, float, int, int, str], GroupRow]] = []
    for group in graph.graph["groups"]:
        attrs = graph._node[group]
        members = [f"person:{i}" for i in attrs["members"]]
        row: GroupRow = {
            "node": group,
            "label": _group_label(graph, members),
            "members": [person_summary(graph, m) for m in members],
            "size": len(members),
            "moments": attrs["moments"],
            "photos": attrs["photos"],
            "first_together": attrs["first_date"],
            "last_together": attrs["last_date"],
            "years": len(attrs["years"]),
            "reason": f"together in {attrs['moments']} moments over {len(attrs['years'])} years, "
            f"last on {attrs['last_date']}",
            "rank": 0,  # set by _limited
        }
        keyed.append(((-row["moments"], -attrs["last_ts"], -row["photos"], -row["size"], group), row))
    keyed.sort(key=lambda kr: kr[0])
    return _limited([row for _, row in keyed], limit)


def frequent_places(graph: nx.Graph, limit: int | None = 20) -> list[PlaceRow]:
    """Places ranked by distinct days with photos there, then moments, then photos, then id."""
    rows: list[PlaceRow] = []
    for place in graph.graph["places"]:
        attrs = graph._node[place]
        if attrs["photos"] == 0 and attrs["moments"] == 0:
            continue
        rows.append(
            {
                "node": place,
                "label": attrs["label"],
                "city": attrs["city"],
                "region": attrs["region"],
                "country": attrs["country"],
                "days": attrs["days"],
                "moments": attrs["moments"],
                "photos": attrs["photos"],
                "first_visit": attrs["first_date"],
                "last_visit": attrs["last_date"],
                "is_home": attrs["is_home"],
                "rank": 0,  # set by _limited
            }
        )
    rows.sort(key=lambda r: (-r["days"], -r["moments"], -r["photos"], r["node"]))
    return _limited(rows, limit)


def home(graph: nx.Graph) -> HomeRow | None:
    """The home the graph uses for trips: place, coordinates and where it came from."""
    found = graph.graph.get("home")
    if not found:
        return None
    return {
        "place": found["place"],
        "latitude": found["latitude"],
        "longitude": found["longitude"],
        "source": found["source"],
        "label": _place_label(graph, found["place"]),
    }


def _people_in_moments(graph: nx.Graph, moments: list[str]) -> list[tuple[str, int]]:
    photos: dict[str, int] = {}
    for moment in moments:
        for person, data in graph._adj[moment].items():
            if data.get("kind") == "present-at" and not graph._node[person]["hidden"]:
                photos[person] = photos.get(person, 0) + data["photos"]
    return sorted(photos.items(), key=lambda kv: (-kv[1], node_key(kv[0])))


def trips(graph: nx.Graph, limit: int | None = None) -> list[TripRow]:
    """Trips, latest first (by start, then id), with their title, the place it names, places and people."""
    keyed: list[tuple[tuple[float, str], TripRow]] = []
    for trip in graph.graph["trips"]:
        attrs = graph._node[trip]
        moments = sorted(neighbours_of_kind(graph, trip, "moment"), key=lambda m: graph._node[m]["start_ts"])
        place_photos: dict[str, int] = {}
        for moment in moments:
            place = graph._node[moment]["place"]
            if place is not None:
                place_photos[place] = place_photos.get(place, 0) + graph._node[moment]["photos"]
        places = sorted(place_photos.items(), key=lambda kv: (-kv[1], kv[0]))
        people = _people_in_moments(graph, moments)
        row: TripRow = {
            "node": trip,
            "title": attrs["title"],
            "place": attrs["place_name"],
            "start": attrs["start_date"],
            "end": attrs["end_date"],
            "days": round((attrs["end_ts"] - attrs["start_ts"]) / _DAY_S, 1),
            "moments": attrs["moments"],
            "photos": attrs["photos"],
            "max_distance_km": attrs["max_distance_km"],
            "places": [graph._node[p]["label"] for p, _ in places],
            "people": [person_label(graph._node[p]) for p, _ in people],
            "rank": 0,  # set by _limited
        }
        keyed.append(((-attrs["start_ts"], trip), row))
    keyed.sort(key=lambda kr: kr[0])
    return _limited([row for _, row in keyed], limit)


def _moment_photos_with(graph: nx.Graph, moment: str, people: list[str]) -> list[int]:
    """Ids of the moment's visible photos showing all of `people`, in capture order."""
    assets = [
        a
        for a in neighbours_of_kind(graph, moment, "asset")
        if not graph._node[a]["hidden"] and all(a in graph._adj[p] for p in people)
    ]
    assets.sort(key=lambda a: (graph._node[a]["taken_ts"] or 0.0, node_key(a)))
    return [node_key(a) for a in assets]


def last_seen(graph: nx.Graph, person: str | int) -> LastSeenRow | None:
    """The last moment with a person: when, where, with which photos. None if never seen."""
    node = resolve_person(graph, person)
    attrs = graph._node[node]
    moment = attrs["last_moment"]
    if moment is None:
        return None
    m = graph._node[moment]
    latest = graph.graph["latest_ts"] or m["end_ts"]
    return {
        **person_summary(graph, node),
        "moment": m["id"],
        "start": m["start_date"],
        "end": m["end_date"],
        "place": _place_label(graph, m["place"]),
        "photos": _moment_photos_with(graph, moment, [node]),
        "days_before_latest": int((latest - m["end_ts"]) // _DAY_S),
    }


def person_timeline(graph: nx.Graph, person: str | int, limit: int | None = None) -> list[TimelineRow]:
    """Every moment with the person, oldest first (start, then id); `limit` keeps the latest ones.

    Each entry: when, where, how many of the person's photos, who else was there (by photos of
    them in the moment, then id) and the trip it belongs to.
    """
    node = resolve_person(graph, person)
    moments = sorted(
        neighbours_of_kind(graph, node, "moment"), key=lambda m: (graph._node[m]["start_ts"], node_key(m))
    )
    if limit is not None:
        moments = moments[-limit:] if limit > 0 else []
    rows: list[TimelineRow] = []
    for moment in moments:
        attrs = graph._node[moment]
        others = [(p, n) for p, n in _people_in_moments(graph, [moment]) if p != node]
        trip = neighbours_of_kind(graph, moment, "trip")
        rows.append(
            {
                "moment": attrs["id"],
                "start": attrs["start_date"],
                "end": attrs["end_date"],
                "place": _place_label(graph, attrs["place"]),
                "photos": graph._adj[node][moment]["photos"],
                "with": [person_label(graph._node[p]) for p, _ in others],
                "trip": graph._node[trip[0]]["title"] if trip else None,
            }
        )
    return rows
