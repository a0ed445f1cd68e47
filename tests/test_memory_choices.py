"""The user's say over memories: every choice changes what `suggest` and `make` produce, and
survives a re-cluster."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from memories import memory_choices as choices
from memories.making import candidates, find_candidate, plan, suggest, themes_for
from memories.pipeline import cluster_and_graph
from memories.store import Library

TODAY = date(2026, 11, 27)


def _cli(library: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memories", "memory", *args, "-L", str(library)], capture_output=True, text=True
    )


def _keys(library: Library) -> list[str]:
    return [row["key"] for row in suggest(library, today=TODAY)]


def _all_assets(library: Library) -> set[int]:
    return {a for theme in themes_for(library).values() for c in candidates(library, theme, today=TODAY) for a in c.assets}


@pytest.fixture()
def library(sample_library: Path):
    with Library(sample_library) as opened:
        yield opened


def test_hide_and_dismiss_take_a_memory_out_of_suggestions_until_undone(library: Library) -> None:
    first, second = _keys(library)[:2]
    assert _cli(library.root, "hide", first).returncode == 0
    assert _cli(library.root, "dismiss", second).returncode == 0
    keys = _keys(library)
    assert first not in keys and second not in keys
    _, dismissed = find_candidate(library, second)
    # a dismissed memory comes back once more photos join it, a hidden one never
    grown = choices.MemoryChoice(second, dismissed_at_count=len(dismissed.assets) - 1)
    assert choices.visible(dismissed, grown) and not choices.visible(dismissed, choices.MemoryChoice(first, hidden=True))
    cluster_and_graph(library)
    keys = _keys(library)
    assert first not in keys and second not in keys  # a re-cluster undoes neither
    assert _cli(library.root, "unhide", first).returncode == 0
    assert first in _keys(library)
    unknown = _cli(library.root, "hide", "together:998-999")
    assert unknown.returncode == 2 and "no memory" in unknown.stderr


def test_photo_out_key_photo_title_mood_and_length_change_the_movie_plan(library: Library) -> None:
    key = "together:1-2"
    theme, candidate = find_candidate(library, key)
    before = plan(library, theme, candidate)
    shown = [int(p.asset_id) for p in before.photos]  # type: ignore[arg-type]
    out, new_key = shown[0], shown[-1]
    assert _cli(library.root, "remove-photo", key, str(out)).returncode == 0
    assert _cli(library.root, "key-photo", key, str(new_key)).returncode == 0
    result = _cli(library.root, "set", key, "--title", "Best friends", "--mood", "chill", "--length", "short")
    assert result.returncode == 0, result.stderr
    cluster_and_graph(library)  # choices are not undone by a re-cluster
    theme, candidate = find_candidate(library, key)
    after = plan(library, theme, candidate)
    ids = [int(p.asset_id) for p in after.photos]  # type: ignore[arg-type]
    assert out not in ids and out not in candidate.assets
    assert ids[after.key_photo] == new_key
    assert (after.title, after.mood, after.length) == ("Best friends", "chill", "short")
    assert next(r for r in suggest(library, today=TODAY) if r["key"] == key)["title"] == "Best friends"
    assert _cli(library.root, "set", key, "--mood", "grumpy").returncode == 2
    assert _cli(library.root, "key-photo", key, "999999").returncode == 2


def test_feature_a_person_place_or_dates_less_or_never(library: Library) -> None:
    import graph as kg
    from memories.graph_store import load

    graph = load(library)
    bea = kg.resolve_person(graph, "Bea")
    bea_photos = {int(graph.nodes[a]["id"]) for a in graph.adj[bea] if a.startswith("asset:")}
    assert bea_photos & _all_assets(library)
    scores = {r["key"]: r["score"] for r in suggest(library, today=TODAY)}
    assert _cli(library.root, "feature", "person", "Bea", "--less").returncode == 0
    lowered = {r["key"]: r["score"] for r in suggest(library, today=TODAY)}
    assert lowered["together:1-2"] < scores["together:1-2"]
    assert _cli(library.root, "feature", "person", "Bea", "--never").returncode == 0
    cluster_and_graph(library)
    assert not bea_photos & _all_assets(library)  # in no memory at all
    assert not [k for k in _keys(library) if k == "person_over_the_years:2" or k.startswith("together:1-2")]

    trip = replace(themes_for(library)["trip"], params={"min_photos": 1}, min_photos=1)
    assert [c for c in candidates(library, trip, today=TODAY) if c.context["place"] == "Lisbon"]
    assert _cli(library.root, "feature", "place", "Lisbon", "--never").returncode == 0
    assert not [c for c in candidates(library, trip, today=TODAY) if c.context["place"] == "Lisbon"]

    assert _cli(library.root, "feature", "dates", "2019-01-01..2019-12-31", "--never").returncode == 0
    graph = load(library)
    days = {str(graph.nodes[f"asset:{a}"]["date"]) for a in _all_assets(library)}
    assert days and not [d for d in days if d.startswith("2019")]
    assert _cli(library.root, "feature", "dates", "2019-12-31..2019-01-01", "--never").returncode == 2
    assert _cli(library.root, "feature", "person", "Bea", "--normal").returncode == 0
    assert bea_photos & _all_assets(library)
