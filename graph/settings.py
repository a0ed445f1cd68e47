"""Every threshold of the knowledge graph, in one frozen dataclass.

`build_graph` stores the settings it used in the graph (`graph.graph["settings"]`) so that
`update_graph` derives trips, groups and the home with the same values unless told otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class GraphSettings:
    # --- places --------------------------------------------------------------------------------
    # GeoNames "cities1000" holds every town over 1,000 people; in settled land the nearest one is
    # almost always under 30 km away. Past 150 km the nearest town says nothing about where a photo
    # was taken (open sea, a flight, the Sahara): such a point gets no place rather than a wrong one.
    place_max_distance_km: float = 150.0
    # The k-d tree of reverse_geocoder works in raw degrees, where a degree of longitude shrinks with
    # latitude; re-ranking this many degree-space neighbours by true great-circle distance fixes the
    # wrong-suburb picks that shows at high latitudes (8 covers a 60°N city's neighbours).
    place_candidates: int = 8
    # A GeoNames entry is a district of a city named after its region or municipality when that
    # city's point lies within this distance (see graph.places). Measured on the table: 15 km
    # takes in all of central Berlin (Spandau is 14.6 km out), London's boroughs, Porto's Gaia
    # across the river and Lisbon's Amadora; it leaves Berlin's Wannsee (21 km) and Tokyo
    # prefecture's Hachioji (33 km) their own names, and lends Tokyo's name to Mitaka (12 km).
    place_city_radius_km: float = 15.0

    # --- home ----------------------------------------------------------------------------------
    # Home = the place with photos on the most distinct days (days, not photos, so one
    # 2,000-photo holiday does not outvote years of everyday pictures). Overridden by `home` here
    # or by the snapshot's `home`.
    home: tuple[float, float] | None = None

    # --- trips ---------------------------------------------------------------------------------
    # A moment is "away" when its centroid lies over this far from home. 80 km is past a daily
    # commute or a suburb (the home place is one GeoNames town; the metro area around it is not
    # a trip) yet near enough that a weekend in the next big city counts.
    trip_min_distance_km: float = 80.0
    # A trip must span this long from its first to its last photo. A day excursion rarely has
    # photos 12 h apart; an overnight stay (dinner at 20:00, breakfast at 09:00) nearly always has.
    trip_min_duration_s: float = 12 * 3600.0
    # Two away moments with over this long between them (and no home moment between) are two
    # trips: a gap of 4 days without photos is not one journey.
    trip_max_gap_s: float = 4 * 24 * 3600.0
    # A trip is titled by its city when that city holds at least this share of the trip's photos,
    # else by region, else by country, else by its two main countries ("Portugal & Spain").
    trip_title_min_share: float = 0.5

    # --- groups --------------------------------------------------------------------------------
    # A group must have been seen together (all members in one moment) at least this often:
    # 3 moments = "several" separate occasions, which a chance meeting or one party never reaches.
    group_min_moments: int = 3
    # Strong tie between two people: shared moments / moments of the rarer of the two (overlap
    # coefficient). 0.3 keeps "a friend seen 20 times, 8 of them with my partner" and drops the
    # chance co-appearances of two people who each show up in many unrelated moments.
    group_min_overlap: float = 0.3
    # Largest group reported: past a dozen it is an event crowd (a class, a wedding), not a group.
    group_max_size: int = 12

    # --- importance ----------------------------------------------------------------------------
    # Score = weighted sum of four parts in [0, 1]. Frequency carries most: the people you photograph
    # most are the ones who matter; recency, spread over the years and centrality break near-ties
    # the way Apple describes (recent, long-standing, connected to your other people).
    weight_frequency: float = 0.4
    weight_recency: float = 0.2
    weight_spread: float = 0.2
    weight_centrality: float = 0.2
    # Recency halves for every this many days between a person's last moment and the library's.
    recency_half_life_days: float = 365.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["home"] = list(self.home) if self.home is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GraphSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("home") is not None:
            values["home"] = (float(values["home"][0]), float(values["home"][1]))
        return cls(**values)


DEFAULT_SETTINGS = GraphSettings()
