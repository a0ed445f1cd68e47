"""Pass 1: greedy, conservative clustering inside each moment, on face and upper-body embeddings.

Observations are visited in order; each joins the nearest cluster of its moment when the
distance is below a strict threshold (and no cannot-link forbids it), else opens a new cluster.
The distance of an observation to a cluster is its root-mean-square distance to the cluster's
members (for unit vectors, sqrt(2 - 2 x . mean) with the mean not re-normalised), for faces F
and for upper bodies T. The distance to a re-normalised mean would let a cluster of several
different people, whose mean is short and points at "a face in general", pull in everyone;
the RMS distance grows with the cluster's own spread instead. Then

    D = min(F, alpha F + beta T)   both have a face and a body
    D = F                          face on one side only has no body to compare
    D = T (body threshold)         the observation has no face (turned away, occluded)

T only exists inside a moment because clothes change between days, which is why this pass runs
per moment and pass 2 (across moments) uses faces alone. The result is many small, very pure
clusters: the unit pass 2 merges.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recognition.cluster.constraints import Constraints, LinkState
from recognition.cluster_settings import PASS1, Pass1Settings
from recognition.embeddings import unit_rows


def present_unit_rows(x: NDArray[np.floating]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Unit float32 rows (a missing row, NaN or zero, as zeros) and the mask of rows that hold a vector."""
    arr = np.asarray(x, np.float32)
    present: NDArray[np.bool_] = np.asarray(np.isfinite(arr).all(axis=1))
    unit = unit_rows(np.where(present[:, None], arr, np.float32(0)))
    return unit, present & unit.any(axis=1)


def _moment_chunks(moment_ids: NDArray, max_size: int) -> list[NDArray[np.int64]]:
    order = np.argsort(np.unique(moment_ids, return_inverse=True)[1].ravel(), kind="stable")
    codes = np.unique(moment_ids, return_inverse=True)[1].ravel()[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    chunks: list[NDArray[np.int64]] = []
    for group in np.split(order, bounds):
        chunks += [group[i:i + max_size] for i in range(0, len(group), max_size)]
    return chunks


class MomentClusterer:
    """Pass 1 as a scikit-learn-shaped estimator: `fit(...)` then `labels_` (one cluster per
    observation, every observation clustered)."""

    def __init__(self, settings: Pass1Settings = PASS1) -> None:
        self.settings = settings

    def fit(
        self,
        faces: ArrayLike,
        bodies: ArrayLike | None = None,
        moment_ids: ArrayLike | None = None,
        constraints: Constraints | None = None,
    ) -> MomentClusterer:
        face_unit, has_face = present_unit_rows(np.asarray(faces))
        n = len(face_unit)
        if bodies is None:
            body_unit, has_body = np.zeros((n, 1), np.float32), np.zeros(n, bool)
        else:
            body_unit, has_body = present_unit_rows(np.asarray(bodies))
        moments = np.zeros(n, np.int64) if moment_ids is None else np.asarray(moment_ids)
        state = LinkState(constraints or Constraints(), n)
        labels = np.full(n, -1, np.int64)
        next_cluster = 0
        for chunk in _moment_chunks(moments, self.settings.max_moment_size):
            next_cluster = self._cluster_chunk(chunk, face_unit, has_face, body_unit, has_body, state,
                                               labels, next_cluster)
        self.labels_ = labels
        self.n_clusters_ = next_cluster
        return self

    def fit_predict(
        self, faces: ArrayLike, bodies: ArrayLike | None = None, moment_ids: ArrayLike | None = None,
        constraints: Constraints | None = None,
    ) -> NDArray[np.int64]:
        return self.fit(faces, bodies, moment_ids, constraints).labels_

    def _cluster_chunk(
        self, chunk: NDArray[np.int64], face_unit: NDArray[np.float32], has_face: NDArray[np.bool_],
        body_unit: NDArray[np.float32], has_body: NDArray[np.bool_], state: LinkState,
        labels: NDArray[np.int64], first_cluster: int,
    ) -> int:
        s = self.settings
        m = len(chunk)
        # Mean (not re-normalised) of each cluster's unit face / body vectors: for a unit x,
        # 2 - 2 x.mean is the mean squared distance from x to the cluster's members.
        face_mean = np.zeros((m, face_unit.shape[1]), np.float32)
        body_mean = np.zeros((m, body_unit.shape[1]), np.float32)
        n_face = np.zeros(m, np.float32)
        n_body = np.zeros(m, np.float32)
        c_face = np.zeros(m, bool)
        c_body = np.zeros(m, bool)
        count = 0
        for item in chunk.tolist():
            fi, bi = bool(has_face[item]), bool(has_body[item])
            joined = -1
            if count and (fi or bi):
                inf = np.float32(np.inf)
                if fi:
                    f_dist = np.sqrt(np.maximum(2 - 2 * (face_mean[:count] @ face_unit[item]), 0))
                    f_dist = np.where(c_face[:count], f_dist, inf)
                if bi:
                    t_dist = np.sqrt(np.maximum(2 - 2 * (body_mean[:count] @ body_unit[item]), 0))
                    t_dist = np.where(c_body[:count], t_dist, inf)
                if fi and bi:
                    with np.errstate(invalid="ignore"):
                        combined = np.minimum(f_dist, s.alpha * f_dist + s.beta * t_dist)
                    dist = np.where(np.isfinite(combined), combined, f_dist)
                    limit = s.face_threshold
                elif fi:
                    dist, limit = f_dist, s.face_threshold
                else:
                    dist, limit = t_dist, s.body_threshold
                for c in np.argsort(dist).tolist():
                    if dist[c] >= limit:
                        break
                    if state.can_join(first_cluster + c, item):
                        joined = c
                        break
            if joined < 0:
                joined = count
                count += 1
                state.open(first_cluster + joined, np.array([item]))
            else:
                state.join(first_cluster + joined, item)
            labels[item] = first_cluster + joined
            if fi:
                n_face[joined] += 1
                face_mean[joined] += (face_unit[item] - face_mean[joined]) / n_face[joined]
                c_face[joined] = True
            if bi:
                n_body[joined] += 1
                body_mean[joined] += (body_unit[item] - body_mean[joined]) / n_body[joined]
                c_body[joined] = True
        # Pass 2 only needs each cluster's photo tokens, not the pass-1 bookkeeping.
        for c in range(count):
            state.tokens.pop(first_cluster + c, None)
            state.person.pop(first_cluster + c, None)
        return first_cluster + count
