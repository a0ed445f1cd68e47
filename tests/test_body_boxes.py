"""Upper-body boxes from faces and face-to-body association."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.body import (
    NO_BODY,
    associate_bodies,
    expected_upper_body_boxes,
    face_down_vectors,
    upper_body_boxes,
)
from recognition.body_settings import UPPER_BODY
from recognition.boxes import box_iou


def frontal_landmarks(box: np.ndarray) -> np.ndarray:
    """dlib-order landmarks of an upright frontal face in an xywh box."""
    x, y, w, h = box
    return np.array([
        [x + 0.80 * w, y + 0.40 * h], [x + 0.62 * w, y + 0.40 * h],  # eye seen on the image's right
        [x + 0.20 * w, y + 0.40 * h], [x + 0.38 * w, y + 0.40 * h],  # eye seen on the image's left
        [x + 0.50 * w, y + 0.68 * h],  # nose base
    ])


def rotate(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - centre) @ r.T + centre


def test_dlib_landmark_order_on_a_real_face(shared_data) -> None:
    import dlib
    import face_recognition_models
    from PIL import Image

    models = face_recognition_models.__file__.rsplit("/", 1)[0] + "/models/"
    predictor = dlib.shape_predictor(models + "shape_predictor_5_face_landmarks.dat")
    photo = shared_data / "lfw_min10/images/Abdullah_Gul/Abdullah_Gul_0001.jpg"
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    rect = dlib.get_frontal_face_detector()(rgb, 1)[0]
    pts = np.array([(p.x, p.y) for p in predictor(rgb, rect).parts()], dtype=float)
    # 0 outer / 1 inner corner of the eye seen on the right, 2 outer / 3 inner of the left one, 4 nose
    assert pts[0, 0] > pts[1, 0] > pts[4, 0] > pts[3, 0] > pts[2, 0]
    assert pts[4, 1] > pts[:4, 1].max()
    assert face_down_vectors(pts[None])[0] @ np.array([0.0, 1.0]) > 0.95


def test_upright_face_gets_a_wide_box_below_the_chin() -> None:
    face = np.array([100.0, 50.0, 40.0, 40.0])
    body = expected_upper_body_boxes(face[None], frontal_landmarks(face)[None])[0]
    assert body[1] == pytest.approx(50 + 40 + UPPER_BODY.top_gap * 40, abs=1.0)
    assert body[3] == pytest.approx(UPPER_BODY.height * 40)
    assert body[2] == pytest.approx(UPPER_BODY.width * 40)
    assert body[0] + body[2] / 2 == pytest.approx(120, abs=1.0)  # centred under the face


def test_rolled_head_moves_the_body_sideways() -> None:
    face = np.array([100.0, 50.0, 40.0, 40.0])
    centre = face[:2] + face[2:] / 2
    rolled = rotate(frontal_landmarks(face), centre, 30)  # clockwise on screen: chin goes left
    body = expected_upper_body_boxes(face[None], rolled[None])[0]
    body_centre = body[:2] + body[2:] / 2
    angle = np.degrees(np.arctan2(centre[0] - body_centre[0], body_centre[1] - centre[1]))
    assert angle == pytest.approx(30, abs=1.0)


def test_boxes_are_clipped_and_report_visibility() -> None:
    faces = np.array([[100.0, 50.0, 40.0, 40.0], [100.0, 170.0, 40.0, 40.0]])
    lms = np.stack([frontal_landmarks(f) for f in faces])
    boxes, visible = upper_body_boxes(faces, lms, (300, 200))
    assert visible[0] == pytest.approx(1.0)
    assert boxes[1, 3] == 0 and visible[1] == 0  # face at the bottom edge: no body in frame
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 300).all()


def test_association_is_one_to_one_and_ignores_input_order() -> None:
    faces = np.array([[100.0, 50.0, 40.0, 40.0], [260.0, 60.0, 36.0, 36.0], [500.0, 40.0, 30.0, 30.0]])
    expected = expected_upper_body_boxes(faces)
    jitter = np.array([[4.0, -3.0, 10.0, 6.0], [-5.0, 6.0, -8.0, 4.0]])
    bodies = np.stack([expected[1] + jitter[1], expected[0] + jitter[0]])  # shuffled, third face has none
    pairing = associate_bodies(faces, bodies)
    assert pairing.tolist() == [1, 0, NO_BODY]
    assert associate_bodies(faces, bodies[:0]).tolist() == [NO_BODY] * 3


def test_association_prefers_the_matching_neighbour_in_a_tight_row() -> None:
    # Three people shoulder to shoulder: predicted boxes of neighbours overlap each other.
    faces = np.array([[100.0, 100.0, 40.0, 40.0], [150.0, 100.0, 40.0, 40.0], [200.0, 100.0, 40.0, 40.0]])
    bodies = expected_upper_body_boxes(faces)[::-1] + np.array([2.0, 3.0, 0.0, 0.0])
    assert associate_bodies(faces, bodies).tolist() == [2, 1, 0]


def test_association_gates_reject_implausible_boxes() -> None:
    faces = np.array([[100.0, 100.0, 40.0, 40.0]])
    expected = expected_upper_body_boxes(faces)[0]
    far_below = expected + np.array([0.0, 400.0, 0.0, 0.0])
    huge = np.array([expected[0] - 300, expected[1], expected[2] * 6, expected[3] * 4])
    assert associate_bodies(faces, np.stack([far_below, huge])).tolist() == [NO_BODY]
    assert box_iou(expected[None], expected[None])[0, 0] == pytest.approx(1.0)
