"""dlib's serialization reader and the ONNX conversion of both dlib networks."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from recognition import models
from recognition.dlib_format import (
    DlibFormatError,
    DlibStream,
    face_resnet_spec,
    mmod_face_detector_spec,
    read_network,
    read_network_file,
)


def test_primitives_decode_as_dlib_writes_them() -> None:
    # int 1, int -28, int 300, float 0.04 (10737418 * 2**-28), bool '1', string "con_4"
    data = (
        bytes([1, 1, 0x81, 28, 2, 0x2C, 0x01, 3, 0x0A, 0xD7, 0xA3, 0x81, 0x1C])
        + b"1"
        + bytes([1, 5])
        + b"con_4"
    )
    s = DlibStream(data)
    assert s.integer() == 1
    assert s.integer() == -28
    assert s.integer() == 300
    assert s.real() == pytest.approx(0.04, abs=1e-9)
    assert s.boolean() is True
    assert s.string() == "con_4"
    assert s.at_end()


def test_face_resnet_has_the_measured_architecture() -> None:
    net = read_network_file(models.source_path(models.FACE_RESNET), face_resnet_spec())
    assert net.loss_kind == "loss_metric"
    assert net.loss_settings["distance_threshold"] == pytest.approx(0.6)
    assert net.count("con") == 29
    assert net.count("affine") == 29
    assert net.count("add_prev") == 14
    assert 5.5e6 < net.parameter_count() < 5.7e6
    inp = net.layers[0].settings
    assert (inp["rows"], inp["cols"]) == (150, 150)
    assert inp["mean_rgb"] == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    strided = [
        layer.settings for layer in net.layers if layer.kind == "con" and layer.settings["stride_x"] == 2
    ]
    assert strided and all(st["pad_x"] == 0 and st["pad_y"] == 0 for st in strided)
    assert net.layers[-1].arrays["weight"].shape == (256, 128)


def test_mmod_detector_reads_its_options_and_batch_norms() -> None:
    net = read_network_file(models.source_path(models.MMOD_FACE_DETECTOR), mmod_face_detector_spec())
    assert net.loss_kind == "loss_mmod"
    assert net.loss_settings["detector_windows"] == [(80, 80)]
    assert 0.2 < net.loss_settings["nms_iou_threshold"] < 0.5
    assert [layer.settings.get("from") for layer in net.layers if layer.kind == "affine"] == ["bn_con2"] * 6
    assert [layer.settings["filters"] for layer in net.layers if layer.kind == "con"] == [
        16,
        32,
        32,
        45,
        45,
        45,
        1,
    ]


def test_wrong_spec_and_truncated_stream_are_rejected() -> None:
    data = models.source_path(models.MMOD_FACE_DETECTOR).read_bytes()
    with pytest.raises(DlibFormatError):
        read_network(data, face_resnet_spec())
    with pytest.raises(DlibFormatError):
        read_network(data[:-100], mmod_face_detector_spec())


def test_onnx_models_build_into_the_given_cache(tmp_path) -> None:
    face = models.onnx_path(models.FACE_RESNET, tmp_path)
    assert face.parent == tmp_path and face.is_file()
    assert not list(tmp_path.glob("*.tmp"))
    model = onnx.load(str(face))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Conv") == 29 and ops.count("Add") == 14 and ops.count("Pad") >= 1
    assert models.onnx_path(models.FACE_RESNET, tmp_path) == face  # cached, not rebuilt
    assert models.onnx_path(models.MMOD_FACE_DETECTOR, tmp_path).is_file()


def test_cache_folder_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEMORIES_CACHE", str(tmp_path))
    assert models.models_dir() == tmp_path / "models"


def test_source_checksum_is_verified() -> None:
    from dataclasses import replace

    bad = replace(models.FACE_RESNET, sha256="0" * 64)
    with pytest.raises(models.ModelChecksumError):
        models.source_path(bad)


def test_mmod_onnx_output_is_a_stride_8_score_map(tmp_path) -> None:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(models.onnx_path(models.MMOD_FACE_DETECTOR, tmp_path)))
    out = sess.run(None, {"image": np.full((1, 3, 120, 160), 128, np.float32)})[0]
    # three unpadded 5x5 stride-2 convs: 120 -> 58 -> 27 -> 12, 160 -> 78 -> 37 -> 17
    assert out.shape == (1, 1, 12, 17)
