"""The 150x150 face chip the ResNet expects, exactly as dlib.get_face_chip(img, shape, 150, 0.25).

dlib's own get_face_chip_details (similarity transform from the 5 landmarks to its reference
template, 0.25 padding) and extract_image_chips (bilinear sampling, with a pyramid when the chip is
much smaller than the face) are called, so the chip is bit-identical to the reference pipeline's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recognition import settings


def landmarks_to_shape(landmarks: np.ndarray, box: Sequence[float] | None = None) -> object:
    """dlib.full_object_detection from 5 x 2 landmarks (dlib keeps integer points)."""
    import dlib

    from recognition.landmarks import box_to_rect

    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if box is None:
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        box = (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
    points = dlib.points()
    for x, y in pts:
        points.append(dlib.point(round(x), round(y)))
    return dlib.full_object_detection(box_to_rect(box), points)


def face_chips(
    rgb: np.ndarray,
    shapes: Sequence[object],
    size: int = settings.FACE_CHIP_SIZE,
    padding: float = settings.FACE_CHIP_PADDING,
) -> np.ndarray:
    """N x size x size x 3 uint8 chips, one per dlib.full_object_detection."""
    import dlib

    if not shapes:
        return np.zeros((0, size, size, 3), np.uint8)
    details = [dlib.get_face_chip_details(s, size, padding) for s in shapes]
    chips = dlib.extract_image_chips(np.ascontiguousarray(rgb), details)
    return np.stack([np.asarray(c, dtype=np.uint8) for c in chips])


def face_chip(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """One chip from 5 x 2 landmarks."""
    return face_chips(rgb, [landmarks_to_shape(landmarks)])[0]
