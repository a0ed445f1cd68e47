"""Upper-body (clothing) embedding: MobileNetV2 ImageNet features + an HSV colour histogram.

Embedding = ``[sqrt(w) * f / |f|, sqrt(1 - w) * c / |c|]`` with ``f`` the 1280 global-average-pooled
MobileNetV2 features of the crop resized to 224 x 224, ``c`` the square root of the normalised
colour histogram (Hellinger mapping, 96 chromatic hue/saturation/value bins + 8 grey levels = 104),
and ``w = BodyEmbeddingSettings.cnn_weight``. Dimension 1384; unit length.

Distance scale: Euclidean between embeddings. Both parts are non-negative (ReLU6 features,
histogram roots), so each part's cosine is in [0, 1] and the distance is in [0, sqrt(2)]:
``d^2 = w * d_cnn^2 + (1 - w) * d_colour^2`` with each part's distance in [0, sqrt(2)].
0 = the same crop. Measured by benchmarks/bench_body_embed.py on the multi-person photos of dlib_faces_det
and deepface (52 bodies): a body against a re-framed crop of itself (a second shot of the moment)
median 0.19 (p90 0.25); two different people of the same photo median 0.73 (p10 0.56). Real
second shots add pose change: on cuhk01_reid (two shots of a person by one camera, upper
bodies) the same person is at p10 0.30, median 0.37, p90 0.50 (`memories eval reid`). Pass 1
uses T only inside one moment (cluster_settings.Pass1Settings.body_threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from recognition import models
from recognition.body_settings import BODY_EMBEDDING, BodyEmbeddingSettings
from recognition.embeddings import unit_rows
from recognition.mobilenet_convert import FEATURE_DIM, INPUT_NAME, INPUT_SIZE, OUTPUT_NAME


def colour_descriptor_dim(settings: BodyEmbeddingSettings = BODY_EMBEDDING) -> int:
    s = settings
    return s.hue_bins * s.saturation_bins * s.value_bins + s.grey_value_bins


def body_embedding_dim(settings: BodyEmbeddingSettings = BODY_EMBEDDING) -> int:
    return FEATURE_DIM + colour_descriptor_dim(settings)


def crop_box(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Pixels of an xywh box (rounded, clipped to the image); may be empty."""
    height, width = image.shape[:2]
    x, y, w, h = (float(v) for v in box)
    x0, y0 = max(int(round(x)), 0), max(int(round(y)), 0)
    x1, y1 = min(int(round(x + w)), width), min(int(round(y + h)), height)
    return image[y0:max(y1, y0), x0:max(x1, x0)]


def _soft_bins(values: np.ndarray, bins: int, circular: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each value split between its two nearest bin centres: (lower bin, upper bin, upper weight).

    Soft assignment keeps a colour on a bin edge (a red at hue 0, a value at exactly 3/4) from
    jumping between bins with JPEG noise. Circular bins have centres at k / bins (red at 0);
    linear ones at (k + 0.5) / bins.
    """
    pos = values * bins if circular else values * bins - 0.5
    lower = np.floor(pos)
    weight = pos - lower
    lower = lower.astype(np.int64)
    upper = lower + 1
    if circular:
        return lower % bins, upper % bins, weight
    return np.clip(lower, 0, bins - 1), np.clip(upper, 0, bins - 1), weight


def colour_descriptor(crop: np.ndarray, settings: BodyEmbeddingSettings = BODY_EMBEDDING) -> np.ndarray:
    """Hellinger-mapped, softly binned HSV histogram of an RGB uint8 crop, L2-normalised.

    Chromatic pixels vote in hue x saturation x value bins; pixels below ``grey_saturation`` have
    no reliable hue and vote in a separate histogram of brightness. An empty crop gives zeros.
    """
    s = settings
    dim = colour_descriptor_dim(s)
    if crop.size == 0:
        return np.zeros(dim, dtype=np.float32)
    hsv = cv2.cvtColor(np.ascontiguousarray(crop, dtype=np.uint8), cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3)
    hue = hsv[:, 0].astype(np.float64) / 256.0
    sat = hsv[:, 1].astype(np.float64) / 255.0
    val = hsv[:, 2].astype(np.float64) / 255.0
    grey = sat < s.grey_saturation
    hist = np.zeros(dim, dtype=np.float64)
    c = ~grey
    sat_scaled = (sat[c] - s.grey_saturation) / (1.0 - s.grey_saturation)
    h_bins = _soft_bins(hue[c], s.hue_bins, circular=True)
    s_bins = _soft_bins(sat_scaled, s.saturation_bins, circular=False)
    v_bins = _soft_bins(val[c], s.value_bins, circular=False)
    for hi, h_w in ((h_bins[0], 1 - h_bins[2]), (h_bins[1], h_bins[2])):
        for si, s_w in ((s_bins[0], 1 - s_bins[2]), (s_bins[1], s_bins[2])):
            for vi, v_w in ((v_bins[0], 1 - v_bins[2]), (v_bins[1], v_bins[2])):
                index = (hi * s.saturation_bins + si) * s.value_bins + vi
                hist += np.bincount(index, weights=h_w * s_w * v_w, minlength=dim)
    n_chroma = s.hue_bins * s.saturation_bins * s.value_bins
    g_lower, g_upper, g_w = _soft_bins(val[grey], s.grey_value_bins, circular=False)
    hist += np.bincount(n_chroma + g_lower, weights=1 - g_w, minlength=dim)
    hist += np.bincount(n_chroma + g_upper, weights=g_w, minlength=dim)
    return unit_rows(np.sqrt(hist / hist.sum()))


def network_input(crops: Sequence[np.ndarray]) -> np.ndarray:
    """RGB uint8 crops as the network's [N, 3, 224, 224] float input in [0, 1].

    A crop is resized to the square input without keeping its aspect ratio: every body box has
    the same shape (UpperBodySettings), so the distortion is the same for all and cancels in
    distances.
    """
    batch = np.zeros((len(crops), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for i, crop in enumerate(crops):
        if crop.size == 0:
            continue
        resized = cv2.resize(np.ascontiguousarray(crop), (INPUT_SIZE, INPUT_SIZE),
                             interpolation=cv2.INTER_AREA)
        batch[i] = resized.transpose(2, 0, 1).astype(np.float32) / 255.0
    return batch


def combine_body_parts(cnn_features: np.ndarray, colours: np.ndarray,
                       settings: BodyEmbeddingSettings = BODY_EMBEDDING) -> np.ndarray:
    """[N, 1280] features + [N, 104] colour descriptors -> [N, 1384] unit-length embeddings."""
    w = settings.cnn_weight
    combined = np.concatenate(
        [np.sqrt(w) * unit_rows(np.asarray(cnn_features, np.float64)).astype(np.float64),
         np.sqrt(1 - w) * unit_rows(np.asarray(colours, np.float64)).astype(np.float64)], axis=1)
    return unit_rows(combined)


class BodyEmbedder:
    """Embeds upper-body crops with the cached MobileNetV2 ONNX in onnxruntime (the session from
    recognition.models.inference_session: one thread per process, parallelism is a process pool)."""

    def __init__(self, model_path: Path | None = None,
                 settings: BodyEmbeddingSettings = BODY_EMBEDDING) -> None:
        self.settings = settings
        self.model_path = Path(model_path) if model_path is not None else models.onnx_path(models.MOBILENET_V2_BODY)
        self._session = models.inference_session(self.model_path)

    @property
    def dim(self) -> int:
        return body_embedding_dim(self.settings)

    def features(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Raw [N, 1280] MobileNetV2 features, computed in batches of ``settings.batch_size``."""
        out = np.zeros((len(crops), FEATURE_DIM), dtype=np.float32)
        step = self.settings.batch_size
        for start in range(0, len(crops), step):
            batch = network_input(crops[start:start + step])
            out[start:start + len(batch)] = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
        return out

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """[N, 1384] unit embeddings of RGB uint8 crops (an empty crop gives a zero row)."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        colours = np.stack([colour_descriptor(c, self.settings) for c in crops])
        embeddings = combine_body_parts(self.features(crops), colours, self.settings)
        empty = np.array([c.size == 0 for c in crops])
        embeddings[empty] = 0.0
        return embeddings

    def embed(self, image: np.ndarray, body_boxes: np.ndarray) -> np.ndarray:
        """Embeddings of the xywh ``body_boxes`` of one RGB uint8 image."""
        boxes = np.asarray(body_boxes, dtype=np.float64).reshape(-1, 4)
        return self.embed_crops([crop_box(image, b) for b in boxes])
