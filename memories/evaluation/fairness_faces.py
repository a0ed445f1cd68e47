"""Fairness of the face path per demographic group: landmarks, the unclear-face filter, embedding
confidence and impostor merges (`memories eval fairness`, the face-crop parts).

utkface_demographics (aligned 200x200 crops, race / gender / age group, no identities) is seen
twice by `FaceAnalyzer.observe`, the call `memories index` makes:

- as a photo, detector on ("index path"). The crop's face is the detection overlapping the crop
  frame most, if that overlap is at least FRAME_IOU (a face fills an aligned crop); other
  detections are extra faces, counted when the filter keeps them (a nose or a mouth taken for a
  second face). **found** = that detection exists and its landmarks are plausible; **kept** =
  found and `is_clear`. The **filter keep rate** is kept / found: the unclear-face filter alone.
- with ``crop=True`` (the whole crop is the face box): landmarks are found inside it, so the
  landmark step is measured without the detector. `observe` calls every crop clear and a given
  box scores 0 on the detector's term (0.33 for every face alike), so the filter's verdict here is
  recomputed from the same cues with the detector term left out.

**Landmark success** (`landmarks_plausible`): dlib's 5-point predictor always returns 5 points, so
success means they make a face: all inside the box (grown by LANDMARK_MARGIN of its size), the
eye-centre distance LANDMARK_EYE_RATIO of the box size, each eye's inner corner between the outer
corners in order along the eye line, and the nose below that line by LANDMARK_NOSE_DROP eye
distances. A chip is always produced from any 5 points, so "chip made" would not be a test.

**Embedding confidence** is what recognition/quality.py calls it: the distance of the descriptor
from the network's answer for non-faces (`quality.null_distance`; faces ~0.49, non-faces ~0.26,
the filter's ramp runs 0.38 -> 0.44). The quality score itself saturates at 1.0 on these crops.

Impostor rates: two different utkface images are taken as two people (the set has no identities
and UTKFace holds ~20k people; the odd duplicate counts as an impostor). A pair's rate is the
share of its pairs under a merge distance of the clustering (recognition.cluster_settings). Sets of
more than MAX_PAIRS pairs are a fixed-seed sample of MAX_PAIRS (the count shown). Intervals
resample pairs, which share faces, so they are narrower than a resampling of people would give.

fiw_train (families, identities, no ages): same-person distance spread, and the share of
same-family different-person pairs under the merge distance against pairs from different
families. FIW names no relations here, so "same family" includes spouses as well as children,
parents and siblings.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_dataset, read_image_rgb
from memories.evaluation.embed_dataset import _cache_key, embed_dataset, eval_cache_dir, save_npz
from memories.evaluation.group_rates import (
    GroupRate,
    bootstrap_mean,
    format_table,
    largest_gap,
    rates_by_group,
)
from memories.workers import die_with_parent
from recognition import models
from recognition.body_settings import QUALITY, QualitySettings
from recognition.boxes import box_iou
from recognition.cluster_settings import PASS1, PASS2
from recognition.face_pipeline import FaceAnalyzer
from recognition.quality import TERMS, combine_terms, face_size, terms_from_cues

Progress = Callable[[int, int], None]

# Bump when what the worker records changes, so the per-face cache is redone (2: the cues are the
# analyzer's own, FaceReading.cues, not recomputed from a second chip).
FAIRNESS_VERSION = 2
CHUNK = 24
# The crop's own face: IoU with the crop frame at least this (faces of aligned crops: ~0.85).
FRAME_IOU = 0.3
# landmarks_plausible: the box grown by this fraction of its size on each side...
LANDMARK_MARGIN = 0.1
# ...eye-centre distance over sqrt(w * h) of the box (aligned crops 0.37, detector boxes ~0.39)...
LANDMARK_EYE_RATIO = (0.15, 0.75)
# ...and the nose's drop below the eye line, in eye distances (frontal ~0.77).
LANDMARK_NOSE_DROP = (0.3, 1.5)
# Pairs scored per row at most (a fixed-seed sample beyond): bootstrap cost grows with reps x pairs.
MAX_PAIRS = 20_000
PAIR_SEED = 0
# Acceptance conditions (issue "Fairness").
MAX_KEEP_GAP = 0.01  # filter keep rate, between any two race x gender groups
MAX_IMPOSTOR_RATIO = 2.0  # a group's impostor rate against the rate over all pairs
RACE_X_GENDER = "race x gender"
ATTRIBUTES = (RACE_X_GENDER, "race", "gender", "age_group")


def merge_distances() -> dict[str, float]:
    """The clustering's merge distances, the shipped one first."""
    return {
        "pass-2 merge (shipped)": PASS2.threshold,
        "pass-1 join": PASS1.face_threshold,
        "pass-2 found a person": PASS2.found_threshold,
    }


# --- pure helpers --------------------------------------------------------------------------------


def landmarks_plausible(landmarks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[N, 5, 2] dlib landmarks in [N, 4] xywh boxes -> [N] bool: do the points make a face?"""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    size = face_size(b)
    margin = (LANDMARK_MARGIN * size)[:, None]
    lo, hi = b[:, None, :2] - margin[:, :, None], (b[:, :2] + b[:, 2:])[:, None] + margin[:, :, None]
    inside = ((pts >= lo) & (pts <= hi)).all(axis=(1, 2))
    eye_a, eye_b = pts[:, 0:2].mean(axis=1), pts[:, 2:4].mean(axis=1)
    eye_dist = np.linalg.norm(eye_a - eye_b, axis=1)
    unit = (eye_a - eye_b) / np.maximum(eye_dist, 1e-9)[:, None]
    along = np.einsum("nkj,nj->nk", pts[:, :4], unit)  # outer a, inner a, outer b, inner b
    ordered = (along[:, 0] > along[:, 1]) & (along[:, 1] > along[:, 3]) & (along[:, 3] > along[:, 2])
    down = np.stack([-unit[:, 1], unit[:, 0]], axis=1)  # the eye line turned 90 degrees, image y down
    drop = np.einsum("nj,nj->n", pts[:, 4] - (eye_a + eye_b) / 2, down) / np.maximum(eye_dist, 1e-9)
    ratio = eye_dist / np.maximum(size, 1e-9)
    return (
        inside & ordered
        & (ratio >= LANDMARK_EYE_RATIO[0]) & (ratio <= LANDMARK_EYE_RATIO[1])
        & (drop >= LANDMARK_NOSE_DROP[0]) & (drop <= LANDMARK_NOSE_DROP[1])
    )


def filter_scores(cues: np.ndarray, settings: QualitySettings = QUALITY, detector_term: bool = True) -> np.ndarray:
    """The quality score of each face from its cues; without the detector term (a given box) if asked."""
    terms = terms_from_cues(cues, settings)
    if not detector_term:
        terms[:, TERMS.index("detector")] = 1.0
    return combine_terms(terms, settings)


def rejection_causes(cues: np.ndarray, rejected: np.ndarray, groups: np.ndarray,
                     settings: QualitySettings = QUALITY) -> dict[str, dict[str, int]]:
    """Per group, how many rejected faces had each term as their lowest (the one that sank them)."""
    terms = terms_from_cues(cues, settings)
    labels = np.asarray(groups, dtype=object)
    lowest = np.argmin(terms, axis=1)
    out: dict[str, dict[str, int]] = {}
    for name in sorted(set(labels.tolist())):
        chosen = np.asarray(rejected, bool) & (labels == name)
        out[str(name)] = {term: int(np.sum(chosen & (lowest == k))) for k, term in enumerate(TERMS)}
    return out


def pair_distances(embeddings: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Euclidean distance of unit rows i[k] and j[k]."""
    e = np.asarray(embeddings, dtype=np.float64)
    return np.linalg.norm(e[i] - e[j], axis=1)


def within_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair (i < j) of items sharing a label."""
    arr = np.asarray(labels, dtype=object)
    parts_i, parts_j = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for name in sorted(set(arr.tolist())):
        members = np.flatnonzero(arr == name)
        a, b = np.triu_indices(len(members), k=1)
        parts_i.append(members[a])
        parts_j.append(members[b])
    return np.concatenate(parts_i), np.concatenate(parts_j)


def sample_index(count: int, max_pairs: int = MAX_PAIRS, seed: int = PAIR_SEED) -> np.ndarray:
    """All of range(count), or a fixed-seed sample of max_pairs of it without replacement, in order."""
    if count <= max_pairs:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, max_pairs, replace=False))


def sample_pairs(i: np.ndarray, j: np.ndarray, max_pairs: int = MAX_PAIRS, seed: int = PAIR_SEED
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The pairs, or a fixed-seed sample of max_pairs of them (sample_index)."""
    pick = sample_index(len(i), max_pairs, seed)
    return i[pick], j[pick]


def rate_row(attribute: str, group: str, values: np.ndarray) -> GroupRate:
    """One GroupRate over all the values (a baseline row)."""
    rate, low, high = bootstrap_mean(values)
    return GroupRate(attribute, group, int(len(values)), rate, low, high)


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One acceptance condition and whether it holds."""

    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"  [{'pass' if self.passed else 'FAIL'}] {self.name}: {self.detail}"


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    percent: bool
    rows: list[GroupRate]  # every attribute's groups, attribute by attribute

    def by_attribute(self, attribute: str) -> list[GroupRate]:
        return [r for r in self.rows if r.attribute == attribute]


@dataclass(frozen=True)
class FaceFairness:
    dataset: str
    faces: int
    metrics: list[Metric]
    rejections: dict[str, dict[str, int]]  # race x gender -> lowest term of each face the filter dropped
    checks: list[Check]

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "faces": self.faces,
            "metrics": {m.key: {"title": m.title, "rows": [r.as_dict() for r in m.rows]} for m in self.metrics},
            "rejections_by_lowest_term": self.rejections,
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass(frozen=True)
class ThresholdRates:
    """Impostor rates at one merge distance."""

    name: str
    distance: float
    overall: GroupRate  # every pair of faces
    pooled: list[GroupRate]  # per attribute: all within-group pairs together
    groups: list[GroupRate]  # per attribute and group

    def worst(self) -> tuple[GroupRate | None, float]:
        """The group with the highest rate and its ratio to the overall rate."""
        if not self.groups:
            return None, float("nan")
        top = max(self.groups, key=lambda r: r.rate)
        ratio = top.rate / self.overall.rate if self.overall.rate > 0 else (0.0 if top.rate == 0 else float("inf"))
        return top, ratio

    def as_dict(self) -> dict[str, Any]:
        top, ratio = self.worst()
        return {
            "name": self.name, "distance": self.distance, "overall": self.overall.as_dict(),
            "pooled_within": [r.as_dict() for r in self.pooled], "groups": [r.as_dict() for r in self.groups],
            "worst_group": None if top is None else {"attribute": top.attribute, "group": top.group,
                                                     "ratio_to_overall": round(ratio, 3)},
        }


@dataclass(frozen=True)
class ImpostorFairness:
    dataset: str
    population: str  # "all ages", "ages 20+"
    faces: int  # faces whose pairs are scored
    levels: list[ThresholdRates]
    checks: list[Check]

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "population": self.population, "faces": self.faces,
                "levels": [t.as_dict() for t in self.levels], "checks": [asdict(c) for c in self.checks]}


@dataclass(frozen=True)
class Spread:
    pairs: int
    p10: float
    median: float
    p90: float

    def as_dict(self) -> dict[str, object]:
        return {"pairs": self.pairs, "p10": round(self.p10, 4), "median": round(self.median, 4),
                "p90": round(self.p90, 4)}


@dataclass(frozen=True)
class FamilySpread:
    dataset: str
    faces: int
    people: int
    families: int
    age_note: str  # what the set says about age (none in fiw_train)
    same_person: Spread
    different_family: Spread
    levels: list[tuple[str, float, list[GroupRate]]]  # per merge distance: a row per kind of pair

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "faces": self.faces, "people": self.people, "families": self.families,
            "age": self.age_note, "same_person_distance": self.same_person.as_dict(),
            "different_family_distance": self.different_family.as_dict(),
            "levels": [{"name": n, "distance": d, "rows": [r.as_dict() for r in rows]} for n, d, rows in self.levels],
        }


# --- observing the crops (worker side) -----------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(cache_dir: str | None, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.clear()
    _WORKER["analyzer"] = FaceAnalyzer(cache_dir=cache_dir)


def observe_crop(analyzer: FaceAnalyzer, rgb: np.ndarray) -> dict[str, np.ndarray]:
    """One crop seen both ways (see the module docstring), as fixed-shape arrays."""
    height, width = rgb.shape[:2]
    frame = (0.0, 0.0, float(width), float(height))
    faces = analyzer.observe(rgb)
    overlaps = box_iou(np.array([f.box for f in faces]), np.array(frame))[:, 0]
    own = int(np.argmax(overlaps)) if faces and overlaps.max() >= FRAME_IOU else -1
    crop = analyzer.observe(rgb, crop=True)[0]
    out: dict[str, np.ndarray] = {
        "frame": np.array([width, height], np.float64),
        "det_faces": np.array(len(faces)),
        "det_own": np.array(own >= 0),
        "det_extra_clear": np.array(sum(f.is_clear for k, f in enumerate(faces) if k != own)),
        "crop_landmarks": crop.landmarks, "crop_embedding": crop.embedding,
        "crop_quality": np.array(crop.quality), "crop_cues": crop.cues,
    }
    if own >= 0:
        face = faces[own]
        out.update(det_box=np.array(face.box), det_landmarks=face.landmarks, det_embedding=face.embedding,
                   det_quality=np.array(face.quality), det_clear=np.array(face.is_clear),
                   det_cues=face.cues)
    else:
        out.update(det_box=np.zeros(4), det_landmarks=np.zeros((5, 2), np.float32),
                   det_embedding=np.zeros(128, np.float32), det_quality=np.array(0.0),
                   det_clear=np.array(False), det_cues=np.zeros(5))
    return out


def _observe_chunk(paths: list[str]) -> list[dict[str, np.ndarray]]:
    return [observe_crop(_WORKER["analyzer"], read_image_rgb(p)) for p in paths]


# --- observing the crops (caller side) -----------------------------------------------------------


@dataclass(frozen=True)
class CropObservations:
    """Per crop of a demographic set, both views (arrays of the worker's keys, stacked)."""

    dataset: str
    paths: list[str]
    attributes: dict[str, np.ndarray]  # ATTRIBUTES -> str per crop
    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def found(self) -> np.ndarray:
        a = self.arrays
        return a["det_own"] & landmarks_plausible(a["det_landmarks"], a["det_box"])

    @property
    def crop_landmarks_ok(self) -> np.ndarray:
        frames = np.concatenate([np.zeros((len(self), 2)), self.arrays["frame"]], axis=1)
        return landmarks_plausible(self.arrays["crop_landmarks"], frames)

    @property
    def kept(self) -> np.ndarray:
        return self.found & self.arrays["det_clear"]


def read_attributes(dataset_dir: str | Path) -> dict[str, np.ndarray]:
    """race, gender, age_group, race x gender and age (years, as text) per row of labels.csv."""
    with (Path(dataset_dir) / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = {k: np.array([r[k] for r in rows], dtype=object) for k in ("race", "gender", "age_group", "age")}
    out[RACE_X_GENDER] = np.array([f"{r['race']} {r['gender']}" for r in rows], dtype=object)
    return out


def observe_crops(
    dataset_dir: str | Path, cache_dir: str | Path | None = None, progress: Progress | None = None,
    workers: int | None = None, limit: int | None = None, use_cache: bool = True,
) -> CropObservations:
    """Every crop of the set (the first `limit`) through FaceAnalyzer both ways, cached as .npz
    under eval_cache_dir()/fairness-faces, keyed by the files, models, detection and quality settings."""
    ds = read_dataset(dataset_dir)
    paths = ds.paths[:limit] if limit else ds.paths
    attributes = {k: v[: len(paths)] for k, v in read_attributes(dataset_dir).items()}
    payload = {"base": _cache_key(ds, "ours", None, limit, "fairness-faces"), "quality": asdict(QUALITY),
               "version": FAIRNESS_VERSION, "frame_iou": FRAME_IOU}
    key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    cache_file = eval_cache_dir() / "fairness-faces" / f"{ds.name}-{key}.npz"
    if not (use_cache and cache_file.is_file()):
        records = _observe_all([str(p) for p in paths], cache_dir, progress, workers)
        save_npz(cache_file, **{k: np.stack([r[k] for r in records]) for k in records[0]})
    with np.load(cache_file) as z:
        arrays = {k: z[k] for k in z.files}
    rel = [str(p.relative_to(ds.root)) for p in paths]
    return CropObservations(ds.name, rel, attributes, arrays)


def _observe_all(paths: list[str], cache_dir: str | Path | None, progress: Progress | None,
                 workers: int | None) -> list[dict[str, np.ndarray]]:
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = min(workers or os.cpu_count() or 1, len(chunks))
    models.onnx_path(models.FACE_RESNET, cache_dir)  # converted once here, not raced by the workers
    cache = None if cache_dir is None else str(cache_dir)
    out: list[dict[str, np.ndarray]] = []

    def done(part: list[dict[str, np.ndarray]]) -> None:
        out.extend(part)
        if progress is not None:
            progress(len(out), len(paths))

    if workers <= 1:
        _init_worker(cache)
        for chunk in chunks:
            done(_observe_chunk(chunk))
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(cache, os.getpid())) as pool:
            for part in pool.map(_observe_chunk, chunks):
                done(part)
    return out


# --- (a) landmarks, filter, confidence per group -------------------------------------------------


def face_rates(obs: CropObservations, settings: QualitySettings = QUALITY) -> FaceFairness:
    """The per-group tables of (a) from observations (pure; `settings` to try another filter)."""
    a = obs.arrays
    found = obs.found
    clear = filter_scores(a["det_cues"], settings) >= settings.threshold
    crop_clear = filter_scores(a["crop_cues"], settings, detector_term=False) >= settings.threshold
    confidence = a["crop_cues"][:, TERMS.index("embedding")]
    extra = a["det_extra_clear"] > 0
    specs: list[tuple[str, str, bool, np.ndarray, np.ndarray]] = [
        ("found", "face found (detector on the crop as a photo; its landmarks plausible)", True,
         np.ones(len(obs), bool), found),
        ("landmarks_crop", "landmark success, crop as the face box (no detector)", True,
         np.ones(len(obs), bool), obs.crop_landmarks_ok),
        ("filter_keep", "unclear-filter keep rate, of faces found (index path)", True, found, clear),
        ("kept", "kept end to end (found and clear, of all crops)", True, np.ones(len(obs), bool), found & clear),
        ("filter_keep_crop", "unclear-filter keep rate, crop as the face box (detector term left out)", True,
         np.ones(len(obs), bool), crop_clear),
        ("confidence", "embedding confidence (distance from the null reference; crop as the box)", False,
         np.ones(len(obs), bool), confidence),
        ("extra_faces", "crops with an extra clear face inside the face (index path)", True,
         np.ones(len(obs), bool), extra),
    ]
    metrics = []
    for key, title, percent, among, values in specs:
        rows: list[GroupRate] = []
        for attribute in ATTRIBUTES:
            rows.extend(rates_by_group(attribute, obs.attributes[attribute][among], values[among].astype(float)))
        metrics.append(Metric(key, title, percent, rows))
    keep_rows = metrics[2].by_attribute(RACE_X_GENDER)
    gap = largest_gap(keep_rows)
    low, high = min(keep_rows, key=lambda r: r.rate), max(keep_rows, key=lambda r: r.rate)
    spanned = f"{low.group} {low.rate * 100:.2f}% to {high.group} {high.rate * 100:.2f}%" if gap else (
        f"every group {low.rate * 100:.2f}%")
    check = Check(
        "Unclear-filter keep rate differs by at most 1 point between any two race x gender groups",
        gap <= MAX_KEEP_GAP + 1e-12, f"largest gap {gap * 100:.2f} points ({spanned})",
    )
    rejections = rejection_causes(a["det_cues"], found & ~clear, obs.attributes[RACE_X_GENDER], settings)
    return FaceFairness(obs.dataset, len(obs), metrics, rejections, [check])


def face_fairness(
    utk_dir: str | Path, cache_dir: str | Path | None = None, progress: Progress | None = None,
    workers: int | None = None, limit: int | None = None, use_cache: bool = True,
) -> FaceFairness:
    """(a): landmark success, unclear-filter keep rate and embedding confidence per group."""
    return face_rates(observe_crops(utk_dir, cache_dir, progress, workers, limit, use_cache))


def format_face_fairness(result: FaceFairness) -> str:
    lines = [f"Faces on {result.dataset} ({result.faces} aligned crops); 95% bootstrap intervals"]
    for metric in result.metrics:
        lines.append("")
        lines.append(f"== {metric.title}")
        for attribute in ATTRIBUTES:
            lines.append(format_table(f" by {attribute}", metric.by_attribute(attribute), metric.percent))
    lines.append("")
    lines.append(f"Faces the filter dropped (index path), by their lowest term ({', '.join(TERMS)}):")
    for group, counts in result.rejections.items():
        total = sum(counts.values())
        detail = ", ".join(f"{t} {n}" for t, n in counts.items() if n) or "-"
        lines.append(f"  {group:<16} {total:3d}  {detail}")
    lines.append("")
    lines.extend(c.line() for c in result.checks)
    return "\n".join(lines)


# --- (b) impostor rates --------------------------------------------------------------------------


def impostor_rates(
    embeddings: np.ndarray, attributes: Mapping[str, np.ndarray], thresholds: Mapping[str, float] | None = None,
    max_pairs: int = MAX_PAIRS, seed: int = PAIR_SEED,
) -> list[ThresholdRates]:
    """Per merge distance: the share of different-person pairs under it, over all pairs, over each
    attribute's within-group pairs pooled, and per group (pure: every row is a different person)."""
    thresholds = dict(thresholds or merge_distances())
    n = len(embeddings)
    ai, aj = np.triu_indices(n, k=1)
    everyone = pair_distances(embeddings, *sample_pairs(ai, aj, max_pairs, seed))
    pooled: list[tuple[str, np.ndarray]] = []
    grouped: list[tuple[str, np.ndarray, np.ndarray]] = []
    for attribute, labels in attributes.items():
        wi, wj = within_pairs(labels)
        pooled.append((attribute, pair_distances(embeddings, *sample_pairs(wi, wj, max_pairs, seed))))
        names, dists = [], []
        arr = np.asarray(labels, dtype=object)
        for name in sorted(set(arr.tolist())):
            members = np.flatnonzero(arr == name)
            a, b = np.triu_indices(len(members), k=1)
            si, sj = sample_pairs(members[a], members[b], max_pairs, seed)
            dists.append(pair_distances(embeddings, si, sj))
            names.append(np.full(len(si), name, dtype=object))
        grouped.append((attribute, np.concatenate(names) if names else np.zeros(0, object),
                        np.concatenate(dists) if dists else np.zeros(0)))
    levels = []
    for name, distance in thresholds.items():
        rows: list[GroupRate] = []
        for attribute, labels, dist in grouped:
            rows.extend(rates_by_group(attribute, labels.tolist(), (dist < distance).astype(float)))
        levels.append(ThresholdRates(
            name, distance, rate_row("all", "all pairs", (everyone < distance).astype(float)),
            [rate_row(f"within {attr}", "pooled", (d < distance).astype(float)) for attr, d in pooled], rows,
        ))
    return levels


def _ratio_list(rows: Sequence[tuple[GroupRate, float]]) -> str:
    return ", ".join(f"{r.group} {r.rate / base:.1f}x" if base > 0 else f"{r.group} (base 0)" for r, base in rows)


def impostor_checks(levels: Sequence[ThresholdRates]) -> list[Check]:
    """At each merge distance: "no group's impostor rate is more than twice the overall rate" (the
    issue's condition; the overall rate includes pairs across groups, which rarely fall under a merge
    distance, so a group's own pairs start ahead of it), and the same against the pooled rate of the
    group's attribute (within-group pairs only: a group against groups like it)."""
    checks = []
    for level in levels:
        top, ratio = level.worst()
        over = [(r, level.overall.rate) for r in level.groups if r.rate > MAX_IMPOSTOR_RATIO * level.overall.rate]
        detail = (f"overall {level.overall.rate * 100:.2f}%; highest {top.attribute} {top.group} "
                  f"{top.rate * 100:.2f}% ({ratio:.2f}x)" if top else "no groups")
        if over:
            detail += f"; over 2x: {_ratio_list(over)}"
        checks.append(Check(f"No group's impostor rate is more than twice the overall rate at {level.distance:.2f} "
                            f"({level.name})", not over, detail))
        pooled = {r.attribute.removeprefix("within "): r.rate for r in level.pooled}
        within = [(r, pooled.get(r.attribute, float("nan"))) for r in level.groups]
        over_pooled = [(r, base) for r, base in within if r.rate > MAX_IMPOSTOR_RATIO * base]
        bases = ", ".join(f"{attr} {rate * 100:.2f}%" for attr, rate in pooled.items())
        checks.append(Check(
            f"(supplementary) no group's rate is more than twice its attribute's pooled within-group rate "
            f"at {level.distance:.2f}", not over_pooled,
            f"pooled: {bases}" + (f"; over 2x: {_ratio_list(over_pooled)}" if over_pooled else ""),
        ))
    return checks


def impostor_fairness(
    utk_dir: str | Path, cache_dir: str | Path | None = None, progress: Progress | None = None,
    workers: int | None = None, limit: int | None = None, use_cache: bool = True,
    thresholds: Mapping[str, float] | None = None, max_pairs: int = MAX_PAIRS, min_age: int | None = None,
) -> ImpostorFairness:
    """(b): impostor rates per group on the faces the index path keeps (found and clear); with
    min_age only faces of that age and older (groups then compare at a like age mix: the set's
    race x gender cells hold 12 to 36 babies each, and babies are each other's impostors)."""
    obs = observe_crops(utk_dir, cache_dir, progress, workers, limit, use_cache)
    chosen = obs.kept
    if min_age is not None:
        chosen = chosen & (obs.attributes["age"].astype(int) >= min_age)
    attributes = {k: obs.attributes[k][chosen] for k in ATTRIBUTES}
    levels = impostor_rates(obs.arrays["det_embedding"][chosen], attributes, thresholds, max_pairs)
    population = "all ages" if min_age is None else f"ages {min_age}+"
    return ImpostorFairness(obs.dataset, population, int(chosen.sum()), levels, impostor_checks(levels))


def format_impostor_fairness(result: ImpostorFairness) -> str:
    lines = [f"Impostor rates on {result.dataset}, {result.population}: share of different-person pairs under a "
             f"merge distance ({result.faces} faces kept by the index path; every two images taken as two people; "
             f"n = pairs, a fixed sample of {MAX_PAIRS:,} where there are more)"]
    for level in result.levels:
        lines.append("")
        lines.append(f"== under {level.distance:.2f} ({level.name})")
        baseline = format_table(" baselines", [replace(level.overall, group="all pairs"),
                                               *[replace(r, group=r.attribute) for r in level.pooled]])
        lines.append(baseline.rsplit("\n", 1)[0])  # a gap between baselines means nothing
        for attribute in ATTRIBUTES:
            rows = [r for r in level.groups if r.attribute == attribute]
            if rows:
                lines.append(format_table(f" by {attribute}", rows))
    lines.append("")
    lines.extend(c.line() for c in result.checks)
    return "\n".join(lines)


# --- (c) families ----------------------------------------------------------------------------------


def spread(distances: np.ndarray) -> Spread:
    d = np.asarray(distances, dtype=np.float64)
    if not len(d):
        return Spread(0, float("nan"), float("nan"), float("nan"))
    p10, median, p90 = np.percentile(d, [10, 50, 90])
    return Spread(len(d), float(p10), float(median), float(p90))


def different_album_pairs(albums: np.ndarray, count: int, seed: int = PAIR_SEED) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed sample of `count` distinct pairs (i < j) from different albums (fewer if none)."""
    labels = np.asarray(albums, dtype=object)
    n = len(labels)
    if n < 2 or len(set(labels.tolist())) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int]] = set()
    for _ in range(100):
        a, b = rng.integers(0, n, size=(2, 2 * count))
        for x, y in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True):
            if labels[x] != labels[y]:
                seen.add((x, y))
            if len(seen) >= count:
                break
        if len(seen) >= count:
            break
    pairs = np.array(sorted(seen), dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def family_pair_rates(
    embeddings: np.ndarray, identities: np.ndarray, albums: np.ndarray, photo_ids: np.ndarray | None = None,
    thresholds: Mapping[str, float] | None = None, max_pairs: int = MAX_PAIRS, seed: int = PAIR_SEED,
    dataset: str = "", age_note: str = "",
) -> FamilySpread:
    """Same-person spread and, per merge distance, the share under it of same-person, same-family
    different-person, same-photo (different people) and different-family pairs (pure)."""
    ids = np.asarray(identities, dtype=object)
    fam = np.asarray(albums, dtype=object)
    si, sj = within_pairs(ids)
    same = pair_distances(embeddings, si, sj)
    fi, fj = within_pairs(fam)
    other = ids[fi] != ids[fj]
    kin = pair_distances(embeddings, *sample_pairs(fi[other], fj[other], max_pairs, seed))
    kinds: list[tuple[str, np.ndarray]] = [
        ("same person", same[sample_index(len(same), max_pairs, seed)]),
        ("same family, different person", kin),
    ]
    if photo_ids is not None:
        pi, pj = within_pairs(np.asarray(photo_ids, dtype=object))
        apart = ids[pi] != ids[pj]
        kinds.append(("same photo, different person",
                      pair_distances(embeddings, *sample_pairs(pi[apart], pj[apart], max_pairs, seed))))
    unrelated = pair_distances(embeddings, *different_album_pairs(fam, max_pairs, seed))
    kinds.append(("different families", unrelated))
    levels = []
    for name, distance in dict(thresholds or merge_distances()).items():
        rows = [rate_row("pairs", kind, (d < distance).astype(float)) for kind, d in kinds]
        levels.append((name, distance, rows))
    return FamilySpread(dataset, len(ids), len(set(ids.tolist())), len(set(fam.tolist())), age_note,
                        spread(same), spread(unrelated), levels)


AGE_COLUMNS = ("age", "age_group", "apparent_age")


def age_note(dataset_dir: str | Path) -> str:
    """What a set says about age: a labels.csv column or a note in its README / PROVENANCE."""
    root = Path(dataset_dir)
    with (root / "labels.csv").open(newline="") as f:
        columns = next(csv.reader(f))
    found = [c for c in columns if c in AGE_COLUMNS]
    docs = [p.name for p in (root / "README.md", root / "PROVENANCE.md") if p.is_file()]
    if found:
        return f"age columns {', '.join(found)} (not split here)"
    return (f"not labelled: labels.csv has {', '.join(columns)}; "
            f"{'notes ' + ', '.join(docs) if docs else 'no README or PROVENANCE'} in the folder")


def family_spread(
    fiw_dir: str | Path, cache_dir: str | Path | None = None, progress: Progress | None = None,
    workers: int | None = None, limit: int | None = None, use_cache: bool = True,
    thresholds: Mapping[str, float] | None = None, max_pairs: int = MAX_PAIRS,
) -> FamilySpread:
    """(c): on a family set (fiw_train), embedded by embed_dataset (its cache, crop mode)."""
    if progress is not None:
        progress(0, 1)
    emb = embed_dataset(fiw_dir, workers=workers, cache_dir=cache_dir, limit=limit, use_cache=use_cache)
    if progress is not None:
        progress(1, 1)
    ok = emb.detected
    if emb.albums is None:
        raise ValueError(f"{fiw_dir}: no album column (families)")
    photos = None if emb.photo_ids is None else emb.photo_ids[ok]
    return family_pair_rates(emb.embeddings[ok], emb.identities[ok], emb.albums[ok], photos, thresholds,
                             max_pairs, dataset=Path(fiw_dir).name, age_note=age_note(fiw_dir))


def format_family_spread(result: FamilySpread) -> str:
    s, u = result.same_person, result.different_family
    lines = [
        f"Families on {result.dataset} ({result.faces} faces, {result.people} people, {result.families} families)",
        f"  age: {result.age_note}; spread is over all ages",
        f"  same-person distance: p10 {s.p10:.3f}  median {s.median:.3f}  p90 {s.p90:.3f}  ({s.pairs:,} pairs)",
        f"  different-family distance: p10 {u.p10:.3f}  median {u.median:.3f}  p90 {u.p90:.3f}  ({u.pairs:,} pairs)",
    ]
    for name, distance, rows in result.levels:
        lines.append(format_table(f"  share of pairs under {distance:.2f} ({name})", rows).rsplit("\n", 1)[0])
    return "\n".join(lines)
