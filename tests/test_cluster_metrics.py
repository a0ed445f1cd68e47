"""Clustering metrics on small examples worked out by hand."""

from __future__ import annotations

import pytest

from recognition.metrics import (
    bcubed_prf,
    cluster_counts,
    clustering_report,
    impure_clusters,
    pairwise_prf,
    same_photo_violations,
)

TRUTH = ["a", "a", "a", "b", "b"]


def test_pairwise_counts_pairs_of_faces() -> None:
    # Clusters {0,1} and {2,3,4}: predicted pairs 01, 23, 24, 34; right ones 01, 34.
    # True pairs 01, 02, 12, 34 -> precision 2/4, recall 2/4.
    prf = pairwise_prf(TRUTH, [0, 0, 1, 1, 1])
    assert prf.precision == pytest.approx(0.5)
    assert prf.recall == pytest.approx(0.5)
    assert prf.f == pytest.approx(0.5)


def test_bcubed_averages_per_face() -> None:
    # Per-face precision: 1, 1, 1/3, 2/3, 2/3; recall: 2/3, 2/3, 1/3, 1, 1.
    prf = bcubed_prf(TRUTH, [0, 0, 1, 1, 1])
    assert prf.precision == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert prf.recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)


def test_unassigned_faces_are_singletons() -> None:
    unassigned = [-1, -1, -1, -1, -1]
    assert bcubed_prf(TRUTH, unassigned).precision == pytest.approx(1.0)
    # Each face recalls only itself: (1/3 * 3 + 1/2 * 2) / 5.
    assert bcubed_prf(TRUTH, unassigned).recall == pytest.approx(0.4)
    assert pairwise_prf(TRUTH, unassigned).recall == 0.0
    # Two -1 faces are not "together": same as giving them distinct labels.
    assert bcubed_prf(TRUTH, [0, 0, -1, 1, -1]) == bcubed_prf(TRUTH, [0, 0, 7, 1, 8])
    assert cluster_counts([0, 0, -1, -1, 3]) == (4, 3)


def test_perfect_clustering_scores_one() -> None:
    report = clustering_report(TRUTH, [5, 5, 5, 9, 9])
    assert report["pairwise"] == {"precision": 1.0, "recall": 1.0, "f": 1.0}
    assert report["bcubed"]["f"] == pytest.approx(1.0)
    assert report["clusters"] == 2 and report["singletons"] == 0


def test_same_photo_violations_count_pairs_in_one_cluster() -> None:
    photos = ["p1", "p1", "p1", "p2", "p2"]
    # Cluster 0 holds faces 0, 1, 2 of photo p1: three pairs. Faces 3, 4 are unassigned.
    assert same_photo_violations([0, 0, 0, -1, -1], photos) == 3
    assert same_photo_violations([0, 1, 2, 0, 1], photos) == 0
    assert same_photo_violations([0, 1, 0, 2, 2], photos) == 2


def test_impure_clusters_need_three_faces_of_a_second_person() -> None:
    truth = list("aaaabbbccd")
    # Cluster 0: a4 + b3 (impure, 7 faces); cluster 1: c2 + d1 (second identity has 1 face: not impure).
    assert impure_clusters(truth, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]) == (1, 7)
    # b2 beside a4 is a stray pair, not a mix; unassigned faces are never impure.
    assert impure_clusters(truth, [0, 0, 0, 0, 0, 0, -1, 1, 1, -1]) == (0, 0)
    # Everything in one cluster: a4, b3, c2, d1 -> second largest is b3 -> impure, 10 faces.
    assert impure_clusters(truth, [3] * 10) == (1, 10)
    report = clustering_report(truth, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    assert report["impure_clusters"] == 1 and report["largest_impure"] == 7
