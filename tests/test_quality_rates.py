"""The unclear-face score on a modest sample of benchmarks/bench_quality.py's measurement.

Real faces (lfw_min10 through the HOG detector) must be kept, background windows of real photos
pushed through the same landmarks -> chip -> descriptor path must be rejected. The full run
(`python benchmarks/bench_quality.py`) uses every lfw_min10 photo; this one a random 150.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from recognition.body_settings import QUALITY
from recognition.face_embed import FaceEmbedder
from recognition.quality import face_quality, is_clear, null_reference, null_reference_chips

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_quality.py"


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_quality", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def measured(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    bench = _load_benchmark()
    rng = np.random.default_rng(7)
    faces, _ = bench.lfw_faces(shared_data, 150, rng)
    others = bench.non_faces(shared_data, {"dlib_faces_det": 15, "deepface": 3}, 120, rng, faces.scores)
    embedder = FaceEmbedder(tmp_path_factory.mktemp("face_models"))
    result, _ = bench.measure(faces, others, embedder, compare_cues=False)
    return bench, faces, others, embedder, result


def test_keeps_lfw_faces_and_rejects_background_windows(measured) -> None:  # type: ignore[no-untyped-def]
    _, faces, others, _, result = measured
    assert len(faces) >= 145 and len(others) >= 200
    assert result.keep_rate >= 0.98
    assert result.reject_rate >= 0.90


def test_face_quality_agrees_with_the_measurement(measured) -> None:  # type: ignore[no-untyped-def]
    _, faces, _, embedder, result = measured
    reference = null_reference(embedder.embed(null_reference_chips()))
    scores = face_quality(faces.chips, faces.landmarks, faces.boxes, faces.scores,
                          embedder.embed(faces.chips), reference)
    np.testing.assert_allclose(scores, result.face_scores, atol=1e-9)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.mean(is_clear(scores)) == result.keep_rate


def test_blur_and_a_turned_head_lower_the_score(measured) -> None:  # type: ignore[no-untyped-def]
    import cv2

    _, faces, _, embedder, _ = measured
    reference = null_reference(embedder.embed(null_reference_chips()))
    i = int(np.argmax(faces.scores))  # the most confident face of the sample
    chip = faces.chips[i]
    blurred = cv2.GaussianBlur(chip, (0, 0), 4)
    chips = np.stack([chip, blurred])
    turned = faces.landmarks[i].copy()
    eye_distance = np.linalg.norm(turned[0:2].mean(0) - turned[2:4].mean(0))
    turned[4, 0] += 0.5 * eye_distance  # nose half an eye distance off the midline
    lms = np.stack([faces.landmarks[i], faces.landmarks[i]])
    boxes = np.stack([faces.boxes[i], faces.boxes[i]])
    scores = np.array([faces.scores[i]] * 2)
    sharp_q, blur_q = face_quality(chips, lms, boxes, scores, embedder.embed(chips), reference)
    assert sharp_q >= QUALITY.threshold > blur_q
    turned_q = face_quality(chip[None], turned[None], faces.boxes[i][None], scores[:1],
                            embedder.embed(chip[None]), reference)[0]
    assert turned_q < sharp_q
