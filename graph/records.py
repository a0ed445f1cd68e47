"""The graph's input: plain frozen records, filled by the app from its store.

`graph/` never reads the database itself; the app turns rows into these records. A
`LibrarySnapshot` is the whole library (for `build_graph`); a `LibraryDelta` is what changed since
(for `update_graph`): every record in it is an upsert by id, and the `removed_*` ids are deleted.

What a delta must hold: new photos with their faces and moments; every asset whose moment,
GPS, time or hidden flag changed; every moment whose dates or centroid changed; every face whose
person changed (person_id None to unassign); people renamed or (un)hidden. A new photo's moment
must be in the graph already or in the same delta. Removing a person removes their faces; to
keep the faces, upsert them with another person first.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AssetRecord:
    id: int
    path: str
    taken_ts: float | None = None  # UTC epoch seconds
    taken_at: str | None = None  # ISO 8601 with the camera's offset when known (local wall clock)
    latitude: float | None = None
    longitude: float | None = None
    moment_id: int | None = None
    hidden: bool = False


@dataclass(frozen=True)
class MomentRecord:
    id: int
    start_ts: float
    end_ts: float
    latitude: float | None = None  # centroid of the moment's geotagged photos
    longitude: float | None = None
    start_at: str | None = None  # ISO 8601 local time of the first photo (dates and titles use it)
    end_at: str | None = None


@dataclass(frozen=True)
class ObservationRecord:
    """A face seen in an asset; `person_id` None = not (or no longer) assigned to anyone."""

    id: int
    asset_id: int
    person_id: int | None = None
    confidence: float | None = None  # assignment score, higher = surer
    is_clear: bool = True


@dataclass(frozen=True)
class PersonRecord:
    id: int
    name: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class LibrarySnapshot:
    assets: tuple[AssetRecord, ...] = ()
    moments: tuple[MomentRecord, ...] = ()
    observations: tuple[ObservationRecord, ...] = ()
    people: tuple[PersonRecord, ...] = ()
    home: tuple[float, float] | None = None  # (lat, lon): the user's home, overriding inference


@dataclass(frozen=True)
class LibraryDelta(LibrarySnapshot):
    removed_asset_ids: tuple[int, ...] = field(default=())
    removed_moment_ids: tuple[int, ...] = field(default=())
    removed_person_ids: tuple[int, ...] = field(default=())
