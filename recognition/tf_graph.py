"""Read a frozen TensorFlow GraphDef and turn its convolutional part into ONNX, without TensorFlow.

Written here because the maintained converter (tf2onnx) imports TensorFlow, a 500 MB dependency
for reading one 13 MB file. The file is read with a minimal protocol-buffer wire decoder (the
GraphDef, NodeDef, AttrValue and TensorProto fields this needs; field numbers from TensorFlow's
.proto files), and the subgraph between an input node and the requested outputs is translated op by
op: Conv2D, DepthwiseConv2dNative, FusedBatchNorm (BatchNormalization, which onnxruntime folds), Relu6,
Add/AddV2, BiasAdd and Identity; constants become initialisers. The ONNX graph works in NCHW; its
input "image" is N x 3 x H x W and every output is returned NCHW.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}


class UnsupportedGraph(ValueError):
    pass


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a serialised message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise UnsupportedGraph(f"protobuf wire type {wire}")
        yield number, wire, value


def _packed_ints(value: Any, wire: int) -> list[int]:
    if wire == 0:
        return [value - (1 << 64) if value >= 1 << 63 else value]
    out, i = [], 0
    while i < len(value):
        v, i = _varint(value, i)
        out.append(v)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in out]  # negative ints are 10-byte varints


def _tensor(data: bytes) -> np.ndarray | None:
    """The tensor's values; None for a dtype this reader does not need (strings, booleans)."""
    dtype, shape, content, floats, ints = 1, [], b"", [], []
    for number, wire, value in _fields(data):
        if number == 1:
            dtype = value
        elif number == 2:
            shape = [
                next((v for n, _, v in _fields(dim) if n == 1), 0)
                for n, _, dim in _fields(value)
                if n == 2
            ]
        elif number == 4:
            content = value
        elif number == 5:
            floats += list(struct.unpack(f"<{len(value) // 4}f", value)) if wire == 2 else [struct.unpack("<f", value)[0]]
        elif number in (7, 10):
            ints += _packed_ints(value, wire)
    np_type = _DTYPES.get(dtype)
    if np_type is None:
        return None
    count = int(np.prod(shape)) if shape else 1
    if content:
        array = np.frombuffer(content, dtype=np_type).copy()
    else:
        values = floats if np_type is np.float32 else ints
        array = np.full(count, values[0] if values else 0, dtype=np_type)
        if len(values) == count:
            array = np.array(values, dtype=np_type)
    return array.reshape(shape)


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


def _attr(data: bytes) -> Any:
    for number, _, value in _fields(data):
        if number == 1:  # list
            ints: list[int] = []
            strings: list[bytes] = []
            for n, w, v in _fields(value):
                if n == 3:
                    ints += _packed_ints(v, w)
                elif n == 2:
                    strings.append(v)
            return ints or strings
        if number == 2:
            return value
        if number == 3:
            return value
        if number == 4:
            return struct.unpack("<f", value)[0]
        if number == 5:
            return bool(value)
        if number == 6:
            return value
        if number == 8:
            return _tensor(value)
    return None


def read_graph(path: str | Path) -> dict[str, Node]:
    """name -> node of a frozen GraphDef (.pb)."""
    nodes: dict[str, Node] = {}
    for number, _, value in _fields(Path(path).read_bytes()):
        if number != 1:
            continue
        node = Node("", "", [])
        for n, _, v in _fields(value):
            if n == 1:
                node.name = v.decode()
            elif n == 2:
                node.op = v.decode()
            elif n == 3:
                node.inputs.append(v.decode())
            elif n == 5:
                entry = dict((k, x) for k, _, x in _fields(v))
                node.attrs[entry[1].decode()] = _attr(entry.get(2, b""))
        nodes[node.name] = node
    return nodes


def _source(name: str) -> str:
    return name.split(":")[0].lstrip("^")


def convert_graph(nodes: dict[str, Node], input_name: str, outputs: Sequence[str], doc: str = "") -> onnx.ModelProto:
    """ONNX model of the subgraph from `input_name` (an NHWC float tensor) to `outputs`."""
    onnx_nodes: list[onnx.NodeProto] = []
    initialisers: list[onnx.TensorProto] = []
    values: dict[str, str] = {input_name: "image"}

    def constant(name: str) -> np.ndarray:
        node = nodes[_source(name)]
        while node.op == "Identity":
            node = nodes[_source(node.inputs[0])]
        if node.op != "Const":
            raise UnsupportedGraph(f"{name} is not a constant ({node.op})")
        return np.asarray(node.attrs["value"])

    def add_initialiser(stem: str, array: np.ndarray) -> str:
        name = f"{stem}/const{len(initialisers)}"
        initialisers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        out = name + ":0"  # TensorFlow's own name for a node's first output; the graph outputs are bare
        onnx_nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def conv_attrs(node: Node, kernel: tuple[int, int]) -> dict[str, Any]:
        strides = node.attrs.get("strides", [1, 1, 1, 1])
        padding = node.attrs.get("padding", b"SAME")
        return {
            "kernel_shape": list(kernel),
            "strides": [int(strides[1]), int(strides[2])],
            "auto_pad": "SAME_UPPER" if padding == b"SAME" else "VALID",
        }

    def value(name: str) -> str:
        name = _source(name)
        if name in values:
            return values[name]
        node = nodes[name]
        if node.op == "Identity":
            out = value(node.inputs[0])
        elif node.op in ("Conv2D", "DepthwiseConv2dNative"):
            kernel = constant(node.inputs[1]).astype(np.float32)  # H, W, in, out (or multiplier)
            if node.op == "Conv2D":
                weight, group = kernel.transpose(3, 2, 0, 1), 1
            else:
                if kernel.shape[3] != 1:
                    raise UnsupportedGraph("depthwise multiplier != 1")
                weight, group = kernel.transpose(2, 3, 0, 1), kernel.shape[2]
            bias = np.zeros(weight.shape[0], np.float32)
            out = emit(
                "Conv", [value(node.inputs[0]), add_initialiser(name, weight), add_initialiser(name, bias)],
                name, group=group, **conv_attrs(node, kernel.shape[:2]),
            )
        elif node.op in ("FusedBatchNorm", "FusedBatchNormV3"):
            # onnxruntime folds an inference BatchNormalization into the convolution before it
            parameters = [add_initialiser(name, constant(i).astype(np.float32)) for i in node.inputs[1:5]]
            out = emit(
                "BatchNormalization", [value(node.inputs[0]), *parameters], name,
                epsilon=float(node.attrs.get("epsilon", 1e-3)),
            )
        elif node.op == "BiasAdd":
            bias = constant(node.inputs[1]).astype(np.float32)
            out = emit("Add", [value(node.inputs[0]), add_initialiser(name, bias[:, None, None])], name)
        elif node.op == "Relu6":
            low, high = add_initialiser(name, np.array(0, np.float32)), add_initialiser(name, np.array(6, np.float32))
            out = emit("Clip", [value(node.inputs[0]), low, high], name)
        elif node.op in ("Add", "AddV2"):
            out = emit("Add", [value(node.inputs[0]), value(node.inputs[1])], name)
        else:
            raise UnsupportedGraph(f"{name}: op {node.op} is not supported")
        values[name] = out
        return out

    output_values = [value(o) for o in outputs]
    graph_outputs = []
    for o, v in zip(outputs, output_values, strict=True):
        onnx_nodes.append(helper.make_node("Identity", [v], [o]))
        graph_outputs.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", "C", "H", "W"]))
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])
    graph = helper.make_graph(onnx_nodes, "tf_graph", [image], graph_outputs, initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="memories")
    model.ir_version = 8
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model
