"""Moments: photos taken close together in time and place.

The rule (`split_moments`): walk the photos in capture order and start a new moment when
  * the gap since the previous photo is over MOMENT_MAX_GAP_S (3 h), or
  * both photos are geotagged and lie over MOMENT_MAX_JUMP_KM (25 km) apart, or
  * the moment already spans MOMENT_MAX_SPAN_S (24 h).
A 3 h gap keeps a party, a wedding or a day at the beach together while separating morning and
evening outings; the jump rule splits a day trip from the morning at home; the span cap stops a
week of dense holiday shooting from becoming one moment. Photos without GPS never cause a jump.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.places import haversine_km_array
from memories import settings
from memories.store import Library


def split_moments(
    timestamps: np.ndarray,
    latitudes: np.ndarray,
    longitudes: np.ndarray,
    *,
    max_gap_s: float = settings.MOMENT_MAX_GAP_S,
    max_jump_km: float = settings.MOMENT_MAX_JUMP_KM,
    max_span_s: float = settings.MOMENT_MAX_SPAN_S,
) -> np.ndarray:
    """Moment index per photo (photos given in capture order; NaN latitude = no GPS)."""
    count = len(timestamps)
    labels = np.zeros(count, dtype=np.int64)
    if not count:
        return labels
    # The jump from the last photo with GPS before each photo, computed for all photos at once; in
    # the loop it counts only when that photo is in the current moment (a new moment starts
    # without a last position).
    has_gps = ~np.isnan(latitudes)
    last_gps = np.maximum.accumulate(np.where(has_gps, np.arange(count), -1))
    previous_gps = np.concatenate(([-1], last_gps[:-1]))
    jumps = np.zeros(count)
    measured = has_gps & (previous_gps >= 0)
    before = previous_gps[measured]
    jumps[measured] = haversine_km_array(
        latitudes[before], longitudes[before], latitudes[measured], longitudes[measured]
    )
    times, jump_km, gps_before = timestamps.tolist(), jumps.tolist(), previous_gps.tolist()  # fast scalars
    current, start_ts, start_index = 0, times[0], 0
    for i in range(1, count):
        jump = jump_km[i] if gps_before[i] >= start_index else 0.0
        if times[i] - times[i - 1] > max_gap_s or jump > max_jump_km or times[i] - start_ts > max_span_s:
            current += 1
            start_ts, start_index = times[i], i
        labels[i] = current
    return labels


@dataclass
class Moment:
    id: int
    start: str
    end: str
    latitude: float | None
    longitude: float | None
    asset_ids: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "assets": len(self.asset_ids),
            "asset_ids": self.asset_ids,
        }


def rebuild_moments(library: Library) -> int:
    """Recompute every moment; an old moment id is kept for the new moment sharing most of its photos."""
    rows = library.db.execute(
        "SELECT id, taken_ts, taken_at, latitude, longitude, moment_id FROM assets "
        "WHERE taken_ts IS NOT NULL ORDER BY taken_ts, id"
    ).fetchall()
    if not rows:
        return 0
    timestamps = np.array([r["taken_ts"] for r in rows], dtype=np.float64)
    lats = np.array([r["latitude"] if r["latitude"] is not None else math.nan for r in rows])
    lons = np.array([r["longitude"] if r["longitude"] is not None else math.nan for r in rows])
    labels = split_moments(timestamps, lats, lons)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    used: set[int] = set()
    with library.transaction() as db:
        db.execute("UPDATE assets SET moment_id = NULL")
        old_ids = {int(r[0]) for r in db.execute("SELECT id FROM moments")}
        assignments: list[tuple[int | None, list[int]]] = []
        for members in groups.values():
            votes: dict[int, int] = {}
            for i in members:
                old = rows[i]["moment_id"]
                if old is not None and old not in used:
                    votes[old] = votes.get(old, 0) + 1
            keep = max(votes, key=lambda k: (votes[k], -k)) if votes else None
            if keep is not None:
                used.add(keep)
            assignments.append((keep, members))
        db.execute(f"DELETE FROM moments WHERE id NOT IN ({','.join('?' * len(used))})", tuple(used))
        for keep, members in assignments:
            ts = timestamps[members]
            geo = [(lats[i], lons[i]) for i in members if not math.isnan(lats[i])]
            lat = round(float(np.mean([g[0] for g in geo])), 6) if geo else None
            lon = round(float(np.mean([g[1] for g in geo])), 6) if geo else None
            values = (
                float(ts.min()),
                float(ts.max()),
                rows[members[0]]["taken_at"],
                rows[members[-1]]["taken_at"],
                lat,
                lon,
                len(members),
            )
            if keep is not None and keep in old_ids:
                db.execute(
                    "UPDATE moments SET start_ts=?, end_ts=?, start_at=?, end_at=?, latitude=?, longitude=?, "
                    "asset_count=? WHERE id=?",
                    (*values, keep),
                )
                moment_id = keep
            else:
                cursor = db.execute(
                    "INSERT INTO moments (start_ts, end_ts, start_at, end_at, latitude, longitude, asset_count) "
                    "VALUES (?,?,?,?,?,?,?)",
                    values,
                )
                moment_id = int(cursor.lastrowid or 0)
            db.executemany(
                "UPDATE assets SET moment_id=? WHERE id=?", [(moment_id, rows[i]["id"]) for i in members]
            )
    return len(groups)


def list_moments(library: Library) -> list[Moment]:
    members: dict[int, list[int]] = {}
    for row in library.db.execute(
        "SELECT id, moment_id FROM assets WHERE moment_id IS NOT NULL ORDER BY taken_ts"
    ):
        members.setdefault(int(row["moment_id"]), []).append(int(row["id"]))
    return [
        Moment(
            id=int(r["id"]),
            start=r["start_at"],
            end=r["end_at"],
            latitude=r["latitude"],
            longitude=r["longitude"],
            asset_ids=members.get(int(r["id"]), []),
        )
        for r in library.db.execute("SELECT * FROM moments ORDER BY start_ts, id")
    ]
