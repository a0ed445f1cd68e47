"""128-d face descriptors from the dlib ResNet converted to ONNX, run with onnxruntime.

Raw descriptors (not normalised; dlib compares them by Euclidean distance, threshold 0.6); callers
L2-normalise them (recognition.embeddings.unit_rows) when they store them. One intra-op thread per
session: parallelism is a process pool (recognition.models.inference_session).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recognition import models, settings


class FaceEmbedder:
    def __init__(self, cache_dir: str | Path | None = None, batch_size: int = settings.EMBED_BATCH) -> None:
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self._session: Any = None

    def _load(self) -> Any:
        if self._session is None:
            self._session = models.inference_session(models.onnx_path(models.FACE_RESNET, self.cache_dir))
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        # Sessions do not pickle; a copy sent to a worker process loads its own on first use.
        return {"cache_dir": self.cache_dir, "batch_size": self.batch_size, "_session": None}

    def embed(self, chips: np.ndarray, mirror: bool = settings.EMBED_MIRROR) -> np.ndarray:
        """N x 150 x 150 x 3 uint8 RGB chips -> N x 128 float32 raw descriptors; with `mirror`,
        the mean of the chip's and its mirror image's descriptors (settings.EMBED_MIRROR)."""
        chips = np.asarray(chips)
        if chips.ndim == 3:
            chips = chips[None]
        if len(chips) == 0:
            return np.zeros((0, 128), np.float32)
        session = self._load()
        # A chip and its mirror go through the network in one batch (half a batch of chips each).
        step = max(self.batch_size // 2, 1) if mirror else self.batch_size
        out = []
        for start in range(0, len(chips), step):
            x = chips[start : start + step].transpose(0, 3, 1, 2).astype(np.float32)
            if mirror:
                both = session.run(None, {"image": np.concatenate([x, x[..., ::-1]])})[0]
                out.append((both[: len(x)] + both[len(x) :]) / 2)
            else:
                out.append(session.run(None, {"image": x})[0])
        return np.concatenate(out).astype(np.float32, copy=False)
