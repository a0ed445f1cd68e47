"""BlazeFace full-range (MediaPipe) face detection, run fully convolutionally at a few sizes.

The network (`models.BLAZEFACE_FULL_RANGE`, converted from TensorFlow Lite by
`recognition.tflite_convert`) predicts, for every 4 x 4 px cell of its input, a face logit, a box
(centre offset from the cell centre, width, height) and six keypoints, all in input pixels. It
was trained on 192 x 192 views; since it is convolutional it also runs on larger inputs, where
smaller faces become findable, so the photo is shown at several sizes and the boxes pooled.
Boxes come out in the convention of dlib's detectors (measured on wider_faces: BlazeFace and HOG
boxes of the same face share their centre within 1 % and their size within 2 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from recognition import models

CELL_PX = 4  # the output stride of the full-range model
SIZE_MULTIPLE = 32  # the input must divide by the network's deepest stride


def decode(regressors: np.ndarray, logits: np.ndarray, width: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y, w, h) boxes in input pixels and face probabilities of the cells above threshold.

    regressors: A x 16 (box then keypoints), logits: A, for an input `width` px wide (cells run
    row by row)."""
    limit = np.log(threshold / (1 - threshold))
    cells = np.nonzero(logits > limit)[0]
    columns = width // CELL_PX
    centre_x = (cells % columns + 0.5) * CELL_PX + regressors[cells, 0]
    centre_y = (cells // columns + 0.5) * CELL_PX + regressors[cells, 1]
    w, h = regressors[cells, 2], regressors[cells, 3]
    boxes = np.stack([centre_x - w / 2, centre_y - h / 2, w, h], 1)
    return boxes, 1 / (1 + np.exp(-logits[cells]))


class BlazeFace:
    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self._session = models.inference_session(models.onnx_path(models.BLAZEFACE_FULL_RANGE, cache_dir))

    def detect(self, rgb: np.ndarray, sides: Sequence[int], threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (x, y, w, h, photo pixels) and scores from every size, not yet suppressed."""
        height, width = rgb.shape[:2]
        all_boxes, all_scores = [], []
        for side in sides:
            scale = side / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            view = cv2.resize(rgb, size, interpolation=interpolation)
            padded_h = -(-size[1] // SIZE_MULTIPLE) * SIZE_MULTIPLE
            padded_w = -(-size[0] // SIZE_MULTIPLE) * SIZE_MULTIPLE
            # Padding is black (-1 after scaling), as MediaPipe letterboxes.
            tensor = np.full((1, 3, padded_h, padded_w), -1.0, np.float32)
            tensor[0, :, : size[1], : size[0]] = view.transpose(2, 0, 1) / 127.5 - 1.0
            regressors, logits = self._session.run(None, {"image": tensor})
            boxes, scores = decode(regressors[0], logits[0, :, 0], padded_w, threshold)
            all_boxes.append(boxes / scale)
            all_scores.append(scores)
        return np.concatenate(all_boxes).reshape(-1, 4), np.concatenate(all_scores)
