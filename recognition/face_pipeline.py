"""Photo in, faces out: detect -> 5 landmarks -> dlib face chip -> 128-d descriptor.

Detection runs on a working copy (see `settings.DetectionSettings`); landmarks and chips are taken
from the original pixels with the box mapped back, so the chip has the photo's full resolution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognition import settings
from recognition.align import face_chips
from recognition.detect import FaceDetector, make_detector
from recognition.face_embed import FaceEmbedder
from recognition.landmarks import LandmarkPredictor, shape_to_array


@dataclass
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h in original pixels
    score: float  # detector confidence (HOG/MMOD score; 0.0 for analyze_crop)
    landmarks: np.ndarray  # 5 x 2 float32, original pixels
    embedding: np.ndarray  # 128 float32, raw (not normalised)


class FaceAnalyzer:
    def __init__(
        self,
        detector: str | FaceDetector | None = None,
        detection: settings.DetectionSettings = settings.DETECTION,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.detection = detection
        self.cache_dir = cache_dir
        self._detector_arg = detector
        self._detector: FaceDetector | None = None if isinstance(detector, str | None) else detector
        self.landmarks = LandmarkPredictor()
        self.embedder = FaceEmbedder(cache_dir)

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            name = self._detector_arg if isinstance(self._detector_arg, str) else None
            self._detector = make_detector(name, self.detection, self.cache_dir)
        return self._detector

    def _faces(
        self, rgb: np.ndarray, boxes: list[tuple[float, float, float, float]], scores: list[float]
    ) -> list[Face]:
        shapes = [self.landmarks.shape(rgb, box) for box in boxes]
        embeddings = self.embedder.embed(face_chips(rgb, shapes))
        return [
            Face(box=box, score=score, landmarks=shape_to_array(shape), embedding=emb)
            for box, score, shape, emb in zip(boxes, scores, shapes, embeddings, strict=True)
        ]

    def analyze(self, rgb: np.ndarray) -> list[Face]:
        """All faces in an H x W x 3 uint8 RGB photo, best detector score first."""
        rgb = np.ascontiguousarray(rgb)
        found = self.detector.detect(rgb)
        return self._faces(rgb, [d.box for d in found], [d.score for d in found])

    def analyze_batch(self, photos: list[np.ndarray]) -> list[list[Face]]:
        """analyze() over several photos, embedding all their faces in full batches (faster for
        one-face photos: batch 16 costs ~5 ms a face against ~8 ms one at a time)."""
        per_photo = []
        all_chips = []
        for rgb in photos:
            rgb = np.ascontiguousarray(rgb)
            found = self.detector.detect(rgb)
            shapes = [self.landmarks.shape(rgb, d.box) for d in found]
            per_photo.append((found, shapes))
            all_chips.append(face_chips(rgb, shapes))
        embeddings = self.embedder.embed(np.concatenate(all_chips)) if all_chips else np.zeros((0, 128))
        out: list[list[Face]] = []
        i = 0
        for found, shapes in per_photo:
            faces = []
            for d, shape in zip(found, shapes, strict=True):
                faces.append(Face(d.box, d.score, shape_to_array(shape), embeddings[i]))
                i += 1
            out.append(faces)
        return out

    def analyze_crop(self, rgb: np.ndarray) -> Face:
        """The whole image is the face box (pre-cropped faces): landmarks inside it, then embed."""
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        return self._faces(rgb, [(0.0, 0.0, float(w), float(h))], [0.0])[0]


@functools.lru_cache(maxsize=4)
def shared_analyzer(detector: str | None = None, cache_dir: str | None = None) -> FaceAnalyzer:
    """One analyzer per process (models loaded once), for process-pool workers: call it inside the
    worker, never pickle an analyzer (dlib and onnxruntime objects stay in the process that made them)."""
    return FaceAnalyzer(detector=detector, cache_dir=cache_dir)
