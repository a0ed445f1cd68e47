"""Named settings of the clustering, gallery and assignment algorithms, with how each was measured.

Distances are Euclidean between L2-normalised embeddings (0 = identical, 2 = opposite). dlib's
raw descriptors have norm ~1.41, so dlib's well-known raw threshold 0.6 is ~0.43 here.
"Measured" figures come from dlib ResNet embeddings made with dlib itself: lfw_min10 (4,312 faces
found of 4,324, 158 people; same-person distances 5/50/95% = 0.23/0.31/0.39, different-person
0.47/0.57/0.67) and fiw_train (15,822 crops, 3,015 people in 570 family albums, each album
clustered on its own). The ONNX conversion the pipeline runs agrees with dlib to 1e-4.
Scripts: memories/evaluation/clustering.py (evaluate_clustering), benchmarks/bench_cluster_scale.py,
benchmarks/bench_assign.py. Sweeps quoted below were run with the other settings at their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pass1Settings:
    """Greedy, conservative clustering inside one moment (face + upper body)."""

    # A face joins a cluster of its moment only when D (its RMS distance to the cluster's
    # members) is below this. Chosen with pass 2 across five protocols at once (the table in
    # Pass2Settings): 0.34 against 0.32 / 0.36 at the pass-2 defaults gives lfw_min10 BCubed F
    # 0.988 against 0.963 / 0.989, and fiw_train pooled pairwise precision 0.782 against
    # 0.815 / 0.721. Tried and dropped: joining only a clear winner (runner-up cluster 0.02
    # farther) lifted precision with strangers (0.32 -> 0.93) but cut lfw_min10 to 0.85, because
    # one person's own pieces are each other's runner-up.
    face_threshold: float = 0.34
    # D = min(F, alpha*F + beta*T) between observations of one moment. With alpha 0.6, beta 0.5 a
    # face at F = 0.45 (beyond face_threshold) joins when its upper body is within T = 0.14: an
    # outfit that close rescues a blurred or turned face of the same moment; a face beyond
    # face_threshold / alpha = 0.57 (different-person territory) is never rescued. NOT measured: no
    # labelled set here has moments with bodies; chosen on that rule, revisit with real bodies.
    alpha: float = 0.6
    beta: float = 0.5
    # Body-only observations (face hidden) join on T alone; same-moment clothing matches of
    # different people (uniforms, team shirts) make this the riskiest join, so it is set for
    # precision. Measured with `memories eval reid ../shared/data/cuhk01_reid` (synthetic moments
    # of 10-30 people, each seen twice by one camera, upper bodies, body-only pass 1; pairwise
    # precision / recall): 0.30 1.000 / 0.10, 0.35 1.000 / 0.33, 0.40 0.992 / 0.59, 0.45 0.933 /
    # 0.81, 0.50 0.722 / 0.87. Same-person two-shot distances: p10 0.30, median 0.37, p90 0.50.
    body_threshold: float = 0.40
    # A moment bigger than this is cut into consecutive chunks of this size, which bounds the
    # greedy step at chunk x clusters per observation (a "moment" of 10k faces is a bulk import).
    max_moment_size: int = 2000


@dataclass(frozen=True)
class Pass2Settings:
    """Median-linkage HAC of pass-1 clusters on faces, across moments, on a kNN candidate graph.

    Every value below was chosen across six protocols at once, never one set at a time
    (`memories eval clustering`, mirror-averaged embeddings; pairwise precision / BCubed F):

    | protocol                                  | these defaults | before (0.30 mean, 0.42, bonus) |
    | lfw_min10                                 | 1.000 / 0.989  | 0.997 / 0.990 (1 impure, 36)    |
    | fiw_train, per album                      | 0.947 / 0.830  | 0.831 / 0.874                   |
    | fiw_train --pool                          | 0.782 / 0.762  | 0.106 / 0.478 (337 impure, 320) |
    | lfw_min10 --cap 20 --distractors wider    | 0.978 / 0.977  |                                 |
    | ... + utkface_demographics strangers      | 0.357 / 0.911  |                                 |
    | samples (app path: moments, photos)       | 1.000 / 1.000  |                                 |
    The samples row is benchmarks/bench_samples_people.py: the app's own index and cluster of
    samples/, scored on the 62 labelled faces (the People album it leaves: 1.000 / 0.975).

    The embedding sets the limit: on fiw_train albums even pairs closer than 0.25 are another
    person 3% of the time, and dlib's network puts babies and toddlers of different families
    as close as one adult's photos (the mixed clusters left are of small children). A setting
    that separates those splits lfw_min10's people instead; the splits are left to the
    gallery's "same person?" questions.
    """

    # Merge while the median member-to-member distance is below this. lfw_min10 BCubed F at
    # 0.38 / 0.40: 0.988 / 0.991; fiw_train pooled pairwise precision 0.782 / 0.752; with
    # wider_faces strangers 0.981 / 0.955.
    threshold: float = 0.38
    # Extra threshold when the smaller cluster is one face, shrinking like 1/sqrt(faces). Off:
    # in a library of strangers a lone face's best match is usually someone else. At 0.04
    # against 0: fiw_train pooled precision 0.738 against 0.782, with wider_faces strangers
    # 0.913 against 0.981, for lfw_min10 F 0.991 against 0.988.
    small_cluster_bonus: float = 0.0
    # Two clusters that both have at least gap_min_size faces merge only if their linkage exceeds
    # the larger of their own median member distances by less than max_gap: one person's two
    # clusters are about as far apart as their own members, two lookalikes are not. Replayed lfw
    # merges of clusters of 4+: right ones had gap <= 0.066 (median 0.02-0.05), wrong ones >= 0.07.
    gap_min_size: int = 4
    max_gap: float = 0.065
    # A merge where neither side has min_larger_faces faces founds a person rather than growing
    # one, and must be closer than found_threshold instead of threshold. Replaying pass 2's
    # merges (pass 1 at 0.34, threshold 0.38) and scoring each by its sides' majority
    # identities, merges of two clusters of under 4 faces were right 7 times in 9 on
    # lfw_min10, 254 in 1,070 on fiw_train pooled and 6 in 227 on lfw_min10 capped at 20 with
    # wider_faces and utkface strangers: in a library full of people seen once or twice, two
    # small clusters that look alike are mostly two people. But an app library's pass 1 works
    # per moment, so a friend seen once per outing is only small clusters: forbidding such merges
    # left the samples (64 photos, 13 moments) at BCubed F 0.518 with 2 people
    # (benchmarks/bench_samples_people.py). found_threshold 0.30 / 0.32 / 0.34: with utkface
    # strangers precision 0.367 / 0.316 / 0.300; the other protocols move by < 0.005.
    min_larger_faces: int = 4
    found_threshold: float = 0.30
    # The neighbourhood test (MedianLinkageHAC._crowded): a merge is refused while other
    # clusters holding more than crowd_ratio x the pair's faces sit within crowd_margin of the
    # pair's own RMS linkage: the pair does not stand out, so joining it is a guess. It is what
    # keeps a pooled library from growing one cluster of look-alikes: fiw_train pooled
    # precision without it 0.242 (largest impure cluster 304 faces), with it 0.782 (37). Ratio
    # 0.5 / 1.0 / 2.0 at margin 0.03: lfw_min10 F 0.977 / 0.988 / 0.988, fiw_train pooled
    # precision 0.808 / 0.782 / 0.716; margin 0.02 at ratio 0.5: 0.977 and 0.763.
    crowd_ratio: float = 1.0
    crowd_margin: float = 0.03
    # ...unless the crowd and the pair together are as tight as one person's photos (RMS
    # distance between distinct members below crowd_tight): then it is one person in pieces, a
    # friend seen once per outing, and any two pieces may join. Without it the samples' Ana
    # (nine photos, all within 0.26 of each other) stayed in seven pieces, BCubed F 0.935 against
    # 1.000 (benchmarks/bench_samples_people.py), and the synthetic app-like library of
    # benchmarks/bench_cluster_scale.py (people over many moments) fell to BCubed recall 0.41:
    # 0.28 / 0.32 / 0.34 give 10k synthetic F 0.580 / 0.961 / 0.961 (0.961 = no crowd test at
    # all), lfw_min10 F 0.988 / 0.989 / 0.988, fiw_train pooled precision 0.782 / 0.782 / 0.747.
    crowd_tight: float = 0.32
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
    # 100k (benchmarks/bench_cluster_scale.py): 64 -> 63 s, BCubed F 0.985; 32 -> 46 s, 0.984. Real sets:
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
    # benchmarks/bench_assign.py protocol, lam 0.03/0.05/0.1/0.15: lfw_min10 accuracy 0.9969 at all;
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
