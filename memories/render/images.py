"""Loading a photo for rendering: EXIF orientation applied, decoded at a working size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from memories.render import settings

try:  # HEIC/HEIF: a Pillow plug-in registered once
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - a declared dependency
    pass


def load_oriented(path: Path, max_side: int | None = None) -> Image.Image:
    """RGB, upright per EXIF, its long side at most `max_side` (JPEG decodes at a reduced scale,
    which is several times faster than decoding 12 Mpx and resizing)."""
    with Image.open(path) as image:
        if max_side is not None and image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        oriented = ImageOps.exif_transpose(image)
        rgb = oriented.convert("RGB")
    if max_side is not None and max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return rgb


def oriented_size(path: Path) -> tuple[int, int]:
    """Width and height after EXIF orientation, read from the header only."""
    with Image.open(path) as image:
        width, height = image.size
        orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def extend_canvas(pixels: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """The photo on a larger canvas whose margins are a blurred, dimmed, cover-scaled copy of it:
    what a crop wider than the photo shows instead of black bars (as Photos does for portraits)."""
    height, width = pixels.shape[:2]
    out_w, out_h = width + left + right, height + top + bottom
    if (out_w, out_h) == (width, height):
        return pixels
    cover = max(out_w / width, out_h / height)
    # Blur a 1/8-size copy and upscale: the same look as a huge Gaussian at ~1/50 of the cost.
    small_w, small_h = max(2, out_w // 8), max(2, out_h // 8)
    cover_w, cover_h = int(np.ceil(width * cover / 8)) + 1, int(np.ceil(height * cover / 8)) + 1
    scaled = cv2.resize(pixels, (cover_w, cover_h), interpolation=cv2.INTER_AREA)
    x0, y0 = (cover_w - small_w) // 2, (cover_h - small_h) // 2
    backdrop = cv2.GaussianBlur(scaled[y0 : y0 + small_h, x0 : x0 + small_w], (0, 0), settings.BACKDROP_BLUR)
    backdrop = cv2.resize(backdrop, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    canvas = (backdrop.astype(np.float32) * settings.BACKDROP_DIM).astype(np.uint8)
    canvas[top : top + height, left : left + width] = pixels
    return canvas


def backdrop(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The blurred, dimmed copy of a picture that fills a `size` frame behind it (cover-scaled and
    centred): `extend_canvas`'s margin, made straight at the output's size. A clip needs it anew
    for every frame, so it is blurred on a 1/16-size copy with half the sigma (the same blur
    relative to the frame, a quarter of the cost of the 1/8-size one), dimmed small, then enlarged."""
    height, width = pixels.shape[:2]
    out_w, out_h = size
    cover = max(out_w / width, out_h / height)
    take_w, take_h = min(width, int(round(out_w / cover))), min(height, int(round(out_h / cover)))
    x0, y0 = (width - take_w) // 2, (height - take_h) // 2
    small = cv2.resize(
        np.ascontiguousarray(pixels[y0 : y0 + take_h, x0 : x0 + take_w]),
        (max(2, out_w // 16), max(2, out_h // 16)),
        interpolation=cv2.INTER_AREA,
    )
    blurred = cv2.GaussianBlur(small, (0, 0), settings.BACKDROP_BLUR / 2)
    blurred = cv2.convertScaleAbs(blurred, alpha=settings.BACKDROP_DIM)
    return cv2.resize(blurred, size, interpolation=cv2.INTER_LINEAR)
