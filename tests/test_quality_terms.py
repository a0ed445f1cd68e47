"""The unclear-face score's terms as pure functions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.body_settings import QUALITY
from recognition.quality import (
    TERMS,
    chip_sharpness,
    combine_terms,
    descriptor_norm,
    face_size,
    flip_distance,
    pose_asymmetry,
    ramp,
)


def frontal(eye_distance: float = 40.0) -> np.ndarray:
    c = np.array([100.0, 100.0])
    e = eye_distance / 2
    return np.array([c + [e + 8, 0], c + [e - 8, 0], c - [e + 8, 0], c - [e - 8, 0],
                     c + [0, 0.7 * eye_distance]])


def test_ramp_is_clipped_and_works_both_ways() -> None:
    np.testing.assert_allclose(ramp(np.array([0, 5, 10, 20]), 0, 10), np.array([0, 0.5, 1, 1]))
    np.testing.assert_allclose(ramp(np.array([0.1, 0.5, 0.9]), 0.9, 0.1), np.array([1, 0.5, 0]))


def test_pose_asymmetry_grows_as_the_head_turns() -> None:
    straight = frontal()
    turned = straight.copy()
    turned[4, 0] += 14  # nose towards one eye
    turned[0:2, 0] = turned[1, 0] + (turned[0:2, 0] - turned[1, 0]) * 0.4  # far eye foreshortened
    values = pose_asymmetry(np.stack([straight, turned]))
    assert values[0] == pytest.approx(0.0, abs=1e-9)
    assert values[1] > 0.5
    rolled = (straight - 100) @ np.array([[0.8, -0.6], [0.6, 0.8]]).T + 100  # roll alone is not pose
    assert pose_asymmetry(rolled[None])[0] == pytest.approx(0.0, abs=1e-9)


def test_sharpness_drops_when_the_chip_is_blurred(shared_data) -> None:
    from PIL import Image

    photo = np.asarray(Image.open(shared_data / "orl_att/images/s1/1.pgm").convert("RGB").resize((150, 150)))
    blurred = cv2.GaussianBlur(photo, (0, 0), 3)
    sharp, soft = chip_sharpness(np.stack([photo, blurred]))
    assert sharp - soft > 0.8  # more than 6x less Laplacian variance


def test_embedding_cues() -> None:
    rng = np.random.default_rng(0)
    e = rng.normal(0, 0.1, (3, 128))
    assert flip_distance(e, e) == pytest.approx(np.zeros(3), abs=1e-9)
    assert flip_distance(e, -e) == pytest.approx(np.full(3, 2.0))
    np.testing.assert_allclose(descriptor_norm(e), np.linalg.norm(e, axis=1))
    assert face_size(np.array([[0, 0, 40, 90]]))[0] == pytest.approx(60.0)


def test_combined_score_is_a_geometric_mean_with_a_veto() -> None:
    terms = np.array([[1.0] * len(TERMS), [0.5] * len(TERMS), [1, 1, 1, 1, 0.0]])
    scores = combine_terms(terms, QUALITY)
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.5)
    assert scores[2] == 0.0
