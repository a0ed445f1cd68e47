"""k-nearest-neighbour graphs of unit vectors without an n x n matrix.

Exact: rows are processed in blocks, so memory is block x n floats (block 1024, n 30k: 120 MB)
and time is n^2 d / (BLAS speed). Approximate (hnswlib, HNSW graph): memory ~ n (d + 2M) floats,
build and query ~ n log n. Distances returned are Euclidean (sqrt(2 - 2 cos)).
"""

from __future__ import annotations

import hnswlib
import numpy as np
from numpy.typing import NDArray

from recognition.embeddings import unit_rows


def exact_knn(
    vectors: NDArray[np.floating], k: int, block: int = 1024
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The k nearest other rows of each row, nearest first: (indices, distances), both (n, k')
    with k' = min(k, n - 1)."""
    unit = unit_rows(np.asarray(vectors, np.float32))
    n = len(unit)
    kk = min(k, n - 1)
    indices = np.empty((n, max(kk, 0)), np.int64)
    distances = np.empty((n, max(kk, 0)), np.float32)
    if kk <= 0:
        return indices, distances
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = unit[start:stop] @ unit.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        part_sims = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_sims, axis=1)
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        best = np.take_along_axis(part_sims, order, axis=1)
        distances[start:stop] = np.sqrt(np.maximum(2.0 - 2.0 * best, 0.0))
    return indices, distances


def hnsw_knn(
    vectors: NDArray[np.floating], k: int, *, m: int = 16, ef_construction: int = 100, ef_search: int = 64,
    seed: int = 0, threads: int = 1,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Approximate kNN with an HNSW index (hnswlib); same contract as `exact_knn`."""
    unit = unit_rows(np.asarray(vectors, np.float32))
    n, dim = unit.shape
    kk = min(k, n - 1)
    if kk <= 0:
        return np.empty((n, 0), np.int64), np.empty((n, 0), np.float32)
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=ef_construction, M=m, random_seed=seed)
    index.set_num_threads(threads)
    index.add_items(unit, np.arange(n))
    index.set_ef(max(ef_search, kk + 1))
    labels, dist = index.knn_query(unit, k=kk + 1)
    labels = labels.astype(np.int64)
    # "ip" distance is 1 - cos; drop each row's own entry (usually first, not always on ties).
    not_self = labels != np.arange(n)[:, None]
    # Keep the first kk non-self entries of each row.
    rank = np.cumsum(not_self, axis=1)
    keep = not_self & (rank <= kk)
    rows_ok = keep.sum(axis=1) == kk
    out_idx = np.empty((n, kk), np.int64)
    out_dist = np.empty((n, kk), np.float32)
    out_idx[rows_ok] = labels[rows_ok][keep[rows_ok]].reshape(-1, kk)
    out_dist[rows_ok] = dist[rows_ok][keep[rows_ok]].reshape(-1, kk)
    if not rows_ok.all():  # self missing from its own result list: take the first kk
        out_idx[~rows_ok] = labels[~rows_ok][:, :kk]
        out_dist[~rows_ok] = dist[~rows_ok][:, :kk]
    return out_idx, np.sqrt(np.maximum(2.0 * out_dist, 0.0)).astype(np.float32)


def knn_graph(
    vectors: NDArray[np.floating], k: int, *, exact_max: int = 30_000, m: int = 16,
    ef_construction: int = 100, ef_search: int = 64, seed: int = 0,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Exact up to `exact_max` rows, HNSW above."""
    if len(vectors) <= exact_max:
        return exact_knn(vectors, k)
    return hnsw_knn(vectors, k, m=m, ef_construction=ef_construction, ef_search=ef_search, seed=seed)
