"""Choosing the photos of a memory: pure functions over plain records.

From the candidates a theme query returns, keep photos where the featured people are visible
with clear, accepted faces, that are sharp, that are not near-duplicates of a better photo
(perceptual hash), spread over the moments, then put them in time order and pick the key photo
for the poster. Hidden photos and faces the user rejected never count.

The perceptual hash (pHash) and the sharpness measure are pure functions of a greyscale array;
`fingerprint` is the one function that reads a file (`fingerprint_pixels` measures a video's
poster frame the same way).

Videos and Live Photos are candidates like photos, carrying their clip: a video by its poster
frame, a Live Photo by its still. A memory prefers some motion: up to one clip per
`clip_every_shots` of its photos (at least one when any is left after the filters), the best of
them, are put first in the moment spread so they make the cut; motion past that is a still again
(a Live Photo keeps its still photo, a video shows its highlight's first frame, after the photos). A video frame is judged for blur by a
lower bar than a photo (`clip_min_relative_sharpness`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy import fft

if TYPE_CHECKING:
    from memories.render.plan import Clip


class TooFewPhotos(ValueError):
    """Fewer usable photos than the theme needs: the memory cannot be made (yet)."""


@dataclass(frozen=True)
class CurationSettings:
    # Two 64-bit perceptual hashes this close are the same shot (a burst, a re-save, a small
    # crop): on the 64 deepface samples a 1/3-size JPEG q60 copy differs from its original by
    # 0 bits (pHash), while the closest pair of different photos differs by 18 (median 30).
    duplicate_bits: int = 10
    # Photos below this fraction of the candidates' median sharpness are blurred (motion, missed
    # focus); relative because the Laplacian variance depends on content and resolution.
    min_relative_sharpness: float = 0.35
    # A featured face smaller than this fraction of the image's short side is not "clear" for a
    # memory, even when recognition accepted it (a face in the crowd).
    min_face_fraction: float = 0.06
    # Score weights: how many featured people are in the photo matters most, then how big their
    # faces are, then sharpness. Chosen by eye on the deepface samples.
    weight_people: float = 0.5
    weight_face_size: float = 0.3
    weight_sharpness: float = 0.2
    # Face size at which the size term saturates (a face a quarter of the short side is a portrait).
    full_face_fraction: float = 0.25
    # A clip's poster frame is one frame of a compressed, moving picture: softer than a photo by
    # nature, and a clip is there for its motion. Frames of the shared clips (at 0.5, 2, 4 and 6 s)
    # against the samples' median sharpness (317): the six talking heads 0.19-1.8x, the Live
    # Photo's motion 1.7x, a dim stage (hamilton) 0.1-0.6x; the photos' bar (0.35) would drop half
    # of them, so motion is only refused when nearly featureless (under 0.05x).
    clip_min_relative_sharpness: float = 0.05
    # At most one clip per this many photos (render.settings.CLIP_EVERY_SHOTS: the storyboard's
    # own cap, so that curation hands it no more motion than it will play).
    clip_every_shots: int = 4
    # ...and at most one Live Photo's motion per this many (render.settings.LIVE_EVERY_SHOTS).
    live_every_shots: int = 2


DEFAULT_SETTINGS = CurationSettings()
# Sharpness is measured on a copy with this long side so values compare across resolutions.
SHARPNESS_SIDE = 512
HASH_SIDE = 8  # 8x8 = 64-bit hashes
PHASH_DCT_SIDE = 32


@dataclass(frozen=True)
class CandidateFace:
    person: Hashable | None  # the assigned person, None when unknown
    box: tuple[float, float, float, float]  # x, y, w, h in oriented pixels
    clear: bool = True  # passed the unclear-face filter
    rejected: bool = False  # the user said "not this person"


@dataclass(frozen=True)
class CandidatePhoto:
    asset_id: Hashable
    time: datetime | None
    width: int
    height: int
    faces: tuple[CandidateFace, ...] = ()
    moment: Hashable | None = None
    sharpness: float | None = None  # variance of the Laplacian (see `sharpness`)
    phash: int | None = None  # 64-bit perceptual hash
    mirrored_phash: int | None = None  # the same of the photo flipped left to right
    clutter: str | None = None  # a receipt, document, screenshot or blank photo: never in a memory
    hidden: bool = False
    path: Path | None = None
    clip: Clip | None = None  # a video's highlight or a Live Photo's motion: the shot moves


@dataclass
class Curation:
    photos: list[CandidatePhoto]  # chosen, chronological
    key_photo: int  # index into photos
    scores: dict[Hashable, float]  # asset_id -> score of every photo considered
    dropped: dict[str, list[Hashable]] = field(default_factory=dict)  # reason -> asset ids

    def frame_boxes(self, index: int, people: Sequence[Hashable]) -> list[tuple[float, float, float, float]]:
        """The boxes the renderer must keep in frame for photo `index` (`PlanPhoto.faces`)."""
        return faces_to_keep(self.photos[index], set(people))

    def other_boxes(self, index: int, people: Sequence[Hashable]) -> list[tuple[float, float, float, float]]:
        """The boxes the renderer must not cut but need not show for photo `index` (`PlanPhoto.others`)."""
        return other_faces(self.photos[index], set(people))


# --- image measures (pure) -------------------------------------------------------------------
def _grey_small(grey: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(np.asarray(grey, dtype=np.float32), (width, height), interpolation=cv2.INTER_AREA)


def phash(grey: np.ndarray) -> int:
    """Perceptual hash: signs of the 8x8 lowest DCT frequencies of a 32x32 copy against their median."""
    small = _grey_small(grey, PHASH_DCT_SIDE, PHASH_DCT_SIDE)
    coefficients = fft.dctn(small, norm="ortho")[:HASH_SIDE, :HASH_SIDE].ravel()
    bits = coefficients > np.median(coefficients[1:])  # the DC term would skew the median
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    return int(a ^ b).bit_count()


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian on a copy with a fixed long side (the usual focus measure)."""
    grey = np.asarray(grey, dtype=np.float32)
    scale = SHARPNESS_SIDE / max(grey.shape[:2])
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


@dataclass(frozen=True)
class Fingerprint:
    """What curation needs to know of a photo's pixels."""

    phash: int
    mirrored_phash: int  # of the photo flipped left to right: a mirrored copy is still a duplicate
    sharpness: float
    clutter: str | None  # "receipt", "document", "screenshot", "blank" or None for a real photo


def fingerprint(path: Path) -> Fingerprint:
    """Hashes, sharpness and clutter class of an image file, EXIF orientation applied (the I/O
    edge of this module)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.draft("RGB", (SHARPNESS_SIDE * 2, SHARPNESS_SIDE * 2))
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return fingerprint_pixels(rgb)


def fingerprint_pixels(rgb: np.ndarray) -> Fingerprint:
    """The same of upright RGB pixels (a video's poster frame), ideally about 2 x SHARPNESS_SIDE
    on the long side."""
    from memories.clutter import clutter_kind

    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return Fingerprint(phash(grey), phash(grey[:, ::-1]), sharpness(grey), clutter_kind(rgb))


# --- selection (pure) ------------------------------------------------------------------------
def _short_side(photo: CandidatePhoto) -> int:
    return max(1, min(photo.width, photo.height))


def _counts(face: CandidateFace, short: int, settings: CurationSettings) -> bool:
    """A face that counts in a memory: clear, and at least `min_face_fraction` of the short side."""
    return face.clear and min(face.box[2], face.box[3]) >= settings.min_face_fraction * short


def _featured(
    photo: CandidatePhoto, people: set[Hashable], settings: CurationSettings
) -> list[CandidateFace]:
    """Featured people's faces that count and that the user has not rejected."""
    short = _short_side(photo)
    return [f for f in photo.faces if f.person in people and not f.rejected and _counts(f, short, settings)]


def featured_faces(
    photo: CandidatePhoto, people: set[Hashable], settings: CurationSettings = DEFAULT_SETTINGS
) -> list[tuple[float, float, float, float]]:
    """Boxes of featured people's faces that are clear, not rejected and big enough."""
    return [face.box for face in _featured(photo, people, settings)]


def faces_to_keep(photo: CandidatePhoto, people: set[Hashable]) -> list[tuple[float, float, float, float]]:
    """The faces a shot centres on. With featured people: every face of theirs the user has not
    rejected, however small or unclear. Without (a trip, a day): every clear face big enough to
    count, so the crop goes to the people in the photo rather than drift at random."""
    if people:
        return [face.box for face in photo.faces if face.person in people and not face.rejected]
    short = _short_side(photo)
    return [face.box for face in photo.faces if _counts(face, short, DEFAULT_SETTINGS)]


def other_faces(photo: CandidatePhoto, people: set[Hashable]) -> list[tuple[float, float, float, float]]:
    """Every other face in the photo: a shot shows each whole or leaves it out, never cuts it."""
    kept = set(faces_to_keep(photo, people))
    return [face.box for face in photo.faces if face.box not in kept]


def score(
    photo: CandidatePhoto,
    people: set[Hashable],
    median_sharpness: float,
    settings: CurationSettings = DEFAULT_SETTINGS,
) -> float:
    """0..1: share of featured people visible, size of their faces, sharpness relative to the median."""
    short = _short_side(photo)
    faces = _featured(photo, people, settings)
    people_term = len({face.person for face in faces}) / len(people) if people else 1.0
    sizes = [min(face.box[2], face.box[3]) / short for face in faces]
    size_term = min(1.0, max(sizes) / settings.full_face_fraction) if sizes else (0.0 if people else 0.5)
    sharp_term = 0.5
    if photo.sharpness is not None and median_sharpness > 0:
        sharp_term = min(1.0, photo.sharpness / (2 * median_sharpness))
    return (
        settings.weight_people * people_term
        + settings.weight_face_size * size_term
        + settings.weight_sharpness * sharp_term
    )


def curate(
    candidates: Sequence[CandidatePhoto],
    people: Sequence[Hashable],
    max_photos: int,
    min_photos: int = 1,
    settings: CurationSettings = DEFAULT_SETTINGS,
    per_group: tuple[str, int] | None = None,
) -> Curation:
    """The photos of one memory, chronological, and its key photo.

    Raises ValueError when fewer than `min_photos` survive (the theme should not propose it).
    """
    featured = set(people)
    dropped: dict[str, list[Hashable]] = defaultdict(list)
    pool = []
    for photo in candidates:
        if photo.hidden:
            dropped["hidden"].append(photo.asset_id)
        elif photo.clutter:
            dropped[photo.clutter].append(photo.asset_id)
        elif featured and not featured_faces(photo, featured, settings):
            dropped["no clear featured face"].append(photo.asset_id)
        else:
            pool.append(photo)
    # The photos' median is the reference (clips' frames are softer); a pool of clips only has its own.
    known = [p.sharpness for p in pool if p.sharpness is not None and p.clip is None] or [
        p.sharpness for p in pool if p.sharpness is not None
    ]
    median = float(np.median(known)) if known else 0.0
    sharp = []
    for photo in pool:
        bar = settings.min_relative_sharpness if photo.clip is None else settings.clip_min_relative_sharpness
        if photo.sharpness is not None and median > 0 and photo.sharpness < bar * median:
            dropped["blurred"].append(photo.asset_id)
        else:
            sharp.append(photo)
    scores = {photo.asset_id: score(photo, featured, median, settings) for photo in sharp}

    # Best first, so a near-duplicate always loses to the better of the pair.
    ranked = sorted(sharp, key=lambda p: (-scores[p.asset_id], _timestamp(p), str(p.asset_id)))
    unique: list[CandidatePhoto] = []
    for photo in ranked:
        if any(near_duplicates(photo, other, settings.duplicate_bits) for other in unique):
            dropped["near-duplicate"].append(photo.asset_id)
            continue
        unique.append(photo)

    if per_group and per_group[1] > 0:  # a theme's "at most N a year / a moment"
        kept: list[CandidatePhoto] = []
        counts: dict[Hashable, int] = defaultdict(int)
        for photo in unique:  # best first
            group = _group_of(photo, per_group[0])
            if counts[group] >= per_group[1]:
                dropped[f"over {per_group[1]} per {per_group[0]}"].append(photo.asset_id)
                continue
            counts[group] += 1
            kept.append(photo)
        unique = kept
    unique = _with_motion(unique, max_photos, settings, dropped)
    chosen = spread_over_moments(unique, max_photos)
    for photo in unique:
        if photo not in chosen:
            dropped["over the limit"].append(photo.asset_id)
    if len(chosen) < min_photos:
        raise TooFewPhotos(f"only {len(chosen)} usable photos, the theme needs {min_photos}")
    chosen.sort(key=lambda p: (_timestamp(p), str(p.asset_id)))
    key = max(range(len(chosen)), key=lambda i: (scores[chosen[i].asset_id], -i)) if chosen else 0
    return Curation(chosen, key, scores, dict(dropped))


def _with_motion(
    ranked: list[CandidatePhoto],
    max_photos: int,
    settings: CurationSettings,
    dropped: dict[str, list[Hashable]],
) -> list[CandidatePhoto]:
    """The best video clips (one per `clip_every_shots` photos, at least one) and Live Photos
    (one per `live_every_shots`) moved to the front, so the moment spread takes them first; the
    other Live Photos made stills, the other videos put last (a weekend filmed more than
    photographed still shows: the storyboard shows a video past its cap as a still of its
    highlight's first frame)."""
    allowed = {
        False: max(1, max_photos // max(1, settings.clip_every_shots)),
        True: max(1, max_photos // max(1, settings.live_every_shots)),
    }
    moving: list[CandidatePhoto] = []
    still: list[CandidatePhoto] = []
    extra: list[CandidatePhoto] = []
    for photo in ranked:  # best first
        if photo.clip is None:
            still.append(photo)
        elif allowed[photo.clip.live] > 0:
            allowed[photo.clip.live] -= 1
            moving.append(photo)
        elif photo.clip.live:
            still.append(replace(photo, clip=None))
        else:
            extra.append(photo)
    return moving + still + extra


def near_duplicates(a: CandidatePhoto, b: CandidatePhoto, bits: int) -> bool:
    """The same picture, or one of them mirrored (a selfie flipped by the camera app)."""
    if a.phash is None or b.phash is None:
        return False
    if hamming(a.phash, b.phash) <= bits:
        return True
    return b.mirrored_phash is not None and hamming(a.phash, b.mirrored_phash) <= bits


def spread_over_moments(ranked: Sequence[CandidatePhoto], limit: int) -> list[CandidatePhoto]:
    """Round-robin over moments (each moment's photos best first): one photo from every moment
    before a second from any, so a memory covers its story rather than one busy afternoon."""
    by_moment: dict[Hashable, list[CandidatePhoto]] = defaultdict(list)
    for photo in ranked:  # `ranked` is best first, so each list is too
        by_moment[photo.moment if photo.moment is not None else ("asset", photo.asset_id)].append(photo)
    queues = list(by_moment.values())  # moments in the order of their best photo
    chosen: list[CandidatePhoto] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < limit:
                chosen.append(queue[depth])
        depth += 1
    return chosen


def _group_of(photo: CandidatePhoto, kind: str) -> Hashable:
    if kind == "year":
        return photo.time.year if photo.time is not None else None
    if kind == "moment":
        return photo.moment if photo.moment is not None else ("asset", photo.asset_id)
    raise ValueError(f"photos are grouped by year or moment, not {kind!r}")


def _timestamp(photo: CandidatePhoto) -> float:
    return photo.time.timestamp() if photo.time is not None else float("inf")
