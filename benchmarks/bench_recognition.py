"""Speed and detection figures of the face pipeline against the dlib reference, in one run.

    .venv/bin/python -m benchmarks.bench_recognition [--images 240] [--workers 2] [--no-detection]

Prints (and with --json, dumps):
- embedding faces/s with N worker processes: ONNX ResNet (batches of 16) vs dlib
  compute_face_descriptor, on the same chips;
- end-to-end photos/s on the first --images photos of lfw_min10 (decode, detect, landmarks, chip,
  embed), ours vs the dlib reference (HOG upsample 1 + 5-point + compute_face_descriptor), each
  with N worker processes, and the ratio;
- detection recall/precision/time per photo on dlib_faces_det for HOG and MMOD.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_dataset, read_image_rgb
from memories.evaluation.detection import evaluate_detection
from recognition import models, settings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
BATCH = settings.EMBED_BATCH

_W: dict[str, Any] = {}


def _init(kind: str) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import dlib

    if kind in ("onnx", "ours"):
        from recognition.face_pipeline import FaceAnalyzer

        # What `memories index` runs: faces, quality and upper bodies.
        _W["analyzer"] = FaceAnalyzer(bodies=True)
        _W["analyzer"].detector  # noqa: B018 - load the detector before timing
        _W["analyzer"].embedder.embed(np.zeros((1, 150, 150, 3), np.uint8))
    else:
        _W["detector"] = dlib.get_frontal_face_detector()
        _W["predictor"] = dlib.shape_predictor(str(models.source_path(models.SHAPE_PREDICTOR_5)))
        _W["net"] = dlib.face_recognition_model_v1(str(models.source_path(models.FACE_RESNET)))


def _embed_onnx(chips: np.ndarray) -> int:
    return len(_W["analyzer"].embedder.embed(chips))


def _embed_dlib(chips: np.ndarray) -> int:
    for chip in chips:
        _W["net"].compute_face_descriptor(chip)
    return len(chips)


def _photos_ours(paths: list[str]) -> int:
    return sum(len(_W["analyzer"].observe(read_image_rgb(p))) for p in paths)


def _photos_dlib(paths: list[str]) -> int:
    faces = 0
    for p in paths:
        rgb = read_image_rgb(p)
        for rect in _W["detector"](rgb, 1):
            _W["net"].compute_face_descriptor(rgb, _W["predictor"](rgb, rect))
            faces += 1
    return faces


def _warm(_: int) -> int:
    time.sleep(0.2)
    return 0


def timed_pool(kind: str, fn: Any, tasks: list[Any], workers: int) -> tuple[float, int]:
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(kind,)) as pool:
        list(pool.map(_warm, range(workers * 2)))  # workers started and models loaded
        start = time.perf_counter()
        done = sum(pool.map(fn, tasks))
        return time.perf_counter() - start, done


def lfw_chips(paths: list[Path]) -> np.ndarray:
    _init("ours")
    analyzer = _W["analyzer"]
    from recognition.align import face_chips

    chips = []
    for p in paths:
        rgb = read_image_rgb(p)
        for d in analyzer.detector.detect(rgb)[:1]:
            chips.append(face_chips(rgb, [analyzer.landmarks.shape(rgb, d.box)])[0])
    return np.stack(chips)


def stage_times(paths: list[Path]) -> dict[str, float]:
    """Where a photo's time goes, ours and the reference's, in this process."""
    from recognition.align import face_chips

    _init("ours")
    _init("dlib")
    analyzer = _W["analyzer"]
    t = dict.fromkeys(
        (
            "decode",
            "ours_detect",
            "ours_landmarks_chip",
            "ours_embed",
            "dlib_detect",
            "dlib_landmarks_descriptor",
        ),
        0.0,
    )
    chips: list[np.ndarray] = []
    for p in paths:
        s0 = time.perf_counter()
        rgb = read_image_rgb(p)
        s1 = time.perf_counter()
        found = analyzer.detector.detect(rgb)
        s2 = time.perf_counter()
        chips.extend(face_chips(rgb, [analyzer.landmarks.shape(rgb, d.box) for d in found]))
        s3 = time.perf_counter()
        rects = _W["detector"](rgb, 1)
        s4 = time.perf_counter()
        for r in rects:
            _W["net"].compute_face_descriptor(rgb, _W["predictor"](rgb, r))
        s5 = time.perf_counter()
        for key, dt in zip(t, (s1 - s0, s2 - s1, s3 - s2, 0.0, s4 - s3, s5 - s4), strict=True):
            t[key] += dt
    s0 = time.perf_counter()
    analyzer.embedder.embed(np.stack(chips))
    t["ours_embed"] = time.perf_counter() - s0
    return {k: 1000 * v / len(paths) for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-detection", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models.onnx_path(models.FACE_RESNET)
    models.onnx_path(models.MMOD_FACE_DETECTOR)

    ds = read_dataset(DATA / "lfw_min10")
    # every 18th image: many identities, not the first few people only
    step = max(1, len(ds.paths) // args.images)
    paths = ds.paths[::step][: args.images]
    report: dict[str, Any] = {"images": len(paths), "workers": args.workers, "cpu_count": os.cpu_count()}

    chips = lfw_chips(paths)
    # the chips four times over: a run of a few seconds, so pool start-up and noise from other
    # processes on the machine weigh less
    repeated = np.concatenate([chips] * 4)
    tasks = [repeated[i : i + BATCH] for i in range(0, len(repeated), BATCH)]
    t_onnx, n = timed_pool("onnx", _embed_onnx, tasks, args.workers)
    t_dlib, _ = timed_pool("dlib", _embed_dlib, tasks, args.workers)
    report["embedding"] = {
        "faces": n,
        "ours_faces_per_s": n / t_onnx,
        "dlib_faces_per_s": n / t_dlib,
        "ratio": t_dlib / t_onnx,
    }
    print(
        f"embedding, {args.workers} workers, {n} faces: ours {n / t_onnx:.1f} faces/s, "
        f"dlib {n / t_dlib:.1f} faces/s, x{t_dlib / t_onnx:.2f}"
    )

    chunk = 8
    photo_tasks = [[str(p) for p in paths[i : i + chunk]] for i in range(0, len(paths), chunk)]
    t_ours, faces_ours = timed_pool("ours", _photos_ours, photo_tasks, args.workers)
    t_ref, faces_ref = timed_pool("dlib", _photos_dlib, photo_tasks, args.workers)
    report["end_to_end"] = {
        "photos": len(paths),
        "ours_photos_per_s": len(paths) / t_ours,
        "dlib_photos_per_s": len(paths) / t_ref,
        "ratio": t_ref / t_ours,
        "ours_faces": faces_ours,
        "dlib_faces": faces_ref,
        "detector": settings.DETECTION.detector,
    }
    print(
        f"end to end, {args.workers} workers, {len(paths)} lfw photos: "
        f"ours {len(paths) / t_ours:.1f} photos/s ({faces_ours} faces), "
        f"dlib {len(paths) / t_ref:.1f} photos/s ({faces_ref} faces), x{t_ref / t_ours:.2f}"
    )

    stages = stage_times(paths[:80])
    report["stages_ms_per_photo"] = stages
    print("per-stage ms/photo, 1 process, 80 photos: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))

    if not args.no_detection:
        from recognition.detect import MmodDetector

        report["detection"] = {}
        variants: list[tuple[str, Any]] = [
            ("hog", "hog"),
            ("mmod", "mmod"),
            ("mmod, min face 40 px", MmodDetector(replace(settings.DETECTION, mmod_min_face_px=40.0))),
        ]
        for label, det in variants:
            r = evaluate_detection(DATA / "dlib_faces_det", det)
            report["detection"][label] = r
            print(
                f"detection {label:22s} recall {r['recall']:.3f} precision {r['precision']:.3f} "
                f"({r['matched']}/{r['faces']} faces, {r['detections']} detections) "
                f"{1000 * r['seconds_per_image']:.0f} ms/photo"
            )
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
