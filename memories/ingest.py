"""`memories index`: walk folders, read photos and videos, run recognition, store assets and observations.

A Live Photo (a still and its motion file, memories.live_photos) is one asset: the still is read
and recognised as a photo, the motion file is probed and stored beside it (asset_motion). A video
is one asset whose faces are tracks (memories.video_faces).

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
    videos: int = 0  # of the new: videos
    live_photos: int = 0  # of the new or known: stills paired with their motion file
    skipped: Counter[str] = field(default_factory=Counter)
    missing_roots: list[str] = field(default_factory=list)

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        kinds = ", ".join(
            f"{n} {word}" for n, word in ((self.videos, "video" if self.videos == 1 else "videos"), (self.live_photos, "Live Photo" if self.live_photos == 1 else "Live Photos")) if n
        )
        text = (
            f"indexed {self.new} new{f' ({kinds})' if kinds else ''}, {self.edited} edited, {self.moved} moved, "
            f"{self.unchanged} unchanged, {skipped} skipped; {self.faces} faces found, "
            f"{self.assigned} assigned to known people"
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
            "videos": self.videos,
            "live_photos": self.live_photos,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "missing_roots": self.missing_roots,
        }


Reporter = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- walking --------------------------------------------------------------------------------
def walk_photos(roots: Sequence[Path], report: Reporter, skip: Path | None = None) -> Iterator[Path]:
    """Photo and video files under the roots, following symlinks but never the same folder twice."""
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
        elif path.suffix.lower() in settings.IMAGE_SUFFIXES or path.suffix.lower() in settings.VIDEO_SUFFIXES:
            yield path


def is_video(path: Path) -> bool:
    return path.suffix.lower() in settings.VIDEO_SUFFIXES


# --- the worker side ------------------------------------------------------------------------
@dataclass(frozen=True)
class FileTask:
    """One asset to read: a photo or video file, or a Live Photo's still with its motion file."""

    path: Path
    motion: Path | None = None


@dataclass
class FileResult:
    path: Path
    photo: Photo | None = None
    error: str | None = None
    observations: list[Any] = field(default_factory=list)
    recognised: bool = False  # recognition ran to the end (possibly finding no face)
    highlight: tuple[float, float] | None = None  # a video's (or motion's) stretch for memories


_recogniser: Any = None


def _init_worker(recognise: bool, options: dict[str, Any], parent_pid: int | None = None) -> None:
    global _recogniser
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if recognise:
        from memories.recognise import Recogniser

        _recogniser = Recogniser(**options)


def _process(task: FileTask | Path) -> FileResult:
    task = task if isinstance(task, FileTask) else FileTask(task)
    if is_video(task.path):
        return _process_video(task.path)
    path = task.path
    try:
        photo = read_photo(path, decode=_recogniser is not None)
    except PhotoError as error:
        return FileResult(path, error=str(error))
    result = FileResult(path, photo=photo)
    if task.motion is not None:
        _attach_motion(result, task.motion)
    if _recogniser is not None and photo.rgb is not None:
        try:
            result.observations = _recogniser.observe(photo.rgb, photo.meta.regions, photo.pixel_scale)
            result.recognised = True
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the run
            result.error = f"recognition failed ({type(error).__name__}: {error})"
    photo.rgb = None  # do not ship pixels back to the parent
    return result


def _lost_file(task: FileTask, reason: str) -> FileResult:
    """A file whose work failed on a cluster worker or was lost with it: skipped, with the reason."""
    return FileResult(task.path, error=reason)


def _attach_motion(result: FileResult, motion_path: Path) -> None:
    """A Live Photo's motion file, read with its still; a bad one leaves the still a photo."""
    from memories.videos import read_motion

    assert result.photo is not None
    try:
        motion = read_motion(motion_path)
    except (PhotoError, OSError) as error:
        result.photo.warning = "; ".join(
            w for w in (result.photo.warning, f"motion file {motion_path.name} ignored: {error}") if w
        )
        return
    result.photo.motion = motion
    result.highlight = (0.0, motion.info.duration_s)
    meta = result.photo.meta
    if meta.latitude is None and motion.place is not None:  # a still stripped of GPS, a motion file with it
        meta.latitude, meta.longitude = motion.place


def _process_video(path: Path) -> FileResult:
    from memories.videos import read_video

    try:
        video = read_video(path)
    except PhotoError as error:
        return FileResult(path, error=str(error))
    result = FileResult(path, photo=video)
    if _recogniser is not None and video.video is not None:
        try:
            found = _recogniser.observe_video(path, video.video)
            result.observations, result.highlight, result.recognised = found.observations, found.highlight, True
            video.warning = found.problem
        except Exception as error:  # noqa: BLE001 - one bad video must not stop the run
            result.error = f"recognition failed ({type(error).__name__}: {error})"
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
    cluster: str | None = None,
) -> IndexSummary:
    """Index the photos and videos under `roots` into `library`. cluster: the address of a Dask
    scheduler (tcp://host:port) whose workers do the per-file work instead of local processes
    (memories.cluster_workers); this process still plans, stores and reports."""
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
        _run(library, todo, recognise, workers, recogniser_options or {}, summary, report, progress, cluster)
    if summary.new or summary.edited or summary.moved or summary.recognised or photos_without_moment(library):
        moments.rebuild_moments(library)
    return summary


def photos_without_moment(library: Library) -> bool:
    """Dated photos not in a moment: stored by a run killed before it rebuilt the moments."""
    return (
        library.db.execute("SELECT 1 FROM assets WHERE taken_ts IS NOT NULL AND moment_id IS NULL LIMIT 1").fetchone()
        is not None
    )


def _plan(library: Library, paths: Iterator[Path], recognise: bool, summary: IndexSummary) -> list[FileTask]:
    """What needs reading: new, changed, or stored without recognition when it is wanted; a Live
    Photo's still with its motion file, the motion file never on its own."""
    known = {
        row["path"]: (row["file_size"], row["file_mtime"], row["recognised"])
        for row in library.db.execute(
            "SELECT p.path, p.file_size, p.file_mtime, a.recognised FROM asset_paths p "
            "JOIN assets a ON a.id = p.asset_id"
        )
    }
    known_motion = {
        row["path"]: (row["file_size"], row["file_mtime"])
        for row in library.db.execute("SELECT path, file_size, file_mtime FROM asset_motion")
    }
    all_paths = list(paths)
    stats: dict[Path, os.stat_result | None] = {}
    for path in all_paths:
        try:
            stats[path] = os.stat(path)
        except OSError:
            stats[path] = None

    def same(record: tuple[Any, ...] | None, info: os.stat_result | None) -> bool:
        return (
            record is not None and info is not None and stat.S_ISREG(info.st_mode)
            and record[0] == info.st_size and record[1] == info.st_mtime
        )

    def key(path: Path) -> str:
        return os.fsencode(path).decode("utf-8", "surrogateescape")

    # Motion files already stored with their still, unchanged: nothing to pair or read again.
    settled = {p for p in all_paths if is_video(p) and same(known_motion.get(key(p)), stats[p])}
    motion_of = {pair.still: pair.motion for pair in _live_pairs([p for p in all_paths if p not in settled])}
    settled |= set(motion_of.values())
    todo = []
    for path in all_paths:
        if path in settled:
            continue
        record = known.get(key(path))
        unchanged = same(record, stats[path]) and (record is not None and (record[2] or not recognise))
        if unchanged and path not in motion_of:
            summary.unchanged += 1
        else:
            todo.append(FileTask(path, motion_of.get(path)))
    return todo


def _live_pairs(paths: list[Path]) -> list[Any]:
    """Live Photo pairs among the paths (only files sharing a base name are opened)."""
    from memories.live_photos import pair_live_photos, read_still_identifier
    from memories.metadata import read_exif
    from memories.videos import motion_facts

    facts: dict[Path, Any] = {}

    def motion(path: Path) -> Any:
        if path not in facts:
            facts[path] = motion_facts(path)
        return facts[path]

    def taken(path: Path) -> Any:
        if is_video(path):
            return motion(path).taken
        try:
            from PIL import Image

            with Image.open(path) as image:
                return read_exif(image).taken
        except Exception:  # noqa: BLE001 - an unreadable still is reported when it is indexed
            return None

    pairs = pair_live_photos(paths, lambda p: motion(p).identifier, read_still_identifier, taken)
    return [
        pair for pair in pairs
        if (motion(pair.motion).duration_s or 0.0) <= settings.LIVE_PHOTO_MAX_MOTION_S
    ]


def _run(
    library: Library,
    todo: list[FileTask],
    recognise: bool,
    workers: int | None,
    options: dict[str, Any],
    summary: IndexSummary,
    report: Reporter,
    progress_enabled: bool | None,
    cluster: str | None = None,
) -> None:
    workers = workers or os.cpu_count() or 1
    bar = Progress(len(todo), "indexing", enabled=progress_enabled)
    batch: list[FileResult] = []

    def flush() -> None:
        if batch:
            _store(library, batch, summary, report)
            bar.advance(len(batch))
            batch.clear()

    if cluster is not None:
        from memories.cluster_workers import map_with_models

        size = max(1, min(settings.COMMIT_BATCH, len(todo) // 8 or 1))
        remote, close = map_with_models(
            cluster, todo, _process, _lost_file, _init_worker, (recognise, options),
            options.get("models_dir"), send_models=recognise, batch=size,
        )
        try:
            for result in remote:
                batch.append(result)
                if len(batch) >= size:
                    flush()
            flush()
        finally:
            close()
    elif workers <= 1 or len(todo) <= 2:
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
            asset_id, is_new, was_recognised, edited = _upsert_asset(
                db, photo, recognised=result.recognised, highlight=result.highlight
            )
            if photo.motion is not None:
                _store_motion(db, asset_id, photo)
                summary.live_photos += 1
            if edited:
                summary.edited += 1
            elif is_new:
                summary.new += 1
                summary.videos += photo.video is not None
            elif result.recognised and not was_recognised:
                summary.recognised += 1
            else:
                summary.moved += 1
            if result.recognised and not was_recognised:
                summary.faces += _store_observations(db, asset_id, result.observations, superseded=edited)
            elif (is_new or edited) and photo.meta.regions:
                _store_regions(db, asset_id, photo)


def _upsert_asset(
    db: Any, photo: Photo, recognised: bool, highlight: tuple[float, float] | None = None
) -> tuple[int, bool, bool, bool]:
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
    motion = photo.video or (photo.motion.info if photo.motion is not None else None)
    media = (
        photo.media_kind,
        motion.duration_s if motion else None,
        motion.frame_rate if motion else None,
        motion.codec if motion else None,
        motion.rotation if motion else None,
        int(motion.has_audio) if motion else 0,
        highlight[0] if highlight else None,
        highlight[1] if highlight else None,
    )
    if row is None:
        cursor = db.execute(
            "INSERT INTO assets (path, file_size, format, width, height, orientation, taken_at, taken_ts, "
            "time_source, latitude, longitude, camera, content_hash, recognised, media_kind, duration_s, "
            "frame_rate, codec, rotation, has_audio, highlight_start_s, highlight_end_s) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (*values, photo.content_hash, int(recognised), *media),
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
        if photo.media_kind != "photo":  # a still read without its (settled) motion file stays live
            db.execute(
                "UPDATE assets SET media_kind=?, duration_s=?, frame_rate=?, codec=?, rotation=?, has_audio=?, "
                "highlight_start_s=COALESCE(?, highlight_start_s), highlight_end_s=COALESCE(?, highlight_end_s) "
                "WHERE id=?",
                (*media, asset_id),
            )
    db.execute(
        "INSERT INTO asset_paths (path, asset_id, file_size, file_mtime) VALUES (?,?,?,?) "
        "ON CONFLICT(path) DO UPDATE SET asset_id=excluded.asset_id, file_size=excluded.file_size, "
        "file_mtime=excluded.file_mtime",
        (path, asset_id, photo.file_size, photo.file_mtime),
    )
    return asset_id, is_new, was_recognised, edited


def _store_motion(db: Any, asset_id: int, photo: Photo) -> None:
    motion = photo.motion
    assert motion is not None
    info = motion.info
    db.execute(
        "INSERT INTO asset_motion (asset_id, path, file_size, file_mtime, content_hash, content_identifier, "
        "duration_s, width, height, frame_rate, codec, rotation, has_audio) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(asset_id) DO UPDATE SET path=excluded.path, file_size=excluded.file_size, "
        "file_mtime=excluded.file_mtime, content_hash=excluded.content_hash, "
        "content_identifier=excluded.content_identifier, duration_s=excluded.duration_s, width=excluded.width, "
        "height=excluded.height, frame_rate=excluded.frame_rate, codec=excluded.codec, "
        "rotation=excluded.rotation, has_audio=excluded.has_audio",
        (
            asset_id, str(motion.path), motion.file_size, motion.file_mtime, motion.content_hash,
            info.content_identifier, info.duration_s, info.width, info.height, info.frame_rate, info.codec,
            info.rotation, int(info.has_audio),
        ),
    )


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
            obs.time_s,
            obs.first_s,
            obs.last_s,
        )
        columns = (
            "source, face_x, face_y, face_w, face_h, landmarks, detector_score, body_x, body_y, body_w, body_h, "
            "face_embedding, body_embedding, quality, is_clear, xmp_name, time_s, first_s, last_s"
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
