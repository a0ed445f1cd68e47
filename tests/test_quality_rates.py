"""The unclear-face score against labelled faces and non-faces, and against a second implementation.

What each photo or window should get comes from the data sets' labels, never from the code under
test (the benchmark, benchmarks/bench_quality.py, calls the same code, so it is not used here):
- faces: a seeded sample of lfw_min10 photos, each centred on its labelled person (dataset.json:
  `"labelled_face": "centre"`): the face nearest the centre must be kept;
- non-faces: square windows of the nine annotated dlib_faces_det photos that stay clear of every
  hand-drawn face box (grown by half a box on each side): they must be rejected. A window is pushed
  through the same landmarks -> chip -> descriptor path as if the detector had fired there, with
  the faces' median detector score, so the detector term cannot tell the two sets apart.

`face_quality` on both sets is also checked against `_reference_quality`, a plain per-face
reimplementation of the formula in recognition/quality.py's docstring and QualitySettings (numpy
and math only: no cv2, no function of recognition.quality), and `combine_terms` against
hand-worked values.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recognition.body_settings import QUALITY
from recognition.quality import combine_terms, face_quality, is_clear, null_reference, null_reference_chips

FACES = 60  # lfw_min10 photos
WINDOWS_PER_PHOTO = 12  # dlib_faces_det background windows per annotated photo
MIN_WINDOW = 40
SCORE_TOLERANCE = 5e-3  # the reference's grey conversion rounds like cv2's within one level


@dataclass
class Sample:
    chips: np.ndarray  # [N, 150, 150, 3] uint8
    landmarks: np.ndarray  # [N, 5, 2]
    boxes: np.ndarray  # [N, 4] xywh
    scores: np.ndarray  # [N] detector scores
    embeddings: np.ndarray  # [N, 128] raw descriptors


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def _sample(items: list[tuple[np.ndarray, np.ndarray, float]], embedder) -> Sample:  # type: ignore[no-untyped-def]
    from recognition.align import face_chips
    from recognition.landmarks import LandmarkPredictor, shape_to_array

    predictor = LandmarkPredictor()
    chips, landmarks = [], []
    for rgb, box, _ in items:
        shape = predictor.shape(rgb, tuple(box))
        chips.append(face_chips(rgb, [shape])[0])
        landmarks.append(shape_to_array(shape))
    chip_array = np.stack(chips)
    return Sample(
        chip_array,
        np.stack(landmarks).astype(np.float64),
        np.array([box for _, box, _ in items], dtype=np.float64),
        np.array([score for *_, score in items], dtype=np.float64),
        embedder.embed(chip_array),
    )


def _clear_of(box: np.ndarray, faces: np.ndarray) -> bool:
    """True when the window does not touch any face box grown by half its size on each side."""
    x, y, w, h = box
    for fx, fy, fw, fh in faces:
        gx, gy, gw, gh = fx - fw / 2, fy - fh / 2, fw * 2, fh * 2
        if x < gx + gw and gx < x + w and y < gy + gh and gy < y + h:
            return False
    return True


@pytest.fixture(scope="module")
def labelled(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from recognition.detect import HogDetector
    from recognition.face_embed import FaceEmbedder

    rng = np.random.default_rng(7)
    detector, embedder = HogDetector(), FaceEmbedder(tmp_path_factory.mktemp("face_models"))
    lfw = shared_data / "lfw_min10"
    with open(lfw / "labels.csv", encoding="utf-8") as handle:
        paths = [lfw / row["image"] for row in csv.DictReader(handle)]
    face_items = []
    missed = 0
    for i in sorted(rng.choice(len(paths), FACES, replace=False)):
        rgb = _rgb(paths[i])
        found = detector.detect(rgb)
        if not found:
            missed += 1
            continue
        cx, cy = rgb.shape[1] / 2, rgb.shape[0] / 2
        best = min(
            found, key=lambda d: math.hypot(d.box[0] + d.box[2] / 2 - cx, d.box[1] + d.box[3] / 2 - cy)
        )
        face_items.append((rgb, np.array(best.box, dtype=np.float64), float(best.score)))
    assert missed <= 2, f"HOG found no face in {missed} of {FACES} lfw_min10 photos"
    typical_score = float(np.median([score for *_, score in face_items]))

    det = shared_data / "dlib_faces_det"
    truth = json.loads((det / "boxes.json").read_text(encoding="utf-8"))
    window_items = []
    for split in truth.values():
        for name, entry in sorted(split.items()):
            rgb = _rgb(det / name)
            faces = np.array(entry["faces_xywh"], dtype=np.float64).reshape(-1, 4)
            height, width = rgb.shape[:2]
            kept = 0
            for _ in range(400):
                if kept == WINDOWS_PER_PHOTO:
                    break
                side = rng.uniform(MIN_WINDOW, min(width, height) / 2)
                box = np.array([rng.uniform(0, width - side), rng.uniform(0, height - side), side, side])
                if _clear_of(box, faces):
                    window_items.append((rgb, box, typical_score))
                    kept += 1
    reference_embeddings = embedder.embed(null_reference_chips())
    return _sample(face_items, embedder), _sample(window_items, embedder), reference_embeddings, embedder


# -- a second implementation of the score, one face at a time --------------------------------------


def _ramp(value: float, bad: float, good: float) -> float:
    return min(1.0, max(0.0, (value - bad) / (good - bad)))


def _log_laplacian_variance(chip: np.ndarray) -> float:
    """log10 of the variance of the 4-neighbour Laplacian of the chip's luma (ITU-R BT.601 weights,
    rounded to whole grey levels), borders mirrored without repeating the edge pixel."""
    rgb = chip.astype(np.float64)
    grey = np.floor(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114 + 0.5)
    padded = np.pad(grey, 1, mode="reflect")
    laplacian = (
        padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * padded[1:-1, 1:-1]
    )
    return math.log10(float(laplacian.var()) + 1e-6)


def _pose(points: np.ndarray) -> float:
    """Nose offset from the eyes' midpoint along the eye line (in eye distances, doubled), or one
    minus the narrower eye's width over the wider one's, whichever is larger."""
    (a1, a2, b1, b2, nose) = [tuple(map(float, p)) for p in points]
    eye_a = ((a1[0] + a2[0]) / 2, (a1[1] + a2[1]) / 2)
    eye_b = ((b1[0] + b2[0]) / 2, (b1[1] + b2[1]) / 2)
    dx, dy = eye_a[0] - eye_b[0], eye_a[1] - eye_b[1]
    eye_distance = max(math.hypot(dx, dy), 1e-9)
    middle = ((eye_a[0] + eye_b[0]) / 2, (eye_a[1] + eye_b[1]) / 2)
    along = ((nose[0] - middle[0]) * dx + (nose[1] - middle[1]) * dy) / eye_distance
    offset = along / eye_distance
    width_a, width_b = math.dist(a1, a2), math.dist(b1, b2)
    ratio = min(width_a, width_b) / max(width_a, width_b, 1e-9)
    return max(2 * abs(offset), 1 - ratio)


def _reference_cues(sample: Sample, null_embeddings: np.ndarray) -> np.ndarray:
    """[N, 5] raw cues: face size, log Laplacian variance, pose, detector score, null distance."""
    units = [e / np.linalg.norm(e) for e in null_embeddings.astype(np.float64)]
    mean = np.sum(units, axis=0) / len(units)
    reference = mean / np.linalg.norm(mean)
    rows = []
    for chip, points, (_, _, w, h), score, embedding in zip(
        sample.chips, sample.landmarks, sample.boxes, sample.scores, sample.embeddings, strict=True
    ):
        unit = embedding.astype(np.float64) / np.linalg.norm(embedding.astype(np.float64))
        rows.append(
            [
                math.sqrt(max(w * h, 0.0)),
                _log_laplacian_variance(chip),
                _pose(points),
                float(score),
                float(np.linalg.norm(unit - reference)),
            ]
        )
    return np.array(rows)


def _reference_quality(sample: Sample, null_embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, 5] terms and [N] scores: each cue ramped between its bad and good value, the weighted
    geometric mean of the terms, 0 when any term is 0."""
    s = QUALITY
    ramps = [
        (s.size_bad, s.size_good),
        (s.sharpness_bad, s.sharpness_good),
        (s.pose_bad, s.pose_good),
        (s.detector_bad, s.detector_good),
        (s.null_distance_bad, s.null_distance_good),
    ]
    weights = [s.size_weight, s.sharpness_weight, s.pose_weight, s.detector_weight, s.embedding_weight]
    all_terms, scores = [], []
    for cues in _reference_cues(sample, null_embeddings):
        terms = [_ramp(float(value), bad, good) for value, (bad, good) in zip(cues, ramps, strict=True)]
        all_terms.append(terms)
        if min(terms) <= 0:
            scores.append(0.0)
        else:
            scores.append(math.prod(t ** (wt / sum(weights)) for t, wt in zip(terms, weights, strict=True)))
    return np.array(all_terms), np.array(scores)


def _score(sample: Sample, null_embeddings: np.ndarray) -> np.ndarray:
    return face_quality(
        sample.chips,
        sample.landmarks,
        sample.boxes,
        sample.scores,
        sample.embeddings,
        null_reference(null_embeddings),
    )


# -- the tests ----------------------------------------------------------------------------------------


def test_combined_score_hand_worked() -> None:
    # weights 1, 1, 1, 1, 2 (sum 6): one plain term at 0.5 gives 0.5^(1/6), the embedding term 0.5^(2/6)
    terms = np.array([[0.5, 1, 1, 1, 1], [1, 1, 1, 1, 0.5], [0.25, 1, 1, 1, 0.5], [1, 1, 0, 1, 1]])
    np.testing.assert_allclose(combine_terms(terms), [0.890899, 0.793701, 0.629961, 0.0], atol=1e-6)


def test_reference_implementation_hand_worked() -> None:
    """The second implementation itself, on a face whose terms are worked out by hand."""
    eye = 40.0
    points = np.array([[128.0, 100], [112, 100], [88, 100], [72, 100], [100, 128]])  # frontal: pose 0
    assert _pose(points) == pytest.approx(0.0, abs=1e-12)
    turned = points.copy()
    turned[4, 0] += 0.25 * eye  # nose a quarter of an eye distance off the midline: 2 x 0.25
    assert _pose(turned) == pytest.approx(0.5)
    flat = np.full((150, 150, 3), 90, np.uint8)
    assert _log_laplacian_variance(flat) == pytest.approx(-6.0)  # log10(0 + 1e-6)
    stripes = np.zeros((150, 150, 3), np.uint8)
    stripes[:, ::2] = 100  # columns 0, 100, 0, ...: Laplacian -200 / +200 inside, mirrored at the edges
    assert _log_laplacian_variance(stripes) == pytest.approx(math.log10(200.0**2), abs=1e-6)


@pytest.mark.slow
def test_keeps_lfw_faces_and_rejects_background_windows(labelled) -> None:  # type: ignore[no-untyped-def]
    faces, windows, null_embeddings, _ = labelled
    assert len(faces.chips) >= FACES - 2 and len(windows.chips) >= 9 * WINDOWS_PER_PHOTO - 4
    kept = is_clear(_score(faces, null_embeddings))
    rejected = ~is_clear(_score(windows, null_embeddings))
    assert kept.mean() >= 0.98, f"{int((~kept).sum())} of {len(kept)} lfw faces taken for unclear"
    assert rejected.mean() >= 0.90, f"{int((~rejected).sum())} of {len(rejected)} background windows kept"


@pytest.mark.slow
def test_face_quality_equals_a_second_implementation(labelled) -> None:  # type: ignore[no-untyped-def]
    from recognition.quality import chip_sharpness, face_size, null_distance, pose_asymmetry, quality_terms

    faces, windows, null_embeddings, _ = labelled
    reference = null_reference(null_embeddings)
    for sample in (faces, windows):
        cues = _reference_cues(sample, null_embeddings)
        np.testing.assert_allclose(face_size(sample.boxes), cues[:, 0], rtol=1e-12)
        np.testing.assert_allclose(chip_sharpness(sample.chips), cues[:, 1], atol=SCORE_TOLERANCE)
        np.testing.assert_allclose(pose_asymmetry(sample.landmarks), cues[:, 2], atol=1e-9)
        np.testing.assert_allclose(null_distance(sample.embeddings, reference), cues[:, 4], atol=1e-9)
        expected_terms, expected = _reference_quality(sample, null_embeddings)
        terms = quality_terms(
            sample.chips, sample.landmarks, sample.boxes, sample.scores, sample.embeddings, reference
        )
        np.testing.assert_allclose(terms, expected_terms, atol=SCORE_TOLERANCE)
        scores = _score(sample, null_embeddings)
        np.testing.assert_allclose(scores, expected, atol=SCORE_TOLERANCE)
        away = np.abs(expected - QUALITY.threshold) > SCORE_TOLERANCE
        assert (is_clear(scores)[away] == (expected[away] >= QUALITY.threshold)).all()


@pytest.mark.slow
def test_blur_and_a_turned_head_lower_the_score(labelled) -> None:  # type: ignore[no-untyped-def]
    import cv2

    faces, _, null_embeddings, embedder = labelled
    i = int(np.argmax(faces.scores))  # the most confident face of the sample
    chip = faces.chips[i]
    blurred = cv2.GaussianBlur(chip, (0, 0), 4)
    turned = faces.landmarks[i].copy()
    eye_distance = np.linalg.norm(turned[0:2].mean(0) - turned[2:4].mean(0))
    turned[4, 0] += 0.5 * eye_distance  # nose half an eye distance off the midline
    variants = Sample(
        chips=np.stack([chip, blurred, chip]),
        landmarks=np.stack([faces.landmarks[i], faces.landmarks[i], turned]),
        boxes=np.stack([faces.boxes[i]] * 3),
        scores=np.array([faces.scores[i]] * 3),
        embeddings=embedder.embed(np.stack([chip, blurred, chip])),
    )
    sharp_q, blur_q, turned_q = _score(variants, null_embeddings)
    assert sharp_q >= QUALITY.threshold > blur_q
    assert turned_q < sharp_q
