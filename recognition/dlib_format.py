"""Reader for dlib's own binary serialization of DNN models (serialize.h, dnn/core.h, dnn/layers.h).

dlib writes a network as its C++ type dictates, so the stream is only readable against that type:
`add_loss_layer` writes its version, the loss details, then its subnetwork; every `add_layer` writes
its version and then its subnetwork *before* its own details, so the file opens with the versions of
all layers from the loss down to the input (2: a computational layer, 1: a tag or skip layer, 3: the
computational layer sitting directly on the input layer), followed by the input layer's details and
then each computational layer's details in input-to-output order. Tags and skips carry no details,
which is why a network spec (the C++ type written out, see `LayerSpec`) must be given to the reader.

Primitive encodings (serialize.h):
- integers: one byte holding the byte count (bit 7 set when negative), then the magnitude,
  little-endian; at least one magnitude byte.
- floating point: two integers, mantissa and exponent, value = mantissa * 2**exponent.
- bool: the character '1' or '0'.
- std::string: length integer, then the bytes.
- resizable_tensor: version 2 (or 1), num_samples, k, nr, nc, then the values as raw little-endian
  float32 (version 2) or as serialized floats (version 1).
- alias_tensor: version 1, num_samples, k, nr, nc (no data; a view into the params tensor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class DlibFormatError(ValueError):
    """The stream does not hold what the network spec says it should."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a dlib network type, input-to-output order.

    kind: "input_rgb_image_sized", "input_rgb_image_pyramid", "con", "affine", "relu", "max_pool",
    "avg_pool", "fc", "add_prev", "tag", "skip". `tag` is the tag id for tag/skip/add_prev.
    """

    kind: str
    tag: int = 0


STRUCTURAL_KINDS = frozenset({"tag", "skip"})
INPUT_KINDS = frozenset({"input_rgb_image_sized", "input_rgb_image_pyramid"})


@dataclass
class DlibLayer:
    """A layer as read from the file: its kind, scalar settings and weight arrays."""

    kind: str
    tag: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DlibNetwork:
    loss_kind: str
    loss_settings: dict[str, Any]
    layers: list[DlibLayer]  # input first

    def count(self, kind: str) -> int:
        return sum(layer.kind == kind for layer in self.layers)

    def parameter_count(self) -> int:
        return int(sum(a.size for layer in self.layers for a in layer.arrays.values()))


class DlibStream:
    """A cursor over dlib-serialized bytes with one method per primitive type."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of stream at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self) -> int:
        head = self._take(1)[0]
        size = head & 0x0F
        if size == 0 or size > 8:
            raise DlibFormatError(f"bad integer header {head:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(np.ldexp(float(mantissa), exponent))

    def boolean(self) -> bool:
        ch = self._take(1)
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {ch!r} at byte {self.pos - 1}")
        return ch == b"1"

    def string(self) -> str:
        n = self.integer()
        return self._take(n).decode("latin-1")

    def tensor(self) -> np.ndarray:
        version = self.integer()
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if version == 2:
            values = np.frombuffer(self._take(4 * count), dtype="<f4").astype(np.float32)
        elif version == 1:
            values = np.array([self.real() for _ in range(count)], dtype=np.float32)
        else:
            raise DlibFormatError(f"unknown tensor version {version}")
        return values.reshape(shape)

    def alias_tensor(self) -> tuple[int, int, int, int]:
        version = self.integer()
        if version != 1:
            raise DlibFormatError(f"unknown alias_tensor version {version}")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return n, k, nr, nc

    def expect_string(self, *allowed: str) -> str:
        at = self.pos
        name = self.string()
        if name not in allowed:
            raise DlibFormatError(f"expected one of {allowed} at byte {at}, found {name!r}")
        return name


# --- layer details ------------------------------------------------------------------------------


def _read_input(s: DlibStream, kind: str) -> DlibLayer:
    s.expect_string(kind)
    layer = DlibLayer(kind)
    # input_rgb_image(_sized/_pyramid) subtract these per-channel means, then divide by 256.
    layer.settings["mean_rgb"] = (s.real(), s.real(), s.real())
    if kind == "input_rgb_image_sized":
        layer.settings["rows"] = s.integer()
        layer.settings["cols"] = s.integer()
    return layer


_WINDOW = ("rows", "cols", "stride_y", "stride_x", "pad_y", "pad_x")


def _read_window(s: DlibStream) -> dict[str, float]:
    """A conv's or pool's window, strides and padding, as dlib serialises them (in _WINDOW order)."""
    return {key: s.integer() for key in _WINDOW}


def _read_con(s: DlibStream) -> DlibLayer:
    version = s.expect_string("con_4", "con_5")
    params = s.tensor().ravel()
    st: dict[str, float] = {"filters": s.integer(), **_read_window(s)}
    w_shape = s.alias_tensor()
    b_shape = s.alias_tensor()
    for name in ("lr_mult", "wd_mult", "bias_lr_mult", "bias_wd_mult"):
        st[name] = s.real()
    use_bias = s.boolean() if version == "con_5" else True
    n_w = int(np.prod(w_shape))
    weights = params[:n_w].reshape(w_shape)  # (filters, k, rows, cols) like ONNX's OIHW
    arrays = {"weight": weights}
    if use_bias:
        arrays["bias"] = params[n_w : n_w + int(np.prod(b_shape))].copy()
    return DlibLayer("con", settings=st, arrays=arrays)


def _read_affine(s: DlibStream) -> DlibLayer:
    version = s.expect_string("affine_", "affine_2", "bn_con2", "bn_fc2")
    if version.startswith("bn_"):
        # dlib's affine_(const bn_&): gamma' = gamma / sqrt(running_var + eps),
        # beta' = beta - gamma' * running_mean; the batch statistics (means/invstds) are training-only.
        params = s.tensor().ravel()
        g_shape = s.alias_tensor()
        s.alias_tensor()
        s.tensor()  # means
        s.tensor()  # invstds
        running_means = s.tensor().ravel()
        running_vars = s.tensor().ravel()
        s.integer()  # num_updates
        s.integer()  # running_stats_window_size
        for _ in range(4):
            s.real()
        eps = s.real()
        n = int(np.prod(g_shape))
        gamma, beta = params[:n], params[n : 2 * n]
        scale = (gamma / np.sqrt(running_vars.astype(np.float64) + eps)).astype(np.float32)
        shift = (beta - scale * running_means).astype(np.float32)
        mode = "conv" if version == "bn_con2" else "fc"
        return DlibLayer(
            "affine", settings={"mode": mode, "from": version}, arrays={"gamma": scale, "beta": shift}
        )
    params = s.tensor().ravel()
    g_shape = s.alias_tensor()
    s.alias_tensor()
    mode_code = s.integer()
    if version == "affine_2" and s.boolean():
        raise DlibFormatError("disabled affine layers are not supported")
    n = int(np.prod(g_shape))
    mode = "conv" if mode_code == 0 else "fc"
    return DlibLayer(
        "affine",
        settings={"mode": mode, "from": version},
        arrays={"gamma": params[:n].copy(), "beta": params[n : 2 * n].copy()},
    )


def _read_pool(s: DlibStream, kind: str) -> DlibLayer:
    s.expect_string(f"{kind}_2")
    return DlibLayer(kind, settings=_read_window(s))


def _read_fc(s: DlibStream) -> DlibLayer:
    version = s.expect_string("fc_2", "fc_3")
    outputs = s.integer()
    inputs = s.integer()
    params = s.tensor().ravel()
    w_shape = s.alias_tensor()
    b_shape = s.alias_tensor()
    bias_mode = s.integer()  # 0: has bias, 1: no bias
    for _ in range(4):
        s.real()
    use_bias = s.boolean() if version == "fc_3" else True
    n_w = int(np.prod(w_shape))
    arrays = {"weight": params[:n_w].reshape(inputs, outputs)}  # y = x @ W
    if bias_mode == 0 and use_bias:
        arrays["bias"] = params[n_w : n_w + int(np.prod(b_shape))].copy()
    return DlibLayer("fc", settings={"outputs": outputs, "inputs": inputs}, arrays=arrays)


def _read_details(s: DlibStream, spec: LayerSpec) -> DlibLayer:
    if spec.kind == "con":
        return _read_con(s)
    if spec.kind == "affine":
        return _read_affine(s)
    if spec.kind in ("max_pool", "avg_pool"):
        return _read_pool(s, spec.kind)
    if spec.kind == "fc":
        return _read_fc(s)
    if spec.kind == "relu":
        s.expect_string("relu_")
        return DlibLayer("relu")
    if spec.kind == "add_prev":
        s.expect_string("add_prev_")
        return DlibLayer("add_prev", tag=spec.tag)
    raise DlibFormatError(f"no reader for layer kind {spec.kind!r}")


def _read_loss(s: DlibStream) -> tuple[str, dict[str, Any]]:
    name = s.expect_string("loss_metric_", "loss_metric_2", "loss_mmod_")
    if name.startswith("loss_metric"):
        settings: dict[str, Any] = {}
        if name == "loss_metric_2":
            settings = {"margin": s.real(), "distance_threshold": s.real()}
        return "loss_metric", settings
    return "loss_mmod", _read_mmod_options(s)


def _read_mmod_options(s: DlibStream) -> dict[str, Any]:
    # mmod_options as written by dlib 19.x before bounding-box regression was added: the detector
    # windows (width, height), the loss weights, then the NMS and ignore overlap testers.
    # Newer files carry a version and window labels; they fail the checks below rather than misread.
    n_windows = s.integer()
    windows = [(s.integer(), s.integer()) for _ in range(n_windows)]
    settings = {
        "detector_windows": windows,
        "loss_per_false_alarm": s.real(),
        "loss_per_missed_target": s.real(),
        "truth_match_iou_threshold": s.real(),
        "nms_iou_threshold": s.real(),
        "nms_percent_covered_threshold": s.real(),
        "ignore_iou_threshold": s.real(),
        "ignore_percent_covered_threshold": s.real(),
    }
    if not all(0 < w < 10_000 and 0 < h < 10_000 for w, h in windows):
        raise DlibFormatError("unsupported mmod_options layout")
    return settings


def read_network(data: bytes, spec: list[LayerSpec]) -> DlibNetwork:
    """Read a `loss<...<input>>` network written by dlib's `serialize(file) << net`."""
    s = DlibStream(data)
    if s.integer() != 1:
        raise DlibFormatError("not a dlib add_loss_layer stream (version != 1)")
    loss_kind, loss_settings = _read_loss(s)
    if spec[0].kind not in INPUT_KINDS:
        raise DlibFormatError("a spec starts with its input layer")
    body = spec[1:]
    # Versions, outermost first, check the spec's shape before any details are read.
    for i, layer_spec in enumerate(reversed(body)):
        version = s.integer()
        innermost = i == len(body) - 1
        expected = 1 if layer_spec.kind in STRUCTURAL_KINDS else (3 if innermost else 2)
        if version != expected:
            raise DlibFormatError(
                f"layer {len(body) - i} ({layer_spec.kind}) has version {version}, expected {expected}"
            )
    layers = [_read_input(s, spec[0].kind)]
    first_computational = True
    for layer_spec in body:
        if layer_spec.kind in STRUCTURAL_KINDS:
            layers.append(DlibLayer(layer_spec.kind, tag=layer_spec.tag))
            continue
        layers.append(_read_details(s, layer_spec))
        # add_layer bookkeeping: setup flag, gradient flags, then scratch tensors dlib keeps.
        for _ in range(3):
            s.boolean()
        s.tensor()  # x_grad
        s.tensor()  # cached_output
        s.tensor()  # params_grad, or grad_final for the layer on the input
        if first_computational:
            s.integer()  # _sample_expansion_factor (add_layer version 3 only)
            first_computational = False
    if not s.at_end():
        raise DlibFormatError(f"{len(data) - s.pos} bytes left after the network")
    return DlibNetwork(loss_kind, loss_settings, layers)


def read_network_file(path: str | Path, spec: list[LayerSpec]) -> DlibNetwork:
    return read_network(Path(path).read_bytes(), spec)


# --- the two network types shipped in face_recognition_models -----------------------------------


def _block(n: int, stride: int) -> list[LayerSpec]:
    # block<N,affine,stride,SUB> = affine<con<N,3,3,1,1,relu<affine<con<N,3,3,stride,stride,SUB>>>>>
    return [LayerSpec("con"), LayerSpec("affine"), LayerSpec("relu"), LayerSpec("con"), LayerSpec("affine")]


def _ares(n: int) -> list[LayerSpec]:
    # relu<add_prev1<block<N,affine,1,tag1<SUB>>>>
    return [LayerSpec("tag", 1), *_block(n, 1), LayerSpec("add_prev", 1), LayerSpec("relu")]


def _ares_down(n: int) -> list[LayerSpec]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUB>>>>>>>
    return [
        LayerSpec("tag", 1),
        *_block(n, 2),
        LayerSpec("tag", 2),
        LayerSpec("skip", 1),
        LayerSpec("avg_pool"),
        LayerSpec("add_prev", 2),
        LayerSpec("relu"),
    ]


def face_resnet_spec() -> list[LayerSpec]:
    """anet_type of dlib's dnn_face_recognition_ex.cpp, input first."""
    spec = [LayerSpec("input_rgb_image_sized"), LayerSpec("con"), LayerSpec("affine"), LayerSpec("relu")]
    spec.append(LayerSpec("max_pool"))
    spec += _ares(32) * 3  # alevel4
    spec += _ares_down(64) + _ares(64) * 3  # alevel3
    spec += _ares_down(128) + _ares(128) * 2  # alevel2
    spec += _ares_down(256) + _ares(256) * 2  # alevel1
    spec += _ares_down(256)  # alevel0
    spec += [LayerSpec("avg_pool"), LayerSpec("fc")]  # avg_pool_everything, fc_no_bias<128>
    return spec


def mmod_face_detector_spec() -> list[LayerSpec]:
    """net_type of dlib's dnn_mmod_face_detection_ex.cpp, input first."""
    conv_bn_relu = [LayerSpec("con"), LayerSpec("affine"), LayerSpec("relu")]
    spec = [LayerSpec("input_rgb_image_pyramid")]
    spec += conv_bn_relu * 3  # downsampler: con5d<16>, con5d<32>, con5d<32>
    spec += conv_bn_relu * 3  # rcon5<45> x3
    spec.append(LayerSpec("con"))  # con<1,9,9,1,1>
    return spec
