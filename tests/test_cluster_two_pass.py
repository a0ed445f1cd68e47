"""Two-pass clustering on real faces: constraints hold, quality on a small real subset.

Faces are three Families-in-the-Wild albums (lookalike relatives; several faces per photo, so the
same-photo cannot-link is real), embedded with dlib's ResNet in a module fixture (~150 crops,
5-point landmarks inside the crop as the data set prescribes).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import dlib
import face_recognition_models
import numpy as np
import pytest

from memories.evaluation.clustering import evaluate_clustering, format_clustering_table
from recognition.baselines import BASELINES, hac_average
from recognition.cluster import Gallery, MedianLinkageHAC, MomentClusterer, TwoPassClusterer, median_linkage
from recognition.cluster.knn import exact_knn, hnsw_knn
from recognition.cluster.pass2 import self_median_distance
from recognition.metrics import bcubed_prf, pairwise_prf, same_photo_violations

MODELS = Path(face_recognition_models.__file__).parent / "models"


def _pick_families(rows: list[dict[str, str]], count: int) -> list[str]:
    """Albums of 30-50 faces with the most faces that share a photo (deterministic)."""
    per_photo = Counter(r["source_photo"] for r in rows)
    size = Counter(r["family_album"] for r in rows)
    shared = Counter(r["family_album"] for r in rows if per_photo[r["source_photo"]] > 1)
    ranked = sorted((-shared[f], f) for f in size if 30 <= size[f] <= 50)
    return [f for _, f in ranked[:count]]


@pytest.fixture(scope="module")
def families(shared_data: Path) -> dict[str, np.ndarray]:
    root = shared_data / "fiw_train"
    with open(root / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = set(_pick_families(rows, 3))
    rows = [r for r in rows if r["family_album"] in chosen]
    predictor = dlib.shape_predictor(str(MODELS / "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(str(MODELS / "dlib_face_recognition_resnet_model_v1.dat"))
    embeddings = []
    for r in rows:
        img = dlib.load_rgb_image(str(root / r["image"]))
        box = dlib.rectangle(0, 0, img.shape[1] - 1, img.shape[0] - 1)
        embeddings.append(np.array(net.compute_face_descriptor(img, predictor(img, box))))
    x = np.array(embeddings, np.float32)
    return {
        "x": x / np.linalg.norm(x, axis=1, keepdims=True),
        "ids": np.array([r["identity"] for r in rows]),
        "albums": np.array([r["family_album"] for r in rows]),
        "photos": np.array([r["source_photo"] for r in rows]),
    }


def _per_album(data: dict[str, np.ndarray], cluster) -> np.ndarray:  # type: ignore[no-untyped-def]
    labels = np.full(len(data["x"]), -1, np.int64)
    offset = 0
    for album in np.unique(data["albums"]):
        rows = np.flatnonzero(data["albums"] == album)
        lab = cluster(rows)
        labels[rows] = lab + offset
        offset += int(lab.max()) + 1
    return labels


def test_faces_of_one_photo_never_share_a_cluster(families: dict[str, np.ndarray]) -> None:
    x, photos = families["x"], families["photos"]
    # A loose threshold makes relatives merge; only the photo constraint keeps them apart.
    loose = _per_album(families, lambda r: TwoPassClusterer(threshold=0.5).fit(x[r]).labels_)
    assert same_photo_violations(loose, photos) > 0
    constrained = _per_album(
        families, lambda r: TwoPassClusterer(threshold=0.5).fit(x[r], photo_ids=photos[r]).labels_)
    assert same_photo_violations(constrained, photos) == 0


def test_must_links_join_and_cannot_links_split(families: dict[str, np.ndarray]) -> None:
    album = np.unique(families["albums"])[0]
    rows = np.flatnonzero(families["albums"] == album)
    x, ids, photos = families["x"][rows], families["ids"][rows], families["photos"][rows]
    base = TwoPassClusterer().fit(x, photo_ids=photos).labels_
    # Two faces of different people in different clusters and different photos: the user merges them.
    a = 0
    b = next(i for i in range(len(x)) if ids[i] != ids[a] and base[i] != base[a] and photos[i] != photos[a])
    joined = TwoPassClusterer().fit(x, photo_ids=photos, must_link=[(a, b)]).labels_
    assert joined[a] == joined[b]
    # Two faces the clustering put together: the user says they are not the same person.
    c, d = next((i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if base[i] == base[j])
    split = TwoPassClusterer().fit(x, photo_ids=photos, cannot_link=[(c, d)]).labels_
    assert split[c] != split[d]
    # A must-link that contradicts a photo is refused and reported.
    p, q = next((i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if photos[i] == photos[j])
    fitted = TwoPassClusterer().fit(x, photo_ids=photos, must_link=[(p, q)])
    assert fitted.labels_[p] != fitted.labels_[q]
    assert fitted.pass2_.skipped_must_links_ == [(p, q)]


def test_anchors_keep_confirmed_people_apart_and_together(families: dict[str, np.ndarray]) -> None:
    album = np.unique(families["albums"])[0]
    rows = np.flatnonzero(families["albums"] == album)
    x, ids = families["x"][rows], families["ids"][rows]
    base = TwoPassClusterer(threshold=0.5).fit(x).labels_
    # Two people merged at a loose threshold; anchoring one face of each keeps them apart.
    pairs = ((i, j) for i in range(len(x)) for j in range(len(x)))
    i, j = next((i, j) for i, j in pairs if base[i] == base[j] and ids[i] != ids[j])
    anchored = TwoPassClusterer(threshold=0.5).fit(x, anchors={i: 1, j: 2}).labels_
    assert anchored[i] != anchored[j]
    # Two faces of one person in different clusters; confirming both as that person joins them.
    strict = TwoPassClusterer(threshold=0.2).fit(x).labels_
    pairs = ((k, m) for k in range(len(x)) for m in range(len(x)))
    k, m = next((k, m) for k, m in pairs if ids[k] == ids[m] and strict[k] != strict[m])
    confirmed = TwoPassClusterer(threshold=0.2).fit(x, anchors={k: 7, m: 7}).labels_
    assert confirmed[k] == confirmed[m]


def test_clustering_quality_on_real_families(families: dict[str, np.ndarray]) -> None:
    x, ids, photos = families["x"], families["ids"], families["photos"]
    ours = _per_album(families, lambda r: TwoPassClusterer().fit(x[r], photo_ids=photos[r]).labels_)
    assert pairwise_prf(ids, ours).precision >= 0.9
    assert bcubed_prf(ids, ours).f >= 0.72
    # Precision first: against average-linkage HAC at each of its thresholds, ours is more
    # precise than HAC at HAC's best BCubed F, and no worse in F (measured when this test was
    # rewritten: pairwise precision 0.94 against 0.60, BCubed F 0.754 against 0.741).
    hac = [_per_album(families, lambda r, t=t: hac_average(x[r], t)) for t in np.arange(0.3, 0.5, 0.02)]
    best_hac = max(hac, key=lambda labels: bcubed_prf(ids, labels).f)
    assert pairwise_prf(ids, ours).precision > pairwise_prf(ids, best_hac).precision + 0.1
    assert bcubed_prf(ids, ours).f >= bcubed_prf(ids, best_hac).f


def test_median_linkage_sampling_and_knn(families: dict[str, np.ndarray]) -> None:
    x = families["x"]
    rng = np.random.default_rng(0)
    a, b = np.arange(0, 60), np.arange(60, 140)
    exact = float(np.sqrt(2 - 2 * np.median(x[a] @ x[b].T)))
    assert median_linkage(x, a, b, 10_000, rng) == pytest.approx(exact, abs=1e-5)
    assert median_linkage(x, a, b, 512, rng) == pytest.approx(exact, abs=0.03)  # sampled pairs
    own = np.sqrt(np.maximum(2 - 2 * x[a] @ x[a].T, 0))[np.triu_indices(len(a), 1)]
    assert self_median_distance(x, a, 10_000, rng) == pytest.approx(float(np.median(own)), abs=1e-5)
    idx_exact, dist_exact = exact_knn(x, 5)
    full = np.sqrt(np.maximum(2 - 2 * x @ x.T, 0))
    np.fill_diagonal(full, np.inf)
    assert np.allclose(dist_exact, np.sort(full, axis=1)[:, :5], atol=1e-4)
    idx_hnsw, _ = hnsw_knn(x, 5)
    recall = np.mean([len(set(p) & set(q)) / 5 for p, q in zip(idx_exact, idx_hnsw, strict=True)])
    assert recall > 0.95


def test_pass2_alone_and_gallery(families: dict[str, np.ndarray]) -> None:
    x, ids = families["x"], families["ids"]
    hac = MedianLinkageHAC().fit(x)
    assert len(np.unique(hac.labels_)) == hac.n_clusters_ < len(x)
    assert all(link >= 0 for _, _, link in hac.merges_)
    gallery = Gallery().fit(x, hac.labels_)
    assert gallery.people_, "a person seen in several photos becomes a person"
    for person in gallery.people_:
        assert len(person.members) >= gallery.settings.min_faces
        assert person.key_face in person.members
    # Everything not in a person is unassigned; a confirmed singleton is a person.
    lonely = int(np.flatnonzero(np.bincount(hac.labels_)[hac.labels_] == 1)[0])
    confirmed = np.zeros(len(x), bool)
    confirmed[lonely] = True
    assert Gallery().fit(x, hac.labels_, confirmed=confirmed).labels_[lonely] >= 0
    links = [s.linkage for s in gallery.suggestions_]
    assert links == sorted(links)
    assert len(set(ids)) > 1


def test_pass1_body_term_only_inside_a_moment(families: dict[str, np.ndarray]) -> None:
    x, ids = families["x"], families["ids"]
    s = MomentClusterer().settings
    dist = np.sqrt(np.maximum(2 - 2 * x @ x.T, 0))
    # Two faces of one person just too far apart for a face-only join, but rescuable by clothes.
    same = (ids[:, None] == ids[None, :]) & (dist > s.face_threshold) & (dist < s.face_threshold / s.alpha - 0.02)
    i, j = (int(v) for v in np.argwhere(same)[0])
    faces = x[[i, j]]
    rng = np.random.default_rng(0)
    outfit = rng.standard_normal(64)
    same_clothes = np.stack([outfit, outfit + 0.01 * rng.standard_normal(64)])
    other_clothes = rng.standard_normal((2, 64))
    assert len(set(MomentClusterer().fit_predict(faces).tolist())) == 2
    assert len(set(MomentClusterer().fit_predict(faces, same_clothes).tolist())) == 1
    assert len(set(MomentClusterer().fit_predict(faces, other_clothes).tolist())) == 2
    # Clothes mean nothing across moments (people change between days).
    assert len(set(MomentClusterer().fit_predict(faces, same_clothes, moment_ids=[0, 1]).tolist())) == 2
    # A body-only observation (face hidden) joins on the body alone, within its moment.
    hidden = np.vstack([faces[:1], np.full((1, x.shape[1]), np.nan)])
    assert len(set(MomentClusterer().fit_predict(hidden, same_clothes).tolist())) == 1
    assert len(set(MomentClusterer().fit_predict(hidden, other_clothes).tolist())) == 2


def test_evaluation_harness_reports_every_method(families: dict[str, np.ndarray]) -> None:
    result = evaluate_clustering(families["x"], families["ids"], families["albums"], families["photos"],
                                 dataset="fiw_subset")
    names = [m["name"] for m in result["methods"]]
    assert names[0] == "ours" and {b.name for b in BASELINES} <= set(names)
    assert {"ours_without_pass2", "ours_half_then_sparse_coding", "ours_half_then_nn"} <= set(names)
    assert result["faces"] == len(families["x"])
    by_name = {m["name"]: m for m in result["methods"]}
    for method in result["methods"]:
        assert set(method) >= {"name", "threshold", "pairwise", "bcubed", "clusters", "singletons",
                               "same_photo_violations", "seconds"}
        assert 0.0 <= method["bcubed"]["f"] <= 1.0
    # Ours at its defaults beats every baseline at the baseline's own best threshold, without
    # ever putting two faces of one photo together.
    assert all(by_name["ours"]["bcubed"]["f"] > by_name[b.name]["bcubed"]["f"] for b in BASELINES)
    assert by_name["ours"]["same_photo_violations"] == 0
    table = format_clustering_table(result)
    assert len(table.splitlines()) == len(result["methods"]) + 2
