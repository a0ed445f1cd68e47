"""The shapes of the rows the graph queries answer with: one TypedDict per row kind.

Types only: at run time every row is the plain, JSON-ready dict it always was (TypedDicts are
dicts), so `--json` output and the web templates read them unchanged. Dates are local ISO days
("2023-05-20"); ids are the library's integer ids; `node` is the graph's node name ("person:7").
"""

from __future__ import annotations

from typing import TypedDict


class PersonSummary(TypedDict):
    """Who a person is, as every person-shaped row starts (`graph.names.person_summary`)."""

    id: int
    node: str
    name: str | None  # None until the user names them
    label: str  # the name, or "Person 7"


class PersonRow(PersonSummary):
    """`important_people`: the importance score, its four parts and a sentence saying why."""

    score: float
    photos: int
    moments: int
    first_seen: str | None
    last_seen: str | None
    years: int
    people: int  # other people seen with them
    frequency: float
    recency: float
    spread: float
    centrality: float
    reason: str
    rank: int


class GroupRow(TypedDict):
    """`important_groups`."""

    node: str
    label: str
    members: list[PersonSummary]
    size: int
    moments: int
    photos: int
    first_together: str | None
    last_together: str | None
    years: int
    reason: str
    rank: int


class PlaceRow(TypedDict):
    """`frequent_places`."""

    node: str
    label: str
    city: str
    region: str
    country: str
    days: int
    moments: int
    photos: int
    first_visit: str | None
    last_visit: str | None
    is_home: bool
    rank: int


class HomeRow(TypedDict):
    """`home`: the home trips are measured from, and whether it was inferred or given."""

    place: str | None
    latitude: float
    longitude: float
    source: str
    label: str | None


class TripRow(TypedDict):
    """`trips`. `place` is the name the title leads with (a city, region, country, or two
    countries: "Portugal & Spain"); None when no photo of the trip has a place."""

    node: str
    title: str
    place: str | None
    start: str
    end: str
    days: float
    moments: int
    photos: int
    max_distance_km: float
    places: list[str]
    people: list[str]
    rank: int


class LastSeenRow(PersonSummary):
    """`last_seen`."""

    moment: int
    start: str
    end: str | None
    place: str | None
    photos: list[int]
    days_before_latest: int


# "with" is a Python keyword, hence the functional form.
TimelineRow = TypedDict(
    "TimelineRow",
    {
        "moment": int,
        "start": str,
        "end": str | None,
        "place": str | None,
        "photos": int,
        "with": list[str],
        "trip": str | None,
    },
)


class AssetRow(TypedDict):
    """`asset_rows` / `search`: one photo."""

    id: int
    path: str
    taken_at: str | None
    date: str | None
    moment: int | None
    place: str | None
    people: list[str]


class TogetherRow(TypedDict):
    """`photos_together`: one moment's photos showing everyone (moment None: photos in no moment)."""

    moment: int | None
    start: str | None
    end: str | None
    place: str | None
    photos: list[int]
