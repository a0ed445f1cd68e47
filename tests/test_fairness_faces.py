"""Fairness of the face path: pair and rate logic on known embeddings, then a small real subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memories.evaluation import fairness_faces as ff
from recognition.body_settings import QUALITY
from recognition.quality import terms_from_cues


def unit(index: int, dim: int = 128) -> np.ndarray:
    row = np.zeros(dim, np.float32)
    row[index] = 1.0
    return row


def test_impostor_rates_known_embeddings() -> None:
    # Group "a": four copies of one face (every pair at distance 0); group "b": four orthogonal
    # faces (every pair at sqrt 2), also orthogonal to "a".
    embeddings = np.stack([unit(0)] * 4 + [unit(k) for k in range(1, 5)])
    labels = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    levels = ff.impostor_rates(embeddings, {"group": labels}, {"merge": 0.38})
    level = levels[0]
    assert level.distance == 0.38
    assert level.overall.count == 28 and level.overall.rate == pytest.approx(6 / 28)
    assert [(r.count, r.rate) for r in level.pooled] == [(12, 0.5)]
    rows = {r.group: r for r in level.groups}
    assert (rows["a"].count, rows["a"].rate, rows["a"].low, rows["a"].high) == (6, 1.0, 1.0, 1.0)
    assert (rows["b"].count, rows["b"].rate) == (6, 0.0)
    top, ratio = level.worst()
    assert top is rows["a"] and ratio == pytest.approx(28 / 6)
    check, supplementary = ff.impostor_checks(levels)
    assert not check.passed and "a 4.7x" in check.detail
    assert supplementary.passed and "50.00%" in supplementary.detail  # 1.0 is exactly twice 0.5: not more


def test_impostor_rates_threshold_is_strict_and_pairs_are_capped() -> None:
    # Two faces at exactly 0.30: under 0.38, not under 0.30.
    angle = 2 * np.arcsin(0.30 / 2)
    pair = np.zeros((2, 128))
    pair[0, 0], pair[1, 0], pair[1, 1] = 1.0, np.cos(angle), np.sin(angle)
    levels = ff.impostor_rates(pair, {"g": np.array(["x", "x"], dtype=object)}, {"a": 0.38, "b": 0.30})
    assert [lv.overall.rate for lv in levels] == [1.0, 0.0]
    rng = np.random.default_rng(1)
    many = rng.normal(size=(40, 128))
    many /= np.linalg.norm(many, axis=1, keepdims=True)
    capped = ff.impostor_rates(many, {"g": np.array(["x"] * 40, dtype=object)}, {"a": 0.38}, max_pairs=100)
    assert capped[0].overall.count == 100 and capped[0].groups[0].count == 100


def test_impostor_check_passes_when_groups_are_alike() -> None:
    level = ff.ThresholdRates(
        "merge", 0.38, ff.GroupRate("all", "all pairs", 100, 0.02, 0.01, 0.03), [],
        [ff.GroupRate("race", "x", 10, 0.04, 0.0, 0.1), ff.GroupRate("race", "y", 10, 0.01, 0.0, 0.05)],
    )
    overall, supplementary = ff.impostor_checks([level])
    assert overall.passed and supplementary.passed  # no pooled rows: nothing to compare with


def test_within_pairs_and_sampling() -> None:
    i, j = ff.within_pairs(np.array(["p", "q", "p", "p", "q"], dtype=object))
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 2), (0, 3), (1, 4), (2, 3)]
    si, sj = ff.sample_pairs(np.arange(50), np.arange(50) + 1, max_pairs=10)
    assert len(si) == 10 and np.all(sj == si + 1) and np.all(np.diff(si) > 0)
    again = ff.sample_pairs(np.arange(50), np.arange(50) + 1, max_pairs=10)
    assert np.array_equal(si, again[0])


def test_family_pair_rates_known_embeddings() -> None:
    # Family F: person 1 twice (identical), person 2 close to person 1 (0.2 away), in one photo with
    # person 1; family G: person 3, orthogonal to everyone.
    angle = 2 * np.arcsin(0.2 / 2)
    close = np.zeros(128)
    close[0], close[1] = np.cos(angle), np.sin(angle)
    embeddings = np.stack([unit(0), unit(0), close, unit(5)])
    result = ff.family_pair_rates(
        embeddings,
        identities=np.array(["F/1", "F/1", "F/2", "G/3"], dtype=object),
        albums=np.array(["F", "F", "F", "G"], dtype=object),
        photo_ids=np.array(["p1", "p2", "p1", "p3"], dtype=object),
        thresholds={"merge": 0.38},
    )
    assert (result.faces, result.people, result.families) == (4, 3, 2)
    assert result.same_person.pairs == 1 and result.same_person.median == pytest.approx(0.0, abs=1e-6)
    rows = {r.group: r for r in result.levels[0][2]}
    assert (rows["same person"].count, rows["same person"].rate) == (1, 1.0)
    assert (rows["same family, different person"].count, rows["same family, different person"].rate) == (2, 1.0)
    assert (rows["same photo, different person"].count, rows["same photo, different person"].rate) == (1, 1.0)
    assert (rows["different families"].count, rows["different families"].rate) == (3, 0.0)
    assert "same family" in ff.format_family_spread(result)


def frontal_landmarks() -> np.ndarray:
    # dlib order: right eye outer, inner, left eye outer, inner, nose (image x grows rightwards).
    return np.array([[150, 60], [120, 62], [50, 60], [80, 62], [100, 118]], np.float32)


def test_landmarks_plausible() -> None:
    box = np.array([0.0, 0.0, 200.0, 200.0])
    good = frontal_landmarks()
    swapped = good[[1, 0, 2, 3, 4]]  # inner corner outside the outer one
    nose_up = good.copy()
    nose_up[4, 1] = 40  # above the eyes
    squeezed = good.copy() * 0.1 + 90  # a face far too small for its box
    outside = good + np.array([300.0, 0.0], np.float32)
    rows = np.stack([good, swapped, nose_up, squeezed, outside])
    assert ff.landmarks_plausible(rows, np.stack([box] * 5)).tolist() == [True, False, False, False, False]


def test_filter_scores_follow_quality_terms() -> None:
    """A cue at its bad value gives a term of 0, at its good value 1 and halfway 0.5; the score is
    the weighted geometric mean of the terms, and leaving the detector term out sets it to 1."""
    s = QUALITY
    bad = np.array([s.size_bad, s.sharpness_bad, s.pose_bad, s.detector_bad, s.null_distance_bad])
    good = np.array([s.size_good, s.sharpness_good, s.pose_good, s.detector_good, s.null_distance_good])
    np.testing.assert_allclose(terms_from_cues(np.stack([bad, good, (bad + good) / 2])),
                               [[0.0] * 5, [1.0] * 5, [0.5] * 5], atol=1e-12)
    detector = ff.TERMS.index("detector")
    weights = np.array([s.size_weight, s.sharpness_weight, s.pose_weight, s.detector_weight, s.embedding_weight])
    no_detector = good.copy()
    no_detector[detector] = bad[detector]
    half_size = good.copy()
    half_size[0] = (bad[0] + good[0]) / 2
    cues = np.stack([good, no_detector, half_size])
    assert np.allclose(ff.filter_scores(cues), [1.0, 0.0, 0.5 ** (weights[0] / weights.sum())])
    assert np.allclose(ff.filter_scores(cues, detector_term=False), [1.0, 1.0, 0.5 ** (weights[0] / weights.sum())])
    causes = ff.rejection_causes(cues, np.array([False, True, True]), np.array(["x", "x", "y"], dtype=object),
                                 QUALITY)
    assert causes["x"]["detector"] == 1 and sum(causes["x"].values()) == 1
    assert causes["y"]["size"] == 1 and sum(causes["y"].values()) == 1


@pytest.mark.slow
def test_face_rates_on_a_real_subset(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """24 utkface crops through the real analyzer (in-process), then the same from the cache."""
    monkeypatch.setattr(ff, "eval_cache_dir", lambda: tmp_path)
    utk = shared_data / "utkface_demographics"
    seen: list[tuple[int, int]] = []
    obs = ff.observe_crops(utk, limit=24, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert len(obs) == 24 and seen[-1] == (24, 24)
    assert list(tmp_path.glob("fairness-faces/utkface_demographics-*.npz"))
    a = obs.arrays
    own = a["det_own"]
    # The stored cues give back the analyzer's own quality score, both ways.
    assert np.allclose(ff.filter_scores(a["det_cues"][own]), a["det_quality"][own])
    assert np.allclose(ff.filter_scores(a["crop_cues"]), a["crop_quality"])
    assert obs.crop_landmarks_ok.mean() > 0.9 and obs.found.mean() > 0.9
    result = ff.face_rates(obs)
    assert {m.key for m in result.metrics} >= {"found", "landmarks_crop", "filter_keep", "confidence"}
    confidence = result.metric("confidence").by_attribute("race")[0]
    assert 0.4 < confidence.rate < 0.7
    assert "Unclear-filter keep rate" in ff.format_face_fairness(result)
    again = ff.face_fairness(utk, limit=24, workers=1)  # from the cache
    assert again.as_dict() == result.as_dict()
    impostors = ff.impostor_fairness(utk, limit=24, workers=1)
    assert impostors.faces == int(obs.kept.sum()) and len(impostors.levels) == 3
    assert impostors.levels[0].overall.count == impostors.faces * (impostors.faces - 1) // 2
    assert "under 0.38" in ff.format_impostor_fairness(impostors)
    grown = ff.impostor_fairness(utk, limit=24, workers=1, min_age=20)
    assert grown.population == "ages 20+" and 0 < grown.faces < impostors.faces


def test_age_note_of_fiw(shared_data: Path) -> None:
    note = ff.age_note(shared_data / "fiw_train")
    assert note.startswith("not labelled")
