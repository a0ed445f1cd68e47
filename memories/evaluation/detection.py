"""Detection recall and precision on a set with ground-truth boxes (dataset.json "boxes").

Faces are matched one to one, greedily by IoU (>= settings.DETECTION_MATCH_IOU). Where the set
has a labels.csv with WIDER FACE's columns, faces marked `invalid` are ignored (a detection on
one counts neither way) and recall is also reported by face height (< 20, 20-40, 40-80, >= 80 px),
by WIDER's pose and occlusion attributes and by the easy/medium/hard subsets.

Every detector named is run once per photo; the fusion is scored from its parts' own boxes
(`FusedDetector.fuse`), so the comparison costs one pass of each.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_boxes, read_image_rgb
from recognition import settings
from recognition.boxes import box_iou
from recognition.detect import FaceDetector, FusedDetector, make_detector

HEIGHT_BINS = ((0.0, 20.0, "<20"), (20.0, 40.0, "20-40"), (40.0, 80.0, "40-80"), (80.0, float("inf"), ">=80"))
WIDER_POSE = {"0": "typical", "1": "atypical"}
WIDER_OCCLUSION = {"0": "none", "1": "partial", "2": "heavy"}


@dataclass
class TruthFace:
    box: tuple[float, float, float, float]
    invalid: bool = False
    groups: dict[str, str] = field(default_factory=dict)  # breakdown name -> this face's group


def _wider_groups(row: dict[str, str]) -> dict[str, str]:
    groups = {
        "pose": WIDER_POSE.get(row["pose"], row["pose"]),
        "occlusion": WIDER_OCCLUSION.get(row["occlusion"], row["occlusion"]),
    }
    # The official subsets are cumulative (easy within medium within hard): report each alone.
    for subset in ("easy", "medium", "hard"):
        groups[subset] = "in" if row.get(f"in_{subset}") == "1" else "out"
    return groups


def read_truth(dataset_dir: Path) -> dict[str, list[TruthFace]]:
    """Every labelled face per image: labels.csv with WIDER's attributes when the set has one,
    else the boxes of boxes.json (all valid, no attributes)."""
    labels = dataset_dir / "labels.csv"
    if labels.is_file():
        with labels.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and {"invalid", "pose", "occlusion"} <= set(rows[0]):
            truth: dict[str, list[TruthFace]] = {}
            for row in rows:
                box = (float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"]))
                truth.setdefault(row["image"], []).append(
                    TruthFace(box, invalid=row["invalid"] == "1", groups=_wider_groups(row))
                )
            return truth
    return {image: [TruthFace(tuple(b)) for b in boxes] for image, boxes in read_boxes(dataset_dir).items()}  # type: ignore[misc]


def matches(truth: np.ndarray, found: np.ndarray, iou_threshold: float) -> list[tuple[int, int]]:
    """(truth, found) index pairs matched one to one, greedily by descending IoU, IoU >= threshold."""
    if len(truth) == 0 or len(found) == 0:
        return []
    iou = box_iou(truth, found)
    pairs: list[tuple[int, int]] = []
    used_t: set[int] = set()
    used_f: set[int] = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        t, f = divmod(int(flat), iou.shape[1])
        if iou[t, f] < iou_threshold:
            break
        if t in used_t or f in used_f:
            continue
        used_t.add(t)
        used_f.add(f)
        pairs.append((t, f))
    return pairs


def match_count(truth: np.ndarray, found: np.ndarray, iou_threshold: float) -> int:
    return len(matches(truth, found, iou_threshold))


@dataclass
class _Tally:
    faces: int = 0
    matched: int = 0
    detections: int = 0  # detections that count (not on an invalid face)
    true_detections: int = 0
    seconds: float = 0.0
    # breakdown name -> group -> [hit, total]; the height bins listed small to large
    by_group: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: {"height": {name: [0, 0] for _, _, name in HEIGHT_BINS}}
    )

    def add(self, faces: list[TruthFace], found: np.ndarray, iou_threshold: float) -> None:
        valid = [f for f in faces if not f.invalid]
        invalid = np.array([f.box for f in faces if f.invalid], np.float64).reshape(-1, 4)
        truth = np.array([f.box for f in valid], np.float64).reshape(-1, 4)
        pairs = matches(truth, found, iou_threshold)
        hit_truth = {t for t, _ in pairs}
        used = {f for _, f in pairs}
        ignored = 0
        if len(invalid) and len(found):
            on_invalid = box_iou(invalid, found).max(axis=0) >= iou_threshold
            ignored = sum(1 for j in range(len(found)) if j not in used and on_invalid[j])
        self.faces += len(valid)
        self.matched += len(pairs)
        self.detections += len(found) - ignored
        self.true_detections += len(pairs)
        for i, face in enumerate(valid):
            height = face.box[3]
            label = next(name for lo, hi, name in HEIGHT_BINS if lo <= height < hi)
            for name, group in {"height": label, **face.groups}.items():
                cell = self.by_group.setdefault(name, {}).setdefault(group, [0, 0])
                cell[0] += i in hit_truth
                cell[1] += 1

    def report(self, name: str, images: int) -> dict[str, Any]:
        breakdown = {
            key: {
                group: {"recall": round(hit / total, 4), "faces": total}
                for group, (hit, total) in groups.items()
                if total
            }
            for key, groups in self.by_group.items()
        }
        for key in ("easy", "medium", "hard"):
            if key in breakdown:
                breakdown[key] = breakdown[key].get("in", {"recall": 0.0, "faces": 0})  # type: ignore[assignment]
        return {
            "detector": name,
            "recall": self.matched / self.faces if self.faces else 0.0,
            "precision": self.true_detections / self.detections if self.detections else 1.0,
            "faces": self.faces,
            "detections": self.detections,
            "matched": self.matched,
            "seconds_per_image": self.seconds / max(1, images),
            "breakdown": breakdown,
        }


def detector_boxes(detector: FaceDetector, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(boxes, scores) arrays of any detector."""
    found = detector.detect(rgb)
    return (
        np.array([d.box for d in found], np.float64).reshape(-1, 4),
        np.array([d.score for d in found], np.float64),
    )


FACE_DETECTORS = ("hog", "mtcnn", "blazeface", "fused")


def labels_people(dataset_dir: Path) -> bool:
    """The set labels people (dataset.json "box_key": "people_xywh"), not faces."""
    return json.loads((dataset_dir / "dataset.json").read_text()).get("box_key") == "people_xywh"


def evaluate_detectors(
    dataset_dir: str | Path,
    detectors: Sequence[str | FaceDetector] | None = None,
    iou_threshold: float | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Recall, precision and breakdowns of each detector against the set's labelled boxes.

    By default a face set is scored for every face detector and the fusion at
    DETECTION_MATCH_IOU, a people set for the person detector at PERSON_MATCH_IOU."""
    dataset_dir = Path(dataset_dir)
    people = labels_people(dataset_dir)
    detectors = detectors or (("person",) if people else FACE_DETECTORS)
    if iou_threshold is None:
        iou_threshold = settings.PERSON_MATCH_IOU if people else settings.DETECTION_MATCH_IOU
    truth = read_truth(dataset_dir)
    built = {
        (d if isinstance(d, str) else getattr(d, "name", type(d).__name__)): (
            make_detector(d, cache_dir=cache_dir) if isinstance(d, str) else d
        )
        for d in detectors
    }
    fused = built.get("fused")
    # The fusion is scored from its parts' boxes when they are evaluated too (not run twice).
    parts = [p.name for p in fused.parts] if isinstance(fused, FusedDetector) else []
    from_parts = bool(parts) and all(p in built for p in parts)
    tallies = {name: _Tally() for name in built}
    for image, faces in sorted(truth.items()):
        rgb = read_image_rgb(dataset_dir / image)
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        seconds: dict[str, float] = {}
        for name in sorted(built, key=lambda n: n == "fused"):  # parts before their fusion
            det = built[name]
            start = time.perf_counter()
            if name == "fused" and from_parts:
                found[name] = fused.fuse([found[p] for p in parts])  # type: ignore[union-attr]
                seconds[name] = sum(seconds[p] for p in parts)
            else:
                found[name] = detector_boxes(det, rgb)
                seconds[name] = time.perf_counter() - start
            tallies[name].seconds += seconds[name]
            tallies[name].add(faces, found[name][0], iou_threshold)
    return {
        "dataset": dataset_dir.name,
        "images": len(truth),
        "iou_threshold": iou_threshold,
        "detectors": {name: tally.report(name, len(truth)) for name, tally in tallies.items()},
    }


def evaluate_detection(
    dataset_dir: str | Path,
    detector: str | FaceDetector = "mmod",
    iou_threshold: float | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """One detector's report (see evaluate_detectors)."""
    result = evaluate_detectors(dataset_dir, [detector], iou_threshold, cache_dir)
    return {**next(iter(result["detectors"].values())), "images": result["images"], "iou_threshold": result["iou_threshold"]}


def format_detection_report(result: dict[str, Any]) -> str:
    """The report as lines a person reads: one block per detector."""
    lines = [f"{result['dataset']}: {result['images']} photos, IoU >= {result['iou_threshold']}"]
    for name, report in result["detectors"].items():
        lines.append(
            f"{name:10s} recall {report['recall']:.3f}  precision {report['precision']:.3f}  "
            f"({report['matched']}/{report['faces']} labelled, {report['detections']} detections, "
            f"{1000 * report['seconds_per_image']:.0f} ms/photo)"
        )
        for key, groups in report["breakdown"].items():
            if "recall" in groups:  # easy / medium / hard: one figure each
                lines.append(f"{'':10s} {key:10s} recall {groups['recall']:.3f} ({groups['faces']} faces)")
                continue
            cells = "  ".join(f"{g} {c['recall']:.3f} ({c['faces']})" for g, c in groups.items())
            lines.append(f"{'':10s} {key:10s} {cells}")
    return "\n".join(lines)
