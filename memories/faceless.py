"""People seen without a face: give each body-only observation the person whose clothes it wears.

Inside one moment only (clothes change between days): a body-only observation takes the person
of its moment with the nearest upper body (on a face assigned to them), when that distance is
under pass 1's strict body threshold and clearly nearer than the next person
(settings.FACELESS_MARGIN). The nearest body, not the person's mean: a moment can hold the same
person in two outfits (a jacket taken off), and the threshold was measured on pairs of shots
(recognition.cluster_settings.Pass1Settings.body_threshold). A person already in the photo
is never given twice, a rejected person never again, and a user's confirmation always stands.
Runs after every re-cluster and after index assigns new faces.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from memories import settings
from memories.store import Library, from_blob
from recognition.cluster_settings import PASS1
from recognition.embeddings import unit_rows


def assign_faceless(library: Library) -> int:
    """Assign (or unassign) every body-only observation; returns how many have a person."""
    db = library.db
    bodies = db.execute(
        "SELECT o.id, o.asset_id, a.moment_id, o.body_embedding, c.person_id AS confirmed "
        "FROM observations o JOIN assets a ON a.id = o.asset_id "
        "LEFT JOIN feedback_confirmations c ON c.observation_id = o.id "
        "WHERE o.source = 'body' AND o.body_embedding IS NOT NULL"
    ).fetchall()
    if not bodies:
        return 0
    rejected = {(int(r[0]), int(r[1])) for r in db.execute("SELECT observation_id, person_id FROM feedback_rejections")}
    moments = sorted({r["moment_id"] for r in bodies if r["moment_id"] is not None})
    marks = ",".join("?" * len(moments))
    clothes: dict[int, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    in_photo: dict[int, set[int]] = defaultdict(set)
    for r in db.execute(
        "SELECT o.asset_id, a.moment_id, o.person_id, o.body_embedding FROM observations o "
        f"JOIN assets a ON a.id = o.asset_id WHERE o.source = 'detector' AND o.person_id IS NOT NULL "
        f"AND a.moment_id IN ({marks})",
        moments,
    ):
        in_photo[int(r["asset_id"])].add(int(r["person_id"]))
        body = from_blob(r["body_embedding"])
        if body is not None:
            clothes[int(r["moment_id"])][int(r["person_id"])].append(body)
    updates: list[tuple[int | None, float, int]] = []
    for r in bodies:
        if r["confirmed"] is not None:
            updates.append((int(r["confirmed"]), 1.0, int(r["id"])))
            continue
        person, confidence = _nearest_person(r, clothes.get(r["moment_id"], {}), in_photo, rejected)
        updates.append((person, confidence, int(r["id"])))
    with library.transaction() as tx:
        tx.executemany("UPDATE observations SET person_id = ?, assign_score = ? WHERE id = ?", updates)
    return sum(1 for person, _, _ in updates if person is not None)


def _nearest_person(
    row: object, people: dict[int, list[np.ndarray]], in_photo: dict[int, set[int]], rejected: set[tuple[int, int]]
) -> tuple[int | None, float]:
    body = from_blob(row["body_embedding"])  # type: ignore[index]
    face_id, asset = int(row["id"]), int(row["asset_id"])  # type: ignore[index]
    if body is None:
        return None, 0.0
    x = unit_rows(body.astype(np.float64)).astype(np.float64)
    distances = []
    for person, members in people.items():
        if person in in_photo.get(asset, set()) or (face_id, person) in rejected:
            continue
        nearest = np.linalg.norm(unit_rows(np.stack(members).astype(np.float64)) - x, axis=1).min()
        distances.append((float(nearest), person))
    if not distances:
        return None, 0.0
    distances.sort()
    best, person = distances[0]
    runner_up = distances[1][0] if len(distances) > 1 else np.inf
    if best >= PASS1.body_threshold or runner_up - best < settings.FACELESS_MARGIN:
        return None, 0.0
    return person, 1.0 - best / PASS1.body_threshold
