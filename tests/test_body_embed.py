"""MobileNetV2 read without torch, converted to ONNX, and the upper-body embedding built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from recognition import models
from recognition.body import upper_body_boxes
from recognition.body_embed import (
    BodyEmbedder,
    body_embedding_dim,
    colour_descriptor,
    colour_descriptor_dim,
    crop_box,
    network_input,
)
from recognition.boxes import Detection
from recognition.face_pipeline import FaceAnalyzer
from recognition.mobilenet_convert import FEATURE_DIM, read_classifier, read_torch_state_dict

# ImageNet-1k class indices (torchvision's category list).
SUIT, WINDSOR_TIE, BOW_TIE, GROOM = 834, 906, 457, 982


@pytest.fixture(scope="session")
def state() -> dict[str, np.ndarray]:
    return read_torch_state_dict(models.source_path(models.MOBILENET_V2_BODY))


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted into a fresh folder by the registry's one conversion call."""
    return models.onnx_path(models.MOBILENET_V2_BODY, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def embedder(model_path: Path) -> BodyEmbedder:
    return BodyEmbedder(model_path)


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_checkpoint_is_read_without_torch(state: dict[str, np.ndarray]) -> None:
    import hashlib

    source = models.source_path(models.MOBILENET_V2_BODY, verify=False)
    # torchvision names its checkpoints after the first 8 hex digits of their sha256.
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert digest == models.MOBILENET_V2_BODY.sha256 and source.name == f"mobilenet_v2-{digest[:8]}.pth"
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert all(v.dtype in (np.float32, np.int64) for v in state.values())
    # a trained network: BN variances positive, weights not constant
    assert (state["features.5.conv.1.1.running_var"] > 0).all()
    assert state["features.0.0.weight"].std() > 0.05


def test_onnx_graph_is_cached_and_valid(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    model = onnx.load(str(model_path))
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Clip", "Add", "GlobalAveragePool", "Sub", "Div"} <= ops
    assert "BatchNormalization" not in ops  # folded
    assert models.onnx_path(models.MOBILENET_V2_BODY, model_path.parent) == model_path
    assert not list(model_path.parent.glob("*.part"))


def test_imagenet_top5_makes_sense_on_real_photos(shared_data: Path, model_path: Path,
                                                   state: dict[str, np.ndarray]) -> None:
    """The converted features, through the checkpoint's classifier, name what the photo shows."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    rgb = load_rgb(shared_data / "deepface/images/couple.jpg")  # a man in a suit and tie, a woman
    h, w = rgb.shape[:2]
    side = min(h, w)
    centre = rgb[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
    features = session.run(None, {"image": network_input([centre])})[0]
    assert features.shape == (1, FEATURE_DIM)
    weight, bias = read_classifier(state)
    logits = features[0] @ weight.T + bias
    top5 = set(np.argsort(-logits)[:5].tolist())
    assert {SUIT, GROOM, WINDSOR_TIE, BOW_TIE} & top5
    assert np.argmax(logits) in (SUIT, GROOM, WINDSOR_TIE, BOW_TIE)


def test_colour_descriptor_tells_shirt_colours_apart() -> None:
    rng = np.random.default_rng(0)

    def shirt(rgb: tuple[int, int, int]) -> np.ndarray:
        noise = rng.normal(0, 6, (60, 80, 3))
        return np.clip(np.array(rgb, dtype=float) + noise, 0, 255).astype(np.uint8)

    red_a, red_b = shirt((190, 30, 40)), shirt((175, 35, 45))
    d = [colour_descriptor(c) for c in (red_a, red_b, shirt((30, 50, 180)), shirt((235, 235, 235)))]
    assert d[0].shape == (colour_descriptor_dim(),)
    assert np.linalg.norm(d[0]) == pytest.approx(1.0, abs=1e-5)
    same = np.linalg.norm(d[0] - d[1])
    assert same < 0.5 < min(np.linalg.norm(d[0] - d[2]), np.linalg.norm(d[0] - d[3]))
    assert not colour_descriptor(red_a[:0]).any()


@pytest.fixture(scope="module")
def six_people(shared_data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A photo of six people, their faces (xywh) and 5 landmarks each, found by dlib itself."""
    import dlib
    import face_recognition_models

    rgb = load_rgb(shared_data / "dlib_faces_det/images/2008_002470.jpg")
    predictor = dlib.shape_predictor(
        str(Path(face_recognition_models.__file__).parent / "models/shape_predictor_5_face_landmarks.dat"))
    rects = dlib.get_frontal_face_detector()(rgb, 1)
    faces = np.array([[r.left(), r.top(), r.width(), r.height()] for r in rects], dtype=float)
    lms = np.array([[(p.x, p.y) for p in predictor(rgb, r).parts()] for r in rects], dtype=float)
    return rgb, faces, lms


def test_body_embedding_matches_the_same_clothes_over_other_people(
    six_people: tuple[np.ndarray, np.ndarray, np.ndarray], embedder: BodyEmbedder
) -> None:
    """Six people in one photo: a re-framed crop of each body (as a second shot of the moment would
    give) is nearer to its own body than to any of the other five."""
    rgb, faces, lms = six_people
    boxes, visible = upper_body_boxes(faces, lms, (rgb.shape[1], rgb.shape[0]))
    boxes = boxes[visible > 0.8]
    assert len(boxes) >= 4
    shifted = boxes + boxes[:, 2:3] * np.array([0.06, 0.04, -0.08, -0.06])
    first, second = embedder.embed(rgb, boxes), embedder.embed(rgb, shifted)
    assert first.shape == (len(boxes), body_embedding_dim()) == (len(boxes), 1384)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    distances = np.linalg.norm(first[:, None] - second[None], axis=2)
    assert (distances.argmin(axis=1) == np.arange(len(boxes))).all()
    assert distances.max() <= np.sqrt(2) + 1e-5  # non-negative parts: the documented scale
    # batching does not change the result
    one_by_one = np.concatenate([embedder.embed(rgb, b[None]) for b in boxes])
    np.testing.assert_allclose(one_by_one, first, atol=1e-5)
    assert crop_box(rgb, np.array([-10.0, -10.0, 5.0, 5.0])).size == 0


def test_the_app_path_gives_each_face_its_own_clothes(
    six_people: tuple[np.ndarray, np.ndarray, np.ndarray], embedder: BodyEmbedder
) -> None:
    """What `memories index` calls (FaceAnalyzer.observe_photo, bodies on): every face whose upper
    body is in frame carries a unit body embedding nearest to that person's own clothes among the
    six, and a face cut off at the bottom edge of the photo carries none."""
    rgb, faces, lms = six_people
    boxes, visible = upper_body_boxes(faces, lms, (rgb.shape[1], rgb.shape[0]))
    in_frame = visible > 0.8
    # The same photo with one face's head pasted again at its bottom edge: a face with no body below.
    x, y, w, h = (int(round(v)) for v in faces[0])
    edge = rgb.copy()
    ex = edge.shape[1] // 2 - w // 2
    edge[-h:, ex:ex + w] = rgb[y:y + h, x:x + w]
    detections = [Detection(tuple(float(v) for v in f), 1.0) for f in faces]  # type: ignore[misc]
    detections.append(Detection((float(ex), float(edge.shape[0] - h), float(w), float(h)), 1.0))
    own_clothes = embedder.embed(edge, boxes[in_frame])
    readings, _ = FaceAnalyzer(bodies=True).observe_photo(edge, detections)
    assert len(readings) == len(faces) + 1
    assert readings[-1].body_box is None and readings[-1].body_embedding is None
    for k, i in enumerate(np.flatnonzero(in_frame).tolist()):
        body = readings[i].body_embedding
        assert body is not None and body.shape == (1384,)
        assert np.linalg.norm(body) == pytest.approx(1.0, abs=1e-5)
        assert int(np.argmin(np.linalg.norm(own_clothes - body, axis=1))) == k
