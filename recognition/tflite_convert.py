"""Turn a small TensorFlow Lite convolutional network into an ONNX model, without TensorFlow.

Written here because the maintained converter (tf2onnx) imports TensorFlow itself, a 500 MB
dependency for reading one 1 MB file; the BlazeFace networks use only nine operators, which map
one to one onto ONNX. The flatbuffer is read with the `tflite` package (the generated schema).

The ONNX graph works in NCHW: input "image" is float32 N x 3 x H x W (the tflite model's own
value range; BlazeFace wants RGB in -1..1). H and W are left free: every operator is
convolutional, so the network runs on any size and its outputs grow with the input (the caller
makes the anchors for the size it ran). Supported operators: CONV_2D, DEPTHWISE_CONV_2D, ADD,
RELU, MAX_POOL_2D, PAD, RESIZE_BILINEAR (a 2x upsample), RESHAPE (to [N, -1, C] after moving
channels last, as TFLite's NHWC order gives), CONCATENATION of such reshaped outputs and
DEQUANTIZE of float16 weights (folded at conversion). Anything else raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

_TFLITE_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
_ACTIVATIONS = {0: None, 1: "Relu"}  # NONE, RELU: the only fused activations BlazeFace uses


class UnsupportedTfliteModel(ValueError):
    pass


@dataclass
class _Tensor:
    name: str  # ONNX value name
    nchw: bool  # a 4-D activation in NCHW order (tflite's NHWC moved), else a plain array


def _builtin_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}


def _options(op: Any, cls: Any) -> Any:
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def convert_tflite(path: str | Path, doc: str = "") -> onnx.ModelProto:
    """ONNX model of the tflite file's first subgraph (see the module docstring for what is covered)."""
    import tflite

    model = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0)
    graph = model.Subgraphs(0)
    op_names = _builtin_names()

    constants: dict[int, np.ndarray] = {}
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer())
        if buffer is not None and buffer.DataLength() > 0:
            dtype = _TFLITE_DTYPES[tensor.Type()]
            constants[i] = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype).reshape(
                tensor.ShapeAsNumpy()
            )

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    values: dict[int, _Tensor] = {}
    counter = 0

    def fresh(stem: str) -> str:
        nonlocal counter
        counter += 1
        return f"{stem}_{counter}"

    def const(stem: str, array: np.ndarray) -> str:
        name = fresh(stem)
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op_type: str, inputs: list[str], stem: str, **attrs: Any) -> str:
        out = fresh(stem)
        nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def activation(name: str, code: int) -> str:
        if code not in _ACTIVATIONS:
            raise UnsupportedTfliteModel(f"fused activation {code} is not supported")
        act = _ACTIVATIONS[code]
        return node(act, [name], act.lower()) if act else name

    def padding(code: int) -> str:
        return "SAME_UPPER" if code == 0 else "VALID"  # tflite Padding: SAME = 0, VALID = 1

    input_index = graph.Inputs(0)
    values[input_index] = _Tensor("image", nchw=True)

    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        out = op.Outputs(0)

        if kind == "DEQUANTIZE":
            constants[out] = constants[ins[0]].astype(np.float32)
            continue
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            x = values[ins[0]]
            weight = constants[ins[1]].astype(np.float32)
            bias = constants[ins[2]].astype(np.float32) if len(ins) > 2 and ins[2] >= 0 else None
            if kind == "CONV_2D":
                opts = _options(op, tflite.Conv2DOptions)
                w = weight.transpose(0, 3, 1, 2)  # O,H,W,I -> O,I,H,W
                group = 1
            else:
                opts = _options(op, tflite.DepthwiseConv2DOptions)
                if opts.DepthMultiplier() != 1:
                    raise UnsupportedTfliteModel("depth multiplier != 1")
                w = weight.transpose(3, 0, 1, 2)  # 1,H,W,C -> C,1,H,W
                group = w.shape[0]
            inputs = [x.name, const("w", w)] + ([const("b", bias)] if bias is not None else [])
            y = node(
                "Conv", inputs, "conv", group=group, kernel_shape=list(w.shape[2:]),
                strides=[opts.StrideH(), opts.StrideW()],
                dilations=[opts.DilationHFactor(), opts.DilationWFactor()],
                auto_pad=padding(opts.Padding()),
            )
            values[out] = _Tensor(activation(y, opts.FusedActivationFunction()), nchw=True)
        elif kind == "ADD":
            opts = _options(op, tflite.AddOptions)
            a, b = (values[i] for i in ins)
            y = node("Add", [a.name, b.name], "add")
            values[out] = _Tensor(activation(y, opts.FusedActivationFunction()), nchw=a.nchw)
        elif kind == "RELU":
            values[out] = _Tensor(node("Relu", [values[ins[0]].name], "relu"), values[ins[0]].nchw)
        elif kind == "MAX_POOL_2D":
            opts = _options(op, tflite.Pool2DOptions)
            y = node(
                "MaxPool", [values[ins[0]].name], "pool",
                kernel_shape=[opts.FilterHeight(), opts.FilterWidth()],
                strides=[opts.StrideH(), opts.StrideW()], auto_pad=padding(opts.Padding()),
            )
            values[out] = _Tensor(activation(y, opts.FusedActivationFunction()), nchw=True)
        elif kind == "PAD":
            pads_nhwc = constants[ins[1]].astype(np.int64)  # [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]
            order = [0, 3, 1, 2]
            pads = [int(pads_nhwc[a, 0]) for a in order] + [int(pads_nhwc[a, 1]) for a in order]
            y = node("Pad", [values[ins[0]].name, const("pads", np.array(pads, np.int64))], "pad")
            values[out] = _Tensor(y, nchw=True)
        elif kind == "RESIZE_BILINEAR":
            opts = _options(op, tflite.ResizeBilinearOptions)
            in_shape = graph.Tensors(ins[0]).ShapeAsNumpy()
            size = constants[ins[1]]
            if not np.array_equal(size, in_shape[1:3] * 2):
                raise UnsupportedTfliteModel(f"resize to {size} is not a 2x upsample of {in_shape[1:3]}")
            mode = (
                "align_corners" if opts.AlignCorners()
                else "half_pixel" if opts.HalfPixelCenters()
                else "asymmetric"
            )
            scales = const("scales", np.array([1, 1, 2, 2], np.float32))
            y = node(
                "Resize", [values[ins[0]].name, "", scales], "resize",
                mode="linear", coordinate_transformation_mode=mode,
            )
            values[out] = _Tensor(y, nchw=True)
        elif kind == "RESHAPE":
            x = values[ins[0]]
            target = graph.Tensors(out).ShapeAsNumpy()
            if not x.nchw or len(target) != 3:
                raise UnsupportedTfliteModel("RESHAPE other than NHWC activations to [N, -1, C]")
            channels_last = node("Transpose", [x.name], "nhwc", perm=[0, 2, 3, 1])
            shape = const("shape", np.array([0, -1, int(target[2])], np.int64))
            values[out] = _Tensor(node("Reshape", [channels_last, shape], "reshape"), nchw=False)
        elif kind == "CONCATENATION":
            opts = _options(op, tflite.ConcatenationOptions)
            parts = [values[i] for i in ins]
            if any(p.nchw for p in parts):
                raise UnsupportedTfliteModel("CONCATENATION of 4-D activations")
            values[out] = _Tensor(node("Concat", [p.name for p in parts], "concat", axis=opts.Axis()), False)
        else:
            raise UnsupportedTfliteModel(f"operator {kind} is not supported")

    outputs = []
    for j in range(graph.OutputsLength()):
        index = graph.Outputs(j)
        name = graph.Tensors(index).Name().decode()
        nodes.append(helper.make_node("Identity", [values[index].name], [name]))
        dims: list[int | str] = ["N", "anchors", *map(int, graph.Tensors(index).ShapeAsNumpy()[2:])]
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])
    onnx_graph = helper.make_graph(nodes, "tflite", [image], outputs, initializers)
    onnx_model = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="memories"
    )
    onnx_model.ir_version = 8
    onnx_model.doc_string = doc
    onnx.checker.check_model(onnx_model)
    return onnx_model
