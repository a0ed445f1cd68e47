"""One photo's pixels -> the observations `memories index` stores (the recognition layer, composed).

Per face: detector box and score, 5 landmarks, the dlib chip, its 128-d embedding (stored
L2-normalised), a quality score with the clear/unclear verdict, the upper-body box and its
embedding when enough of the body is in frame, and the name of a matching XMP face region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from memories.metadata import FaceRegion

if TYPE_CHECKING:
    from memories.video_faces import VideoFaces
    from memories.videos import VideoInfo

# Enough overlap between an XMP region (drawn by a person or another app) and a detected box to
# say they are the same face; regions are often looser than detector boxes, hence not 0.5.
REGION_MIN_IOU = 0.3


@dataclass
class FaceObservation:
    """One observation to store: a face ("detector"), a named XMP region without a detected face
    ("xmp"), or a person seen without a face ("body": face fields None, known by the body)."""

    face_box: tuple[float, float, float, float] | None
    landmarks: np.ndarray | None
    detector_score: float | None
    body_box: tuple[float, float, float, float] | None
    face_embedding: np.ndarray | None
    body_embedding: np.ndarray | None
    quality: float | None
    is_clear: bool
    xmp_name: str | None = None
    source: str = "detector"
    # A video's face track: its best frame's time (the box is there) and the span it is seen.
    time_s: float | None = None
    first_s: float | None = None
    last_s: float | None = None


class Recogniser:
    """Loads the models once (per worker process) and observes photos through the recognition
    layer's one call (recognition.face_pipeline.FaceAnalyzer.observe), bodies included."""

    def __init__(
        self, crops: bool = False, models_dir: str | Path | None = None, detector: str | None = None
    ):
        from recognition.face_pipeline import FaceAnalyzer

        self.crops = crops
        self.analyzer = FaceAnalyzer(detector, cache_dir=models_dir, bodies=True)

    def observe(
        self, rgb: np.ndarray, regions: Sequence[FaceRegion] = (), pixel_scale: float = 1.0
    ) -> list[FaceObservation]:
        """The photo's faces, boxes and landmarks in the photo's own pixels (rgb may be a reduced
        decode with `pixel_scale` of its pixels per photo pixel)."""
        height, width = rgb.shape[:2]
        to_photo = 1.0 / pixel_scale
        faces, bodies = self.analyzer.observe_photo(rgb, crop=self.crops)
        observations = [
            FaceObservation(
                face_box=_scaled(face.box, to_photo),
                landmarks=face.landmarks * to_photo,
                detector_score=face.score,
                body_box=_scaled(face.body_box, to_photo) if face.body_box is not None else None,
                face_embedding=face.embedding,
                body_embedding=face.body_embedding,
                quality=face.quality,
                is_clear=face.is_clear,
            )
            for face in faces
        ]
        observations += [
            FaceObservation(
                face_box=None,
                landmarks=None,
                detector_score=body.score,
                body_box=_scaled(body.body_box, to_photo),
                face_embedding=None,
                body_embedding=body.body_embedding,
                quality=None,
                is_clear=False,
                source="body",
            )
            for body in bodies
        ]
        name_faces(observations, regions, round(width * to_photo), round(height * to_photo))
        return observations


    def observe_video(self, path: Path, info: VideoInfo) -> VideoFaces:
        """A video's face tracks, one observation each, and its highlight (memories.video_faces)."""
        from memories.video_faces import observe_video

        return observe_video(path, info, self.analyzer)


def _scaled(box: tuple[float, float, float, float], factor: float) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return (x * factor, y * factor, w * factor, h * factor)


def name_faces(
    observations: list[FaceObservation], regions: Sequence[FaceRegion], width: int, height: int
) -> None:
    """Give each XMP region's name to the detected face it overlaps most; keep unmatched regions
    as named observations without an embedding (the user's data is never dropped)."""
    taken: set[int] = set()
    for region in regions:
        region_box = (region.x * width, region.y * height, region.w * width, region.h * height)
        best, best_iou = -1, REGION_MIN_IOU
        for i, obs in enumerate(observations):
            if obs.source != "detector" or obs.face_box is None or i in taken:
                continue
            overlap = iou(region_box, obs.face_box)
            if overlap >= best_iou:
                best, best_iou = i, overlap
        if best >= 0:
            observations[best].xmp_name = region.name
            taken.add(best)
        else:
            observations.append(
                FaceObservation(
                    face_box=region_box,
                    landmarks=None,
                    detector_score=None,
                    body_box=None,
                    face_embedding=None,
                    body_embedding=None,
                    quality=None,
                    is_clear=False,
                    xmp_name=region.name,
                    source="xmp",
                )
            )


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    from recognition.boxes import box_iou

    return float(box_iou(np.asarray(a), np.asarray(b))[0, 0])
