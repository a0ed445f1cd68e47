"""Face detection on dlib_faces_det (hand-drawn boxes, faces down to ~37 px)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memories.evaluation.datasets import read_image_rgb
from memories.evaluation.detection import evaluate_detection, match_count
from recognition import settings
from recognition.boxes import box_iou, greedy_nms
from recognition.detect import MmodDetector, working_scale


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.slow
@pytest.mark.parametrize("detector", ["hog", "mmod", "mtcnn", "blazeface", "fused"])
def test_detectors_meet_the_targets(shared_data: Path, model_cache: Path, detector: str) -> None:
    # faces down to 37 px in 500 px photos; BlazeFace runs through our TensorFlow Lite converter,
    # MTCNN through our cascade, so finding these faces also checks both end to end
    result = evaluate_detection(shared_data / "dlib_faces_det", detector, cache_dir=model_cache)
    assert result["faces"] == 43
    assert result["recall"] >= 0.97 if detector != "fused" else result["recall"] == 1.0
    assert result["precision"] >= 0.95


def test_wider_labels_ignore_invalid_faces_and_break_recall_down(tmp_path: Path) -> None:
    from recognition.boxes import Detection

    (tmp_path / "dataset.json").write_text('{"kind": "photos", "boxes": "boxes.json"}')
    header = "image,face_idx,x,y,w,h,blur,expression,illumination,invalid,occlusion,pose,in_easy,in_medium,in_hard\n"
    rows = [
        "a.png,0,10,10,100,100,0,0,0,0,0,0,1,1,1",  # found
        "a.png,1,200,10,30,30,0,0,0,0,2,1,0,0,1",  # missed: heavily occluded, atypical pose, hard
        "a.png,2,300,10,50,50,0,0,0,1,0,0,0,0,0",  # invalid: its detection counts neither way
    ]
    (tmp_path / "labels.csv").write_text(header + "\n".join(rows) + "\n")
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((400, 400, 3), np.uint8))

    class Fixed:
        name = "fixed"

        def detect(self, rgb: np.ndarray) -> list[Detection]:
            return [Detection((12, 10, 100, 100), 1.0), Detection((300, 12, 50, 50), 0.9), Detection((0, 300, 20, 20), 0.5)]

    result = evaluate_detection(tmp_path, Fixed())
    assert (result["faces"], result["matched"], result["detections"]) == (2, 1, 2)
    assert result["precision"] == 0.5
    b = result["breakdown"]
    assert b["height"][">=80"] == {"recall": 1.0, "faces": 1} and b["height"]["20-40"]["recall"] == 0.0
    assert b["occlusion"] == {"none": {"recall": 1.0, "faces": 1}, "heavy": {"recall": 0.0, "faces": 1}}
    assert b["easy"] == {"recall": 1.0, "faces": 1} and b["hard"] == {"recall": 0.5, "faces": 2}


def test_mtcnn_box_helpers() -> None:
    from recognition.mtcnn import nms, pyramid_scales, squared

    assert squared(np.array([[0.0, 0, 10, 20]])).tolist() == [[-5.0, 0.0, 15.0, 20.0]]
    boxes = np.array([[0.0, 0, 9, 9], [1, 0, 10, 9], [0, 0, 4, 4]])
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    # by the smaller box, the small one inside the first is suppressed too
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5, by_min=True).tolist() == [0]
    # a 20 px face fills the 12 px window at 0.6; levels shrink by the factor while 12 px fit
    scales = pyramid_scales(100, 200, 20.0, 0.5)
    assert scales == pytest.approx([0.6, 0.3, 0.15])


@pytest.mark.slow
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


@pytest.mark.parametrize("rows", [12, 13, 257, 503, 907])
def test_pnet_in_bands_equals_pnet_on_the_whole_level(rows: int) -> None:
    from recognition.mtcnn import Mtcnn

    mtcnn = Mtcnn()
    level = np.random.default_rng(rows).uniform(-1, 1, (rows, 301, 3)).astype(np.float32)
    offsets, probs = mtcnn.pnet_maps(level)
    whole_offsets, whole_probs = mtcnn._pnet.run(None, {"input_1": level.transpose(1, 0, 2)[None]})
    np.testing.assert_array_equal(probs, whole_probs[0, :, :, 1].T)
    np.testing.assert_array_equal(offsets, whole_offsets[0].transpose(1, 0, 2))
