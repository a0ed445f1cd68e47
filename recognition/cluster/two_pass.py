"""The whole clustering: pass 1 (per moment, face + body, greedy) then pass 2 (median-linkage
HAC across moments, faces only), with photo and user constraints honoured by both."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recognition.cluster.constraints import Constraints
from recognition.cluster.pass1 import MomentClusterer
from recognition.cluster.pass2 import MedianLinkageHAC
from recognition.cluster_settings import PASS1, PASS2, Pass1Settings, Pass2Settings


class TwoPassClusterer:
    """fit(faces, bodies, moment_ids, photo_ids, cannot_link, must_link, anchors) -> self.

    faces: (n, d) face embeddings, NaN rows where an observation has no face.
    bodies: (n, d') upper-body embeddings, NaN rows where none (or None).
    moment_ids: (n,) moment of each observation (None: all one moment).
    photo_ids: (n,) photo of each observation; faces of one photo never share a cluster.
    cannot_link / must_link: (p, 2) index pairs from the user; anchors: (n,) person or -1,
    or {index: person}.
    Results: labels_ (n,), pass1_labels_ (n,), and the two fitted passes.
    use_pass2 / use_body switch the stages off for ablations.
    """

    def __init__(
        self, pass1: Pass1Settings = PASS1, pass2: Pass2Settings = PASS2, *, threshold: float | None = None,
        small_cluster_bonus: float | None = None, use_pass2: bool = True, use_body: bool = True,
    ) -> None:
        self.small_cluster_bonus = small_cluster_bonus
        self.pass1 = pass1
        self.pass2 = pass2
        self.threshold = threshold
        self.use_pass2 = use_pass2
        self.use_body = use_body

    def fit(
        self, faces: ArrayLike, bodies: ArrayLike | None = None, moment_ids: ArrayLike | None = None,
        photo_ids: ArrayLike | None = None, cannot_link: ArrayLike | None = None,
        must_link: ArrayLike | None = None, anchors: ArrayLike | dict[int, int] | None = None,
    ) -> TwoPassClusterer:
        face_arr = np.asarray(faces, np.float32)
        constraints = Constraints.build(len(face_arr), photo_ids, cannot_link, must_link, anchors)
        self.pass1_ = MomentClusterer(self.pass1).fit(
            face_arr, bodies if self.use_body else None, moment_ids, constraints)
        self.pass1_labels_ = self.pass1_.labels_
        if self.use_pass2:
            hac = MedianLinkageHAC(self.pass2, self.threshold, self.small_cluster_bonus)
            self.pass2_ = hac.fit(face_arr, self.pass1_labels_, constraints)
            self.labels_ = self.pass2_.labels_
        else:
            self.labels_ = self.pass1_labels_
        return self

    def fit_predict(self, faces: ArrayLike, **kwargs: object) -> NDArray[np.int64]:
        return self.fit(faces, **kwargs).labels_  # type: ignore[arg-type]
