"""The one recognition call: photo in, face readings out.

detect -> 5 landmarks -> dlib face chip -> 128-d descriptor (mirror-averaged, L2-normalised) ->
quality score and clear/unclear verdict -> people on the whole photo, paired with the faces ->
upper-body box and embedding per face, and the people without a face (`BodyReading`).
`memories index`, the evaluation commands and the benchmarks all call `FaceAnalyzer.observe`
(or `observe_photo`, which adds the faceless people), so what is measured is what ships.

Detection runs on a working copy (see `settings.DetectionSettings`); landmarks and chips are taken
from the original pixels with the box mapped back, so the chip has the photo's full resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recognition import models, settings
from recognition.align import face_chips
from recognition.boxes import Detection
from recognition.detect import FaceDetector, make_detector
from recognition.embeddings import unit_rows
from recognition.face_embed import FaceEmbedder
from recognition.landmarks import LandmarkPredictor, shape_to_array
from recognition.quality import combine_terms, is_clear, null_reference_from, quality_cues, terms_from_cues

if TYPE_CHECKING:
    from recognition.body_embed import BodyEmbedder
    from recognition.person_detect import PersonDetector

Box = tuple[float, float, float, float]  # x, y, w, h in original pixels


@dataclass(frozen=True)
class FaceReading:
    """One face as the recognition layer sees it."""

    box: Box
    score: float  # detector confidence (HOG/MMOD score; 0.0 when the box was given)
    landmarks: np.ndarray  # 5 x 2 float32, original pixels
    embedding: np.ndarray  # 128 float32, L2-normalised
    quality: float  # recognition.quality score in [0, 1]
    is_clear: bool  # quality reaches the unclear-face threshold
    cues: np.ndarray  # 5 float64: the quality score's raw cues (recognition.quality.quality_cues)
    body_box: Box | None = None  # upper body, when enough of it is in frame (and bodies are on)
    body_embedding: np.ndarray | None = None


@dataclass(frozen=True)
class BodyReading:
    """A person the detector found with no face (turned away, covered): known by clothes alone."""

    box: Box  # the whole person
    score: float  # person detector confidence
    body_box: Box  # the upper body, what is embedded
    body_embedding: np.ndarray


class FaceAnalyzer:
    """Loads the models once (per process) and observes photos.

    bodies: also find people on the whole photo, embed the upper body of each face (from the
    person paired with it by recognition.body.associate_bodies, else below the face) and report
    people without a face (what `memories index` stores; the evaluation of faces alone switches
    it off, since it changes nothing about the face).
    """

    def __init__(
        self,
        detector: str | FaceDetector | None = None,
        detection: settings.DetectionSettings = settings.DETECTION,
        cache_dir: str | Path | None = None,
        bodies: bool = False,
    ) -> None:
        self.detection = detection
        self.cache_dir = cache_dir
        self._detector_arg = detector
        self._detector: FaceDetector | None = None if isinstance(detector, str | None) else detector
        self.landmarks = LandmarkPredictor()
        self.embedder = FaceEmbedder(cache_dir)
        self.bodies = bodies
        self._body_embedder: BodyEmbedder | None = None
        self._person_detector: PersonDetector | None = None
        self._null_reference: np.ndarray | None = None

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            name = self._detector_arg if isinstance(self._detector_arg, str) else None
            self._detector = make_detector(name, self.detection, self.cache_dir)
        return self._detector

    @property
    def null_reference(self) -> np.ndarray:
        """The network's answer for non-faces (recognition.quality), made once per analyzer."""
        if self._null_reference is None:
            self._null_reference = null_reference_from(self.embedder.embed)
        return self._null_reference

    @property
    def body_embedder(self) -> BodyEmbedder:
        if self._body_embedder is None:
            from recognition.body_embed import BodyEmbedder

            self._body_embedder = BodyEmbedder(models.onnx_path(models.MOBILENET_V2_BODY, self.cache_dir))
        return self._body_embedder

    @property
    def person_detector(self) -> PersonDetector:
        if self._person_detector is None:
            from recognition.person_detect import PersonDetector

            self._person_detector = PersonDetector(cache_dir=self.cache_dir)
        return self._person_detector

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Face boxes of an H x W x 3 uint8 RGB photo, best detector score first."""
        return self.detector.detect(np.ascontiguousarray(rgb))

    def observe(
        self, rgb: np.ndarray, detections: Sequence[Detection] | None = None, crop: bool = False
    ) -> list[FaceReading]:
        """Every face of the photo (detected here unless `detections` are given), fully observed.

        crop: the whole image is one face (a pre-cropped face): landmarks are found inside it and
        it counts as clear whatever its quality score (a labelled crop is a face by construction).
        """
        return self.observe_photo(rgb, detections, crop)[0]

    def observe_photo(
        self,
        rgb: np.ndarray,
        detections: Sequence[Detection] | None = None,
        crop: bool = False,
        bodies: bool | None = None,
    ) -> tuple[list[FaceReading], list[BodyReading]]:
        """The photo's faces (as `observe`) and, with bodies on, its people without a face.

        bodies: overrides the analyzer's setting for this call (a video's sampled frames are
        observed without bodies; the one frame kept per face track with them)."""
        rgb = np.ascontiguousarray(rgb)
        height, width = rgb.shape[:2]
        if crop:
            detections = [Detection((0.0, 0.0, float(width), float(height)), 0.0)]
        elif detections is None:
            detections = self.detect(rgb)
        detections = list(detections or [])
        boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
        scores = np.array([d.score for d in detections], np.float64)
        if len(boxes):
            shapes = [self.landmarks.shape(rgb, d.box) for d in detections]
            chips = face_chips(rgb, shapes)
            raw = self.embedder.embed(chips)
            landmarks = np.stack([shape_to_array(s) for s in shapes]).astype(np.float32)
            cues = quality_cues(chips, landmarks, boxes, scores, raw, self.null_reference)
            quality = combine_terms(terms_from_cues(cues))
            clear = np.ones(len(boxes), bool) if crop else is_clear(quality)
            embeddings = unit_rows(raw)
        has_body = np.zeros(len(boxes), bool)
        found_bodies: list[BodyReading] = []
        if (self.bodies if bodies is None else bodies) and not crop:
            body_boxes, has_body, body_embeddings, found_bodies = self._bodies(
                rgb, boxes, landmarks if len(boxes) else None, clear if len(boxes) else np.zeros(0, bool)
            )
        faces = [
            FaceReading(
                box=_box(boxes[i]),
                score=float(scores[i]),
                landmarks=landmarks[i],
                embedding=embeddings[i],
                quality=float(quality[i]),
                is_clear=bool(clear[i]),
                cues=cues[i],
                body_box=_box(body_boxes[i]) if has_body[i] else None,
                body_embedding=body_embeddings[i] if has_body[i] else None,
            )
            for i in range(len(boxes))
        ]
        return faces, found_bodies

    def _bodies(
        self, rgb: np.ndarray, face_boxes: np.ndarray, landmarks: np.ndarray | None, clear: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[BodyReading]]:
        """Each face's upper-body box, whether it has one, its embedding; and the faceless people
        (a person holding only unclear faces, often a detector's false face on a pattern, still
        counts as faceless)."""
        from recognition.body import (
            NO_BODY,
            associate_bodies,
            clip_boxes,
            faceless_people,
            person_upper_bodies,
            upper_body_boxes,
        )
        from recognition.body_settings import UPPER_BODY

        height, width = rgb.shape[:2]
        body_boxes, visible = upper_body_boxes(face_boxes, landmarks, (width, height))
        has_body = visible >= UPPER_BODY.min_visible_fraction
        people = self.person_detector.detect(rgb)
        person_boxes = np.array([p.box for p in people], np.float64).reshape(-1, 4)
        person_scores = np.array([p.score for p in people], np.float64)
        upper = clip_boxes(person_upper_bodies(person_boxes), (width, height))
        paired = associate_bodies(face_boxes, upper, landmarks) if len(upper) else np.full(len(face_boxes), NO_BODY)
        for i, j in enumerate(paired.tolist()):
            if j != NO_BODY:  # the person found with this face frames its clothes
                body_boxes[i], has_body[i] = upper[j], True
        faceless = faceless_people(person_boxes, person_scores, face_boxes[clear], paired)
        to_embed = np.concatenate([body_boxes[has_body], upper[faceless]])
        embedded = self.body_embedder.embed(rgb, to_embed)
        embeddings = np.zeros((len(face_boxes), self.body_embedder.dim), np.float32)
        embeddings[has_body] = embedded[: int(has_body.sum())]
        bodies = [
            BodyReading(
                box=_box(person_boxes[j]), score=float(person_scores[j]), body_box=_box(upper[j]),
                body_embedding=embedded[int(has_body.sum()) + k],
            )
            for k, j in enumerate(faceless.tolist())
        ]
        return body_boxes, has_body, embeddings, bodies


def _box(row: np.ndarray) -> Box:
    x, y, w, h = (float(v) for v in row)
    return (x, y, w, h)


def centre_detection(detections: Sequence[Detection], height: int, width: int) -> Detection:
    """The detection whose box centre is nearest the image centre (the labelled face of a set
    whose dataset.json says "labelled_face": "centre")."""
    centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in (d.box for d in detections)])
    return detections[int(np.argmin(np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)))]
