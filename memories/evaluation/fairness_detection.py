"""Face-detection recall per perceived skin type, gender and age on wider_faces (the detection part
of `memories eval fairness`).

The faces are those of demographics.csv (perceived gender, age and Fitzpatrick skin type, from
amazon-science/widerface-demographics). A face counts as found when a detection matches it in the
same one-to-one greedy IoU matching `memories eval detection` does over all the valid labelled
faces of its photo (labels.csv), so the other faces of the photo compete for the detections as
they do there. Recall per group, with a bootstrap interval (memories.evaluation.group_rates), is
reported for faces of >= 40 px height (settings.DETECTION.min_face_px, the smallest face the
pipeline looks for) and for all sizes.

Each detector runs once per photo, only on the photos with demographics, in a process pool; its
boxes are cached per detector (keyed by the detection settings and the photo list) under
eval_cache_dir() / "fairness-detection". The fusion is scored from its parts' boxes
(`FusedDetector.fuse`), as in `memories eval detection`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_image_rgb
from memories.evaluation.detection import FACE_DETECTORS, TruthFace, detector_boxes, matches, read_truth
from memories.evaluation.embed_dataset import eval_cache_dir, save_npz
from memories.evaluation.group_rates import GroupRate, format_table, largest_gap, rates_by_group
from memories.workers import die_with_parent
from recognition import settings
from recognition.detect import FaceDetector, FusedDetector, make_detector

Box = tuple[float, float, float, float]
Found = tuple[np.ndarray, np.ndarray]  # (N x 4 boxes x, y, w, h; N scores) of one photo

NOT_SURE = "Not Sure"
SKIN_GROUPS = {"I": "I–II", "II": "I–II", "III": "III–IV", "IV": "III–IV", "V": "V–VI", "VI": "V–VI"}
ATTRIBUTE_ORDER: dict[str, tuple[str, ...]] = {
    "skin": ("I–II", "III–IV", "V–VI"),
    "gender": ("Female", "Male"),
    "age": ("Young Adult", "Adult", "Middle age", "Senior"),
}
MIN_FACE_PX = 40.0
SIZES = ((">=40px", MIN_FACE_PX), ("all", 0.0))  # label, smallest face height counted
SKIN_GAP_TARGET = 0.03  # the condition: skin groups within 3 points at >= 40 px
CACHE_VERSION = 1  # bump when what is cached changes
CHUNK = 8  # photos per pool task


@dataclass(frozen=True)
class DemographicFace:
    image: str  # relative to the set, as in labels.csv
    box: Box
    gender: str  # Male / Female / Not Sure
    age: str  # Young Adult / Adult / Middle age / Senior / Not Sure
    skin: str  # Fitzpatrick I..VI or Not Sure

    @property
    def height(self) -> float:
        return self.box[3]

    def group(self, attribute: str) -> str | None:
        """The face's group for a breakdown; None when the annotators were not sure."""
        if attribute == "skin":
            return SKIN_GROUPS.get(self.skin)
        value = {"gender": self.gender, "age": self.age}[attribute]
        return None if value == NOT_SURE else value


def read_demographics(wider_dir: Path) -> list[DemographicFace]:
    with (wider_dir / "demographics.csv").open(newline="") as handle:
        return [
            DemographicFace(
                row["image"],
                (float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"])),
                row["perceived_gender"],
                row["perceived_age"],
                row["perceived_skin_fitzpatrick"],
            )
            for row in csv.DictReader(handle)
        ]


# --- matching ------------------------------------------------------------------------------------


def faces_found(truth: Sequence[TruthFace], faces: Sequence[Box], found: np.ndarray, iou_threshold: float) -> list[bool]:
    """Whether each of `faces` (boxes among the photo's valid labelled faces) is matched by a
    detection when all the photo's valid faces compete for the detections one to one."""
    valid = [f.box for f in truth if not f.invalid]
    index = {box: i for i, box in enumerate(valid)}
    missing = [box for box in faces if box not in index]
    if missing:
        raise ValueError(f"faces {missing} are not among the photo's valid labelled boxes")
    truth_boxes = np.array(valid, np.float64).reshape(-1, 4)
    hit = {t for t, _ in matches(truth_boxes, np.asarray(found, np.float64).reshape(-1, 4), iou_threshold)}
    return [index[box] in hit for box in faces]


def found_per_face(
    faces: Sequence[DemographicFace],
    truth: dict[str, list[TruthFace]],
    boxes: dict[str, np.ndarray],
    iou_threshold: float,
) -> np.ndarray:
    """1/0 per demographic face: matched by one of its photo's `boxes` (image -> N x 4)."""
    by_image: dict[str, list[int]] = {}
    for i, face in enumerate(faces):
        by_image.setdefault(face.image, []).append(i)
    out = np.zeros(len(faces), np.float64)
    for image, chosen in by_image.items():
        hits = faces_found(truth[image], [faces[i].box for i in chosen], boxes[image], iou_threshold)
        out[chosen] = hits
    return out


# --- grouping ------------------------------------------------------------------------------------


def group_rows(faces: Sequence[DemographicFace], found: np.ndarray, min_height: float = 0.0) -> dict[str, list[GroupRate]]:
    """attribute ("overall", "skin", "gender", "age") -> recall per group of the faces at least
    `min_height` px high ("Not Sure" left out)."""
    tall = [i for i, f in enumerate(faces) if f.height >= min_height]
    rows = {"overall": rates_by_group("overall", ["all"] * len(tall), found[tall])}
    for attribute, order in ATTRIBUTE_ORDER.items():
        labelled = [(i, faces[i].group(attribute)) for i in tall]
        kept = [(i, g) for i, g in labelled if g is not None]
        rows[attribute] = rates_by_group(attribute, [g for _, g in kept], found[[i for i, _ in kept]], order)
    return rows


@dataclass(frozen=True)
class DetectorFairness:
    detector: str
    rows: dict[str, dict[str, list[GroupRate]]]  # size (">=40px", "all") -> attribute -> rows

    @property
    def skin_gap(self) -> float:
        """Largest recall difference between skin groups, faces >= 40 px."""
        return largest_gap(self.rows[SIZES[0][0]]["skin"])

    @property
    def meets_skin_target(self) -> bool:
        return self.skin_gap <= SKIN_GAP_TARGET

    def as_dict(self) -> dict[str, Any]:
        return {
            "skin_gap_40px": round(self.skin_gap, 4),
            "meets_skin_target": self.meets_skin_target,
            "sizes": {
                size: {attribute: [r.as_dict() for r in rows] for attribute, rows in by_attribute.items()}
                for size, by_attribute in self.rows.items()
            },
        }


def score_detector(name: str, faces: Sequence[DemographicFace], found: np.ndarray) -> DetectorFairness:
    return DetectorFairness(name, {size: group_rows(faces, found, low) for size, low in SIZES})


@dataclass(frozen=True)
class DetectionFairness:
    dataset: str
    images: int
    faces: int  # faces with perceived demographics
    iou_threshold: float
    detectors: list[DetectorFairness]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "images": self.images,
            "faces": self.faces,
            "iou_threshold": self.iou_threshold,
            "min_face_px": MIN_FACE_PX,
            "skin_gap_target": SKIN_GAP_TARGET,
            "detectors": {d.detector: d.as_dict() for d in self.detectors},
        }


def format_detection_fairness(result: DetectionFairness) -> str:
    """One block of tables per detector (skin, gender, age at >= 40 px, then all sizes), and the
    skin gaps against the target."""
    lines = [
        f"Face-detection recall on {result.dataset}: {result.images} photos, {result.faces} faces with "
        f"perceived demographics (\"Not Sure\" left out of each breakdown), IoU >= {result.iou_threshold}, "
        f"95% bootstrap intervals"
    ]
    for det in result.detectors:
        lines.append("")
        lines.append(f"== {det.detector}")
        for size, by_attribute in det.rows.items():
            label = f"faces >= {MIN_FACE_PX:.0f} px" if size == SIZES[0][0] else "all sizes"
            overall = by_attribute["overall"]
            if overall:
                o = overall[0]
                lines.append(
                    f"{label}: recall {100 * o.rate:.2f}% [{100 * o.low:.2f}, {100 * o.high:.2f}] of {o.count} faces"
                )
            for attribute in ATTRIBUTE_ORDER:
                lines.append(format_table(f"{det.detector} {attribute}, {label}", by_attribute[attribute]))
    lines.append("")
    lines.append(f"Skin-type gap, faces >= {MIN_FACE_PX:.0f} px (target <= {100 * SKIN_GAP_TARGET:.0f} points):")
    for det in result.detectors:
        verdict = "met" if det.meets_skin_target else "NOT met"
        lines.append(f"  {det.detector:<10s} {100 * det.skin_gap:.2f} points  {verdict}")
    return "\n".join(lines)


# --- running the detectors (process pool, cached) ----------------------------------------------

_WORKER: dict[str, FaceDetector] = {}


def _init_worker(parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.clear()


def _detect_chunk(args: tuple[list[str], tuple[str, ...]]) -> list[dict[str, Found]]:
    """Per photo, each named detector's (boxes, scores)."""
    paths, names = args
    for name in names:
        if name not in _WORKER:
            _WORKER[name] = make_detector(name)
    out = []
    for path in paths:
        rgb = read_image_rgb(path)
        out.append({name: detector_boxes(_WORKER[name], rgb) for name in names})
    return out


def cache_key(detector: str, images: Sequence[str]) -> str:
    payload = {
        "detector": detector,
        "detection": repr(settings.DETECTION),
        "images": list(images),
        "version": CACHE_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _cache_file(cache_dir: Path, detector: str, images: Sequence[str]) -> Path:
    return cache_dir / f"{detector}-{cache_key(detector, images)}.npz"


def save_boxes(path: Path, images: Sequence[str], found: Sequence[Found]) -> None:
    save_npz(
        path,
        images=np.array(images, dtype=str),
        counts=np.array([len(b) for b, _ in found], np.int64),
        boxes=np.concatenate([b.reshape(-1, 4) for b, _ in found]) if found else np.zeros((0, 4)),
        scores=np.concatenate([s.reshape(-1) for _, s in found]) if found else np.zeros(0),
    )


def load_boxes(path: Path, images: Sequence[str]) -> list[Found] | None:
    """The cached (boxes, scores) per photo, or None when there is no cache for these photos."""
    if not path.is_file():
        return None
    with np.load(path) as z:
        if z["images"].tolist() != list(images):
            return None
        ends = np.cumsum(z["counts"])
        starts = ends - z["counts"]
        return [(z["boxes"][a:b], z["scores"][a:b]) for a, b in zip(starts, ends, strict=True)]


def _run_detectors(
    wider_dir: Path, images: Sequence[str], names: Sequence[str], workers: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, list[Found]]:
    """Each named detector's boxes on every photo, each photo read once."""
    for name in names:  # builds (converts) the models here, so workers do not race to
        make_detector(name)
    chunks = [([str(wider_dir / i) for i in images[k : k + CHUNK]], tuple(names)) for k in range(0, len(images), CHUNK)]
    results: list[dict[str, Found]] = []

    def collect(part: list[dict[str, Found]]) -> None:
        results.extend(part)
        if progress:
            progress(len(results), len(images))

    if workers <= 1 or len(chunks) <= 1:
        _init_worker()
        for chunk in chunks:
            collect(_detect_chunk(chunk))
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            for part in pool.map(_detect_chunk, chunks):
                collect(part)
    return {name: [r[name] for r in results] for name in names}


@cache
def _fusion() -> FusedDetector:
    return FusedDetector(settings.DETECTION)


def _parts(detector: str) -> tuple[str, ...]:
    """The detectors whose boxes a detector's are made of: the fusion's parts, else itself."""
    if detector == "fused":
        return tuple(p.name for p in _fusion().parts)
    return (detector,)


def boxes_per_image(
    wider_dir: Path,
    images: Sequence[str],
    detectors: Sequence[str],
    cache_dir: Path,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """detector -> image -> N x 4 boxes; each base detector from its cache or run once (the
    fusion from its parts' boxes)."""
    base = list(dict.fromkeys(p for d in detectors for p in _parts(d)))
    found: dict[str, list[Found]] = {}
    for name in base:
        cached = load_boxes(_cache_file(cache_dir, name, images), images)
        if cached is not None:
            found[name] = cached
    missing = [n for n in base if n not in found]
    if missing:
        ran = _run_detectors(wider_dir, images, missing, workers or os.cpu_count() or 1, progress)
        for name, boxes in ran.items():
            save_boxes(_cache_file(cache_dir, name, images), images, boxes)
            found[name] = boxes
    out: dict[str, dict[str, np.ndarray]] = {}
    for det in detectors:
        if det == "fused":
            per_image = [_fusion().fuse(list(parts)) for parts in zip(*(found[p] for p in _parts(det)), strict=True)]
        else:
            per_image = found[det]
        out[det] = {image: b for image, (b, _) in zip(images, per_image, strict=True)}
    return out


def detection_fairness(
    wider_dir: Path,
    detectors: Sequence[str] = FACE_DETECTORS,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    limit: int | None = None,
) -> DetectionFairness:
    """Recall per skin type, gender and age of each detector on the set's demographic faces.

    cache_dir: where detector boxes are cached (eval_cache_dir() / "fairness-detection" when
    None). progress(done, total) is called as photos are detected (not on a cached run).
    limit: only the first `limit` photos (sorted by path) with demographics."""
    wider_dir = Path(wider_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else eval_cache_dir() / "fairness-detection"
    faces = read_demographics(wider_dir)
    images = sorted({f.image for f in faces})[:limit]
    chosen = set(images)
    faces = [f for f in faces if f.image in chosen]
    truth = read_truth(wider_dir)
    boxes = boxes_per_image(wider_dir, images, detectors, cache_dir, workers, progress)
    iou = settings.DETECTION_MATCH_IOU
    scored = [score_detector(d, faces, found_per_face(faces, truth, boxes[d], iou)) for d in detectors]
    return DetectionFairness(wider_dir.name, len(images), len(faces), iou, scored)
