"""Face thumbnails and downscaled photos, made on first request and cached in the library's thumbs/.

A video's picture is one of its frames (memories.videos.poster_frame): its photo copy the frame
of its best-seen face in its highlight (else the highlight's start, else a third in), a face the
frame its track was best seen in. A Live Photo's picture is its still.

The cache key holds everything the picture depends on (content hash, box, size, a video's frame
time), so a moved or re-detected face gets a new file and a stale one is never shown. Writes go to
a temporary file and are renamed into place, so two requests for the same thumbnail at once both
see a whole file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

from boltons.fileutils import atomic_save
from PIL import Image, ImageOps

import memories.photos  # noqa: F401  (registers the HEIC opener and the pixel limit)
from memories.photos import PhotoError
from memories.store import Library, asset_row
from memories.web import settings


def _open_oriented(
    path: Path, longest_side_needed: int, original_size: tuple[int, int] | None
) -> Image.Image:
    """The photo, upright, decoded at the smallest JPEG scale that still gives the pixels needed."""
    image = Image.open(path)
    if original_size and image.format == "JPEG":
        # draft() decodes at 1/2, 1/4 or 1/8 scale: 4-16x faster for a thumbnail of a large photo.
        scale = longest_side_needed / max(original_size)
        if scale < 0.5:
            image.draft("RGB", (int(image.width * scale * 1.01) + 1, int(image.height * scale * 1.01) + 1))
    return ImageOps.exif_transpose(image).convert("RGB")


def _video_frame(path: Path, time_s: float | None, longest_side_needed: int) -> Image.Image:
    """The video's frame at `time_s` (None: its default poster time), upright, decoded at about
    the size needed. A video that cannot be decoded is "cannot be read" (OSError), as a photo is."""
    from memories import videos

    try:
        info = videos.probe(path)
        rgb = videos.poster_frame(path, info, time_s, longest_side=max(16, longest_side_needed))
    except PhotoError as error:
        raise OSError(f"{path}: {error}") from error
    return Image.fromarray(rgb)


def _open_picture(
    path: Path, kind: str, time_s: float | None, needed: int, original: tuple[int, int] | None
) -> Image.Image:
    """What a thumbnail is cut from: a video's frame at `time_s`, else the photo (or Live Photo's still)."""
    if kind == "video":
        return _video_frame(path, time_s, needed)
    return _open_oriented(path, needed, original)


def _poster_time(library: Library, asset_id: int, row: sqlite3.Row) -> float | None:
    """Where a video's photo copy is taken: the frame its best-seen face was found in, inside its
    highlight (a video's picture is its people, as a photo's is, and a first frame can be black);
    without a face, its highlight's start; without a highlight, a third in."""
    start, end = row["highlight_start_s"], row["highlight_end_s"]
    face = library.db.execute(
        "SELECT time_s FROM observations WHERE asset_id = ? AND time_s IS NOT NULL AND face_w IS NOT NULL "
        "AND (? IS NULL OR time_s BETWEEN ? AND ?) "
        "ORDER BY is_clear DESC, COALESCE(quality, 0) DESC, face_w DESC, id LIMIT 1",
        (asset_id, start, start, end if end is not None else start),
    ).fetchone()
    if face is not None:
        return float(face["time_s"])
    if start is not None:
        return float(start)
    return float(row["duration_s"]) / 3 if row["duration_s"] else None


def _still_there(original: Path) -> None:
    """A copy is shown only while its photo is: a photo deleted from disk is not shown from the
    cache (the user deleted it; the cached copy is theirs to lose too)."""
    if not original.is_file():
        raise FileNotFoundError(f"{original} is no longer there")


def _write_jpeg(image: Image.Image, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # A part file of its own: two requests for one thumbnail must not rename each other's away.
    with atomic_save(str(target), part_file=f"{target.name}.{uuid.uuid4().hex}.part") as stream:
        image.save(stream, "JPEG", quality=settings.THUMB_JPEG_QUALITY, optimize=True)


def face_square(
    box: tuple[float, float, float, float], image_size: tuple[int, int], margin: float
) -> tuple[int, int, int, int]:
    """A square around the face box grown by `margin` on each side, kept inside the image."""
    x, y, w, h = box
    width, height = image_size
    side = max(w, h) * (1 + 2 * margin)
    side = min(side, width, height)
    cx, cy = x + w / 2, y + h / 2
    left = min(max(cx - side / 2, 0), width - side)
    top = min(max(cy - side / 2, 0), height - side)
    return (round(left), round(top), round(left + side), round(top + side))


def face_thumbnail(library: Library, face_id: int) -> Path:
    """A ~160 px JPEG of one face, cut from its photo with a margin around the box (a video's
    face from the frame its track was best seen in); for a person seen without a face, of their
    upper body."""
    row = library.db.execute(
        "SELECT COALESCE(o.face_x, o.body_x) AS x, COALESCE(o.face_y, o.body_y) AS y, "
        "COALESCE(o.face_w, o.body_w) AS w, COALESCE(o.face_h, o.body_h) AS h, o.time_s, "
        "a.path, a.content_hash, a.width, a.height, a.media_kind "
        "FROM observations o JOIN assets a ON a.id = o.asset_id WHERE o.id = ?",
        (face_id,),
    ).fetchone()
    if row is None or row["w"] is None:
        raise LookupError(f"no face with id {face_id}")
    box = (float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"]))
    at = row["time_s"] if row["media_kind"] == "video" else None
    key = hashlib.sha1(f"{row['content_hash']}:{box}:{at}:{settings.FACE_THUMB_PX}".encode()).hexdigest()[:16]
    target = library.thumbs_dir / "faces" / f"{face_id}-{key}.jpg"
    _still_there(Path(row["path"]))
    if target.exists():
        return target
    original = (int(row["width"]), int(row["height"])) if row["width"] and row["height"] else None
    # Decode at a scale where the face still has FACE_THUMB_PX pixels across.
    needed = settings.FACE_THUMB_PX * max(original) / max(box[2], box[3], 1.0) if original else 10**6
    if original:
        needed = min(needed, max(original))
    image = _open_picture(Path(row["path"]), row["media_kind"], at, int(needed), original)
    scale = image.width / original[0] if original else 1.0
    scaled_box = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
    crop = image.crop(face_square(scaled_box, image.size, settings.FACE_THUMB_MARGIN))
    crop = crop.resize((settings.FACE_THUMB_PX, settings.FACE_THUMB_PX), Image.Resampling.LANCZOS)
    _write_jpeg(crop, target)
    return target


def photo_copy(library: Library, asset_id: int, longest_side: int) -> Path:
    """The photo, upright, scaled so its longest side is at most `longest_side`, as JPEG (a
    video's poster frame; a Live Photo's still)."""
    row = asset_row(
        library.db, asset_id,
        "path, content_hash, width, height, media_kind, duration_s, highlight_start_s, highlight_end_s",
    )
    at = _poster_time(library, asset_id, row) if row["media_kind"] == "video" else None
    frame = "" if at is None else f"-at{at:.2f}"
    target = library.thumbs_dir / "photos" / f"{row['content_hash'][:32]}{frame}-{longest_side}.jpg"
    _still_there(Path(row["path"]))
    if target.exists():
        return target
    original = (int(row["width"]), int(row["height"])) if row["width"] and row["height"] else None
    image = _open_picture(Path(row["path"]), row["media_kind"], at, longest_side, original)
    image.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    _write_jpeg(image, target)
    return target
