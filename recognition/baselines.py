"""The open peers' clustering methods, run on our embeddings so they can be printed beside ours.

Each baseline is a function `(embeddings, threshold) -> labels` where noise (-1) means
"unassigned" and is scored as singletons. `BASELINES` names each with the threshold grid the
evaluation sweeps, so every baseline is shown at its own best setting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dlib
import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering

Labels = NDArray[np.int64]


def chinese_whispers(embeddings: NDArray[np.floating], threshold: float = 0.36) -> Labels:
    """dlib's Chinese whispers (what dlib's face clustering example and face_recognition use):
    an edge joins every pair closer than `threshold`, then labels spread over the graph."""
    vectors = [dlib.vector(row.astype(np.float64).tolist()) for row in embeddings]
    if not vectors:
        return np.zeros(0, np.int64)
    return np.asarray(dlib.chinese_whispers_clustering(vectors, float(threshold)), dtype=np.int64)


def dbscan(embeddings: NDArray[np.floating], threshold: float = 0.36, min_samples: int = 3) -> Labels:
    """DBSCAN as Immich runs it: a face needs `min_samples` faces (itself included) within
    `threshold` to found a cluster; faces reached by no core face are noise."""
    if len(embeddings) == 0:
        return np.zeros(0, np.int64)
    model = DBSCAN(eps=float(threshold), min_samples=min_samples, metric="euclidean")
    return model.fit_predict(embeddings).astype(np.int64)


def hdbscan(embeddings: NDArray[np.floating], threshold: float = 0.0, min_cluster_size: int = 2) -> Labels:
    """HDBSCAN as LibrePhotos runs it (min cluster size 2). It has no distance threshold; the knob
    the sweep turns is `min_samples` (threshold 0 = sklearn's default, min_samples = min_cluster_size).
    cluster_selection_epsilon would be the natural distance knob, but scikit-learn 1.9.1 raises
    inside its epsilon search for any value > 0."""
    if len(embeddings) < 2:
        return np.full(len(embeddings), -1, np.int64)
    min_samples = min(int(threshold), len(embeddings)) if threshold >= 1 else None
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, metric="euclidean", copy=True)
    return model.fit_predict(np.asarray(embeddings, np.float64)).astype(np.int64)


def hac_average(embeddings: NDArray[np.floating], threshold: float = 0.40) -> Labels:
    """Average-linkage agglomerative clustering cut at `threshold` (full n x n; small sets only)."""
    if len(embeddings) < 2:
        return np.zeros(len(embeddings), np.int64)
    model = AgglomerativeClustering(n_clusters=None, distance_threshold=float(threshold),
                                    linkage="average", metric="euclidean")
    return model.fit_predict(embeddings).astype(np.int64)


@dataclass(frozen=True)
class Baseline:
    name: str
    cluster: Callable[[NDArray[np.floating], float], Labels]
    # The thresholds the evaluation tries (for HDBSCAN: min_samples); the peers' defaults are in the grid.
    thresholds: tuple[float, ...]
    default_threshold: float


# Unit-normalised dlib embeddings sit ~0.71x their raw distances (raw norms ~1.41): dlib's raw
# 0.6 is ~0.43 here. The grid spans both scales so any unit-norm 128-d embedder is covered.
_DISTANCES = tuple(round(float(t), 3) for t in np.arange(0.24, 0.701, 0.02))

# Defaults: dlib's clustering example's 0.5 raw is ~0.36 here (CW, and DBSCAN's eps on the same
# scale); 0.40 is HAC average's best on lfw_min10 (raw 0.55 in the design notes); HDBSCAN's
# min_samples defaults to min_cluster_size.
BASELINES: tuple[Baseline, ...] = (
    Baseline("chinese_whispers", chinese_whispers, _DISTANCES, 0.36),
    Baseline("dbscan_min3", dbscan, _DISTANCES, 0.36),
    Baseline("hdbscan_min2", hdbscan, (1.0, 2.0, 3.0, 4.0, 5.0), 2.0),
    Baseline("hac_average", hac_average, _DISTANCES, 0.40),
)
