"""What the CLI verbs and the web page both call: one function per user action or view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memories.people import resolve_person
from memories.store import Library


def photo(library: Library, asset_id: int) -> dict[str, Any]:
    """One photo with its faces (boxes in original pixels) and who they are."""
    row = library.db.execute("SELECT * FROM assets WHERE id = ?", (asset_id,)).fetchone()
    if row is None:
        raise LookupError(f"no photo with id {asset_id}")
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
                "name": f["name"] or (f"Person {f['person_id']}" if f["person_id"] else None),
                "confirmed": bool(f["confirmed"]),
                "clear": bool(f["is_clear"]),
            }
            for f in faces
        ],
    }


def asset_path(library: Library, asset_id: int) -> Path:
    row = library.db.execute("SELECT path FROM assets WHERE id = ?", (asset_id,)).fetchone()
    if row is None:
        raise LookupError(f"no photo with id {asset_id}")
    return Path(row["path"])


def person_ids(library: Library, references: list[str]) -> list[int]:
    return [resolve_person(library, reference) for reference in references]


def suggest_memories(library: Library) -> list[dict[str, Any]]:
    """What `memories suggest` lists (key, theme, title, subtitle, reason, people, poster, video)."""
    from memories.making import suggest

    return suggest(library)


def make_memory(library: Library, key: str, progress: Any = None) -> dict[str, Any]:
    """Render (or re-render) a suggested memory into the library's renders folder."""
    from memories.making import make_by_key

    return make_by_key(library, key, progress=progress)
