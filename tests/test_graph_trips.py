"""Trips from moments away from home, and their titles."""

from __future__ import annotations

from graph.dates import local_date, month_span_label, parse_day
from graph.settings import GraphSettings
from graph.trip_detection import MomentStop, detect_trips, trip_place, trip_title

HOME = (38.7223, -9.1393)  # Lisbon
PARIS = (48.8566, 2.3522)
SINTRA = (38.8029, -9.3817)  # ~22 km from Lisbon: not a trip
H = 3600.0
D = 86400.0


def stop(name: str, start_h: float, hours: float, where: tuple[float, float] | None) -> MomentStop:
    lat, lon = where if where else (None, None)
    return MomentStop(name, start_h * H, (start_h + hours) * H, lat, lon)


def names(trips: list[list[MomentStop]]) -> list[list[str]]:
    return [[m.node for m in trip] for trip in trips]


def test_consecutive_away_moments_make_one_trip() -> None:
    moments = [
        stop("m1", 0, 2, HOME),
        stop("m2", 24, 3, PARIS),
        stop("m3", 40, 2, None),  # no GPS inside the trip: part of it
        stop("m4", 48, 4, PARIS),
        stop("m5", 60, 1, None),  # no GPS after the last away moment: not part of it
        stop("m6", 80, 1, HOME),
    ]
    assert names(detect_trips(moments, HOME)) == [["m2", "m3", "m4"]]


def test_home_moment_gap_and_duration_split_or_drop_trips() -> None:
    moments = [
        stop("a1", 0, 2, PARIS),
        stop("a2", 20, 2, PARIS),  # a1-a2 span 22 h: a trip
        stop("h", 30, 1, HOME),  # home in between: a new trip starts after
        stop("b1", 40, 2, PARIS),
        stop("b2", 44, 2, PARIS),  # b1-b2 span 6 h < 12 h: a day out, not a trip
        stop("c1", 200, 2, PARIS),  # > 4 days after b2: a separate chain
        stop("c2", 220, 2, PARIS),
    ]
    assert names(detect_trips(moments, HOME)) == [["a1", "a2"], ["c1", "c2"]]
    loose = GraphSettings(trip_min_duration_s=5 * H, trip_max_gap_s=10 * D)
    assert names(detect_trips(moments, HOME, loose)) == [["a1", "a2"], ["b1", "b2", "c1", "c2"]]


def test_near_home_and_no_home_are_no_trips() -> None:
    moments = [stop("s1", 0, 5, SINTRA), stop("s2", 20, 5, SINTRA)]
    assert detect_trips(moments, HOME) == []
    assert detect_trips([stop("p", 0, 30, PARIS)], None) == []


def test_titles() -> None:
    settings = GraphSettings()
    lisbon = ("Lisbon", "Lisbon", "Portugal")
    sintra = ("Sintra", "Lisbon", "Portugal")
    porto = ("Porto", "Porto", "Portugal")
    madrid = ("Madrid", "Madrid", "Spain")
    assert trip_place({lisbon: 6, sintra: 4}, settings) == "Lisbon"
    assert trip_place({lisbon: 4, sintra: 3, porto: 3}, settings) == "Lisbon"  # the region, not a town
    assert trip_place({lisbon: 2, porto: 2, madrid: 1}, settings) == "Portugal"
    assert trip_place({porto: 2, madrid: 2}, settings) == "Portugal & Spain"
    assert trip_place({sintra: 2, porto: 2}, settings) == "Portugal"  # two towns, two regions: a tie
    assert trip_place({}, settings) is None
    assert trip_title("Lisbon", "2023-05-02", "2023-05-06") == "Lisbon, May 2023"
    assert trip_title("Lisbon", "2023-05-30", "2023-06-02") == "Lisbon, May–June 2023"
    assert trip_title("Portugal", "2023-12-30", "2024-01-02") == "Portugal, December 2023 – January 2024"
    assert trip_title("Portugal & Spain", "2023-05-01", "2023-05-02") == "Portugal & Spain, May 2023"
    assert trip_title(None, "2023-05-01", "2023-05-02") == "Trip, May 2023"


def test_dates_follow_the_local_clock() -> None:
    assert local_date("2023-05-31T23:30:00+01:00", 1685572200.0) == "2023-05-31"  # June in UTC
    assert local_date(None, 1685572200.0) == "2023-05-31"
    assert local_date("garbage", 0.0) == "1970-01-01"
    assert local_date(None, None) is None
    assert parse_day("2023-05-01T10:00") == "2023-05-01"
    assert month_span_label("2023-05-01", "2023-05-31") == "May 2023"
