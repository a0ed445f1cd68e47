"""Theme rules on the real sample library, and `memories make` end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import imageio_ffmpeg

from memories.graph_store import load
from memories.making import suggest
from memories.store import Library
from themes.rules import RULES


def test_rules_find_the_sample_stories(indexed_samples: Path) -> None:
    with Library(indexed_samples) as library:
        graph = load(library)
        together = RULES["together"](
            graph, {"min_people": 2, "max_people": 4, "min_moments": 3}, date(2026, 11, 27)
        )
        by_people = {tuple(sorted(map(str, c.context["people"]))): c for c in together}
        ana_bea = by_people[("Ana", "Bea")]
        assert ana_bea.context["moments"] >= 5  # they share most made-up outings (samples/README.md)
        assert ana_bea.key == "together:" + "-".join(sorted(str(p) for p in ana_bea.people))
        on_this_day = RULES["on_this_day"](graph, {"window_days": 3, "min_years": 1}, date(2026, 11, 27))
        assert len(on_this_day) == 1 and on_this_day[0].context["years"] == [2019, 2023]
        assert RULES["on_this_day"](graph, {"window_days": 3, "min_years": 1}, date(2026, 2, 1)) == []
        trips = RULES["trip"](graph, {"min_photos": 1}, date(2026, 11, 27))
        assert {c.context["place"] for c in trips} == {"Lisbon", "Barcelona"}
        rows = suggest(library, today=date(2026, 11, 27))
        assert rows[0]["key"] == ana_bea.key and rows[0]["title"] == "Ana & Bea"
        assert "7 moments" in rows[0]["reason"] or "moments they shared" in rows[0]["reason"]
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
