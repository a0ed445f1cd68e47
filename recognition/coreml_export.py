"""ONNX embedding networks -> Core ML ``.mlpackage`` (ML program), built op by op with the MIL builder.

The ONNX graph is walked node by node and each node becomes the matching MIL op inside an
``@mb.program``; initialisers become named ``const`` ops (the ONNX initialiser name, made a valid
identifier), so the Core ML weights can be checked one by one against the ONNX ones. No torch and
no ONNX front end of coremltools (it was removed in coremltools 6): only the op set the project's
own graphs use is supported, and anything else fails loudly with the op's name.

Package: fp16 compute precision, compute units ALL (CPU, GPU, Neural Engine), minimum deployment
target iOS 16 / macOS 13, a fixed batch size (the Neural Engine wants static shapes). coremltools
on Linux builds and saves the package but cannot run it; prediction needs macOS.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

COMPUTE_PRECISION = "fp16"
MINIMUM_TARGET = "iOS16"  # = macOS 13; the first with the iOS16 MIL opset (fp16 I/O, newer ops)


def mil_name(name: str) -> str:
    """An ONNX tensor name as a MIL identifier (letters, digits, underscores; not starting with a digit)."""
    clean = re.sub(r"\W", "_", name)
    return clean if clean and not clean[0].isdigit() else f"t_{clean}"


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _mil_pads(onnx_pads: Iterable[int]) -> list[int]:
    """ONNX [h_begin, w_begin, h_end, w_end] -> MIL [h_begin, h_end, w_begin, w_end]."""
    p = list(onnx_pads) or [0, 0, 0, 0]
    half = len(p) // 2
    return [v for begin, end in zip(p[:half], p[half:], strict=True) for v in (begin, end)]


class _Translator:
    """State of one graph walk: ONNX tensor name -> MIL var, or numpy array for constants."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        from coremltools.converters.mil import Builder as mb

        self.mb = mb
        self.graph = graph
        self.constants: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.values: dict[str, Any] = {}
        self.output_names = {o.name for o in graph.output}

    def const_var(self, name: str) -> Any:
        """A named MIL const for an ONNX initialiser (created once, reused by every consumer)."""
        if name not in self.values:
            array = self.constants[name]
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            self.values[name] = self.mb.const(val=array, name=mil_name(name))
        return self.values[name]

    def value(self, name: str) -> Any:
        return self.const_var(name) if name in self.constants else self.values[name]

    def constant(self, name: str) -> np.ndarray:
        if name not in self.constants:
            raise NotImplementedError(f"input {name!r} must be an initialiser for this exporter")
        return self.constants[name]

    def translate(self, node: onnx.NodeProto) -> None:
        handler = _HANDLERS.get(node.op_type)
        if handler is None:
            where = node.name or node.output[0]
            raise NotImplementedError(f"ONNX op {node.op_type} ({where}) is not supported")
        out = node.output[0]
        self.values[out] = handler(self, node, _attrs(node), mil_name(out))


def _conv(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad is not supported; write explicit pads")
    kwargs: dict[str, Any] = {
        "x": t.value(node.input[0]), "weight": t.value(node.input[1]),
        "strides": list(a.get("strides", [1, 1])), "pad_type": "custom", "pad": _mil_pads(a.get("pads", [])),
        "dilations": list(a.get("dilations", [1, 1])), "groups": int(a.get("group", 1)), "name": name,
    }
    if len(node.input) > 2 and node.input[2]:
        kwargs["bias"] = t.value(node.input[2])
    return t.mb.conv(**kwargs)


def _scalar(t: _Translator, node: onnx.NodeProto, index: int, default: float) -> float:
    """An optional scalar input (Clip's min/max, Pad's value), or the default when absent."""
    if len(node.input) > index and node.input[index]:
        return float(np.asarray(t.constant(node.input[index])).reshape(-1)[0])
    return float(default)


def _clip(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    lo = _scalar(t, node, 1, a.get("min", -np.inf))
    hi = _scalar(t, node, 2, a.get("max", np.inf))
    x = t.value(node.input[0])
    if lo == 0.0 and hi == 6.0:
        return t.mb.relu6(x=x, name=name)
    if np.isinf(hi):
        return t.mb.maximum(x=x, y=np.float32(lo), name=name)
    return t.mb.clip(x=x, alpha=np.float32(lo), beta=np.float32(hi), name=name)


def _binary(op: str) -> Callable[[_Translator, onnx.NodeProto, dict[str, Any], str], Any]:
    def handler(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
        return getattr(t.mb, op)(x=t.value(node.input[0]), y=t.value(node.input[1]), name=name)
    return handler


def _pool(kind: str) -> Callable[[_Translator, onnx.NodeProto, dict[str, Any], str], Any]:
    def handler(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
        kwargs: dict[str, Any] = {
            "x": t.value(node.input[0]), "kernel_sizes": list(a["kernel_shape"]),
            "strides": list(a.get("strides", [1] * len(a["kernel_shape"]))), "pad_type": "custom",
            "pad": _mil_pads(a.get("pads", [])), "ceil_mode": bool(a.get("ceil_mode", 0)), "name": name,
        }
        if kind == "avg_pool":
            kwargs["exclude_padding_from_average"] = not bool(a.get("count_include_pad", 0))
        return getattr(t.mb, kind)(**kwargs)
    return handler


def _global_average_pool(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    return t.mb.reduce_mean(x=t.value(node.input[0]), axes=[2, 3], keep_dims=True, name=name)


def _flatten(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    x = t.value(node.input[0])
    axis = int(a.get("axis", 1))
    shape = list(x.shape)
    if any(not isinstance(s, int | np.integer) for s in shape):
        raise NotImplementedError("Flatten needs static shapes")
    lead = int(np.prod(shape[:axis])) if axis else 1
    return t.mb.reshape(x=x, shape=[lead, int(np.prod(shape[axis:]))], name=name)


def _reshape(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    shape = t.constant(node.input[1]).astype(np.int32)
    return t.mb.reshape(x=t.value(node.input[0]), shape=shape, name=name)


def _pad(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    pads = t.constant(node.input[1]).astype(np.int64).tolist() if len(node.input) > 1 else list(a["pads"])
    value = _scalar(t, node, 2, 0.0)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    half = len(pads) // 2
    mil_pad = [v for begin, end in zip(pads[:half], pads[half:], strict=True) for v in (begin, end)]
    return t.mb.pad(x=t.value(node.input[0]), pad=np.array(mil_pad, dtype=np.int32), mode=mode,
                    constant_val=np.float32(value), name=name)


def _matmul(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    return t.mb.matmul(x=t.value(node.input[0]), y=t.value(node.input[1]), name=name)


def _gemm(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
        raise NotImplementedError("Gemm with alpha/beta != 1 or transA is not supported")
    weight_name = node.input[1]
    weight = t.constant(weight_name)
    # MIL linear wants [out, in], which is ONNX's layout when transB = 1.
    if not a.get("transB", 0):
        t.constants[weight_name + "_T"] = np.ascontiguousarray(weight.T)
        weight_name += "_T"
    kwargs: dict[str, Any] = {"x": t.value(node.input[0]), "weight": t.const_var(weight_name), "name": name}
    if len(node.input) > 2 and node.input[2]:
        kwargs["bias"] = t.value(node.input[2])
    return t.mb.linear(**kwargs)


def _batch_norm(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    scale, bias, mean, var = (t.value(n) for n in node.input[1:5])
    return t.mb.batch_norm(x=t.value(node.input[0]), mean=mean, variance=var, gamma=scale, beta=bias,
                           epsilon=np.float32(a.get("epsilon", 1e-5)), name=name)


def _identity(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    return t.mb.identity(x=t.value(node.input[0]), name=name)


def _relu(t: _Translator, node: onnx.NodeProto, a: dict[str, Any], name: str) -> Any:
    return t.mb.relu(x=t.value(node.input[0]), name=name)


_HANDLERS: dict[str, Callable[[_Translator, onnx.NodeProto, dict[str, Any], str], Any]] = {
    "Conv": _conv,
    "Relu": _relu,
    "Clip": _clip,
    "Add": _binary("add"),
    "Sub": _binary("sub"),
    "Mul": _binary("mul"),
    "Div": _binary("real_div"),
    "MaxPool": _pool("max_pool"),
    "AveragePool": _pool("avg_pool"),
    "GlobalAveragePool": _global_average_pool,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Pad": _pad,
    "MatMul": _matmul,
    "Gemm": _gemm,
    "BatchNormalization": _batch_norm,
    "Identity": _identity,
}
SUPPORTED_OPS = frozenset(_HANDLERS)


def _input_shape(value_info: onnx.ValueInfoProto, batch_size: int) -> tuple[int, ...]:
    dims = value_info.type.tensor_type.shape.dim
    shape = []
    for i, d in enumerate(dims):
        if d.HasField("dim_value"):
            shape.append(int(d.dim_value))
        elif i == 0:
            shape.append(batch_size)
        else:
            raise ValueError(f"input {value_info.name}: dimension {i} is symbolic; only the batch may be")
    return tuple(shape)


def onnx_to_mil_program(model: onnx.ModelProto, batch_size: int = 1) -> Any:
    """The ONNX graph as a MIL program (one function "main"), op by op through ``@mb.program``."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    graph = model.graph
    initialisers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialisers]
    specs = [mb.TensorSpec(shape=_input_shape(i, batch_size)) for i in inputs]
    arg_names = [mil_name(i.name) for i in inputs]

    def body(*args: Any) -> list[Any]:
        t = _Translator(graph)
        for onnx_input, var in zip(inputs, args, strict=True):
            t.values[onnx_input.name] = var
        for node in graph.node:
            t.translate(node)
        return [t.values[o.name] for o in graph.output]

    # mb.program names the inputs after the decorated function's parameters, so the entry point
    # is given the ONNX input names as its parameter names.
    namespace: dict[str, Any] = {"_body": body}
    params = ", ".join(arg_names)
    exec(f"def main({params}):\n    return _body({params})\n", namespace)  # noqa: S102 - names sanitised
    return mb.program(input_specs=specs, opset_version=ct.target.iOS16)(namespace["main"])


def convert_onnx_to_mlpackage(onnx_path: Path, dest: Path, batch_size: int = 1) -> Path:
    """Convert one ONNX file to ``dest`` (a ``.mlpackage`` folder, replaced if present)."""
    import coremltools as ct

    model = onnx.load(str(onnx_path))
    program = onnx_to_mil_program(model, batch_size)
    mlmodel = ct.convert(
        program,
        convert_to="mlprogram",
        compute_precision=ct.precision.FLOAT16,
        compute_units=ct.ComputeUnit.ALL,
        minimum_deployment_target=ct.target.iOS16,
    )
    mlmodel.short_description = model.doc_string or f"converted from {Path(onnx_path).name}"
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    mlmodel.save(str(dest))
    return dest


def project_onnx_models(cache_dir: str | Path | None = None) -> dict[str, Path]:
    """The project's two embedding networks as ONNX files (converted into the cache when missing)."""
    from recognition import models

    return {
        "face_embedding": models.onnx_path(models.FACE_RESNET, cache_dir),
        "body_embedding": models.onnx_path(models.MOBILENET_V2_BODY, cache_dir),
    }


def export_coreml(dest_dir: Path, onnx_paths: dict[str, Path] | None = None,
                  batch_size: int = 1) -> dict[str, Path]:
    """Each ``name -> .onnx`` (default: :func:`project_onnx_models`) as ``dest_dir/<name>.mlpackage``."""
    sources = onnx_paths if onnx_paths is not None else project_onnx_models()
    return {name: convert_onnx_to_mlpackage(path, Path(dest_dir) / f"{name}.mlpackage", batch_size)
            for name, path in sources.items()}


def export_onnx(dest_dir: Path, onnx_paths: dict[str, Path] | None = None) -> dict[str, Path]:
    """Copies of the ONNX files (default: :func:`project_onnx_models`) as ``dest_dir/<name>.onnx``."""
    sources = onnx_paths if onnx_paths is not None else project_onnx_models()
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, path in sources.items():
        target = dest_dir / f"{name}.onnx"
        shutil.copyfile(path, target)
        out[name] = target
    return out


def load_mil_consts(package: Path) -> dict[str, np.ndarray]:
    """Named const values of a saved ML program's "main" function, read back from the package.

    Works on Linux (no model load): the spec and its weight blob are parsed into a MIL program.
    """
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    mlmodel = ct.models.MLModel(str(package), skip_model_load=True)
    spec = mlmodel.get_spec()
    program = load_milproto(spec, spec.specificationVersion, mlmodel.weights_dir)
    out: dict[str, np.ndarray] = {}
    for op in program.functions["main"].operations:
        if op.op_type == "const" and op.outputs[0].val is not None:
            out[op.outputs[0].name] = np.asarray(op.outputs[0].val)
    return out
