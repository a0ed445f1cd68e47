"""Face-detection recall and precision on a set with ground-truth boxes (dataset.json "boxes")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_image_rgb
from recognition import settings
from recognition.boxes import box_iou
from recognition.detect import FaceDetector, make_detector


def read_boxes(dataset_dir: Path) -> dict[str, np.ndarray]:
    """image path (relative to the set) -> N x 4 ground-truth boxes (x, y, w, h); all splits pooled."""
    meta = json.loads((dataset_dir / "dataset.json").read_text())
    raw = json.loads((dataset_dir / meta["boxes"]).read_text())
    # boxes.json groups images by split ("training"/"testing"); a flat mapping is accepted too.
    groups = (
        raw.values() if all(isinstance(v, dict) and "faces_xywh" not in v for v in raw.values()) else [raw]
    )
    boxes: dict[str, np.ndarray] = {}
    for group in groups:
        for image, entry in group.items():
            boxes[image] = np.asarray(entry["faces_xywh"], dtype=np.float64).reshape(-1, 4)
    return boxes


def match_count(truth: np.ndarray, found: np.ndarray, iou_threshold: float) -> int:
    """Pairs matched one-to-one, greedily by descending IoU, at IoU >= threshold."""
    if len(truth) == 0 or len(found) == 0:
        return 0
    iou = box_iou(truth, found)
    matched = 0
    used_t: set[int] = set()
    used_f: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        t, f = divmod(int(flat), iou.shape[1])
        if iou[t, f] < iou_threshold:
            break
        if t in used_t or f in used_f:
            continue
        used_t.add(t)
        used_f.add(f)
        matched += 1
    return matched


def evaluate_detection(
    dataset_dir: str | Path,
    detector: str | FaceDetector = "mmod",
    iou_threshold: float = settings.DETECTION_MATCH_IOU,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Recall and precision of a detector against the set's labelled boxes at IoU >= iou_threshold."""
    dataset_dir = Path(dataset_dir)
    det = make_detector(detector, cache_dir=cache_dir) if isinstance(detector, str) else detector
    truth_boxes = read_boxes(dataset_dir)
    faces = found_total = matched = 0
    per_image = {}
    seconds = 0.0
    for image, truth in sorted(truth_boxes.items()):
        rgb = read_image_rgb(dataset_dir / image)
        start = time.perf_counter()
        found = det.detect(rgb)
        seconds += time.perf_counter() - start
        found_arr = np.array([d.box for d in found], dtype=np.float64).reshape(-1, 4)
        m = match_count(truth, found_arr, iou_threshold)
        faces += len(truth)
        found_total += len(found_arr)
        matched += m
        per_image[image] = {"faces": len(truth), "detections": len(found_arr), "matched": m}
    return {
        "detector": getattr(det, "name", type(det).__name__),
        "recall": matched / faces if faces else 0.0,
        "precision": matched / found_total if found_total else 1.0,
        "faces": faces,
        "detections": found_total,
        "matched": matched,
        "iou_threshold": iou_threshold,
        "images": len(truth_boxes),
        "seconds_per_image": seconds / max(1, len(truth_boxes)),
        "per_image": per_image,
    }
