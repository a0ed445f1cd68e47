"""Theme rules: each theme's `query` names one function here that proposes candidate memories.

A rule is a plain function over the knowledge graph: `RuleInput` (the graph, the day, the theme's
parameters and the people the user asked for) -> candidates. A candidate holds the people it
features, the photos it may use (asset ids, any order), the template context for its title
(`MemoryContext`), a one-line reason, and a score to rank suggestions by. Curation (which photos,
in what order) and rendering happen in the app; nothing here reads files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TypedDict

import networkx as nx

from graph.build import neighbours_of_kind
from graph.names import person_label
from graph.queries import important_groups, important_people, trips


class MemoryContext(TypedDict, total=False):
    """What a candidate hands its theme's title templates (see themes.model.TEMPLATE_VARIABLES),
    and the app's curation (`per_group`). Each rule fills the keys that make sense for it."""

    people: list[str | None]  # featured people's names, None for someone not yet named
    person: str | None
    place: str | None  # the name a trip is titled by
    places: list[str]  # every place label of a trip, most photos first
    start: str | None  # local ISO day of the first photo
    end: str | None
    years: list[int]
    year: int
    count: int  # photos
    moments: int
    today: date
    day: date  # the (most common) day the photos were taken, on this day
    per_group: tuple[str, int]  # curation: at most N photos per "year" / "moment" (0: no cap)


@dataclass
class Candidate:
    theme: str
    key: str  # stable id of this memory: theme + what it selects
    people: list[int]  # featured person ids (may be empty: a trip, a year)
    assets: list[int]
    context: MemoryContext = field(default_factory=MemoryContext)
    reason: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class RuleInput:
    """Everything a rule may use."""

    graph: nx.Graph
    today: date
    # The theme's query parameters (themes.model.QUERY_PARAMS says which each rule reads; every
    # value a number >= 0).
    params: Mapping[str, float] = field(default_factory=dict)
    # Person nodes ("person:7") the user asked for (`memories make --people`): the rules that
    # feature people propose memories of exactly them, past their usual thresholds.
    people: tuple[str, ...] = ()


Rule = Callable[[RuleInput], list[Candidate]]


def within_year(graph: nx.Graph, candidate: Candidate, year: int) -> Candidate | None:
    """The candidate narrowed to the photos of one year (its dates and count follow), or None when
    it has none then: `--year 2019` makes a 2019 movie, not a 2019–2023 one."""
    assets = [
        a for a in candidate.assets if str(graph.nodes[f"asset:{a}"]["date"] or "").startswith(f"{year}-")
    ]
    if not assets:
        return None
    start, end, years = _span(graph, [f"asset:{a}" for a in assets])
    context: MemoryContext = {
        **candidate.context,
        "start": start,
        "end": end,
        "years": years,
        "count": len(assets),
    }
    return replace(candidate, key=f"{candidate.key}@{year}", assets=assets, context=context)


def _visible_assets(graph: nx.Graph, nodes: Iterable[str]) -> list[str]:
    return [a for a in nodes if not graph.nodes[a]["hidden"]]


def _assets_of(graph: nx.Graph, person: str) -> set[str]:
    return set(_visible_assets(graph, neighbours_of_kind(graph, person, "asset")))


def _moments_assets(graph: nx.Graph, moments: Iterable[str]) -> list[str]:
    """The visible photos of these moments, sorted by node name."""
    return sorted({a for m in moments for a in _visible_assets(graph, neighbours_of_kind(graph, m, "asset"))})


def _span(graph: nx.Graph, assets: Iterable[str]) -> tuple[str | None, str | None, list[int]]:
    days = sorted(d for d in (graph.nodes[a]["date"] for a in assets) if d)
    years = sorted({int(d[:4]) for d in days})
    return (days[0] if days else None), (days[-1] if days else None), years


def _years_text(years: list[int]) -> str:
    if not years:
        return ""
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _people_context(graph: nx.Graph, people: list[str]) -> list[str | None]:
    """Their names for titles; None for someone not yet named (titles never show "Person 4")."""
    return [graph.nodes[p]["name"] for p in people]


def _people_labels(graph: nx.Graph, people: list[str]) -> list[str]:
    """Their labels for reasons, which the user reads in the suggestion list ("Person 4")."""
    return [person_label(graph.nodes[p]) for p in people]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def together_assets(graph: nx.Graph, people: list[str]) -> tuple[list[str], int]:
    """Photos of any of them from the moments where all of them were present; and that moment count."""
    shared = set.intersection(*(set(neighbours_of_kind(graph, p, "moment")) for p in people))
    wanted = set().union(*(_assets_of(graph, p) for p in people))
    assets = [a for m in shared for a in neighbours_of_kind(graph, m, "asset") if a in wanted]
    return sorted(set(assets)), len(shared)


def _gathering(graph: nx.Graph, theme: str, members: list[str], reason: str) -> Candidate:
    """A memory of several people: photos of any of them from the moments they all shared."""
    assets, moments = together_assets(graph, members)
    names = _people_context(graph, members)
    start, end, years = _span(graph, assets)
    return Candidate(
        theme=theme,
        key=f"{theme}:" + "-".join(sorted(str(graph.nodes[p]["id"]) for p in members)),
        people=[int(graph.nodes[p]["id"]) for p in members],
        assets=[int(graph.nodes[a]["id"]) for a in assets],
        context={"people": names, "start": start, "end": end, "years": years, "count": len(assets),
                 "moments": moments},
        reason=reason.format(
            names=_and(_people_labels(graph, members)), photos=len(assets), moments=moments, years=_years_text(years)
        ),
        score=moments + 0.01 * len(assets),
    )  # fmt: skip


def together(given: RuleInput) -> list[Candidate]:
    """Two or more important people across several shared moments (the graph's groups); the
    people asked for, together, however often they met."""
    graph, params = given.graph, given.params
    low, high = int(params.get("min_people", 2)), int(params.get("max_people", 4))
    min_moments = int(params.get("min_moments", 3))
    chosen = bool(given.people)
    groups = (
        [list(given.people)]
        if chosen
        else [
            [m["node"] for m in g["members"]]
            for g in important_groups(graph, limit=None)
            if low <= g["size"] <= high
        ]
    )
    found = [
        _gathering(
            graph, "together", members, "{names}: {photos} photos from {moments} moments they shared, {years}"
        )
        for members in groups
    ]
    return [c for c in found if chosen or c.context["moments"] >= min_moments]


def person_over_the_years(given: RuleInput) -> list[Candidate]:
    """One named person across at least `min_years` years; each person asked for, whatever their years."""
    graph, params = given.graph, given.params
    min_years = int(params.get("min_years", 3))
    chosen = bool(given.people)
    people = list(given.people) if chosen else [r["node"] for r in important_people(graph, limit=None)]
    out = []
    for person in people:
        assets = sorted(_assets_of(graph, person))
        start, end, years = _span(graph, assets)
        if len(years) < min_years and not chosen:
            continue
        name = graph.nodes[person]["name"]
        if name is None and not chosen:
            continue  # a memory about one person is for someone the user has named
        label = person_label(graph.nodes[person])
        out.append(
            Candidate(
                theme="person_over_the_years",
                key=f"person_over_the_years:{graph.nodes[person]['id']}",
                people=[int(graph.nodes[person]["id"])],
                assets=[int(graph.nodes[a]["id"]) for a in assets],
                context={
                    "people": [name],
                    "person": name,
                    "per_group": ("year", int(params.get("per_year", 0))),
                    "start": start,
                    "end": end,
                    "years": years,
                    "count": len(assets),
                },
                reason=f"{label} in {len(assets)} photos over {len(years)} years, {_years_text(years)}",
                score=len(years) + 0.01 * len(assets),
            )
        )
    return out


def trip(given: RuleInput) -> list[Candidate]:
    """The graph's trips at least `min_km_from_home` away, `min_days` long, with `min_photos`."""
    graph, params = given.graph, given.params
    min_photos = int(params.get("min_photos", 10))
    min_km, min_days = float(params.get("min_km_from_home", 0)), int(params.get("min_days", 1))
    out = []
    for row in trips(graph):
        days = (date.fromisoformat(row["end"][:10]) - date.fromisoformat(row["start"][:10])).days + 1
        if row["max_distance_km"] < min_km or days < min_days:
            continue
        moments = neighbours_of_kind(graph, row["node"], "moment")
        assets = _moments_assets(graph, moments)
        if len(assets) < min_photos:
            continue
        start, end, years = _span(graph, assets)
        out.append(
            Candidate(
                theme="trip",
                key=f"trip:{row['node'].split(':')[1]}",
                people=[],
                assets=[int(graph.nodes[a]["id"]) for a in assets],
                context={
                    "people": list(row["people"]),
                    "place": row["place"],
                    "places": row["places"],
                    "start": start,
                    "end": end,
                    "years": years,
                    "count": len(assets),
                },
                reason=f"{row['title']}: {len(assets)} photos over {len(moments)} moments",
                score=len(moments) + 0.01 * len(assets),
            )
        )
    return out


def on_this_day(given: RuleInput) -> list[Candidate]:
    """Photos of earlier years taken within `window_days` of today's date."""
    graph, params, today = given.graph, given.params, given.today
    window, min_years = int(params.get("window_days", 3)), int(params.get("min_years", 1))
    wanted = set()
    for shift in range(-window, window + 1):
        day = today + timedelta(days=shift)
        wanted.add(day.strftime("%m-%d"))
    assets = [
        a
        for a, attrs in graph.nodes(data=True)
        if attrs.get("kind") == "asset"
        and not attrs["hidden"]
        and attrs["date"]
        and attrs["date"][5:] in wanted
        and int(attrs["date"][:4]) < today.year
    ]
    start, end, years = _span(graph, assets)
    if len(years) < min_years:
        return []
    # The subtitle names the day the photos were taken (the most common one), not today's date.
    month, day = Counter(graph.nodes[a]["date"][5:] for a in assets).most_common(1)[0][0].split("-")
    taken_on = date(2000, int(month), int(day))  # a leap year: any month and day is valid
    return [
        Candidate(
            theme="on_this_day",
            key=f"on_this_day:{today.strftime('%m-%d')}",
            people=[],
            assets=sorted(int(graph.nodes[a]["id"]) for a in assets),
            context={
                "today": today,
                "day": taken_on,
                "start": start,
                "end": end,
                "years": years,
                "count": len(assets),
            },
            reason=f"{len(assets)} photos taken around {today.strftime('%d %B')} in {', '.join(map(str, years))}",
            score=len(years) + 0.01 * len(assets),
        )
    ]


def group_gathering(given: RuleInput) -> list[Candidate]:
    """The graph's groups of at least `min_people`, with at least `min_photos` together."""
    graph, params = given.graph, given.params
    min_people, min_photos = int(params.get("min_people", 3)), int(params.get("min_photos", 6))
    found = [
        _gathering(graph, "group_gathering", [m["node"] for m in group["members"]],
                   "{names} gathered in {moments} moments ({photos} photos)")
        for group in important_groups(graph, limit=None)
        if group["size"] >= min_people
    ]  # fmt: skip
    return [c for c in found if len(c.assets) >= min_photos]


def year_in_review(given: RuleInput) -> list[Candidate]:
    """Each year with at least `min_moments` moments."""
    graph, params = given.graph, given.params
    min_moments = int(params.get("min_moments", 6))
    out = []
    for year in graph.graph["years"]:
        moments = neighbours_of_kind(graph, year, "moment")
        assets = _moments_assets(graph, moments)
        if len(moments) < min_moments or not assets:
            continue
        number = int(graph.nodes[year]["id"])
        start, end, _ = _span(graph, assets)
        out.append(
            Candidate(
                theme="year_in_review",
                key=f"year_in_review:{number}",
                people=[],
                assets=[int(graph.nodes[a]["id"]) for a in assets],
                context={
                    "year": number,
                    "start": start,
                    "end": end,
                    "years": [number],
                    "count": len(assets),
                    "per_group": ("moment", int(params.get("per_moment", 0))),
                },
                reason=f"{number}: {len(moments)} moments, {len(assets)} photos",
                score=len(moments) / 10 + 0.001 * len(assets),
            )
        )
    return out


RULES: dict[str, Rule] = {
    "together": together,
    "person_over_the_years": person_over_the_years,
    "trip": trip,
    "on_this_day": on_this_day,
    "group_gathering": group_gathering,
    "year_in_review": year_in_review,
}
