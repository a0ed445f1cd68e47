"""The `memories` command. Each verb is a thin call into a library function.

Heavy libraries (onnxruntime, OpenCV, moviepy) are imported inside the verbs that need them, so
`memories --help` and a no-op `memories index` start fast.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Concatenate, NoReturn, ParamSpec, TypeVar

import typer

app = typer.Typer(
    name="memories",
    help=(
        "Private, on-device People and Memories for a photo library.\n\n"
        "Indexes photos (EXIF, XMP sidecars, HEIC), finds and recognises the people in them, builds a "
        "knowledge graph of people, moments, places, trips and groups, and renders themed memory movies. "
        "Nothing leaves this machine.\n\n"
        "The library (a SQLite database plus thumbnails, models and renders) lives in the folder given by "
        "--library, else $MEMORIES_LIBRARY, else ~/.local/share/memories."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: paragraphs re-flowed like a man page
)
eval_app = typer.Typer(
    help="Measure the recognition layer on labelled data sets.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(eval_app, name="eval")

LibraryOption = Annotated[
    Path | None,
    typer.Option(
        "--library",
        "-L",
        help="Library folder (default: $MEMORIES_LIBRARY or ~/.local/share/memories).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS",
        help="Run on the workers of a running Dask scheduler (tcp://host:port) instead of local "
        "processes. The folders (and, for `cluster`, the libraries) must be at the same path on the "
        "workers (a shared mount); a path a worker cannot read is skipped with its reason. `index` "
        "still writes the library from this machine only; `cluster` writes each library from its "
        "own task. Needs the extra: pip install 'memories[cluster]'.",
        show_default=False,
    ),
]
PersonArgument = Annotated[str, typer.Argument(help="Person id (7) or name.")]
FaceArgument = Annotated[
    int, typer.Argument(help="Face id (see `memories faces PERSON`, or the web photo page).")
]
Arguments = ParamSpec("Arguments")  # of a library function a verb calls
Answer = TypeVar("Answer")


def _open(library: Path | None, create: bool = False) -> Any:
    from memories.store import Library

    try:
        return Library(library, create=create)
    except FileNotFoundError as error:
        _fail(str(error))


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"memories: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _need_cluster_extra() -> None:
    """--cluster without dask installed: one line saying what to install."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        _fail("--cluster needs the optional extra: pip install 'memories[cluster]'")


def _cluster_failed(address: str | None, error: RuntimeError) -> NoReturn:
    """The cluster at `address` could not be reached or had no worker: one line; anything else
    is raised as it is."""
    if address is not None:
        from memories.cluster_workers import ClusterError

        if isinstance(error, ClusterError):
            _fail(f"cluster {address}: {error}")
    raise error


def _emit(data: Any, as_json: bool, table: str) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        print(table)


def table(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table."""
    if not rows:
        return "(none)"
    cells = [
        [str(row.get(column, "")) if row.get(column) is not None else "" for column in columns]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Folders to index, walked recursively.")],
    library: LibraryOption = None,
    workers: Annotated[int, typer.Option(help="Worker processes (default: number of cores).")] = 0,
    faces: Annotated[bool, typer.Option("--faces/--no-faces", help="Detect and recognise faces.")] = True,
    crops: Annotated[
        bool, typer.Option("--crops", help="Images are pre-cropped faces: the whole image is the face box.")
    ] = False,
    cluster: ClusterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Index photos: read metadata, find faces, assign known people. Incremental and resumable.

    A second run skips unchanged files; a killed run resumes where it stopped. Unreadable or
    broken files are reported on stderr, one line each, and skipped. Exit code 2 when a folder
    argument does not exist.
    """
    from memories.pipeline import index_and_assign

    if cluster is not None:
        _need_cluster_extra()
    lib = _open(library, create=True)
    try:
        summary = index_and_assign(
            lib, paths, recognise=faces, workers=workers or None, crops=crops, cluster=cluster
        )
    except RuntimeError as error:
        _cluster_failed(cluster, error)
    _emit(summary.as_dict(), as_json, summary.line())
    if summary.missing_roots:
        raise typer.Exit(2)


@app.command()
def moments(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """List moments: photos taken close together in time and place."""
    from memories.moments import list_moments

    items = list_moments(_open(library))
    rows = [{k: v for k, v in m.as_dict().items() if k != "asset_ids"} for m in items]
    _emit(
        [m.as_dict() for m in items],
        as_json,
        table(rows, ["id", "start", "end", "assets", "latitude", "longitude"]),
    )


@app.command()
def summary(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """Print what the library holds: photos, moments, faces, people."""
    from memories.pipeline import library_summary

    data = library_summary(_open(library))
    _emit(data, as_json, "  ".join(f"{k}: {v}" for k, v in data.items()))


def main() -> None:
    """The `memories` command: the app, with the faults a disk can raise said in one line."""
    try:
        app()
    except (sqlite3.OperationalError, OSError) as error:
        message = fault_message(error)
        if message is None:
            raise
        print(f"memories: error: {message}", file=sys.stderr)
        raise SystemExit(1) from None


def fault_message(error: BaseException) -> str | None:
    """One line for a full disk or a read-only library; None for anything else (a real bug)."""
    text = str(error)
    code = getattr(error, "errno", None)
    where = getattr(error, "filename", None)
    if code == errno.ENOSPC or "database or disk is full" in text:
        place = f" at {where}" if where else ""
        return (
            f"disk full{place}: everything indexed so far is kept; free some space and run the "
            "same command again to continue"
        )
    if code == errno.EROFS or "readonly database" in text or "read-only file system" in text.lower():
        return "the library is read-only (a read-only disk or folder): it can be browsed, not changed"
    return None


# --- people ---------------------------------------------------------------------------------
def _person_action(
    library: Path | None,
    action: Callable[Concatenate[Any, Arguments], Answer],
    *args: Arguments.args,
    **kwargs: Arguments.kwargs,
) -> Answer:
    """`action(library, *args, **kwargs)`; an unknown person or face, or a correction that cannot
    be made, ends the command with its message."""
    lib = _open(library)
    try:
        return action(lib, *args, **kwargs)
    except (LookupError, ValueError) as error:
        _fail(str(error).strip("'\""))


@app.command()
def forget(
    paths: Annotated[list[Path], typer.Argument(help="Photos, or folders of photos, to forget.")],
    library: LibraryOption = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="Only the photos whose file is gone from these (existing) folders.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Forget photos on purpose: they leave the library with their faces (people and names stay).

    Nothing is ever forgotten because a file cannot be seen; with --missing, each folder must
    exist (an unplugged drive forgets nothing)."""
    from memories.forget import ForgetError
    from memories.forget import forget as forget_photos

    lib = _open(library)
    try:
        count = forget_photos(lib, paths, missing=missing)
    except ForgetError as error:
        _fail(str(error))
    _emit({"forgotten": count}, as_json, f"forgot {count} photo{'' if count == 1 else 's'}")


@app.command()
def people(
    library: LibraryOption = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="Include hidden people.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The People album: id, name, photo count, face count, key face."""
    from memories.people import list_people

    rows = [p.as_dict() for p in list_people(_open(library), include_hidden=hidden)]
    _emit(rows, as_json, table(rows, ["id", "label", "photos", "faces", "hidden", "key_face"]))


@app.command()
def name(
    person: PersonArgument,
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="The name to give.")],
    library: LibraryOption = None,
) -> None:
    """Name a person. The name survives every re-cluster."""
    from memories.people import name_person

    person_id = _person_action(library, name_person, person, new_name)
    print(f"person {person_id} is now {' '.join(new_name.split())!r}")


@app.command()
def merge(
    person: Annotated[str, typer.Argument(help="The person to keep (id or name).")],
    other: Annotated[str, typer.Argument(help="The person merged into them (id or name).")],
    library: LibraryOption = None,
) -> None:
    """Merge two people into one (the first keeps its id). Re-clustering never splits them again."""
    from memories.people import merge_people

    kept = _person_action(library, merge_people, person, other)
    print(f"merged {other} into person {kept}")


@app.command()
def reject(
    face_id: FaceArgument,
    from_person: Annotated[
        str | None, typer.Option("--from", help="The person it is not (default: its current person).")
    ] = None,
    library: LibraryOption = None,
) -> None:
    """Say a face is not this person. It never comes back to them."""
    from memories.people import reject_face

    person_id = _person_action(library, reject_face, face_id, from_person)
    print(f"face {face_id} is not person {person_id}")


@app.command()
def confirm(
    face_id: FaceArgument,
    person: Annotated[
        str | None, typer.Option("--person", help="Who it is (default: its current person).")
    ] = None,
    library: LibraryOption = None,
) -> None:
    """Confirm a face: it anchors its person in every re-cluster."""
    from memories.people import confirm_face

    person_id = _person_action(library, confirm_face, face_id, person)
    print(f"face {face_id} confirmed as person {person_id}")


@app.command("name-face")
def name_face(
    face_id: FaceArgument,
    name: Annotated[str, typer.Argument(help="Who it is: an existing name, or a new person's.")],
    library: LibraryOption = None,
) -> None:
    """Name one face: it is confirmed as the person of that name, a new person if needed."""
    from memories.people import name_face as name_one_face

    person_id = _person_action(library, name_one_face, face_id, name)
    print(f"face {face_id} is {name} (person {person_id})")


@app.command()
def hide(
    person: PersonArgument,
    unhide: Annotated[bool, typer.Option("--unhide", help="Show the person again.")] = False,
    library: LibraryOption = None,
) -> None:
    """Hide a person from the People album, search and memories (or show them again)."""
    from memories.people import hide_person

    person_id = _person_action(library, hide_person, person, not unhide)
    print(f"person {person_id} {'shown' if unhide else 'hidden'}")


@app.command()
def faces(
    person: PersonArgument,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """A person's faces: face id, photo, date, confirmed."""
    from memories.people import faces_of, resolve_person

    rows = _person_action(library, lambda lib, who: faces_of(lib, resolve_person(lib, who)), person)
    _emit(rows, as_json, table(rows, ["id", "asset_id", "taken_at", "confirmed", "quality", "path"]))


# --- clustering -----------------------------------------------------------------------------
@app.command(context_settings={"allow_extra_args": True})
def cluster(
    ctx: typer.Context,
    library: LibraryOption = None,
    libraries: Annotated[
        list[Path] | None,
        typer.Option(
            "--libraries",
            metavar="DIR...",
            help="Re-cluster each of these libraries (`--libraries A B C`), one task each; with "
            "--cluster, on the cluster's workers. Libraries never share data.",
            show_default=False,
        ),
    ] = None,
    cluster_address: ClusterOption = None,
    as_json: JsonOption = False,
) -> None:
    """The overnight pass: cluster every clear face (pass 1 per moment, pass 2 across moments),
    decide which clusters are people, and keep every name, merge, rejection and confirmation.

    With --libraries (the service case), each library is re-clustered on its own, in turn here or
    as one task on the cluster given by --cluster; one line (or JSON object) per library, exit
    code 1 when any failed."""
    if ctx.args and not libraries:
        _fail(f"unexpected arguments: {' '.join(ctx.args)} (several libraries: --libraries DIR...)")
    if not libraries and cluster_address is None:
        from memories.pipeline import cluster_and_graph

        summary = cluster_and_graph(_open(library))
        _emit(summary.as_dict(), as_json, summary.line())
        return
    if libraries and library is not None:
        _fail("give --library or --libraries, not both")
    folders = [*(libraries or []), *map(Path, ctx.args)] if libraries else [_open(library).root]
    if cluster_address is None:
        from memories.pipeline import cluster_library

        results = [cluster_library(str(folder.absolute())) for folder in folders]
    else:
        _need_cluster_extra()
        from memories.cluster_workers import map_whole
        from memories.pipeline import cluster_library, library_lost

        try:
            paths = [str(folder.absolute()) for folder in folders]
            results = map_whole(cluster_address, paths, cluster_library, library_lost)
        except RuntimeError as error:
            _cluster_failed(cluster_address, error)
    lines = [f"{r['library']}: {r.get('line') or 'error: ' + str(r.get('error'))}" for r in results]
    _emit([{k: v for k, v in r.items() if k != "line"} for r in results], as_json, "\n".join(lines))
    if any("error" in r for r in results):
        raise typer.Exit(1)


@app.command("suggest-merges")
def suggest_merges(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """Pairs of people who may be one person, closest first: worth a look, then `memories merge`."""
    from memories.assignment import merge_suggestions

    rows = merge_suggestions(_open(library))
    _emit(rows, as_json, table(rows, ["person_a", "label_a", "person_b", "label_b", "distance"]))


# --- the knowledge graph --------------------------------------------------------------------
memory_app = typer.Typer(
    help="Your say over memories: hide, dismiss, take a photo out, set the key photo, title, mood, "
    "length or music; feature a person, place or dates less or never.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(memory_app, name="memory")
KeyArgument = Annotated[str, typer.Argument(help="The memory's key (see `memories suggest`).")]


def _memory_call(library: Path | None, key: str, action: Any) -> None:
    """Check the memory exists, then record the user's choice about it."""
    from memories.making import NoSuchMemory, find_candidate

    lib = _open(library)
    try:
        _, candidate = find_candidate(lib, key)
        action(lib, candidate)
    except (NoSuchMemory, ValueError) as error:
        _fail(str(error).strip("'\""))


@memory_app.command("hide")
def memory_hide(key: KeyArgument, library: LibraryOption = None) -> None:
    """Hide a memory: never suggested, made by theme or exported again (`unhide` undoes it)."""
    from memories import memory_choices

    _memory_call(library, key, lambda lib, _: memory_choices.hide(lib, key))
    print(f"hid {key}")


@memory_app.command("unhide")
def memory_unhide(key: KeyArgument, library: LibraryOption = None) -> None:
    """Bring back a hidden or dismissed memory."""
    from memories import memory_choices

    def undo(lib: Any, _: Any) -> None:
        memory_choices.hide(lib, key, hidden=False)
        memory_choices.dismiss(lib, key, None)

    _memory_call(library, key, undo)
    print(f"{key} is suggested again")


@memory_app.command("dismiss")
def memory_dismiss(key: KeyArgument, library: LibraryOption = None) -> None:
    """Not now: the suggestion goes away until more photos join it."""
    from memories import memory_choices

    _memory_call(library, key, lambda lib, c: memory_choices.dismiss(lib, key, len(c.assets)))
    print(f"dismissed {key}")


@memory_app.command("remove-photo")
def memory_remove_photo(
    key: KeyArgument,
    photo: Annotated[int, typer.Argument(help="Photo id (see the movie's .json or `memories search`).")],
    restore: Annotated[bool, typer.Option("--restore", help="Put it back instead.")] = False,
    library: LibraryOption = None,
) -> None:
    """Take a photo out of one memory (it stays in the library and in other memories)."""
    from memories import memory_choices

    def act(lib: Any, candidate: Any) -> None:
        if not restore and photo not in candidate.assets:
            raise ValueError(f"photo {photo} is not in {key}")
        memory_choices.remove_photo(lib, key, photo, removed=not restore)

    _memory_call(library, key, act)
    print(f"put photo {photo} back into {key}" if restore else f"took photo {photo} out of {key}")


@memory_app.command("key-photo")
def memory_key_photo(
    key: KeyArgument,
    photo: Annotated[int, typer.Argument(help="Photo id: the poster and the cards' background.")],
    library: LibraryOption = None,
) -> None:
    """Choose the photo a memory opens with (its poster and title background)."""
    from memories import memory_choices

    def act(lib: Any, candidate: Any) -> None:
        if photo not in candidate.assets:
            raise ValueError(f"photo {photo} is not in {key}")
        memory_choices.set_key_photo(lib, key, photo)

    _memory_call(library, key, act)
    print(f"photo {photo} is the key photo of {key}")


@memory_app.command("set")
def memory_set(
    key: KeyArgument,
    title: Annotated[str | None, typer.Option(help="Its title ('' for the theme's).")] = None,
    mood: Annotated[str | None, typer.Option(help="gentle, chill, uplifting, happy, sentimental or epic.")] = None,
    length: Annotated[str | None, typer.Option(help="short, medium or long.")] = None,
    music: Annotated[str | None, typer.Option(help="A music file or folder ('' for the synthesised).")] = None,
    library: LibraryOption = None,
) -> None:
    """Set a memory's title, mood, length or music; `make` and `export` use them from then on."""
    from memories import memory_choices
    from memories.render import settings as render_settings

    if mood and mood not in render_settings.MOODS:
        _fail(f"unknown mood {mood!r}: {', '.join(render_settings.MOODS)}")
    if length and length not in render_settings.LENGTH_SECONDS:
        _fail(f"unknown length {length!r}: short, medium or long")
    if music and not Path(music).exists():
        _fail(f"no music at {music}")
    if title is not None and len(title) > MAX_TITLE_CHARS:
        _fail(f"a title has at most {MAX_TITLE_CHARS} characters")
    given = {"title": title, "mood": mood, "length": length, "music": str(Path(music).resolve()) if music else music}

    def act(lib: Any, _: Any) -> None:
        for field, value in given.items():
            if value is not None:
                memory_choices.edit(lib, key, field, value or None)

    _memory_call(library, key, act)
    print(f"updated {key}")


@memory_app.command("feature")
def memory_feature(
    kind: Annotated[str, typer.Argument(help="person, place or dates.")],
    value: Annotated[str, typer.Argument(help="A person's name or id, a place, or FIRST..LAST days.")],
    less: Annotated[bool, typer.Option("--less", help="Suggest memories of it less often.")] = False,
    never: Annotated[bool, typer.Option("--never", help="Leave it out of every memory.")] = False,
    normal: Annotated[bool, typer.Option("--normal", help="Undo --less or --never.")] = False,
    library: LibraryOption = None,
) -> None:
    """Feature a person, a place or a span of dates less, never, or normally again."""
    import graph as kg
    from memories import memory_choices
    from memories.graph_store import load

    if sum((less, never, normal)) != 1:
        _fail("say one of --less, --never or --normal")
    lib = _open(library)
    if kind == "person":
        graph = load(lib)
        try:
            value = str(graph.nodes[kg.resolve_person(graph, value)]["id"])
        except kg.PersonLookupError as error:
            _fail(str(error).strip("'\""))
    level = "less" if less else "never" if never else "normal"
    try:
        memory_choices.feature(lib, kind, value, level)  # type: ignore[arg-type]
    except ValueError as error:
        _fail(str(error))
    print(f"{kind} {value}: featured {level}")


MAX_TITLE_CHARS = 120  # a title card and a poster hold about this much at their smallest font


graph_app = typer.Typer(
    help="Ask the knowledge graph: people, groups, places, trips.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(graph_app, name="graph")


def _graph_call(
    library: Path | None,
    query: Callable[Concatenate[Any, Arguments], Answer],
    *args: Arguments.args,
    **kwargs: Arguments.kwargs,
) -> Answer:
    """`query(graph, *args, **kwargs)` on the library's knowledge graph; a person or place it does
    not know ends the command with its message."""
    import graph as kg
    from memories.graph_store import load

    lib = _open(library)
    try:
        return query(load(lib), *args, **kwargs)
    except (kg.PersonLookupError, kg.UnknownPlaceError, ValueError) as error:
        _fail(str(error).strip("'\""))


LimitOption = Annotated[int, typer.Option("--limit", "-n", help="At most this many rows.")]


@graph_app.command("important")
def graph_important(
    library: LibraryOption = None, limit: LimitOption = 20, as_json: JsonOption = False
) -> None:
    """Important people, ranked, with why (frequency, recency, spread over years, centrality)."""
    import graph as kg

    rows = _graph_call(library, kg.important_people, limit=limit)
    _emit(rows, as_json, table(rows, ["rank", "id", "label", "score", "moments", "photos", "reason"]))


@graph_app.command("groups")
def graph_groups(library: LibraryOption = None, limit: LimitOption = 20, as_json: JsonOption = False) -> None:
    """Groups of people who appear together across several moments."""
    import graph as kg

    rows = _graph_call(library, kg.important_groups, limit=limit)
    _emit(rows, as_json, table(rows, ["rank", "label", "size", "moments", "reason"]))


@graph_app.command("places")
def graph_places(library: LibraryOption = None, limit: LimitOption = 20, as_json: JsonOption = False) -> None:
    """Frequent places (offline reverse geocoding of moments), home marked."""
    import graph as kg

    rows = _graph_call(library, kg.frequent_places, limit=limit)
    _emit(rows, as_json, table(rows, ["rank", "label", "days", "moments", "photos", "is_home", "last_visit"]))


@graph_app.command("trips")
def graph_trips(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """Trips: consecutive moments away from home, with a title like "Lisbon, May 2023"."""
    import graph as kg

    rows = _graph_call(library, kg.trips)
    shown = [{**r, "people": ", ".join(r["people"])} for r in rows]
    _emit(rows, as_json, table(shown, ["title", "start", "end", "moments", "photos", "people"]))


@graph_app.command("last-seen")
def graph_last_seen(
    person: Annotated[str, typer.Argument(help="Name or id.")],
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """The last moment you photographed a person."""
    import graph as kg

    row = _graph_call(library, kg.last_seen, person)
    text = (
        "never"
        if not row
        else f"{row['label']}: last seen {row['start']} at {row['place'] or 'an unknown place'}"
    )
    _emit(row, as_json, text)


@graph_app.command("timeline")
def graph_timeline(
    person: Annotated[str, typer.Argument(help="Name or id.")],
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """A person's moments, newest first."""
    import graph as kg

    rows = _graph_call(library, kg.person_timeline, person)
    _emit(rows, as_json, table(rows, ["moment", "start", "end", "place", "photos"]))


@graph_app.command("together")
def graph_together(
    people: Annotated[list[str], typer.Argument(help="Two or more names or ids.")],
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Photos showing all of these people, by moment."""
    import graph as kg

    rows = _graph_call(library, kg.photos_together, people)
    _emit(rows, as_json, table(rows, ["moment", "start", "place", "photos"]))


@app.command()
def search(
    people: Annotated[
        list[str] | None, typer.Argument(help="Names or ids (all of them must be in a photo).")
    ] = None,
    any_: Annotated[bool, typer.Option("--any", help="Photos with any of them instead of all.")] = False,
    exclude: Annotated[
        list[str] | None, typer.Option("--not", help="Leave out photos with this person.")
    ] = None,
    place: Annotated[str | None, typer.Option(help="A town, region or country.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most this many photos.")] = None,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find photos by the people in them (compound person search), place and dates."""
    import graph as kg

    rows = _graph_call(
        library,
        kg.search,
        people or [],
        match="any" if any_ else "all",
        exclude=exclude or [],
        place=place,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
    )
    shown = [{**r, "people": ", ".join(r["people"])} for r in rows]
    _emit(rows, as_json, table(shown, ["id", "taken_at", "place", "people", "path"]))


# --- memories -------------------------------------------------------------------------------
@app.command()
def suggest(library: LibraryOption = None, limit: LimitOption = 20, as_json: JsonOption = False) -> None:
    """Memories the theme rules propose, best first, each with the reason."""
    from memories.making import suggest as suggest_memories

    rows = suggest_memories(_open(library), limit=limit)
    _emit(rows, as_json, table(rows, ["key", "title", "subtitle", "photos", "reason"]))


def _size(text: str | None) -> tuple[int, int]:
    from memories.render import settings as render_settings

    if not text:
        return render_settings.DEFAULT_SIZE
    if text in render_settings.NAMED_SIZES:
        return render_settings.NAMED_SIZES[text]
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        return _fail(
            f"--size {text!r}: give WxH (1280x720) or one of {', '.join(render_settings.NAMED_SIZES)}"
        )
    return width, height


def _render_progress() -> Any:
    from memories.progress import Progress

    bar: dict[str, Progress] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar or done < bar["bar"].done:  # export: the next movie starts a new bar
            bar["bar"] = Progress(total, "rendering frames")
        bar["bar"].advance(done - bar["bar"].done)
        if done >= total:
            bar["bar"].close()

    return update


@app.command()
def make(
    theme: Annotated[
        str, typer.Argument(help="Theme id: together, person_over_the_years, trip, on_this_day, ...")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The MP4 to write (poster .jpg and .json beside).")
    ],
    people: Annotated[str | None, typer.Option(help="Comma-separated names or ids to feature.")] = None,
    place: Annotated[str | None, typer.Option(help="Only memories at this place.")] = None,
    year: Annotated[int | None, typer.Option(help="Only memories from this year.")] = None,
    length: Annotated[str | None, typer.Option(help="short (30 s), medium (60 s) or long (90 s).")] = None,
    mood: Annotated[
        str | None,
        typer.Option(help="gentle, chill, uplifting, happy, sentimental or epic (default: the theme's)."),
    ] = None,
    music: Annotated[Path | None, typer.Option(help="A music file, or a folder to pick one from.")] = None,
    size: Annotated[
        str | None, typer.Option(help="WxH, or 720p, 1080p, portrait (default 1280x720).")
    ] = None,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render a memory movie: curated photos, face-aware pan and zoom, transitions by mood,
    title and end cards, and a soundtrack (synthesised for the mood, or your music cut to its beats)."""
    from memories.making import NoSuchMemory
    from memories.making import make as make_memory
    from memories.render.audiofile import AudioError
    from memories.render.plan import RenderError

    try:
        result = make_memory(
            _open(library),
            theme,
            output,
            people=[p for p in (people or "").split(",") if p.strip()] or None,
            place=place,
            year=year,
            length=length,
            mood=mood,
            music=music,
            size=_size(size),
            progress=_render_progress(),
        )
    except (NoSuchMemory, RenderError, AudioError, ValueError, LookupError) as error:
        _fail(str(error).strip("'\""))
    _emit(
        result,
        as_json,
        f"wrote {result['video']} ({result['duration']} s, {result['photos']} photos, "
        f"rendered in {result['render_seconds']} s); poster {result['poster']}",
    )


@app.command()
def export(
    theme: Annotated[str, typer.Option("--theme", help="Theme id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the movies to.")],
    all_: Annotated[bool, typer.Option("--all", help="Every suggestion of the theme (required).")] = False,
    length: Annotated[str | None, typer.Option(help="short (30 s), medium (60 s) or long (90 s).")] = None,
    size: Annotated[
        str | None, typer.Option(help="WxH, or 720p, 1080p, portrait (default 1280x720).")
    ] = None,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Render every suggestion of a theme; those already rendered to this folder and unchanged are
    skipped, and one that cannot be made is named on stderr while the rest go on."""
    from memories.making import NoSuchMemory, export_theme
    from memories.render.audiofile import AudioError
    from memories.render.plan import RenderError

    if not all_:
        _fail("say --all to render every suggestion of the theme")
    try:
        rows = export_theme(
            _open(library),
            theme,
            output,
            length=length,
            size=_size(size),
            progress=_render_progress(),
            report=lambda line: print(f"memories: {line}", file=sys.stderr),
        )
    except (NoSuchMemory, RenderError, AudioError, ValueError) as error:
        _fail(str(error).strip("'\""))
    _emit(rows, as_json, table(rows, ["key", "skipped", "video"]))


@app.command()
def serve(
    library: LibraryOption = None,
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind. The default serves this machine only; another exposes your photos."
        ),
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
) -> None:
    """The local web page: People album, naming, corrections, search and memories."""
    from memories.web.app import serve as serve_web

    serve_web(_open(library), host=host, port=port, open_browser=open_browser)


@app.command("export-model")
def export_model(
    kind: Annotated[str, typer.Argument(help="coreml (.mlpackage, fp16, Neural Engine) or onnx.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write to.")],
    as_json: JsonOption = False,
) -> None:
    """Write the face and upper-body embedding networks for other runtimes."""
    from recognition.coreml_export import export_coreml, export_onnx

    if kind not in ("coreml", "onnx"):
        _fail(f"unknown model format {kind!r}: coreml or onnx")
    written = export_coreml(output) if kind == "coreml" else export_onnx(output)
    rows = [{"model": name, "path": str(path)} for name, path in written.items()]
    _emit(rows, as_json, table(rows, ["model", "path"]))


# --- measurements ---------------------------------------------------------------------------
DatasetArgument = Annotated[Path, typer.Argument(help="A labelled set folder with dataset.json.")]
WorkersOption = Annotated[int, typer.Option(help="Worker processes (default: cores).")]


@eval_app.command("verification")
def eval_verification(
    dataset: DatasetArgument, workers: WorkersOption = 0, as_json: JsonOption = False
) -> None:
    """Same/different pairs (3,000 each, fixed seed, or the set's pairs.csv): 10-fold accuracy and
    TAR at FAR 1e-3, beside the dlib reference pipeline on the same pairs."""
    from memories.evaluation.verification import evaluate_verification

    result = evaluate_verification(dataset, workers=workers or None)
    ref = result.get("reference") or {}
    _emit(
        result,
        as_json,
        f"accuracy {result['accuracy']:.4f}  TAR@FAR1e-3 {result['tar_at_far_1e-3']:.4f}  "
        f"pairs {result['pairs']}  (dlib reference: accuracy {ref.get('accuracy', float('nan')):.4f})",
    )


@eval_app.command("detection")
def eval_detection(
    dataset: DatasetArgument,
    detector: Annotated[
        list[str] | None,
        typer.Option(
            help="fused, mtcnn, blazeface, hog, mmod or person (repeatable; default: every face detector "
            "and the fusion on a face set, person on a people set)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Detection recall and precision against the set's boxes (faces at IoU >= 0.4, people at 0.5),
    by box height and, on WIDER FACE, by pose, occlusion and easy/medium/hard."""
    from memories.evaluation.detection import evaluate_detectors, format_detection_report

    result = evaluate_detectors(dataset, detector or None)
    _emit(result, as_json, format_detection_report(result))


@eval_app.command("reid")
def eval_reid(dataset: DatasetArgument, as_json: JsonOption = False) -> None:
    """Body re-identification across camera views (rank-1, mAP) for the shipped body embedding and
    a plain colour histogram, on the upper body and the whole crop."""
    from memories.evaluation.reid import evaluate_reid, format_reid_report

    result = evaluate_reid(dataset)
    _emit(result, as_json, format_reid_report(result))


@eval_app.command("fairness")
def eval_fairness(
    data: Annotated[
        Path, typer.Option(help="The folder holding wider_faces, utkface_demographics and fiw_train.")
    ] = Path("../shared/data"),
    workers: WorkersOption = 0,
    as_json: JsonOption = False,
) -> None:
    """The same recognition quality for every group: detection recall per skin type, gender and age
    (every detector); landmark success, unclear-filter keep rate and embedding confidence per race,
    gender and age; impostor rates per group at the merge distances; relatives' distances. With
    95 % bootstrap intervals; cached, so a second run takes seconds."""
    from memories.evaluation.fairness import format_fairness, missing_sets, run_fairness

    missing = missing_sets(data)
    if missing:
        _fail(f"{data}: missing {', '.join(missing)} (pass --data)")
    report = run_fairness(data, workers=workers or None)
    _emit(report.as_dict(), as_json, format_fairness(report))


@eval_app.command("clustering")
def eval_clustering(
    dataset: DatasetArgument,
    pool: Annotated[bool, typer.Option(help="Ignore the set's albums: cluster it all as one library.")] = False,
    distractors: Annotated[
        list[Path] | None,
        typer.Option(help="A set whose clear faces join as strangers, each its own identity (repeatable)."),
    ] = None,
    cap: Annotated[int, typer.Option(help="Keep at most this many faces per identity (0: all).")] = 0,
    workers: WorkersOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Ours at its defaults against tuned baselines (Chinese whispers, DBSCAN, HDBSCAN, HAC average):
    pairwise and BCubed precision/recall/F, clusters, singletons, impure clusters (second identity
    with 3+ faces) and the largest, same-photo violations, seconds."""
    from memories.evaluation.clustering import (
        Strangers,
        evaluate_clustering,
        format_clustering_table,
        library_protocol,
    )
    from memories.evaluation.embed_dataset import embed_dataset, embed_strangers

    embedded = embed_dataset(dataset, workers=workers or None)
    found = embedded.detected
    strangers = []
    for folder in distractors or []:
        faces = embed_strangers(folder, workers=workers or None)
        strangers.append(Strangers(folder.name, faces.embeddings, faces.images))
    library = library_protocol(
        embedded.embeddings[found],
        embedded.identities[found],
        albums=embedded.albums[found] if embedded.albums is not None else None,
        photo_ids=embedded.photo_ids[found] if embedded.photo_ids is not None else None,
        pool=pool,
        cap=cap or None,
        distractors=strangers,
    )
    result = evaluate_clustering(
        library.embeddings, library.identities, albums=library.albums, photo_ids=library.photo_ids,
        dataset=Path(dataset).name,
    )
    result["protocol"] = library.protocol
    result["detection_rate"] = round(float(found.mean()), 4) if len(found) else 0.0
    _emit(result, as_json, format_clustering_table(result))


# --- the demo -------------------------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "photos"


@app.command()
def demo(
    library: LibraryOption = None,
    output: Annotated[Path, typer.Option(help="Folder for the rendered memory.")] = Path("out"),
    samples: Annotated[Path, typer.Option(help="The photos to use.")] = SAMPLES,
) -> None:
    """Everything on the bundled samples: index, cluster, the People album, the graph, suggestions,
    and a rendered Together memory."""
    from memories import making
    from memories import people as people_module
    from memories.pipeline import cluster_and_graph, index_and_assign, library_summary

    lib = _open(library, create=True)
    print(f"== memories index {samples}")
    print(index_and_assign(lib, [samples]).line())
    print("== memories cluster")
    print(cluster_and_graph(lib).line())
    print("== library\n" + "  ".join(f"{k}: {v}" for k, v in library_summary(lib).items()))
    rows = [p.as_dict() for p in people_module.list_people(lib)]
    print("== memories people\n" + table(rows, ["id", "label", "photos", "faces"]))
    import graph as kg
    from graph.names import label
    from memories.graph_store import load

    g = load(lib)
    print(
        "== memories graph groups\n" + table(kg.important_groups(g), ["rank", "label", "moments", "reason"])
    )
    print("== memories graph places\n" + table(kg.frequent_places(g), ["rank", "label", "photos", "is_home"]))
    trips = [{**t, "people": ", ".join(t["people"])} for t in kg.trips(g)]
    print("== memories graph trips\n" + table(trips, ["title", "start", "end", "photos", "people"]))
    suggestions = making.suggest(lib)
    print("== memories suggest\n" + table(suggestions, ["key", "title", "subtitle", "reason"]))
    together = next((s for s in suggestions if s["theme"] == "together"), None)
    if together is None:
        _fail("no Together memory found in the samples")
    output.mkdir(parents=True, exist_ok=True)
    target = output / "together.mp4"
    featured = [label(i, name) for i, name in zip(together["person_ids"], together["people"], strict=True)]
    print(f"== memories make together --people {','.join(featured)} --length short -o {target}")
    result = making.make(lib, "together", target, people=featured, length="short", progress=_render_progress())
    print(
        f"wrote {result['video']} ({result['duration']} s, {result['photos']} photos, "
        f"rendered in {result['render_seconds']} s), poster {result['poster']}"
    )
