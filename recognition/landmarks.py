"""Five facial landmarks with dlib's shape_predictor_5_face_landmarks.dat.

The five points, in dlib's order: right eye outer corner, right eye inner corner, left eye outer
corner, left eye inner corner, bottom of the nose (image left/right as dlib names them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recognition import models


def box_to_rect(box: Sequence[float]) -> object:
    """(x, y, w, h) floats -> dlib.rectangle (inclusive integer corners)."""
    import dlib

    x, y, w, h = box
    left, top = round(x), round(y)
    return dlib.rectangle(left, top, max(left, round(x + w) - 1), max(top, round(y + h) - 1))


class LandmarkPredictor:
    def __init__(self) -> None:
        import dlib

        self._predictor = dlib.shape_predictor(
            str(models.source_path(models.SHAPE_PREDICTOR_5, verify=False))
        )

    def shape(self, rgb: np.ndarray, box: Sequence[float]) -> object:
        """dlib.full_object_detection for the face in box (what dlib's chip functions take)."""
        return self._predictor(rgb, box_to_rect(box))

    def predict(self, rgb: np.ndarray, box: Sequence[float]) -> np.ndarray:
        """5 x 2 float32 (x, y) in the image's pixels."""
        return shape_to_array(self.shape(rgb, box))


def shape_to_array(shape: object) -> np.ndarray:
    parts = shape.parts()  # type: ignore[attr-defined]
    return np.array([(p.x, p.y) for p in parts], dtype=np.float32)
