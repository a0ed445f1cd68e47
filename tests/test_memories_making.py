"""Theme rules on the real sample library, and `memories make` end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import pytest

from graph import (
    AssetRecord,
    LibrarySnapshot,
    MomentRecord,
    ObservationRecord,
    PersonRecord,
    build_graph,
)
from memories.graph_store import load
from memories.making import suggest
from memories.store import Library
from themes.loader import load_themes
from themes.rules import RULES, Candidate, RuleInput, within_year

LISBON = (38.7223, -9.1393)
PARIS = (48.8566, 2.3522)
ANA, BEA, CY = 1, 2, 3  # Cy is not named yet
# moment id -> (first photo, local time "YYYY-MM-DDTHH:MM+HH:MM", place, {asset: people}); photos
# 10 minutes apart. Home is Lisbon (photos on 3 days there, 2 in Paris); Paris is a trip.
MOMENTS = {
    1: ("2021-06-10T10:00+01:00", LISBON, {11: [ANA, BEA], 12: [ANA]}),
    2: ("2022-06-12T10:00+01:00", LISBON, {21: [ANA, BEA]}),
    3: ("2023-06-11T10:00+01:00", LISBON, {31: [ANA, BEA, CY]}),
    4: ("2023-08-01T10:00+02:00", PARIS, {41: [ANA], 42: []}),
    5: ("2023-08-02T11:00+02:00", PARIS, {51: [BEA]}),
}


def _small_library() -> LibrarySnapshot:
    assets, moments, faces = [], [], []
    for mid, (first, (lat, lon), photos) in MOMENTS.items():
        start = datetime.fromisoformat(first)
        times = [start + timedelta(minutes=10 * i) for i in range(len(photos))]
        moments.append(
            MomentRecord(mid, times[0].timestamp(), times[-1].timestamp(), lat, lon,
                         times[0].isoformat(), times[-1].isoformat())
        )  # fmt: skip
        for (aid, shown), when in zip(photos.items(), times, strict=True):
            assets.append(
                AssetRecord(aid, f"/p/{aid}.jpg", when.timestamp(), when.isoformat(), lat, lon, mid)
            )
            faces.extend(ObservationRecord(aid * 10 + p, aid, p, 0.9) for p in shown)
    people = (PersonRecord(ANA, "Ana"), PersonRecord(BEA, "Bea"), PersonRecord(CY, None))
    return LibrarySnapshot(tuple(assets), tuple(moments), tuple(faces), people)


@pytest.fixture(scope="module")
def small() -> RuleInput:
    return RuleInput(build_graph(_small_library()), today=date(2026, 6, 11))


def _run(
    small: RuleInput, query: str, params: dict[str, float], people: tuple[str, ...] = ()
) -> list[Candidate]:
    return RULES[query](replace(small, params=params, people=people))


def _titles(theme: str, candidate: Candidate) -> tuple[str, str]:
    return load_themes().get(theme).render_title(candidate.context)


def test_together_on_a_hand_built_library(small: RuleInput) -> None:
    """Ana and Bea share moments 1-3 (the graph's only group); their photos there are 11, 12, 21, 31."""
    (found,) = _run(small, "together", {"min_people": 2, "max_people": 4, "min_moments": 3})
    assert (found.key, found.people, found.assets) == ("together:1-2", [ANA, BEA], [11, 12, 21, 31])
    assert found.reason == "Ana and Bea: 4 photos from 3 moments they shared, 2021–2023"
    assert found.score == pytest.approx(3.04)
    assert _titles("together", found) == ("Ana & Bea", "2021 – 2023")
    assert _run(small, "together", {"min_moments": 4}) == []
    # asked for by name, people are a memory however rarely they met: Ana and Cy shared moment 3
    (asked,) = _run(small, "together", {"min_moments": 4}, people=("person:1", "person:3"))
    assert (asked.assets, asked.context["moments"]) == ([31], 1)
    assert _titles("together", asked) == ("Ana & a Friend", "11 June 2023")
    narrowed = within_year(small.graph, found, 2021)
    assert narrowed is not None and (narrowed.key, narrowed.assets) == ("together:1-2@2021", [11, 12])
    assert _titles("together", narrowed) == ("Ana & Bea", "10 June 2021")
    assert within_year(small.graph, found, 2020) is None


def test_trip_is_titled_by_its_place(small: RuleInput) -> None:
    (found,) = _run(small, "trip", {"min_photos": 1})
    assert (found.key, found.people, found.assets) == ("trip:4", [], [41, 42, 51])
    assert (found.context["place"], found.context["places"]) == ("Paris", ["Paris, France"])
    assert found.context["people"] == ["Ana", "Bea"]
    assert found.reason == "Paris, August 2023: 3 photos over 2 moments"
    assert _titles("trip", found) == ("Paris", "1 – 2 August 2023")
    assert _run(small, "trip", {"min_photos": 4}) == []
    assert _run(small, "trip", {"min_days": 3}) == []  # 1 and 2 August: two days
    assert _run(small, "trip", {"min_km_from_home": 2000}) == []  # Paris is ~1,450 km from Lisbon


def test_person_over_the_years_and_year_in_review(small: RuleInput) -> None:
    found = {c.key: c for c in _run(small, "person_over_the_years", {"min_years": 3})}
    assert sorted(found) == ["person_over_the_years:1", "person_over_the_years:2"]  # Cy: one year
    ana = found["person_over_the_years:1"]
    assert (ana.assets, ana.reason) == ([11, 12, 21, 31, 41], "Ana in 5 photos over 3 years, 2021–2023")
    assert _titles("person_over_the_years", ana) == ("Ana Over the Years", "2021 – 2023")
    (cy,) = _run(small, "person_over_the_years", {"min_years": 3}, people=("person:3",))
    assert (cy.assets, cy.reason) == ([31], "Person 3 in 1 photos over 1 years, 2023")
    assert _titles("person_over_the_years", cy) == ("Through the Years", "2023")  # no placeholder name
    (year,) = _run(small, "year_in_review", {"min_moments": 3})
    assert (year.key, year.assets, year.reason) == (
        "year_in_review:2023",
        [31, 41, 42, 51],
        "2023: 3 moments, 4 photos",
    )
    assert _titles("year_in_review", year) == ("Best of 2023", "4 photos")


def test_on_this_day_names_the_day_the_photos_were_taken(small: RuleInput) -> None:
    (found,) = _run(small, "on_this_day", {"window_days": 3, "min_years": 1})
    assert (found.key, found.assets) == ("on_this_day:06-11", [11, 12, 21, 31])
    assert found.reason == "4 photos taken around 11 June in 2021, 2022, 2023"
    assert _titles("on_this_day", found) == (
        "On This Day",
        "10 June · 2021, 2022, 2023",
    )  # 2 photos on 10 June
    assert _run(small, "on_this_day", {"window_days": 0, "min_years": 1})[0].assets == [31]
    assert _run(small, "on_this_day", {"window_days": 3, "min_years": 4}) == []


def test_rules_find_the_sample_stories(indexed_samples: Path) -> None:
    with Library(indexed_samples) as library:
        graph = load(library)
        today = RuleInput(graph, today=date(2026, 11, 27))
        together = RULES["together"](
            replace(today, params={"min_people": 2, "max_people": 4, "min_moments": 3})
        )
        by_people = {tuple(sorted(map(str, c.context["people"]))): c for c in together}
        ana_bea = by_people[("Ana", "Bea")]
        assert ana_bea.context["moments"] >= 5  # they share most made-up outings (samples/README.md)
        assert ana_bea.key == "together:" + "-".join(sorted(str(p) for p in ana_bea.people))
        on_this_day = RULES["on_this_day"](replace(today, params={"window_days": 3, "min_years": 1}))
        assert len(on_this_day) == 1 and on_this_day[0].context["years"] == [2019, 2023]
        february = replace(today, today=date(2026, 2, 1), params={"window_days": 3, "min_years": 1})
        assert RULES["on_this_day"](february) == []
        trips = RULES["trip"](replace(today, params={"min_photos": 1}))
        assert {c.context["place"] for c in trips} == {"Lisbon", "Barcelona"}
        rows = suggest(library, today=date(2026, 11, 27))
        assert rows[0]["key"] == ana_bea.key and rows[0]["title"] == "Ana & Bea"
        assert rows[0]["reason"] == ana_bea.reason and rows[0]["photos"] == len(ana_bea.assets)
        # titles never show a placeholder name; On This Day names the day the photos were taken
        assert not [r["title"] for r in rows if "Person" in r["title"]]
        late = [r for r in suggest(library, today=date(2026, 11, 30)) if r["theme"] == "on_this_day"]
        assert late and late[0]["subtitle"].startswith("27 November")


def test_make_together_renders_a_decodable_720p_movie(sample_library: Path, tmp_path: Path) -> None:
    output = tmp_path / "together.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "memories", "make", "together", "--people", "Ana,Bea", "--length", "short",
         "-o", str(output), "-L", str(sample_library), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert Path(made["poster"]).is_file() and Path(made["sidecar"]).is_file()
    sidecar = json.loads(Path(made["sidecar"]).read_text())
    assert sidecar["title"] == "Ana & Bea"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    decoded = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(output), "-f", "null", "-"], capture_output=True, text=True
    )
    assert decoded.returncode == 0 and decoded.stderr.strip() == ""
    info = subprocess.run([ffmpeg, "-i", str(output)], capture_output=True, text=True).stderr
    assert re.search(r"Video: h264.*1280x720", info)
    assert re.search(r"Audio: aac", info)
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info).groups()  # type: ignore[union-attr]
    assert abs(int(hours) * 3600 + int(minutes) * 60 + float(seconds) - 30.0) <= 1.0


def test_unknown_person_is_a_clear_error(indexed_samples: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "memories", "search", "Anna", "-L", str(indexed_samples)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no person" in result.stderr.lower() and "Ana" in result.stderr


def test_year_narrows_a_memory_and_a_length_is_a_most(indexed_samples: Path) -> None:
    """`--year 2019` makes a memory of 2019's photos only; with too few photos for "long" at the
    mood's pace, the movie is as long as its photos rather than holding each one longer."""
    from dataclasses import replace

    from memories.making import candidates, plan, themes_for
    from memories.render import settings as render_settings

    with Library(indexed_samples) as library:
        theme = themes_for(library)["together"]
        few = replace(theme, min_photos=1)  # one year of the samples holds only a few photos
        narrowed = candidates(library, few, people=["Ana", "Bea"], year=2019)
        assert narrowed and all(c.context["years"] == [2019] for c in narrowed)
        assert all(c.context["end"] < "2020" for c in narrowed)
        whole = max(candidates(library, theme, people=["Ana", "Bea"]), key=lambda c: c.score)
        long_plan = plan(library, theme, whole, length="long")
        pace = render_settings.MOODS[long_plan.mood].shot_seconds
        assert long_plan.duration < render_settings.LENGTH_SECONDS["long"]
        cards = render_settings.TITLE_CARD_S + render_settings.END_CARD_S
        assert (long_plan.duration - cards) / len(long_plan.photos) <= 1.25 * pace + 0.5
    result = subprocess.run(
        [sys.executable, "-m", "memories", "make", "together", "--length", "huge", "-o", "/tmp/x.mp4",
         "-L", str(indexed_samples)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and "unknown length 'huge'" in result.stderr
