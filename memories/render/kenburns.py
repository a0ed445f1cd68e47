"""Face-aware Ken Burns motion: a start and an end crop rectangle per shot.

Crops have the output's aspect ratio and always contain the union of the featured faces. Both
end rectangles contain it and the motion between them is a convex combination of the two (linear
interpolation of x, y and width under an easing of time), so every in-between crop contains it
too. When the faces are spread wider than the largest crop that fits in the photo, the crop grows
past the photo's edges (the renderer letterboxes) rather than cut a face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memories.render import settings

Box = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def contains(self, box: Box, tolerance: float = 1e-6) -> bool:
        bx, by, bw, bh = box
        return (
            bx >= self.x - tolerance
            and by >= self.y - tolerance
            and bx + bw <= self.right + tolerance
            and by + bh <= self.bottom + tolerance
        )

    def as_list(self) -> list[float]:
        return [round(self.x, 2), round(self.y, 2), round(self.w, 2), round(self.h, 2)]


def ease(u: float) -> float:
    """Smoothstep: zero velocity at both ends of a shot."""
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def interpolate(start: Rect, end: Rect, u: float) -> Rect:
    """The crop at fraction `u` of the shot (eased); a convex combination of start and end."""
    e = ease(u)
    return Rect(
        start.x + (end.x - start.x) * e,
        start.y + (end.y - start.y) * e,
        start.w + (end.w - start.w) * e,
        start.h + (end.h - start.h) * e,
    )


def face_union(faces: Sequence[Box]) -> Box | None:
    if not faces:
        return None
    boxes = np.asarray(faces, dtype=np.float64)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def _place(
    width: float, aspect: float, image_w: float, image_h: float, centre: tuple[float, float], keep: Box | None
) -> Rect:
    """A crop of `width` centred as near `centre` as the photo allows; containing `keep` wins over
    staying inside the photo."""
    height = width / aspect
    x = centre[0] - width / 2
    y = centre[1] - height / 2
    x = float(np.clip(x, 0.0, image_w - width)) if width <= image_w else (image_w - width) / 2
    y = float(np.clip(y, 0.0, image_h - height)) if height <= image_h else (image_h - height) / 2
    if keep is not None:
        kx, ky, kw, kh = keep
        x = float(np.clip(x, kx + kw - width, kx))
        y = float(np.clip(y, ky + kh - height, ky))
    return Rect(x, y, width, height)


def motion(
    image_size: tuple[int, int],
    faces: Sequence[Box],
    aspect: float,
    zoom: float,
    zoom_in: bool,
    drift: tuple[float, float] = (0.0, 0.0),
    margin: float = settings.FACE_MARGIN,
    max_zoom: float = settings.MAX_ZOOM,
) -> tuple[Rect, Rect]:
    """Start and end crops for one shot.

    The wide crop is the largest of the output's aspect that fits the photo (or, if the faces are
    spread wider, just wide enough for them); the tight one is `zoom` smaller but never tighter than
    the padded faces nor than `max_zoom`. With faces, both centre on the faces; without, the tight
    crop drifts by `drift` (fractions of the slack) so an empty landscape still moves.
    """
    image_w, image_h = float(image_size[0]), float(image_size[1])
    full_w = min(image_w, image_h * aspect)
    union = face_union(faces)
    if union is None:
        wide = _place(full_w, aspect, image_w, image_h, (image_w / 2, image_h / 2), None)
        tight_w = max(full_w * (1 - zoom), full_w / max_zoom)
        slack_x, slack_y = image_w - tight_w, image_h - tight_w / aspect
        centre = (image_w / 2 + drift[0] * slack_x / 2, image_h / 2 + drift[1] * slack_y / 2)
        tight = _place(tight_w, aspect, image_w, image_h, centre, None)
        return (wide, tight) if zoom_in else (tight, wide)
    ux, uy, uw, uh = union
    need_raw = max(uw, uh * aspect)
    pad = margin * max(uw, uh)
    padded = (ux - pad, uy - pad, uw + 2 * pad, uh + 2 * pad)
    need_padded = max(padded[2], padded[3] * aspect)
    wide_w = max(full_w, need_raw)
    tight_w = min(wide_w, max(wide_w * (1 - zoom), need_padded, full_w / max_zoom))
    centre = (ux + uw / 2, uy + uh / 2)
    wide = _place(wide_w, aspect, image_w, image_h, centre, union)
    tight = _place(tight_w, aspect, image_w, image_h, centre, union)
    return (wide, tight) if zoom_in else (tight, wide)


def best_crop(image_size: tuple[int, int], faces: Sequence[Box], aspect: float) -> Rect:
    """The still crop for a poster or card background: the largest crop, centred on the faces."""
    return motion(image_size, faces, aspect, zoom=0.0, zoom_in=True)[0]
