"""Every graph query's exact answer on a small hand-built library, ties and the empty library.

The library (home Lisbon; a trip to Paris and Versailles in May 2023; Cascais is a nearby outing):
  m1 2023-01-10 Lisbon     101 Ana Ben         102 Ana
  m2 2023-02-14 Lisbon     201 Ana Ben P3      202 Ben P3
  m3 2023-05-20 Paris      301 Ana P3          302 Ana
  m4 2023-05-21 Paris      401 Ana P3
  m5 2023-05-22 Versailles 501 P3
  m6 2023-08-01 Lisbon     601 Ana Ben Eve*    602 (hidden photo) Ana Ben Dora
  m7 2024-03-03 Lisbon     701 Ben Dora Finn   702 (no GPS) Ana Ben
  m8 2024-03-04 Cascais    801 Dora Finn
  (no moment) 2024-05-01 Lisbon 901 nobody
P3 is unnamed ("Person 3"), Eve is hidden. Dora and Finn appear in exactly the same photos, so
they tie on everything and the id must decide.
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from graph import (
    AmbiguousPersonError,
    AssetRecord,
    LibrarySnapshot,
    MomentRecord,
    ObservationRecord,
    PersonRecord,
    UnknownPersonError,
    UnknownPlaceError,
    build_graph,
    frequent_places,
    home,
    important_groups,
    important_people,
    last_seen,
    person_timeline,
    photos_together,
    resolve_person,
    search,
    trips,
    update_graph,
)

LISBON = (38.7223, -9.1393)
PARIS = (48.8566, 2.3522)
VERSAILLES = (48.8049, 2.1204)
CASCAIS = (38.6979, -9.4215)
ANA, BEN, P3, DORA, EVE, FINN = 1, 2, 3, 4, 5, 6

# moment id -> (local start "YYYY-MM-DDTHH:MM", UTC offset hours, place, {asset: people})
MOMENTS: dict[int, tuple[str, int, tuple[float, float], dict[int, list[int]]]] = {
    1: ("2023-01-10T10:00", 0, LISBON, {101: [ANA, BEN], 102: [ANA]}),
    2: ("2023-02-14T19:00", 0, LISBON, {201: [ANA, BEN, P3], 202: [BEN, P3]}),
    3: ("2023-05-20T10:00", 2, PARIS, {301: [ANA, P3], 302: [ANA]}),
    4: ("2023-05-21T11:00", 2, PARIS, {401: [ANA, P3]}),
    5: ("2023-05-22T09:00", 2, VERSAILLES, {501: [P3]}),
    # 00:30 local on 1 August is still 31 July in UTC: dates must follow the local clock.
    6: ("2023-08-01T00:30", 1, LISBON, {601: [ANA, BEN, EVE], 602: [ANA, BEN, DORA]}),
    7: ("2024-03-03T15:00", 0, LISBON, {701: [BEN, DORA, FINN], 702: [ANA, BEN]}),
    8: ("2024-03-04T12:00", 0, CASCAIS, {801: [DORA, FINN]}),
}
HIDDEN_ASSETS = {602}
NO_GPS = {702}


def _iso(local: str, offset_h: int, minutes: int) -> tuple[str, float]:
    stamp = datetime.fromisoformat(f"{local}:00+{offset_h:02d}:00").timestamp() + minutes * 60
    text = datetime.fromtimestamp(
        stamp, datetime.fromisoformat(f"{local}+{offset_h:02d}:00").tzinfo
    ).isoformat()
    return text, stamp


def library() -> LibrarySnapshot:
    assets: list[AssetRecord] = []
    moments: list[MomentRecord] = []
    faces: list[ObservationRecord] = []
    for mid, (local, offset, (lat, lon), photos) in MOMENTS.items():
        times = [_iso(local, offset, 10 * i) for i in range(len(photos))]
        moments.append(MomentRecord(mid, times[0][1], times[-1][1], lat, lon, times[0][0], times[-1][0]))
        for (aid, shown), (text, stamp) in zip(photos.items(), times, strict=True):
            gps = aid not in NO_GPS
            assets.append(
                AssetRecord(
                    aid, f"/p/{aid}.jpg", stamp, text, lat if gps else None, lon if gps else None, mid,
                    hidden=aid in HIDDEN_ASSETS,
                )
            )  # fmt: skip
            for person in shown:
                faces.append(ObservationRecord(aid * 10 + person, aid, person, 0.5 + person / 100))
    loose = datetime.fromisoformat("2024-05-01T12:00:00+00:00")
    assets.append(AssetRecord(901, "/p/901.jpg", loose.timestamp(), loose.isoformat(), *LISBON, None))
    people = [
        PersonRecord(ANA, "Ana"),
        PersonRecord(BEN, "Ben"),
        PersonRecord(P3, None),
        PersonRecord(DORA, "Dora"),
        PersonRecord(EVE, "Eve", hidden=True),
        PersonRecord(FINN, "Finn"),
    ]
    return LibrarySnapshot(tuple(assets), tuple(moments), tuple(faces), tuple(people))


@pytest.fixture(scope="module")
def graph():
    return build_graph(library())


def test_important_people_ranked_with_reasons_and_id_breaks_ties(graph) -> None:
    rows = important_people(graph, limit=None)
    assert [r["id"] for r in rows] == [ANA, BEN, DORA, FINN, P3]  # Eve is hidden
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    ana, ben, dora, finn, p3 = rows
    assert (ana["photos"], ana["moments"], ana["years"], ana["people"]) == (8, 6, 2, 4)
    assert (ben["photos"], ben["moments"], ben["people"]) == (6, 4, 4)
    assert (p3["label"], p3["name"], p3["photos"], p3["moments"], p3["years"]) == ("Person 3", None, 5, 4, 1)
    assert ben["frequency"] == round(math.log(5) / math.log(7), 4)
    assert p3["spread"] == 0.5 and p3["centrality"] == 0.5
    # The hidden photo 602 counts for no one: Dora has 2 photos, not 3.
    assert (dora["photos"], dora["moments"], dora["people"]) == (2, 2, 3)
    assert {k: v for k, v in dora.items() if k not in ("id", "node", "name", "label", "rank")} == {
        k: v for k, v in finn.items() if k not in ("id", "node", "name", "label", "rank")
    }
    assert ana["first_seen"] == "2023-01-10" and ana["last_seen"] == "2024-03-03"
    assert ana["reason"] == (
        "in 6 moments (8 photos); seen with 4 other people; seen in 2 of 2 years; last seen 2024-03-03"
    )
    assert [r["id"] for r in important_people(graph, limit=2)] == [ANA, BEN]


def test_important_groups(graph) -> None:
    rows = important_groups(graph)
    assert [(r["label"], r["moments"], r["photos"]) for r in rows] == [
        ("Ana & Ben", 4, 4),
        ("Ana & Person 3", 3, 3),
    ]
    assert rows[0]["node"] == "group:1-2"
    assert rows[0]["first_together"] == "2023-01-10" and rows[0]["last_together"] == "2024-03-03"
    assert [m["id"] for m in rows[1]["members"]] == [ANA, P3]
    assert rows[0]["reason"] == "together in 4 moments over 2 years, last on 2024-03-03"


def test_frequent_places_and_home(graph) -> None:
    rows = frequent_places(graph)
    assert [(r["label"], r["days"], r["moments"], r["photos"], r["is_home"]) for r in rows] == [
        ("Lisbon, Portugal", 5, 4, 8, True),  # 702 has no GPS and inherits Lisbon; 602 is hidden
        ("Paris, France", 2, 2, 3, False),
        # tie on days, moments and photos: the place id decides (FR/... before PT/...)
        ("Versailles, France", 1, 1, 1, False),
        ("Cascais, Portugal", 1, 1, 1, False),
    ]
    assert rows[0]["first_visit"] == "2023-01-10" and rows[0]["last_visit"] == "2024-05-01"
    assert rows[2]["node"] == "place:FR/Ile-de-France/Versailles"
    assert home(graph) == {
        "place": "place:PT/Lisbon/Lisbon",
        "label": "Lisbon, Portugal",
        "latitude": 38.71667,
        "longitude": -9.13333,
        "source": "inferred",
    }


def test_trips(graph) -> None:
    rows = trips(graph)
    assert len(rows) == 1
    trip = rows[0]
    assert (trip["title"], trip["place"]) == ("Paris, May 2023", "Paris")  # Paris has 3 of the 4 photos
    assert (trip["start"], trip["end"], trip["moments"], trip["photos"]) == ("2023-05-20", "2023-05-22", 3, 4)
    assert trip["places"] == ["Paris, France", "Versailles, France"]
    assert trip["people"] == ["Ana", "Person 3"]  # 3 photos each: the id decides
    assert 1440 < trip["max_distance_km"] < 1460


def test_last_seen(graph) -> None:
    seen = last_seen(graph, "ana")
    assert seen is not None
    assert (seen["label"], seen["moment"], seen["start"], seen["place"], seen["photos"]) == (
        "Ana",
        7,
        "2024-03-03",
        "Lisbon, Portugal",
        [702],
    )
    assert seen["days_before_latest"] == 0  # m8 ends 21 h later
    p3 = last_seen(graph, "Person 3")
    assert p3 is not None and (p3["moment"], p3["place"], p3["photos"]) == (5, "Versailles, France", [501])


def test_person_timeline(graph) -> None:
    rows = person_timeline(graph, "3")
    assert [(r["moment"], r["start"], r["place"], r["photos"], r["with"], r["trip"]) for r in rows] == [
        (2, "2023-02-14", "Lisbon, Portugal", 2, ["Ben", "Ana"], None),  # Ben in 2 photos, Ana in 1
        (3, "2023-05-20", "Paris, France", 1, ["Ana"], "Paris, May 2023"),
        (4, "2023-05-21", "Paris, France", 1, ["Ana"], "Paris, May 2023"),
        (5, "2023-05-22", "Versailles, France", 1, [], "Paris, May 2023"),
    ]
    assert [r["moment"] for r in person_timeline(graph, "person:3", limit=2)] == [4, 5]
    # Eve (hidden) is left out of who was there; the local date of m6 is 1 August.
    ana = {r["moment"]: r for r in person_timeline(graph, ANA)}
    assert ana[6]["with"] == ["Ben"] and ana[6]["start"] == "2023-08-01"


def _ids(rows: list[dict]) -> list[int]:
    return [r["id"] for r in rows]


def test_search(graph) -> None:
    assert _ids(search(graph, ["Ana", "Ben"])) == [702, 601, 201, 101]  # 602 is hidden
    assert _ids(search(graph, ["Ben", "Dora"], match="any")) == [801, 702, 701, 601, 202, 201, 101]
    assert _ids(search(graph, ["Ana"], exclude=["Ben"])) == [401, 302, 301, 102]
    assert _ids(search(graph, place="France")) == [501, 401, 302, 301]
    assert _ids(search(graph, place="paris")) == [401, 302, 301]
    assert _ids(search(graph, date_from="2023-05-21", date_to="2023-05-22")) == [501, 401]
    assert _ids(search(graph, ["Ana"], place="Portugal", date_from="2024-01-01")) == [702]
    assert _ids(search(graph, ["Ana"], limit=2)) == [702, 601]
    assert _ids(search(graph, date_to="2023-01-31")) == [102, 101]
    # With a limit and no person the search walks moments newest first and stops early; the
    # photo in no moment (901) must still be found.
    assert _ids(search(graph, place="Portugal", limit=3)) == [901, 801, 702]
    assert _ids(search(graph, place="Portugal"))[:3] == [901, 801, 702]
    assert _ids(search(graph, limit=2)) == [901, 801]
    assert _ids(search(graph, date_from="2023-05-21", date_to="2023-05-22", limit=1)) == [501]
    assert _ids(search(graph, place="France", exclude=["Ana"], limit=5)) == [501]
    assert search(graph, place="France", limit=0) == []
    row = search(graph, ["Ana", "Ben"])[1]
    assert row == {
        "id": 601,
        "path": "/p/601.jpg",
        "taken_at": "2023-08-01T00:30:00+01:00",
        "date": "2023-08-01",
        "moment": 6,
        "place": "Lisbon, Portugal",
        "people": ["Ana", "Ben"],  # Eve is hidden
    }
    with pytest.raises(ValueError):
        search(graph, ["Ana"], match="some")  # type: ignore[arg-type]
    with pytest.raises(UnknownPlaceError, match="Paris"):
        search(graph, place="Pariss")


def test_photos_together(graph) -> None:
    rows = photos_together(graph, ["Ana", "Ben"])
    assert [(r["moment"], r["start"], r["photos"]) for r in rows] == [
        (7, "2024-03-03", [702]),
        (6, "2023-08-01", [601]),
        (2, "2023-02-14", [201]),
        (1, "2023-01-10", [101]),
    ]
    assert photos_together(graph, ["Ana", "Ben", "Person 3"])[0]["photos"] == [201]
    assert photos_together(graph, ["Dora", "Person 3"]) == []
    with pytest.raises(ValueError):
        photos_together(graph, ["Ana", "ana"])


def test_names_resolve_and_unknowns_list_close_matches(graph) -> None:
    assert resolve_person(graph, "Ana") == "person:1"
    assert resolve_person(graph, "2") == "person:2"
    assert resolve_person(graph, "person:3") == resolve_person(graph, "Person 3") == "person:3"
    assert resolve_person(graph, 6) == "person:6"
    with pytest.raises(UnknownPersonError) as error:
        resolve_person(graph, "Anna")
    assert error.value.matches == ["Ana"] and "did you mean 'Ana'" in str(error.value)
    with pytest.raises(UnknownPersonError):
        resolve_person(graph, "Eve")  # hidden people cannot be asked for
    with pytest.raises(UnknownPersonError):
        resolve_person(graph, "5")
    with pytest.raises(UnknownPersonError):
        search(graph, ["Zed"])


def test_a_shared_name_is_ambiguous() -> None:
    graph = build_graph(library())
    update_graph(graph, LibrarySnapshot(people=(PersonRecord(FINN, "Ana"),)))
    with pytest.raises(AmbiguousPersonError) as error:
        resolve_person(graph, "Ana")
    assert error.value.matches == ["person:1", "person:6"]
    assert resolve_person(graph, "6") == "person:6"


def test_empty_library() -> None:
    graph = build_graph(LibrarySnapshot())
    assert important_people(graph) == []
    assert important_groups(graph) == []
    assert frequent_places(graph) == []
    assert trips(graph) == []
    assert home(graph) is None
    assert search(graph) == []
    assert search(graph, date_from="2020-01-01") == []
    with pytest.raises(UnknownPersonError):
        last_seen(graph, "Ana")


def test_groups_and_people_that_tie_on_everything_are_ordered_by_id() -> None:
    # Two couples photographed at the same instants by two cameras (moments 1-3 and 4-6, no GPS):
    # equal moments, photos, last time and size, so only the ids can order them.
    assets, moments, faces = [], [], []
    for mid in range(1, 7):
        stamp = 1_700_000_000.0 + ((mid - 1) % 3) * 86400
        moments.append(MomentRecord(mid, stamp, stamp))
        assets.append(AssetRecord(mid, f"/p/{mid}.jpg", stamp, None, None, None, mid))
        couple = (3, 4) if mid > 3 else (1, 2)
        faces += [ObservationRecord(mid * 10 + p, mid, p, 0.9) for p in couple]
    people = tuple(PersonRecord(p, None) for p in (4, 3, 2, 1))
    graph = build_graph(LibrarySnapshot(tuple(assets), tuple(moments), tuple(faces), people))
    groups = important_groups(graph)
    assert [(g["node"], g["label"], g["moments"], g["photos"]) for g in groups] == [
        ("group:1-2", "Person 1 & Person 2", 3, 3),
        ("group:3-4", "Person 3 & Person 4", 3, 3),
    ]
    assert [p["id"] for p in important_people(graph)] == [1, 2, 3, 4]
    assert len({p["score"] for p in important_people(graph)}) == 1
    assert trips(graph) == [] and home(graph) is None  # no GPS: no home, no trips
