"""New faces at index time: sparse coding over the exemplars of the people already known.

`memories index` calls `assign_new_faces` after storing new observations, so a new photo of a
known person shows up under that person at once; the overnight `memories cluster` revisits all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memories.clustering import feedback, load_faces
from memories.people import different_pairs, label
from memories.store import Library


def assign_new_faces(library: Library) -> int:
    """Assign every clear, never-assigned face to a known person or leave it unknown; returns how many."""
    from recognition.assign import UNKNOWN, SparseCodingAssigner, resolve_photo_conflicts

    fresh = load_faces(library, "AND o.person_id IS NULL AND o.assign_score IS NULL")
    if not len(fresh):
        return 0
    known = load_faces(library, "AND o.person_id IS NOT NULL")
    if len(np.unique(known.previous_person)) < 1 or not len(known):
        _mark_tried(library, fresh.ids, np.zeros(len(fresh), np.float32))
        return 0
    _, rejected = feedback(library)
    assigner = SparseCodingAssigner().fit(known.face, known.previous_person)
    people, confidence = assigner.decision(fresh.face)
    people = np.asarray(people, dtype=np.int64)
    people[confidence < assigner.min_confidence] = UNKNOWN
    # A rejected face never returns to that person; a photo never holds a person twice (the
    # same rule the evaluation measures: recognition.assign.resolve_photo_conflicts).
    for i, face_id in enumerate(fresh.ids.tolist()):
        if (face_id, int(people[i])) in rejected:
            people[i] = UNKNOWN
    together, present = _seen_together(library, fresh.ids)
    people = resolve_photo_conflicts(people, confidence, together, present)
    with library.transaction() as db:
        for i, face_id in enumerate(fresh.ids.tolist()):
            person = int(people[i])
            db.execute(
                "UPDATE observations SET person_id = ?, assign_score = ? WHERE id = ?",
                (None if person == UNKNOWN else person, float(confidence[i]), face_id),
            )
    return int(np.sum(people != UNKNOWN))


def _seen_together(library: Library, fresh_ids: np.ndarray) -> tuple[np.ndarray, dict[object, set[object]]]:
    """The fresh faces' frame groups (memories.clustering.frame_groups: a photo, or a video's
    tracks overlapping in time) and the people already assigned in each group."""
    from memories.clustering import frame_groups

    rows = library.db.execute(
        "SELECT o.id, o.asset_id, o.person_id, o.first_s, o.last_s FROM observations o "
        "WHERE o.source = 'detector' AND o.asset_id IN (SELECT asset_id FROM observations WHERE id IN "
        f"({','.join(str(int(i)) for i in fresh_ids.tolist())}))"
    ).fetchall()
    groups = frame_groups([r["asset_id"] for r in rows], [r["first_s"] for r in rows], [r["last_s"] for r in rows])
    group_of = {int(r["id"]): int(g) for r, g in zip(rows, groups.tolist(), strict=True)}
    present: dict[object, set[object]] = {}
    for r in rows:
        if r["person_id"] is not None:
            present.setdefault(group_of[int(r["id"])], set()).add(int(r["person_id"]))
    return np.array([group_of[int(i)] for i in fresh_ids.tolist()], dtype=np.int64), present


def _mark_tried(library: Library, ids: np.ndarray, scores: np.ndarray) -> None:
    with library.transaction() as db:
        db.executemany(
            "UPDATE observations SET assign_score = ? WHERE id = ?",
            [(float(s), int(i)) for i, s in zip(ids, scores, strict=True)],
        )


def merge_suggestions(library: Library) -> list[dict[str, Any]]:
    """Pairs of people close enough to ask "same person?", closest first (never a constrained pair).

    Never a pair the user said are different people, nor two named people: naming them apart is
    the user's own word that they are two (asking would be noise)."""
    from recognition.cluster.gallery import Gallery

    faces = load_faces(library, "AND o.person_id IS NOT NULL")
    if not len(faces):
        return []
    hidden = {int(r[0]) for r in library.db.execute("SELECT id FROM people WHERE hidden = 1")}
    people_ids = np.unique(faces.previous_person)
    labels = np.searchsorted(people_ids, faces.previous_person)
    # Two people who share a photo are different people: the gallery will not suggest them.
    gallery = Gallery().fit(faces.face, labels, confirmed=np.ones(len(faces), bool))
    names = dict(library.db.execute("SELECT id, name FROM people").fetchall())
    different = different_pairs(library)
    rows = []
    for suggestion in gallery.suggestions_:
        a = int(people_ids[gallery.people_[suggestion.person_a].cluster])
        b = int(people_ids[gallery.people_[suggestion.person_b].cluster])
        if a in hidden or b in hidden or (min(a, b), max(a, b)) in different:
            continue
        if names.get(a) and names.get(b):
            continue
        rows.append(
            {
                "person_a": a,
                "label_a": label(a, names.get(a)),
                "person_b": b,
                "label_b": label(b, names.get(b)),
                "distance": round(float(suggestion.linkage), 4),
            }
        )
    return rows
