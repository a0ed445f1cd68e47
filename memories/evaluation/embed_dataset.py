"""Embed every image of a labelled set through the face pipeline, in a process pool, cached as .npz.

`pipeline="ours"`: `FaceAnalyzer.observe`, the same call `memories index` makes (detector from
settings, dlib 5-point landmarks, mirror-averaged ONNX ResNet, quality).
`pipeline="dlib"`: the dlib reference, as face_recognition/LibrePhotos run it: HOG with one
upsample, 5-point landmarks, dlib.face_recognition_model_v1.compute_face_descriptor.

For photo sets labelled "centre" the face kept is the detection whose box centre is nearest the
image centre; for face_crops sets the whole image is the face box. `embed_strangers` keeps every
clear face of every image instead (what a library would cluster), for unlabelled distractors.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from boltons.fileutils import atomic_save

from memories.evaluation.datasets import Dataset, read_dataset, read_image_rgb
from memories.workers import die_with_parent
from recognition import models, settings
from recognition.body_settings import QUALITY
from recognition.boxes import Detection
from recognition.embeddings import unit_rows
from recognition.face_pipeline import FaceAnalyzer, centre_detection

# Bump when the pipeline's behaviour changes in a way its settings do not show, so caches are redone.
PIPELINE_VERSION = 3
CHUNK = 24  # images per pool task: amortises the batch embedding, keeps the progress fine-grained


@dataclass(frozen=True)
class EmbeddedSet:
    embeddings: np.ndarray  # N x 128 float32, L2-normalised; zero rows where nothing was detected
    detected: np.ndarray  # N bool
    identities: np.ndarray
    albums: np.ndarray | None
    photo_ids: np.ndarray | None
    paths: list[str]  # relative to the set folder


@dataclass(frozen=True)
class StrangerFaces:
    embeddings: np.ndarray  # F x 128 float32, L2-normalised: every clear face found
    images: np.ndarray  # F int: index (among the set's distinct images) of each face's image


# --- worker side: one pipeline per process -------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(pipeline: str, detector: str | None, cache_dir: str | None, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.clear()
    _WORKER["pipeline"] = pipeline
    if pipeline == "ours":
        _WORKER["analyzer"] = FaceAnalyzer(detector=detector, cache_dir=cache_dir)
    else:
        import dlib

        _WORKER["detector"] = dlib.get_frontal_face_detector()
        _WORKER["predictor"] = dlib.shape_predictor(str(models.source_path(models.SHAPE_PREDICTOR_5)))
        _WORKER["net"] = dlib.face_recognition_model_v1(str(models.source_path(models.FACE_RESNET)))


def _embed_chunk_ours(paths: list[str], mode: str) -> list[list[np.ndarray]]:
    """Per image, the embeddings of the faces `mode` keeps: "crop" (the image is the face),
    "centre" (the detection nearest the centre) or "clear" (every clear face)."""
    analyzer = _WORKER["analyzer"]
    out: list[list[np.ndarray]] = []
    for path in paths:
        rgb = read_image_rgb(path)
        if mode == "crop":
            faces = analyzer.observe(rgb, crop=True)
        elif mode == "centre":
            found = analyzer.detect(rgb)
            faces = analyzer.observe(rgb, [centre_detection(found, *rgb.shape[:2])]) if found else []
        else:
            faces = [f for f in analyzer.observe(rgb) if f.is_clear]
        out.append([f.embedding for f in faces])
    return out


def _embed_chunk_dlib(paths: list[str], mode: str) -> list[list[np.ndarray]]:
    import dlib

    out: list[list[np.ndarray]] = []
    for path in paths:
        rgb = read_image_rgb(path)
        h, w = rgb.shape[:2]
        if mode == "crop":
            rect = dlib.rectangle(0, 0, w - 1, h - 1)
        else:
            rects = list(_WORKER["detector"](rgb, 1))
            if not rects:
                out.append([])
                continue
            found = [Detection((r.left(), r.top(), r.width(), r.height()), 0.0) for r in rects]
            rect = rects[found.index(centre_detection(found, h, w))]
        shape = _WORKER["predictor"](rgb, rect)
        out.append([np.array(_WORKER["net"].compute_face_descriptor(rgb, shape), dtype=np.float32)])
    return out


def _embed_chunk(args: tuple[list[str], str]) -> list[list[np.ndarray]]:
    paths, mode = args
    if _WORKER["pipeline"] == "ours":
        return _embed_chunk_ours(paths, mode)
    return _embed_chunk_dlib(paths, mode)


# --- caller side ---------------------------------------------------------------------------------


def _cache_key(ds: Dataset, pipeline: str, detector: str | None, limit: int | None, mode: str = "") -> str:
    stats = [(str(p.relative_to(ds.root)), p.stat().st_size) for p in ds.paths]
    payload: dict[str, Any] = {
        "set": ds.name,
        "files": stats,
        "pipeline": pipeline,
        "models": [m.sha256 for m in models.FACE_MODELS],
        "limit": limit,
        "mode": mode,
    }
    if pipeline == "ours":  # the dlib reference does not depend on our settings or converter
        payload["detector"] = detector or settings.DETECTION.detector
        payload["detection"] = asdict(settings.DETECTION)
        payload["chip"] = (settings.FACE_CHIP_SIZE, settings.FACE_CHIP_PADDING)
        payload["converter"] = models.CONVERTER_VERSION
        payload["pipeline_version"] = PIPELINE_VERSION
        payload["mirror"] = settings.EMBED_MIRROR
        payload["quality"] = asdict(QUALITY) if mode == "clear" else None
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def eval_cache_dir() -> Path:
    return settings.cache_root() / "eval"


def _observe_all(
    paths: list[Path], mode: str, pipeline: str, workers: int | None, detector: str | None,
    cache_dir: str | Path | None,
) -> list[list[np.ndarray]]:
    """Per image, the embeddings (unit rows) of the faces `mode` keeps, in a process pool."""
    chunks = [([str(p) for p in paths[i : i + CHUNK]], mode) for i in range(0, len(paths), CHUNK)]
    workers = workers or os.cpu_count() or 1
    init = (pipeline, detector, None if cache_dir is None else str(cache_dir))
    if pipeline == "ours":
        # Build the converted model once here so workers do not race to convert it.
        models.onnx_path(models.FACE_RESNET, cache_dir)
        if (detector or settings.DETECTION.detector) == "mmod":
            models.onnx_path(models.MMOD_FACE_DETECTOR, cache_dir)
    results: list[list[np.ndarray]] = []
    if workers == 1:
        _init_worker(*init)
        for chunk in chunks:
            results.extend(_embed_chunk(chunk))
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(*init, os.getpid())) as pool:
            for part in pool.map(_embed_chunk, chunks):
                results.extend(part)
    return [[unit_rows(e) for e in faces] for faces in results]


def save_npz(cache_file: Path, **arrays: np.ndarray) -> None:
    """Arrays to a compressed .npz, written whole or not at all: a uniquely named part file beside
    it is renamed into place, so concurrent runs never read (or write into) a half-written cache."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    part = f"{cache_file.name}.{uuid.uuid4().hex}.part"
    with atomic_save(str(cache_file), text_mode=False, part_file=part) as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]


def embed_dataset(
    dataset_dir: str | Path,
    pipeline: str = "ours",
    workers: int | None = None,
    detector: str | None = None,
    cache_dir: str | Path | None = None,
    limit: int | None = None,
    use_cache: bool = True,
) -> EmbeddedSet:
    """Embeddings of a set's images (the first `limit` if given), from the .npz cache when present."""
    ds = read_dataset(dataset_dir)
    paths = ds.paths[:limit] if limit else ds.paths
    n = len(paths)
    key = _cache_key(ds, pipeline, detector, limit)
    cache_file = eval_cache_dir() / f"{ds.name}-{pipeline}-{key}.npz"
    rel = [str(p.relative_to(ds.root)) for p in paths]

    def subset(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[:n]

    if not (use_cache and cache_file.is_file()):
        faces = _observe_all(paths, "crop" if ds.kind == "face_crops" else "centre", pipeline, workers,
                             detector, cache_dir)
        detected = np.array([bool(f) for f in faces], dtype=bool)
        embeddings = np.zeros((n, 128), np.float32)
        if detected.any():
            embeddings[detected] = np.stack([f[0] for f in faces if f])
        save_npz(cache_file, embeddings=embeddings, detected=detected)
    with np.load(cache_file) as z:
        return EmbeddedSet(
            z["embeddings"], z["detected"], ds.identities[:n], subset(ds.albums), subset(ds.photo_ids), rel
        )


def embed_strangers(
    dataset_dir: str | Path, workers: int | None = None, cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> StrangerFaces:
    """Every clear face of a set's images, as `memories index` would keep it for clustering (face
    crop sets: every crop), from the .npz cache when present."""
    ds = read_dataset(dataset_dir)
    mode = "crop" if ds.kind == "face_crops" else "clear"
    key = _cache_key(ds, "ours", None, None, mode)
    cache_file = eval_cache_dir() / f"{ds.name}-strangers-{key}.npz"
    if not (use_cache and cache_file.is_file()):
        # Each image once (a per-face labels.csv, as wider_faces has, lists an image per face).
        paths = list(dict.fromkeys(ds.paths))
        faces = _observe_all(paths, mode, "ours", workers, None, cache_dir)
        images = np.array([i for i, f in enumerate(faces) for _ in f], np.int64)
        rows = [e for f in faces for e in f]
        embeddings = np.stack(rows) if rows else np.zeros((0, 128), np.float32)
        save_npz(cache_file, embeddings=embeddings, images=images)
    with np.load(cache_file) as z:
        return StrangerFaces(z["embeddings"], z["images"])
