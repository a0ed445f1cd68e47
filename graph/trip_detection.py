"""Trips: runs of consecutive moments away from home, and their titles.

Walk the moments in time order. A geotagged moment is *away* when its centroid lies over
`trip_min_distance_km` from home, else *home*. Away moments chain into one trip while each starts
within `trip_max_gap_s` of the previous one's end; a home moment always ends the trip. A moment
without GPS between two away moments of a trip belongs to it (the camera lost its fix, the user
did not fly home); one at the edges does not. A chain is a trip when its first to last photo
spans at least `trip_min_duration_s`. No home, no trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph.dates import month_span_label
from graph.places import haversine_km
from graph.settings import DEFAULT_SETTINGS, GraphSettings


@dataclass(frozen=True)
class MomentStop:
    node: str
    start_ts: float
    end_ts: float
    latitude: float | None
    longitude: float | None


def detect_trips(
    moments: Sequence[MomentStop],
    home: tuple[float, float] | None,
    settings: GraphSettings = DEFAULT_SETTINGS,
) -> list[list[MomentStop]]:
    """Trips as lists of moments, in time order (moments are sorted here by start, then node)."""
    if home is None:
        return []
    trips: list[list[MomentStop]] = []
    current: list[MomentStop] = []
    pending: list[MomentStop] = []  # GPS-less moments after the last away moment of `current`

    def close() -> None:
        if current and current[-1].end_ts - current[0].start_ts >= settings.trip_min_duration_s:
            trips.append(list(current))
        current.clear()
        pending.clear()

    for stop in sorted(moments, key=lambda m: (m.start_ts, m.node)):
        if stop.latitude is None or stop.longitude is None:
            if current:
                pending.append(stop)
            continue
        away = haversine_km(home[0], home[1], stop.latitude, stop.longitude) > settings.trip_min_distance_km
        if not away:
            close()
            continue
        if current and stop.start_ts - current[-1].end_ts > settings.trip_max_gap_s:
            close()
        current.extend(pending)
        pending.clear()
        current.append(stop)
    close()
    return trips


def trip_place(place_photos: dict[tuple[str, str, str], int], settings: GraphSettings) -> str | None:
    """'Lisbon': the name a trip is titled by: its main city, else region, else country, else its
    two main countries ('Portugal & Spain'); None when none of its photos has a place.

    `place_photos` counts photos per (city, region, country). A level names the trip when its
    top name holds `trip_title_min_share` of the photos and strictly more than the next one;
    the two countries of the last resort are the two with most photos, ties alphabetical.
    """
    total = sum(place_photos.values())
    if total == 0:
        return None
    for level in range(3):
        counts: dict[str, int] = {}
        for key, photos in place_photos.items():
            name = key[level] or key[2]
            counts[name] = counts.get(name, 0) + photos
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        runner_up = ranked[1][1] if len(ranked) > 1 else 0
        # A name must lead outright: two towns with half the photos each name neither.
        if ranked[0][1] >= settings.trip_title_min_share * total and ranked[0][1] > runner_up:
            return ranked[0][0]
    return f"{ranked[0][0]} & {ranked[1][0]}"


def trip_title(place: str | None, start_day: str, end_day: str) -> str:
    """'Lisbon, May 2023' for the trip's place (`trip_place`) and days; 'Trip, May 2023' without one."""
    return f"{place or 'Trip'}, {month_span_label(start_day, end_day)}"
