"""One photo's pixels -> the observations `memories index` stores (the recognition layer, composed).

Per face: detector box and score, 5 landmarks, the dlib chip, its 128-d embedding (stored
L2-normalised), a quality score with the clear/unclear verdict, the upper-body box and its
embedding when enough of the body is in frame, and the name of a matching XMP face region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memories.metadata import FaceRegion

# Enough overlap between an XMP region (drawn by a person or another app) and a detected box to
# say they are the same face; regions are often looser than detector boxes, hence not 0.5.
REGION_MIN_IOU = 0.3


@dataclass
class FaceObservation:
    face_box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    detector_score: float | None
    body_box: tuple[float, float, float, float] | None
    face_embedding: np.ndarray | None
    body_embedding: np.ndarray | None
    quality: float | None
    is_clear: bool
    xmp_name: str | None = None
    source: str = "detector"


class Recogniser:
    """Loads the models once (per worker process) and observes photos."""

    def __init__(
        self, crops: bool = False, models_dir: str | Path | None = None, detector: str | None = None
    ):
        from recognition.body_embed import BodyEmbedder
        from recognition.face_pipeline import FaceAnalyzer
        from recognition.mobilenet_convert import body_model_path
        from recognition.quality import null_reference_from

        self.crops = crops
        self.analyzer = FaceAnalyzer(detector, cache_dir=models_dir)
        self.body_embedder = BodyEmbedder(body_model_path(models_dir))
        self.null_reference = null_reference_from(self.analyzer.embedder.embed)

    def observe(self, rgb: np.ndarray, regions: Sequence[FaceRegion] = ()) -> list[FaceObservation]:
        from recognition.align import face_chips
        from recognition.body import upper_body_boxes
        from recognition.body_settings import UPPER_BODY
        from recognition.face_embed import l2_normalise
        from recognition.landmarks import shape_to_array
        from recognition.quality import face_quality, is_clear

        rgb = np.ascontiguousarray(rgb)
        height, width = rgb.shape[:2]
        if self.crops:
            boxes, scores = [(0.0, 0.0, float(width), float(height))], [0.0]
        else:
            found = self.analyzer.detector.detect(rgb)
            boxes, scores = [d.box for d in found], [d.score for d in found]
        observations: list[FaceObservation] = []
        if boxes:
            shapes = [self.analyzer.landmarks.shape(rgb, box) for box in boxes]
            chips = face_chips(rgb, shapes)
            raw = self.analyzer.embedder.embed(chips)
            landmarks = np.stack([shape_to_array(s) for s in shapes]).astype(np.float32)
            box_array = np.array(boxes, dtype=np.float64)
            score_array = np.array(scores, dtype=np.float64)
            quality = face_quality(chips, landmarks, box_array, score_array, raw, self.null_reference)
            clear = is_clear(quality)
            if self.crops:
                clear[:] = True  # a labelled crop is a face by construction; quality still recorded
            body_boxes, visible = upper_body_boxes(box_array, landmarks, (width, height))
            has_body = visible >= UPPER_BODY.min_visible_fraction
            body = np.zeros((len(boxes), 0), np.float32)
            if has_body.any() and not self.crops:
                body = self.body_embedder.embed(rgb, body_boxes[has_body])
            body_rows = iter(body)
            face_embeddings = l2_normalise(raw.astype(np.float32))
            for i, box in enumerate(boxes):
                with_body = bool(has_body[i]) and not self.crops
                observations.append(
                    FaceObservation(
                        face_box=tuple(float(v) for v in box),  # type: ignore[arg-type]
                        landmarks=landmarks[i],
                        detector_score=float(scores[i]),
                        body_box=tuple(float(v) for v in body_boxes[i]) if with_body else None,  # type: ignore[arg-type]
                        face_embedding=face_embeddings[i],
                        body_embedding=next(body_rows) if with_body else None,
                        quality=float(quality[i]),
                        is_clear=bool(clear[i]),
                    )
                )
        name_faces(observations, regions, width, height)
        return observations


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
            if obs.source != "detector" or i in taken:
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
