"""The ONNX face embedding, the alignment and the whole pipeline against dlib itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from memories.evaluation.datasets import read_dataset, read_image_rgb
from recognition import models, settings
from recognition.align import face_chip, face_chips, landmarks_to_shape
from recognition.face_embed import FaceEmbedder
from recognition.face_pipeline import FaceAnalyzer
from recognition.landmarks import shape_to_array

N_FACES = 56


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models converted inside the test session, into a temporary cache."""
    cache = tmp_path_factory.mktemp("models")
    models.onnx_path(models.FACE_RESNET, cache)
    return cache


@pytest.fixture(scope="module")
def dlib_tools() -> dict:
    import dlib

    return {
        "detector": dlib.get_frontal_face_detector(),
        "predictor": dlib.shape_predictor(str(models.source_path(models.SHAPE_PREDICTOR_5))),
        "net": dlib.face_recognition_model_v1(str(models.source_path(models.FACE_RESNET))),
    }


@pytest.fixture(scope="module")
def lfw_faces(shared_data: Path, dlib_tools: dict) -> list[tuple[np.ndarray, object]]:
    """(photo, dlib 5-point shape) for N_FACES LFW photos spread over many identities."""
    ds = read_dataset(shared_data / "lfw_min10")
    out = []
    for path in ds.paths[:: len(ds.paths) // (N_FACES + 8)]:
        rgb = read_image_rgb(path)
        rects = dlib_tools["detector"](rgb, 1)
        if rects:
            out.append((rgb, dlib_tools["predictor"](rgb, rects[0])))
        if len(out) == N_FACES:
            break
    assert len(out) == N_FACES
    return out


def test_onnx_descriptor_equals_dlib_on_real_faces(
    model_cache: Path, dlib_tools: dict, lfw_faces: list
) -> None:
    import dlib

    chips = np.stack([dlib.get_face_chip(rgb, shape, 150, 0.25) for rgb, shape in lfw_faces])
    reference = np.array([dlib_tools["net"].compute_face_descriptor(c) for c in chips])
    ours = FaceEmbedder(model_cache).embed(chips, mirror=False)
    assert ours.shape == (N_FACES, 128) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-4
    # raw, as dlib gives it: not unit length
    assert not np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-3)


def test_mirrored_descriptor_is_the_mean_of_dlibs_two(model_cache: Path, dlib_tools: dict, lfw_faces: list) -> None:
    import dlib

    chips = np.stack([dlib.get_face_chip(rgb, shape, 150, 0.25) for rgb, shape in lfw_faces[:8]])
    plain = np.array([dlib_tools["net"].compute_face_descriptor(c) for c in chips])
    mirrored = np.array([dlib_tools["net"].compute_face_descriptor(np.ascontiguousarray(c[:, ::-1])) for c in chips])
    ours = FaceEmbedder(model_cache).embed(chips, mirror=True)
    assert np.abs(ours - (plain + mirrored) / 2).max() < 1e-4


def test_chip_from_landmark_array_is_dlibs_chip(lfw_faces: list) -> None:
    import dlib

    for rgb, shape in lfw_faces[:10]:
        expected = dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
        ours = face_chip(rgb, shape_to_array(shape))
        assert ours.shape == (150, 150, 3) and ours.dtype == np.uint8
        assert np.array_equal(ours, expected)
    batch = face_chips(lfw_faces[0][0], [landmarks_to_shape(shape_to_array(lfw_faces[0][1]))])
    assert batch.shape == (1, 150, 150, 3)


def test_pipeline_matches_the_dlib_reference(model_cache: Path, dlib_tools: dict, lfw_faces: list) -> None:
    # The reference detects on RGB; the default works on grey for speed (recognition/settings.py),
    # so the stage-by-stage comparison runs ours with the reference's detector input.
    same_input = dataclasses.replace(settings.DETECTION, hog_grey=False)
    analyzer = FaceAnalyzer(detector="hog", detection=same_input, cache_dir=model_cache)
    distances = []
    import dlib

    for rgb, _ in lfw_faces[:12]:
        faces = analyzer.observe(rgb)
        assert faces, "a face that dlib's HOG finds must be found"
        ref_rects = dlib_tools["detector"](rgb, 1)
        ref_shape = dlib_tools["predictor"](rgb, ref_rects[0])
        # The reference of the shipped descriptor: dlib's on its chip and on the chip's mirror,
        # averaged and L2-normalised (settings.EMBED_MIRROR).
        chip = dlib.get_face_chip(rgb, ref_shape, 150, 0.25)
        both = [np.array(dlib_tools["net"].compute_face_descriptor(np.ascontiguousarray(c))) for c in (chip, chip[:, ::-1])]
        reference = (both[0] + both[1]) / np.linalg.norm(both[0] + both[1])
        best = min(faces, key=lambda f: np.linalg.norm(f.embedding - reference))
        assert best.landmarks.shape == (5, 2) and best.landmarks.dtype == np.float32
        assert best.embedding.shape == (128,) and best.embedding.dtype == np.float32
        x, y, w, h = best.box
        assert 0 <= x < rgb.shape[1] and 0 <= y < rgb.shape[0] and w > 20 and h > 20
        assert np.all((best.landmarks[:, 0] >= x - 0.1 * w) & (best.landmarks[:, 0] <= x + 1.1 * w))
        distances.append(float(np.linalg.norm(best.embedding - reference)))
    # LFW photos get a 2x working copy, which the HOG detector leaves to dlib's own pyramid_up: same
    # boxes, same landmarks, same chip as the reference; only the network's float rounding differs.
    assert max(distances) < 1e-4


def test_observing_given_detections_equals_detecting(model_cache: Path, lfw_faces: list) -> None:
    analyzer = FaceAnalyzer(detector="hog", cache_dir=model_cache)
    for rgb, _ in lfw_faces[:4]:
        found = analyzer.detect(rgb)
        whole = analyzer.observe(rgb)
        given = analyzer.observe(rgb, found)
        assert [f.box for f in whole] == [d.box for d in found] == [f.box for f in given]
        for a, b in zip(whole, given, strict=True):
            assert np.abs(a.embedding - b.embedding).max() < 1e-6
            assert abs(np.linalg.norm(a.embedding) - 1.0) < 1e-5
            assert 0.0 <= a.quality <= 1.0 and a.body_box is None  # bodies are off by default


@pytest.mark.slow
def test_observe_crop_on_pre_cropped_faces(model_cache: Path, shared_data: Path) -> None:
    ds = read_dataset(shared_data / "orl_att")
    analyzer = FaceAnalyzer(cache_dir=model_cache)
    same = [analyzer.observe(read_image_rgb(p), crop=True)[0] for p in ds.paths[:2]]  # person s1
    other = analyzer.observe(read_image_rgb(ds.paths[-1]), crop=True)[0]  # person s40 (or last)
    assert ds.identities[0] == ds.identities[1] != ds.identities[-1]
    h, w = read_image_rgb(ds.paths[0]).shape[:2]
    assert same[0].box == (0.0, 0.0, float(w), float(h))
    d_same = np.linalg.norm(same[0].embedding - same[1].embedding)
    d_other = np.linalg.norm(same[0].embedding - other.embedding)
    # Unit descriptors: dlib's raw same-person threshold 0.6 is ~0.43 here.
    assert same[0].is_clear and d_same < 0.43 < d_other
