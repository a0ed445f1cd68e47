"""Assignment of new faces: speed, accuracy of sparse coding vs nearest neighbour / centroid, open set.

    .venv/bin/python -m benchmarks.bench_assign [--lfw PATH] [--fiw PATH]

Accuracy: real dlib embeddings of lfw_min10 (and fiw_train when given: relatives are the hard
negatives). Per data set, a third of the people are outsiders (never in the gallery); each
known person's faces are split in half, one half builds the gallery (exemplars), the other half
are the queries. Rules: "energy" (sparse code, largest per-person code mass; ours),
"residual" (SRC minimum class residual), "nearest_exemplar" (NN over the same exemplars),
"nearest_face" (NN over every gallery face, the strongest NN), "nearest_centroid".
Open set: the unknown threshold that keeps 95% of known queries assigned (on each rule's own
confidence: code energy for the sparse rules, distance to the nearest exemplar/face/centroid
for the others), and the share of outsider faces assigned to someone at that threshold.
Speed: a gallery of 1,000 people x 10 exemplars (synthetic faces from benchmarks/bench_cluster_scale.py's
model fitted to lfw_min10), ms per face in batches of 256 and one face at a time.
The dev caches (/tmp/memories-dev/*_dlib.npz) hold `embeddings, identities, found` arrays.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from benchmarks.bench_cluster_scale import DEFAULT_CACHE, FALLBACK, fit_model, synthesize_faces
from recognition.assign import SparseCodingAssigner
from recognition.embeddings import unit_rows

RULES = ("energy", "residual", "nearest_exemplar", "nearest_centroid")


def split(ids: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks: gallery faces, known queries, outsider faces."""
    rng = np.random.default_rng(seed)
    people = np.unique(ids)
    outsiders = set(rng.choice(people, len(people) // 3, replace=False).tolist())
    gallery = np.zeros(len(ids), bool)
    outsider = np.array([i in outsiders for i in ids])
    for p in people:
        if p in outsiders:
            continue
        rows = rng.permutation(np.flatnonzero(ids == p))
        gallery[rows[: (len(rows) + 1) // 2]] = True
    return gallery, ~gallery & ~outsider, outsider


def evaluate(name: str, x: np.ndarray, ids: np.ndarray) -> None:
    gallery, known, outsider = split(ids)
    known_people, outsiders = len(np.unique(ids[gallery])), len(np.unique(ids[outsider]))
    print(f"\n{name}: gallery {gallery.sum()} faces of {known_people} people, {known.sum()} known queries, "
          f"{outsider.sum()} outsider faces of {outsiders} people")
    print(f"{'rule':<18}{'accuracy':>9}{'thr@95%':>9}{'outsiders assigned':>20}{'known wrong':>12}")
    results = {}
    for rule in RULES:
        a = SparseCodingAssigner(rule=rule).fit(x[gallery], ids[gallery])  # type: ignore[arg-type]
        pk, ck = a.decision(x[known])
        _, co = a.decision(x[outsider])
        results[rule] = (pk, -ck, -co)  # as "distances": lower is surer
    # Nearest face over the whole gallery half (not just exemplars).
    sims = x[known] @ x[gallery].T
    nf = ids[gallery][np.argmax(sims, axis=1)]
    nf_d = np.sqrt(np.maximum(2 - 2 * sims.max(axis=1), 0))
    do_nf = np.sqrt(np.maximum(2 - 2 * (x[outsider] @ x[gallery].T).max(axis=1), 0))
    results["nearest_face"] = (nf, nf_d, do_nf)
    for rule, (pk, dk, do) in results.items():
        thr = float(np.quantile(dk, 0.95))
        acc = float(np.mean(pk == ids[known]))
        wrong = float(np.mean((pk != ids[known]) & (dk <= thr)))
        print(f"{rule:<18}{acc:>9.4f}{abs(thr):>9.3f}{np.mean(do <= thr):>20.4f}{wrong:>12.4f}")


def timing(model: dict[str, object]) -> None:
    rng = np.random.default_rng(0)
    sizes = np.full(1000, 12)
    faces = synthesize_faces(model, sizes, seed=1)
    people = np.repeat(np.arange(1000), 12)
    assigner = SparseCodingAssigner().fit(faces, people)
    people_n, per_person = assigner.exemplars_.shape[:2]
    print(f"\nspeed: gallery {people_n} people x {per_person} exemplars")
    queries = faces[rng.integers(len(faces), size=2048)]
    assigner.predict(queries[:256])  # warm-up
    start = time.perf_counter()
    for first in range(0, len(queries), 256):
        assigner.predict(queries[first:first + 256])
    batched = (time.perf_counter() - start) / len(queries) * 1e3
    start = time.perf_counter()
    for q in queries[:200]:
        assigner.predict(q[None])
    single = (time.perf_counter() - start) / 200 * 1e3
    print(f"ms per face: batches of 256 {batched:.3f}, one at a time {single:.3f}")


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(path)
    found = data["found"]
    return unit_rows(data["embeddings"][found].astype(np.float32)), data["identities"][found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--fiw", type=Path, default=Path("/tmp/memories-dev/fiw_train_dlib.npz"))
    args = parser.parse_args()
    if args.lfw.exists():
        evaluate("lfw_min10", *load(args.lfw))
    if args.fiw.exists():
        x, ids = load(args.fiw)
        counts = {k: v for k, v in zip(*np.unique(ids, return_counts=True), strict=True)}
        keep = np.array([counts[i] >= 6 for i in ids])  # people with enough faces to split in half
        evaluate("fiw_train (people with 6+ faces)", x[keep], ids[keep])
    timing(fit_model(args.lfw) if args.lfw.exists() else FALLBACK)


if __name__ == "__main__":
    main()
