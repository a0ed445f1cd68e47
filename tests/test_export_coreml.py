"""ONNX -> Core ML export (MIL builder) and ONNX copies; checked on Linux without loading the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from recognition import models
from recognition.coreml_export import (
    convert_onnx_to_mlpackage,
    export_coreml,
    export_onnx,
    load_mil_consts,
    mil_name,
    project_onnx_models,
)

BN_EPS = 1e-5


def _tiny_onnx(path: Path) -> onnx.ModelProto:
    """Every op the exporter supports, in one small graph with random weights."""
    rng = np.random.default_rng(0)

    def f32(*shape: int, scale: float = 0.3) -> np.ndarray:
        return rng.normal(0, scale, shape).astype(np.float32)

    arrays: dict[str, np.ndarray] = {
        "mean": np.full((1, 3, 1, 1), 0.5, np.float32), "scale": np.full((1, 3, 1, 1), 2.0, np.float32),
        "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
        "conv1.w": f32(8, 3, 3, 3), "conv1.b": f32(8, scale=0.1),
        "bn.gamma": rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn.beta": f32(8, scale=0.1),
        "bn.mean": f32(8, scale=0.1), "bn.var": rng.uniform(0.5, 1.5, 8).astype(np.float32),
        "dw.w": f32(8, 1, 3, 3), "dw.b": f32(8, scale=0.1),
        "clip.min": np.array(0.0, np.float32), "clip.max": np.array(6.0, np.float32),
        "shape": np.array([1, 8], np.int64),
        "fc1.w": f32(16, 8), "fc1.b": f32(16, scale=0.1), "fc2.w": f32(16, 10),
        "div": np.array([4.0], np.float32),
    }
    node = helper.make_node
    nodes = [
        node("Sub", ["pixels", "mean"], ["centred"]), node("Mul", ["centred", "scale"], ["scaled"]),
        node("Pad", ["scaled", "pads"], ["padded"], mode="constant"),
        node("Conv", ["padded", "conv1.w", "conv1.b"], ["c1"], kernel_shape=[3, 3], strides=[2, 2]),
        node("BatchNormalization", ["c1", "bn.gamma", "bn.beta", "bn.mean", "bn.var"], ["b1"],
             epsilon=BN_EPS),
        node("Relu", ["b1"], ["r1"]),
        node("Conv", ["r1", "dw.w", "dw.b"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        node("Clip", ["c2", "clip.min", "clip.max"], ["r2"]), node("Add", ["r1", "r2"], ["summed"]),
        node("MaxPool", ["summed"], ["maxed"], kernel_shape=[2, 2], strides=[2, 2]),
        node("AveragePool", ["maxed"], ["avg"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("GlobalAveragePool", ["avg"], ["pooled"]), node("Flatten", ["pooled"], ["flat"], axis=1),
        node("Reshape", ["flat", "shape"], ["reshaped"]),
        node("Gemm", ["reshaped", "fc1.w", "fc1.b"], ["hidden"], transB=1), node("Relu", ["hidden"], ["h1"]),
        node("MatMul", ["h1", "fc2.w"], ["raw"]), node("Div", ["raw", "div"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(a, n) for n, a in arrays.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model


def _spec(package: Path):  # type: ignore[no-untyped-def]
    import coremltools as ct

    return ct.models.MLModel(str(package), skip_model_load=True).get_spec()


def _io(features) -> list[tuple[str, list[int]]]:  # type: ignore[no-untyped-def]
    return [(f.name, list(f.type.multiArrayType.shape)) for f in features]


def _assert_initialisers_equal_consts(model: onnx.ModelProto, consts: dict[str, np.ndarray],
                                      skip: frozenset[str] = frozenset()) -> int:
    """Each float weight initialiser has a MIL const of the same name, equal to fp16 precision.

    A divisor (Div by a constant) is checked as its reciprocal: Core ML rewrites x / c as x * (1/c).
    """
    divisors = {n.input[1] for n in model.graph.node if n.op_type == "Div"}
    fp16_consts = [c.astype(np.float32) for c in consts.values() if c.dtype == np.float16]
    checked = 0
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if init.name in skip or array.dtype != np.float32 or array.size <= 1:
            continue
        atol = 1e-3 * float(np.abs(array).max()) + 1e-7
        if init.name in divisors:
            assert any(c.shape == array.shape and np.allclose(c, 1 / array, rtol=1e-3, atol=atol)
                       for c in fp16_consts)
            checked += 1
            continue
        name = mil_name(init.name)
        const = consts.get(f"{name}_to_fp16", consts.get(name))
        assert const is not None, f"no const for initialiser {init.name}"
        assert const.dtype == np.float16  # fp16 compute precision
        np.testing.assert_allclose(const.astype(np.float32).reshape(array.shape), array, rtol=1e-3, atol=atol)
        checked += 1
    return checked


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export_models")


@pytest.mark.slow
def test_tiny_graph_exports_op_by_op(tmp_path: Path) -> None:
    onnx_file = tmp_path / "tiny.onnx"
    model = _tiny_onnx(onnx_file)
    out = ort.InferenceSession(str(onnx_file)).run(None, {"pixels": np.zeros((1, 3, 32, 32), np.float32)})[0]
    assert out.shape == (1, 10)
    package = convert_onnx_to_mlpackage(onnx_file, tmp_path / "tiny.mlpackage")
    assert (package / "Manifest.json").is_file()
    spec = _spec(package)
    assert spec.WhichOneof("Type") == "mlProgram"
    assert spec.specificationVersion >= 7  # iOS 16 / macOS 13
    assert _io(spec.description.input) == [("pixels", [1, 3, 32, 32])]
    assert _io(spec.description.output) == [("embedding", [1, 10])]
    consts = load_mil_consts(package)
    # Core ML folds the batch norm into the convolution before it; check the fold instead.
    folded = frozenset({"conv1.w", "conv1.b", "bn.gamma", "bn.beta", "bn.mean", "bn.var"})
    assert _assert_initialisers_equal_consts(model, consts, skip=folded) == 7
    w = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    factor = w["bn.gamma"] / np.sqrt(w["bn.var"] + BN_EPS)
    folded_w = w["conv1.w"] * factor[:, None, None, None]
    folded_b = (w["conv1.b"] - w["bn.mean"]) * factor + w["bn.beta"]
    candidates = [c for c in consts.values() if c.shape == (8, 3, 3, 3)]
    assert len(candidates) == 1
    np.testing.assert_allclose(candidates[0].astype(np.float32), folded_w, rtol=1e-3, atol=1e-3)
    assert any(c.shape == (8,) and np.allclose(c.astype(np.float32), folded_b, atol=2e-3)
               for c in consts.values())
    # ONNX pads [h0, w0, h1, w1] (per axis, N C H W) become MIL's (begin, end) pairs
    assert consts["padded_pad_0"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_unsupported_op_fails_with_its_name(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "softmax.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(NotImplementedError, match="Softmax"):
        convert_onnx_to_mlpackage(path, tmp_path / "softmax.mlpackage")


@pytest.mark.slow
def test_project_models_export_to_coreml_and_onnx(models_cache: Path, tmp_path: Path) -> None:
    sources = project_onnx_models(models_cache)
    assert sources["body_embedding"] == models.onnx_path(models.MOBILENET_V2_BODY, models_cache)
    copies = export_onnx(tmp_path / "onnx", sources)
    for name, path in copies.items():
        assert path.read_bytes() == sources[name].read_bytes()
    packages = export_coreml(tmp_path / "coreml", sources)
    expected_io = {
        "face_embedding": ([("image", [1, 3, 150, 150])], [("descriptor", [1, 128])]),
        "body_embedding": ([("image", [1, 3, 224, 224])], [("features", [1, 1280])]),
    }
    for name, package in packages.items():
        spec = _spec(package)
        assert (_io(spec.description.input), _io(spec.description.output)) == expected_io[name]
        model = onnx.load(str(sources[name]))
        n_weights = _assert_initialisers_equal_consts(model, load_mil_consts(package))
        n_convs = sum(node.op_type == "Conv" for node in model.graph.node)
        assert n_weights >= 2 * n_convs  # every conv's weight and bias came through unchanged
