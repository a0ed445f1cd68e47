"""Clustering quality against known identities: pairwise and BCubed precision/recall/F.

Everything is computed from the contingency table of (predicted cluster, true identity), so
no n x n pair list is ever built. A predicted label of -1 means "unassigned": each such face
is its own singleton cluster, as the design asks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

UNASSIGNED = -1


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _f(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _codes(values: ArrayLike) -> NDArray[np.int64]:
    return np.unique(np.asarray(values), return_inverse=True)[1].astype(np.int64).ravel()


def singletons_for_unassigned(labels_pred: ArrayLike) -> NDArray[np.int64]:
    """Dense cluster codes where every unassigned (-1) face gets a cluster of its own."""
    pred = np.asarray(labels_pred).astype(np.int64).copy()
    free = pred == UNASSIGNED
    if free.any():
        start = pred.max(initial=-1) + 1
        pred[free] = start + np.arange(int(free.sum()))
    return _codes(pred)


def _contingency(labels_true: ArrayLike, labels_pred: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Sizes of the non-empty (cluster, identity) cells, with each face's cell, cluster and identity."""
    truth = _codes(labels_true)
    pred = singletons_for_unassigned(labels_pred)
    if truth.shape != pred.shape:
        raise ValueError("labels_true and labels_pred differ in length")
    cell_key = pred * (truth.max(initial=0) + 1) + truth
    _, cell_of_face, cell_size = np.unique(cell_key, return_inverse=True, return_counts=True)
    return cell_size[cell_of_face.ravel()], np.bincount(pred)[pred], np.bincount(truth)[truth]


def pairwise_prf(labels_true: ArrayLike, labels_pred: ArrayLike) -> PRF:
    """Precision/recall/F over unordered pairs of faces that share a cluster / an identity."""
    truth = _codes(labels_true)
    pred = singletons_for_unassigned(labels_pred)
    cell_key = pred * (truth.max(initial=0) + 1) + truth
    cells = np.unique(cell_key, return_counts=True)[1].astype(np.float64)
    cluster_sizes = np.bincount(pred).astype(np.float64)
    identity_sizes = np.bincount(truth).astype(np.float64)
    together_right = float((cells * (cells - 1) / 2).sum())
    together_pred = float((cluster_sizes * (cluster_sizes - 1) / 2).sum())
    together_true = float((identity_sizes * (identity_sizes - 1) / 2).sum())
    # No predicted pairs means no wrong pairs: precision 1 by convention (all singletons).
    precision = together_right / together_pred if together_pred else 1.0
    recall = together_right / together_true if together_true else 1.0
    return PRF(precision, recall, _f(precision, recall))


def bcubed_prf(labels_true: ArrayLike, labels_pred: ArrayLike) -> PRF:
    """BCubed: per face, the share of its cluster that is its identity (precision) and the share
    of its identity that is in its cluster (recall), averaged over faces."""
    cell, cluster, identity = _contingency(labels_true, labels_pred)
    if cell.size == 0:
        return PRF(1.0, 1.0, 1.0)
    precision = float(np.mean(cell / cluster))
    recall = float(np.mean(cell / identity))
    return PRF(precision, recall, _f(precision, recall))


def same_photo_violations(labels_pred: ArrayLike, photo_ids: ArrayLike) -> int:
    """Pairs of faces from one photo that were put in one cluster (a photo never holds a person twice).

    Unassigned faces (-1) are never in a cluster together, so they never violate."""
    pred = np.asarray(labels_pred).astype(np.int64)
    keep = pred != UNASSIGNED
    if not keep.any():
        return 0
    photo = _codes(np.asarray(photo_ids)[keep])
    cluster = _codes(pred[keep])
    _, counts = np.unique(cluster * (photo.max() + 1) + photo, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


# A cluster is impure when its second largest identity has at least this many faces: two people
# mixed into one, beyond a stray face or two (the definition, also used for held-out sets).
IMPURE_MIN_FACES = 3


def impure_clusters(labels_true: ArrayLike, labels_pred: ArrayLike,
                    min_faces: int = IMPURE_MIN_FACES) -> tuple[int, int]:
    """(number of impure clusters, faces in the largest one): clusters whose second largest
    identity has `min_faces` faces or more. Unassigned faces are singletons, never impure."""
    truth = _codes(labels_true)
    pred = singletons_for_unassigned(labels_pred)
    cells, counts = np.unique(pred * (truth.max(initial=0) + 1) + truth, return_counts=True)
    cluster_of_cell = cells // (truth.max(initial=0) + 1)
    # Per cluster, the second largest cell: sort cells by (cluster, size) and look one back.
    order = np.lexsort((counts, cluster_of_cell))
    clusters, sizes = cluster_of_cell[order], counts[order]
    last = np.r_[clusters[1:] != clusters[:-1], True]
    second = np.r_[False, clusters[1:] == clusters[:-1]] & last
    second_size = np.zeros(len(sizes), np.int64)
    second_size[1:] = sizes[:-1]
    bad = clusters[second & (second_size >= min_faces)]
    cluster_sizes = np.bincount(pred)
    return int(len(bad)), int(cluster_sizes[bad].max(initial=0))


def cluster_counts(labels_pred: ArrayLike) -> tuple[int, int]:
    """(clusters, singletons), unassigned faces counted as singleton clusters."""
    pred = singletons_for_unassigned(labels_pred)
    sizes = np.bincount(pred)
    return int(sizes.size), int((sizes == 1).sum())


def clustering_report(
    labels_true: ArrayLike, labels_pred: ArrayLike, photo_ids: ArrayLike | None = None
) -> dict[str, Any]:
    """All the clustering figures the evaluation prints, as a JSON-ready dict."""
    clusters, singletons = cluster_counts(labels_pred)
    impure, largest_impure = impure_clusters(labels_true, labels_pred)
    return {
        "pairwise": pairwise_prf(labels_true, labels_pred).as_dict(),
        "bcubed": bcubed_prf(labels_true, labels_pred).as_dict(),
        "clusters": clusters,
        "singletons": singletons,
        "impure_clusters": impure,
        "largest_impure": largest_impure,
        "same_photo_violations": 0 if photo_ids is None else same_photo_violations(labels_pred, photo_ids),
    }
