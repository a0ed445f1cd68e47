"""Read-only queries behind the pages, each answered from an index at any library size.

Photo search is not here: the page and `memories search` both call `graph.find` (one search).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import networkx as nx

import graph as kg
from graph.names import label
from memories.store import Library, one_row
from memories.web import settings

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Tile:
    """One photo in a grid: enough to lay out its cell (aspect ratio), head its month and badge it
    (a video's duration, a Live Photo's LIVE)."""

    id: int
    taken_at: str | None
    width: int
    height: int
    kind: str = "photo"  # photo | video | live (assets.media_kind)
    duration_s: float | None = None

    @property
    def ratio(self) -> float:
        return round(max(0.4, min(self.width / max(self.height, 1), 3.0)), 3)

    @property
    def month(self) -> str:
        return month_label(self.taken_at)


@dataclass(frozen=True)
class Month:
    key: str  # "2019-11", or "" for photos without a date
    label: str
    year: str
    photos: int


@dataclass(frozen=True)
class LibraryPage:
    tiles: list[Tile]
    next_cursor: str | None


def month_label(taken_at: str | None) -> str:
    if not taken_at or len(taken_at) < 7:
        return "Date unknown"
    return f"{MONTHS[int(taken_at[5:7]) - 1]} {taken_at[:4]}"


def human_date(taken_at: str | None) -> str:
    """ "Wednesday 27 November 2019, 20:08" from the ISO text (the photographer's own clock)."""
    if not taken_at:
        return "Date unknown"
    try:
        moment = datetime.fromisoformat(taken_at)
    except ValueError:
        return taken_at
    return f"{moment:%A} {moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def clock(seconds: float | None) -> str:
    """A moment in a video as a clock, rounded down: 3.9 -> "0:03", 3725 -> "1:02:05"."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration_clock(seconds: float | None) -> str:
    """A video's length as a clock, rounded to the nearest second and never "0:00" (9.18 -> "0:09")."""
    return clock(max(1.0, round(seconds or 0.0)))


def seek_param(seconds: float | None) -> str:
    """A time for `?t=` in tenths of a second, rounded down (so the moment is on screen): "3.2"."""
    return f"{math.floor(max(0.0, seconds or 0.0) * 10 + 1e-6) / 10:g}"  # 2.3 * 10 is 22.999...


def _tile(row: sqlite3.Row) -> Tile:
    return Tile(
        int(row["id"]),
        row["taken_at"],
        int(row["width"] or 4),
        int(row["height"] or 3),
        row["media_kind"] or "photo",
        row["duration_s"],
    )


TILE_COLUMNS = "id, taken_at, taken_ts, width, height, media_kind, duration_s"


def library_page(
    library: Library, cursor: str | None, limit: int = settings.LIBRARY_PAGE_SIZE
) -> LibraryPage:
    """The next `limit` visible photos, newest first, after `cursor` ("<taken_ts>:<id>", or
    "n:<id>" among photos without a date, which come last). Walks the taken-time index: a page
    costs the same at 100 photos or 100,000."""
    rows: list[sqlite3.Row] = []
    dated = True
    if cursor and cursor.startswith("n:"):
        dated, last_id = False, int(cursor[2:])
    elif cursor:
        stamp, _, last = cursor.partition(":")
        last_ts, last_id = float(stamp), int(last)
    if dated:
        where = "taken_ts < ? OR (taken_ts = ? AND id < ?)" if cursor else "taken_ts IS NOT NULL"
        args = (last_ts, last_ts, last_id) if cursor else ()
        rows = library.db.execute(
            f"SELECT {TILE_COLUMNS} FROM assets WHERE hidden = 0 AND ({where}) "
            "ORDER BY taken_ts DESC, id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
    if len(rows) < limit:
        undated_after = last_id if not dated else 1 << 62
        rows += library.db.execute(
            f"SELECT {TILE_COLUMNS} FROM assets "
            "WHERE hidden = 0 AND taken_ts IS NULL AND id < ? ORDER BY id DESC LIMIT ?",
            (undated_after, limit - len(rows)),
        ).fetchall()
    tiles = [_tile(r) for r in rows]
    next_cursor = None
    if len(rows) == limit:
        last_row = rows[-1]
        ts = last_row["taken_ts"]
        next_cursor = f"n:{last_row['id']}" if ts is None else f"{ts!r}:{last_row['id']}"
    return LibraryPage(tiles, next_cursor)


def month_cursor(library: Library, month: str) -> str | None:
    """The cursor that starts the library at the newest photo of `month` ("2019-11")."""
    if len(month) != 7 or not month[:4].isdigit() or month[4] != "-" or not month[5:].isdigit():
        raise ValueError(f"not a month: {month!r} (YYYY-MM)")
    row = library.db.execute(
        "SELECT taken_ts, id FROM assets WHERE hidden = 0 AND taken_at >= ? AND taken_at < ? "
        "ORDER BY taken_ts DESC, id DESC LIMIT 1",
        (month, month + "~"),
    ).fetchone()
    return f"{row['taken_ts']!r}:{int(row['id']) + 1}" if row else None


def months(library: Library) -> list[Month]:
    """Every month with photos and how many, newest first: the date scrubber."""
    rows = library.db.execute(
        "SELECT substr(taken_at, 1, 7) AS month, COUNT(*) AS n FROM assets WHERE hidden = 0 "
        "GROUP BY month ORDER BY month DESC"
    ).fetchall()
    return [
        Month(r["month"] or "", month_label(r["month"]), (r["month"] or "")[:4], int(r["n"])) for r in rows
    ]


def neighbours(library: Library, asset_id: int) -> tuple[int | None, int | None]:
    """(the photo taken just before, the photo taken just after) among visible photos."""
    row = library.db.execute("SELECT taken_ts FROM assets WHERE id = ?", (asset_id,)).fetchone()
    if row is None or row["taken_ts"] is None:
        return None, None
    ts = row["taken_ts"]
    before = library.db.execute(
        "SELECT id FROM assets WHERE hidden = 0 AND (taken_ts < ? OR (taken_ts = ? AND id < ?)) "
        "ORDER BY taken_ts DESC, id DESC LIMIT 1",
        (ts, ts, asset_id),
    ).fetchone()
    after = library.db.execute(
        "SELECT id FROM assets WHERE hidden = 0 AND (taken_ts > ? OR (taken_ts = ? AND id > ?)) "
        "ORDER BY taken_ts, id LIMIT 1",
        (ts, ts, asset_id),
    ).fetchone()
    return (int(before[0]) if before else None, int(after[0]) if after else None)


def place_of(graph: nx.Graph, asset_id: int) -> str | None:
    """The place name the knowledge graph gives a photo (its own GPS, or its moment's)."""
    attrs = graph._node.get(kg.node_id("asset", asset_id))
    if not attrs or attrs.get("place") is None:
        return None
    return str(graph._node[attrs["place"]]["label"])


@dataclass(frozen=True)
class PlaceCard:
    label: str
    photos: int
    cover: int | None
    is_home: bool


def places(graph: nx.Graph) -> list[PlaceCard]:
    """Every place with photos, most visited first, each with its newest photo as cover."""
    cards = []
    for row in kg.frequent_places(graph, limit=None):
        assets = kg.neighbours_of_kind(graph, row["node"], "asset")
        visible = [a for a in assets if not graph._node[a]["hidden"]]
        newest = max(
            visible,
            key=lambda a: (graph._node[a]["taken_ts"] or float("-inf"), graph._node[a]["id"]),
            default=None,
        )
        cards.append(
            PlaceCard(
                label=row["label"],
                photos=len(visible),
                cover=graph._node[newest]["id"] if newest else None,
                is_home=bool(row["is_home"]),
            )
        )
    return [c for c in cards if c.photos]


@dataclass(frozen=True)
class PersonPhoto:
    """One of a person's faces on their page, with its photo (or video: `seen_s`, when the face is
    on screen)."""

    id: int  # the face
    asset_id: int
    taken_at: str | None
    assign_score: float | None
    confirmed: bool
    faceless: bool  # seen without a face, known by their clothes
    media_kind: str
    duration_s: float | None
    seen_s: float | None


def person_photos(library: Library, person_id: int, page: int) -> tuple[list[PersonPhoto], int]:
    """One page of a person's faces with their photo, newest first, and how many there are.

    The page's faces are found from the (person, photo) index and the narrow assets table alone;
    only the page's own rows are then read whole (observation rows carry embeddings)."""
    total = library.db.execute(
        "SELECT COUNT(*) FROM observations o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.person_id = ? AND a.hidden = 0",
        (person_id,),
    ).fetchone()[0]
    chosen = library.db.execute(
        """
        SELECT o.rowid FROM observations o INDEXED BY observations_person_asset
        JOIN assets a ON a.id = o.asset_id
        WHERE o.person_id = ? AND a.hidden = 0
        ORDER BY a.taken_ts DESC, o.rowid DESC LIMIT ? OFFSET ?
        """,
        (person_id, settings.PERSON_PAGE_SIZE, page * settings.PERSON_PAGE_SIZE),
    ).fetchall()
    ids = [int(r[0]) for r in chosen]
    if not ids:
        return [], int(total)
    marks = ",".join("?" * len(ids))
    rows = library.db.execute(
        f"""
        SELECT o.id, o.asset_id, a.taken_at, o.assign_score,
               c.observation_id IS NOT NULL AS confirmed, o.source = 'body' AS faceless,
               a.media_kind, a.duration_s, COALESCE(o.first_s, o.time_s) AS seen_s
        FROM observations o JOIN assets a ON a.id = o.asset_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id AND c.person_id = o.person_id
        WHERE o.id IN ({marks})
        """,
        ids,
    ).fetchall()
    by_id = {
        int(r["id"]): PersonPhoto(
            id=int(r["id"]),
            asset_id=int(r["asset_id"]),
            taken_at=r["taken_at"],
            assign_score=r["assign_score"],
            confirmed=bool(r["confirmed"]),
            faceless=bool(r["faceless"]),
            media_kind=r["media_kind"] or "photo",
            duration_s=r["duration_s"],
            seen_s=r["seen_s"],
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id], int(total)


@dataclass(frozen=True)
class Media:
    """What kind of picture an asset is, for its viewer: a photo, a video (its length, sound) or a
    Live Photo (a still with a motion file)."""

    kind: str  # photo | video | live
    duration_s: float | None = None
    has_audio: bool = False
    codec: str | None = None

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    @property
    def is_live(self) -> bool:
        return self.kind == "live"


def media(library: Library, asset_id: int) -> Media:
    """The kind of an asset; a Live Photo whose motion file is no longer stored is a photo."""
    row = one_row(
        library.db,
        "SELECT a.media_kind, a.duration_s, a.has_audio, a.codec, m.asset_id IS NOT NULL AS motion "
        "FROM assets a LEFT JOIN asset_motion m ON m.asset_id = a.id WHERE a.id = ?",
        (asset_id,),
        f"no photo with id {asset_id}",
    )
    kind = row["media_kind"] or "photo"
    if kind == "live" and not row["motion"]:
        kind = "photo"
    return Media(kind, row["duration_s"], bool(row["has_audio"]), row["codec"])


def media_kinds(library: Library, asset_ids: list[int]) -> dict[int, Media]:
    """The kind of each of these assets (the badges of a grid of search results)."""
    found: dict[int, Media] = {}
    for start in range(0, len(asset_ids), 500):  # SQLite's host-parameter limit
        chunk = asset_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = library.db.execute(
            f"SELECT id, media_kind, duration_s FROM assets WHERE id IN ({marks})", chunk
        ).fetchall()
        found.update({int(r["id"]): Media(r["media_kind"] or "photo", r["duration_s"]) for r in rows})
    return found


@dataclass(frozen=True)
class Sighting:
    """When a face track of a video is on screen, and its best frame (the face's thumbnail)."""

    first_s: float
    last_s: float
    best_s: float


def sightings(library: Library, asset_id: int) -> dict[int, Sighting]:
    """Face id -> when that face is seen in the video `asset_id` (nothing for a photo)."""
    rows = library.db.execute(
        "SELECT id, time_s, first_s, last_s FROM observations WHERE asset_id = ? AND time_s IS NOT NULL",
        (asset_id,),
    ).fetchall()
    found = {}
    for r in rows:
        best = float(r["time_s"])
        first = float(r["first_s"]) if r["first_s"] is not None else best
        last = float(r["last_s"]) if r["last_s"] is not None else best
        found[int(r["id"])] = Sighting(first, last, best)
    return found


def key_faces(library: Library, person_ids: list[int]) -> dict[int, int]:
    """The face shown for each person: their key face, else their best-scoring clear face."""
    if not person_ids:
        return {}
    found: dict[int, int] = {}
    for start in range(0, len(person_ids), 500):  # SQLite's host-parameter limit
        chunk = person_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
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
            chunk,
        ).fetchall()
        found.update({int(r["person_id"]): int(r["face_id"]) for r in rows if r["face_id"] is not None})
    return found


@dataclass(frozen=True)
class ReviewFace:
    id: int
    asset_id: int
    person_id: int
    score: float
    label: str


def faces_to_review(library: Library, limit: int = settings.REVIEW_MAX_FACES) -> list[ReviewFace]:
    """Faces assigned with a low score and not yet confirmed: "Is this Ana?" with yes / no.
    Only unsure ones: a sure face (score at or over REVIEW_SCORE_BELOW) is never asked about."""
    rows = library.db.execute(
        """
        SELECT o.id, o.asset_id, o.person_id, o.assign_score, p.name
        FROM observations o JOIN people p ON p.id = o.person_id
        JOIN assets a ON a.id = o.asset_id
        LEFT JOIN feedback_confirmations c ON c.observation_id = o.id
        WHERE o.assign_score IS NOT NULL AND o.assign_score < ? AND c.observation_id IS NULL
              AND o.face_w IS NOT NULL
              AND p.hidden = 0 AND p.merged_into IS NULL AND a.hidden = 0
        ORDER BY o.assign_score, o.id
        LIMIT ?
        """,
        (settings.REVIEW_SCORE_BELOW, limit),
    ).fetchall()
    return [
        ReviewFace(
            int(r["id"]),
            int(r["asset_id"]),
            int(r["person_id"]),
            float(r["assign_score"]),
            label(int(r["person_id"]), r["name"]),
        )  # fmt: skip
        for r in rows
    ]


def unassigned_faces(library: Library, limit: int = 24) -> list[tuple[int, int]]:
    """(face id, photo id) of clear faces that belong to nobody yet: "not yet recognised"."""
    rows = library.db.execute(
        """
        SELECT o.id, o.asset_id FROM observations o JOIN assets a ON a.id = o.asset_id
        WHERE o.person_id IS NULL AND o.is_clear = 1 AND o.face_w IS NOT NULL AND a.hidden = 0
              AND o.source = 'detector'
        ORDER BY o.id DESC LIMIT ?
        """,
        (limit,),
    ).fetchall()
    return [(int(r["id"]), int(r["asset_id"])) for r in rows]
