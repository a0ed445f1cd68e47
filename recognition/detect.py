"""Face detection on a working copy of the photo, boxes returned in original pixels.

Every detector has one interface (`detect(rgb) -> list[Detection]`) and gives boxes in the
convention of dlib's detectors (what the 5-point landmark model was trained on):
- `FusedDetector` (the default, "fused"): MTCNN and BlazeFace pooled, one face once;
- `MtcnnDetector`: recognition.mtcnn, faces at any pose down to ~20 px;
- `BlazeFaceDetector`: recognition.blazeface, MediaPipe's full-range model;
- `HogDetector`: dlib's frontal_face_detector (HOG + linear SVM, 80x80 window, its own pyramid).
- `MmodDetector`: dlib's CNN face detector (mmod_human_face_detector.dat) converted to ONNX and run
  with onnxruntime over a pyramid_down<6> image pyramid, decoded as dlib's loss_mmod does: every
  output cell with score > threshold is a detection window (80x80 in the level, centred on the
  cell's receptive-field centre), windows from all levels are mapped to the original image and
  pruned by greedy non-maximum suppression with the IoU threshold stored in the model file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from recognition import models, settings
from recognition.boxes import Detection, greedy_nms
from recognition.dlib_format import DlibNetwork, mmod_face_detector_spec, read_network_file


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


def working_scale(
    height: int,
    width: int,
    cfg: settings.DetectionSettings = settings.DETECTION,
    min_face_px: float | None = None,
) -> float:
    """Scale of the working copy: a min_face_px face becomes window_px, capped by max_working_side."""
    wanted = cfg.window_px / (min_face_px or cfg.min_face_px)
    cap = cfg.max_working_side / max(height, width)
    return min(wanted, cap)


def resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-6:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, size, interpolation=interpolation)


class HogDetector:
    """dlib.get_frontal_face_detector at the working scale (dlib's pyramid_up for whole doublings)."""

    name = "hog"

    def __init__(self, cfg: settings.DetectionSettings = settings.DETECTION) -> None:
        import dlib

        self.cfg = cfg
        self._detector = dlib.get_frontal_face_detector()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        scale = working_scale(rgb.shape[0], rgb.shape[1], self.cfg)
        # Whole doublings are left to dlib's own pyramid_up (run's upsample_num_times), so a small
        # photo gets exactly the boxes dlib.get_frontal_face_detector()(img, 1) gives; the rest of
        # the scale (a downsample for large photos) is an OpenCV resize.
        upsample = int(np.floor(np.log2(scale) + 1e-9)) if scale >= 2 else 0
        rest = scale / 2**upsample
        work = resize(rgb, rest)
        if self.cfg.hog_grey:
            work = cv2.cvtColor(work, cv2.COLOR_RGB2GRAY)
        work = np.ascontiguousarray(work)
        rects, scores, _ = self._detector.run(work, upsample, self.cfg.hog_threshold)
        out = []
        for r, s in zip(rects, scores, strict=True):
            # dlib rectangles are inclusive: width = right - left + 1; already mapped back from its
            # own upsampling, so only the OpenCV part of the scale is undone here.
            x, y, w, h = r.left(), r.top(), r.right() - r.left() + 1, r.bottom() - r.top() + 1
            out.append(Detection((x / rest, y / rest, w / rest, h / rest), float(s)))
        return sorted(out, key=lambda d: -d.score)


def _mmod_output_to_input(network: DlibNetwork) -> tuple[float, float]:
    """dlib's map_output_to_input through every conv: input = output * stride + offset."""
    stride, offset = 1.0, 0.0
    for layer in reversed(network.layers):
        if layer.kind == "con":
            st = layer.settings
            # con_::map_output_to_input: p * stride - padding + nc/2 (integer half of the filter)
            offset = offset * st["stride_x"] - st["pad_x"] + st["cols"] // 2
            stride *= st["stride_x"]
    return stride, offset


class MmodDetector:
    """dlib's MMOD CNN face detector, converted to ONNX, over a pyramid_down<6> pyramid."""

    name = "mmod"

    def __init__(
        self,
        cfg: settings.DetectionSettings = settings.DETECTION,
        cache_dir: str | Path | None = None,
    ) -> None:

        self.cfg = cfg
        network = read_network_file(
            models.source_path(models.MMOD_FACE_DETECTOR, verify=False), mmod_face_detector_spec()
        )
        options = network.loss_settings
        self.window_w, self.window_h = options["detector_windows"][0]
        self.nms_iou = cfg.mmod_nms_iou if cfg.mmod_nms_iou is not None else options["nms_iou_threshold"]
        self.stride, self.offset = _mmod_output_to_input(network)
        self._session = models.inference_session(models.onnx_path(models.MMOD_FACE_DETECTOR, cache_dir))

    def pyramid(self, work: np.ndarray) -> list[tuple[float, np.ndarray]]:
        """(scale relative to the working copy, level image), until a level is smaller than the window."""
        levels = [(1.0, work)]
        h, w = work.shape[:2]
        k = 1
        while True:
            s = self.cfg.pyramid_ratio**k
            lh, lw = round(h * s), round(w * s)
            if min(lh, lw) < min(self.window_w, self.window_h):
                break
            levels.append((s, cv2.resize(work, (lw, lh), interpolation=cv2.INTER_AREA)))
            k += 1
        return levels

    def level_scores(self, level: np.ndarray) -> np.ndarray:
        x = level.transpose(2, 0, 1)[None].astype(np.float32)
        return self._session.run(None, {"image": x})[0][0, 0]

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        scale = working_scale(rgb.shape[0], rgb.shape[1], self.cfg, self.cfg.mmod_min_face_px)
        work = resize(rgb, scale)
        boxes, scores = [], []
        for level_scale, level in self.pyramid(work):
            out = self.level_scores(level)
            rows, cols = np.nonzero(out > self.cfg.mmod_threshold)
            if rows.size == 0:
                continue
            cx = cols * self.stride + self.offset
            cy = rows * self.stride + self.offset
            # centered_drect(p, w, h): inclusive corners p -/+ (w - 1) / 2
            x0 = cx - (self.window_w - 1) / 2
            y0 = cy - (self.window_h - 1) / 2
            f = 1.0 / (level_scale * scale)
            for a, b, s in zip(x0, y0, out[rows, cols], strict=True):
                boxes.append((a * f, b * f, self.window_w * f, self.window_h * f))
                scores.append(float(s))
        if not boxes:
            return []
        box_arr = np.array(boxes)
        score_arr = np.array(scores)
        keep = greedy_nms(box_arr, score_arr, self.nms_iou)
        return [Detection(tuple(map(float, box_arr[i])), float(score_arr[i])) for i in keep]  # type: ignore[arg-type]


# MTCNN boxes are taller than dlib's and sit lower on the face. Measured on wider_faces (482 faces
# found by both MTCNN and HOG, IoU > 0.4): dlib's box centre lies 0.021 of the width right and
# 0.065 of the height below MTCNN's, and is 1.146 times as wide and 0.881 times as tall (medians).
MTCNN_TO_DLIB_BOX = (0.021, 0.065, 1.146, 0.881)


def recentred(boxes: np.ndarray, shift_and_scale: tuple[float, float, float, float]) -> np.ndarray:
    """x, y, w, h boxes with the centre moved by (dx * w, dy * h) and the size scaled (sw, sh)."""
    dx, dy, sw, sh = shift_and_scale
    w, h = boxes[:, 2] * sw, boxes[:, 3] * sh
    cx = boxes[:, 0] + boxes[:, 2] * (0.5 + dx)
    cy = boxes[:, 1] + boxes[:, 3] * (0.5 + dy)
    return np.stack([cx - w / 2, cy - h / 2, w, h], 1)


def _suppressed(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The (boxes, scores) greedy suppression keeps, best first."""
    keep = greedy_nms(boxes, scores, iou_threshold)
    return boxes[keep], scores[keep]


class _BoxesDetector:
    """A detector whose `boxes(rgb)` gives (boxes, scores) arrays; `detect` turns them into
    Detections, best score first."""

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        boxes, scores = self.boxes(rgb)
        order = np.argsort(-scores, kind="stable")
        return [Detection(tuple(float(v) for v in boxes[i]), float(scores[i])) for i in order]  # type: ignore[arg-type]


class MtcnnDetector(_BoxesDetector):
    """MTCNN over the photo (see DetectionSettings.mtcnn_*), boxes in dlib's convention."""

    name = "mtcnn"

    def __init__(self, cfg: settings.DetectionSettings = settings.DETECTION) -> None:
        from recognition.mtcnn import Mtcnn, MtcnnSettings

        self.cfg = cfg
        thresholds = MtcnnSettings().thresholds
        self._mtcnn = Mtcnn(MtcnnSettings(thresholds=(*thresholds[:2], cfg.mtcnn_threshold)))

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        longest = max(rgb.shape[:2])
        # The first pyramid level is 12 / min_face of the photo; cap its longest side.
        min_face = max(self.cfg.mtcnn_min_face_px, 12 * longest / self.cfg.mtcnn_max_side)
        found, _ = self._mtcnn.detect(rgb, min_face)
        corners = found[:, :4]
        boxes = np.column_stack([corners[:, :2], corners[:, 2:] - corners[:, :2]])
        return recentred(boxes, MTCNN_TO_DLIB_BOX), found[:, 4]


class BlazeFaceDetector(_BoxesDetector):
    """BlazeFace full-range at DetectionSettings.blazeface_sides, suppressed across sizes."""

    name = "blazeface"

    def __init__(self, cfg: settings.DetectionSettings = settings.DETECTION, cache_dir: str | Path | None = None) -> None:
        from recognition.blazeface import BlazeFace

        self.cfg = cfg
        self._net = BlazeFace(cache_dir)

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = self._net.detect(rgb, self.cfg.blazeface_sides, self.cfg.blazeface_threshold)
        return _suppressed(*found, self.cfg.fusion_nms_iou)


class FusedDetector(_BoxesDetector):
    """MTCNN and BlazeFace pooled; greedy suppression at fusion_nms_iou keeps each face once."""

    name = "fused"

    def __init__(self, cfg: settings.DetectionSettings = settings.DETECTION, cache_dir: str | Path | None = None) -> None:
        self.cfg = cfg
        self.parts = (MtcnnDetector(cfg), BlazeFaceDetector(cfg, cache_dir))

    def fuse(self, found: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The parts' (boxes, scores) pooled and suppressed."""
        boxes = np.concatenate([b for b, _ in found]).reshape(-1, 4)
        return _suppressed(boxes, np.concatenate([s for _, s in found]), self.cfg.fusion_nms_iou)

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.fuse([part.boxes(rgb) for part in self.parts])


DETECTORS = ("fused", "mtcnn", "blazeface", "hog", "mmod", "person")


def make_detector(
    name: str | None = None,
    cfg: settings.DetectionSettings = settings.DETECTION,
    cache_dir: str | Path | None = None,
) -> FaceDetector:
    name = name or cfg.detector
    if name == "hog":
        return HogDetector(cfg)
    if name == "mmod":
        return MmodDetector(cfg, cache_dir)
    if name == "mtcnn":
        return MtcnnDetector(cfg)
    if name == "blazeface":
        return BlazeFaceDetector(cfg, cache_dir)
    if name == "fused":
        return FusedDetector(cfg, cache_dir)
    if name == "person":
        from recognition.person_detect import PersonDetector

        return PersonDetector(cache_dir=cache_dir)
    raise ValueError(f"unknown detector {name!r} ({', '.join(DETECTORS)})")
