"""Face detection on dlib_faces_det (hand-drawn boxes, faces down to ~37 px)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memories.evaluation.datasets import read_image_rgb
from memories.evaluation.detection import evaluate_detection, match_count
from recognition import settings
from recognition.boxes import box_iou
from recognition.detect import MmodDetector, greedy_nms, working_scale


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.parametrize("detector", ["hog", "mmod"])
def test_detectors_meet_the_targets(shared_data: Path, model_cache: Path, detector: str) -> None:
    # faces down to 37 px in 500 px photos
    result = evaluate_detection(shared_data / "dlib_faces_det", detector, cache_dir=model_cache)
    assert result["faces"] == 43
    assert result["recall"] >= 0.97
    assert result["precision"] >= 0.95


def test_mmod_finds_the_faces_dlib_finds(shared_data: Path, model_cache: Path) -> None:
    import dlib

    from recognition import models
    from recognition.detect import resize

    detector = MmodDetector(cache_dir=model_cache)
    # The same faces as dlib's own CNN detector on the same working copy. Our pyramid levels are
    # resized by OpenCV, dlib's by pyramid_down<6>'s filter, so scores differ in the third decimal and
    # the winning window can be a neighbouring cell or level: boxes overlap, they are not identical.
    rgb = read_image_rgb(shared_data / "dlib_faces_det" / "images" / "2008_002506.jpg")
    scale = working_scale(rgb.shape[0], rgb.shape[1], min_face_px=settings.DETECTION.mmod_min_face_px)
    cnn = dlib.cnn_face_detection_model_v1(str(models.source_path(models.MMOD_FACE_DETECTOR)))
    theirs = [d.rect for d in cnn(resize(rgb, scale), 0)]
    their_boxes = np.array([(r.left(), r.top(), r.width(), r.height()) for r in theirs], float) / scale
    ours = detector.detect(rgb)
    assert len(ours) == len(theirs) == 3
    assert match_count(their_boxes, np.array([d.box for d in ours]), 0.5) == 3
    assert all(d.score > 0 for d in ours)


def test_working_scale_upsamples_small_photos_and_caps_large_ones() -> None:
    assert working_scale(375, 500) == pytest.approx(2.0)
    assert working_scale(3000, 4000) == pytest.approx(settings.DETECTION.max_working_side / 4000)
    assert working_scale(375, 500, min_face_px=32) == pytest.approx(2.5)


def test_box_helpers() -> None:
    a = np.array([[0, 0, 10, 10], [100, 100, 10, 10]], float)
    b = np.array([[5, 0, 10, 10]], float)
    assert box_iou(a, b)[:, 0] == pytest.approx([50 / 150, 0.0])
    boxes = np.array([[0, 0, 10, 10], [1, 0, 10, 10], [50, 50, 10, 10]], float)
    assert greedy_nms(boxes, np.array([0.5, 0.9, 0.1]), 0.3).tolist() == [1, 2]
    assert match_count(a, b, 0.3) == 1 and match_count(a, b, 0.4) == 0
