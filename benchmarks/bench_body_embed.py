"""Upper-body embedding: distance scale and speed.

Every face the HOG detector finds in the multi-person photos of dlib_faces_det and deepface gets
its upper-body box (only boxes at least 80% inside the photo). "Same" = a body and a re-framed crop
of it (shifted and shrunk by a few percent, as a second shot of the same moment frames it);
"different" = two different people's bodies in the same photo (the hard case: same light, often
similar clothes). Prints the distance distributions of the combined embedding and of each part,
and the embedding speed.

    .venv/bin/python -m benchmarks.bench_body_embed
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from PIL import Image

from recognition.body import upper_body_boxes
from recognition.body_embed import BodyEmbedder, colour_descriptor, crop_box
from recognition.detect import HogDetector
from recognition.embeddings import unit_rows
from recognition.landmarks import LandmarkPredictor

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REFRAME = np.array([0.06, 0.04, -0.08, -0.06])  # in face-box widths: dx, dy, dw, dh


def describe(name: str, same: np.ndarray, different: np.ndarray) -> None:
    q = [10, 50, 90]
    print(f"  {name:9s} same p10/50/90 {np.percentile(same, q).round(3)}  "
          f"different {np.percentile(different, q).round(3)}  "
          f"same < min-different for {np.mean(same < different.min()):.2f} of bodies")


def main() -> int:
    detector, predictor, embedder = HogDetector(), LandmarkPredictor(), BodyEmbedder()
    photos = sorted((SHARED_DATA / "dlib_faces_det" / "images").glob("*.jpg"))
    photos += sorted((SHARED_DATA / "deepface" / "images").glob("*.jpg"))
    same: dict[str, list[float]] = {"combined": [], "cnn": [], "colour": []}
    different: dict[str, list[float]] = {"combined": [], "cnn": [], "colour": []}
    crops_done, seconds = 0, 0.0
    for path in photos:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        found = detector.detect(rgb)
        if len(found) < 2:
            continue
        faces = np.array([d.box for d in found])
        lms = np.stack([predictor.predict(rgb, d.box) for d in found])
        boxes, visible = upper_body_boxes(faces, lms, (rgb.shape[1], rgb.shape[0]))
        boxes, faces = boxes[visible >= 0.8], faces[visible >= 0.8]
        if len(boxes) < 2:
            continue
        reframed = boxes + faces[:, 2:3] * REFRAME
        crops = [crop_box(rgb, b) for b in np.concatenate([boxes, reframed])]
        t0 = time.perf_counter()
        emb = embedder.embed_crops(crops)
        seconds += time.perf_counter() - t0
        crops_done += len(crops)
        parts = {"combined": emb, "cnn": unit_rows(embedder.features(crops)),
                 "colour": np.stack([colour_descriptor(c) for c in crops])}
        n = len(boxes)
        for name, vectors in parts.items():
            a, b = vectors[:n], vectors[n:]
            d = np.linalg.norm(a[:, None] - b[None], axis=2)
            same[name].extend(np.diag(d))
            pair = np.linalg.norm(a[:, None] - a[None], axis=2)
            different[name].extend(pair[np.triu_indices(n, 1)])
    print(f"{len(same['combined'])} bodies, {len(different['combined'])} different-person pairs "
          f"(same photo)")
    for name in same:
        describe(name, np.array(same[name]), np.array(different[name]))
    print(f"embedding: {1000 * seconds / max(crops_done, 1):.1f} ms/crop (batch 16, 1 thread, incl. colour)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
