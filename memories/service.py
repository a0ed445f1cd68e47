"""What the CLI verbs and the web page both call: one function per user action or view."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from graph.names import label
from memories.people import resolve_person
from memories.store import Library, asset_row

if TYPE_CHECKING:
    from memories.making import Suggestion


class PhotoFace(TypedDict):
    """A face on a photo's page: its box in original pixels and who it is."""

    id: int
    box: list[float | None]
    person_id: int | None
    name: str | None  # the person's label ("Person 7" when unnamed); None: nobody yet
    confirmed: bool
    clear: bool
    style: NotRequired[str | None]  # the page's: where its box is drawn (none on a video)
    seen: NotRequired[Any]  # the page's: when a video shows it (`queries.Sighting`)


class Photo(TypedDict):
    id: int
    path: str
    taken_at: str | None
    width: int | None
    height: int | None
    latitude: float | None
    longitude: float | None
    moment_id: int | None
    faces: list[PhotoFace]


def photo(library: Library, asset_id: int) -> Photo:
    """One photo with its faces (boxes in original pixels) and who they are."""
    row = asset_row(library.db, asset_id)
    faces = library.db.execute(
        """
        SELECT o.id, o.face_x, o.face_y, o.face_w, o.face_h, o.person_id, o.is_clear, o.quality,
               p.name, c.observation_id IS NOT NULL AS confirmed
        FROM observations o LEFT JOIN people p ON p.id = o.person_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id
        WHERE o.asset_id = ? AND o.source = 'detector' ORDER BY o.face_x
        """,
        (asset_id,),
    ).fetchall()
    return {
        "id": int(row["id"]),
        "path": row["path"],
        "taken_at": row["taken_at"],
        "width": row["width"],
        "height": row["height"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "moment_id": row["moment_id"],
        "faces": [
            {
                "id": int(f["id"]),
                "box": [f["face_x"], f["face_y"], f["face_w"], f["face_h"]],
                "person_id": f["person_id"],
                "name": label(f["person_id"], f["name"]) if f["person_id"] is not None else None,
                "confirmed": bool(f["confirmed"]),
                "clear": bool(f["is_clear"]),
            }
            for f in faces
        ],
    }


def asset_path(library: Library, asset_id: int) -> Path:
    return Path(asset_row(library.db, asset_id, "path")["path"])


def person_ids(library: Library, references: list[str]) -> list[int]:
    return [resolve_person(library, reference) for reference in references]


def suggest_memories(library: Library) -> list[Suggestion]:
    """What `memories suggest` lists (key, theme, title, subtitle, reason, people, poster, video)."""
    from memories.making import suggest

    return suggest(library)


def make_memory(library: Library, key: str, progress: Any = None) -> dict[str, Any]:
    """Render (or re-render) a suggested memory into the library's renders folder."""
    from memories.making import make_by_key

    return make_by_key(library, key, progress=progress)
