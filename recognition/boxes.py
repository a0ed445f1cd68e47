"""Boxes shared by the face and person detectors, body association and evaluation (xywh boxes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    """What every detector returns (recognition.detect's face detectors, recognition.person_detect)."""

    box: tuple[float, float, float, float]  # x, y, w, h in original pixels
    score: float


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of a (N x 4, xywh) and b (M x 4, xywh)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept, best score first: a box is dropped when its IoU with a kept one is > threshold."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for i in order:
        if kept and box_iou(boxes[i], boxes[kept]).max() > iou_threshold:
            continue
        kept.append(int(i))
    return np.array(kept, dtype=np.int64)
