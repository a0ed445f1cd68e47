"""People and the user's corrections: name, merge, reject, confirm, hide.

Every function here is a write the user asked for; the CLI and the web page call the same ones.
Corrections are stored in the feedback tables (and `people.name`/`people.hidden`), which no
re-clustering rewrites: `memories.clustering.recluster` reads them as constraints.
"""

from __future__ import annotations

import difflib
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from memories.store import Library


class PersonNotFound(LookupError):
    """An id or name that matches no person; the message lists close matches."""


@dataclass
class PersonRow:
    id: int
    name: str | None
    label: str  # the name, or "Person 7"
    faces: int
    photos: int
    hidden: bool
    key_face: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def label(person_id: int, name: str | None) -> str:
    return name if name else f"Person {person_id}"


def canonical(db: sqlite3.Connection, person_id: int) -> int:
    """Follow merges to the person that absorbed this one."""
    seen = set()
    while True:
        row = db.execute("SELECT merged_into FROM people WHERE id = ?", (person_id,)).fetchone()
        if row is None or row[0] is None or person_id in seen:
            return person_id
        seen.add(person_id)
        person_id = int(row[0])


def resolve_person(library: Library, reference: str | int) -> int:
    """A person id from "7", "person:7", "Person 7" or a name (case-insensitive)."""
    db = library.db
    text = str(reference).strip()
    for prefix in ("person:", "Person "):
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            text = text[len(prefix) :]
    if text.isdigit():
        row = db.execute("SELECT id FROM people WHERE id = ?", (int(text),)).fetchone()
        if row is None:
            raise PersonNotFound(f"no person with id {text}")
        return canonical(db, int(row[0]))
    rows = db.execute(
        "SELECT id FROM people WHERE name = ? COLLATE NOCASE AND merged_into IS NULL ORDER BY id", (text,)
    ).fetchall()
    if rows:
        return int(rows[0][0])
    names = [
        r[0] for r in db.execute("SELECT name FROM people WHERE name IS NOT NULL AND merged_into IS NULL")
    ]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise PersonNotFound(f"no person named {text!r}{hint}")


def list_people(library: Library, include_hidden: bool = False) -> list[PersonRow]:
    rows = library.db.execute(
        """
        SELECT p.id, p.name, p.hidden, p.key_observation_id,
               COUNT(o.id) AS faces, COUNT(DISTINCT o.asset_id) AS photos
        FROM people p LEFT JOIN observations o ON o.person_id = p.id
        WHERE p.merged_into IS NULL
        GROUP BY p.id
        ORDER BY photos DESC, p.name IS NULL, p.id
        """
    ).fetchall()
    people = [
        PersonRow(
            id=int(r["id"]),
            name=r["name"],
            label=label(int(r["id"]), r["name"]),
            faces=int(r["faces"]),
            photos=int(r["photos"]),
            hidden=bool(r["hidden"]),
            key_face=r["key_observation_id"],
        )
        for r in rows
    ]
    return [p for p in people if include_hidden or not p.hidden]


def name_person(library: Library, reference: str | int, name: str) -> int:
    name = " ".join(name.split())
    if not name:
        raise ValueError("a name cannot be empty")
    person_id = resolve_person(library, reference)
    with library.transaction() as db:
        db.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
    return person_id


def merge_people(library: Library, into: str | int, other: str | int) -> int:
    """Merge `other` into `into`: one person from now on, in every re-cluster (a must-link)."""
    keep, gone = resolve_person(library, into), resolve_person(library, other)
    if keep == gone:
        raise ValueError("cannot merge a person with themselves")
    with library.transaction() as db:
        keep_name = db.execute("SELECT name FROM people WHERE id = ?", (keep,)).fetchone()[0]
        gone_name = db.execute("SELECT name FROM people WHERE id = ?", (gone,)).fetchone()[0]
        if not keep_name and gone_name:
            db.execute("UPDATE people SET name = ? WHERE id = ?", (gone_name, keep))
        db.execute(
            "INSERT OR IGNORE INTO feedback_merges (from_person_id, into_person_id) VALUES (?, ?)",
            (gone, keep),
        )
        db.execute("UPDATE people SET merged_into = ? WHERE id = ?", (keep, gone))
        db.execute("UPDATE observations SET person_id = ? WHERE person_id = ?", (keep, gone))
        db.execute("UPDATE feedback_confirmations SET person_id = ? WHERE person_id = ?", (keep, gone))
        db.execute(
            "INSERT OR IGNORE INTO feedback_rejections (observation_id, person_id) "
            "SELECT observation_id, ? FROM feedback_rejections WHERE person_id = ?",
            (keep, gone),
        )
    library.mark_graph_stale()
    return keep


def _observation(db: sqlite3.Connection, face_id: int) -> sqlite3.Row:
    row = db.execute("SELECT id, person_id FROM observations WHERE id = ?", (face_id,)).fetchone()
    if row is None:
        raise LookupError(f"no face with id {face_id}")
    return row


def reject_face(library: Library, face_id: int, person: str | int | None = None) -> int:
    """'Not this person': the face leaves the person and never returns to them."""
    db = library.db
    row = _observation(db, face_id)
    person_id = resolve_person(library, person) if person is not None else row["person_id"]
    if person_id is None:
        raise ValueError(f"face {face_id} belongs to no person; say which person with --from")
    with library.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO feedback_rejections (observation_id, person_id) VALUES (?, ?)",
            (face_id, person_id),
        )
        db.execute(
            "DELETE FROM feedback_confirmations WHERE observation_id = ? AND person_id = ?",
            (face_id, person_id),
        )
        db.execute(
            "UPDATE observations SET person_id = NULL, assign_score = NULL WHERE id = ? AND person_id = ?",
            (face_id, person_id),
        )
        db.execute(
            "UPDATE people SET key_observation_id = NULL WHERE id = ? AND key_observation_id = ?",
            (person_id, face_id),
        )
    library.mark_graph_stale()
    return int(person_id)


def confirm_face(library: Library, face_id: int, person: str | int | None = None) -> int:
    """'Yes, this is them': the face is an anchor of the person in every re-cluster."""
    db = library.db
    row = _observation(db, face_id)
    person_id = resolve_person(library, person) if person is not None else row["person_id"]
    if person_id is None:
        raise ValueError(f"face {face_id} belongs to no person; say who with --person")
    with library.transaction() as db:
        db.execute(
            "INSERT INTO feedback_confirmations (observation_id, person_id) VALUES (?, ?) "
            "ON CONFLICT(observation_id) DO UPDATE SET person_id = excluded.person_id",
            (face_id, person_id),
        )
        db.execute(
            "DELETE FROM feedback_rejections WHERE observation_id = ? AND person_id = ?", (face_id, person_id)
        )
        db.execute(
            "UPDATE observations SET person_id = ?, assign_score = 1.0 WHERE id = ?", (person_id, face_id)
        )
    library.mark_graph_stale()
    return int(person_id)


def name_face(library: Library, face_id: int, name: str) -> int:
    """'This is <name>': the face is confirmed as the person of that name, a new person when nobody
    has the name yet. How a user names someone the clustering left ungrouped (precision first: a
    face seen once or twice is not a person until someone says so)."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a name cannot be empty")
    _observation(library.db, face_id)  # the face must exist before anyone is created
    with library.transaction() as db:
        person_id = person_named(db, name)
    return confirm_face(library, face_id, person_id)


def person_named(db: sqlite3.Connection, name: str) -> int:
    """The (first, unmerged) person with this name, case-insensitive, created when there is none:
    how a name the user gives (XMP region, name-face) becomes a person. Call inside a transaction."""
    row = db.execute(
        "SELECT id FROM people WHERE name = ? COLLATE NOCASE AND merged_into IS NULL ORDER BY id", (name,)
    ).fetchone()
    if row is not None:
        return int(row[0])
    return int(db.execute("INSERT INTO people (name) VALUES (?)", (name,)).lastrowid or 0)


def hide_person(library: Library, reference: str | int, hidden: bool = True) -> int:
    person_id = resolve_person(library, reference)
    with library.transaction() as db:
        db.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id))
    return person_id


def faces_of(library: Library, person_id: int) -> list[dict[str, Any]]:
    """A person's faces with their photo, box and whether the user confirmed them (`faceless`:
    seen without a face, known by their clothes)."""
    rows = library.db.execute(
        """
        SELECT o.id, o.asset_id, a.path, a.taken_at, o.face_x, o.face_y, o.face_w, o.face_h, o.quality,
               o.assign_score, c.observation_id IS NOT NULL AS confirmed, o.source = 'body' AS faceless
        FROM observations o JOIN assets a ON a.id = o.asset_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id AND c.person_id = o.person_id
        WHERE o.person_id = ? AND a.hidden = 0
        ORDER BY a.taken_ts, o.id
        """,
        (person_id,),
    ).fetchall()
    return [dict(r) for r in rows]
