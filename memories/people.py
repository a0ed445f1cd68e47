"""People and the user's corrections: name, merge, unmerge, reject, confirm, move, hide, pin, key
photo, "not the same person", and undo of the last of these.

Every function here is a write the user asked for; the CLI and the web page call the same ones.
Corrections are stored in the feedback tables (and the user's columns of `people`: name, hidden,
pinned, a chosen key face), which no re-clustering rewrites: `memories.clustering.recluster` reads
them as constraints. Each correction also writes one entry of an undo journal (`corrections`):
the rows it touched as they were before, so `undo_last` can put them back exactly.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from graph.names import PersonLookupError, UnknownPersonError, label, match_person, person_id_in, unknown_id
from memories.store import Library, one_row

# Longer than any real name (and than a page can show); a pasted paragraph is a mistake, not a name.
MAX_NAME_CHARS = 200

# How the People album can be ordered (pinned people always come first).
SORTS = ("photos", "name", "recent")


# An id or name that matches no person; the message lists close matches (`graph.names`).
PersonNotFound = UnknownPersonError


@dataclass
class PersonRow:
    id: int
    name: str | None
    label: str  # the name, or "Person 7"
    faces: int
    photos: int
    hidden: bool
    key_face: int | None
    pinned: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical(db: sqlite3.Connection, person_id: int) -> int:
    """Follow merges to the person that absorbed this one."""
    seen = set()
    while True:
        row = db.execute("SELECT merged_into FROM people WHERE id = ?", (person_id,)).fetchone()
        if row is None or row[0] is None or person_id in seen:
            return person_id
        seen.add(person_id)
        person_id = int(row[0])


def _own_id(library: Library, reference: str | int) -> int:
    """A person's own id, not followed through merges ("7", "Person 7"); a name resolves as usual."""
    person_id = person_id_in(reference)
    if person_id is None:
        return resolve_person(library, reference)
    if library.db.execute("SELECT 1 FROM people WHERE id = ?", (person_id,)).fetchone() is None:
        raise unknown_id(person_id)
    return person_id


def resolve_person(library: Library, reference: str | int) -> int:
    """A person id from 7, "7", "person:7", "Person 7" (an id is followed through merges) or a
    name, any case, by the rules of `graph.names.match_person`. Unlike the graph's, hidden people
    can be named here: a correction (showing them again) may be about them."""
    db = library.db
    if person_id_in(reference) is not None:
        return canonical(db, _own_id(library, reference))
    rows = db.execute("SELECT id, name FROM people WHERE merged_into IS NULL ORDER BY id").fetchall()
    return match_person(reference, ((int(r[0]), int(r[0]), r[1]) for r in rows))


def _label_of(db: sqlite3.Connection, person_id: int) -> str:
    row = db.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    return label(person_id, row[0] if row else None)


# --- the People album -----------------------------------------------------------------------
_ORDER_BY = {
    "photos": "photos DESC, p.name IS NULL, p.id",
    "name": "p.name IS NULL, p.name COLLATE NOCASE, p.id",
    "recent": "latest IS NULL, latest DESC, p.id",
}


def list_people(library: Library, include_hidden: bool = False, sort: str = "photos") -> list[PersonRow]:
    """The People album: pinned people first, then by `sort` ("photos": most first; "name": named
    A-Z, then the unnamed by id; "recent": newest photo first). One grouped query, however many
    people: the counts are aggregated per person once, then joined."""
    if sort not in _ORDER_BY:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    rows = library.db.execute(
        f"""
        SELECT p.id, p.name, p.hidden, p.pinned, p.key_observation_id,
               COALESCE(s.faces, 0) AS faces, COALESCE(s.photos, 0) AS photos, s.latest AS latest
        FROM people p LEFT JOIN (
            SELECT o.person_id, COUNT(*) AS faces, COUNT(DISTINCT o.asset_id) AS photos,
                   MAX(a.taken_ts) AS latest
            FROM observations o JOIN assets a ON a.id = o.asset_id
            WHERE o.person_id IS NOT NULL
            GROUP BY o.person_id
        ) s ON s.person_id = p.id
        WHERE p.merged_into IS NULL AND (? OR p.hidden = 0)
        ORDER BY p.pinned DESC, {_ORDER_BY[sort]}
        """,
        (int(include_hidden),),
    ).fetchall()
    return [
        PersonRow(
            id=int(r["id"]),
            name=r["name"],
            label=label(int(r["id"]), r["name"]),
            faces=int(r["faces"]),
            photos=int(r["photos"]),
            hidden=bool(r["hidden"]),
            key_face=r["key_observation_id"],
            pinned=bool(r["pinned"]),
        )
        for r in rows
    ]


def different_pairs(library: Library) -> set[tuple[int, int]]:
    """Pairs (a < b) the user said are not the same person, as the people they are now (through
    merges); a pair that a later merge made one person is left out."""
    db = library.db
    pairs = set()
    for a, b in db.execute("SELECT person_a, person_b FROM feedback_different"):
        a, b = canonical(db, int(a)), canonical(db, int(b))
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    return pairs


class FaceRow(TypedDict):
    """One of a person's faces (`faces_of`): the CLI's `faces` table and JSON."""

    id: int
    asset_id: int
    path: str
    taken_at: str | None
    face_x: float | None
    face_y: float | None
    face_w: float | None
    face_h: float | None
    quality: float | None
    assign_score: float | None
    confirmed: bool
    faceless: bool  # seen without a face, known by their clothes


def faces_of(library: Library, person_id: int) -> list[FaceRow]:
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
    return [
        FaceRow(
            id=int(r["id"]),
            asset_id=int(r["asset_id"]),
            path=r["path"],
            taken_at=r["taken_at"],
            face_x=r["face_x"],
            face_y=r["face_y"],
            face_w=r["face_w"],
            face_h=r["face_h"],
            quality=r["quality"],
            assign_score=r["assign_score"],
            confirmed=bool(r["confirmed"]),
            faceless=bool(r["faceless"]),
        )
        for r in rows
    ]


# --- key faces ------------------------------------------------------------------------------
# The key face the machine picks: a clear face whole inside its photo first (a face cut at the
# photo's edge makes a poor cover), then one the user confirmed, then the best quality, the largest.
_KEY_FACE_ORDER = """
    (o.is_clear = 1 AND o.face_x >= 0 AND o.face_y >= 0
     AND o.face_x + o.face_w <= a.width AND o.face_y + o.face_h <= a.height) IS NOT 1,
    c.observation_id IS NULL, o.quality DESC, o.face_w * o.face_h DESC, o.id
"""
_BEST_FACE = f"""
    SELECT o.id FROM observations o JOIN assets a ON a.id = o.asset_id
    LEFT JOIN feedback_confirmations c ON c.observation_id = o.id AND c.person_id = o.person_id
    WHERE o.person_id = people.id
    ORDER BY {_KEY_FACE_ORDER} LIMIT 1
"""
_STILL_THEIRS = (
    "EXISTS (SELECT 1 FROM observations k WHERE k.id = people.key_observation_id AND k.person_id = people.id)"
)


def refresh_key_faces(
    db: sqlite3.Connection, person_ids: Iterable[int] | None = None, keep: bool = False
) -> None:
    """Each person's key face. A face the user chose stays while it is still theirs (a re-cluster
    must not change a cover the user picked); otherwise the best face (`_KEY_FACE_ORDER`). With
    `keep`, a machine-chosen key face that is still theirs stays too: a correction repairs covers
    it took away, without reshuffling the others. `person_ids`: only these people (default all)."""
    params: tuple[int, ...]
    scope, params = "", ()
    if person_ids is not None:
        ids = tuple(sorted({int(p) for p in person_ids}))
        if not ids:
            return
        scope, params = f" AND id IN ({', '.join('?' * len(ids))})", ids
    db.execute(
        f"UPDATE people SET key_chosen = 0 WHERE key_chosen = 1 AND NOT {_STILL_THEIRS}{scope}", params
    )
    kept = f" AND NOT (key_observation_id IS NOT NULL AND {_STILL_THEIRS})" if keep else ""
    db.execute(
        f"UPDATE people SET key_observation_id = ({_BEST_FACE}) "
        f"WHERE merged_into IS NULL AND key_chosen = 0{kept}{scope}",
        params,
    )


# --- the undo journal -----------------------------------------------------------------------
# What the journal keeps of each table a correction may change: (key columns, columns kept; None:
# all). Of a face only whom it belongs to: its embeddings are the machine's, large, and no
# correction changes them (and a face whose photo was forgotten is never brought back).
_JOURNALED: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "people": (("id",), None),
    "observations": (("id",), ("id", "person_id", "assign_score")),
    "feedback_confirmations": (("observation_id",), None),
    "feedback_rejections": (("observation_id", "person_id"), None),
    "feedback_merges": (("from_person_id", "into_person_id"), None),
    "feedback_different": (("person_a", "person_b"), None),
    "merge_members": (("from_person_id", "observation_id"), None),
}
# References a restored row may hold to a row that is gone since (a forgotten photo's face): put
# back as NULL rather than failing the undo.
_NULLABLE_REFERENCES = {
    "people": {"key_observation_id": "observations", "merged_into": "people"},
    "observations": {"person_id": "people"},
}
_COLUMN = re.compile(r"^[a-z_]+$")


class Journal:
    """Before-images of the rows one correction changes, taken inside its transaction just before
    each change (the first image of a row wins: it is the row as the user last saw it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.summary = ""
        self.before: list[list[Any]] = []
        self._seen: set[tuple[str, tuple[Any, ...]]] = set()
        self.touched: set[int] = set()  # people whose faces or key face may change

    def touch(self, person_id: int) -> None:
        """Keep this person's row; their key face is repaired when the correction ends."""
        self.key("people", id=person_id)
        self.touched.add(person_id)

    def rows(self, table: str, where: str, params: tuple[Any, ...] = ()) -> None:
        """Keep the rows of `table` matching `where` as they are now."""
        keys, columns = _JOURNALED[table]
        select = "*" if columns is None else ", ".join(columns)
        for row in self.db.execute(f"SELECT {select} FROM {table} WHERE {where}", params).fetchall():
            self._keep(table, {k: row[k] for k in keys}, dict(row))

    def key(self, table: str, **key: Any) -> None:
        """Keep the row with this key, or that there is none (undo then deletes what was added)."""
        keys, columns = _JOURNALED[table]
        assert tuple(key) == keys, (table, key)
        select = "*" if columns is None else ", ".join(columns)
        where = " AND ".join(f"{k} = ?" for k in keys)
        row = self.db.execute(f"SELECT {select} FROM {table} WHERE {where}", tuple(key.values())).fetchone()
        self._keep(table, key, None if row is None else dict(row))

    def created(self, table: str, **key: Any) -> None:
        """A row this correction just inserted: undo deletes it."""
        self._keep(table, key, None)

    def _keep(self, table: str, key: dict[str, Any], row: dict[str, Any] | None) -> None:
        seen = (table, tuple(key.values()))
        if seen not in self._seen:
            self._seen.add(seen)
            self.before.append([table, key, row])


@contextmanager
def _correction(library: Library, kind: str, faces_move: bool = True) -> Iterator[Journal]:
    """One correction: its changes and its journal entry land together. `faces_move`: faces may
    change person, so the knowledge graph needs a rebuild (a name or a flag does not)."""
    with library.transaction() as db:
        journal = Journal(db)
        yield journal
        refresh_key_faces(db, journal.touched, keep=True)
        db.execute(
            "INSERT INTO corrections (kind, summary, before) VALUES (?, ?, ?)",
            (kind, journal.summary or kind, json.dumps(journal.before)),
        )
    if faces_move:
        library.mark_graph_stale()


def last_correction(library: Library) -> str | None:
    """What `undo_last` would take back, in words; None when there is nothing to undo."""
    row = library.db.execute(
        "SELECT summary FROM corrections WHERE undone = 0 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def undo_last(library: Library) -> str | None:
    """Take back the newest correction not yet undone: every row it touched is put back as it was
    (one it added is deleted), in one transaction. Returns its summary; None when there is none."""
    with library.transaction() as db:
        row = db.execute(
            "SELECT id, summary, before FROM corrections WHERE undone = 0 ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        for table, key, previous in reversed(json.loads(row["before"])):
            _restore(db, table, key, previous)
        db.execute("UPDATE corrections SET undone = 1 WHERE id = ?", (row["id"],))
    library.mark_graph_stale()
    return str(row["summary"])


def _restore(db: sqlite3.Connection, table: str, key: dict[str, Any], row: dict[str, Any] | None) -> None:
    """Put one row back. An existing row is updated in place, not replaced: INSERT OR REPLACE
    deletes first, and deleting a person would cascade to their faces and feedback."""
    if table not in _JOURNALED or not all(_COLUMN.match(c) for c in [*key, *(row or {})]):
        raise ValueError(f"the undo journal names an unknown table or column: {table}")
    where = " AND ".join(f"{k} = ?" for k in key)
    try:
        if row is None:
            db.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))
            return
        for column, target in _NULLABLE_REFERENCES.get(table, {}).items():
            value = row.get(column)
            if (
                value is not None
                and not db.execute(f"SELECT 1 FROM {target} WHERE id = ?", (value,)).fetchone()
            ):
                row[column] = None
        sets = ", ".join(f"{c} = ?" for c in row)
        updated = db.execute(f"UPDATE {table} SET {sets} WHERE {where}", (*row.values(), *key.values()))
        if updated.rowcount == 0:
            columns = ", ".join(row)
            db.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
    except sqlite3.IntegrityError:
        pass  # what the row refers to is gone (a forgotten photo's face): there is nothing to put back


# --- corrections ----------------------------------------------------------------------------
def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValueError("a name cannot be empty")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"a name can be at most {MAX_NAME_CHARS} characters")
    return name


def name_person(library: Library, reference: str | int, name: str) -> int:
    name = _clean_name(name)
    person_id = resolve_person(library, reference)
    with _correction(library, "name", faces_move=False) as journal:
        journal.summary = f"named {_label_of(journal.db, person_id)} {name!r}"
        journal.key("people", id=person_id)
        journal.db.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
    return person_id


def merge_people(library: Library, into: str | int, other: str | int) -> int:
    """Merge `other` into `into`: one person from now on, in every re-cluster (a must-link). The
    faces it moves are remembered (`merge_members`) so that `unmerge` can give them back."""
    keep, gone = resolve_person(library, into), resolve_person(library, other)
    if keep == gone:
        raise ValueError("cannot merge a person with themselves")
    with _correction(library, "merge") as journal:
        db = journal.db
        journal.summary = f"merged {_label_of(db, gone)} into {_label_of(db, keep)}"
        journal.touch(keep)
        journal.touch(gone)
        keep_name = db.execute("SELECT name FROM people WHERE id = ?", (keep,)).fetchone()[0]
        gone_name = db.execute("SELECT name FROM people WHERE id = ?", (gone,)).fetchone()[0]
        if not keep_name and gone_name:
            db.execute("UPDATE people SET name = ? WHERE id = ?", (gone_name, keep))
        journal.key("feedback_merges", from_person_id=gone, into_person_id=keep)
        db.execute(
            "INSERT OR IGNORE INTO feedback_merges (from_person_id, into_person_id) VALUES (?, ?)",
            (gone, keep),
        )
        # The user now says they are one person: an earlier "not the same person" no longer holds.
        journal.key("feedback_different", person_a=min(keep, gone), person_b=max(keep, gone))
        db.execute(
            "DELETE FROM feedback_different WHERE person_a = ? AND person_b = ?",
            (min(keep, gone), max(keep, gone)),
        )
        db.execute("UPDATE people SET merged_into = ? WHERE id = ?", (keep, gone))
        moved = [int(r[0]) for r in db.execute("SELECT id FROM observations WHERE person_id = ?", (gone,))]
        journal.rows("observations", "person_id = ?", (gone,))
        for face_id in moved:
            journal.key("merge_members", from_person_id=gone, observation_id=face_id)
        db.executemany(
            "INSERT OR IGNORE INTO merge_members (from_person_id, observation_id) VALUES (?, ?)",
            [(gone, face_id) for face_id in moved],
        )
        db.execute("UPDATE observations SET person_id = ? WHERE person_id = ?", (keep, gone))
        journal.rows("feedback_confirmations", "person_id = ?", (gone,))
        db.execute("UPDATE feedback_confirmations SET person_id = ? WHERE person_id = ?", (keep, gone))
        for (face_id,) in db.execute(
            "SELECT observation_id FROM feedback_rejections WHERE person_id = ?", (gone,)
        ).fetchall():
            journal.key("feedback_rejections", observation_id=int(face_id), person_id=keep)
        db.execute(
            "INSERT OR IGNORE INTO feedback_rejections (observation_id, person_id) "
            "SELECT observation_id, ? FROM feedback_rejections WHERE person_id = ?",
            (keep, gone),
        )
    return keep


def _name_before_merge(db: sqlite3.Connection, gone: int, keep: int) -> tuple[bool, str | None]:
    """(found, name) `keep` had before `gone` was merged into it, from that merge's journal entry:
    a merge gives an unnamed person the other's name, and an unmerge takes it back."""
    for (before,) in db.execute(
        "SELECT before FROM corrections WHERE kind = 'merge' AND undone = 0 ORDER BY id DESC"
    ):
        images = json.loads(before)
        merge_key = {"from_person_id": gone, "into_person_id": keep}
        if ["feedback_merges", merge_key, None] not in images:
            continue
        for table, key, row in images:
            if table == "people" and key == {"id": keep} and row is not None:
                return True, row["name"]
    return False, None


def unmerge(library: Library, person_id: str | int, other: str | int | None = None) -> int:
    """Take back a merge: `other` (default: the person most recently merged into `person_id`) is a
    person again, with the faces the merge moved that are still with `person_id` and their
    confirmations; the two are then remembered as different people. Returns `other`'s id."""
    db = library.db
    absorber = _own_id(library, person_id)
    if other is None:
        row = db.execute(
            "SELECT from_person_id FROM feedback_merges WHERE into_person_id = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (absorber,),
        ).fetchone()
        if row is None:
            raise ValueError(f"nobody was merged into {_label_of(db, absorber)}; nothing to unmerge")
        gone = int(row[0])
    else:
        gone = _own_id(library, other)
        merged = db.execute(
            "SELECT 1 FROM feedback_merges WHERE from_person_id = ? AND into_person_id = ?", (gone, absorber)
        ).fetchone()
        if merged is None:
            raise ValueError(f"{_label_of(db, gone)} was not merged into {_label_of(db, absorber)}")
    holder = canonical(db, absorber)  # who has the faces now (the absorber, or whom it merged into)
    found, name_before = _name_before_merge(db, gone, absorber)
    with _correction(library, "unmerge") as journal:
        journal.summary = f"unmerged {_label_of(db, gone)} from {_label_of(db, holder)}"
        for person in (gone, absorber, holder):
            journal.touch(person)
        journal.key("feedback_merges", from_person_id=gone, into_person_id=absorber)
        db.execute(
            "DELETE FROM feedback_merges WHERE from_person_id = ? AND into_person_id = ?", (gone, absorber)
        )
        db.execute("UPDATE people SET merged_into = NULL WHERE id = ?", (gone,))
        members = "SELECT observation_id FROM merge_members WHERE from_person_id = ?"
        journal.rows("observations", f"person_id = ? AND id IN ({members})", (holder, gone))
        db.execute(
            f"UPDATE observations SET person_id = ? WHERE person_id = ? AND id IN ({members})",
            (gone, holder, gone),
        )
        journal.rows(
            "feedback_confirmations", f"person_id = ? AND observation_id IN ({members})", (holder, gone)
        )
        db.execute(
            f"UPDATE feedback_confirmations SET person_id = ? WHERE person_id = ? AND observation_id IN ({members})",
            (gone, holder, gone),
        )
        journal.rows("merge_members", "from_person_id = ?", (gone,))
        db.execute("DELETE FROM merge_members WHERE from_person_id = ?", (gone,))
        names = db.execute(
            "SELECT a.name, g.name FROM people a, people g WHERE a.id = ? AND g.id = ?", (absorber, gone)
        ).fetchone()
        if (
            found
            and names[0]
            and names[1]
            and names[0].casefold() == names[1].casefold()
            and name_before != names[0]
        ):
            # the absorber's name came with the merge: it goes back with the faces
            db.execute("UPDATE people SET name = ? WHERE id = ?", (name_before, absorber))
        _differ(journal, holder, gone)
    return gone


def _observation(db: sqlite3.Connection, face_id: int) -> sqlite3.Row:
    return one_row(
        db, "SELECT id, person_id FROM observations WHERE id = ?", (face_id,), f"no face with id {face_id}"
    )


def _faces(library: Library, face_ids: Iterable[int]) -> list[sqlite3.Row]:
    """The chosen faces (each once, in the order given); all must exist before anything changes."""
    ids = list(dict.fromkeys(int(f) for f in face_ids))
    if not ids:
        raise ValueError("no faces chosen")
    return [_observation(library.db, face_id) for face_id in ids]


def _count(n: int) -> str:
    return "a face" if n == 1 else f"{n} faces"


def _confirm(journal: Journal, face_id: int, person_id: int) -> None:
    db = journal.db
    journal.key("feedback_confirmations", observation_id=face_id)
    journal.key("feedback_rejections", observation_id=face_id, person_id=person_id)
    journal.key("observations", id=face_id)
    journal.touch(person_id)
    previous = db.execute("SELECT person_id FROM observations WHERE id = ?", (face_id,)).fetchone()[0]
    if previous is not None:
        journal.touch(int(previous))  # it may have been their key face
    db.execute(
        "INSERT INTO feedback_confirmations (observation_id, person_id) VALUES (?, ?) "
        "ON CONFLICT(observation_id) DO UPDATE SET person_id = excluded.person_id",
        (face_id, person_id),
    )
    db.execute(
        "DELETE FROM feedback_rejections WHERE observation_id = ? AND person_id = ?", (face_id, person_id)
    )
    db.execute("UPDATE observations SET person_id = ?, assign_score = 1.0 WHERE id = ?", (person_id, face_id))


def _reject(journal: Journal, face_id: int, person_id: int) -> None:
    db = journal.db
    journal.key("feedback_rejections", observation_id=face_id, person_id=person_id)
    journal.key("feedback_confirmations", observation_id=face_id)
    journal.key("observations", id=face_id)
    journal.touch(person_id)
    db.execute(
        "INSERT OR IGNORE INTO feedback_rejections (observation_id, person_id) VALUES (?, ?)",
        (face_id, person_id),
    )
    db.execute(
        "DELETE FROM feedback_confirmations WHERE observation_id = ? AND person_id = ?", (face_id, person_id)
    )
    db.execute(
        "UPDATE observations SET person_id = NULL, assign_score = NULL WHERE id = ? AND person_id = ?",
        (face_id, person_id),
    )


def _anchor(journal: Journal, person_id: int) -> None:
    """Make sure a re-cluster has an anchor of this person: a confirmed clear face (anchors of two
    people are never clustered together). Without one, their key face (or best face) is confirmed."""
    db = journal.db
    clear = "o.source = 'detector' AND o.is_clear = 1 AND o.face_embedding IS NOT NULL"
    anchored = db.execute(
        f"SELECT 1 FROM feedback_confirmations c JOIN observations o "
        f"ON o.id = c.observation_id AND o.person_id = c.person_id WHERE c.person_id = ? AND {clear} LIMIT 1",
        (person_id,),
    ).fetchone()
    if anchored:
        return
    best = db.execute(
        f"""
        SELECT o.id FROM observations o JOIN assets a ON a.id = o.asset_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id AND c.person_id = o.person_id
        WHERE o.person_id = ? AND {clear}
        ORDER BY o.id IS (SELECT key_observation_id FROM people WHERE id = ?) DESC, {_KEY_FACE_ORDER} LIMIT 1
        """,
        (person_id, person_id),
    ).fetchone()
    if best is not None:
        _confirm(journal, int(best[0]), person_id)


def _differ(journal: Journal, a: int, b: int) -> None:
    """Remember that a and b are different people, and anchor both so every re-cluster agrees."""
    low, high = min(a, b), max(a, b)
    journal.key("feedback_different", person_a=low, person_b=high)
    journal.db.execute(
        "INSERT OR IGNORE INTO feedback_different (person_a, person_b) VALUES (?, ?)", (low, high)
    )
    _anchor(journal, a)
    _anchor(journal, b)


def reject_face(library: Library, face_id: int, person: str | int | None = None) -> int:
    """'Not this person': the face leaves the person and never returns to them. Returns who."""
    return _judge_faces(library, "reject", [face_id], person, "say which person with --from")[0]


def confirm_face(library: Library, face_id: int, person: str | int | None = None) -> int:
    """'Yes, this is them': the face is an anchor of the person in every re-cluster. Returns who."""
    return _judge_faces(library, "confirm", [face_id], person, "say who with --person")[0]


def _people_of(library: Library, rows: list[sqlite3.Row], person: str | int | None, say: str) -> list[int]:
    """The person each chosen face is taken as: `person` for all, else each face's own."""
    if person is not None:
        return [resolve_person(library, person)] * len(rows)
    missing = [int(r["id"]) for r in rows if r["person_id"] is None]
    if missing:
        raise ValueError(f"face {missing[0]} belongs to no person; {say}")
    return [int(r["person_id"]) for r in rows]


# kind -> (verb, preposition, the change one face gets): "confirmed 3 faces as Ana".
_JUDGEMENTS = {"confirm": ("confirmed", "as", _confirm), "reject": ("rejected", "from", _reject)}


def _judge_faces(
    library: Library, kind: str, face_ids: Iterable[int], person: str | int | None, say: str
) -> list[int]:
    """Confirm or reject faces (each as / from `person`, else its own person) as one correction,
    one undo. Returns the person of each face."""
    rows = _faces(library, face_ids)
    people_ids = _people_of(library, rows, person, say)
    verb, preposition, judge = _JUDGEMENTS[kind]
    with _correction(library, kind) as journal:
        whom = set(people_ids)
        tail = f" {preposition} {_label_of(journal.db, whom.pop())}" if len(whom) == 1 else ""
        journal.summary = f"{verb} {_count(len(people_ids))}{tail}"
        for row, person_id in zip(rows, people_ids, strict=True):
            judge(journal, int(row["id"]), person_id)
    return people_ids


def confirm_faces(library: Library, face_ids: Iterable[int], person: str | int | None = None) -> int:
    """Confirm several faces at once (each as `person`, else as its own person): one correction,
    one undo. Returns how many faces were confirmed."""
    return len(_judge_faces(library, "confirm", face_ids, person, "say who"))


def reject_faces(library: Library, face_ids: Iterable[int], person: str | int | None = None) -> int:
    """Reject several faces at once (each from `person`, else from its own person): one
    correction, one undo. Returns how many faces were rejected."""
    return len(_judge_faces(library, "reject", face_ids, person, "say which person"))


def move_faces(library: Library, face_ids: Iterable[int], to: str | int) -> int:
    """'These are <to>': each face is confirmed as that person (leaving whoever had it), as one
    correction. Returns the person's id."""
    rows = _faces(library, face_ids)
    person_id = resolve_person(library, to)
    with _correction(library, "move") as journal:
        journal.summary = f"moved {_count(len(rows))} to {_label_of(journal.db, person_id)}"
        for row in rows:
            _confirm(journal, int(row["id"]), person_id)
    return person_id


def name_face(library: Library, face_id: int, name: str) -> int:
    """'This is <name>': the face is confirmed as the person of that name, a new person when nobody
    has the name yet. How a user names someone the clustering left ungrouped (precision first: a
    face seen once or twice is not a person until someone says so)."""
    name = _clean_name(name)
    _observation(library.db, face_id)  # the face must exist before anyone is created
    with _correction(library, "name-face") as journal:
        journal.summary = f"named a face {name!r}"
        person_id = person_named(journal.db, name, journal)
        _confirm(journal, face_id, person_id)
    return person_id


def person_named(db: sqlite3.Connection, name: str, journal: Journal | None = None) -> int:
    """The (first, unmerged) person with this name, case-insensitive, created when there is none:
    how a name the user gives (XMP region, name-face) becomes a person. Call inside a transaction."""
    row = db.execute(
        "SELECT id FROM people WHERE name = ? COLLATE NOCASE AND merged_into IS NULL ORDER BY id", (name,)
    ).fetchone()
    if row is not None:
        return int(row[0])
    person_id = int(db.execute("INSERT INTO people (name) VALUES (?)", (name,)).lastrowid or 0)
    if journal is not None:
        journal.created("people", id=person_id)
    return person_id


# The user's flags on a person: column -> (correction kind, its summary's verb when set, when cleared).
_FLAGS = {"hidden": ("hide", "hid", "showed"), "pinned": ("pin", "pinned", "unpinned")}


def _flag_person(library: Library, reference: str | int, column: str, value: bool) -> int:
    kind, set_verb, clear_verb = _FLAGS[column]
    person_id = resolve_person(library, reference)
    with _correction(library, kind, faces_move=False) as journal:
        journal.summary = f"{set_verb if value else clear_verb} {_label_of(journal.db, person_id)}"
        journal.key("people", id=person_id)
        journal.db.execute(f"UPDATE people SET {column} = ? WHERE id = ?", (int(value), person_id))
    return person_id


def hide_person(library: Library, reference: str | int, hidden: bool = True) -> int:
    """Out of the People album, search and memories (or back in them)."""
    return _flag_person(library, reference, "hidden", hidden)


def pin_person(library: Library, reference: str | int, pinned: bool = True) -> int:
    """A favourite: listed first in the People album, and kept even with no faces left."""
    return _flag_person(library, reference, "pinned", pinned)


def choose_key_face(library: Library, face_id: int) -> int:
    """The user's key photo of a person: kept through every re-cluster while the face is theirs,
    which confirming it makes sure of. Returns the person's id."""
    row = _observation(library.db, face_id)
    if row["person_id"] is None:
        raise ValueError(f"face {face_id} belongs to no person; say who it is first")
    person_id = int(row["person_id"])
    with _correction(library, "key-face", faces_move=False) as journal:
        journal.summary = f"chose {_label_of(journal.db, person_id)}'s key photo"
        _confirm(journal, face_id, person_id)
        journal.db.execute(
            "UPDATE people SET key_observation_id = ?, key_chosen = 1 WHERE id = ?", (face_id, person_id)
        )
    return person_id


def not_same_person(library: Library, a: str | int, b: str | int) -> None:
    """'Not the same person' (on a "same person?" suggestion): never suggested again, and every
    re-cluster keeps them apart (each gets an anchor, and anchors of two people never merge)."""
    try:
        first, second = resolve_person(library, a), resolve_person(library, b)
    except PersonLookupError as error:
        raise ValueError(str(error)) from error
    if first == second:
        raise ValueError("a person is always the same person as themselves")
    with _correction(library, "different", faces_move=False) as journal:
        journal.summary = (
            f"{_label_of(journal.db, first)} and {_label_of(journal.db, second)} are different people"
        )
        _differ(journal, first, second)
