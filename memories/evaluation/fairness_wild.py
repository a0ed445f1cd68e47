"""The unclear-face filter in the wild: keep rate per perceived skin type, gender and age on
wider_faces (part of `memories eval fairness`).

UTKFace's aligned, well-lit crops are kept by the filter whatever the group (fairness_faces); the
photos of a library are not like that. Here every demographic face of wider_faces of 40 px or more
that the shipped detector (the fusion) finds goes through the index path (landmarks, chip,
embedding, quality cues) with its detection box and score, and the filter's verdict is counted per
group, with which of the filter's terms sank each rejected face. The raw cues are cached, so a
filter setting can be tried on them in milliseconds (`keep_rates(..., settings=...)`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_image_rgb
from memories.evaluation.detection import matches, read_truth
from memories.evaluation.embed_dataset import eval_cache_dir, save_npz
from memories.evaluation.fairness_detection import (
    ATTRIBUTE_ORDER,
    MIN_FACE_PX,
    _cache_file,
    _fusion,
    boxes_per_image,
    load_boxes,
    read_demographics,
)
from memories.evaluation.fairness_faces import filter_scores
from memories.evaluation.group_rates import GroupRate, format_table, rates_by_group
from recognition import settings
from recognition.body_settings import QUALITY, QualitySettings
from recognition.boxes import Detection
from recognition.face_pipeline import FaceAnalyzer
from recognition.quality import TERMS, terms_from_cues

CACHE_VERSION = 1


@dataclass(frozen=True)
class WildFaces:
    cues: np.ndarray  # N x 5 raw quality cues (recognition.quality.quality_cues)
    groups: dict[str, np.ndarray]  # attribute -> N group names ("" when not sure)


@dataclass(frozen=True)
class WildKeep:
    dataset: str
    faces: int
    rows: dict[str, list[GroupRate]]  # attribute -> keep rate per group
    sunk_by: dict[str, dict[str, int]]  # skin group -> term -> rejected faces whose lowest term it is

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "faces": self.faces,
            "keep_rate": {k: [r.as_dict() for r in v] for k, v in self.rows.items()},
            "rejected_by_lowest_term": self.sunk_by,
        }


def _key(images: list[str]) -> str:
    payload = {"detection": repr(settings.DETECTION), "images": images, "version": CACHE_VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def wild_faces(wider_dir: Path, cache_dir: Path | None = None) -> WildFaces:
    """The quality cues of every found demographic face of MIN_FACE_PX or more (cached)."""
    wider_dir = Path(wider_dir)
    faces = read_demographics(wider_dir)
    images = sorted({f.image for f in faces})
    cache = (cache_dir or eval_cache_dir() / "fairness-wild") / f"wild-{_key(images)}.npz"
    if cache.is_file():
        data = np.load(cache)
        return WildFaces(data["cues"], {a: data[a] for a in ATTRIBUTE_ORDER})
    detection_cache = eval_cache_dir() / "fairness-detection"
    boxes_per_image(wider_dir, images, ["fused"], detection_cache)  # runs the parts when not cached
    parts = [load_boxes(_cache_file(detection_cache, p.name, images), images) for p in _fusion().parts]
    truth = read_truth(wider_dir)
    analyzer = FaceAnalyzer()
    cues: list[np.ndarray] = []
    groups: dict[str, list[str]] = {a: [] for a in ATTRIBUTE_ORDER}
    for index, image in enumerate(images):
        chosen = [f for f in faces if f.image == image and f.height >= MIN_FACE_PX]
        if not chosen:
            continue
        boxes, scores = _fusion().fuse([p[index] for p in parts if p is not None])
        valid = [t for t in truth[image] if not t.invalid]
        paired = dict(matches(np.array([t.box for t in valid], np.float64).reshape(-1, 4), boxes, settings.DETECTION_MATCH_IOU))
        rgb = read_image_rgb(wider_dir / image)
        for face in chosen:
            row = next(i for i, t in enumerate(valid) if tuple(t.box) == tuple(face.box))
            if row not in paired:
                continue
            box = tuple(float(v) for v in boxes[paired[row]])
            reading = analyzer.observe(rgb, [Detection(box, float(scores[paired[row]]))])[0]  # type: ignore[arg-type]
            cues.append(reading.cues)
            for attribute in ATTRIBUTE_ORDER:
                groups[attribute].append(face.group(attribute) or "")
    result = WildFaces(np.array(cues), {a: np.array(v) for a, v in groups.items()})
    save_npz(cache, cues=result.cues, **result.groups)
    return result


def keep_rates(found: WildFaces, dataset: str = "wider_faces", quality: QualitySettings = QUALITY) -> WildKeep:
    kept = filter_scores(found.cues, quality) >= quality.threshold
    rows = {}
    for attribute, order in ATTRIBUTE_ORDER.items():
        labels = found.groups[attribute]
        known = labels != ""
        rows[attribute] = rates_by_group(attribute, labels[known], kept[known].astype(float), order)
    terms = terms_from_cues(found.cues, quality)
    lowest = np.argmin(terms, axis=1)
    sunk_by = {
        group: {TERMS[t]: int(((~kept) & (found.groups["skin"] == group) & (lowest == t)).sum()) for t in range(len(TERMS))}
        for group in ATTRIBUTE_ORDER["skin"]
    }
    return WildKeep(dataset, len(kept), rows, sunk_by)


def wild_keep(wider_dir: Path, cache_dir: Path | None = None) -> WildKeep:
    return keep_rates(wild_faces(wider_dir, cache_dir), Path(wider_dir).name)


def format_wild_keep(result: WildKeep) -> str:
    lines = [
        f"Unclear-face filter in the wild ({result.dataset}: {result.faces} faces of {MIN_FACE_PX:.0f}+ px the "
        "detector found, through the index path); keep rate, 95% bootstrap intervals"
    ]
    for attribute, rows in result.rows.items():
        lines.append(format_table(f" by {attribute}", rows))
    lines.append(" rejected faces by the filter term that sank them (lowest term):")
    for group, counts in result.sunk_by.items():
        lines.append(f"  {group}: " + ", ".join(f"{term} {n}" for term, n in counts.items() if n))
    return "\n".join(lines)
