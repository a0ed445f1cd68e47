"""Title and end cards, and the poster, drawn with Pillow over the memory's key photo."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from memories.render import settings

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def font(size: int, faces: tuple[str, ...] = settings.FONT_CANDIDATES) -> FontType:
    """The first of `faces` the system has (then the bold default ones); Pillow's scalable
    built-in face otherwise."""
    for candidate in (*faces, *settings.FONT_CANDIDATES):
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def style_for(mood: str) -> settings.TitleStyle:
    return settings.TITLE_STYLES[settings.MOOD_TITLE_STYLE.get(mood, "bold")]


def _fit_text(
    draw: ImageDraw.ImageDraw, text: str, size: int, max_width: float, faces: tuple[str, ...] = settings.FONT_CANDIDATES
) -> tuple[FontType, str]:
    """Shrink the font until the line fits (down to half size), then ellipsise."""
    for attempt in range(size, max(8, size // 2) - 1, -2):
        face = font(attempt, faces)
        if draw.textlength(text, font=face) <= max_width:
            return face, text
    face = font(max(8, size // 2), faces)
    while text and draw.textlength(text + "…", font=face) > max_width:
        text = text[:-1]
    return face, text + "…"


def _draw_centred(
    draw: ImageDraw.ImageDraw, text: str, size: int, centre_y: float, width: int, faces: tuple[str, ...]
) -> None:
    if not text:
        return
    face, line = _fit_text(draw, text, size, 0.88 * width, faces)
    # A soft shadow keeps white text readable on any photo.
    offset = max(1, size // 24)
    draw.text((width / 2 + offset, centre_y + offset), line, font=face, fill=(0, 0, 0, 160), anchor="mm")
    draw.text((width / 2, centre_y), line, font=face, fill=(255, 255, 255, 255), anchor="mm")


def card(
    background: Image.Image,
    title: str,
    subtitle: str,
    size: tuple[int, int],
    dim: float,
    style: settings.TitleStyle = settings.TITLE_STYLES["bold"],
) -> np.ndarray:
    """A card: the background blurred and dimmed, the title and subtitle centred on it in the
    mood's typographic style."""
    width, height = size
    blurred = background.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    blurred = blurred.filter(ImageFilter.GaussianBlur(settings.CARD_BACKGROUND_BLUR * width))
    base = Image.eval(blurred, lambda v: int(v * dim)).convert("RGBA")
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    # Sized on the short side of a 16:9 box that fits the frame, so portrait titles are not huge.
    short = min(height, width * 9 / 16)
    title_size = max(10, int(settings.TITLE_FONT_FRACTION * style.size_factor * short))
    subtitle_size = max(8, int(settings.SUBTITLE_FONT_FRACTION * short))
    title = title.upper() if style.upper else title
    has_subtitle = bool(subtitle)
    if title:
        centre = height / 2 - (title_size * 0.45 if has_subtitle else 0)
        _draw_centred(draw, title, title_size, centre, width, style.title_faces)
        _draw_centred(draw, subtitle, subtitle_size, height / 2 + title_size * 0.75, width, style.subtitle_faces)
    else:  # an end card: the one small line in the middle
        _draw_centred(draw, subtitle, subtitle_size, height / 2, width, style.subtitle_faces)
    return np.asarray(Image.alpha_composite(base, overlay).convert("RGB"))


def poster(
    frame_image: Image.Image, title: str, subtitle: str, style: settings.TitleStyle = settings.TITLE_STYLES["bold"]
) -> Image.Image:
    """The key photo's frame (already cropped around the faces) with the title on a dark gradient."""
    width, height = frame_image.size
    frame = frame_image.convert("RGBA")
    gradient = np.zeros((height, width, 4), dtype=np.uint8)
    ramp = np.clip((np.arange(height) - 0.55 * height) / (0.45 * height), 0.0, 1.0)
    gradient[..., 3] = (200 * ramp**1.5).astype(np.uint8)[:, None]
    frame = Image.alpha_composite(frame, Image.fromarray(gradient))
    draw = ImageDraw.Draw(frame)
    short = min(height, width * 9 / 16)
    title_size = max(10, int(settings.TITLE_FONT_FRACTION * style.size_factor * short))
    subtitle_size = max(8, int(settings.SUBTITLE_FONT_FRACTION * short))
    margin = 0.05 * width
    title = title.upper() if style.upper else title
    title_font, title_line = _fit_text(draw, title, title_size, width - 2 * margin, style.title_faces)
    sub_y = height - margin * 0.8
    title_y = sub_y - (subtitle_size * 1.5 if subtitle else 0)
    draw.text((margin, title_y), title_line, font=title_font, fill=(255, 255, 255, 255), anchor="ls")
    if subtitle:
        sub_font, sub_line = _fit_text(draw, subtitle, subtitle_size, width - 2 * margin, style.subtitle_faces)
        draw.text((margin, sub_y), sub_line, font=sub_font, fill=(235, 235, 235, 255), anchor="ls")
    return frame.convert("RGB")
