"""A theme as data: what one `themes/builtin/*.toml` (or user) file declares, validated.

A theme names the graph query that finds candidate memories (the app maps the name to a graph
function and passes `params`), how many photos a memory of it may hold, its default mood, length
and ordering, and jinja2 templates for the title and subtitle. Templates see the context the app
builds for one candidate; the variables the built-ins use are listed in `TEMPLATE_VARIABLES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The graph queries a theme may name; the app maps each to a graph function.
# Each query and the parameters its rule reads (themes.rules): a theme naming any other parameter
# is refused with the file's name, so a setting never silently does nothing.
QUERY_PARAMS: dict[str, frozenset[str]] = {
    "together": frozenset({"min_people", "max_people", "min_moments"}),
    "person_over_the_years": frozenset({"min_years", "per_year"}),
    "trip": frozenset({"min_km_from_home", "min_days", "min_photos"}),
    "on_this_day": frozenset({"window_days", "min_years"}),
    "group_gathering": frozenset({"min_people", "min_photos"}),
    "year_in_review": frozenset({"min_moments", "per_moment"}),
}
KNOWN_QUERIES = frozenset(QUERY_PARAMS)
# Mirrors memories.render.settings.MOODS / LENGTH_SECONDS (themes may not import the app; a test
# checks the two agree).
MOODS = ("gentle", "chill", "uplifting", "happy", "sentimental", "epic")
LENGTHS = ("short", "medium", "long")
ORDERINGS = ("chronological", "reverse_chronological")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

TEMPLATE_VARIABLES = {
    "people": "names of the featured people, most important first",
    "person": "the first featured person's name",
    "place": "the place name (city or region) of a trip or gathering",
    "country": "its country",
    "start": "date of the first photo",
    "end": "date of the last photo",
    "year": "the year (year in review, on this day)",
    "years": "distinct years of the photos, ascending",
    "count": "number of photos",
    "today": "the date the memory is made",
}


class ThemeError(ValueError):
    """A theme file that cannot be used: which file, which field, what is wrong."""

    def __init__(self, source: str, field_name: str, message: str):
        super().__init__(f"{source}: field '{field_name}': {message}")
        self.source = source
        self.field = field_name
        self.message = message


def _names(people: Any) -> str:
    """'Ana', 'Ana & Ben', 'Ana, Ben & Cy'; people without a name (None) are not shown as
    placeholders: 'Ana & a Friend', 'Ana, Ben & Friends', 'Friends'."""
    given = [p for p in (people or [])]
    names = [str(p) for p in given if p]
    unnamed = len(given) - len(names)
    if unnamed:
        names.append("Friends" if unnamed > 1 or not names else "a Friend")
    if len(names) <= 1:
        return names[0] if names else ""
    return ", ".join(names[:-1]) + " & " + names[-1]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).date()
    return None


def _date_range(start: Any, end: Any = None) -> str:
    """'14 July 2025', '12 – 14 July 2025', 'July – August 2025', '2019 – 2025'."""
    first, last = _as_date(start), _as_date(end) or _as_date(start)
    if first is None or last is None:
        return ""
    if first == last:
        return f"{first.day} {first:%B %Y}"
    if first.year != last.year:
        return f"{first.year} – {last.year}" if (last - first).days > 300 else f"{first:%B %Y} – {last:%B %Y}"
    if first.month != last.month:
        return f"{first:%B} – {last:%B %Y}"
    return f"{first.day} – {last.day} {last:%B %Y}"


def _month_day(value: Any) -> str:
    day = _as_date(value)
    return f"{day.day} {day:%B}" if day else ""


def template_environment() -> ImmutableSandboxedEnvironment:
    """Sandboxed: a user's theme file may hold templates, and templates must not reach Python."""
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined, trim_blocks=True)
    env.filters["names"] = _names
    env.filters["month_day"] = _month_day
    env.globals["date_range"] = _date_range
    return env


_ENV = template_environment()


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    query: str
    title_template: str
    subtitle_template: str = ""
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    min_photos: int = 6
    max_photos: int = 40
    mood: str = "uplifting"
    length: str = "short"
    ordering: str = "chronological"
    source: str = ""  # the file it came from

    def render_title(self, context: Mapping[str, Any]) -> tuple[str, str]:
        """(title, subtitle) for one candidate memory; whitespace collapsed."""
        title = _ENV.from_string(self.title_template).render(**context)
        subtitle = (
            _ENV.from_string(self.subtitle_template).render(**context) if self.subtitle_template else ""
        )
        return " ".join(title.split()), " ".join(subtitle.split())


def _require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], source: str) -> Any:
    if key not in data:
        raise ThemeError(source, key, "is required")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ThemeError(source, key, f"must be a {expected}, got {type(value).__name__} {value!r}")
    return value


def _choice(data: dict[str, Any], key: str, options: tuple[str, ...], default: str, source: str) -> str:
    value = data.get(key, default)
    if value not in options:
        raise ThemeError(source, key, f"{value!r} is not one of {', '.join(options)}")
    return str(value)


def _template(data: dict[str, Any], key: str, source: str, required: bool) -> str:
    if key not in data and not required:
        return ""
    text = _require(data, key, str, source)
    try:
        _ENV.parse(text)
    except TemplateSyntaxError as error:
        raise ThemeError(
            source, key, f"template syntax error: {error.message} (line {error.lineno})"
        ) from error
    return str(text)


def _only_known(table: dict[str, Any], known: tuple[str, ...], prefix: str, source: str) -> None:
    """Refuse a field not in `known`, naming the first (`prefix` places its table in the file)."""
    extra = sorted(set(table) - set(known))
    if extra:
        raise ThemeError(source, f"{prefix}{extra[0]}", f"unknown field (expected one of {', '.join(known)})")


def theme_from_dict(data: dict[str, Any], source: str) -> Theme:
    """Validate a parsed theme file; raises ThemeError naming the field."""
    known = {
        "id",
        "name",
        "description",
        "title",
        "subtitle",
        "query",
        "photos",
        "mood",
        "length",
        "ordering",
    }
    _only_known(data, tuple(sorted(known)), "", source)
    theme_id = _require(data, "id", str, source)
    if not ID_PATTERN.match(theme_id):
        raise ThemeError(source, "id", f"{theme_id!r} must be lower-case letters, digits, '_' or '-'")
    query = _require(data, "query", dict, source)
    query_name = query.get("name")
    if not isinstance(query_name, str):
        raise ThemeError(source, "query.name", f"is required and must be a string, got {query_name!r}")
    if query_name not in KNOWN_QUERIES:
        raise ThemeError(
            source, "query.name", f"{query_name!r} is not one of {', '.join(sorted(KNOWN_QUERIES))}"
        )
    params = query.get("params", {})
    if not isinstance(params, dict):
        raise ThemeError(source, "query.params", "must be a table")
    _only_known(query, ("name", "params"), "query.", source)
    unknown = sorted(set(params) - QUERY_PARAMS[query_name])
    if unknown:
        raise ThemeError(
            source,
            f"query.params.{unknown[0]}",
            f"the {query_name} query has no such parameter (it reads {', '.join(sorted(QUERY_PARAMS[query_name]))})",
        )
    for name, value in params.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ThemeError(source, f"query.params.{name}", f"must be a number >= 0, got {value!r}")
    photos = data.get("photos", {})
    if not isinstance(photos, dict):
        raise ThemeError(source, "photos", "must be a table with min and max")
    _only_known(photos, ("min", "max"), "photos.", source)
    min_photos = photos.get("min", 6)
    max_photos = photos.get("max", 40)
    for key, value in (("photos.min", min_photos), ("photos.max", max_photos)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ThemeError(source, key, f"must be a whole number >= 1, got {value!r}")
    if max_photos < min_photos:
        raise ThemeError(source, "photos.max", f"{max_photos} is below photos.min {min_photos}")
    return Theme(
        id=theme_id,
        name=_require(data, "name", str, source),
        description=str(data.get("description", "")),
        query=query_name,
        params=dict(params),
        title_template=_template(data, "title", source, required=True),
        subtitle_template=_template(data, "subtitle", source, required=False),
        min_photos=min_photos,
        max_photos=max_photos,
        mood=_choice(data, "mood", MOODS, "uplifting", source),
        length=_choice(data, "length", LENGTHS, "short", source),
        ordering=_choice(data, "ordering", ORDERINGS, "chronological", source),
        source=source,
    )
