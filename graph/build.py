"""Build the knowledge graph from a snapshot, and update it in place from a delta.

One undirected `networkx.Graph`. Nodes are "kind:id" strings with a `kind` attribute:
  person:7  asset:12  moment:3  place:PT/Lisbon/Lisbon  trip:3  group:4-7  year:2023
Edges carry a `kind`:
  appears-in    person - asset   confidence (best of the person's faces there), observations
  in-moment     asset - moment
  at-place      asset - place, moment - place  (an asset without GPS takes its moment's place)
  in-year       moment - year
  present-at    person - moment  photos: the person's visible photos in that moment
  co-occurs     person - person  shared_assets, shared_moments (weighted co-occurrence)
  part-of-trip  moment - trip
  member-of-group person - group

How it stays incremental: the counters (a person's photos, present-at photos, co-occurrence
weights, a moment's photos) are sums over visible assets. Every change to an asset - new, moved to
another moment, hidden, a face reassigned, deleted - is done as "withdraw the asset's old
contribution, change it, contribute again", so a delta costs work in proportion to the assets it
touches. What depends on the whole library is then re-derived from those counters, not from the
assets: person and place summaries (only the touched ones), the home, trips (from the moments),
groups (from the co-occurrence edges). `build_graph` is `update_graph` on an empty graph, so the
two can never disagree.

Hidden assets stay in the graph (so unhiding needs no rebuild) but count nowhere and every query
skips them; hidden people keep their counters and every query skips them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph.dates import local_date, local_datetime
from graph.derived import changed as forget_derived
from graph.groups import find_groups
from graph.places import Place, haversine_km, reverse_geocode
from graph.records import LibraryDelta, LibrarySnapshot
from graph.settings import DEFAULT_SETTINGS, GraphSettings
from graph.trip_detection import MomentStop, detect_trips, trip_place, trip_title

FORMAT_VERSION = 2  # 2: trips carry `place_name`, the name their title leads with


def node_id(kind: str, key: int | str) -> str:
    return f"{kind}:{key}"


def node_key(node: str) -> int:
    """The integer id of "person:7", "asset:12", ..."""
    return int(node.split(":", 1)[1])


def neighbours_of_kind(graph: nx.Graph, node: str, kind: str) -> list[str]:
    # graph._adj is networkx's own adjacency dict; its public views cost ~5x more per step, which
    # is most of the build time at 100k photos.
    prefix = kind + ":"
    return [n for n in graph._adj[node] if n.startswith(prefix)]


@dataclass
class _Touched:
    persons: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)
    visibility_changed: bool = False


class _Counters:
    """Withdraw / contribute one asset's share of the counters; remembers what it touched."""

    def __init__(self, graph: nx.Graph, touched: _Touched) -> None:
        self.graph = graph
        self.touched = touched
        self._moment_people: dict[str, set[str]] = {}

    def moment_people(self, moment: str) -> set[str]:
        people = self._moment_people.get(moment)
        if people is None:
            people = set(neighbours_of_kind(self.graph, moment, "person"))
            self._moment_people[moment] = people
        return people

    def forget_moment(self, moment: str) -> None:
        self._moment_people.pop(moment, None)

    def _co(self, p: str, q: str, field_name: str, step: int) -> None:
        graph = self.graph
        data = graph._adj[p].get(q)
        if data is None:
            graph.add_edge(p, q, kind="co-occurs", shared_assets=0, shared_moments=0)
            data = graph._adj[p][q]
        data[field_name] += step
        if data["shared_assets"] <= 0 and data["shared_moments"] <= 0:
            graph.remove_edge(p, q)
        self.touched.persons.add(q)

    def apply(self, asset: str, step: int) -> None:
        graph, nodes, adj, touched = self.graph, self.graph._node, self.graph._adj, self.touched
        attrs = nodes[asset]
        if attrs["hidden"]:
            return
        place = attrs["place"]
        if place is not None:
            counts = nodes[place]
            counts["photos"] += step
            day = attrs["date"]
            if day is not None:
                days = counts["day_photos"]
                days[day] = days.get(day, 0) + step
                if days[day] <= 0:
                    del days[day]
            touched.places.add(place)
        moment = attrs["moment"]
        if moment is not None:
            moment_attrs = nodes[moment]
            before = moment_attrs["photos"]
            moment_attrs["photos"] = before + step
            moment_place = moment_attrs["place"]
            if moment_place is not None and (before == 0 or before + step == 0):
                nodes[moment_place]["moments"] += step
                touched.places.add(moment_place)
        persons = sorted(n for n in adj[asset] if n.startswith("person:"))
        for i, p in enumerate(persons):
            nodes[p]["photos"] += step
            touched.persons.add(p)
            for q in persons[i + 1 :]:
                self._co(p, q, "shared_assets", step)
            if moment is None:
                continue
            present = adj[p].get(moment)
            people = self.moment_people(moment)
            if step > 0:
                if present is None:
                    for q in people:
                        self._co(p, q, "shared_moments", 1)
                    graph.add_edge(p, moment, kind="present-at", photos=1)
                    people.add(p)
                else:
                    present["photos"] += 1
            else:
                present["photos"] -= 1
                if present["photos"] <= 0:
                    graph.remove_edge(p, moment)
                    people.discard(p)
                    for q in people:
                        self._co(p, q, "shared_moments", -1)


def build_graph(snapshot: LibrarySnapshot, settings: GraphSettings | None = None) -> nx.Graph:
    """The whole knowledge graph of a library."""
    graph = nx.Graph()
    graph.graph.update(
        format_version=FORMAT_VERSION,
        settings=(settings or DEFAULT_SETTINGS).to_json(),
        home=None,
        home_override=None,
        latest_ts=None,
        people=[],
        places=[],
        years=[],
        trips=[],
        groups=[],
        loose_assets=[],  # assets in no moment: the only ones a walk over the moments misses
    )
    return update_graph(graph, snapshot, settings)


def update_graph(
    graph: nx.Graph, delta: LibrarySnapshot | LibraryDelta, settings: GraphSettings | None = None
) -> nx.Graph:
    """Apply a delta (upserts by id, plus removals) in place and return the same graph."""
    forget_derived(graph)
    if settings is None:
        settings = GraphSettings.from_json(graph.graph["settings"])
    else:
        graph.graph["settings"] = settings.to_json()
    if delta.home is not None:
        graph.graph["home_override"] = [float(delta.home[0]), float(delta.home[1])]
    touched = _Touched()
    counters = _Counters(graph, touched)
    _apply_people(graph, delta, touched)
    affected = _affected_assets(graph, delta)
    for asset in sorted(affected):
        counters.apply(asset, -1)
    detached = _apply_removals(graph, delta, counters, touched)
    relocated = _apply_moments(graph, delta, settings, touched)
    _apply_assets(graph, delta, touched)
    _apply_observations(graph, delta, touched)
    replace = [node_id("asset", a.id) for a in delta.assets] + relocated + detached
    _place_assets(graph, replace, settings, touched)
    _track_loose_assets(graph, replace)
    for asset in sorted(affected | {node_id("asset", a.id) for a in delta.assets}):
        if asset in graph:
            counters.apply(asset, +1)
    _derive(graph, settings, touched)
    return graph


# --- applying records --------------------------------------------------------------------------


def _apply_people(graph: nx.Graph, delta: LibrarySnapshot, touched: _Touched) -> None:
    for person in delta.people:
        node = node_id("person", person.id)
        if node in graph:
            attrs = graph.nodes[node]
            if attrs["hidden"] != bool(person.hidden):
                touched.visibility_changed = True
            attrs["name"], attrs["hidden"] = person.name, bool(person.hidden)
        else:
            _add_person(graph, person.id, person.name, bool(person.hidden))
        touched.persons.add(node)


def _add_person(graph: nx.Graph, person_id: int, name: str | None, hidden: bool) -> str:
    node = node_id("person", person_id)
    graph.add_node(
        node, kind="person", id=person_id, name=name, hidden=hidden, photos=0, moments=0,
        first_ts=None, first_date=None, last_ts=None, last_date=None, last_moment=None, years=[], people=0,
    )  # fmt: skip
    return node


def _affected_assets(graph: nx.Graph, delta: LibrarySnapshot) -> set[str]:
    """Assets already in the graph whose contribution the delta may change."""
    affected = {node_id("asset", a.id) for a in delta.assets}
    affected |= {node_id("asset", o.asset_id) for o in delta.observations}
    # An existing moment that changes (dates, centroid) takes all its photos out and back in, so
    # the counters that hang off its date and place stay exact.
    for record in delta.moments:
        moment = node_id("moment", record.id)
        if moment in graph:
            affected.update(neighbours_of_kind(graph, moment, "asset"))
    if isinstance(delta, LibraryDelta):
        affected |= {node_id("asset", a) for a in delta.removed_asset_ids}
        for person_id in delta.removed_person_ids:
            person = node_id("person", person_id)
            if person in graph:
                affected.update(neighbours_of_kind(graph, person, "asset"))
        for moment_id in delta.removed_moment_ids:
            moment = node_id("moment", moment_id)
            if moment in graph:
                affected.update(neighbours_of_kind(graph, moment, "asset"))
    return {a for a in affected if a in graph}


def _apply_removals(
    graph: nx.Graph, delta: LibrarySnapshot, counters: _Counters, touched: _Touched
) -> list[str]:
    """Delete what the delta removes; returns the photos of removed moments (to re-place)."""
    detached: list[str] = []
    if not isinstance(delta, LibraryDelta):
        return detached
    for asset_id in delta.removed_asset_ids:
        asset = node_id("asset", asset_id)
        if asset in graph:
            touched.places.update(neighbours_of_kind(graph, asset, "place"))
            graph.remove_node(asset)
    for person_id in delta.removed_person_ids:
        person = node_id("person", person_id)
        if person in graph:
            touched.persons.update(neighbours_of_kind(graph, person, "person"))
            touched.persons.discard(person)
            graph.remove_node(person)
            touched.visibility_changed = True
    for moment_id in delta.removed_moment_ids:
        moment = node_id("moment", moment_id)
        if moment in graph:
            touched.places.update(neighbours_of_kind(graph, moment, "place"))
            for asset in neighbours_of_kind(graph, moment, "asset"):
                graph.nodes[asset]["moment"] = None
                detached.append(asset)
            graph.remove_node(moment)
            counters.forget_moment(moment)
    return detached


def _apply_moments(
    graph: nx.Graph, delta: LibrarySnapshot, settings: GraphSettings, touched: _Touched
) -> list[str]:
    """Upsert moments and their places; returns assets whose inherited place must be redone."""
    relocated: list[str] = []
    to_geocode: list[tuple[str, float, float]] = []
    for record in delta.moments:
        moment = node_id("moment", record.id)
        start = local_datetime(record.start_at, record.start_ts)
        assert start is not None
        attrs: dict[str, Any] = dict(
            kind="moment", id=record.id, start_ts=float(record.start_ts), end_ts=float(record.end_ts),
            start_at=record.start_at, end_at=record.end_at,
            latitude=record.latitude, longitude=record.longitude, year=start.year,
            start_date=start.date().isoformat(), end_date=local_date(record.end_at, record.end_ts),
        )  # fmt: skip
        year = node_id("year", start.year)
        if moment in graph:
            old = graph.nodes[moment]
            moved = (old["latitude"], old["longitude"]) != (record.latitude, record.longitude)
            for y in neighbours_of_kind(graph, moment, "year"):
                graph.remove_edge(moment, y)
            old.update(attrs)
            # Its dates may have changed: the summaries of its people and of its place follow.
            touched.persons.update(neighbours_of_kind(graph, moment, "person"))
            if old["place"] is not None:
                touched.places.add(old["place"])
        else:
            moved = True
            graph.add_node(moment, photos=0, place=None, **attrs)
        if year not in graph:
            graph.add_node(year, kind="year", id=start.year)
            graph.graph["years"].append(year)
        graph.add_edge(moment, year, kind="in-year")
        if moved:
            for place in neighbours_of_kind(graph, moment, "place"):
                graph.remove_edge(moment, place)
                touched.places.add(place)
            graph.nodes[moment]["place"] = None
            if record.latitude is not None and record.longitude is not None:
                to_geocode.append((moment, record.latitude, record.longitude))
            relocated.extend(neighbours_of_kind(graph, moment, "asset"))
    places = reverse_geocode([(lat, lon) for _, lat, lon in to_geocode], settings)
    for (moment, _, _), found in zip(to_geocode, places, strict=True):
        if found is not None:
            _link_place(graph, moment, found, touched)
    return relocated


def _add_place(graph: nx.Graph, place: Place) -> None:
    if place.node not in graph:
        graph.add_node(
            place.node, kind="place", city=place.city, region=place.region, country=place.country,
            country_code=place.country_code, latitude=place.latitude, longitude=place.longitude,
            label=place.label, photos=0, moments=0, day_photos={}, days=0, first_date=None, last_date=None,
            is_home=False,
        )  # fmt: skip


def _link_place(graph: nx.Graph, node: str, place: Place, touched: _Touched) -> None:
    _add_place(graph, place)
    graph.add_edge(node, place.node, kind="at-place")
    graph.nodes[node]["place"] = place.node
    touched.places.add(place.node)


def _apply_assets(graph: nx.Graph, delta: LibrarySnapshot, touched: _Touched) -> None:
    for record in delta.assets:
        asset = node_id("asset", record.id)
        moment = node_id("moment", record.moment_id) if record.moment_id is not None else None
        if moment is not None and moment not in graph:
            moment = None  # a moment the snapshot does not hold: treat the asset as moment-less
        attrs: dict[str, Any] = dict(
            kind="asset", id=record.id, path=record.path, taken_ts=record.taken_ts, taken_at=record.taken_at,
            date=local_date(record.taken_at, record.taken_ts), latitude=record.latitude,
            longitude=record.longitude, hidden=bool(record.hidden), moment=moment,
        )  # fmt: skip
        if asset in graph:
            old = graph.nodes[asset]
            if old["moment"] is not None and old["moment"] != moment:
                graph.remove_edge(asset, old["moment"])
            if old["hidden"] != attrs["hidden"]:
                touched.persons.update(neighbours_of_kind(graph, asset, "person"))
            old.update(attrs)
        else:
            graph.add_node(asset, place=None, **attrs)
        if moment is not None:
            graph.add_edge(asset, moment, kind="in-moment")


def _track_loose_assets(graph: nx.Graph, changed: list[str]) -> None:
    loose = {a for a in graph.graph["loose_assets"] if a in graph}
    for asset in changed:
        if asset in graph and graph.nodes[asset]["moment"] is None:
            loose.add(asset)
        else:
            loose.discard(asset)
    graph.graph["loose_assets"] = sorted(loose, key=node_key)


def _apply_observations(graph: nx.Graph, delta: LibrarySnapshot, touched: _Touched) -> None:
    adj = graph._adj
    for record in delta.observations:
        asset = node_id("asset", record.asset_id)
        if asset not in adj:
            raise ValueError(f"observation {record.id} is of asset {record.asset_id}, which the graph lacks")
        key = str(record.id)
        for person in [n for n in adj[asset] if n.startswith("person:")]:
            faces = adj[asset][person]["observations"]
            if key in faces:
                del faces[key]
                touched.persons.add(person)
                if faces:
                    _refresh_appearance(adj[asset][person])
                else:
                    graph.remove_edge(asset, person)
        if record.person_id is None:
            continue
        person = node_id("person", record.person_id)
        if person not in adj:
            _add_person(graph, record.person_id, None, False)
        touched.persons.add(person)
        edge = adj[asset].get(person)
        if edge is None:
            graph.add_edge(person, asset, kind="appears-in", observations={}, confidence=None, clear=False)
            edge = adj[asset][person]
        edge["observations"][key] = [record.confidence, bool(record.is_clear)]
        _refresh_appearance(edge)


def _refresh_appearance(edge: dict[str, Any]) -> None:
    best, clear = None, False
    for confidence, is_clear in edge["observations"].values():
        if confidence is not None and (best is None or confidence > best):
            best = confidence
        clear = clear or is_clear
    edge["confidence"], edge["clear"] = best, clear


def _place_assets(graph: nx.Graph, assets: Iterable[str], settings: GraphSettings, touched: _Touched) -> None:
    """Each asset's place: its own GPS geocoded, else its moment's place."""
    pending = sorted({a for a in assets if a in graph})
    to_geocode: list[str] = []
    for asset in pending:
        attrs = graph.nodes[asset]
        for place in neighbours_of_kind(graph, asset, "place"):
            graph.remove_edge(asset, place)
            touched.places.add(place)
        attrs["place"] = None
        if attrs["latitude"] is not None and attrs["longitude"] is not None:
            to_geocode.append(asset)
        elif attrs["moment"] is not None and graph.nodes[attrs["moment"]]["place"] is not None:
            place_node = graph.nodes[attrs["moment"]]["place"]
            graph.add_edge(asset, place_node, kind="at-place")
            attrs["place"] = place_node
            touched.places.add(place_node)
    coordinates = [(graph.nodes[a]["latitude"], graph.nodes[a]["longitude"]) for a in to_geocode]
    for asset, found in zip(to_geocode, reverse_geocode(coordinates, settings), strict=True):
        if found is not None:
            _link_place(graph, asset, found, touched)


# --- deriving the whole-library parts ---------------------------------------------------------


def _derive(graph: nx.Graph, settings: GraphSettings, touched: _Touched) -> None:
    people = set(graph.graph["people"]) | touched.persons
    graph.graph["people"] = sorted((p for p in people if p in graph), key=node_key)
    _derive_places(graph, touched.places)
    moments = _all_moments(graph)
    latest = max((graph.nodes[m]["end_ts"] for m in moments if graph.nodes[m]["photos"] > 0), default=None)
    graph.graph["latest_ts"] = latest
    _derive_home(graph, settings)
    _derive_trips(graph, moments, settings)
    persons = graph.graph["people"] if touched.visibility_changed else sorted(touched.persons & set(graph))
    for person in persons:
        _summarise_person(graph, person)
    _derive_groups(graph, settings)


def _derive_places(graph: nx.Graph, places: set[str]) -> None:
    """Summaries of the places whose counters changed; places left without photos go."""
    listed = set(graph.graph["places"])
    for place in places:
        if place not in graph:
            continue
        attrs = graph.nodes[place]
        if attrs["photos"] <= 0 and attrs["moments"] <= 0 and not attrs["is_home"]:
            graph.remove_node(place)
            listed.discard(place)
            continue
        days = attrs["day_photos"]
        attrs["days"] = len(days)
        attrs["first_date"] = min(days) if days else None
        attrs["last_date"] = max(days) if days else None
        listed.add(place)
    graph.graph["places"] = sorted(listed)


def _all_moments(graph: nx.Graph) -> list[str]:
    """Every moment, found through the year nodes (dropping years left empty)."""
    moments: list[str] = []
    years: list[str] = []
    for year in sorted((y for y in graph.graph["years"] if y in graph), key=node_key):
        members = neighbours_of_kind(graph, year, "moment")
        if members:
            moments.extend(members)
            years.append(year)
        else:
            graph.remove_node(year)
    graph.graph["years"] = years
    return moments


def _derive_home(graph: nx.Graph, settings: GraphSettings) -> None:
    override = graph.graph.get("home_override") or (list(settings.home) if settings.home else None)
    previous = graph.graph.get("home")
    if previous and previous["place"] in graph:
        attrs = graph.nodes[previous["place"]]
        attrs["is_home"] = False
        if attrs["photos"] == 0 and attrs["moments"] == 0:
            graph.remove_node(previous["place"])
            graph.graph["places"] = [p for p in graph.graph["places"] if p != previous["place"]]
    if override is not None:
        lat, lon = float(override[0]), float(override[1])
        place = reverse_geocode([(lat, lon)], settings)[0]
        source = "snapshot" if graph.graph.get("home_override") else "settings"
        if place is not None:
            _add_place(graph, place)
            if place.node not in graph.graph["places"]:
                graph.graph["places"] = sorted([*graph.graph["places"], place.node])
        home_place = place.node if place is not None else None
    else:
        best: tuple[int, int, str] | None = None
        for node in graph.graph["places"]:
            attrs = graph.nodes[node]
            # Most distinct days, then most photos, then the first place id: deterministic.
            key = (attrs["days"], attrs["photos"], node)
            if attrs["days"] > 0 and (best is None or (key[0], key[1]) > (best[0], best[1])):
                best = key
        if best is None:
            graph.graph["home"] = None
            return
        home_place = best[2]
        lat, lon = graph.nodes[home_place]["latitude"], graph.nodes[home_place]["longitude"]
        source = "inferred"
    if home_place is not None:
        graph.nodes[home_place]["is_home"] = True
    graph.graph["home"] = {"place": home_place, "latitude": lat, "longitude": lon, "source": source}


def _derive_trips(graph: nx.Graph, moments: list[str], settings: GraphSettings) -> None:
    for trip in graph.graph["trips"]:
        if trip in graph:
            graph.remove_node(trip)
    home = graph.graph["home"]
    stops = []
    for m in moments:
        attrs = graph.nodes[m]
        if attrs["photos"] > 0:
            stops.append(
                MomentStop(m, attrs["start_ts"], attrs["end_ts"], attrs["latitude"], attrs["longitude"])
            )
    found = detect_trips(stops, (home["latitude"], home["longitude"]) if home else None, settings)
    trips: list[str] = []
    for members in found:
        trip = node_id("trip", node_key(members[0].node))
        place_photos: dict[tuple[str, str, str], int] = {}
        distance = 0.0
        for stop in members:
            attrs = graph.nodes[stop.node]
            if attrs["place"] is not None:
                place = graph.nodes[attrs["place"]]
                key = (place["city"], place["region"], place["country"])
                place_photos[key] = place_photos.get(key, 0) + attrs["photos"]
            if home and stop.latitude is not None and stop.longitude is not None:
                km = haversine_km(home["latitude"], home["longitude"], stop.latitude, stop.longitude)
                distance = max(distance, km)
        start_day = graph.nodes[members[0].node]["start_date"]
        end_day = graph.nodes[members[-1].node]["end_date"] or start_day
        place_name = trip_place(place_photos, settings)
        graph.add_node(
            trip, kind="trip", id=node_key(members[0].node),
            title=trip_title(place_name, start_day, end_day), place_name=place_name,
            start_ts=members[0].start_ts, end_ts=members[-1].end_ts, start_date=start_day, end_date=end_day,
            moments=len(members), photos=sum(graph.nodes[s.node]["photos"] for s in members),
            max_distance_km=round(distance, 1),
        )  # fmt: skip
        for stop in members:
            graph.add_edge(stop.node, trip, kind="part-of-trip")
        trips.append(trip)
    graph.graph["trips"] = trips


def _summarise_person(graph: nx.Graph, person: str) -> None:
    nodes = graph._node
    attrs = nodes[person]
    moments: list[str] = []
    people = 0
    for n in graph._adj[person]:
        if n.startswith("moment:"):
            moments.append(n)
        elif n.startswith("person:") and not nodes[n]["hidden"]:
            people += 1
    if moments:
        first = min(moments, key=lambda m: (nodes[m]["start_ts"], node_key(m)))
        last = max(moments, key=lambda m: (nodes[m]["end_ts"], node_key(m)))
        attrs["first_ts"] = nodes[first]["start_ts"]
        attrs["first_date"] = nodes[first]["start_date"]
        attrs["last_ts"] = nodes[last]["end_ts"]
        attrs["last_date"] = nodes[last]["end_date"] or nodes[last]["start_date"]
        attrs["last_moment"] = last
        attrs["years"] = sorted({nodes[m]["year"] for m in moments})
    else:
        attrs.update(first_ts=None, first_date=None, last_ts=None, last_date=None, last_moment=None, years=[])
    attrs["moments"] = len(moments)
    attrs["people"] = people


def _derive_groups(graph: nx.Graph, settings: GraphSettings) -> None:
    for group in graph.graph["groups"]:
        if group in graph:
            graph.remove_node(group)
    nodes, adj = graph._node, graph._adj
    visible = {p for p in graph.graph["people"] if not nodes[p]["hidden"] and nodes[p]["moments"]}
    # Only pairs that could be a strong tie matter; this also keeps find_groups' input small.
    shared: dict[tuple[str, str], int] = {}
    for p in visible:
        for q, data in adj[p].items():
            if p < q and q in visible and data.get("shared_moments", 0) >= settings.group_min_moments:
                shared[(p, q)] = data["shared_moments"]
    involved = {p for pair in shared for p in pair}
    moments_of = {p: {m for m in adj[p] if m.startswith("moment:")} for p in involved}
    order = {p: node_key(p) for p in involved}
    groups: list[str] = []
    for members, support in find_groups(shared, moments_of, settings, order=order):
        group = node_id("group", "-".join(str(node_key(m)) for m in members))
        first = min(support, key=lambda m: (nodes[m]["start_ts"], node_key(m)))
        last = max(support, key=lambda m: (nodes[m]["end_ts"], node_key(m)))
        graph.add_node(
            group, kind="group", members=[node_key(m) for m in members], moments=len(support),
            photos=_photos_with_all(graph, list(members)),
            first_ts=nodes[first]["start_ts"], first_date=nodes[first]["start_date"],
            last_ts=nodes[last]["end_ts"], last_date=nodes[last]["end_date"],
            last_moment=last, years=sorted({nodes[m]["year"] for m in support}),
        )  # fmt: skip
        for member in members:
            graph.add_edge(member, group, kind="member-of-group")
        groups.append(group)
    graph.graph["groups"] = groups


def _photos_with_all(graph: nx.Graph, people: list[str]) -> int:
    """Visible photos in which every one of `people` appears."""
    adj, nodes = graph._adj, graph._node
    rarest = min(people, key=lambda p: len(adj[p]))
    others = [adj[p] for p in people if p != rarest]
    return sum(
        1
        for a in adj[rarest]
        if a.startswith("asset:") and not nodes[a]["hidden"] and all(a in other for other in others)
    )
