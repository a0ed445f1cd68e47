"""The pages: Library, photo viewer, People, person, Places, Search, Memories.

Handlers are thin: they read through `memories.people`, `memories.web.queries`, the knowledge graph
kept by `state.LibraryCache`, and `graph.find` (the one photo search, shared with the CLI).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import flask

import graph as kg
from graph.names import person_summary, visible_people
from memories import people, service
from memories.web import queries, settings
from memories.web.context import UserError, add_routes, cache, jobs, library

PEOPLE_SORTS = {"photos": "Most photos", "name": "Name", "recent": "Recently seen"}


def register(app: flask.Flask) -> None:
    add_routes(
        app,
        "GET",
        (
            ("/", home),
            ("/library", library_page),
            ("/photos/<id:asset_id>", photo_page),
            ("/people", people_album),
            ("/people/<id:person_id>", person_page),
            ("/places", places_page),
            ("/search", search_page),
            ("/suggest", suggest),
            ("/memories", memories_page),
            ("/jobs/<id:job_id>", job_status),
        ),
    )
    app.add_template_filter(queries.clock, "clock")
    app.add_template_filter(queries.duration_clock, "duration_clock")
    app.add_template_filter(queries.seek_param, "seek_param")


def arg(name: str, default: str = "", limit: int = settings.MAX_QUERY_CHARS) -> str:
    """A query-string value, refused when longer than a person would type."""
    value = flask.request.args.get(name, default)
    if len(value) > limit:
        raise UserError(400, f"“{name}” is too long (at most {limit} characters).")
    return value.strip()


def render(template: str, **context: Any) -> str:
    return flask.render_template(template, **context)


def home() -> Any:
    return flask.redirect("/library", 302)


# --- library and viewer -------------------------------------------------------------------------
def library_page() -> Any:
    lib = library()
    cursor = arg("after") or None
    month = arg("month")
    if month:
        cursor = queries.month_cursor(lib, month)
    try:
        page = queries.library_page(lib, cursor)
    except ValueError as error:
        raise UserError(400, "That page of the library does not exist.") from error
    if arg("fragment") == "1":  # the next page, appended by the script as the user scrolls
        return render("_tiles.html", page=page, last_month=arg("last_month"))
    return render(
        "library.html",
        nav="library",
        page=page,
        months=cache().get(lib, "months", queries.months),
        month=month,
        last_month="",
    )


def photo_page(asset_id: int) -> Any:
    lib = library()
    photo = service.photo(lib, asset_id)
    media = queries.media(lib, asset_id)
    if media.is_video:
        _add_sightings(photo, queries.sightings(lib, asset_id))
    else:
        for face in photo["faces"]:
            face["style"] = box_style(face["box"], photo["width"], photo["height"])
            face["seen"] = None
    before, after = queries.neighbours(lib, asset_id)
    graph = cache().graph(lib)
    return render(
        "photo.html",
        nav="library",
        photo=photo,
        media=media,
        start=start_time(media),
        when=queries.human_date(photo["taken_at"]),
        place=queries.place_of(graph, asset_id),
        before=before,
        after=after,
        names=[p.label for p in everyone_sorted(lib) if not p.hidden],
    )


def _add_sightings(photo: service.Photo, seen: dict[int, queries.Sighting]) -> None:
    """A video's faces: when each is on screen (no box over a moving picture), in order of appearance."""
    for face in photo["faces"]:
        face["style"] = None
        face["seen"] = seen.get(face["id"])
    photo["faces"].sort(key=lambda f: (f["seen"].first_s if f["seen"] else float("inf"), f["id"]))


def start_time(media: queries.Media) -> float | None:
    """`?t=` (seconds) where a video starts playing, kept inside the video; None for the start."""
    text = arg("t", limit=20)
    if not media.is_video or not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return min(seconds, media.duration_s) if media.duration_s else seconds


def box_style(box: list[float | None], width: int | None, height: int | None) -> str | None:
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


# --- people -------------------------------------------------------------------------------------
def people_album() -> Any:
    lib = library()
    show_hidden = arg("hidden") == "1"
    sort = arg("sort", "photos")
    if sort not in PEOPLE_SORTS:
        sort = "photos"
    wanted = arg("q", limit=200).casefold()
    everyone = everyone_sorted(lib, sort)
    listed = [p for p in everyone if (show_hidden or not p.hidden) and wanted in p.label.casefold()]
    named = [p for p in listed if p.name]
    unnamed = [p for p in listed if not p.name]
    # Unnamed people seen in several photos are the ones worth naming first.
    suggested = [p for p in unnamed if p.photos >= settings.NAME_SUGGESTION_MIN_PHOTOS and not p.hidden]
    first = {p.id for p in suggested}
    others = [p for p in unnamed if p.id not in first]
    show_all = arg("all") == "1"
    limit = None if show_all else settings.PEOPLE_SHOWN
    named, others = named[:limit], others[:limit]
    suggested = suggested[:limit]
    shown = [p.id for p in (*named, *suggested, *others)]
    same_person = merge_pairs(lib)
    faces = queries.key_faces(lib, shown + [i for pair in same_person for i in (pair.a, pair.b)])
    return render(
        "people.html",
        nav="people",
        named=named,
        suggested=suggested,
        others=others,
        truncated=not show_all and len(listed) > len(shown),
        key_faces=faces,
        review=queries.faces_to_review(lib),
        same_person=same_person,
        unassigned=cache().get(lib, "unassigned", queries.unassigned_faces),
        hidden_count=sum(p.hidden for p in everyone),
        show_hidden=show_hidden,
        sort=sort,
        sorts=PEOPLE_SORTS,
        q=arg("q", limit=200),
        undo=people.last_correction(lib),
        note=arg("note", limit=200),
    )


@dataclass(frozen=True)
class MergePair:
    a: int
    b: int
    label_a: str
    label_b: str


def compute_merge_pairs(lib: Any) -> list[MergePair]:
    from memories.assignment import merge_suggestions

    try:
        rows = merge_suggestions(lib)
    except Exception as error:  # suggestions are a hint; the album must load without them
        print(f"memories: merge suggestions unavailable: {error}", file=sys.stderr)
        return []
    return [MergePair(int(r["person_a"]), int(r["person_b"]), r["label_a"], r["label_b"]) for r in rows]


def everyone_sorted(lib: Any, sort: str = "photos") -> list[people.PersonRow]:
    """Every person (hidden ones too) in the album's order, computed once per library state."""
    return cache().get(lib, f"people:{sort}", lambda current: people.list_people(current, True, sort))


def merge_pairs(lib: Any) -> list[MergePair]:
    """ "Same person?" pairs (never a pair the user answered, never two named people).

    Seconds to compute on a big library, so a change is recomputed in the background; until then
    the last pairs are shown minus any the user has answered or merged since."""

    pairs = cache().get_soon(lib, "merge_pairs", compute_merge_pairs)
    if not pairs:
        return []
    current = {p.id: p for p in everyone_sorted(lib)}
    answered = people.different_pairs(lib)
    fresh = [
        MergePair(pair.a, pair.b, current[pair.a].label, current[pair.b].label)
        for pair in pairs
        if pair.a in current
        and pair.b in current
        and not (current[pair.a].hidden or current[pair.b].hidden)
        and not (current[pair.a].name and current[pair.b].name)
        and (min(pair.a, pair.b), max(pair.a, pair.b)) not in answered
    ]
    return fresh[: settings.MERGE_SUGGESTIONS_SHOWN]


def person_page(person_id: int) -> Any:
    lib = library()
    canonical = people.canonical(lib.db, person_id)
    if canonical != person_id:  # merged away: their page is the person who absorbed them
        return flask.redirect(f"/people/{canonical}", 302)
    everyone = everyone_sorted(lib)
    person = next((p for p in everyone if p.id == person_id), None)
    if person is None:
        raise LookupError(f"There is no person {person_id}.")
    page = _page_number()
    faces, total = queries.person_photos(lib, person_id, page)
    merged = lib.db.execute(
        "SELECT id, name FROM people WHERE merged_into = ? ORDER BY id DESC", (person_id,)
    ).fetchall()
    return render(
        "person.html",
        nav="people",
        person=person,
        key_face=queries.key_faces(lib, [person_id]).get(person_id),
        faces=faces,
        total=total,
        page=page,
        pages=max(1, -(-total // settings.PERSON_PAGE_SIZE)),
        merged=[(int(r["id"]), people.label(int(r["id"]), r["name"])) for r in merged],
        names=[p.label for p in everyone if p.id != person_id and not p.hidden],
        review_below=settings.REVIEW_SCORE_BELOW,
        note=arg("note", limit=200),
    )


def _page_number() -> int:
    text = arg("page", "0")
    return int(text) if text.isdigit() and len(text) < 7 else 0


# --- places and search --------------------------------------------------------------------------
def places_page() -> Any:
    lib = library()
    cards = cache().get(lib, "places", lambda current: queries.places(cache().graph(current)))
    return render("places.html", nav="places", places=cards)


@dataclass
class SearchForm:
    q: str = ""
    mode: str = "all"
    exclude: str = ""
    place: str = ""
    date_from: str = ""
    date_to: str = ""

    @property
    def empty(self) -> bool:
        return not (self.q or self.exclude or self.place or self.date_from or self.date_to)


class SearchRow(kg.AssetRow):
    """A photo found, with what kind of picture it is (its badge)."""

    media: queries.Media


@dataclass
class SearchAnswer:
    form: SearchForm
    chosen: list[kg.PersonSummary] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rows: list[SearchRow] = field(default_factory=list)
    total: int = 0
    any_total: int | None = None  # for "no photo shows all of them": how many show any


def _words(name: str) -> str:
    """A query of people's names: word count checked first (the cheap, telling limit), then length."""
    if len(flask.request.args.get(name, "").split()) > settings.MAX_QUERY_WORDS:
        raise UserError(400, f"A search can have at most {settings.MAX_QUERY_WORDS} words.")
    return arg(name)


def search_page() -> Any:
    form = SearchForm(
        q=_words("q"),
        mode=arg("mode", "all") if arg("mode", "all") in ("all", "any") else "all",
        exclude=_words("not"),
        place=arg("place", limit=200),
        date_from=arg("from", limit=10),
        date_to=arg("to", limit=10),
    )
    answer = SearchAnswer(form)
    page = _page_number()
    if not form.empty:
        lib = library()
        graph = cache().graph(lib)
        wanted, errors = kg.people_in_text(graph, form.q)
        excluded, more = kg.people_in_text(graph, form.exclude)
        answer.errors = errors + more
        answer.chosen = [person_summary(graph, p) for p in wanted]
        if not answer.errors:
            criteria: dict[str, Any] = {
                "exclude": excluded,
                "place": form.place or None,
                "date_from": form.date_from or None,
                "date_to": form.date_to or None,
            }
            start = page * settings.SEARCH_PAGE_SIZE
            try:
                answer.total, shown = kg.find_page(
                    graph, wanted, match=form.mode, start=start, size=settings.SEARCH_PAGE_SIZE, **criteria
                )  # type: ignore[arg-type]
                if not answer.total and len(wanted) > 1 and form.mode == "all":
                    answer.any_total = kg.find_page(graph, wanted, match="any", size=0, **criteria)[0]
            except (kg.UnknownPlaceError, ValueError) as error:
                answer.errors.append(str(error.args[0]))
                shown = []
            found = kg.asset_rows(graph, shown)
            kinds = queries.media_kinds(lib, [int(r["id"]) for r in found])
            answer.rows = [
                SearchRow(**r, media=kinds.get(int(r["id"]), queries.Media("photo"))) for r in found
            ]
    return render(
        "search.html",
        nav="search",
        answer=answer,
        form=form,
        page=page,
        pages=max(1, -(-answer.total // settings.SEARCH_PAGE_SIZE)),
    )


def suggest() -> Any:
    """Names and places starting with (or containing) what is typed, for the search box."""
    text = arg("q", limit=200).casefold()
    if not text:
        return flask.jsonify(people=[], places=[])
    graph = cache().graph(library())
    labels = sorted({person_summary(graph, p)["label"] for p in visible_people(graph)})
    place_names = sorted({graph._node[p]["label"] for p in graph.graph["places"] if graph._node[p]["photos"]})

    def best(names: list[str]) -> list[str]:
        starts = [n for n in names if n.casefold().startswith(text)]
        inside = [n for n in names if text in n.casefold() and n not in starts]
        return (starts + inside)[: settings.SUGGESTIONS_SHOWN]

    return flask.jsonify(people=best(labels), places=best(place_names))


# --- memories -----------------------------------------------------------------------------------
def memories_page() -> Any:
    lib = library()
    items: list[dict[str, Any]] = []
    problem = None
    try:
        items = [dict(item) for item in cache().get(lib, "memories", service.suggest_memories)]
    except Exception as error:  # say so on the page; the rest of the site keeps working
        print(f"memories: could not suggest memories: {error!r}", file=sys.stderr)
        problem = "Memories could not be suggested right now. The details are in the console."
    running = {job.key: job for job in jobs().active()}
    labels = {p.id: p.label for p in everyone_sorted(lib)} if items else {}
    for item in items:
        item["job"] = running.get(str(item["key"]))
        item["people_labels"] = [labels.get(p) or people.label(p, None) for p in item["person_ids"]]
    watch = arg("job")
    return render(
        "memories.html",
        nav="memories",
        items=items,
        problem=problem,
        watch_job=int(watch) if watch.isdigit() and len(watch) < 10 else None,
        moods=_moods(),
        lengths=("short", "medium", "long"),
    )


def _moods() -> list[str]:
    from memories.render import settings as render_settings

    return list(render_settings.MOODS)


def job_status(job_id: int) -> Any:
    job = jobs().get(job_id)
    if job is None:
        raise LookupError(f"There is no job {job_id}.")
    return flask.jsonify(job.as_dict())
