"""Embed every image of a labelled set through the face pipeline, in a process pool, cached as .npz.

`pipeline="ours"`: FaceAnalyzer (detector from settings, dlib 5-point landmarks, ONNX ResNet).
`pipeline="dlib"`: the dlib reference, as face_recognition/LibrePhotos run it: HOG with one
upsample, 5-point landmarks, dlib.face_recognition_model_v1.compute_face_descriptor.

For photo sets labelled "centre" the face kept is the detection whose box centre is nearest the
image centre; for face_crops sets the whole image is the face box.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import Dataset, read_dataset, read_image_rgb
from recognition import models, settings
from recognition.face_embed import l2_normalise

# Bump when the pipeline's behaviour changes in a way its settings do not show, so caches are redone.
PIPELINE_VERSION = 2
CHUNK = 24  # images per pool task: amortises the batch embedding, keeps the progress fine-grained


@dataclass(frozen=True)
class EmbeddedSet:
    embeddings: np.ndarray  # N x 128 float32, L2-normalised; zero rows where nothing was detected
    detected: np.ndarray  # N bool
    identities: np.ndarray
    albums: np.ndarray | None
    photo_ids: np.ndarray | None
    paths: list[str]  # relative to the set folder


def centre_index(boxes: list[tuple[float, float, float, float]], height: int, width: int) -> int:
    """Index of the box whose centre is nearest the image centre."""
    centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in boxes])
    return int(np.argmin(np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)))


# --- worker side: one pipeline per process -------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(pipeline: str, detector: str | None, cache_dir: str | None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.clear()
    _WORKER["pipeline"] = pipeline
    if pipeline == "ours":
        from recognition.face_pipeline import FaceAnalyzer

        _WORKER["analyzer"] = FaceAnalyzer(detector=detector, cache_dir=cache_dir)
    else:
        import dlib

        _WORKER["detector"] = dlib.get_frontal_face_detector()
        _WORKER["predictor"] = dlib.shape_predictor(str(models.source_path(models.SHAPE_PREDICTOR_5)))
        _WORKER["net"] = dlib.face_recognition_model_v1(str(models.source_path(models.FACE_RESNET)))


def _embed_chunk_ours(paths: list[str], crops: bool) -> list[np.ndarray | None]:
    from recognition.align import face_chips

    analyzer = _WORKER["analyzer"]
    chips, slots = [], []
    for i, path in enumerate(paths):
        rgb = read_image_rgb(path)
        h, w = rgb.shape[:2]
        if crops:
            box = (0.0, 0.0, float(w), float(h))
        else:
            found = analyzer.detector.detect(rgb)
            if not found:
                continue
            box = found[centre_index([d.box for d in found], h, w)].box
        chips.append(face_chips(rgb, [analyzer.landmarks.shape(rgb, box)])[0])
        slots.append(i)
    out: list[np.ndarray | None] = [None] * len(paths)
    if chips:
        for slot, emb in zip(slots, analyzer.embedder.embed(np.stack(chips)), strict=True):
            out[slot] = emb
    return out


def _embed_chunk_dlib(paths: list[str], crops: bool) -> list[np.ndarray | None]:
    import dlib

    out: list[np.ndarray | None] = []
    for path in paths:
        rgb = read_image_rgb(path)
        h, w = rgb.shape[:2]
        if crops:
            rect = dlib.rectangle(0, 0, w - 1, h - 1)
        else:
            rects = list(_WORKER["detector"](rgb, 1))
            if not rects:
                out.append(None)
                continue
            boxes = [(r.left(), r.top(), r.width(), r.height()) for r in rects]
            rect = rects[centre_index(boxes, h, w)]
        shape = _WORKER["predictor"](rgb, rect)
        out.append(np.array(_WORKER["net"].compute_face_descriptor(rgb, shape), dtype=np.float32))
    return out


def _embed_chunk(args: tuple[list[str], bool]) -> list[np.ndarray | None]:
    paths, crops = args
    if _WORKER["pipeline"] == "ours":
        return _embed_chunk_ours(paths, crops)
    return _embed_chunk_dlib(paths, crops)


# --- caller side ---------------------------------------------------------------------------------


def _cache_key(ds: Dataset, pipeline: str, detector: str | None, limit: int | None) -> str:
    stats = [(str(p.relative_to(ds.root)), p.stat().st_size) for p in ds.paths]
    payload: dict[str, Any] = {
        "set": ds.name,
        "files": stats,
        "pipeline": pipeline,
        "models": [m.sha256 for m in models.FACE_MODELS],
        "limit": limit,
    }
    if pipeline == "ours":  # the dlib reference does not depend on our settings or converter
        payload["detector"] = detector or settings.DETECTION.detector
        payload["detection"] = asdict(settings.DETECTION)
        payload["chip"] = (settings.FACE_CHIP_SIZE, settings.FACE_CHIP_PADDING)
        payload["converter"] = models.CONVERTER_VERSION
        payload["pipeline_version"] = PIPELINE_VERSION
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def eval_cache_dir() -> Path:
    return settings.cache_root() / "eval"


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

    if use_cache and cache_file.is_file():
        with np.load(cache_file) as z:
            return EmbeddedSet(
                z["embeddings"],
                z["detected"],
                ds.identities[:n],
                subset(ds.albums),
                subset(ds.photo_ids),
                rel,
            )
    crops = ds.kind == "face_crops"
    chunks = [([str(p) for p in paths[i : i + CHUNK]], crops) for i in range(0, n, CHUNK)]
    workers = workers or os.cpu_count() or 1
    init = (pipeline, detector, None if cache_dir is None else str(cache_dir))
    if pipeline == "ours":
        # Build the converted model once here so workers do not race to convert it.
        models.onnx_path(models.FACE_RESNET, cache_dir)
        if (detector or settings.DETECTION.detector) == "mmod":
            models.onnx_path(models.MMOD_FACE_DETECTOR, cache_dir)
    results: list[np.ndarray | None] = []
    if workers == 1:
        _init_worker(*init)
        for chunk in chunks:
            results.extend(_embed_chunk(chunk))
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init) as pool:
            for part in pool.map(_embed_chunk, chunks):
                results.extend(part)
    detected = np.array([r is not None for r in results], dtype=bool)
    embeddings = np.zeros((n, 128), np.float32)
    if detected.any():
        embeddings[detected] = l2_normalise(np.stack([r for r in results if r is not None]))
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, embeddings=embeddings, detected=detected)
    os.replace(tmp, cache_file)
    return EmbeddedSet(embeddings, detected, ds.identities[:n], subset(ds.albums), subset(ds.photo_ids), rel)
