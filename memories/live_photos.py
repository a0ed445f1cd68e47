"""Live Photos: a still and its motion file, paired into one asset.

The camera writes the same content identifier into the still (Apple's MakerNote tag 0x0011, or
`apple-fi:ContentIdentifier` / `Apple:ContentIdentifier` in XMP) and the motion file (QuickTime key
`com.apple.quicktime.content.identifier`). A pair is made by that identifier; where either side
has none (an exported copy that lost it), by the same base name and capture times within
settings.LIVE_PHOTO_MAX_GAP_S.

The Apple MakerNote is not parsed by Pillow (it keeps the raw bytes), so the one tag we need is
read here: a TIFF-style IFD after the "Apple iOS\\0" header, offsets from the MakerNote's start.
No maintained package reads Apple MakerNotes without an external exiftool binary.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from memories import photos as _photos  # noqa: F401 - registers the HEIC opener
from memories import settings

EXIF_IFD = 0x8769
TAG_MAKERNOTE = 0x927C
APPLE_CONTENT_IDENTIFIER = 0x0011
APPLE_HEADER = b"Apple iOS\x00"
_XMP_IDENTIFIER = re.compile(rb"ContentIdentifier(?:>|=\")([0-9A-Fa-f-]{16,64})")
# Still formats a Live Photo is taken in (HEIC), or exported as (JPEG).
STILL_SUFFIXES = frozenset({".heic", ".heif", ".jpg", ".jpeg"})
# Motion files: QuickTime (what the camera writes) and MP4 (some exports).
MOTION_SUFFIXES = frozenset({".mov", ".mp4"})


def apple_makernote_identifier(makernote: bytes) -> str | None:
    """Tag 0x0011 of an Apple MakerNote: the Live Photo's content identifier."""
    if not makernote.startswith(APPLE_HEADER) or len(makernote) < 16:
        return None
    order = makernote[12:14]
    endian = {b"MM": ">", b"II": "<"}.get(order)
    if endian is None:
        return None
    try:
        (count,) = struct.unpack_from(endian + "H", makernote, 14)
        for i in range(min(count, 512)):
            tag, kind, n, value = struct.unpack_from(endian + "HHII", makernote, 16 + 12 * i)
            if tag != APPLE_CONTENT_IDENTIFIER or kind != 2:  # 2: ASCII
                continue
            data = makernote[16 + 12 * i + 8 : 16 + 12 * i + 12] if n <= 4 else makernote[value : value + n]
            text = data.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
            return text or None
    except struct.error:
        return None
    return None


def still_identifier(image: Image.Image) -> str | None:
    """The content identifier a still carries, from its MakerNote, else its XMP."""
    try:
        makernote = image.getexif().get_ifd(EXIF_IFD).get(TAG_MAKERNOTE)
    except Exception:  # noqa: BLE001 - a broken EXIF block only means no pairing by identifier
        makernote = None
    if isinstance(makernote, bytes) and (found := apple_makernote_identifier(makernote)):
        return found
    xmp = image.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if isinstance(xmp, bytes) and (match := _XMP_IDENTIFIER.search(xmp)):
        return match.group(1).decode("ascii")
    return None


def read_still_identifier(path: Path) -> str | None:
    try:
        with Image.open(path) as image:
            return still_identifier(image)
    except Exception:  # noqa: BLE001 - an unreadable still is reported when it is indexed
        return None


def _base(path: Path) -> str:
    """IMG_7943.HEIC, IMG_7943.MOV and IMG_7943_HEVC.MOV (an export's name) share "img_7943"."""
    stem = path.stem.lower()
    return re.sub(r"_(hevc|live|motion)$", "", stem)


@dataclass(frozen=True)
class Pair:
    still: Path
    motion: Path
    by: str  # "identifier" | "name and time"


def pair_live_photos(
    paths: Sequence[Path],
    motion_identifier: Callable[[Path], str | None],
    still_identifier_of: Callable[[Path], str | None] = read_still_identifier,
    taken_of: Callable[[Path], datetime | None] | None = None,
) -> list[Pair]:
    """Pairs among `paths` (a walk's files): each motion file with the still of its folder that
    shares its base name, by content identifier when both carry one, else by capture times within
    settings.LIVE_PHOTO_MAX_GAP_S (`taken_of` reads a file's capture time; without it, no
    fallback). Only files that share a base name are read, so a library of photos without motion
    files costs nothing here."""
    stills: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        if path.suffix.lower() in STILL_SUFFIXES:
            stills.setdefault((path.parent, _base(path)), []).append(path)
    pairs: list[Pair] = []
    used: set[Path] = set()
    for path in paths:
        if path.suffix.lower() not in MOTION_SUFFIXES:
            continue
        candidates = [s for s in stills.get((path.parent, _base(path)), []) if s not in used]
        if not candidates:
            continue
        identifier = motion_identifier(path)
        chosen: Pair | None = None
        if identifier:
            for still in candidates:
                if (still_identifier_of(still) or "").upper() == identifier.upper():
                    chosen = Pair(still, path, "identifier")
                    break
        if chosen is None and taken_of is not None:
            motion_taken = taken_of(path)
            for still in candidates:
                still_id = still_identifier_of(still)
                if identifier and still_id:  # both carry one and they differ: not a pair
                    continue
                still_taken = taken_of(still)
                if (
                    motion_taken is not None
                    and still_taken is not None
                    and abs((motion_taken - still_taken).total_seconds()) <= settings.LIVE_PHOTO_MAX_GAP_S
                ):
                    chosen = Pair(still, path, "name and time")
                    break
        if chosen is not None:
            used.add(chosen.still)
            pairs.append(chosen)
    return pairs
