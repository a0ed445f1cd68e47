"""Unclear-face score: is a detection a clear, usable face? Pure functions over arrays.

Inputs for one face: the 150 x 150 RGB face chip (dlib.get_face_chip, padding 0.25), the 5 dlib
landmarks in image pixels (order in recognition/body.py), the detector box (x, y, w, h), the
detector score and the raw (not normalised) 128-d descriptor of the chip. Each cue becomes a term
in [0, 1] by a linear ramp between a "bad" and a "good" value (QualitySettings), and the score is
their weighted geometric mean, so one hopeless cue (a 10 px face, a smear) sinks the score whatever
the others say. A face is clear when the score reaches ``QualitySettings.threshold``.

Embedding confidence: the distance of the (normalised) descriptor from the *null reference*, the
network's own answer for images with no face at all (flat greys and smooth noise, made here from a
fixed seed; no data set needed). The ResNet maps non-faces close to that answer and faces away from
it. On lfw_min10 faces against background windows this cue alone separates the sets with ROC AUC
0.999, against 0.90 for the raw descriptor's norm and 0.76 for the descriptor's consistency under a
horizontal flip of the chip (benchmarks/bench_quality.py prints all three). With the settings in
body_settings.QualitySettings: 99.9% of lfw_min10 faces kept (4,295 / 4,299), 96.8% of background
windows rejected (1,403 / 1,449); most windows that pass are dog faces and bits of real faces the
window sampler failed to avoid.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from recognition.body_settings import QUALITY, QualitySettings
from recognition.embeddings import unit_rows

TERMS = ("size", "sharpness", "pose", "detector", "embedding")

def ramp(value: np.ndarray | float, bad: float, good: float) -> np.ndarray:
    """0 at ``bad``, 1 at ``good``, linear between, clipped (``bad`` may exceed ``good``)."""
    return np.clip((np.asarray(value, dtype=np.float64) - bad) / (good - bad), 0.0, 1.0)


def face_size(boxes: np.ndarray) -> np.ndarray:
    """sqrt(w * h) of [N, 4] xywh boxes."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.sqrt(np.maximum(b[:, 2] * b[:, 3], 0.0))


def chip_sharpness(chips: np.ndarray) -> np.ndarray:
    """log10 variance of the Laplacian of each grey [N, H, W, 3] uint8 chip (higher = sharper)."""
    arr = np.asarray(chips)
    if arr.ndim == 3:
        arr = arr[None]
    out = np.empty(len(arr))
    for i, chip in enumerate(arr):
        grey = cv2.cvtColor(np.ascontiguousarray(chip, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
        out[i] = np.log10(cv2.Laplacian(grey, cv2.CV_64F).var() + 1e-6)
    return out


def pose_asymmetry(landmarks: np.ndarray) -> np.ndarray:
    """Yaw proxy from the 5 landmarks, [N, 5, 2] -> [N] in [0, 1+] (0 = frontal).

    The largest of: the nose's offset from the midpoint between the eyes along the eye line
    (in eye distances, times 2), and one minus the ratio of the two eyes' corner-to-corner widths
    (the far eye foreshortens as the head turns).
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    eye_a, eye_b = pts[:, 0:2].mean(axis=1), pts[:, 2:4].mean(axis=1)
    across = eye_a - eye_b
    eye_dist = np.maximum(np.linalg.norm(across, axis=1), 1e-9)
    unit = across / eye_dist[:, None]
    nose_offset = np.einsum("ij,ij->i", pts[:, 4] - (eye_a + eye_b) / 2, unit) / eye_dist
    width_a = np.linalg.norm(pts[:, 0] - pts[:, 1], axis=1)
    width_b = np.linalg.norm(pts[:, 2] - pts[:, 3], axis=1)
    width_ratio = np.minimum(width_a, width_b) / np.maximum(np.maximum(width_a, width_b), 1e-9)
    return np.maximum(2 * np.abs(nose_offset), 1 - width_ratio)


def flip_distance(embeddings: np.ndarray, flipped_embeddings: np.ndarray) -> np.ndarray:
    """Distance between the L2-normalised descriptors of a chip and of its mirror image."""
    a = unit_rows(np.asarray(embeddings, dtype=np.float64).reshape(-1, 128)).astype(np.float64)
    b = unit_rows(np.asarray(flipped_embeddings, dtype=np.float64).reshape(-1, 128)).astype(np.float64)
    return np.linalg.norm(a - b, axis=1)


def descriptor_norm(embeddings: np.ndarray) -> np.ndarray:
    """Norm of each raw descriptor (dlib's ResNet does not normalise its output)."""
    return np.linalg.norm(np.asarray(embeddings, dtype=np.float64).reshape(-1, 128), axis=1)


def null_reference_chips(size: int = 150, seed: int = 0) -> np.ndarray:
    """Face-free chips: three flat greys and eight smooth colour-noise images ([11, size, size, 3])."""
    rng = np.random.default_rng(seed)
    chips = [np.full((size, size, 3), level, np.uint8) for level in (64, 128, 192)]
    for sigma in (2.0, 8.0):
        for _ in range(4):
            noise = cv2.GaussianBlur(rng.normal(128, 60, (size, size, 3)), (0, 0), sigma)
            chips.append(np.clip(noise, 0, 255).astype(np.uint8))
    return np.stack(chips)


def null_reference(null_embeddings: np.ndarray) -> np.ndarray:
    """Unit mean direction of the descriptors of :func:`null_reference_chips` ([K, 128] -> [128])."""
    mean = unit_rows(np.asarray(null_embeddings, dtype=np.float64)).mean(axis=0, dtype=np.float64)
    return unit_rows(mean).astype(np.float64)


def null_reference_from(embed: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """:func:`null_reference` for a descriptor function (chips [N, 150, 150, 3] uint8 -> [N, 128])."""
    return null_reference(embed(null_reference_chips()))


def null_distance(embeddings: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance of each L2-normalised descriptor from the unit null reference."""
    ref = np.asarray(reference, dtype=np.float64)
    unit = unit_rows(np.asarray(embeddings, dtype=np.float64)).reshape(-1, len(ref)).astype(np.float64)
    return np.linalg.norm(unit - ref[None], axis=1)


def quality_cues(chips: np.ndarray, landmarks: np.ndarray, boxes: np.ndarray, detector_scores: np.ndarray,
                 embeddings: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """[N, 5] raw cues in :data:`TERMS` order, before the ramps: size (px), log10 Laplacian
    variance, yaw proxy, detector score, null distance; ``reference`` from :func:`null_reference`."""
    return np.stack([
        face_size(boxes), chip_sharpness(chips), pose_asymmetry(landmarks),
        np.asarray(detector_scores, dtype=np.float64).reshape(-1), null_distance(embeddings, reference),
    ], axis=1)


def terms_from_cues(cues: np.ndarray, settings: QualitySettings = QUALITY) -> np.ndarray:
    """[N, 5] cues -> [N, 5] terms in [0, 1]: each cue's ramp between its bad and good value."""
    c, s = np.asarray(cues, dtype=np.float64).reshape(-1, len(TERMS)), settings
    return np.stack([
        ramp(c[:, 0], s.size_bad, s.size_good), ramp(c[:, 1], s.sharpness_bad, s.sharpness_good),
        ramp(c[:, 2], s.pose_bad, s.pose_good), ramp(c[:, 3], s.detector_bad, s.detector_good),
        ramp(c[:, 4], s.null_distance_bad, s.null_distance_good),
    ], axis=1)


def quality_terms(chips: np.ndarray, landmarks: np.ndarray, boxes: np.ndarray, detector_scores: np.ndarray,
                  embeddings: np.ndarray, reference: np.ndarray,
                  settings: QualitySettings = QUALITY) -> np.ndarray:
    """[N, 5] terms in [0, 1], columns in :data:`TERMS` order; ``reference`` from :func:`null_reference`."""
    return terms_from_cues(quality_cues(chips, landmarks, boxes, detector_scores, embeddings, reference), settings)


def combine_terms(terms: np.ndarray, settings: QualitySettings = QUALITY) -> np.ndarray:
    """Weighted geometric mean of [N, 5] terms -> [N] scores in [0, 1]."""
    weights = np.array([settings.size_weight, settings.sharpness_weight, settings.pose_weight,
                        settings.detector_weight, settings.embedding_weight], dtype=np.float64)
    weights = weights / weights.sum()
    logs = np.log(np.maximum(np.asarray(terms, dtype=np.float64), 1e-12))
    score = np.exp(logs @ weights)
    return np.where((np.asarray(terms) <= 0).any(axis=1), 0.0, score)


def face_quality(chips: np.ndarray, landmarks: np.ndarray, boxes: np.ndarray, detector_scores: np.ndarray,
                 embeddings: np.ndarray, reference: np.ndarray,
                 settings: QualitySettings = QUALITY) -> np.ndarray:
    """[N] quality scores in [0, 1] (see the module docstring)."""
    terms = quality_terms(chips, landmarks, boxes, detector_scores, embeddings, reference, settings)
    return combine_terms(terms, settings)


def is_clear(scores: np.ndarray, settings: QualitySettings = QUALITY) -> np.ndarray:
    """[N] bool: score at or above the threshold."""
    return np.asarray(scores) >= settings.threshold
