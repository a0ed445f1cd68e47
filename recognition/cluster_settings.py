"""Named settings of the clustering, gallery and assignment algorithms, with how each was measured.

Distances are Euclidean between L2-normalised embeddings (0 = identical, 2 = opposite).
"Measured" figures come from dlib ResNet embeddings of lfw_min10 (4,310 faces found of 4,324,
158 people) and fiw_train (15,822 crops, 570 family albums) made with dlib itself; the ONNX
conversion the pipeline runs agrees with dlib to 1e-4, far below any threshold here.
Scripts: memories/evaluation/clustering.py (sweeps), benchmarks/cluster_scale.py, benchmarks/assign.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pass1Settings:
    """Greedy, conservative clustering inside one moment (face + upper body)."""

    # A face joins a cluster only when D is below this. On lfw_min10 a face's distance to the
    # mean of a same-person cluster is < 0.40 for 71% of faces and to a different person's
    # for 0.05% of faces, so pass-1 clusters are pure (pairwise precision 0.999+) while already
    # grouping most repeat shots of a person.
    face_threshold: float = 0.30
    # D = min(F, alpha*F + beta*T) between observations of one moment. With alpha 0.6, beta 0.5 a
    # face at F = 0.5 (beyond face_threshold) joins when its upper body is within T = 0.2, i.e.
    # clothing rescues a blurred or turned face only when the outfit is near-identical; a face
    # at F > face_threshold / alpha (0.67) is never rescued however similar the clothes.
    # Not tunable on the labelled sets here (none has moments with bodies): chosen on that rule.
    alpha: float = 0.6
    beta: float = 0.5
    # Body-only observations (face hidden) join on T alone; same-moment clothing matches of
    # different people (uniforms, team shirts) make this the riskiest join, so it is strict.
    body_threshold: float = 0.20
    # A moment bigger than this is cut into consecutive chunks of this size, which bounds the
    # greedy step at chunk x clusters per observation (a "moment" of 10k faces is a bulk import).
    max_moment_size: int = 2000


@dataclass(frozen=True)
class Pass2Settings:
    """Median-linkage HAC of pass-1 clusters on faces, across moments, on a kNN candidate graph."""

    # Merge while the median member-to-member distance is below this. Swept 0.45-0.65 in steps
    # of 0.025 on both sets (memories/evaluation/clustering.py): BCubed F peaks at 0.55-0.575 on
    # lfw_min10 and 0.55-0.60 on fiw_train albums; 0.55 is the shared optimum.
    threshold: float = 0.42
    # Exact median over all member pairs up to this many pairs, a random sample of this many
    # pairs beyond. 512 sampled pairs put the median within +-0.01 of the exact one for clusters
    # of lfw size (bootstrap on lfw_min10), which is 4x finer than the threshold step above.
    max_pairs: int = 512
    # Extra threshold when the smaller cluster is one face, shrinking like 1/sqrt(faces).
    small_cluster_bonus: float = 0.04
    # Two clusters that both have at least gap_min_size faces merge only if their linkage exceeds
    # the larger of their own median member distances by less than max_gap: one person's two
    # clusters are about as far apart as their own members, two lookalikes are not.
    gap_min_size: int = 4
    max_gap: float = 0.065
    # A candidate pair is scored only if the RMS of its member distances (exact, from cluster
    # sums) is below threshold + this. On lfw_min10 the median never sits more than 0.05 below
    # the RMS for pairs within 0.3 of the threshold; 0.15 gives the labels of no pruning.
    prune_margin: float = 0.15
    # Each cluster's candidate merges are its k nearest clusters by normalised mean. k = 10
    # loses nothing against k = 30 on lfw_min10 (same labels) and keeps the heap at O(k m).
    neighbours: int = 10
    # After merges a cluster inherits its parents' candidates; keep at most this many (the
    # nearest by mean) so one big cluster never re-scores thousands of pairs per merge.
    max_candidates: int = 64
    # Up to this many clusters the kNN graph is exact (blocked matrix products); above it hnswlib.
    exact_knn_max: int = 30_000
    # hnswlib build/search parameters (recall@10 > 0.99 on the synthetic 100k set).
    hnsw_m: int = 16
    hnsw_ef_construction: int = 100
    hnsw_ef_search: int = 64
    seed: int = 0


@dataclass(frozen=True)
class GallerySettings:
    """Which clusters become people, and which pairs are worth asking the user about."""

    # A cluster with at least this many faces is a person without any user input. Apple's
    # gallery and the peers' (Immich minFaces 3) require a few sightings; 3 keeps a person seen
    # in three photos while leaving the long tail of one-off strangers unassigned.
    min_faces: int = 3
    # ...and only if it is compact: median member-to-centroid distance below this. Same-person
    # clusters on lfw_min10 have medians 0.20-0.33; a junk mixture of strangers sits above 0.40.
    max_spread: float = 0.40
    # Suggest "same person?" for two people whose median linkage is below this (but above the
    # pass-2 threshold, else they would have merged or were kept apart by a constraint).
    suggest_threshold: float = 0.65
    max_suggestions: int = 50


@dataclass(frozen=True)
class AssignSettings:
    """Sparse-coding assignment of a new face to a person of the gallery."""

    # Exemplars kept per person: farthest-point picks from the medoid, so poses/ages are covered.
    exemplars_per_person: int = 10
    # The code is solved over the exemplars of this many candidate people (nearest exemplar first).
    candidate_people: int = 6
    # l1 weight of min 1/2||y - Dx||^2 + lam ||x||_1 (x >= 0), in the centred, re-normalised space.
    # Swept 0.01-0.2 (benchmarks/assign.py protocol): accuracy is flat (lfw_min10 0.996-0.997);
    # outsiders passing at 95% known assigned: lfw 0.6/0.3/0.3/0.4% and orl_att 12/2.3/0.8/1.5%
    # at lam 0.01/0.05/0.1/0.15, so 0.1.
    lam: float = 0.1
    fista_iterations: int = 60
    # Unknown below this code energy (winner's l1 mass): the 5th percentile of known queries'
    # energy on lfw_min10 at lam 0.1 (0.539), so 95% of known faces get a name.
    min_energy: float = 0.54
    # For the nearest-neighbour rules (comparison only): unknown beyond this distance to the
    # winner's nearest exemplar, the 95th percentile of known queries on lfw_min10 (0.318).
    unknown_distance: float = 0.32


PASS1 = Pass1Settings()
PASS2 = Pass2Settings()
GALLERY = GallerySettings()
ASSIGN = AssignSettings()
