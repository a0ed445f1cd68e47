"""`memories index`: walk folders, read photos, run recognition, store assets and observations.

Incremental: a path whose size and mtime match what the library recorded is skipped without
reading it; a file whose content hash is known (moved, renamed, copied) only gains a path.
Resumable: results are committed in batches inside one transaction each, so a run killed at any
point leaves whole photos or none, and the next run picks up whatever is not yet stored.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from memories import moments, settings
from memories.photos import Photo, PhotoError, display_path, read_photo
from memories.progress import Progress
from memories.store import Library, to_blob
from memories.workers import die_with_parent


@dataclass
class IndexSummary:
    new: int = 0
    edited: int = 0  # a known file with new content: the earlier version replaced
    moved: int = 0
    unchanged: int = 0
    recognised: int = 0
    faces: int = 0
    assigned: int = 0  # new faces put under a known person right away
    skipped: Counter[str] = field(default_factory=Counter)
    missing_roots: list[str] = field(default_factory=list)

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        text = (
            f"indexed {self.new} new, {self.edited} edited, {self.moved} moved, {self.unchanged} unchanged, "
            f"{skipped} skipped; {self.faces} faces found, {self.assigned} assigned to known people"
        )
        if skipped:
            text += " (" + ", ".join(f"{reason}: {n}" for reason, n in sorted(self.skipped.items())) + ")"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "edited": self.edited,
            "moved": self.moved,
            "unchanged": self.unchanged,
            "recognised": self.recognised,
            "faces": self.faces,
            "assigned": self.assigned,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "missing_roots": self.missing_roots,
        }


Reporter = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- walking --------------------------------------------------------------------------------
def walk_photos(roots: Sequence[Path], report: Reporter, skip: Path | None = None) -> Iterator[Path]:
    """Photo files under the roots, following symlinks but never the same folder twice."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        yield from _walk(root, seen_dirs, report, skip)


def _walk(folder: Path, seen: set[tuple[int, int]], report: Reporter, skip: Path | None) -> Iterator[Path]:
    try:
        info = os.stat(folder)
    except OSError as error:
        report(f"memories: skipped {display_path(folder)}: unreadable folder ({error.strerror})")
        return
    key = (info.st_dev, info.st_ino)
    if key in seen:
        report(f"memories: skipped {display_path(folder)}: symlink loop (folder already visited)")
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        report(f"memories: skipped {display_path(folder)}: unreadable folder ({error.strerror})")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if skip is not None and path == skip:
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            yield from _walk(path, seen, report, skip)
        elif path.suffix.lower() in settings.IMAGE_SUFFIXES:
            yield path


# --- the worker side ------------------------------------------------------------------------
@dataclass
class FileResult:
    path: Path
    photo: Photo | None = None
    error: str | None = None
    observations: list[Any] = field(default_factory=list)
    recognised: bool = False  # recognition ran to the end (possibly finding no face)


_recogniser: Any = None


def _init_worker(recognise: bool, options: dict[str, Any], parent_pid: int | None = None) -> None:
    global _recogniser
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if recognise:
        from memories.recognise import Recogniser

        _recogniser = Recogniser(**options)


def _process(path: Path) -> FileResult:
    try:
        photo = read_photo(path, decode=_recogniser is not None)
    except PhotoError as error:
        return FileResult(path, error=str(error))
    result = FileResult(path, photo=photo)
    if _recogniser is not None and photo.rgb is not None:
        try:
            result.observations = _recogniser.observe(photo.rgb, photo.meta.regions, photo.pixel_scale)
            result.recognised = True
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the run
            result.error = f"recognition failed ({type(error).__name__}: {error})"
    photo.rgb = None  # do not ship pixels back to the parent
    return result


# --- the parent side ------------------------------------------------------------------------
def index(
    library: Library,
    roots: Sequence[Path],
    *,
    recognise: bool = True,
    workers: int | None = None,
    recogniser_options: dict[str, Any] | None = None,
    report: Reporter = _stderr,
    progress: bool | None = None,
) -> IndexSummary:
    summary = IndexSummary()
    existing_roots = []
    for root in roots:
        if not Path(root).is_dir():
            report(f"memories: error: {display_path(root)}: no such folder")
            summary.missing_roots.append(display_path(root))
        else:
            existing_roots.append(Path(root).absolute())
    todo = _plan(library, walk_photos(existing_roots, report, skip=library.root), recognise, summary)
    if todo:
        _run(library, todo, recognise, workers, recogniser_options or {}, summary, report, progress)
    if summary.new or summary.edited or summary.moved or summary.recognised or photos_without_moment(library):
        moments.rebuild_moments(library)
    return summary


def photos_without_moment(library: Library) -> bool:
    """Dated photos not in a moment: stored by a run killed before it rebuilt the moments."""
    return (
        library.db.execute("SELECT 1 FROM assets WHERE taken_ts IS NOT NULL AND moment_id IS NULL LIMIT 1").fetchone()
        is not None
    )


def _plan(library: Library, paths: Iterator[Path], recognise: bool, summary: IndexSummary) -> list[Path]:
    """Paths that need reading: new, changed, or stored without recognition when it is wanted."""
    known = {
        row["path"]: (row["file_size"], row["file_mtime"], row["recognised"])
        for row in library.db.execute(
            "SELECT p.path, p.file_size, p.file_mtime, a.recognised FROM asset_paths p "
            "JOIN assets a ON a.id = p.asset_id"
        )
    }
    todo = []
    for path in paths:
        try:
            info = os.stat(path)
            key = os.fsencode(path).decode("utf-8", "surrogateescape")
        except OSError:
            todo.append(path)  # let the worker report why
            continue
        record = known.get(key)
        if (
            record is not None
            and stat.S_ISREG(info.st_mode)
            and record[0] == info.st_size
            and record[1] == info.st_mtime
            and (record[2] or not recognise)
        ):
            summary.unchanged += 1
        else:
            todo.append(path)
    return todo


def _run(
    library: Library,
    todo: list[Path],
    recognise: bool,
    workers: int | None,
    options: dict[str, Any],
    summary: IndexSummary,
    report: Reporter,
    progress_enabled: bool | None,
) -> None:
    workers = workers or os.cpu_count() or 1
    bar = Progress(len(todo), "indexing", enabled=progress_enabled)
    batch: list[FileResult] = []

    def flush() -> None:
        if batch:
            _store(library, batch, summary, report)
            bar.advance(len(batch))
            batch.clear()

    if workers <= 1 or len(todo) <= 2:
        _init_worker(recognise, options)
        results: Iterator[FileResult] = map(_process, todo)
        for result in results:
            batch.append(result)
            if len(batch) >= settings.COMMIT_BATCH:
                flush()
        flush()
    else:
        # spawn: workers start clean (no inherited SQLite handle or thread state) and load the
        # models once each in the initializer.
        with ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(recognise, options, os.getpid()),
        ) as pool:
            for result in pool.map(_process, todo, chunksize=1):
                batch.append(result)
                if len(batch) >= max(1, min(settings.COMMIT_BATCH, len(todo) // (workers * 4) or 1)):
                    flush()
            flush()
    bar.close()


def _store(library: Library, results: list[FileResult], summary: IndexSummary, report: Reporter) -> None:
    with library.transaction() as db:
        for result in results:
            if result.photo is None:
                reason = result.error or "unknown error"
                report(f"memories: skipped {display_path(result.path)}: {reason}")
                summary.skipped[reason.split(" (")[0].split(";")[0]] += 1
                continue
            photo = result.photo
            if photo.warning:
                report(f"memories: warning: {display_path(result.path)}: {photo.warning}")
            if result.error:  # read fine, recognition failed: keep the asset, retry next run
                report(f"memories: warning: {display_path(result.path)}: {result.error}")
            asset_id, is_new, was_recognised, edited = _upsert_asset(db, photo, recognised=result.recognised)
            if edited:
                summary.edited += 1
            elif is_new:
                summary.new += 1
            elif result.recognised and not was_recognised:
                summary.recognised += 1
            else:
                summary.moved += 1
            if result.recognised and not was_recognised:
                summary.faces += _store_observations(db, asset_id, result.observations, superseded=edited)
            elif (is_new or edited) and photo.meta.regions:
                _store_regions(db, asset_id, photo)


def _upsert_asset(db: Any, photo: Photo, recognised: bool) -> tuple[int, bool, bool, bool]:
    """(asset id, whether it is new, whether it was already recognised, whether it replaces the
    earlier version of an edited photo).

    A photo is its content hash; a file at a known path with new content is that photo edited
    (or replaced) when the earlier content was seen at no other path: it keeps its asset id, so
    the faces that still match keep what the user said about them (_store_observations)."""
    meta = photo.meta
    path = str(photo.path)
    row = db.execute(
        "SELECT id, recognised FROM assets WHERE content_hash = ?", (photo.content_hash,)
    ).fetchone()
    if row is None:
        earlier = db.execute(
            "SELECT p.asset_id FROM asset_paths p WHERE p.path = ? "
            "AND (SELECT COUNT(*) FROM asset_paths q WHERE q.asset_id = p.asset_id) = 1",
            (path,),
        ).fetchone()
        if earlier is not None:
            db.execute(
                "UPDATE assets SET content_hash = ?, recognised = 0 WHERE id = ?",
                (photo.content_hash, int(earlier["asset_id"])),
            )
            row = db.execute("SELECT id, recognised FROM assets WHERE id = ?", (int(earlier["asset_id"]),)).fetchone()
            edited = True
        else:
            edited = False
    else:
        edited = False
    taken = meta.taken
    if taken is None:
        taken, time_source = datetime.fromtimestamp(photo.file_mtime, UTC), "file"
    else:
        time_source = meta.time_source or "exif"
    values = (
        path,
        photo.file_size,
        photo.format,
        photo.width,
        photo.height,
        meta.orientation,
        taken.isoformat(),
        taken.timestamp(),
        time_source,
        meta.latitude,
        meta.longitude,
        meta.camera,
    )
    if row is None:
        cursor = db.execute(
            "INSERT INTO assets (path, file_size, format, width, height, orientation, taken_at, taken_ts, "
            "time_source, latitude, longitude, camera, content_hash, recognised) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (*values, photo.content_hash, int(recognised)),
        )
        asset_id, is_new, was_recognised = int(cursor.lastrowid), True, False
    else:
        asset_id, is_new, was_recognised = int(row["id"]), False, bool(row["recognised"])
        if edited:
            # The earlier version's faces: those the new one still shows are matched by box when it
            # is recognised; until then only what the user touched is kept.
            _drop_untouched_faces(db, asset_id)
        db.execute(
            "UPDATE assets SET path=?, file_size=?, format=?, width=?, height=?, orientation=?, taken_at=?, "
            "taken_ts=?, time_source=?, latitude=?, longitude=?, camera=?, recognised=MAX(recognised, ?) "
            "WHERE id=?",
            (*values, int(recognised), asset_id),
        )
    db.execute(
        "INSERT INTO asset_paths (path, asset_id, file_size, file_mtime) VALUES (?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET asset_id=excluded.asset_id, file_size=excluded.file_size, "
        "file_mtime=excluded.file_mtime",
        (path, asset_id, photo.file_size, photo.file_mtime),
    )
    return asset_id, is_new, was_recognised, edited


def _drop_untouched_faces(db: Any, asset_id: int) -> None:
    db.execute(
        "DELETE FROM observations WHERE asset_id = ? "
        "AND id NOT IN (SELECT observation_id FROM feedback_confirmations) "
        "AND id NOT IN (SELECT observation_id FROM feedback_rejections)",
        (asset_id,),
    )


def _store_regions(db: Any, asset_id: int, photo: Photo) -> None:
    """XMP face regions with names, kept until recognition pairs them with detected faces."""
    for region in photo.meta.regions:
        db.execute(
            "INSERT INTO observations (asset_id, source, face_x, face_y, face_w, face_h, xmp_name, is_clear) "
            "VALUES (?, 'xmp', ?, ?, ?, ?, ?, 0)",
            (
                asset_id,
                region.x * photo.width,
                region.y * photo.height,
                region.w * photo.width,
                region.h * photo.height,
                region.name,
            ),
        )


def _store_observations(db: Any, asset_id: int, observations: list[Any], superseded: bool = False) -> int:
    """Store an asset's observations. Earlier ones of the same face (box IoU >= 0.5) are updated in
    place, so their ids and everything the user said about them stay; earlier faces no longer
    detected are dropped unless the user named, confirmed or rejected them, or, when the photo
    was edited (superseded), dropped all the same: that face is no longer in the photo."""
    from memories.recognise import iou

    old = db.execute(
        "SELECT o.id, o.source, o.face_x, o.face_y, o.face_w, o.face_h, o.body_x, o.body_y, o.body_w, o.body_h, "
        "EXISTS(SELECT 1 FROM feedback_confirmations c WHERE c.observation_id = o.id) "
        "OR EXISTS(SELECT 1 FROM feedback_rejections r WHERE r.observation_id = o.id) AS touched "
        "FROM observations o WHERE o.asset_id = ?",
        (asset_id,),
    ).fetchall()
    unmatched = {int(r["id"]): r for r in old}
    for obs in observations:
        # A face is the same face when its box overlaps; a faceless person when its body box does.
        part = "face" if obs.face_box is not None else "body"
        box = obs.face_box if obs.face_box is not None else obs.body_box
        best, best_iou = None, 0.5
        for face_id, row in unmatched.items():
            if row[f"{part}_w"] is None or (part == "body") != (row["source"] == "body"):
                continue
            overlap = iou(box, tuple(row[f"{part}_{k}"] for k in "xywh"))
            if overlap >= best_iou:
                best, best_iou = face_id, overlap
        values = (
            obs.source,
            *(obs.face_box if obs.face_box is not None else (None, None, None, None)),
            to_blob(obs.landmarks),
            obs.detector_score,
            *(obs.body_box if obs.body_box is not None else (None, None, None, None)),
            to_blob(obs.face_embedding),
            to_blob(obs.body_embedding),
            obs.quality,
            int(obs.is_clear),
            obs.xmp_name,
        )
        columns = (
            "source, face_x, face_y, face_w, face_h, landmarks, detector_score, body_x, body_y, body_w, body_h, "
            "face_embedding, body_embedding, quality, is_clear, xmp_name"
        )
        if best is None:
            db.execute(
                f"INSERT INTO observations (asset_id, {columns}) VALUES (?{',?' * len(values)})",
                (asset_id, *values),
            )
        else:
            del unmatched[best]
            assignments = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
            db.execute(
                f"UPDATE observations SET {assignments}, xmp_name = COALESCE(?, xmp_name) WHERE id = ?",
                (*values, obs.xmp_name, best),
            )
    for face_id, row in unmatched.items():
        if not row["touched"] or superseded:
            db.execute("DELETE FROM observations WHERE id = ?", (face_id,))
    return sum(1 for obs in observations if obs.source == "detector")  # faces found (not XMP, not bodies)
