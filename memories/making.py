"""Memories from a library: theme rules over the graph -> curation -> plan -> rendered MP4.

`suggest` ranks what the themes propose; `make` renders one (by theme and filters, or by a
suggestion's key); `export_theme` renders every suggestion of a theme, skipping those whose plan
did not change since the last render (the plan's hash is kept in the `renders` table).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypedDict

import networkx as nx

from graph.names import resolve_people
from memories import memory_choices as choices
from memories import settings, videos
from memories.curation import (
    SHARPNESS_SIDE,
    CandidateFace,
    CandidatePhoto,
    Fingerprint,
    TooFewPhotos,
    curate,
    fingerprint,
    fingerprint_pixels,
)
from memories.graph_store import load as load_graph
from memories.photos import PhotoError
from memories.render import settings as render_settings
from memories.render.plan import Clip, MemoryPlan, PlanPhoto
from memories.render.storyboard import clip_seconds
from memories.render.video import render_is_complete, render_memory
from memories.store import Library
from themes.loader import load_themes
from themes.model import Theme
from themes.rules import RULES, Candidate, RuleInput, within_year

Progress = Callable[..., None]


class NoSuchMemory(LookupError):
    """No memory matches what was asked; str() says why and what would."""


def themes_for(library: Library) -> dict[str, Theme]:
    """Built-in themes, then the user's (`$MEMORIES_THEMES` or `<library>/themes`)."""
    user = Path(os.environ.get(settings.THEMES_ENV, library.root / "themes"))
    catalog = load_themes(user if user.is_dir() else None)
    for warning in catalog.warnings:
        print(f"memories: warning: {warning}", file=sys.stderr)
    return catalog.themes


def candidates(
    library: Library,
    theme: Theme,
    *,
    people: list[str] | None = None,
    place: str | None = None,
    year: int | None = None,
    today: date | None = None,
    graph: nx.Graph | None = None,
    include_hidden: bool = False,
) -> list[Candidate]:
    """The theme's memories as the user wants them: the rule's candidates after the filters, the
    user's feature choices and photos taken out; hidden and dismissed ones left out unless asked."""
    graph = graph if graph is not None else load_graph(library)
    asked = tuple(resolve_people(graph, people)) if people else ()
    rule = RULES.get(theme.query)
    if rule is None:
        raise NoSuchMemory(f"theme {theme.id!r} ({theme.source}) names an unknown query {theme.query!r}")
    found = rule(RuleInput(graph, today or date.today(), theme.params, asked))
    if asked:
        wanted = {int(graph.nodes[p]["id"]) for p in asked}
        found = [c for c in found if not c.people or wanted <= set(c.people) or theme.query == "trip"]
    if place:
        found = [c for c in found if choices.matches_place(c, place)]
    if year:
        narrowed = (within_year(graph, c, year) for c in found)
        found = [c for c in narrowed if c is not None]
    found = choices.apply_features(graph, found, choices.feature_choices(library))
    chosen = choices.memory_choices(library)
    found = [choices.without_removed(c, chosen.get(c.key)) for c in found]
    if not include_hidden:
        found = [c for c in found if choices.visible(c, chosen.get(c.key))]
    return [c for c in found if len(c.assets) >= theme.min_photos]


class Suggestion(TypedDict):
    """One row of `suggest` (JSON for `memories suggest --json` and the web page)."""

    key: str
    theme: str
    title: str
    subtitle: str
    reason: str
    people: list[str | None]  # featured people's names (None: not named yet)
    person_ids: list[int]
    photos: int
    score: float
    video: str | None  # the rendered movie, when made and still there
    poster: str | None
    render_id: int | None
    cover: int | None  # the asset shown for it


def suggest(library: Library, today: date | None = None, limit: int | None = None) -> list[Suggestion]:
    """Every theme's candidates, titled, best first; with where its render is, if made."""
    graph = load_graph(library)
    rendered = {
        r["key"]: (int(r["id"]), r["path"]) for r in library.db.execute("SELECT id, key, path FROM renders")
    }
    chosen_covers = {k: c.key_asset_id for k, c in choices.memory_choices(library).items()}
    rows: list[Suggestion] = []
    for theme in themes_for(library).values():
        for candidate in candidates(library, theme, today=today, graph=graph):
            title, subtitle = titles(library, theme, candidate)
            render_id, video = rendered.get(candidate.key, (None, None))
            video_path = Path(video) if video and Path(video).exists() else None
            rows.append(
                {
                    "key": candidate.key,
                    "theme": theme.id,
                    "title": title,
                    "subtitle": subtitle,
                    "reason": candidate.reason,
                    "people": candidate.context.get("people", []),
                    "person_ids": list(candidate.people),
                    "photos": len(candidate.assets),
                    "score": round(candidate.score, 3),
                    "video": str(video_path) if video_path else None,
                    "poster": str(video_path.with_suffix(".jpg")) if video_path else None,
                    "render_id": render_id if video_path else None,
                    "cover": chosen_covers.get(candidate.key) or cover_photo(library, candidate),
                }
            )
    rows.sort(key=lambda r: (-r["score"], r["key"]))
    return rows[:limit] if limit else rows


def cover_photo(library: Library, candidate: Candidate) -> int | None:
    """The photo a memory is shown with before it is made: the one whose featured people's faces
    are largest and clearest (every face, for a memory without featured people). The rendered
    movie's key photo may differ: curation weighs the whole set."""
    if not candidate.assets:
        return None
    assets = ",".join(str(int(a)) for a in candidate.assets)
    featured = ",".join(str(int(p)) for p in candidate.people)
    who = f"AND o.person_id IN ({featured})" if featured else "AND o.person_id IS NOT NULL"
    row = library.db.execute(
        f"SELECT o.asset_id FROM observations o WHERE o.asset_id IN ({assets}) {who} "
        "AND o.is_clear = 1 AND o.face_w IS NOT NULL "
        "GROUP BY o.asset_id ORDER BY COUNT(DISTINCT o.person_id) DESC, SUM(o.face_w * o.face_h) DESC, "
        "o.asset_id LIMIT 1"
    ).fetchone()
    return int(row[0]) if row else int(candidate.assets[0])


def plan(
    library: Library,
    theme: Theme,
    candidate: Candidate,
    *,
    length: str | None = None,
    mood: str | None = None,
) -> MemoryPlan:
    """Curate the candidate's photos into a plan the renderer takes.

    A length is a most: with too few photos to fill it at the mood's pace, the movie is as long
    as its photos (so "long" means more moments when there are more, never slower shots). The
    user's choices for this memory (title, mood, length, key photo) apply unless overridden here."""
    choice = choices.memory_choices(library).get(candidate.key) or choices.MemoryChoice(candidate.key)
    length = length or choice.length or theme.length
    mood = mood or choice.mood or theme.mood
    if length not in render_settings.LENGTH_SECONDS:
        raise ValueError(f"unknown length {length!r}: short (30 s), medium (60 s) or long (90 s)")
    if mood not in render_settings.MOODS:
        raise ValueError(f"unknown mood {mood!r}: {', '.join(render_settings.MOODS)}")
    photos = _candidate_photos(library, candidate)
    max_photos = min(theme.max_photos, settings.PHOTOS_PER_LENGTH[length])
    chosen = curate(
        photos,
        candidate.people,
        max_photos=max_photos,
        min_photos=min(theme.min_photos, len(photos)),
        per_group=candidate.context.get("per_group"),
    )
    title, subtitle = titles(library, theme, candidate)
    key_photo = chosen.key_photo
    if choice.key_asset_id is not None:
        key_photo = next(
            (i for i, p in enumerate(chosen.photos) if p.asset_id == choice.key_asset_id), key_photo
        )
    # A clip shot lasts its clip (2-5 s), a still the mood's shot length.
    shots = sum(
        render_settings.MOODS[mood].shot_seconds if photo.clip is None else clip_seconds(photo.clip)
        for photo in chosen.photos
    )
    paced = render_settings.TITLE_CARD_S + render_settings.END_CARD_S + shots * settings.MAX_SHOT_STRETCH
    nominal = render_settings.LENGTH_SECONDS[length]
    return MemoryPlan(
        title=title,
        subtitle=subtitle,
        photos=tuple(
            PlanPhoto(
                path=photo.path or Path(),
                width=photo.width,
                height=photo.height,
                faces=tuple(chosen.frame_boxes(i, candidate.people)),
                others=tuple(chosen.other_boxes(i, candidate.people)),
                time=photo.time,
                asset_id=int(photo.asset_id),  # type: ignore[call-overload]
                clip=photo.clip,
            )
            for i, photo in enumerate(chosen.photos)
        ),
        # Names as the titles see them: None for someone not named yet (kept as it was; the plan's
        # people are typed str).
        people=tuple(candidate.context.get("people", [])),  # type: ignore[arg-type]
        mood=mood,
        length=length,
        seconds=None if paced >= nominal else float(max(round(paced), render_settings.MIN_MEMORY_S)),
        reason=candidate.reason,
        theme=theme.id,
        key_photo=key_photo,
    )


def titles(library: Library, theme: Theme, candidate: Candidate) -> tuple[str, str]:
    """(title, subtitle): the theme's, or the title the user gave this memory."""
    title, subtitle = theme.render_title(candidate.context)
    choice = choices.memory_choices(library).get(candidate.key)
    return (choice.title if choice and choice.title else title), subtitle


def _candidate_photos(library: Library, candidate: Candidate) -> list[CandidatePhoto]:
    """The candidate's visible assets as curation sees them. A photo is fingerprinted from its
    file; a Live Photo from its still, with its motion file as its clip; a video from its poster
    frame (in its highlight, at its best face), with its highlight as its clip."""
    db = library.db
    marks = ",".join("?" * len(candidate.assets))
    rejected = {
        (int(o), int(p)) for o, p in db.execute("SELECT observation_id, person_id FROM feedback_rejections")
    }
    faces: dict[int, list[CandidateFace]] = {}
    face_times: dict[int, list[tuple[float, float]]] = {}  # a video's face tracks: (area, best frame's time)
    for row in db.execute(
        f"SELECT id, asset_id, person_id, face_x, face_y, face_w, face_h, is_clear, time_s FROM observations "
        f"WHERE source = 'detector' AND asset_id IN ({marks})",
        candidate.assets,
    ):
        faces.setdefault(int(row["asset_id"]), []).append(
            CandidateFace(
                person=row["person_id"],
                box=(row["face_x"], row["face_y"], row["face_w"], row["face_h"]),
                clear=bool(row["is_clear"]),
                rejected=(int(row["id"]), int(row["person_id"] or -1)) in rejected,
            )
        )
        if row["time_s"] is not None and row["face_w"] and row["face_h"]:
            area = float(row["face_w"]) * float(row["face_h"]) * (2.0 if row["is_clear"] else 1.0)
            face_times.setdefault(int(row["asset_id"]), []).append((area, float(row["time_s"])))
    motions = {
        int(row["asset_id"]): row
        for row in db.execute(f"SELECT * FROM asset_motion WHERE asset_id IN ({marks})", candidate.assets)
    }
    photos = []
    for row in db.execute(f"SELECT * FROM assets WHERE id IN ({marks}) AND hidden = 0", candidate.assets):
        path = Path(row["path"])
        asset_id = int(row["id"])
        clip: Clip | None = None
        try:
            if row["media_kind"] == "video":
                best_face = max(face_times.get(asset_id, []), default=None)
                measured, clip = _video_candidate(path, row, best_face[1] if best_face else None)
            else:
                measured = fingerprint(path)
                if row["media_kind"] == "live":
                    clip = _live_clip(motions.get(asset_id))
        except (OSError, PhotoError) as error:  # moved away since indexing: leave it out, say so
            print(f"memories: skipped {path}: {error}", file=sys.stderr)
            continue
        photos.append(
            CandidatePhoto(
                asset_id=asset_id,
                time=datetime.fromisoformat(row["taken_at"]) if row["taken_at"] else None,
                width=int(row["width"]),
                height=int(row["height"]),
                faces=tuple(faces.get(asset_id, ())),
                moment=row["moment_id"],
                sharpness=measured.sharpness,
                phash=measured.phash,
                mirrored_phash=measured.mirrored_phash,
                clutter=measured.clutter,
                path=path,
                clip=clip,
            )
        )
    return photos


def highlight_window(
    duration_s: float, start_s: float | None, end_s: float | None, face_s: float | None
) -> tuple[float, float]:
    """The seconds of a video a memory plays: its stored highlight (clamped to the file), else
    CLIP_DEFAULT_S (or the whole video, if shorter) centred on its best face, else from its start."""
    if start_s is not None and end_s is not None:
        start, end = max(0.0, float(start_s)), min(float(end_s), duration_s)
        if end > start:
            return start, end
    length = min(render_settings.CLIP_DEFAULT_S, duration_s)
    centre = face_s if face_s is not None else length / 2
    start = min(max(0.0, centre - length / 2), max(0.0, duration_s - length))
    return start, start + length


def _video_candidate(path: Path, row: Any, face_s: float | None) -> tuple[Fingerprint, Clip]:
    """A video's fingerprint (of its poster frame: at its best face when that is inside the
    highlight, else the highlight's start) and its clip."""
    info = videos.probe(path)
    start, end = highlight_window(info.duration_s, row["highlight_start_s"], row["highlight_end_s"], face_s)
    poster_s = face_s if face_s is not None and start <= face_s <= end else start
    poster = videos.poster_frame(path, info, poster_s, longest_side=2 * SHARPNESS_SIDE)
    clip = Clip(path, start, end, info.duration_s, info.width, info.height, info.has_audio)
    return fingerprint_pixels(poster), clip


def _live_clip(motion: Any) -> Clip | None:
    """A Live Photo's motion as a clip played whole; None (a still photo) when its motion file is
    not known or gone."""
    if motion is None:
        return None
    path = Path(motion["path"])
    if not path.is_file():
        print(f"memories: {path} (a Live Photo's motion) is gone: its still is shown", file=sys.stderr)
        return None
    duration, width, height = motion["duration_s"], motion["width"], motion["height"]
    if not duration or not width or not height:
        try:
            info = videos.probe(path)
        except PhotoError as error:
            print(f"memories: {path} (a Live Photo's motion): {error}; its still is shown", file=sys.stderr)
            return None
        duration, width, height = info.duration_s, info.width, info.height
    seconds = float(duration)
    return Clip(path, 0.0, seconds, seconds, int(width), int(height), bool(motion["has_audio"]), live=True)


def memory_seed(key: str) -> int:
    """The seed of a memory's music and motion: its own for each memory, the same on every render."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)


def signature(memory_plan: MemoryPlan, size: tuple[int, int], music: Path | None) -> str:
    data = {
        "title": memory_plan.title,
        "subtitle": memory_plan.subtitle,
        "renderer": render_settings.RENDER_VERSION,
        "photos": [
            [str(p.path), p.asset_id, list(p.faces), list(p.others)]
            + ([str(p.clip.path), p.clip.start_s, p.clip.end_s] if p.clip else [])
            for p in memory_plan.photos
        ],
        "mood": memory_plan.mood,
        "length": memory_plan.length,
        "key": memory_plan.key_photo,
        "size": list(size),
        "music": str(music) if music else None,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def render_candidate(
    library: Library,
    theme: Theme,
    candidate: Candidate,
    output: Path | None = None,
    *,
    length: str | None = None,
    mood: str | None = None,
    music: Path | None = None,
    size: tuple[int, int] = render_settings.DEFAULT_SIZE,
    progress: Progress | None = None,
    skip_unchanged: bool = False,
) -> dict[str, Any]:
    memory_plan = plan(library, theme, candidate, length=length, mood=mood)
    chosen_music = choices.memory_choices(library).get(candidate.key)
    if music is None and chosen_music is not None and chosen_music.music:
        music = Path(chosen_music.music)
    sig = signature(memory_plan, size, music)
    output = output or library.renders_dir / f"{candidate.key.replace(':', '-')}.mp4"
    previous = library.db.execute(
        "SELECT signature, path FROM renders WHERE key = ?", (candidate.key,)
    ).fetchone()
    # Unchanged means the same plan and a render that finished (a killed one has no sidecar, or a
    # movie shorter than its sidecar says): anything else is rendered again.
    output = output.resolve()
    # Unchanged also means rendered to this same place: exporting to a new folder renders again.
    if (
        skip_unchanged
        and previous
        and previous["signature"] == sig
        and Path(previous["path"]) == output
        and render_is_complete(output)
    ):
        return {"key": candidate.key, "video": previous["path"], "skipped": True}
    result = render_memory(
        memory_plan, output, size=size, music=music, seed=memory_seed(candidate.key), progress=progress
    )
    with library.transaction() as db:
        db.execute(
            "INSERT INTO renders (theme, key, signature, path) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
            "SET signature = excluded.signature, path = excluded.path, created_at = CURRENT_TIMESTAMP",
            (theme.id, candidate.key, sig, str(result.video)),
        )
    return {
        "key": candidate.key,
        "title": memory_plan.title,
        "video": str(result.video),
        "poster": str(result.poster),
        "sidecar": str(result.sidecar),
        "duration": round(result.duration, 2),
        "size": list(result.size),
        "photos": len(memory_plan.photos),
        "render_seconds": round(result.render_seconds, 1),
        "skipped": False,
    }


def make(
    library: Library,
    theme_id: str,
    output: Path | None = None,
    *,
    people: list[str] | None = None,
    place: str | None = None,
    year: int | None = None,
    length: str | None = None,
    mood: str | None = None,
    music: Path | None = None,
    size: tuple[int, int] = render_settings.DEFAULT_SIZE,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """`memories make THEME ...`: the best candidate of the theme that fits the filters."""
    themes = themes_for(library)
    if theme_id not in themes:
        raise NoSuchMemory(f"no theme {theme_id!r}; themes: {', '.join(sorted(themes))}")
    theme = themes[theme_id]
    found = candidates(library, theme, people=people, place=place, year=year)
    if not found:
        raise NoSuchMemory(
            f"theme {theme_id!r} finds no memory with at least {theme.min_photos} photos for those filters"
        )
    best = max(found, key=lambda c: (c.score, c.key))
    return render_candidate(
        library, theme, best, output, length=length, mood=mood, music=music, size=size, progress=progress
    )


def find_candidate(library: Library, key: str) -> tuple[Theme, Candidate]:
    """The memory with this key, hidden or dismissed ones included."""
    themes = themes_for(library)
    theme = themes.get(key.split(":", 1)[0])
    if theme is None:
        raise NoSuchMemory(f"no memory {key!r}: keys look like together:1-2 (see `memories suggest`)")
    for candidate in candidates(library, theme, include_hidden=True):
        if candidate.key == key:
            return theme, candidate
    raise NoSuchMemory(f"no memory {key!r} (the library changed since it was suggested)")


def make_by_key(library: Library, key: str, progress: Progress | None = None) -> dict[str, Any]:
    """Render (or re-render) the suggestion with this key into the library's renders folder."""
    theme, candidate = find_candidate(library, key)
    return render_candidate(library, theme, candidate, progress=progress)


def export_theme(
    library: Library,
    theme_id: str,
    output_dir: Path,
    *,
    length: str | None = None,
    size: tuple[int, int] = render_settings.DEFAULT_SIZE,
    progress: Progress | None = None,
    report: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Render every suggestion of a theme into output_dir, skipping those already rendered there
    unchanged. A suggestion whose photos can no longer make a movie (moved away, too few usable
    ones) is reported and left out; the others are still rendered."""
    themes = themes_for(library)
    if theme_id not in themes:
        raise NoSuchMemory(f"no theme {theme_id!r}; themes: {', '.join(sorted(themes))}")
    theme = themes[theme_id]
    results = []
    for candidate in candidates(library, theme):
        output = output_dir / f"{candidate.key.replace(':', '-')}.mp4"
        try:
            results.append(
                render_candidate(
                    library,
                    theme,
                    candidate,
                    output,
                    length=length,
                    size=size,
                    progress=progress,
                    skip_unchanged=True,
                )
            )
        except TooFewPhotos as error:
            if report:
                report(f"skipped {candidate.key}: {error}")
    return results
