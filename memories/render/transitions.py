"""Transitions between two rendered frames of the same size: numpy/OpenCV, one call per frame.

Each takes the outgoing frame `a`, the incoming frame `b` (uint8 HxWx3) and the progress p in [0, 1]
and returns the composite. None of them crops the source photos: the crops (and so the faces in
them) are decided before, by the Ken Burns plan.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from memories.render import settings
from memories.render.kenburns import ease

Frame = np.ndarray


def crossfade(a: Frame, b: Frame, p: float) -> Frame:
    return cv2.addWeighted(a, 1.0 - p, b, p, 0.0)


def push(a: Frame, b: Frame, p: float) -> Frame:
    """b pushes a out to the left, both moving together."""
    width = a.shape[1]
    offset = int(round(ease(p) * width))
    if offset <= 0:
        return a
    if offset >= width:
        return b
    return np.concatenate([a[:, offset:], b[:, :offset]], axis=1)


def slide(a: Frame, b: Frame, p: float) -> Frame:
    """b slides in from the right over a, which stays put."""
    width = a.shape[1]
    offset = int(round(ease(p) * width))
    out = a.copy()
    if offset > 0:
        out[:, width - offset :] = b[:, :offset]
    return out


def zoom(a: Frame, b: Frame, p: float) -> Frame:
    """b grows from the centre (75% -> 100%) as it fades in over a."""
    height, width = a.shape[:2]
    e = ease(p)
    scale = settings.ZOOM_START_SCALE + (1.0 - settings.ZOOM_START_SCALE) * e
    w, h = max(2, int(round(width * scale))), max(2, int(round(height * scale)))
    if w >= width or h >= height:
        return crossfade(a, b, e)
    small = cv2.resize(b, (w, h), interpolation=cv2.INTER_AREA)
    x0, y0 = (width - w) // 2, (height - h) // 2
    out = a.copy()
    region = out[y0 : y0 + h, x0 : x0 + w]
    out[y0 : y0 + h, x0 : x0 + w] = cv2.addWeighted(region, 1.0 - e, small, e, 0.0)
    return out


TRANSITIONS: dict[str, Callable[[Frame, Frame, float], Frame]] = {
    "crossfade": crossfade,
    "push": push,
    "slide": slide,
    "zoom": zoom,
}


def compose(kind: str, a: Frame, b: Frame, p: float) -> Frame:
    return TRANSITIONS[kind](a, b, float(np.clip(p, 0.0, 1.0)))
