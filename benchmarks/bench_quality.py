"""Unclear-face score: non-face rejection rate and real-face keep rate.

Faces: every lfw_min10 photo through the pipeline's HOG detector (the face nearest the centre, as
dataset.json says), then the recognition layer's one call, `FaceAnalyzer.observe` (dlib's 5
landmarks, the 150 px chip, the ONNX dlib ResNet, the quality cues). Non-faces: random square
windows of real photos that do not touch any face (dlib_faces_det outside its hand-drawn boxes and
the detector's, deepface and lfw_min10 photos outside every detected face), given to the same call
as if the detector had fired there. A random window has no detector score of its own, so it is given the score of a
randomly drawn real face: the detector term then cannot tell the two sets apart, and the rejection
comes from the chip, the landmarks and the descriptor alone.

    .venv/bin/python -m benchmarks.bench_quality [--faces N] [--non-faces N] [--seed S]

Prints both rates at the configured threshold, a sweep of thresholds, and how well each quality
term separates the sets on its own (ROC AUC).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from PIL import Image

from recognition.body_settings import QUALITY
from recognition.boxes import Detection, box_iou
from recognition.face_pipeline import FaceAnalyzer
from recognition.quality import TERMS, combine_terms, terms_from_cues

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Non-face windows: side between this and half the photo's short side; a window may not overlap
# any face box grown by FACE_MARGIN (so no partial face is counted as a non-face).
MIN_WINDOW = 40
FACE_MARGIN = 0.5


@dataclass
class Samples:
    """What the recognition call read of each face (or window): its quality cues (TERMS order)."""

    cues: np.ndarray  # [N, 5]
    scores: np.ndarray  # [N] detector scores

    def __len__(self) -> int:
        return len(self.scores)


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _observe(items: list[tuple[np.ndarray, np.ndarray, float]], analyzer: FaceAnalyzer) -> Samples:
    """Each (photo, box, detector score) through `FaceAnalyzer.observe`, as the index sees a face."""
    cues = [analyzer.observe(rgb, [Detection(tuple(map(float, box)), score)])[0].cues for rgb, box, score in items]
    return Samples(np.stack(cues).astype(np.float64), np.array([score for _, _, score in items], np.float64))


def lfw_faces(shared: Path, limit: int | None, rng: np.random.Generator,
              analyzer: FaceAnalyzer) -> tuple[Samples, int]:
    """Centre face of each (sampled) lfw_min10 photo; also returns how many photos were tried."""
    root = shared / "lfw_min10"
    with open(root / "labels.csv") as handle:
        paths = [root / row["image"] for row in csv.DictReader(handle)]
    if limit is not None and limit < len(paths):
        paths = [paths[i] for i in sorted(rng.choice(len(paths), limit, replace=False))]
    items = []
    for path in paths:
        rgb = load_rgb(path)
        found = analyzer.detect(rgb)
        if not found:
            continue
        centre = np.array([rgb.shape[1], rgb.shape[0]]) / 2
        centres = [np.array(d.box[:2]) + np.array(d.box[2:]) / 2 for d in found]
        best = found[int(np.argmin([np.linalg.norm(c - centre) for c in centres]))]
        items.append((rgb, np.array(best.box), best.score))
    return _observe(items, analyzer), len(paths)


def background_windows(image_size: tuple[int, int], face_boxes: np.ndarray, count: int,
                       rng: np.random.Generator, max_tries: int = 200) -> np.ndarray:
    """Up to ``count`` random square xywh windows that stay clear of every (grown) face box."""
    width, height = image_size
    side_max = min(width, height) / 2
    if side_max < MIN_WINDOW:
        return np.zeros((0, 4))
    faces = np.asarray(face_boxes, dtype=np.float64).reshape(-1, 4)
    grown = np.concatenate([faces[:, :2] - faces[:, 2:] * FACE_MARGIN, faces[:, 2:] * (1 + 2 * FACE_MARGIN)],
                           axis=1)
    out: list[np.ndarray] = []
    for _ in range(max_tries):
        if len(out) == count:
            break
        side = rng.uniform(MIN_WINDOW, side_max)
        box = np.array([rng.uniform(0, width - side), rng.uniform(0, height - side), side, side])
        if len(grown) and box_iou(box[None], grown).max() > 0:
            continue
        out.append(box)
    return np.array(out).reshape(-1, 4)


def non_faces(shared: Path, per_photo: dict[str, int], lfw_photos: int, rng: np.random.Generator,
              face_scores: np.ndarray, analyzer: FaceAnalyzer) -> Samples:
    """Random background windows of real photos (see the module docstring)."""
    sources: list[tuple[Path, np.ndarray, int]] = []
    det_root = shared / "dlib_faces_det"
    truth = json.loads((det_root / "boxes.json").read_text())
    labelled = {name: np.array(entry["faces_xywh"], dtype=np.float64).reshape(-1, 4)
                for split in truth.values() for name, entry in split.items()}
    for path in sorted((det_root / "images").glob("*.jpg")):
        truth_boxes = labelled.get(f"images/{path.name}", np.zeros((0, 4)))
        sources.append((path, truth_boxes, per_photo["dlib_faces_det"]))
    for path in sorted((shared / "deepface" / "images").glob("*.jpg")):
        sources.append((path, np.zeros((0, 4)), per_photo["deepface"]))
    with open(shared / "lfw_min10" / "labels.csv") as handle:
        lfw = [shared / "lfw_min10" / row["image"] for row in csv.DictReader(handle)]
    for i in rng.choice(len(lfw), lfw_photos, replace=False):
        sources.append((lfw[i], np.zeros((0, 4)), 1))
    items = []
    for path, truth_boxes, count in sources:
        rgb = load_rgb(path)
        detected = np.array([d.box for d in analyzer.detect(rgb)], dtype=np.float64).reshape(-1, 4)
        if path.parent.parent.name == "lfw_min10":
            # deep-funneled LFW centres a face in every photo, found or not
            h, w = rgb.shape[:2]
            detected = np.concatenate([detected, [[w * 0.3, h * 0.3, w * 0.4, h * 0.4]]])
        for box in background_windows((rgb.shape[1], rgb.shape[0]), np.concatenate([truth_boxes, detected]),
                                      count, rng):
            items.append((rgb, box, float(rng.choice(face_scores))))
    return _observe(items, analyzer)


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counted half."""
    values = np.concatenate([positive, negative])
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.float64)
    # average ranks over ties
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos - 1) / 2) / (n_pos * n_neg))


@dataclass
class Measurement:
    keep_rate: float
    reject_rate: float
    face_scores: np.ndarray
    non_face_scores: np.ndarray
    face_terms: np.ndarray
    non_face_terms: np.ndarray


def measure(faces: Samples, others: Samples) -> tuple[Measurement, dict[str, float]]:
    """Quality of both sets at the configured settings, and the ROC AUC of each term alone."""
    face_terms, other_terms = terms_from_cues(faces.cues), terms_from_cues(others.cues)
    face_q, other_q = combine_terms(face_terms), combine_terms(other_terms)
    cues = {f"term {name}": roc_auc(face_terms[:, i], other_terms[:, i]) for i, name in enumerate(TERMS)}
    cues["combined score"] = roc_auc(face_q, other_q)
    keep = float(np.mean(face_q >= QUALITY.threshold))
    reject = float(np.mean(other_q < QUALITY.threshold))
    return Measurement(keep, reject, face_q, other_q, face_terms, other_terms), cues


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=None, help="lfw_min10 photos to use (default: all)")
    parser.add_argument("--lfw-background", type=int, default=1500, help="lfw photos to take one window from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    analyzer = FaceAnalyzer("hog")
    faces, tried = lfw_faces(args.shared_data, args.faces, rng, analyzer)
    print(f"lfw_min10: {len(faces)} faces detected of {tried} photos ({time.perf_counter() - t0:.0f} s)")
    others = non_faces(args.shared_data, {"dlib_faces_det": 60, "deepface": 20}, args.lfw_background, rng,
                       faces.scores, analyzer)
    print(f"non-face windows: {len(others)}")
    result, cues = measure(faces, others)
    print(f"threshold {QUALITY.threshold:.2f}: lfw faces kept {result.keep_rate:.4f} "
          f"({int(round(result.keep_rate * len(faces)))}/{len(faces)}), non-faces rejected "
          f"{result.reject_rate:.4f} ({int(round(result.reject_rate * len(others)))}/{len(others)})")
    print("separation (ROC AUC, faces vs non-faces):")
    for name, auc in cues.items():
        print(f"  {name:32s} {auc:.4f}")
    print("threshold sweep:  thr   keep    reject")
    for thr in np.round(np.arange(0.1, 0.95, 0.05), 2):
        print(f"                 {thr:.2f}  {np.mean(result.face_scores >= thr):.4f}  "
              f"{np.mean(result.non_face_scores < thr):.4f}")
    print("median terms (faces | non-faces):", ", ".join(
        f"{n} {np.median(result.face_terms[:, i]):.2f}|{np.median(result.non_face_terms[:, i]):.2f}"
        for i, n in enumerate(TERMS)))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
