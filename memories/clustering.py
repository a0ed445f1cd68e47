"""`memories cluster`: the overnight pass, from the store to people and back, obeying the user.

Steps:
1. XMP names become people and confirmed faces (`apply_xmp_names`).
2. Load every clear face with its embeddings, photo and moment; turn the user's feedback into
   constraints: confirmed faces are anchors of their person, a rejection is a cannot-link
   between the face and that person's anchors (or, lacking anchors, their current faces), two
   faces of one photo are cannot-linked.
3. Cluster (recognition layer: pass 1 per moment, pass 2 across moments).
4. Map clusters to people: a cluster holding anchors of P is P; else the person most of its
   faces belonged to before (so ids, names and merges carry over); else a new person if the
   gallery accepts the cluster; else its faces stay unassigned.
5. Per-face overrides: a rejected face never lands on that person; a confirmed face always
   lands on its person; two faces of one photo never share a person (the farther one leaves).
6. People left with no faces and nothing the user gave them are removed.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from memories.people import canonical, person_named, refresh_key_faces
from memories.store import Library, from_blob
from recognition.embeddings import unit_rows


@dataclass
class ClusterSummary:
    faces: int
    clusters: int
    people: int
    new_people: int
    unassigned: int
    seconds: float

    def line(self) -> str:
        return (
            f"clustered {self.faces} faces into {self.clusters} clusters: {self.people} people "
            f"({self.new_people} new), {self.unassigned} faces unassigned, {self.seconds:.1f} s"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaceTable:
    """Clear faces as arrays, rows aligned."""

    ids: np.ndarray
    asset_ids: np.ndarray
    moment_ids: np.ndarray
    face: np.ndarray
    body: np.ndarray | None
    quality: np.ndarray
    previous_person: np.ndarray  # -1 when none
    # How many sightings each face counts for toward a new person (GallerySettings.min_faces): 1
    # for a photo's face, more for a video's face track seen clearly for long (sightings()).
    sightings: np.ndarray | None = None
    # Which faces are seen at once and so can never be one person (frame_groups): a photo's faces,
    # or a video's tracks that overlap in time.
    together: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


def load_faces(library: Library, where: str = "") -> FaceTable:
    rows = library.db.execute(
        "SELECT o.id, o.asset_id, COALESCE(a.moment_id, -1) AS moment_id, o.face_embedding, o.body_embedding, "
        "COALESCE(o.quality, 1.0) AS quality, COALESCE(o.person_id, -1) AS person_id, "
        "o.first_s, o.last_s "
        "FROM observations o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.source = 'detector' AND o.is_clear = 1 AND o.face_embedding IS NOT NULL "
        + where
        + " ORDER BY o.id"
    ).fetchall()
    face = (
        np.stack([np.frombuffer(r["face_embedding"], dtype=np.float32) for r in rows])
        if rows
        else np.zeros((0, 128), dtype=np.float32)
    )
    bodies = [from_blob(r["body_embedding"]) for r in rows]
    body = None
    dims = {len(b) for b in bodies if b is not None}
    if len(dims) == 1:
        # NaN rows: no body in frame for that face (the clusterer then uses the face alone).
        body = np.full((len(rows), dims.pop()), np.nan, dtype=np.float32)
        for i, b in enumerate(bodies):
            if b is not None:
                body[i] = b
    return FaceTable(
        ids=np.array([r["id"] for r in rows], dtype=np.int64),
        asset_ids=np.array([r["asset_id"] for r in rows], dtype=np.int64),
        moment_ids=np.array([r["moment_id"] for r in rows], dtype=np.int64),
        face=face,
        body=body,
        quality=np.array([r["quality"] for r in rows], dtype=np.float32),
        previous_person=np.array([r["person_id"] for r in rows], dtype=np.int64),
        sightings=np.array([sightings(r["first_s"], r["last_s"]) for r in rows], dtype=np.int64),
        together=frame_groups(
            [r["asset_id"] for r in rows], [r["first_s"] for r in rows], [r["last_s"] for r in rows]
        ),
    )


def frame_groups(
    asset_ids: list[int], first_s: list[float | None], last_s: list[float | None]
) -> np.ndarray:
    """Per face, a key shared by the faces seen at the same time: a photo's id for its faces; for
    a video's face tracks, one key per run of tracks overlapping in time (a negative number).
    Two tracks of one video that never overlap may be one person (seen again after a cut): they
    must not be kept apart as two faces of one photo are."""
    groups = np.array(asset_ids, dtype=np.int64).reshape(-1)
    spans: dict[int, list[int]] = defaultdict(list)
    for i, (start, end) in enumerate(zip(first_s, last_s, strict=True)):
        if start is not None and end is not None:
            spans[int(groups[i])].append(i)
    key = 0
    for rows in spans.values():
        rows.sort(key=lambda i: float(first_s[i]))  # type: ignore[arg-type]
        running_end = -np.inf
        for i in rows:
            if float(first_s[i]) > running_end:  # type: ignore[arg-type]
                key -= 1
            running_end = max(running_end, float(last_s[i]))  # type: ignore[arg-type]
            groups[i] = key
    return groups


def sightings(first_s: float | None, last_s: float | None) -> int:
    """A photo's face is one sighting. A video's face track is one, plus one for every
    settings.VIDEO_SECONDS_PER_SIGHTING it spans, up to the gallery's min_faces: a person who
    holds the camera's attention for 6 s (the speaker of a clip) is a person of the library, one
    glimpsed in passing is not, as for a face seen in a single photo."""
    from memories.settings import VIDEO_SECONDS_PER_SIGHTING
    from recognition.cluster_settings import GALLERY

    if first_s is None or last_s is None:
        return 1
    return int(min(GALLERY.min_faces, 1 + max(0.0, last_s - first_s) // VIDEO_SECONDS_PER_SIGHTING))


def apply_xmp_names(library: Library) -> int:
    """Faces named in XMP sidecars become confirmed faces of the person with that name."""
    rows = library.db.execute(
        "SELECT o.id, o.xmp_name FROM observations o "
        "LEFT JOIN feedback_confirmations c ON c.observation_id = o.id "
        "LEFT JOIN feedback_rejections r ON r.observation_id = o.id "
        "WHERE o.source = 'detector' AND o.xmp_name IS NOT NULL AND c.observation_id IS NULL "
        "AND r.observation_id IS NULL"
    ).fetchall()
    with library.transaction() as db:
        for row in rows:
            person_id = person_named(db, row["xmp_name"])
            db.execute(
                "INSERT INTO feedback_confirmations (observation_id, person_id) VALUES (?, ?)",
                (row["id"], person_id),
            )
            db.execute("UPDATE observations SET person_id = ? WHERE id = ?", (person_id, row["id"]))
    return len(rows)


def feedback(library: Library) -> tuple[dict[int, int], set[tuple[int, int]]]:
    """(face id -> confirmed person, {(face id, rejected person)}), people resolved through merges."""
    db = library.db
    confirmed = {
        int(o): canonical(db, int(p))
        for o, p in db.execute("SELECT observation_id, person_id FROM feedback_confirmations")
    }
    rejected = {
        (int(o), canonical(db, int(p)))
        for o, p in db.execute("SELECT observation_id, person_id FROM feedback_rejections")
    }
    return confirmed, rejected


def build_constraints(
    table: FaceTable, confirmed: dict[int, int], rejected: set[tuple[int, int]]
) -> dict[str, np.ndarray]:
    """Keyword arguments of TwoPassClusterer.fit: photo ids, cannot-links and anchors."""
    row_of = {int(face_id): i for i, face_id in enumerate(table.ids)}
    anchors = np.full(len(table), -1, dtype=np.int64)
    members_of: dict[int, list[int]] = defaultdict(list)
    for face_id, person in confirmed.items():
        if face_id in row_of:
            anchors[row_of[face_id]] = person
            members_of[person].append(row_of[face_id])
    current: dict[int, list[int]] = defaultdict(list)
    for i, person in enumerate(table.previous_person):
        if person >= 0:
            current[int(person)].append(i)
    cannot: list[tuple[int, int]] = []
    for face_id, person in rejected:
        if face_id not in row_of:
            continue
        others = members_of.get(person) or current.get(person, [])[:50]
        cannot.extend((row_of[face_id], j) for j in others if j != row_of[face_id])
    return {
        "photo_ids": table.together if table.together is not None else table.asset_ids,
        "cannot_link": np.array(cannot, dtype=np.int64).reshape(-1, 2),
        "anchors": anchors,
    }


def recluster(library: Library) -> ClusterSummary:
    from memories.faceless import assign_faceless
    from recognition.cluster.gallery import Gallery
    from recognition.cluster.two_pass import TwoPassClusterer

    started = time.monotonic()
    apply_xmp_names(library)
    table = load_faces(library)
    confirmed, rejected = feedback(library)
    people_before = {int(r[0]) for r in library.db.execute("SELECT id FROM people WHERE merged_into IS NULL")}
    if len(table):
        constraints = build_constraints(table, confirmed, rejected)
        labels = TwoPassClusterer().fit(table.face, table.body, table.moment_ids, **constraints).labels_
        is_confirmed = np.array([int(i) in confirmed for i in table.ids], dtype=bool)
        gallery = Gallery().fit(table.face, labels, confirmed=is_confirmed, sightings=table.sightings)
        accepted = {person.cluster for person in gallery.people_}
    else:
        labels, accepted = np.zeros(0, dtype=np.int64), set()
    # New people and the faces given to them land together: a kill between the two would leave
    # empty "Person N" entries.
    with library.transaction():
        person_of_row = map_clusters_to_people(library, table, labels, accepted, confirmed)
        person_of_row = enforce_feedback(table, person_of_row, confirmed, rejected)
        write_assignments(library, table, labels, person_of_row)
    assign_faceless(library)
    people_after = {int(r[0]) for r in library.db.execute("SELECT id FROM people WHERE merged_into IS NULL")}
    return ClusterSummary(
        faces=len(table),
        clusters=int(len(set(labels[labels >= 0].tolist()))) if len(labels) else 0,
        people=len({p for p in person_of_row if p >= 0}),
        new_people=len(people_after - people_before),
        unassigned=int(np.sum(person_of_row < 0)),
        seconds=time.monotonic() - started,
    )


def map_clusters_to_people(
    library: Library, table: FaceTable, labels: np.ndarray, accepted: set[int], confirmed: dict[int, int]
) -> np.ndarray:
    """Person id per row (-1 unassigned). New people are inserted here."""
    db = library.db
    person_of_row = np.full(len(table), -1, dtype=np.int64)
    alive = {int(r[0]) for r in db.execute("SELECT id FROM people WHERE merged_into IS NULL")}
    previous = np.array(
        [canonical(db, int(p)) if p >= 0 else -1 for p in table.previous_person], dtype=np.int64
    )
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        if label >= 0:
            rows_of[int(label)].append(i)
    with library.transaction() as tx:
        for label, rows in sorted(rows_of.items()):
            anchored = Counter(confirmed[int(table.ids[i])] for i in rows if int(table.ids[i]) in confirmed)
            before = Counter(int(previous[i]) for i in rows if previous[i] >= 0 and previous[i] in alive)
            if anchored:
                person = anchored.most_common(1)[0][0]
            elif before and before.most_common(1)[0][1] * 2 >= len(rows):
                # Most of the cluster was this person: keep the id (and name, merges) it had.
                person = before.most_common(1)[0][0]
            elif label in accepted:
                person = int(tx.execute("INSERT INTO people DEFAULT VALUES").lastrowid or 0)
                alive.add(person)
            else:
                continue
            person_of_row[rows] = person
    return person_of_row


def enforce_feedback(
    table: FaceTable, person_of_row: np.ndarray, confirmed: dict[int, int], rejected: set[tuple[int, int]]
) -> np.ndarray:
    person_of_row = person_of_row.copy()
    for i, face_id in enumerate(table.ids.tolist()):
        if face_id in confirmed:
            person_of_row[i] = confirmed[face_id]
        elif (face_id, int(person_of_row[i])) in rejected:
            person_of_row[i] = -1
    # A photo never holds a person twice: keep the confirmed face, else the one nearest the
    # person's mean face, and unassign the rest.
    by_person: dict[int, list[int]] = defaultdict(list)
    for i, person in enumerate(person_of_row):
        if person >= 0:
            by_person[int(person)].append(i)
    for rows in by_person.values():
        mean = table.face[rows].mean(axis=0)
        per_photo: dict[int, list[int]] = defaultdict(list)
        together = table.together if table.together is not None else table.asset_ids
        for i in rows:
            per_photo[int(together[i])].append(i)
        for members in per_photo.values():
            if len(members) < 2:
                continue
            keep = min(
                members,
                key=lambda i: (
                    int(table.ids[i]) not in confirmed,
                    float(np.linalg.norm(table.face[i] - mean)),
                ),
            )
            for i in members:
                if i != keep:
                    person_of_row[i] = -1
    return person_of_row


def write_assignments(
    library: Library, table: FaceTable, labels: np.ndarray, person_of_row: np.ndarray
) -> None:
    scores = cluster_confidence(table.face, person_of_row)
    with library.transaction() as db:
        db.executemany(
            "UPDATE observations SET cluster_id = ?, person_id = ?, assign_score = ? WHERE id = ?",
            [
                (
                    int(labels[i]) if labels[i] >= 0 else None,
                    int(p) if p >= 0 else None,
                    float(scores[i]) if p >= 0 else 0.0,
                    int(table.ids[i]),
                )
                for i, p in enumerate(person_of_row)
            ],
        )
        # Unclear faces never carry a machine assignment (a confirmed one keeps its person).
        db.execute(
            "UPDATE observations SET person_id = NULL WHERE is_clear = 0 AND source = 'detector' "
            "AND id NOT IN (SELECT observation_id FROM feedback_confirmations)"
        )
        refresh_people(db)


def cluster_confidence(faces: np.ndarray, person_of_row: np.ndarray) -> np.ndarray:
    """How surely each face belongs to its person, in [0, 1]: 1 at the person's mean face, 0 at
    settings.CONFIDENCE_ZERO_DISTANCE from it. What the People album's "review these" sorts by."""
    from memories.settings import CONFIDENCE_ZERO_DISTANCE

    scores = np.zeros(len(person_of_row), dtype=np.float32)
    for person in np.unique(person_of_row[person_of_row >= 0]):
        rows = np.flatnonzero(person_of_row == person)
        mean = unit_rows(faces[rows].mean(axis=0))
        distance = np.linalg.norm(faces[rows] - mean, axis=1)
        scores[rows] = np.clip(1.0 - distance / CONFIDENCE_ZERO_DISTANCE, 0.0, 1.0)
    return scores


def refresh_people(db: Any) -> None:
    """Drop people nobody needs (never one the user touched: named, hidden, pinned, confirmed,
    rejected, merged or told apart); pick each person's key face (`people.refresh_key_faces`: the
    one the user chose while it is still theirs, else a clear face whole inside its photo)."""
    db.execute(
        """
        DELETE FROM people WHERE merged_into IS NULL AND name IS NULL AND hidden = 0 AND pinned = 0
          AND id NOT IN (SELECT person_id FROM observations WHERE person_id IS NOT NULL)
          AND id NOT IN (SELECT person_id FROM feedback_confirmations)
          AND id NOT IN (SELECT person_id FROM feedback_rejections)
          AND id NOT IN (SELECT from_person_id FROM feedback_merges)
          AND id NOT IN (SELECT into_person_id FROM feedback_merges)
          AND id NOT IN (SELECT person_a FROM feedback_different)
          AND id NOT IN (SELECT person_b FROM feedback_different)
          AND id NOT IN (SELECT merged_into FROM people WHERE merged_into IS NOT NULL)
        """
    )
    refresh_key_faces(db)
