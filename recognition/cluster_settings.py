"""Named settings of the clustering, gallery and assignment algorithms, with how each was measured.

Distances are Euclidean between L2-normalised embeddings (0 = identical, 2 = opposite). dlib's
raw descriptors have norm ~1.41, so dlib's well-known raw threshold 0.6 is ~0.43 here.
"Measured" figures come from dlib ResNet embeddings made with dlib itself: lfw_min10 (4,312 faces
found of 4,324, 158 people; same-person distances 5/50/95% = 0.23/0.31/0.39, different-person
0.47/0.57/0.67) and fiw_train (15,822 crops, 3,015 people in 570 family albums, each album
clustered on its own). The ONNX conversion the pipeline runs agrees with dlib to 1e-4.
Scripts: memories/evaluation/clustering.py (evaluate_clustering), benchmarks/cluster_scale.py,
benchmarks/assign.py. Sweeps quoted below were run with the other settings at their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pass1Settings:
    """Greedy, conservative clustering inside one moment (face + upper body)."""

    # A face joins a cluster of its moment only when D is below this. With the whole of
    # lfw_min10 as one "moment", pass 1 at 0.30 gives 503 clusters at pairwise precision 0.9999
    # (0.40 gave 135 clusters at precision 0.93: running means drift). On fiw_train 0.25/0.30/0.33
    # change the final BCubed F by < 0.002 (0.868/0.869/0.870).
    face_threshold: float = 0.30
    # D = min(F, alpha*F + beta*T) between observations of one moment. With alpha 0.6, beta 0.5 a
    # face at F = 0.40 (beyond face_threshold) joins when its upper body is within T = 0.12: an
    # outfit that close rescues a blurred or turned face of the same moment; a face beyond
    # face_threshold / alpha = 0.5 (different-person territory) is never rescued. NOT measured: no
    # labelled set here has moments with bodies; chosen on that rule, revisit with real bodies.
    alpha: float = 0.6
    beta: float = 0.5
    # Body-only observations (face hidden) join on T alone; same-moment clothing matches of
    # different people (uniforms, team shirts) make this the riskiest join, so it is strict.
    # NOT measured (no labelled bodies); keep below face_threshold.
    body_threshold: float = 0.20
    # A moment bigger than this is cut into consecutive chunks of this size, which bounds the
    # greedy step at chunk x clusters per observation (a "moment" of 10k faces is a bulk import).
    max_moment_size: int = 2000


@dataclass(frozen=True)
class Pass2Settings:
    """Median-linkage HAC of pass-1 clusters on faces, across moments, on a kNN candidate graph."""

    # Merge while the median member-to-member distance is below this (for large clusters; see
    # small_cluster_bonus). BCubed F at 0.37/0.40/0.42/0.44: lfw_min10 0.987/0.986/0.987/0.985,
    # fiw_train 0.850/0.864/0.869/0.867. 0.42 is the best shared value; the best tuned baseline
    # is 0.981 (HAC average) and 0.836 (HAC average) respectively.
    threshold: float = 0.42
    # Extra threshold when the smaller cluster is one face, shrinking like 1/sqrt(faces): a
    # single face's distances carry its own pose/blur noise. Replaying merges on lfw_min10, merges
    # of a single face at linkage 0.36-0.40 were 89% right, merges of two clusters of 10+ at
    # 0.34-0.40 mostly wrong. fiw_train BCubed F with bonus 0.02/0.04/0.06 at threshold 0.42:
    # 0.866/0.869/0.867.
    small_cluster_bonus: float = 0.04
    # Two clusters that both have at least gap_min_size faces merge only if their linkage exceeds
    # the larger of their own median member distances by less than max_gap: one person's two
    # clusters are about as far apart as their own members, two lookalikes are not. Replayed lfw
    # merges of clusters of 4+: right ones had gap <= 0.066 (median 0.02-0.05), wrong ones >= 0.07.
    # It lifts lfw_min10 from 0.981 to 0.987 at threshold 0.37 (Hu Jintao/Wen Jiabao, Serena/Venus
    # Williams stay apart); fiw_train moves < 0.002 for max_gap 0.05-0.10 or min size 2-4.
    gap_min_size: int = 4
    max_gap: float = 0.065
    # Exact median over all member pairs up to this many pairs, a random sample (sub-grid) of
    # about this many pairs beyond. The sampled median of 512 pairs has a standard error of
    # ~0.004 at the same-person spread (IQR 0.07), far finer than the 0.02 threshold steps above.
    max_pairs: int = 512
    # A candidate pair is scored only if the RMS of its member distances (exact, from cluster
    # sums: E|x-y|^2 = 2 - 2 mean_a.mean_b) is below its limit + this. Same-person medians sit at
    # most a few hundredths below the RMS (distances are tightly spread); 0.15 is generous and
    # gives the same labels as no pruning on lfw_min10 and on the first 200 fiw_train albums.
    prune_margin: float = 0.15
    # Each cluster's candidate merges are its k nearest clusters by normalised mean.
    neighbours: int = 10
    # After merges a cluster inherits its parents' candidates; keep at most this many (the
    # nearest by mean) so one big cluster never re-scores thousands of pairs per merge. Synthetic
    # 100k (benchmarks/cluster_scale.py): 64 -> 63 s, BCubed F 0.985; 32 -> 46 s, 0.984. Real sets:
    # lfw_min10 0.987 and fiw_train 0.868 either way.
    max_candidates: int = 32
    # Rounds of (kNN graph of the current clusters -> merge until no candidate is left). Later
    # rounds re-score only clusters that a growing cluster's trimmed candidate list dropped.
    # Synthetic BCubed F with 1 round: 0.985/0.978/0.973 at 10k/30k/100k faces (recall leaking
    # with scale); with up to 3 rounds: 0.986/0.987/0.985. Real sets unchanged.
    rounds: int = 3
    # Up to this many clusters the kNN graph is exact (blocked matrix products, ~2 s at 30k);
    # above it hnswlib (brief: exact 100k x 128 took 26 s, HNSW 16 s on this machine).
    exact_knn_max: int = 30_000
    # hnswlib build/search parameters (hnswlib's documented defaults are M 16, ef 200/10; ef 64
    # gives recall@10 > 0.95 on real faces, tests/test_cluster_two_pass.py).
    hnsw_m: int = 16
    hnsw_ef_construction: int = 100
    hnsw_ef_search: int = 64
    seed: int = 0


@dataclass(frozen=True)
class GallerySettings:
    """Which clusters become people, and which pairs are worth asking the user about."""

    # A cluster with at least this many clear faces is a person without any user input. Apple's
    # gallery and the peers (Immich minFaces 3) require a few sightings; 3 keeps a person seen
    # in three photos while leaving the long tail of one-off strangers unassigned.
    min_faces: int = 3
    # ...and only if compact: median member-to-centroid distance below this. Clusters of 3+ from
    # the default clustering have spread <= 0.245 (lfw_min10) and <= 0.293 (fiw_train); a junk
    # mixture of unrelated faces sits near the different-person distance (~0.4 to the centroid).
    max_spread: float = 0.32
    # Suggest "same person?" for two people whose median linkage is below this and no
    # constraint keeps apart: between the pass-2 threshold and the different-person median
    # (0.57), where real splits of one person (ageing, a new hairstyle) still occur.
    suggest_threshold: float = 0.50
    max_suggestions: int = 50


@dataclass(frozen=True)
class AssignSettings:
    """Sparse-coding assignment of a new face to a person of the gallery."""

    # Exemplars kept per person: k-medoids seeded by farthest-point picks from the medoid.
    exemplars_per_person: int = 10
    # The code is solved over the exemplars of this many candidate people (nearest exemplar first).
    candidate_people: int = 6
    # l1 weight of min 1/2||y - Dx||^2 + lam ||x||_1 (x >= 0), in the centred, re-normalised space.
    # benchmarks/assign.py protocol, lam 0.03/0.05/0.1/0.15: lfw_min10 accuracy 0.9969 at all;
    # outsiders assigned at 95% of known faces assigned: lfw 0.36/0.24/0.30/0.47%, orl_att
    # 6.9/2.3/0.8/1.5%. 0.1 is the best shared value.
    lam: float = 0.1
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
