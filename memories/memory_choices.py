"""The user's choices about memories: hide or dismiss one, take a photo out, set its key photo,
title, mood, length or music; feature a person, a place or a span of dates less, or never.

They are user feedback, like face confirmations: stored in their own tables, keyed by what the
user sees (a memory's key, a person's id, a place's name, dates), and applied on top of what the
theme rules propose, so that `suggest`, `make`, `export` and the web page all honour them and no
re-index or re-cluster can undo them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import networkx as nx

from memories.store import Library
from themes.rules import Candidate

FeatureKind = Literal["person", "place", "dates"]
FeatureLevel = Literal["less", "never", "normal"]
# "Feature less" scales a memory's score by this: it still exists and can be made by hand, but
# it sinks below the others in the suggestions (the rules' scores differ by ~1 per moment or year).
FEATURE_LESS_FACTOR = 0.25
EDITABLE = ("title", "mood", "length", "music")


@dataclass(frozen=True)
class MemoryChoice:
    key: str
    hidden: bool = False
    dismissed_at_count: int | None = None
    title: str | None = None
    mood: str | None = None
    length: str | None = None
    music: str | None = None
    key_asset_id: int | None = None
    removed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class FeatureChoice:
    kind: FeatureKind
    value: str
    level: FeatureLevel


def memory_choices(library: Library) -> dict[str, MemoryChoice]:
    removed: dict[str, set[int]] = {}
    for key, asset in library.db.execute("SELECT key, asset_id FROM memory_removed_photos"):
        removed.setdefault(key, set()).add(int(asset))
    choices = {}
    for row in library.db.execute("SELECT * FROM memory_choices"):
        choices[row["key"]] = MemoryChoice(
            key=row["key"],
            hidden=bool(row["hidden"]),
            dismissed_at_count=row["dismissed_at_count"],
            title=row["title"],
            mood=row["mood"],
            length=row["length"],
            music=row["music"],
            key_asset_id=row["key_asset_id"],
            removed=frozenset(removed.pop(row["key"], set())),
        )
    for key, assets in removed.items():
        choices[key] = MemoryChoice(key=key, removed=frozenset(assets))
    return choices


def feature_choices(library: Library) -> list[FeatureChoice]:
    return [
        FeatureChoice(row["kind"], row["value"], row["level"])
        for row in library.db.execute("SELECT kind, value, level FROM feature_choices ORDER BY kind, value")
    ]


def _upsert(library: Library, key: str, column: str, value: object) -> None:
    with library.transaction() as db:
        db.execute(
            f"INSERT INTO memory_choices (key, {column}) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
            f"SET {column} = excluded.{column}, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            (key, value),
        )


def hide(library: Library, key: str, hidden: bool = True) -> None:
    """Hide a memory for good (or bring it back)."""
    _upsert(library, key, "hidden", int(hidden))


def dismiss(library: Library, key: str, photo_count: int | None) -> None:
    """Not now: the suggestion goes away until it holds more photos than it does today (None:
    no longer dismissed)."""
    _upsert(library, key, "dismissed_at_count", photo_count)


def edit(library: Library, key: str, field: str, value: str | None) -> None:
    """Set (or, with None, reset) a memory's title, mood, length or music."""
    if field not in EDITABLE:
        raise ValueError(f"a memory's {field!r} cannot be set; choose one of {', '.join(EDITABLE)}")
    _upsert(library, key, field, value)


def set_key_photo(library: Library, key: str, asset_id: int | None) -> None:
    _upsert(library, key, "key_asset_id", asset_id)


def remove_photo(library: Library, key: str, asset_id: int, removed: bool = True) -> None:
    """Take a photo out of one memory (or put it back)."""
    with library.transaction() as db:
        if removed:
            db.execute(
                "INSERT OR IGNORE INTO memory_removed_photos (key, asset_id) VALUES (?, ?)", (key, asset_id)
            )
        else:
            db.execute("DELETE FROM memory_removed_photos WHERE key = ? AND asset_id = ?", (key, asset_id))


def feature(library: Library, kind: FeatureKind, value: str, level: FeatureLevel) -> None:
    """Feature a person (id), a place (name) or dates (FIRST..LAST) less, never, or normally again."""
    if kind not in ("person", "place", "dates"):
        raise ValueError(f"feature a person, a place or dates, not {kind!r}")
    if level not in ("less", "never", "normal"):
        raise ValueError(f"feature {kind} less, never or normal, not {level!r}")
    if kind == "dates":
        parse_span(value)
    with library.transaction() as db:
        if level == "normal":
            db.execute("DELETE FROM feature_choices WHERE kind = ? AND value = ?", (kind, value))
        else:
            db.execute(
                "INSERT INTO feature_choices (kind, value, level) VALUES (?, ?, ?) "
                "ON CONFLICT(kind, value) DO UPDATE SET level = excluded.level",
                (kind, value, level),
            )


def parse_span(text: str) -> tuple[str, str]:
    """'2021-03-01..2021-03-31' (or one day) as two ISO days; a clear error otherwise."""
    first, _, last = text.partition("..")
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
    except ValueError as error:
        raise ValueError(f"dates {text!r}: give FIRST..LAST as YYYY-MM-DD..YYYY-MM-DD") from error
    if end < start:
        raise ValueError(f"dates {text!r}: the last day is before the first")
    return start.isoformat(), end.isoformat()


# --- applying them (pure, over the graph) -----------------------------------------------------
def _asset_day(graph: nx.Graph, asset: int) -> str:
    return str(graph.nodes[f"asset:{asset}"].get("date") or "")


def _asset_place(graph: nx.Graph, asset: int) -> str:
    place = graph.nodes[f"asset:{asset}"].get("place")
    return str(graph.nodes[place].get("label", place)) if place and place in graph else ""


def matches_place(candidate: Candidate, place: str) -> bool:
    """Whether a memory is about a place: its place or one of its places contains the name
    (case-insensitive): "lisbon" matches "Lisbon" and "Lisbon, Portugal"."""
    needle = place.casefold()
    names = [str(candidate.context.get("place") or ""), *map(str, candidate.context.get("places", []))]
    return any(needle in n.casefold() for n in names if n)


def apply_features(graph: nx.Graph, found: list[Candidate], choices: list[FeatureChoice]) -> list[Candidate]:
    """Candidates as the user wants them featured: "never" takes the person's photos, the place's
    photos or the dates' photos out of every memory (and a memory about them away); "less" sinks
    memories about them in the suggestions."""
    if not choices:
        return found
    out = []
    for candidate in found:
        assets, score = list(candidate.assets), candidate.score
        for choice in choices:
            if choice.kind == "person":
                person = f"person:{choice.value}"
                about = choice.value.isdigit() and int(choice.value) in candidate.people
                if choice.level == "never":
                    if about:
                        assets = []
                    elif person in graph:
                        assets = [a for a in assets if f"asset:{a}" not in graph.adj[person]]
                elif about:
                    score *= FEATURE_LESS_FACTOR
            elif choice.kind == "place":
                if choice.level == "never":
                    if matches_place(candidate, choice.value):
                        assets = []
                    needle = choice.value.casefold()
                    assets = [a for a in assets if needle not in _asset_place(graph, a).casefold()]
                elif matches_place(candidate, choice.value):
                    score *= FEATURE_LESS_FACTOR
            else:
                first, last = parse_span(choice.value)
                inside = [a for a in assets if first <= _asset_day(graph, a)[:10] <= last]
                if choice.level == "never":
                    assets = [a for a in assets if a not in set(inside)]
                elif assets and len(inside) * 2 > len(assets):
                    score *= FEATURE_LESS_FACTOR
        if assets:
            out.append(replace(candidate, assets=assets, score=score))
    return out


def visible(candidate: Candidate, choice: MemoryChoice | None) -> bool:
    """Whether a memory is offered: not hidden, and not dismissed unless it has grown since."""
    if choice is None:
        return True
    if choice.hidden:
        return False
    return choice.dismissed_at_count is None or len(candidate.assets) > choice.dismissed_at_count


def without_removed(candidate: Candidate, choice: MemoryChoice | None) -> Candidate:
    if choice is None or not choice.removed:
        return candidate
    return replace(candidate, assets=[a for a in candidate.assets if a not in choice.removed])
