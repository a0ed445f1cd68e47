"""Incremental updates give exactly the graph a full rebuild gives, and survive save/load."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import graph as kg

HOME = (38.7223, -9.1393)
AWAY = [(48.8566, 2.3522), (41.3874, 2.1686), (51.5072, -0.1276)]
DAY = 86400.0


def random_library(seed: int, moments: int = 60, people: int = 12) -> kg.LibrarySnapshot:
    """Moments at home and on short trips, people drawn from three circles, some faces unknown."""
    rng = random.Random(seed)
    circles = [list(range(1, 5)), list(range(5, 9)), list(range(9, people + 1))]
    assets, moment_rows, faces = [], [], []
    clock, asset_id, face_id = 1_600_000_000.0, 1, 1
    trip_left, where = 0, HOME
    for mid in range(1, moments + 1):
        if trip_left == 0 and rng.random() < 0.1:
            trip_left, where = rng.randint(2, 4), rng.choice(AWAY)
        if trip_left:
            trip_left -= 1
            clock += DAY * 0.8
            centre = where
        else:
            clock += DAY * rng.uniform(2, 9)
            centre = HOME
        lat, lon = centre[0] + rng.gauss(0, 0.01), centre[1] + rng.gauss(0, 0.01)
        count = rng.randint(1, 6)
        moment_rows.append(kg.MomentRecord(mid, clock, clock + 600 * (count - 1), lat, lon))
        present = rng.sample(rng.choice(circles), 3)
        for i in range(count):
            gps = rng.random() < 0.8
            assets.append(
                kg.AssetRecord(asset_id, f"/p/{asset_id}.jpg", clock + 600 * i, None,
                            lat if gps else None, lon if gps else None, mid, rng.random() < 0.05)
            )  # fmt: skip
            for person in rng.sample(present, rng.randint(1, 3)):
                person_id = None if rng.random() < 0.1 else person
                faces.append(kg.ObservationRecord(face_id, asset_id, person_id, round(rng.random(), 3)))
                face_id += 1
            asset_id += 1
    named = tuple(kg.PersonRecord(p, f"P{p}" if p % 3 else None, hidden=p == 7) for p in range(1, people + 1))
    return kg.LibrarySnapshot(tuple(assets), tuple(moment_rows), tuple(faces), named)


def canonical(graph: nx.Graph) -> dict[str, Any]:
    """Everything in the graph, in a form that compares equal whatever the insertion order."""
    nodes = {n: dict(sorted(a.items())) for n, a in graph.nodes(data=True)}
    edges = {tuple(sorted((u, v))): dict(sorted(d.items())) for u, v, d in graph.edges(data=True)}
    meta = {k: v for k, v in graph.graph.items()}
    return {"nodes": nodes, "edges": edges, "meta": meta}


def split(snapshot: kg.LibrarySnapshot, moment_cut: int) -> tuple[kg.LibrarySnapshot, kg.LibraryDelta]:
    early_assets = {a.id for a in snapshot.assets if a.moment_id is not None and a.moment_id <= moment_cut}
    first = kg.LibrarySnapshot(
        tuple(a for a in snapshot.assets if a.id in early_assets),
        tuple(m for m in snapshot.moments if m.id <= moment_cut),
        tuple(o for o in snapshot.observations if o.asset_id in early_assets),
        snapshot.people,
    )
    rest = kg.LibraryDelta(
        tuple(a for a in snapshot.assets if a.id not in early_assets),
        tuple(m for m in snapshot.moments if m.id > moment_cut),
        tuple(o for o in snapshot.observations if o.asset_id not in early_assets),
    )
    return first, rest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_update_with_new_photos_equals_full_build(seed: int) -> None:
    snapshot = random_library(seed)
    first, rest = split(snapshot, 40)
    incremental = kg.update_graph(kg.build_graph(first), rest)
    full = kg.build_graph(snapshot)
    assert canonical(incremental) == canonical(full)
    assert full.graph["trips"] and full.graph["groups"]  # the library exercises both


def test_reassigning_hiding_moving_and_removing_equals_full_build() -> None:
    snapshot = random_library(4)
    graph = kg.build_graph(snapshot)
    faces = list(snapshot.observations)
    assets = list(snapshot.assets)
    moments = list(snapshot.moments)
    # a face moves to another person, another loses its person
    changed_faces = (replace(faces[0], person_id=11), replace(faces[1], person_id=None))
    # a photo is hidden, another unhidden, one moves to the next moment
    hidden = replace(assets[2], hidden=not assets[2].hidden)
    moved = replace(assets[3], moment_id=(assets[3].moment_id or 0) + 1)
    # a moment is relocated to Porto; a person is renamed and another hidden
    relocated = replace(moments[5], latitude=41.1496, longitude=-8.6109)
    people = (kg.PersonRecord(1, "Renamed"), kg.PersonRecord(2, "P2", hidden=True))
    removed_asset = assets[10].id
    delta = kg.LibraryDelta(
        assets=(hidden, moved),
        moments=(relocated,),
        observations=changed_faces,
        people=people,
        removed_asset_ids=(removed_asset,),
        removed_person_ids=(12,),
    )
    kg.update_graph(graph, delta)

    faces[0], faces[1] = changed_faces
    assets[2], assets[3] = hidden, moved
    moments[5] = relocated
    expected = kg.LibrarySnapshot(
        tuple(a for a in assets if a.id != removed_asset),
        tuple(moments),
        tuple(f for f in faces if f.asset_id != removed_asset and f.person_id != 12),
        tuple(p for p in snapshot.people if p.id not in (1, 2, 12)) + people,
    )
    assert canonical(graph) == canonical(kg.build_graph(expected))


def test_removing_a_moment_detaches_its_photos() -> None:
    snapshot = random_library(5)
    graph = kg.build_graph(snapshot)
    gone = snapshot.moments[3].id
    kg.update_graph(graph, kg.LibraryDelta(removed_moment_ids=(gone,)))
    expected = kg.LibrarySnapshot(
        tuple(replace(a, moment_id=None) if a.moment_id == gone else a for a in snapshot.assets),
        tuple(m for m in snapshot.moments if m.id != gone),
        snapshot.observations,
        snapshot.people,
    )
    assert canonical(graph) == canonical(kg.build_graph(expected))


def test_saved_graph_loads_equal_and_keeps_updating(tmp_path: Path) -> None:
    snapshot = random_library(6)
    first, rest = split(snapshot, 30)
    path = kg.save_graph(kg.build_graph(first), tmp_path / "graph.json")
    loaded = kg.load_graph(path)
    assert canonical(loaded) == canonical(kg.build_graph(first))
    kg.update_graph(loaded, rest)
    full = kg.build_graph(snapshot)
    assert canonical(loaded) == canonical(full)
    for query in (kg.important_people, kg.important_groups, kg.frequent_places, kg.trips):
        assert query(loaded) == query(full)
    assert kg.search(loaded, ["1"]) == kg.search(full, ["1"])


def test_home_override_moves_home_and_trips() -> None:
    snapshot = random_library(7)
    inferred = kg.build_graph(snapshot)
    assert inferred.graph["home"]["place"] == "place:PT/Lisbon/Lisbon"
    paris = kg.build_graph(replace(snapshot, home=AWAY[0]))
    assert paris.graph["home"]["place"] == "place:FR/Ile-de-France/Paris"
    assert paris.graph["home"]["source"] == "snapshot"
    # From Paris, the Lisbon moments are far away: the trips are not the same ones.
    assert [t["title"] for t in kg.trips(paris)] != [t["title"] for t in kg.trips(inferred)]


def test_observation_of_an_unknown_asset_is_refused() -> None:
    graph = kg.build_graph(random_library(8))
    with pytest.raises(ValueError, match="asset 999999"):
        kg.update_graph(graph, kg.LibraryDelta(observations=(kg.ObservationRecord(1, 999999, 1),)))


def test_saved_file_is_networkx_node_link_json(tmp_path: Path) -> None:
    import json

    graph = kg.build_graph(random_library(9, moments=10))
    path = kg.save_graph(graph, tmp_path / "graph.json")
    data = json.loads(path.read_text())
    again = nx.node_link_graph(data, name="node", edges="edges")
    assert canonical(again) == canonical(graph)
    data["graph"]["format_version"] = 0
    (tmp_path / "old.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="rebuild"):
        kg.load_graph(tmp_path / "old.json")
