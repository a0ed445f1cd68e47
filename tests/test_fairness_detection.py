"""Detection recall per perceived skin type, gender and age (memories.evaluation.fairness_detection)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memories.evaluation import fairness_detection as fd
from memories.evaluation.datasets import read_image_rgb
from memories.evaluation.detection import TruthFace, detector_boxes
from memories.evaluation.group_rates import GroupRate
from recognition.boxes import Detection
from recognition.detect import make_detector

LABEL_COLUMNS = "image,face_idx,x,y,w,h,blur,expression,illumination,invalid,occlusion,pose,in_easy,in_medium,in_hard"
DEMOGRAPHIC_COLUMNS = "image,face_idx,x,y,w,h,perceived_gender,perceived_age,perceived_skin_fitzpatrick"

# Two synthetic photos told apart by their size. "a": A (50 px) is detected, B (20 px) is not, C is
# invalid. "b": one detection lies on D and, closer, on G (labelled, no demographics): G takes it,
# so D is missed although the detection overlaps it at IoU 0.72; E and F (skin "Not Sure") found.
PHOTOS = {"a.png": (100, 200), "b.png": (120, 200)}  # name -> (height, width)
LABELS = [  # image, box, invalid
    ("a.png", (10, 10, 50, 50), 0),
    ("a.png", (100, 10, 20, 20), 0),
    ("a.png", (150, 60, 30, 30), 1),
    ("b.png", (10, 10, 60, 60), 0),
    ("b.png", (14, 14, 60, 60), 0),
    ("b.png", (90, 10, 60, 60), 0),
    ("b.png", (10, 70, 40, 40), 0),
]
DEMOGRAPHICS = [  # image, box, gender, age, skin
    ("a.png", (10, 10, 50, 50), "Female", "Adult", "I"),  # A
    ("a.png", (100, 10, 20, 20), "Male", "Senior", "V"),  # B
    ("b.png", (10, 10, 60, 60), "Male", "Young Adult", "III"),  # D
    ("b.png", (90, 10, 60, 60), "Female", "Not Sure", "VI"),  # E
    ("b.png", (10, 70, 40, 40), "Not Sure", "Not Sure", "Not Sure"),  # F
]
DETECTIONS = {
    (100, 200): [(10, 10, 50, 50), (150, 60, 30, 30)],
    (120, 200): [(15, 15, 60, 60), (90, 10, 60, 60), (10, 70, 40, 40)],
}


class FixedDetector:
    """Returns the boxes listed for the photo's size; counts its calls."""

    calls = 0

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        FixedDetector.calls += 1
        return [Detection(box, 1.0) for box in DETECTIONS[rgb.shape[:2]]]


def write_set(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    for name, (h, w) in PHOTOS.items():
        Image.new("RGB", (w, h)).save(root / name)
    with (root / "labels.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(LABEL_COLUMNS.split(","))
        for i, (image, box, invalid) in enumerate(LABELS):
            out.writerow([image, i, *box, 0, 0, 0, invalid, 0, 0, 1, 1, 1])
    with (root / "demographics.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(DEMOGRAPHIC_COLUMNS.split(","))
        for i, (image, box, gender, age, skin) in enumerate(DEMOGRAPHICS):
            out.writerow([image, i, *box, gender, age, skin])
    return root


def rates(rows: list[GroupRate]) -> dict[str, tuple[float, int]]:
    return {r.group: (r.rate, r.count) for r in rows}


def test_a_face_counts_as_found_only_when_it_wins_the_one_to_one_matching() -> None:
    truth = [TruthFace(b, invalid=bool(inv)) for image, b, inv in LABELS if image == "b.png"]
    found = np.array(DETECTIONS[(120, 200)], np.float64)
    faces = [(10.0, 10.0, 60.0, 60.0), (90.0, 10.0, 60.0, 60.0)]
    assert fd.faces_found(truth, faces, found, 0.4) == [False, True]  # G took D's detection
    without_g = [t for t in truth if t.box != (14, 14, 60, 60)]
    assert fd.faces_found(without_g, faces, found, 0.4) == [True, True]
    with pytest.raises(ValueError):
        fd.faces_found(truth, [(0.0, 0.0, 5.0, 5.0)], found, 0.4)


def test_recall_per_group_on_a_synthetic_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wider = write_set(tmp_path / "wider")
    monkeypatch.setattr(fd, "make_detector", lambda name: FixedDetector())
    FixedDetector.calls = 0

    def run() -> fd.DetectionFairness:
        return fd.detection_fairness(wider, ("fixed",), cache_dir=tmp_path / "cache", workers=1)

    result = run()
    assert (result.images, result.faces, FixedDetector.calls) == (2, 5, 2)

    (det,) = result.detectors
    tall, every = det.rows[">=40px"], det.rows["all"]
    assert rates(tall["overall"]) == {"all": (0.75, 4)}  # A, D, E, F; D missed
    assert rates(tall["skin"]) == {"I–II": (1.0, 1), "III–IV": (0.0, 1), "V–VI": (1.0, 1)}
    assert rates(tall["gender"]) == {"Female": (1.0, 2), "Male": (0.0, 1)}
    assert rates(tall["age"]) == {"Adult": (1.0, 1), "Young Adult": (0.0, 1)}
    assert [r.group for r in tall["age"]] == ["Young Adult", "Adult"]  # the fixed order
    assert rates(every["overall"]) == {"all": (0.6, 5)}
    assert rates(every["skin"]) == {"I–II": (1.0, 1), "III–IV": (0.0, 1), "V–VI": (0.5, 2)}
    assert rates(every["gender"]) == {"Female": (1.0, 2), "Male": (0.0, 2)}
    assert rates(every["age"]) == {"Young Adult": (0.0, 1), "Adult": (1.0, 1), "Senior": (0.0, 1)}
    assert det.skin_gap == 1.0 and not det.meets_skin_target

    # The second run reads the boxes from the cache: the detector is not asked again.
    assert run() == result and FixedDetector.calls == 2
    text = fd.format_detection_fairness(result)
    assert "fixed skin, faces >= 40 px" in text and "NOT met" in text
    assert json.loads(json.dumps(result.as_dict()))["detectors"]["fixed"]["skin_gap_40px"] == 1.0


@pytest.mark.slow
def test_the_fusion_is_scored_from_its_parts_boxes(shared_data: Path, tmp_path: Path) -> None:
    wider = shared_data / "wider_faces"
    images = sorted({f.image for f in fd.read_demographics(wider)})[:3]
    boxes = fd.boxes_per_image(wider, images, ("fused",), tmp_path, workers=1)["fused"]
    fused = make_detector("fused")
    for image in images:
        direct, _ = detector_boxes(fused, read_image_rgb(wider / image))
        np.testing.assert_allclose(boxes[image], direct)


@pytest.mark.slow
def test_tables_on_the_first_photos_of_wider_faces(shared_data: Path, tmp_path: Path) -> None:
    wider = shared_data / "wider_faces"
    result = fd.detection_fairness(wider, ("blazeface",), cache_dir=tmp_path, workers=1, limit=20)
    faces = fd.read_demographics(wider)
    images = sorted({f.image for f in faces})[:20]
    chosen = [f for f in faces if f.image in images]
    assert (result.images, result.faces) == (20, len(chosen))

    (det,) = result.detectors
    assert det.detector == "blazeface" and list(det.rows) == [">=40px", "all"]
    assert det.rows[">=40px"]["overall"][0].count == sum(f.height >= 40 for f in chosen)
    assert det.rows["all"]["overall"][0].count == len(chosen)
    for by_attribute in det.rows.values():
        assert list(by_attribute) == ["overall", "skin", "gender", "age"]
        for attribute, order in fd.ATTRIBUTE_ORDER.items():
            rows = by_attribute[attribute]
            assert [r.group for r in rows] == [g for g in order if g in {r.group for r in rows}]
            assert sum(r.count for r in rows) <= len(chosen)
            assert all(0 <= r.low <= r.rate <= r.high <= 1 for r in rows)
    skin = sum(f.skin != "Not Sure" for f in chosen)
    assert sum(r.count for r in det.rows["all"]["skin"]) == skin
    text = fd.format_detection_fairness(result)
    assert "blazeface skin, faces >= 40 px" in text and "Skin-type gap" in text
