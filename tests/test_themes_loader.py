"""Themes as data: the built-ins load; a broken file is reported by file and field, the rest load."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from memories.render import settings as render_settings
from themes.loader import load_theme, load_themes
from themes.model import LENGTHS, MOODS, ThemeError

BUILTIN_IDS = {
    "together",
    "person_over_the_years",
    "trip",
    "on_this_day",
    "group_gathering",
    "year_in_review",
}
CONTEXT = {
    "people": ["Ana", "Ben", "Cy"],
    "person": "Ana",
    "place": "Lisbon",
    "country": "Portugal",
    "start": date(2025, 7, 12),
    "end": date(2025, 7, 14),
    "year": 2025,
    "years": [2019, 2022, 2025],
    "count": 42,
    "today": date(2026, 11, 27),
}
GOOD = """
id = "beach"
name = "Beach days"
title = "{{ place }} beach"
mood = "chill"
[query]
name = "trip"
params = { min_days = 1 }
[photos]
min = 4
max = 20
"""


def test_builtin_themes_load_and_render() -> None:
    catalog = load_themes()
    assert catalog.warnings == []
    assert set(catalog.themes) == BUILTIN_IDS
    for theme in catalog.themes.values():
        assert theme.query == theme.id  # each built-in names its own graph query
        assert theme.mood in MOODS and theme.length in LENGTHS
        assert 1 <= theme.min_photos <= theme.max_photos
        title, subtitle = theme.render_title(CONTEXT)
        assert title and "{" not in title and "{" not in subtitle
    assert catalog.get("together").render_title(CONTEXT) == ("Ana, Ben & Cy", "12 – 14 July 2025")
    assert catalog.get("person_over_the_years").render_title(CONTEXT)[0] == "Ana Over the Years"
    assert catalog.get("year_in_review").render_title(CONTEXT)[0] == "Best of 2025"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD.replace('mood = "chill"', 'mood = "grumpy"'), "mood"),
        (GOOD.replace('title = "{{ place }} beach"', 'title = "{{ place "'), "title"),
        (GOOD.replace('name = "trip"', 'name = "no_such_query"'), "query.name"),
        (GOOD.replace("max = 20", "max = 2"), "photos.max"),
        (GOOD.replace('id = "beach"', 'id = "Beach Days!"'), "id"),
        (GOOD.replace('name = "Beach days"\n', ""), "name"),
        (GOOD.replace("min = 4", 'min = "four"'), "photos.min"),
        ('colour = "blue"\n' + GOOD, "colour"),
        (GOOD + 'colour = "blue"\n', "photos.colour"),
        (GOOD.replace('id = "beach"', 'id = "beach'), "(toml)"),
        # a parameter the query does not read, or one that is not a number: never silently ignored
        (GOOD.replace("min_days = 1", "min_nights = 1"), "query.params.min_nights"),
        (GOOD.replace("min_days = 1", 'min_days = "one"'), "query.params.min_days"),
    ],
)
def test_malformed_theme_names_file_and_field_and_the_others_still_load(
    tmp_path: Path, text: str, field: str
) -> None:
    (tmp_path / "broken.toml").write_text(text)
    (tmp_path / "fine.toml").write_text(GOOD.replace('"beach"', '"fine"'))
    catalog = load_themes(tmp_path)
    assert set(catalog.themes) == BUILTIN_IDS | {"fine"}
    assert len(catalog.warnings) == 1
    assert "broken.toml" in catalog.warnings[0] and f"field '{field}'" in catalog.warnings[0], (
        catalog.warnings
    )
    with pytest.raises(ThemeError) as error:
        load_theme(tmp_path / "broken.toml")
    assert error.value.field == field and error.value.source == "broken.toml"


def test_user_folder_adds_and_overrides_by_id(tmp_path: Path) -> None:
    (tmp_path / "beach.toml").write_text(GOOD)
    override = GOOD.replace('id = "beach"', 'id = "trip"').replace('name = "Beach days"', 'name = "My trips"')
    (tmp_path / "my_trip.toml").write_text(override)
    catalog = load_themes(tmp_path)
    assert catalog.warnings == []
    assert catalog.get("beach").render_title(CONTEXT)[0] == "Lisbon beach"
    assert catalog.get("trip").name == "My trips" and catalog.get("trip").mood == "chill"
    assert "my_trip.toml" in catalog.get("trip").source
    with pytest.raises(KeyError, match="no theme"):
        catalog.get("nope")


def test_missing_user_folder_is_a_warning(tmp_path: Path) -> None:
    catalog = load_themes(tmp_path / "absent")
    assert set(catalog.themes) == BUILTIN_IDS and "does not exist" in catalog.warnings[0]


def test_theme_moods_and_lengths_are_the_renderers() -> None:
    assert set(MOODS) == set(render_settings.MOODS)
    assert set(LENGTHS) == set(render_settings.LENGTH_SECONDS)


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "evil.toml").write_text(GOOD.replace("{{ place }} beach", "{{ ''.__class__.__mro__ }}"))
    theme = load_themes(tmp_path).get("beach")
    with pytest.raises(Exception, match="unsafe|not safely|access"):
        theme.render_title(CONTEXT)
