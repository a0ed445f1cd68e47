"""The pages and actions. Each handler gets (app, request, library, **route parameters).

Every action is a call into `memories.people` (the functions the CLI verbs call), so a name given
here is what `memories people` prints at once, and a re-cluster keeps it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memories import people, service
from memories.store import Library
from memories.web import queries, settings, thumbs
from memories.web.http_layer import HttpError, Request, Response, Router, file_response, local_target
from memories.web.security import servable_file

if TYPE_CHECKING:
    from memories.web.app import WebApp

router = Router()
STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(css|js|svg|png)$")
STATIC_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}


def _person(library: Library, person_id: int, include_hidden: bool = True) -> people.PersonRow:
    for row in people.list_people(library, include_hidden=include_hidden):
        if row.id == person_id:
            return row
    raise LookupError(f"no person with id {person_id}")


def _back(request: Request, fallback: str) -> Response:
    return Response.redirect(local_target(request.field("next"), fallback))


# --- pages -----------------------------------------------------------------------------------
@router.get("/")
def home(app: WebApp, request: Request, library: Library) -> Response:
    return Response.redirect("/people", 302)


@router.get("/people")
def people_album(app: WebApp, request: Request, library: Library) -> Response:
    show_hidden = request.arg("hidden") == "1"
    everyone = people.list_people(library, include_hidden=True)
    listed = [p for p in everyone if show_hidden or not p.hidden]
    faces = queries.key_faces(library, [p.id for p in listed])
    named = [p for p in listed if p.name]
    unnamed = [p for p in listed if not p.name]
    # Unnamed people seen in several photos are the ones worth naming first.
    suggested = [p for p in unnamed if p.photos >= settings.NAME_SUGGESTION_MIN_PHOTOS and not p.hidden]
    others = [p for p in unnamed if p not in suggested]
    return app.render(
        "people.html",
        nav="people",
        named=named,
        suggested=suggested,
        others=others,
        key_faces=faces,
        review=queries.faces_to_review(library),
        same_person=_merge_suggestions(library, faces),
        unassigned=queries.unassigned_faces(library),
        hidden_count=sum(p.hidden for p in everyone),
        show_hidden=show_hidden,
        note=request.arg("note"),
    )


def _merge_suggestions(library: Library, faces: dict[int, int]) -> list[dict[str, Any]]:
    """ "Same person?" pairs from `memories.assignment.merge_suggestions`, when this build has it."""
    try:
        from memories.assignment import merge_suggestions  # type: ignore[import-not-found]
    except ImportError:
        return []
    try:
        rows = [dict(row) for row in merge_suggestions(library)][: settings.MERGE_SUGGESTIONS_SHOWN]
    except Exception as error:  # suggestions are a hint; the album must load without them
        print(f"memories: merge suggestions unavailable: {error}", file=sys.stderr)
        return []
    wanted = [int(r[k]) for r in rows for k in ("person_a", "person_b")]
    faces = {**faces, **queries.key_faces(library, wanted)}
    for row in rows:
        row["face_a"], row["face_b"] = faces.get(int(row["person_a"])), faces.get(int(row["person_b"]))
    return rows


@router.get("/people/<int:person_id>")
def person_page(app: WebApp, request: Request, library: Library, person_id: int) -> Response:
    canonical = people.canonical(library.db, person_id)
    if canonical != person_id:  # merged away: their page is the person who absorbed them
        return Response.redirect(f"/people/{canonical}", 302)
    person = _person(library, person_id)
    faces = people.faces_of(library, person_id)
    others = [p for p in people.list_people(library) if p.id != person_id]
    return app.render(
        "person.html",
        nav="people",
        person=person,
        key_face=queries.key_faces(library, [person_id]).get(person_id),
        faces=faces,
        others=others,
        review_below=settings.REVIEW_SCORE_BELOW,
        note=request.arg("note"),
    )


@router.get("/photos/<int:asset_id>")
def photo_page(app: WebApp, request: Request, library: Library, asset_id: int) -> Response:
    photo = service.photo(library, asset_id)
    width, height = photo["width"], photo["height"]
    for face in photo["faces"]:
        face["style"] = _box_style(face["box"], width, height)
    return app.render(
        "photo.html",
        nav="",
        photo=photo,
        file_name=Path(photo["path"]).name,
        everyone=people.list_people(library),
    )


def _box_style(box: list[float | None], width: int | None, height: int | None) -> str | None:
    """CSS placing a face box over the photo, in percent; the part outside the photo is cut off
    (the detector finds faces cut by the photo's edge, with a box that starts at a negative x)."""
    x, y, w, h = box
    if not width or not height or x is None or y is None or w is None or h is None:
        return None
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(float(width), x + w), min(float(height), y + h)
    if right <= left or bottom <= top:
        return None
    return (
        f"left:{100 * left / width:.3f}%;top:{100 * top / height:.3f}%;"
        f"width:{100 * (right - left) / width:.3f}%;height:{100 * (bottom - top) / height:.3f}%"
    )


def parse_names(library: Library, text: str) -> tuple[list[int], list[str]]:
    """Person ids named in `text` and one message per name not found.

    Commas separate names ("Ana Maria, Ben"); without commas the longest run of words that names a
    person wins, so "Ana Maria Ben" still finds a two-word name.
    """
    found: list[int] = []
    errors: list[str] = []
    if "," in text:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        for part in parts:
            try:
                found.append(people.resolve_person(library, part))
            except people.PersonNotFound as error:
                errors.append(str(error).strip("'\""))
        return found, errors
    words = text.split()
    start = 0
    while start < len(words):
        for end in range(len(words), start, -1):
            try:
                found.append(people.resolve_person(library, " ".join(words[start:end])))
                start = end
                break
            except people.PersonNotFound as error:
                if end == start + 1:
                    errors.append(str(error).strip("'\""))
                    start += 1
    return list(dict.fromkeys(found)), errors


@router.get("/search")
def search_page(app: WebApp, request: Request, library: Library) -> Response:
    text = request.arg("q").strip()
    mode = request.arg("mode", "all")
    if mode not in ("all", "any"):
        mode = "all"
    ids, errors = parse_names(library, text) if text else ([], [])
    everyone = {p.id: p for p in people.list_people(library, include_hidden=True)}
    results = queries.search_photos(library, ids, mode) if ids and not errors else []
    return app.render(
        "search.html",
        nav="search",
        q=text,
        mode=mode,
        chosen=[everyone[i] for i in ids if i in everyone],
        key_faces=queries.key_faces(library, ids),
        errors=errors,
        results=results,
        labels={i: p.label for i, p in everyone.items()},
        names=[p.label for p in everyone.values() if not p.hidden],
        searched=bool(text),
    )


# The keys the page reads from a suggestion, so a suggestion without one still renders.
MEMORY_DEFAULTS: dict[str, Any] = {
    "key": "",
    "theme": "",
    "title": "Memory",
    "subtitle": None,
    "reason": None,
    "people": [],
    "poster": None,
    "video": None,
}


def _media_url(path: str | Path | None) -> str | None:
    from urllib.parse import quote

    return f"/files?path={quote(str(path))}" if path else None


@router.get("/memories")
def memories_page(app: WebApp, request: Request, library: Library) -> Response:
    items: list[dict[str, Any]] = []
    problem = None
    try:
        items = [{**MEMORY_DEFAULTS, **dict(item)} for item in service.suggest_memories(library)]
    except Exception as error:  # show why on the page; the rest of the site keeps working
        problem = f"Could not suggest memories: {type(error).__name__}: {error}"
    running = {job.key: job for job in app.jobs.running()}
    labels = {p.id: p.label for p in people.list_people(library, include_hidden=True)} if items else {}
    for item in items:
        item["poster_url"] = _media_url(item.get("poster"))
        item["video_url"] = _media_url(item.get("video"))
        item["job"] = running.get(str(item.get("key")))
        item["people_labels"] = _people_labels(item.get("people"), labels)
    job_id = request.arg("job")
    return app.render(
        "memories.html",
        nav="memories",
        items=items,
        problem=problem,
        can_make=True,
        watch_job=int(job_id) if job_id.isdigit() else None,
    )


def _people_labels(value: Any, labels: dict[int, str]) -> list[str]:
    """Who a memory is about, as names: the service may list ids, names or person records."""
    shown = []
    for entry in value or []:
        if isinstance(entry, dict):
            entry = entry.get("label") or entry.get("name") or entry.get("id")
        if isinstance(entry, int) or (isinstance(entry, str) and entry.isdigit()):
            shown.append(labels.get(int(entry), f"Person {entry}"))
        else:
            shown.append(str(entry))
    return shown


# --- actions (POST, CSRF-checked in app.WebApp) -----------------------------------------------
@router.post("/people/<int:person_id>/name")
def name_action(app: WebApp, request: Request, library: Library, person_id: int) -> Response:
    kept = people.name_person(library, person_id, request.field("name"))
    if request.wants_json():
        return Response.json({"id": kept, "name": " ".join(request.field("name").split())})
    return _back(request, f"/people/{kept}")


@router.post("/people/<int:person_id>/merge")
def merge_action(app: WebApp, request: Request, library: Library, person_id: int) -> Response:
    other = request.field("other").strip()
    if not other:
        raise HttpError(400, "choose the person to merge")
    kept = people.merge_people(library, person_id, other)
    return _back(request, f"/people/{kept}?note=merged")


@router.post("/people/<int:person_id>/hide")
def hide_action(app: WebApp, request: Request, library: Library, person_id: int) -> Response:
    hidden = request.field("hidden", "1") == "1"
    people.hide_person(library, person_id, hidden)
    return _back(request, "/people" if hidden else f"/people/{person_id}")


@router.post("/faces/<int:face_id>/confirm")
def confirm_action(app: WebApp, request: Request, library: Library, face_id: int) -> Response:
    person = request.field("person").strip() or None
    person_id = people.confirm_face(library, face_id, person)
    return _back(request, f"/people/{person_id}")


@router.post("/faces/<int:face_id>/reject")
def reject_action(app: WebApp, request: Request, library: Library, face_id: int) -> Response:
    person = request.field("person").strip() or None
    person_id = people.reject_face(library, face_id, person)
    return _back(request, f"/people/{person_id}")


@router.post("/memories/make")
def make_memory_action(app: WebApp, request: Request, library: Library) -> Response:
    key = request.field("key").strip()
    if not key:
        raise HttpError(400, "which memory? (no key)")
    job = app.jobs.start(key, lambda lib, progress: service.make_memory(lib, key, progress))
    if request.wants_json():
        return Response.json(job.as_dict(), 202)
    return Response.redirect(f"/memories?job={job.id}")


@router.get("/jobs/<int:job_id>")
def job_status(app: WebApp, request: Request, library: Library, job_id: int) -> Response:
    job = app.jobs.get(job_id)
    if job is None:
        raise HttpError(404, f"no job {job_id}")
    return Response.json(job.as_dict())


# --- files -------------------------------------------------------------------------------------
@router.get("/faces/<int:face_id>/thumb.jpg")
def face_thumb(app: WebApp, request: Request, library: Library, face_id: int) -> Response:
    return file_response(thumbs.face_thumbnail(library, face_id), request, "image/jpeg", cache_s=300)


@router.get("/photos/<int:asset_id>/view.jpg")
def photo_view(app: WebApp, request: Request, library: Library, asset_id: int) -> Response:
    path = thumbs.photo_copy(library, asset_id, settings.PHOTO_VIEW_PX)
    return file_response(path, request, "image/jpeg", cache_s=3600)


@router.get("/photos/<int:asset_id>/grid.jpg")
def photo_grid(app: WebApp, request: Request, library: Library, asset_id: int) -> Response:
    path = thumbs.photo_copy(library, asset_id, settings.PHOTO_GRID_PX)
    return file_response(path, request, "image/jpeg", cache_s=3600)


def allowed_file(library: Library, path: str | Path) -> Path | None:
    """The file when it lies in the library's derived folders or an indexed photo folder, else None.

    Never the library folder itself: it holds the database. The derived folders are tried first:
    they hold the videos, whose many range requests should not each list every indexed folder.
    """
    found = servable_file(path, [library.renders_dir, library.thumbs_dir])
    return found or servable_file(path, service.indexed_roots(library))


@router.get("/photos/<int:asset_id>/original")
def photo_original(app: WebApp, request: Request, library: Library, asset_id: int) -> Response:
    path = servable_file(service.asset_path(library, asset_id), service.indexed_roots(library))
    if path is None:
        raise HttpError(404, "the original file is not available")
    return file_response(path, request, settings.SERVABLE_SUFFIXES[path.suffix.lower()])


@router.get("/files")
def library_file(app: WebApp, request: Request, library: Library) -> Response:
    """A render, poster or photo by absolute path, only from inside the folders `allowed_file` allows."""
    path = allowed_file(library, request.arg("path"))
    if path is None:
        raise HttpError(404, "no such file here")
    return file_response(path, request, settings.SERVABLE_SUFFIXES[path.suffix.lower()])


@router.get("/static/<str:name>")
def static_file(app: WebApp, request: Request, library: Library, name: str) -> Response:
    from memories.web.app import STATIC_DIR

    if not STATIC_NAME.match(name) or not (STATIC_DIR / name).is_file():
        raise HttpError(404, "no such file")
    return file_response(STATIC_DIR / name, request, STATIC_TYPES[name.rsplit(".", 1)[1]], cache_s=60)
