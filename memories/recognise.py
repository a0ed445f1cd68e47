"""One photo's pixels -> the observations `memories index` stores (the recognition layer, composed).

Per face: detector box and score, 5 landmarks, the dlib chip, its 128-d embedding (stored
L2-normalised), a quality score with the clear/unclear verdict, the upper-body box and its
embedding when enough of the body is in frame, and the name of a matching XMP face region.

A video: its sampled frames' faces (memories.video_faces) linked into tracks (recognition.tracks);
each track's best frame is decoded again and observed with bodies, so the track's observation
carries an upper-body embedding like a photo's face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memories import settings
from memories.metadata import FaceRegion
from memories.photos import VideoInfo
from memories.video_faces import highlight, scan
from memories.videos import poster_frame
from recognition.boxes import Detection, box_iou
from recognition.face_pipeline import FaceAnalyzer
from recognition.tracks import FaceTrack, track_faces

Box = tuple[float, float, float, float]

# Enough overlap between an XMP region (drawn by a person or another app) and a detected box to
# say they are the same face; regions are often looser than detector boxes, hence not 0.5.
REGION_MIN_IOU = 0.3


@dataclass
class FaceObservation:
    """One observation to store: a face ("detector"), a named XMP region without a detected face
    ("xmp"), or a person seen without a face ("body": face fields None, known by the body).
    What an observation has not got stays None."""

    face_box: Box | None = None
    landmarks: np.ndarray | None = None
    detector_score: float | None = None
    body_box: Box | None = None
    face_embedding: np.ndarray | None = None
    body_embedding: np.ndarray | None = None
    quality: float | None = None
    is_clear: bool = False
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
                detector_score=body.score,
                body_box=_scaled(body.body_box, to_photo),
                body_embedding=body.body_embedding,
                source="body",
            )
            for body in bodies
        ]
        name_faces(observations, regions, round(width * to_photo), round(height * to_photo))
        return observations

    def observe_video(self, path: Path, info: VideoInfo) -> VideoFaces:
        """A video's face tracks (boxes in displayed pixels), one observation each, and its
        highlight (memories.video_faces)."""
        found = scan(path, info, self.analyzer)
        to_video = 1.0 / found.decode_scale
        observations = [self._track_observation(path, info, t, to_video) for t in track_faces(found.samples)]
        end = found.samples[-1][0] + 0.5 if found.problem and found.samples else info.duration_s
        return VideoFaces(observations, highlight(found, min(end, info.duration_s)), found.problem)

    def _track_observation(self, path: Path, info: VideoInfo, track: FaceTrack, to_video: float) -> FaceObservation:
        """A track's observation: its summary embedding; box, landmarks and body from its best frame."""
        best = track.best.face
        body_box = body_embedding = None
        rgb = poster_frame(path, info, track.best.time_s, settings.VIDEO_DECODE_LONGEST_SIDE)
        faces, _ = self.analyzer.observe_photo(rgb, [Detection(best.box, best.score)], bodies=True)
        if faces and faces[0].body_box is not None:
            body_box, body_embedding = _scaled(faces[0].body_box, to_video), faces[0].body_embedding
        return FaceObservation(
            face_box=_scaled(best.box, to_video),
            landmarks=best.landmarks * to_video,
            detector_score=best.score,
            body_box=body_box,
            face_embedding=track.embedding,
            body_embedding=body_embedding,
            quality=track.quality,
            is_clear=track.is_clear,
            time_s=track.best.time_s,
            first_s=track.first_s,
            last_s=track.last_s,
        )


@dataclass(frozen=True)
class VideoFaces:
    """What `memories index` stores of a video's recognition."""

    observations: list[FaceObservation]
    highlight: tuple[float, float] | None
    problem: str | None  # indexed as far as it plays; the user is told why not further


def _scaled(box: Sequence[float], factor: float) -> Box:
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
            observations.append(FaceObservation(face_box=region_box, xmp_name=region.name, source="xmp"))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    return float(box_iou(np.asarray(a), np.asarray(b))[0, 0])
