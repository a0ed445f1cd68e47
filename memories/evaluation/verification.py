"""Face verification: 10-fold accuracy at the best threshold and TAR at FAR 1e-3.

Pairs: the set's pairs.csv when present, else 3,000 same-identity and 3,000 different-identity
pairs drawn with a fixed seed. Our pipeline and the dlib reference are scored on the same pairs,
in the same run; a pair counts only where both pipelines found both faces (the detection rates
are reported beside). Distance: Euclidean between L2-normalised descriptors.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.embed_dataset import EmbeddedSet, embed_dataset

PAIRS_PER_KIND = 3000
PAIR_SEED = 20240601
FOLDS = 10
TARGET_FAR = 1e-3


def draw_pairs(identities: np.ndarray, n_per_kind: int = PAIRS_PER_KIND, seed: int = PAIR_SEED) -> np.ndarray:
    """K x 3 int array (i, j, same) over labelled images: distinct unordered pairs, up to n_per_kind
    of each kind (fewer when the set has fewer)."""
    rng = np.random.default_rng(seed)
    labelled = np.flatnonzero(identities != "")
    by_id: dict[str, list[int]] = {}
    for idx in labelled:
        by_id.setdefault(str(identities[idx]), []).append(int(idx))
    groups = [np.array(v) for v in by_id.values() if len(v) >= 2]
    sizes = np.array([len(g) * (len(g) - 1) / 2 for g in groups])
    n_all = len(labelled) * (len(labelled) - 1) // 2
    n_same = min(n_per_kind, int(sizes.sum()))
    n_diff = min(n_per_kind, n_all - int(sizes.sum()))
    if n_all <= 4 * (n_same + n_diff):
        # small set: enumerate every pair and sample without replacement
        i, j = np.triu_indices(len(labelled), k=1)
        a, b = labelled[i], labelled[j]
        same = identities[a] == identities[b]
        pick_s = rng.choice(np.flatnonzero(same), n_same, replace=False)
        pick_d = rng.choice(np.flatnonzero(~same), n_diff, replace=False)
        rows = [(int(a[k]), int(b[k]), 1) for k in pick_s] + [(int(a[k]), int(b[k]), 0) for k in pick_d]
        return np.array(rows, dtype=np.int64).reshape(-1, 3)
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int, int]] = []
    while len(pairs) < n_same:
        g = groups[rng.choice(len(groups), p=sizes / sizes.sum())]
        i0, j0 = sorted(rng.choice(g, 2, replace=False).tolist())
        if (i0, j0) not in seen:
            seen.add((i0, j0))
            pairs.append((i0, j0, 1))
    while len(pairs) < n_same + n_diff:
        i0, j0 = sorted(rng.choice(labelled, 2, replace=False).tolist())
        if identities[i0] != identities[j0] and (i0, j0) not in seen:
            seen.add((i0, j0))
            pairs.append((i0, j0, 0))
    return np.array(pairs, dtype=np.int64)


def read_pairs_csv(path: Path, rel_paths: list[str]) -> np.ndarray:
    index = {p: i for i, p in enumerate(rel_paths)}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array(
        [(index[r["image_a"]], index[r["image_b"]], int(r["same"])) for r in rows], dtype=np.int64
    )


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Threshold (predict same when distance <= t) maximising accuracy, and that accuracy."""
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order].astype(np.int64)
    # accepting the first k pairs: correct = same among them + different among the rest
    correct = (
        np.concatenate([[0], np.cumsum(s)]) + (len(s) - s.sum()) - np.concatenate([[0], np.cumsum(1 - s)])
    )
    k = int(np.argmax(correct))
    if k == 0:
        t = float(d[0]) - 1e-6
    elif k == len(d):
        t = float(d[-1]) + 1e-6
    else:
        t = float((d[k - 1] + d[k]) / 2)
    return t, float(correct[k] / len(s))


def kfold_accuracy(
    distances: np.ndarray, same: np.ndarray, folds: int = FOLDS, seed: int = PAIR_SEED
) -> dict:
    fold_of = np.random.default_rng(seed).permutation(len(distances)) % folds
    accs, thresholds = [], []
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        t, _ = best_threshold(distances[train], same[train])
        accs.append(float(np.mean((distances[test] <= t) == same[test].astype(bool))))
        thresholds.append(t)
    return {
        "accuracy": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "threshold": float(np.mean(thresholds)),
    }


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float = TARGET_FAR) -> float:
    """Share of same pairs accepted at the strictest threshold where at most `far` of different pairs pass."""
    diff = np.sort(distances[same == 0])
    allowed = int(np.floor(far * len(diff)))
    threshold = diff[allowed] if allowed < len(diff) else np.inf  # accept strictly below
    return float(np.mean(distances[same == 1] < threshold))


def score_pairs(emb: EmbeddedSet, pairs: np.ndarray) -> dict[str, Any]:
    d = np.linalg.norm(emb.embeddings[pairs[:, 0]] - emb.embeddings[pairs[:, 1]], axis=1)
    same = pairs[:, 2]
    out = kfold_accuracy(d, same)
    out["tar_at_far_1e-3"] = tar_at_far(d, same)
    return out


def evaluate_verification(
    dataset_dir: str | Path,
    workers: int | None = None,
    detector: str | None = None,
    reference: bool = True,
    limit: int | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    dataset_dir = Path(dataset_dir)
    ours = embed_dataset(
        dataset_dir, "ours", workers=workers, detector=detector, cache_dir=cache_dir, limit=limit
    )
    pairs_file = dataset_dir / "pairs.csv"
    pairs = read_pairs_csv(pairs_file, ours.paths) if pairs_file.is_file() else draw_pairs(ours.identities)
    ok = ours.detected[pairs[:, 0]] & ours.detected[pairs[:, 1]]
    ref = None
    if reference:
        ref = embed_dataset(dataset_dir, "dlib", workers=workers, limit=limit)
        ok &= ref.detected[pairs[:, 0]] & ref.detected[pairs[:, 1]]
    used = pairs[ok]
    labelled = ours.identities != ""
    result: dict[str, Any] = {
        "dataset": dataset_dir.name,
        "pairs": int(len(used)),
        "pairs_drawn": int(len(pairs)),
        "same_pairs": int(used[:, 2].sum()),
        "pairs_source": "pairs.csv" if pairs_file.is_file() else f"drawn, seed {PAIR_SEED}",
        "detection_rate": float(ours.detected[labelled].mean()) if labelled.any() else 0.0,
        **score_pairs(ours, used),
    }
    if ref is not None:
        result["reference"] = {
            "pipeline": "dlib HOG (upsample 1) + 5-point + compute_face_descriptor",
            "detection_rate": float(ref.detected[labelled].mean()) if labelled.any() else 0.0,
            **score_pairs(ref, used),
        }
    return result
