"""Turn a network read by `dlib_format` into an ONNX model with the onnx helper API.

Graph input "image": float32 N x 3 x H x W, RGB in 0..255 (the face ResNet fixes H = W = 150; the
MMOD detector is fully convolutional, so H and W are free). The input layer's normalisation,
(pixel - mean) / 256 as in dlib's input_rgb_image*, is the first two nodes of the graph.

Conversions that are exact up to float rounding:
- an affine (or batch-norm turned affine) right after a conv is folded into that conv's weights;
- dlib's add_prev of tensors with different sizes zero-pads the smaller one at the end of each
  axis (channels, bottom, right), which becomes an ONNX Pad in front of the Add;
- avg_pool with a 0x0 window is dlib's avg_pool_everything (GlobalAveragePool);
- fc computes x @ W with W stored inputs x outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from recognition.dlib_format import DlibLayer, DlibNetwork

OPSET = 17


@dataclass
class _Value:
    name: str
    shape: tuple[int | None, int | None, int | None]  # channels, rows, cols; None when dynamic


class GraphBuilder:
    """Nodes and initialisers of an ONNX graph being written, each value under a fresh name."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counter = 0

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}_{self._counter}"

    def constant(self, stem: str, array: np.ndarray) -> str:
        name = self.fresh(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attrs: Any) -> str:
        out = self.fresh(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _pooled(size: int | None, window: int, stride: int, pad: int) -> int | None:
    return None if size is None else (size + 2 * pad - window) // stride + 1


def _conv(g: GraphBuilder, x: _Value, layer: DlibLayer, fold: DlibLayer | None) -> _Value:
    st = layer.settings
    weight = layer.arrays["weight"].astype(np.float64)
    bias = layer.arrays.get("bias", np.zeros(weight.shape[0], np.float32)).astype(np.float64)
    if fold is not None:
        gamma = fold.arrays["gamma"].astype(np.float64).ravel()
        beta = fold.arrays["beta"].astype(np.float64).ravel()
        weight = weight * gamma[:, None, None, None]
        bias = bias * gamma + beta
    w = g.constant("conv_w", weight.astype(np.float32))
    b = g.constant("conv_b", bias.astype(np.float32))
    out = g.node(
        "Conv",
        [x.name, w, b],
        "conv",
        kernel_shape=[st["rows"], st["cols"]],
        strides=[st["stride_y"], st["stride_x"]],
        pads=[st["pad_y"], st["pad_x"], st["pad_y"], st["pad_x"]],
    )
    _, h, wd = x.shape
    shape = (
        st["filters"],
        _pooled(h, st["rows"], st["stride_y"], st["pad_y"]),
        _pooled(wd, st["cols"], st["stride_x"], st["pad_x"]),
    )
    return _Value(out, shape)


def _affine(g: GraphBuilder, x: _Value, layer: DlibLayer) -> _Value:
    c = int(x.shape[0] or -1)
    gamma = g.constant("gamma", layer.arrays["gamma"].reshape(1, c, 1, 1).astype(np.float32))
    beta = g.constant("beta", layer.arrays["beta"].reshape(1, c, 1, 1).astype(np.float32))
    scaled = g.node("Mul", [x.name, gamma], "affine_mul")
    return _Value(g.node("Add", [scaled, beta], "affine_add"), x.shape)


def _pool(g: GraphBuilder, x: _Value, layer: DlibLayer) -> _Value:
    st = layer.settings
    if st["rows"] == 0 and st["cols"] == 0:
        return _Value(g.node("GlobalAveragePool", [x.name], "gap"), (x.shape[0], 1, 1))
    op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
    out = g.node(
        op,
        [x.name],
        layer.kind,
        kernel_shape=[st["rows"], st["cols"]],
        strides=[st["stride_y"], st["stride_x"]],
        pads=[st["pad_y"], st["pad_x"], st["pad_y"], st["pad_x"]],
    )
    c, h, w = x.shape
    return _Value(
        out,
        (
            c,
            _pooled(h, st["rows"], st["stride_y"], st["pad_y"]),
            _pooled(w, st["cols"], st["stride_x"], st["pad_x"]),
        ),
    )


def _pad_to(g: GraphBuilder, x: _Value, shape: tuple[int | None, ...]) -> str:
    if x.shape == shape:
        return x.name
    if any(v is None for v in (*x.shape, *shape)):
        raise ValueError("add_prev of mismatched sizes needs static shapes")
    extra = [int(t) - int(s) for s, t in zip(x.shape, shape, strict=True)]  # type: ignore[arg-type]
    pads = g.constant("pads", np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64))
    return g.node("Pad", [x.name, pads], "pad")


def _add(g: GraphBuilder, a: _Value, b: _Value) -> _Value:
    if None in a.shape or None in b.shape:
        if a.shape != b.shape:
            raise ValueError("add_prev of dynamic tensors must have equal shapes")
        return _Value(g.node("Add", [a.name, b.name], "add"), a.shape)
    shape = tuple(max(int(u), int(v)) for u, v in zip(a.shape, b.shape, strict=True))  # type: ignore[arg-type]
    out = g.node("Add", [_pad_to(g, a, shape), _pad_to(g, b, shape)], "add")
    return _Value(out, shape)  # type: ignore[arg-type]


def _fc(g: GraphBuilder, x: _Value, layer: DlibLayer) -> _Value:
    flat = g.node("Flatten", [x.name], "flatten", axis=1)
    w = g.constant("fc_w", layer.arrays["weight"].astype(np.float32))
    out = g.node("MatMul", [flat, w], "fc")
    if "bias" in layer.arrays:
        b = g.constant("fc_b", layer.arrays["bias"].astype(np.float32))
        out = g.node("Add", [out, b], "fc_bias")
    return _Value(out, (layer.settings["outputs"], None, None))


def build_onnx(network: DlibNetwork, output_name: str, doc: str = "") -> onnx.ModelProto:
    """An ONNX model computing the same function as the dlib network (minus its loss layer)."""
    g = GraphBuilder()
    input_layer = network.layers[0]
    rows = input_layer.settings.get("rows")
    cols = input_layer.settings.get("cols")
    mean = np.array(input_layer.settings["mean_rgb"], np.float32).reshape(1, 3, 1, 1)
    centred = g.node("Sub", ["image", g.constant("mean_rgb", mean)], "centre")
    x = _Value(
        g.node("Mul", [centred, g.constant("inv256", np.array(1 / 256, np.float32))], "scale"),
        (3, rows, cols),
    )
    tags: dict[int, _Value] = {}
    layers = network.layers[1:]
    i = 0
    while i < len(layers):
        layer = layers[i]
        if layer.kind == "con":
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            fold = nxt if nxt is not None and nxt.kind == "affine" else None
            x = _conv(g, x, layer, fold)
            i += 2 if fold is not None else 1
            continue
        if layer.kind == "affine":
            x = _affine(g, x, layer)
        elif layer.kind == "relu":
            x = _Value(g.node("Relu", [x.name], "relu"), x.shape)
        elif layer.kind in ("max_pool", "avg_pool"):
            x = _pool(g, x, layer)
        elif layer.kind == "tag":
            tags[layer.tag] = x
        elif layer.kind == "skip":
            x = tags[layer.tag]
        elif layer.kind == "add_prev":
            x = _add(g, x, tags[layer.tag])
        elif layer.kind == "fc":
            x = _fc(g, x, layer)
        else:
            raise ValueError(f"cannot convert layer kind {layer.kind!r}")
        i += 1
    g.nodes.append(helper.make_node("Identity", [x.name], [output_name], name="output"))
    image = helper.make_tensor_value_info(
        "image", TensorProto.FLOAT, ["batch", 3, rows or "rows", cols or "cols"]
    )
    if network.loss_kind == "loss_metric":
        out_shape: list[int | str] = ["batch", int(x.shape[0] or 0)]
    else:
        out_shape = ["batch", int(x.shape[0] or 0), "out_rows", "out_cols"]
    output = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)
    graph = helper.make_graph(g.nodes, network.loss_kind, [image], [output], g.initializers)
    model = helper.make_model(
        graph,
        producer_name="memories.recognition.onnx_build",
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=doc,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
