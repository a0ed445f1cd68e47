"""Reading the dev sets, the verification maths, and the embedding of a set through the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memories.evaluation.datasets import read_dataset
from memories.evaluation.embed_dataset import embed_dataset
from memories.evaluation.verification import (
    best_threshold,
    draw_pairs,
    evaluate_verification,
    kfold_accuracy,
    tar_at_far,
)
from recognition.boxes import Detection
from recognition.face_pipeline import centre_detection


def test_datasets_read_as_their_dataset_json_says(shared_data: Path) -> None:
    lfw = read_dataset(shared_data / "lfw_min10")
    assert (len(lfw), len(set(lfw.identities)), lfw.kind, lfw.labelled_face) == (
        4324,
        158,
        "photos",
        "centre",
    )
    assert all(p.is_file() for p in lfw.paths[:20])
    fiw = read_dataset(shared_data / "fiw_train")
    assert fiw.kind == "face_crops" and fiw.albums is not None and fiw.photo_ids is not None
    assert fiw.albums[0] == "F0001" and fiw.photo_ids[0] == "F0001/P00001"
    det = read_dataset(shared_data / "dlib_faces_det")
    assert len(det) == 9 and not det.labelled.any()


def test_threshold_and_tar_on_known_distances() -> None:
    same = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    d = np.array([0.1, 0.2, 0.3, 0.7, 0.5, 0.8, 0.9, 1.0])
    t, acc = best_threshold(d, same)
    assert acc == pytest.approx(7 / 8) and 0.3 < t < 0.5
    separable = np.r_[np.linspace(0, 0.4, 100), np.linspace(0.6, 1, 100)]
    labels = np.r_[np.ones(100, int), np.zeros(100, int)]
    assert kfold_accuracy(separable, labels)["accuracy"] == 1.0
    assert tar_at_far(d, same, far=0.0) == 0.75  # strictest: below the closest different pair (0.5)


def test_pairs_are_deterministic_and_labelled_right() -> None:
    ids = np.array([f"p{i % 20}" for i in range(400)], dtype=object)
    pairs = draw_pairs(ids, 500)
    assert np.array_equal(pairs, draw_pairs(ids, 500))
    assert pairs[:, 2].sum() == 500 and len(pairs) == 1000
    assert np.array_equal(ids[pairs[:, 0]] == ids[pairs[:, 1]], pairs[:, 2].astype(bool))
    assert len({(i, j) for i, j, _ in pairs}) == 1000
    small = draw_pairs(ids[:60], 3000)  # fewer pairs exist than asked for: all same, capped different
    assert small[:, 2].sum() == 20 * 3 * 2 / 2 and len(small) == 60 * 59 / 2


def test_centre_face_is_the_one_nearest_the_middle() -> None:
    found = [Detection(b, 0.0) for b in [(0, 0, 10, 10), (45, 45, 10, 10), (90, 0, 10, 10)]]
    assert centre_detection(found, 100, 100) is found[1]


@pytest.mark.slow
def test_face_crop_set_embeds_and_caches(shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEMORIES_CACHE", str(tmp_path))
    first = embed_dataset(shared_data / "orl_att", workers=1, limit=30)
    assert first.detected.all()  # crops: the whole image is the face
    assert np.allclose(np.linalg.norm(first.embeddings, axis=1), 1.0, atol=1e-5)
    assert len(list((tmp_path / "eval").glob("orl_att-ours-*.npz"))) == 1
    again = embed_dataset(shared_data / "orl_att", workers=1, limit=30)
    assert np.array_equal(first.embeddings, again.embeddings)


@pytest.mark.slow
def test_verification_reports_ours_beside_the_reference(
    shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MEMORIES_CACHE", str(tmp_path))
    result = evaluate_verification(shared_data / "orl_att", workers=1, limit=60)
    assert {"accuracy", "tar_at_far_1e-3", "pairs", "reference"} <= set(result)
    assert result["pairs"] == 60 * 59 // 2  # every pair of a 60-face set
    # small grey 92x112 crops: measured 0.94 for both; same chips and same net, so the two agree
    assert result["accuracy"] > 0.9
    assert abs(result["accuracy"] - result["reference"]["accuracy"]) < 0.01


def test_library_protocol_pools_caps_and_adds_strangers() -> None:
    from memories.evaluation.clustering import Strangers, cap_per_identity, library_protocol

    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 8)).astype(np.float32)
    ids = np.array(["a"] * 5 + ["b"] * 3 + ["c"])
    albums = np.array(["f1"] * 5 + ["f2"] * 4)
    photos = np.array([f"p{i}" for i in range(9)])
    kept = cap_per_identity(ids, 2)
    assert sorted(ids[kept].tolist()) == ["a", "a", "b", "b", "c"]
    assert np.array_equal(kept, cap_per_identity(ids, 2))  # seeded: the same faces every run
    per_album = library_protocol(x, ids, albums, photos)
    assert per_album.albums is not None and np.allclose(np.linalg.norm(per_album.embeddings, axis=1), 1.0)
    pooled = library_protocol(x, ids, albums, photos, pool=True, cap=2)
    assert pooled.albums is None and len(pooled.identities) == 5
    assert pooled.protocol == "pooled, cap 2"
    # Three strangers from two photos: each its own identity, the two of one photo share a photo id.
    strangers = Strangers("crowd", rng.standard_normal((3, 8)).astype(np.float32), np.array([0, 0, 1]))
    mixed = library_protocol(x, ids, albums, photos, distractors=[strangers])
    assert len(mixed.identities) == 12 and len(set(mixed.identities[9:].tolist())) == 3
    assert mixed.photo_ids is not None and mixed.photo_ids[9] == mixed.photo_ids[10] != mixed.photo_ids[11]
    # With albums, the strangers are dealt over the albums.
    assert mixed.albums is not None and set(mixed.albums[9:].tolist()) == {"f1", "f2"}
    assert mixed.protocol == "albums, +3 strangers (crowd)"
