"""Seconds, peak memory, pairwise precision and BCubed F of the full two-pass clustering at 10k / 100k / 1M faces.

    .venv/bin/python -m benchmarks.bench_cluster_scale --sizes 10000 100000 [--cache PATH]

Synthetic faces: identity centres drawn from a Gaussian whose mean norm and eigen-spectrum are
fitted to lfw_min10's per-person mean dlib embeddings, and per-face deviations from a Gaussian
fitted to the faces' residuals around their person's mean (random orthonormal bases; only the
spectra matter for distances). The script prints the same-person and different-person distance
quantiles of the real and the synthetic sets side by side. Without the dev cache
(/tmp/memories-dev/lfw_min10_dlib.npz, see --cache) it uses the fitted constants below.
People sizes are Zipf (size ~ 1/rank, one person per 50 faces); faces come in "events" of up to
5 faces of one person, six events make a moment, and faces of different people in a moment share
photos (up to 3 per photo), so pass 1, cannot-links and pass 2 all have work to do.
Each size runs in a fresh process so peak RSS (ru_maxrss) is that size's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from recognition.cluster import TwoPassClusterer
from recognition.embeddings import unit_rows
from recognition.metrics import bcubed_prf, pairwise_prf, same_photo_violations

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path("/tmp/memories-dev/lfw_min10_dlib.npz")

# Fitted on lfw_min10 dlib embeddings (unit-normalised) by `fit_model` below; used without the
# cache: the norm of the mean identity centre and the two eigen-spectra (largest first).
FALLBACK: dict[str, object] = {
    "centre_mean_norm": 0.91429,
    "face_scale_quantiles": [
        0.455, 0.747, 0.792, 0.825, 0.853, 0.874, 0.895, 0.916, 0.935, 0.953, 0.972, 0.991, 1.01, 1.03,
        1.055, 1.082, 1.11, 1.148, 1.193, 1.273, 2.29
    ],
    "centre_spectrum": [
        0.0156, 0.0108, 0.00765, 0.00688, 0.0064, 0.00578, 0.00446, 0.00406, 0.00365, 0.00359, 0.00319,
        0.00279, 0.00264, 0.00253, 0.00217, 0.00202, 0.00197, 0.00173, 0.00158, 0.00152, 0.00141, 0.00134,
        0.00129, 0.00124, 0.00112, 0.00107, 0.00105, 0.00103, 0.000949, 0.000926, 0.000835, 0.000733,
        0.000707, 0.000687, 0.000668, 0.00063, 0.000624, 0.000585, 0.000561, 0.000522, 0.000486, 0.000466,
        0.000432, 0.000428, 0.000388, 0.000373, 0.000342, 0.00032, 0.000313, 0.000302, 0.000279, 0.000263,
        0.000244, 0.000238, 0.000211, 0.000203, 0.000196, 0.000178, 0.000163, 0.000152, 0.000142, 0.000136,
        0.000132, 0.000121, 0.000106, 9.72e-05, 9.2e-05, 8.67e-05, 7.98e-05, 6.72e-05, 6.32e-05, 5.29e-05,
        4.69e-05, 3.69e-05, 2.73e-05, 2.03e-05, 9.2e-06, 4.52e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07,
        1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07,
        1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07,
        1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07, 1e-07,
        1e-07, 1e-07
    ],
    "within_spectrum": [
        0.00154, 0.00135, 0.00124, 0.0012, 0.00119, 0.00114, 0.00113, 0.00112, 0.00109, 0.00106, 0.00104,
        0.000996, 0.000972, 0.000953, 0.000945, 0.000928, 0.000881, 0.000867, 0.000861, 0.000846, 0.000827,
        0.00081, 0.000799, 0.000789, 0.000766, 0.000744, 0.000718, 0.000714, 0.000688, 0.000675, 0.000667,
        0.000645, 0.000641, 0.000621, 0.000612, 0.000601, 0.000571, 0.000564, 0.000546, 0.000544, 0.000518,
        0.000518, 0.000495, 0.000487, 0.000478, 0.000469, 0.000453, 0.000446, 0.000429, 0.000412, 0.000405,
        0.000397, 0.000395, 0.000381, 0.000374, 0.00036, 0.000355, 0.000344, 0.000334, 0.00032, 0.00031,
        0.000297, 0.000291, 0.000283, 0.000266, 0.000263, 0.000259, 0.000232, 0.000221, 0.00021, 0.000191,
        0.000187, 0.000174, 0.000142, 0.000103, 6.18e-05, 3.14e-05, 1.65e-06, 2.98e-07, 1.09e-07, 3.42e-08,
        3.48e-09, 4.16e-10, 2.01e-10, 9.7e-11, 3.19e-11, 7.74e-12, 3.29e-12, 1.84e-12, 1.07e-12, 2.96e-13,
        2.27e-13, 1.22e-13, 5.18e-14, 2.33e-14, 1.76e-14, 1.65e-14, 1.23e-14, 7.24e-15, 5.29e-15, 4.81e-15,
        4.25e-15, 4.1e-15, 3.54e-15, 3.42e-15, 3.04e-15, 2.9e-15, 2.82e-15, 2.75e-15, 2.55e-15, 2.44e-15,
        2.41e-15, 2.29e-15, 2.19e-15, 2.15e-15, 1.99e-15, 1.96e-15, 1.89e-15, 1.76e-15, 1.7e-15, 1.64e-15,
        1.54e-15, 1.43e-15, 1.39e-15, 1.26e-15, 1.23e-15, 1.19e-15, 1.02e-15
    ],
}
DIM = 128


def fit_model(cache: Path) -> dict[str, object]:
    data = np.load(cache)
    x = unit_rows(data["embeddings"][data["found"]].astype(np.float64))
    ids = data["identities"][data["found"]]
    people, codes = np.unique(ids, return_inverse=True)
    counts = np.bincount(codes)
    centres = np.stack([x[codes == p].mean(axis=0) for p in range(len(people))])
    residual = x - centres[codes]
    centre_mu = centres.mean(axis=0)
    within = np.sort(np.linalg.eigvalsh(np.cov(residual.T)))[::-1]
    # A person's mean of n faces carries within-person noise / n; take it out of the centre spread.
    centre = np.sort(np.linalg.eigvalsh(np.cov((centres - centre_mu).T)))[::-1]
    centre = np.maximum(centre - within * float(np.mean(1.0 / counts)), 1e-7)
    # Faces differ in how far they stray from their person (pose, blur, age): keep the spread of
    # per-face residual norms as quantiles of their ratio to the RMS, to scale synthetic deviations.
    norms = np.linalg.norm(residual, axis=1) * np.sqrt(counts / np.maximum(counts - 1, 1))[codes]
    ratio = norms / np.sqrt(np.mean(norms**2))
    return {"centre_mean_norm": round(float(np.linalg.norm(centre_mu)), 5),
            "face_scale_quantiles": [round(float(v), 3) for v in np.quantile(ratio, np.linspace(0, 1, 21))],
            "centre_spectrum": [float(f"{v:.3g}") for v in centre],
            "within_spectrum": [float(f"{v:.3g}") for v in within]}


def _gaussian(rng: np.random.Generator, count: int, spectrum: list[float]) -> np.ndarray:
    scales = np.sqrt(np.asarray(spectrum, np.float64))
    basis = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0]
    return (rng.standard_normal((count, DIM)) * scales) @ basis.T


def zipf_sizes(faces: int, per_person: int = 50) -> np.ndarray:
    people = max(faces // per_person, 1)
    weights = 1.0 / np.arange(1, people + 1)
    sizes = np.maximum(np.floor(weights / weights.sum() * faces), 1).astype(np.int64)
    sizes[0] += faces - sizes.sum()  # the library owner absorbs the rounding
    return sizes


def synthesize_faces(model: dict[str, object], sizes: np.ndarray, seed: int = 0) -> np.ndarray:
    """Unit embeddings for people of the given sizes, in person order."""
    rng = np.random.default_rng(seed)
    faces = int(sizes.sum())
    mu = unit_rows(rng.standard_normal(DIM)) * float(model["centre_mean_norm"])  # type: ignore[arg-type]
    centres = mu + _gaussian(rng, len(sizes), model["centre_spectrum"])  # type: ignore[arg-type]
    identity = np.repeat(np.arange(len(sizes)), sizes)
    scale_q = np.asarray(model["face_scale_quantiles"])  # type: ignore[arg-type]
    # Generate the within-person deviations in blocks to keep the generator's own memory small.
    emb = np.empty((faces, DIM), np.float32)
    block = 100_000
    for start in range(0, faces, block):
        stop = min(start + block, faces)
        block_rng = np.random.default_rng(seed + 1 + start)
        dev = _gaussian(block_rng, stop - start, model["within_spectrum"])  # type: ignore[arg-type]
        scale = np.interp(block_rng.random(stop - start), np.linspace(0, 1, len(scale_q)), scale_q)
        emb[start:stop] = unit_rows(centres[identity[start:stop]] + dev * scale[:, None])
    return emb


def synthesize(model: dict[str, object], faces: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = zipf_sizes(faces)
    identity = np.repeat(np.arange(len(sizes)), sizes)
    emb = synthesize_faces(model, sizes, seed)
    # Events: consecutive runs of <= 5 faces of one person; six random events make a moment.
    event = np.zeros(faces, np.int64)
    event_id = 0
    pos = 0
    for size in sizes.tolist():
        runs = np.arange(size) // 5
        event[pos:pos + size] = event_id + runs
        event_id += int(runs[-1]) + 1
        pos += size
    moment_of_event = rng.permutation(event_id) // 6
    moment = moment_of_event[event]
    # Photos: inside a moment, consecutive faces of different people share a photo (<= 3 faces).
    order = np.lexsort((rng.random(faces), moment))
    photo = np.empty(faces, np.int64)
    photo_id = -1
    members: list[int] = []
    last_moment = -1
    for i in order.tolist():
        if moment[i] != last_moment or len(members) == 3 or any(identity[j] == identity[i] for j in members):
            photo_id += 1
            members = []
            last_moment = moment[i]
        members.append(i)
        photo[i] = photo_id
    return {"embeddings": emb, "identities": identity, "moments": moment, "photos": photo}


def distance_quantiles(
    x: np.ndarray, ids: np.ndarray, rng: np.random.Generator, pairs: int = 200_000
) -> dict[str, list[float]]:
    i = rng.integers(len(x), size=pairs)
    j = rng.integers(len(x), size=pairs)
    d = np.linalg.norm(x[i] - x[j], axis=1)
    same = (ids[i] == ids[j]) & (i != j)
    # Same-person pairs are rare among random pairs; add some drawn within identities.
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], ids[order])
    counts = np.bincount(ids)[ids[order]]
    pick = rng.integers(len(x), size=pairs)
    partner = order[starts[pick] + rng.integers(counts[pick])]
    own = order[pick]
    ok = own != partner
    same_d = np.concatenate([d[same], np.linalg.norm(x[own[ok]] - x[partner[ok]], axis=1)])
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    return {"same": np.round(np.quantile(same_d, q), 3).tolist(),
            "different": np.round(np.quantile(d[~same & (ids[i] != ids[j])], q), 3).tolist()}


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def run_one(faces: int, model: dict[str, object]) -> dict:
    data = synthesize(model, faces)
    start = time.perf_counter()
    clusterer = TwoPassClusterer().fit(
        data["embeddings"], moment_ids=data["moments"], photo_ids=data["photos"])
    seconds = time.perf_counter() - start
    pass1_clusters = int(clusterer.pass1_labels_.max()) + 1
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {"faces": faces, "people": int(data["identities"].max()) + 1, "seconds": round(seconds, 1),
            "peak_rss_gb": round(rss_gb, 2), "pass1_clusters": pass1_clusters,
            "clusters": int(clusterer.labels_.max()) + 1,
            "bcubed": _rounded(bcubed_prf(data["identities"], clusterer.labels_).as_dict()),
            "pairwise": _rounded(pairwise_prf(data["identities"], clusterer.labels_).as_dict()),
            "same_photo_violations": same_photo_violations(clusterer.labels_, data["photos"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    parser.add_argument("--model", type=str, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, json.loads(args.model))))
        return
    if args.cache.exists():
        model = fit_model(args.cache)
        data = np.load(args.cache)
        real = unit_rows(data["embeddings"][data["found"]].astype(np.float32))
        real_ids = np.unique(data["identities"][data["found"]], return_inverse=True)[1].ravel()
        print("model fitted on", args.cache)
        rng = np.random.default_rng(0)
        print("real      distance quantiles (5/25/50/75/95%):", distance_quantiles(real, real_ids, rng))
    else:
        model = FALLBACK
        print("cache not found; using the stored constants", json.dumps(model))
    synth = synthesize(model, 10_000)
    print("synthetic distance quantiles (5/25/50/75/95%):",
          distance_quantiles(synth["embeddings"], synth["identities"], np.random.default_rng(0)))
    print(f"{'faces':>9}{'people':>8}{'seconds':>9}{'peak GB':>9}{'pass1':>9}{'clusters':>10}"
          f"{'pw P':>8}{'B3 P':>8}{'B3 R':>8}"
          f"{'B3 F':>8}{'viol':>6}")
    for size in args.sizes:
        command = [sys.executable, "-m", "benchmarks.bench_cluster_scale", "--one", str(size), "--model", json.dumps(model)]
        out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['faces']:>9}{r['people']:>8}{r['seconds']:>9}{r['peak_rss_gb']:>9}{r['pass1_clusters']:>9}"
              f"{r['clusters']:>10}{r['pairwise']['precision']:>8}{r['bcubed']['precision']:>8}{r['bcubed']['recall']:>8}{r['bcubed']['f']:>8}"
              f"{r['same_photo_violations']:>6}", flush=True)


if __name__ == "__main__":
    main()
