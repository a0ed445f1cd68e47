"""Read-only queries the page needs that the service layer does not offer (yet).

`search_photos` belongs in `memories.service` once the lead adds it there; the page prefers that one
when it exists (see `routes.search_photos`).
"""

from __future__ import annotations

from typing import Any

from memories.settings import FACELESS_MIN_CONFIDENCE
from memories.store import Library
from memories.web import settings


def search_photos(library: Library, person_ids: list[int], mode: str = "all") -> list[dict[str, Any]]:
    """Photos showing all (or any) of the people, newest first, with who of them is in each."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    if mode not in ("all", "any"):
        raise ValueError(f"mode must be 'all' or 'any', not {mode!r}")
    marks = ",".join("?" * len(ids))
    needed = len(ids) if mode == "all" else 1
    rows = library.db.execute(
        f"""
        SELECT a.id, a.path, a.taken_at, a.width, a.height,
               GROUP_CONCAT(DISTINCT o.person_id) AS found
        FROM observations o JOIN assets a ON a.id = o.asset_id
        WHERE o.person_id IN ({marks}) AND a.hidden = 0
              AND (o.source != 'body' OR o.assign_score >= ?)
        GROUP BY a.id
        HAVING COUNT(DISTINCT o.person_id) >= ?
        ORDER BY a.taken_ts DESC, a.id
        """,
        (*ids, FACELESS_MIN_CONFIDENCE, needed),
    ).fetchall()
    return [
        {
            "id": int(r["id"]),
            "path": r["path"],
            "taken_at": r["taken_at"],
            "person_ids": sorted(int(p) for p in str(r["found"]).split(",")),
        }
        for r in rows
    ]


def key_faces(library: Library, person_ids: list[int]) -> dict[int, int]:
    """The face shown for each person: their key face, else their best-scoring clear face."""
    if not person_ids:
        return {}
    marks = ",".join("?" * len(person_ids))
    rows = library.db.execute(
        f"""
        SELECT p.id AS person_id,
               COALESCE(
                 (SELECT k.id FROM observations k WHERE k.id = p.key_observation_id AND k.person_id = p.id),
                 (SELECT o.id FROM observations o WHERE o.person_id = p.id AND o.face_w IS NOT NULL
                  ORDER BY o.is_clear DESC, COALESCE(o.assign_score, 0) DESC,
                           COALESCE(o.quality, 0) DESC, o.id
                  LIMIT 1)
               ) AS face_id
        FROM people p WHERE p.id IN ({marks})
        """,
        person_ids,
    ).fetchall()
    return {int(r["person_id"]): int(r["face_id"]) for r in rows if r["face_id"] is not None}


def faces_to_review(library: Library, limit: int = settings.REVIEW_MAX_FACES) -> list[dict[str, Any]]:
    """Faces assigned with a low score and not yet confirmed: "Is this Ana?" with yes / no."""
    rows = library.db.execute(
        """
        SELECT o.id, o.asset_id, o.person_id, o.assign_score, p.name
        FROM observations o JOIN people p ON p.id = o.person_id
        JOIN assets a ON a.id = o.asset_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id
        WHERE o.assign_score IS NOT NULL AND o.assign_score < ? AND c.observation_id IS NULL
              AND p.hidden = 0 AND p.merged_into IS NULL AND a.hidden = 0
        ORDER BY o.assign_score, o.id
        LIMIT ?
        """,
        (settings.REVIEW_SCORE_BELOW, limit),
    ).fetchall()
    return [
        {
            "id": int(r["id"]),
            "asset_id": int(r["asset_id"]),
            "person_id": int(r["person_id"]),
            "score": float(r["assign_score"]),
            "label": r["name"] or f"Person {r['person_id']}",
        }
        for r in rows
    ]


def unassigned_faces(library: Library, limit: int = 24) -> list[dict[str, Any]]:
    """Clear faces that belong to nobody yet, for the album's "not yet recognised" strip."""
    rows = library.db.execute(
        """
        SELECT o.id, o.asset_id FROM observations o JOIN assets a ON a.id = o.asset_id
        WHERE o.person_id IS NULL AND o.is_clear = 1 AND o.face_w IS NOT NULL AND a.hidden = 0
        ORDER BY o.id LIMIT ?
        """,
        (limit,),
    ).fetchall()
    return [{"id": int(r["id"]), "asset_id": int(r["asset_id"])} for r in rows]
