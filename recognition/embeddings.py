"""Embedding vectors to unit length: the one L2 row-normalisation of the project."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_TINY = 1e-12  # a row shorter than this is divided by it: an all-zero row stays zero


def unit_rows(x: ArrayLike) -> NDArray[np.float32]:
    """Each row (the last axis) scaled to unit length, as float32; an all-zero row stays zero.

    A 1-D input is one vector and comes back 1-D. float32 input is normalised in float32 and
    anything else in float64 before the result is rounded to float32, so a row is the correctly
    normalised vector of its own precision.
    """
    arr = np.asarray(x)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64)
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    return (arr / np.maximum(norms, _TINY)).astype(np.float32, copy=False)
