"""Gallery: which clusters are people, and which pairs of people to ask the user about.

A cluster becomes a person when the user has said something about it (named, confirmed a face)
or, unprompted, when it is big enough and compact enough: a few clear sightings whose faces sit
close to their own centre. Everything else stays unassigned, which is how one-off strangers in
the background and junk mixtures stay out of the People album. Merge suggestions are the pairs
of people whose median linkage falls just above the pass-2 threshold (pass 2 was not sure enough
to merge them on its own) and that no constraint keeps apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recognition.cluster.constraints import Constraints, LinkState
from recognition.cluster.knn import exact_knn
from recognition.cluster.pass1 import present_unit_rows
from recognition.cluster.pass2 import median_linkage
from recognition.cluster_settings import GALLERY, PASS2, GallerySettings
from recognition.embeddings import unit_rows


@dataclass(frozen=True)
class Person:
    cluster: int  # the clustering label this person came from
    members: NDArray[np.int64]  # observation indices
    key_face: int  # the medoid-like member closest to the normalised mean
    spread: float  # median member-to-mean distance
    user_confirmed: bool


@dataclass(frozen=True)
class MergeSuggestion:
    person_a: int  # indices into Gallery.people_
    person_b: int
    linkage: float


class Gallery:
    """fit(faces, labels, clear=None, confirmed=None, constraints=None) -> self.

    labels: clustering labels (-1 = unassigned). clear: (n,) bool, faces that passed the
    unclear-face filter (only those count toward min_faces). confirmed: (n,) bool, faces the
    user named or confirmed (such a cluster is a person whatever its size). sightings: (n,) int,
    how many sightings each face counts for toward min_faces (default 1; a video's face track
    seen for long counts for more).
    Results: people_ (list[Person]), labels_ (n,) person index or -1, suggestions_ (ranked).
    """

    def __init__(self, settings: GallerySettings = GALLERY, max_pairs: int = PASS2.max_pairs) -> None:
        self.settings = settings
        self.max_pairs = max_pairs

    def fit(
        self, faces: ArrayLike, labels: ArrayLike, clear: ArrayLike | None = None,
        confirmed: ArrayLike | None = None, constraints: Constraints | None = None,
        sightings: ArrayLike | None = None,
    ) -> Gallery:
        s = self.settings
        unit, has_face = present_unit_rows(np.asarray(faces))
        lab = np.asarray(labels, np.int64)
        n = len(lab)
        clear_arr = np.ones(n, bool) if clear is None else np.asarray(clear, bool)
        confirmed_arr = np.zeros(n, bool) if confirmed is None else np.asarray(confirmed, bool)
        weight = np.ones(n, np.int64) if sightings is None else np.asarray(sightings, np.int64)
        people: list[Person] = []
        person_labels = np.full(n, -1, np.int64)
        valid = lab >= 0
        order = np.argsort(lab[valid], kind="stable")
        idx_sorted = np.flatnonzero(valid)[order]
        bounds = np.flatnonzero(np.diff(lab[idx_sorted])) + 1
        for group in np.split(idx_sorted, bounds) if len(idx_sorted) else []:
            faces_in = group[has_face[group]]
            if not len(faces_in):
                continue
            mean = unit_rows(unit[faces_in].sum(axis=0))
            dist = np.sqrt(np.maximum(2 - 2 * unit[faces_in] @ mean, 0))
            spread = float(np.median(dist))
            user = bool(confirmed_arr[group].any())
            sighted = int(weight[faces_in][clear_arr[faces_in]].sum())
            if user or (sighted >= s.min_faces and spread <= s.max_spread):
                person_labels[group] = len(people)
                people.append(Person(int(lab[group[0]]), group, int(faces_in[np.argmin(dist)]), spread, user))
        self.people_ = people
        self.labels_ = person_labels
        self.suggestions_ = self._suggest(unit, has_face, constraints or Constraints(), n)
        return self

    def _suggest(self, unit: NDArray[np.float32], has_face: NDArray[np.bool_], constraints: Constraints,
                 n: int) -> list[MergeSuggestion]:
        s = self.settings
        if len(self.people_) < 2:
            return []
        face_members = [p.members[has_face[p.members]] for p in self.people_]
        means = np.stack([unit[f].sum(axis=0) for f in face_members])
        # People are few (hundreds to thousands), so an exact kNN of their means is cheap.
        idx, _ = exact_knn(means, min(10, len(means) - 1))
        state = LinkState(constraints, n)
        for i, p in enumerate(self.people_):
            state.open(i, p.members)
        rng = np.random.default_rng(0)
        seen: set[tuple[int, int]] = set()
        out: list[MergeSuggestion] = []
        for a in range(len(self.people_)):
            for b in idx[a].tolist():
                pair = (min(a, b), max(a, b))
                if pair in seen or state.conflict(a, b):
                    continue
                seen.add(pair)
                link = median_linkage(unit, face_members[a], face_members[b], self.max_pairs, rng)
                if link < s.suggest_threshold:
                    out.append(MergeSuggestion(pair[0], pair[1], link))
        out.sort(key=lambda x: x.linkage)
        return out[: s.max_suggestions]
