"""The `memories` command. Each verb is a thin call into a library function.

Heavy libraries (onnxruntime, OpenCV, moviepy) are imported inside the verbs that need them, so
`memories --help` and a no-op `memories index` start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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
)
eval_app = typer.Typer(help="Measure the recognition layer on labelled data sets.", no_args_is_help=True)
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


def _open(library: Path | None, create: bool = False) -> Any:
    from memories.store import Library

    try:
        return Library(library, create=create)
    except FileNotFoundError as error:
        _fail(str(error))


def _fail(message: str, code: int = 2) -> Any:
    print(f"memories: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _emit(data: Any, as_json: bool, table: str) -> None:
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        print(table)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table."""
    if not rows:
        return "(none)"
    cells = [[str(row.get(column, "")) if row.get(column) is not None else "" for column in columns] for row in rows]
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
    as_json: JsonOption = False,
) -> None:
    """Index photos: read metadata, find faces, assign known people. Incremental and resumable.

    A second run skips unchanged files; a killed run resumes where it stopped. Unreadable or
    broken files are reported on stderr, one line each, and skipped. Exit code 2 when a folder
    argument does not exist.
    """
    from memories.pipeline import index_and_assign

    lib = _open(library, create=True)
    summary = index_and_assign(lib, paths, recognise=faces, workers=workers or None, crops=crops)
    _emit(summary.as_dict(), as_json, summary.line())
    if summary.missing_roots:
        raise typer.Exit(2)


@app.command()
def moments(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """List moments: photos taken close together in time and place."""
    from memories.moments import list_moments

    items = list_moments(_open(library))
    rows = [{k: v for k, v in m.as_dict().items() if k != "asset_ids"} for m in items]
    _emit([m.as_dict() for m in items], as_json, table(rows, ["id", "start", "end", "assets", "latitude", "longitude"]))


@app.command()
def summary(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """Print what the library holds: photos, moments, faces, people."""
    from memories.pipeline import library_summary

    data = library_summary(_open(library))
    _emit(data, as_json, "  ".join(f"{k}: {v}" for k, v in data.items()))


def main() -> None:  # pragma: no cover
    app()


# --- people ---------------------------------------------------------------------------------
def _person_action(action: Any, *args: Any) -> Any:
    from memories.people import PersonNotFound

    try:
        return action(*args)
    except (PersonNotFound, LookupError, ValueError) as error:
        _fail(str(error).strip("'\""))


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
    person: Annotated[str, typer.Argument(help="Person id (7) or current name.")],
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="The name to give.")],
    library: LibraryOption = None,
) -> None:
    """Name a person. The name survives every re-cluster."""
    from memories.people import name_person

    person_id = _person_action(name_person, _open(library), person, new_name)
    print(f"person {person_id} is now {' '.join(new_name.split())!r}")


@app.command()
def merge(
    person: Annotated[str, typer.Argument(help="The person to keep (id or name).")],
    other: Annotated[str, typer.Argument(help="The person merged into them (id or name).")],
    library: LibraryOption = None,
) -> None:
    """Merge two people into one (the first keeps its id). Re-clustering never splits them again."""
    from memories.people import merge_people

    kept = _person_action(merge_people, _open(library), person, other)
    print(f"merged {other} into person {kept}")


@app.command()
def reject(
    face_id: Annotated[int, typer.Argument(help="Face id (see `memories faces PERSON`).")],
    from_person: Annotated[
        str | None, typer.Option("--from", help="The person it is not (default: its current person).")
    ] = None,
    library: LibraryOption = None,
) -> None:
    """Say a face is not this person. It never comes back to them."""
    from memories.people import reject_face

    person_id = _person_action(reject_face, _open(library), face_id, from_person)
    print(f"face {face_id} is not person {person_id}")


@app.command()
def confirm(
    face_id: Annotated[int, typer.Argument(help="Face id.")],
    person: Annotated[str | None, typer.Option("--person", help="Who it is (default: its current person).")] = None,
    library: LibraryOption = None,
) -> None:
    """Confirm a face: it anchors its person in every re-cluster."""
    from memories.people import confirm_face

    person_id = _person_action(confirm_face, _open(library), face_id, person)
    print(f"face {face_id} confirmed as person {person_id}")


@app.command()
def hide(
    person: Annotated[str, typer.Argument(help="Person id or name.")],
    unhide: Annotated[bool, typer.Option("--unhide", help="Show the person again.")] = False,
    library: LibraryOption = None,
) -> None:
    """Hide a person from the People album, search and memories (or show them again)."""
    from memories.people import hide_person

    person_id = _person_action(hide_person, _open(library), person, not unhide)
    print(f"person {person_id} {'shown' if unhide else 'hidden'}")


@app.command()
def faces(
    person: Annotated[str, typer.Argument(help="Person id or name.")],
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """A person's faces: face id, photo, date, confirmed."""
    from memories.people import faces_of, resolve_person

    lib = _open(library)
    rows = faces_of(lib, _person_action(resolve_person, lib, person))
    _emit(rows, as_json, table(rows, ["id", "asset_id", "taken_at", "confirmed", "quality", "path"]))
