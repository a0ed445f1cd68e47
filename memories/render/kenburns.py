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


def head_box(face: Box, image_size: tuple[float, float]) -> Box:
    """The face box grown to the whole head (a detector box starts at the brows and ends at the
    chin), clipped to the photo: what a crop must hold so that no one loses the top of their head."""
    x, y, w, h = face
    left, top = x - settings.HEAD_SIDE * w, y - settings.HEAD_TOP * h
    right, bottom = x + w * (1 + settings.HEAD_SIDE), y + h * (1 + settings.HEAD_CHIN)
    left, top = max(left, min(x, 0.0)), max(top, min(y, 0.0))
    right = min(right, max(x + w, float(image_size[0])))
    bottom = min(bottom, max(y + h, float(image_size[1])))
    return left, top, right - left, bottom - top


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


def cut_faces(crop: Rect, faces: Sequence[Box], tolerance: float = settings.CUT_TOLERANCE) -> list[int]:
    """Indices of the faces the crop cuts: partly inside and partly outside it, each part more than
    `tolerance` of the face's width or height (a face wholly in or wholly out is not cut)."""
    cut = []
    for i, (x, y, w, h) in enumerate(faces):
        inside_w = min(x + w, crop.right) - max(x, crop.x)
        inside_h = min(y + h, crop.bottom) - max(y, crop.y)
        if inside_w <= tolerance * w or inside_h <= tolerance * h:
            continue  # out of the crop
        if inside_w >= (1 - tolerance) * w and inside_h >= (1 - tolerance) * h:
            continue  # in it
        cut.append(i)
    return cut


def _motion_keeping(
    image_w: float,
    image_h: float,
    heads: Sequence[Box],
    aspect: float,
    zoom: float,
    zoom_in: bool,
    drift: tuple[float, float],
    margin: float,
    max_zoom: float,
    min_width: float,
) -> tuple[Rect, Rect]:
    full_w = max(min(image_w, image_h * aspect), min_width)
    union = face_union(heads)
    if union is None:
        tight_w = max(full_w * (1 - zoom), full_w / max_zoom, min_width)
        wide_w = max(full_w, tight_w * settings.MIN_MOTION)
        wide = _place(wide_w, aspect, image_w, image_h, (image_w / 2, image_h / 2), None)
        slack_x, slack_y = image_w - tight_w, image_h - tight_w / aspect
        centre = (image_w / 2 + drift[0] * max(slack_x, 0.0) / 2, image_h / 2 + drift[1] * max(slack_y, 0.0) / 2)
        tight = _place(tight_w, aspect, image_w, image_h, centre, None)
        return (wide, tight) if zoom_in else (tight, wide)
    ux, uy, uw, uh = union
    need_raw = max(uw, uh * aspect)
    pad = margin * max(uw, uh)
    need_padded = max(uw + 2 * pad, (uh + 2 * pad) * aspect)
    wide_w = max(full_w, need_raw)
    tight_w = min(wide_w, max(wide_w * (1 - zoom), need_padded, full_w / max_zoom, min_width))
    # Every shot moves: when the heads fill the frame the wide end reaches past them (and past the
    # photo, onto the blurred backdrop) rather than leave start and end the same.
    wide_w = max(wide_w, tight_w * settings.MIN_MOTION)
    centre = (ux + uw / 2, uy + uh / 2)
    wide = _place(wide_w, aspect, image_w, image_h, centre, union)
    tight = _place(tight_w, aspect, image_w, image_h, centre, union)
    return (wide, tight) if zoom_in else (tight, wide)


def motion(
    image_size: tuple[int, int],
    faces: Sequence[Box],
    aspect: float,
    zoom: float,
    zoom_in: bool,
    drift: tuple[float, float] = (0.0, 0.0),
    margin: float = settings.FACE_MARGIN,
    max_zoom: float = settings.MAX_ZOOM,
    *,
    others: Sequence[Box] = (),
    min_width: float = 0.0,
) -> tuple[Rect, Rect]:
    """Start and end crops for one shot.

    `faces` (the featured ones) are kept whole with their heads; `others` are never cut: each is
    wholly in every crop of the shot or wholly out of it (one that a crop would cut joins the kept
    ones). The wide crop is the largest of the output's aspect that fits the photo (or, if the heads
    are spread wider, just wide enough for them); the tight one is `zoom` smaller but never tighter
    than the padded heads, than `max_zoom`, or than `min_width` photo pixels (the most a photo is
    enlarged). Without faces the tight crop drifts by `drift` (fractions of the slack). The two
    ends always differ by at least MIN_MOTION in scale, so no shot is a still.
    """
    image_w, image_h = float(image_size[0]), float(image_size[1])
    kept = [head_box(f, (image_w, image_h)) for f in faces]
    pending = [head_box(f, (image_w, image_h)) for f in others]
    while True:
        start, end = _motion_keeping(image_w, image_h, kept, aspect, zoom, zoom_in, drift, margin, max_zoom, min_width)
        if not pending:
            return start, end
        cut: set[int] = set()
        for u in np.linspace(0.0, 1.0, settings.CUT_CHECK_STEPS):
            cut.update(cut_faces(interpolate(start, end, float(u)), pending, 0.0))
        if not cut:
            return start, end
        kept += [pending[i] for i in sorted(cut)]
        pending = [box for i, box in enumerate(pending) if i not in cut]


def best_crop(
    image_size: tuple[int, int], faces: Sequence[Box], aspect: float, *, others: Sequence[Box] = (), min_width: float = 0.0
) -> Rect:
    """The still crop for a poster or card background: the largest crop, centred on the faces."""
    wide = motion(image_size, faces, aspect, zoom=0.0, zoom_in=True, others=others, min_width=min_width)[0]
    return wide


def still_crop(
    image_size: tuple[int, int],
    faces: Sequence[Box],
    aspect: float,
    *,
    others: Sequence[Box] = (),
    min_width: float = 0.0,
) -> Rect:
    """The crop of a shot that stays put (a clip: its picture moves by itself): the largest of the
    output's aspect that fits the frame, centred on the heads, `faces` whole and `others` whole or
    out, as `motion` keeps them (its tight end at no zoom, so no wider than the frame allows)."""
    return motion(image_size, faces, aspect, zoom=0.0, zoom_in=True, others=others, min_width=min_width)[1]
