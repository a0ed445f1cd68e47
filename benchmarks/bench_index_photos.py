"""`memories index` on phone-size photos, end to end, against the dlib reference in the same run.

    .venv/bin/python -m benchmarks.bench_index_photos [--photos 200] [--workers 2] [--folder DIR]
                                                      [--reference-photos 40] [--json]

Without --folder it makes (once, cached under ~/.cache/memories/bench-phone-photos) N photos of
4032 x 3024, JPEG quality 92, each with 1-4 people: lfw_min10 portraits pasted at random places
with face heights drawn log-uniformly from 40 to 700 px on a textured background (a ground truth
face box per person, from dlib's HOG on the 250 px portrait, scaled). It then runs the shipping
command, `memories index FOLDER --library <fresh> --workers N`, in a subprocess and prints:
- photos/s (wall clock, model loading included) and faces found;
- recall of the pasted faces of 40 px or more (IoU >= 0.4 with a stored face box);
- peak memory: the largest sum of resident memory of the command and its workers (sampled from
  /proc every 50 ms);
- the dlib reference on the first --reference-photos photos with as many worker processes: full
  decode, HOG (no upsampling: on a 12 MP photo one doubling costs ~8 s a photo), 5-point
  landmarks and compute_face_descriptor; its photos/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_dataset
from memories.evaluation.detection import matches
from recognition import models

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SIZE = (4032, 3024)
FACE_PX = (40.0, 700.0)
SEED = 20261130


def _background(rng: np.random.Generator) -> np.ndarray:
    """A smooth colour field with fine grain: compresses like a photo, holds no face."""
    import cv2

    coarse = rng.uniform(40, 220, (6, 8, 3)).astype(np.float32)
    field = cv2.resize(coarse, SIZE, interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (SIZE[1], SIZE[0], 1)).astype(np.float32)
    return np.clip(field + grain, 0, 255).astype(np.uint8)


def make_photos(folder: Path, count: int) -> dict[str, list[list[float]]]:
    """count photos in folder and their pasted face boxes (x, y, w, h); cached by truth.json."""
    import cv2
    import dlib

    truth_file = folder / "truth.json"
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text())
        if len(truth) >= count:
            return dict(sorted(truth.items())[:count])
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    hog = dlib.get_frontal_face_detector()
    portraits = []
    for path in read_dataset(DATA / "lfw_min10").paths[:600]:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        found = hog(rgb, 1)
        if len(found) == 1:
            r = found[0]
            portraits.append((rgb, (r.left(), r.top(), r.width(), r.height())))
    truth: dict[str, list[list[float]]] = {}
    for k in range(count):
        canvas = _background(rng)
        boxes: list[list[float]] = []
        tiles: list[tuple[int, int, int, int]] = []
        for _ in range(int(rng.integers(1, 5))):
            rgb, (fx, fy, fw, fh) = portraits[int(rng.integers(len(portraits)))]
            face_px = float(np.exp(rng.uniform(*np.log(FACE_PX))))
            scale = face_px / fh
            tile = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
            th, tw = tile.shape[:2]
            if th >= SIZE[1] or tw >= SIZE[0]:
                continue
            for _attempt in range(20):  # a free place: pasted people do not overlap
                x, y = int(rng.integers(0, SIZE[0] - tw)), int(rng.integers(0, SIZE[1] - th))
                if all(x + tw <= a or x >= a + aw or y + th <= b or y >= b + bh for a, b, aw, bh in tiles):
                    canvas[y : y + th, x : x + tw] = tile
                    tiles.append((x, y, tw, th))
                    boxes.append([x + fx * scale, y + fy * scale, fw * scale, fh * scale])
                    break
        name = f"phone_{k:04d}.jpg"
        cv2.imwrite(str(folder / name), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        truth[name] = boxes
    truth_file.write_text(json.dumps(truth))
    return truth


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_index(folder: Path, workers: int) -> dict[str, Any]:
    library = Path(tempfile.mkdtemp(prefix="bench-index-"))
    command = [str(REPO / ".venv" / "bin" / "memories"), "index", str(folder), "--library", str(library), "--workers", str(workers), "--json"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"memories index failed with exit status {process.returncode}")
    db = sqlite3.connect(library / "library.sqlite3")
    faces: dict[str, list[list[float]]] = {}
    for path, x, y, w, h in db.execute(
        "SELECT a.path, o.face_x, o.face_y, o.face_w, o.face_h FROM observations o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.source = 'detector'"
    ):
        faces.setdefault(Path(path).name, []).append([x, y, w, h])
    return {"seconds": seconds, "peak_bytes": peak, "faces": faces, "library": str(library)}


_W: dict[str, Any] = {}


def _init_reference() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import dlib

    _W["detector"] = dlib.get_frontal_face_detector()
    _W["predictor"] = dlib.shape_predictor(str(models.source_path(models.SHAPE_PREDICTOR_5)))
    _W["net"] = dlib.face_recognition_model_v1(str(models.source_path(models.FACE_RESNET)))


def _reference_photo(path: str) -> int:
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"))
    rects = _W["detector"](rgb, 0)
    for rect in rects:
        _W["net"].compute_face_descriptor(rgb, _W["predictor"](rgb, rect))
    return len(rects)


def run_reference(paths: list[Path], workers: int) -> dict[str, Any]:
    with ProcessPoolExecutor(workers, initializer=_init_reference) as pool:
        start = time.perf_counter()
        faces = sum(pool.map(_reference_photo, [str(p) for p in paths]))
        return {"seconds": time.perf_counter() - start, "faces": faces, "photos": len(paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--folder", type=Path, help="index these photos instead (no ground truth)")
    parser.add_argument("--reference-photos", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.folder:
        folder, truth = args.folder, {}
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".heic", ".png"))
    else:
        folder = Path.home() / ".cache" / "memories" / "bench-phone-photos"
        truth = make_photos(folder, args.photos)
        paths = [folder / name for name in sorted(truth)]
        if len(list(folder.glob("*.jpg"))) > len(paths):  # index exactly these photos
            subset = Path(tempfile.mkdtemp(prefix="bench-photos-"))
            for p in paths:
                (subset / p.name).symlink_to(p)
            folder = subset
    ours = run_index(folder, args.workers)
    report: dict[str, Any] = {
        "photos": len(paths),
        "workers": args.workers,
        "ours_seconds": round(ours["seconds"], 2),
        "ours_photos_per_s": round(len(paths) / ours["seconds"], 2),
        "ours_faces": sum(len(v) for v in ours["faces"].values()),
        "peak_memory_gb": round(ours["peak_bytes"] / 2**30, 3),
    }
    if truth:
        pasted = found = 0
        for name, boxes in truth.items():
            big = np.array([b for b in boxes if b[3] >= FACE_PX[0]], float).reshape(-1, 4)
            stored = np.array(ours["faces"].get(name, []), float).reshape(-1, 4)
            pasted += len(big)
            found += len(matches(big, stored, 0.4))
        report["faces_40px_pasted"] = pasted
        report["faces_40px_found"] = found
        report["recall_40px"] = round(found / max(pasted, 1), 4)
    reference = run_reference(paths[: args.reference_photos], args.workers)
    report["reference_photos"] = reference["photos"]
    report["reference_photos_per_s"] = round(reference["photos"] / reference["seconds"], 2)
    report["reference_faces"] = reference["faces"]
    report["ratio"] = round(report["ours_photos_per_s"] / report["reference_photos_per_s"], 2)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(
        f"memories index: {report['photos']} photos of {SIZE[0]}x{SIZE[1]} in {report['ours_seconds']} s = "
        f"{report['ours_photos_per_s']} photos/s with {args.workers} workers; {report['ours_faces']} faces; "
        f"peak memory {report['peak_memory_gb']} GB"
    )
    if truth:
        print(f"faces of 40 px or more found: {report['faces_40px_found']}/{report['faces_40px_pasted']} ({report['recall_40px']:.3f})")
    print(
        f"dlib reference (HOG, 5-point, ResNet; {reference['photos']} photos): {report['reference_photos_per_s']} photos/s, "
        f"{reference['faces']} faces; ratio {report['ratio']}x"
    )


if __name__ == "__main__":
    main()
