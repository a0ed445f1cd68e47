"""Photo clutter: screenshots, documents, receipts and blank frames that no memory should show.

`clutter_kind(rgb)` answers "screenshot", "document", "receipt" or "blank" for such a picture and None for
a real photo. A pure function of the decoded RGB array (any size, uint8): no file name, no EXIF, no model.

Why our own: no maintained library classifies photo clutter offline without downloading a model (the
known ways are a CNN or CLIP zero-shot, both a download of weights we cannot ship, and OCR engines
such as Tesseract find text but do not say whether a photo is a snapshot of a menu or a receipt). So
this is a measured classifier on hand-built features, small enough to read:

- blank: a 64 px thumbnail whose 1st-99th percentile spread is tiny in every channel, with no ink at
  working size (a lens cap, a pocket shot, a frame blown out to white, a wall out of focus);
- text blocks: the picture at WORK_SIDE px is cut into BLOCK px blocks; a block is text when thin dark
  strokes (a morphological black-hat, i.e. darker than the closed "paper" around them, glyph- and
  word-sized connected parts only: long rules, fences and window bars are dropped) cover part of it, the
  rest is paper at the closed level, the paper is flat and not coloured. The same is done for light ink
  on a dark page (dark mode) and at half the size (large type). From the blocks: the share of text
  blocks, the largest connected patch of them and the largest "page" (text blocks joined by flat paper
  blocks of the same brightness), which is what tells a photographed page or receipt from signs, shirts
  and fences in a real photo;
- digital and tonal cues at STATS_SIDE px: flat pixels, the few colours of a UI (palette), the mean
  chroma, the grey-level entropy, the share of axis-aligned edges and the weight of the dominant grey
  level (background).

A picture without text blocks is never clutter (only, perhaps, blank). Otherwise a logistic model on
these features (weights below, fitted on one half of benchmarks/bench_clutter.py's check set) gives a
score; the picture is clutter above CLUTTER_THRESHOLD, set so that almost no real photo of the fitting
half is lost (a user's photo of people vanishing from their memories is the worse error), and a second
small logistic model names the kind. `python -m benchmarks.bench_clutter` measures both on the
held-out half: recall per kind, the false-positive rate on real photos and the time per photo.

Measured (held-out half, seed 13): 4 of 758 real photos left out (0.53%; three are versions of one
scanned ceremony programme in WIDER FACE), recall 98% of screenshots, 94% of documents, 87% of receipts,
100% of blank frames; on 780 pictures of clutter generated with a seed no fitting or design step saw
(15): 93% overall (99% screenshots, 92% documents, 85% receipts, 100% blank), photographed receipts
lowest (76%). Of all 804 whole-scene photos in the development data (both halves) 2 are left out;
of 10,589 LFW, UTKFace, CUHK01 and FIW pictures none.
About 10 ms of one core at 1000 px, 17 ms at 4032 x 3024.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# --- Working sizes ---------------------------------------------------------------------------------
# Text analysis runs on the grey picture scaled to this long side: body text of a page photographed
# whole or of a phone screenshot is then 5-20 px high, enough for word-sized strokes (on the check set's
# misses at 640 px the body text of a page filling half the frame had merged into grey bands; 960 px
# keeps clutter_kind at about 10 ms of one core at 1000 px).
WORK_SIDE = 960
# Global colour and tone statistics need no detail: a 320 px picture.
STATS_SIDE = 320
# Blocks of the text map, in px at WORK_SIDE (a block holds one or two lines of body text).
BLOCK = 16

# --- Blank ---------------------------------------------------------------------------------------
# A frame is blank when, on a THUMB_SIDE px thumbnail, the 1st-99th percentile spread of every channel is
# at most BLANK_SPREAD grey levels and at most BLANK_INK of its pixels at WORK_SIDE are ink strokes. On
# the check set the blank frames spread 0-14 levels and the real photos 26 and up (the lowest: street
# scenes darkened to night, the "dark" variants), so 20 sits between them. Blank frames have no ink at
# all; the ink bound keeps three scanned pages of small print and a sparse desktop screenshot (a spread
# of 11-20 at 64 px, ink 0.005-0.1) out of "blank".
THUMB_SIDE = 64
BLANK_SPREAD = 20
BLANK_INK = 0.002

# --- Text blocks ---------------------------------------------------------------------------------
# Ink: at least STROKE_CONTRAST grey levels darker than the morphological closing (CLOSE_SIZE square)
# around it; paper: within PAPER_CONTRAST levels of it. Compared during development on an earlier
# version of the features (recall of the held-out half at a threshold set on the fitting half): a
# contrast of 28 let tree bark and mud walls through (0.80), 55 and 70 lost faded receipt print (0.88 and
# 0.85, against 0.89 at 40); a closing of 13 px made the textures of every photo "ink" (0.76).
STROKE_CONTRAST = 40
PAPER_CONTRAST = 12
CLOSE_SIZE = 9
# Connected ink parts, measured at half WORK_SIDE: longer than MAX_WORD or thicker than MAX_THICK (px) in
# both directions is no glyph or word (table rules, fences, window bars, branches); dropping them took
# the held-out false positives from 10 to 2 of 758 (recall 0.89 to 0.87) in that development version.
MAX_WORD = 80
MAX_THICK = 24
# A text block: an ink share in [INK_MIN, INK_MAX], at least PAPER_MIN paper, a closed background whose
# mean local range (3x3, after a 5x5 box blur) is at most FLAT_MAX levels (paper, not texture) and a
# mean chroma of at most CHROMA_MAX (ink on paper is grey or one dark colour; foliage and skin are not).
# A paper block (for the page): less ink than INK_MIN, a local range at most PAPER_FLAT_MAX, no colour
# and at most PAPER_DROP levels darker than the median text block. Set by looking at the block maps (text
# blocks drawn over the picture) of misses and false positives. The blur: without it sensor noise on
# the paper of a dim photo read as texture and photographed receipts were lost; with it and FLAT_MAX 2
# (against 3 unblurred) the held-out recall rose from 0.90 to 0.93, and the fitting half's from 0.92 to
# 0.93, at the same false-positive rate.
INK_MIN, INK_MAX = 0.03, 0.5
PAPER_MIN = 0.35
FLAT_MAX = 2
PAPER_FLAT_MAX = 2
CHROMA_MAX = 40
PAPER_DROP = 30
# Light ink on a dark page is looked for only when the median block is darker than this: the check set's
# dark-mode screenshots have medians of 0-44, light pages 200 and more. It halves the text work for most
# photos.
DARK_MEDIAN = 100
# Axis-aligned edges: a Sobel response stronger than EDGE_MIN whose weaker component is under a tenth of
# the sum (within about 6 degrees of horizontal or vertical).
EDGE_MIN = 60

FEATURE_NAMES = (
    "text_share",  # share of text blocks at WORK_SIDE
    "text_patch",  # largest 8-connected patch of text blocks, share of all blocks
    "page_share",  # largest page: text blocks joined by paper blocks, share of all blocks
    "text_patch_half",  # text_patch at half WORK_SIDE (large type)
    "page_share_half",  # page_share at half WORK_SIDE
    "flat_share",  # share of pixels whose 3x3 range is at most 2 levels (STATS_SIDE)
    "palette",  # log of the number of 16-level colours that cover 95% of the pixels
    "chroma",  # mean max-min over RGB, 0..1
    "entropy",  # entropy of the grey histogram, bits
    "axis_edges",  # share of strong edges within 6 degrees of horizontal or vertical
    "background",  # share of pixels in the fullest 13-level window of the grey histogram
    # Used only to name the kind, never to decide whether a photo is clutter:
    "exact_flat",  # share of full-resolution neighbours with exactly the same green value
    "aspect",  # log(height / width) of the picture
    "page_aspect",  # log(height / width) of the largest page's bounding box
    "page_width",  # that box's width over the picture's width
    "paper_ratio",  # distance of the picture's long/short ratio from a paper size (log, capped)
    "screen_ratio",  # distance from a screen's (log, capped)
)
# Long side over short side of A4 and US Letter pages, and of 16:9, 16:10 and phone screens (19.5:9, 20:9);
# adding the two distances took the kind model from 0.80 to 0.84 right on the held-out clutter.
PAPER_RATIOS = (math.sqrt(2), 11 / 8.5)
SCREEN_RATIOS = (16 / 9, 16 / 10, 19.5 / 9, 20 / 9)
RATIO_CAP = 0.3

# No text, no clutter: a picture with fewer text blocks than this share is a photo (or blank), whatever
# its colours and edges. On the fitting half 1 of 345 screenshots, documents and receipts has less (a
# receipt lying far off on a table) and 457 of 711 real photos do, which the model then never sees: a
# tiny, blurred or black-bordered face crop can look "flat" and "digital" but holds no text (before this
# gate 8 of 3,165 FIW face crops were called documents).
TEXT_MIN = 0.002

# --- The clutter model ---------------------------------------------------------------------------
# Logistic regression (scikit-learn, C=10, real photos weighted 10 to 1: the costly error is losing a
# real photo) on the fitting half of the check set, with the standardisation folded into the weights:
# score = CLUTTER_INTERCEPT + sum(weight * feature). Printed by `python -m benchmarks.bench_clutter --fit`.
CLUTTER_WEIGHTS: dict[str, float] = {
    "text_share": 25.277,
    "text_patch": 79.526,
    "page_share": 1.7686,
    "text_patch_half": 22.517,
    "page_share_half": -2.0793,
    "flat_share": 4.4646,
    "palette": -0.61048,
    "chroma": 3.0251,
    "entropy": -0.95462,
    "axis_edges": 5.1339,
    "background": -6.7049,
}
CLUTTER_INTERCEPT = 2.3404
# Above every real photo of the fitting half but its highest 0.3% (see --fit): on that half 344 clutter
# pictures and 254 real photos have text; 92.7% of that clutter scores above it, 2 of the 711 real photos do.
CLUTTER_THRESHOLD = -1.3

# --- The kind model ------------------------------------------------------------------------------
# Multinomial logistic regression on the clutter of the fitting half (same features, standardisation
# folded in): the kind with the highest intercept + sum(weight * feature) is the answer.
KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "document": {
        "text_share": -3.883,
        "text_patch": 4.599,
        "page_share": 2.375,
        "text_patch_half": 4.223,
        "page_share_half": -0.1979,
        "flat_share": 6.064,
        "palette": -0.4566,
        "chroma": 2.95,
        "entropy": 0.1941,
        "axis_edges": 5.062,
        "background": -1.93,
        "exact_flat": -11.79,
        "aspect": -0.4502,
        "page_aspect": -2.256,
        "page_width": -4.356,
        "paper_ratio": -3.031,
        "screen_ratio": 13.94,
    },
    "receipt": {
        "text_share": 5.974,
        "text_patch": -13.36,
        "page_share": 1.654,
        "text_patch_half": 0.7759,
        "page_share_half": 0.3433,
        "flat_share": 4.995,
        "palette": -0.2873,
        "chroma": 1.99,
        "entropy": 0.3406,
        "axis_edges": -7.302,
        "background": -2.525,
        "exact_flat": -8.393,
        "aspect": -1.579,
        "page_aspect": 4.231,
        "page_width": -6.648,
        "paper_ratio": -2.216,
        "screen_ratio": 8.075,
    },
    "screenshot": {
        "text_share": -2.091,
        "text_patch": 8.759,
        "page_share": -4.029,
        "text_patch_half": -4.999,
        "page_share_half": -0.1454,
        "flat_share": -11.06,
        "palette": 0.7438,
        "chroma": -4.94,
        "entropy": -0.5346,
        "axis_edges": 2.24,
        "background": 4.455,
        "exact_flat": 20.18,
        "aspect": 2.029,
        "page_aspect": -1.975,
        "page_width": 11,
        "paper_ratio": 5.247,
        "screen_ratio": -22.01,
    },
}
KIND_INTERCEPTS: dict[str, float] = {"document": 8.026, "receipt": 10.71, "screenshot": -18.73}
# Sampled rows of the full-resolution picture for exact_flat.
FLAT_ROWS = 64


def clutter_kind(rgb: np.ndarray) -> str | None:
    """The kind of clutter ("screenshot", "document", "receipt" or "blank"), or None for a real photo.

    `rgb`: an H x W x 3 (or 4: alpha is ignored) uint8 array, any size; a grey H x W array is accepted.
    """
    rgb = _as_rgb(rgb)
    values = features(rgb)
    if _is_blank(rgb, values):
        return "blank"
    if values["text_share"] < TEXT_MIN or clutter_score(values) <= CLUTTER_THRESHOLD:
        return None
    return max(KIND_WEIGHTS, key=lambda kind: _linear(values, KIND_WEIGHTS[kind], KIND_INTERCEPTS[kind]))


def clutter_score(values: dict[str, float]) -> float:
    """The clutter model's score for `features(rgb)`: above CLUTTER_THRESHOLD is clutter."""
    return _linear(values, CLUTTER_WEIGHTS, CLUTTER_INTERCEPT)


def _linear(values: dict[str, float], weights: dict[str, float], intercept: float) -> float:
    return intercept + sum(w * values[name] for name, w in weights.items())


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise ValueError(f"clutter_kind wants uint8 pixels, not {rgb.dtype}")
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    if rgb.ndim == 3 and rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or min(rgb.shape[:2]) < 1:
        raise ValueError(f"clutter_kind wants an H x W x 3 picture, not {rgb.shape}")
    return np.ascontiguousarray(rgb[..., :3])


def _is_blank(rgb: np.ndarray, values: dict[str, float]) -> bool:
    if values["ink"] > BLANK_INK:
        return False
    thumb = _reduce(rgb, THUMB_SIDE).reshape(-1, 3)
    low, high = np.percentile(thumb, [1, 99], axis=0)
    return float((high - low).max()) <= BLANK_SPREAD


def _ratio_distance(height: int, width: int, ratios: tuple[float, ...]) -> float:
    ratio = max(height, width) / max(1, min(height, width))
    return min(RATIO_CAP, min(abs(math.log(ratio / r)) for r in ratios))


def _reduce(img: np.ndarray, side: int) -> np.ndarray:
    """Halve (INTER_AREA, OpenCV's fast path) while the long side is at least 2 x `side`, then scale to it."""
    while max(img.shape[:2]) >= 2 * side:
        h, w = img.shape[:2]
        img = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    scale = side / max(h, w)
    if abs(scale - 1) < 1e-3:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def _block_mean(x: np.ndarray, bw: int) -> np.ndarray:
    """Mean over each block by repeated halving (x's sides are the block counts times a power of two)."""
    while x.shape[1] > bw:
        x = cv2.resize(x, (x.shape[1] // 2, x.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return x


def _chroma(rgb: np.ndarray) -> np.ndarray:
    r, g, b = cv2.split(rgb)
    return cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))


_CLOSE = cv2.getStructuringElement(cv2.MORPH_RECT, (CLOSE_SIZE, CLOSE_SIZE))
_SQUARE3 = np.ones((3, 3), np.uint8)


def _text_blocks(
    grey: np.ndarray, grey_ok: np.ndarray
) -> tuple[float, float, float, float, tuple[int, int, int, int]]:
    """Text blocks of dark ink on light paper in `grey` (sides: block counts x BLOCK).

    Returns (ink share, text block share, largest text patch share, largest page share, page box in blocks).
    """
    bh, bw = grey_ok.shape
    close = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, _CLOSE)
    ink = cv2.subtract(close, grey)
    stroke = cv2.threshold(ink, STROKE_CONTRAST, 255, cv2.THRESH_BINARY)[1]
    paper = cv2.threshold(ink, PAPER_CONTRAST - 1, 255, cv2.THRESH_BINARY_INV)[1]
    half = cv2.resize(stroke, (stroke.shape[1] // 2, stroke.shape[0] // 2), interpolation=cv2.INTER_AREA)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(half, connectivity=8)
    sides = stats[:, 2:4]
    keep = ((sides.max(axis=1) <= MAX_WORD) & (sides.min(axis=1) <= MAX_THICK)).astype(np.uint8) * 255
    keep[0] = 0
    ink_share = float(np.count_nonzero(half)) / half.size
    ink_blocks = _block_mean(keep[labels], bw).astype(np.float32) / 255
    paper_level_flat = _block_mean(
        cv2.merge([paper, close, cv2.morphologyEx(cv2.blur(close, (5, 5)), cv2.MORPH_GRADIENT, _SQUARE3)]), bw
    )
    paper_blocks = paper_level_flat[..., 0].astype(np.float32) / 255
    level = paper_level_flat[..., 1]
    flat = paper_level_flat[..., 2]
    text = (
        (ink_blocks >= INK_MIN)
        & (ink_blocks <= INK_MAX)
        & (paper_blocks >= PAPER_MIN)
        & (flat <= FLAT_MAX)
        & grey_ok
    )
    n_text = int(np.count_nonzero(text))
    total = float(bw * bh)
    if n_text == 0:
        return ink_share, 0.0, 0.0, 0.0, (0, 0, 0, 0)
    _, _, patches, _ = cv2.connectedComponentsWithStats(text.astype(np.uint8), connectivity=8)
    median_level = float(np.median(level[text]))
    blank_paper = (
        (ink_blocks < INK_MIN) & (flat <= PAPER_FLAT_MAX) & grey_ok & (level >= median_level - PAPER_DROP)
    )
    n, pages, page_stats, _ = cv2.connectedComponentsWithStats(
        (text | blank_paper).astype(np.uint8), connectivity=4
    )
    page = int(np.bincount(pages[text], minlength=n).argmax())
    box = tuple(int(v) for v in page_stats[page, :4])
    patch = float(patches[1:, 4].max()) / total
    return ink_share, n_text / total, patch, float(page_stats[page, 4]) / total, box  # type: ignore[return-value]


def _both_polarities(
    grey: np.ndarray, grey_ok: np.ndarray, dark: bool
) -> tuple[float, float, float, float, tuple[int, int, int, int]]:
    """Dark ink on light paper or, on a dark picture, light ink on a dark page (dark mode): the more text."""
    dark_ink = _text_blocks(grey, grey_ok)
    if not dark:
        return dark_ink
    light_ink = _text_blocks(cv2.bitwise_not(grey), grey_ok)
    best = max(dark_ink, light_ink, key=lambda t: t[1] + t[3])
    return (max(dark_ink[0], light_ink[0]), *best[1:])  # type: ignore[return-value]


def features(rgb: np.ndarray) -> dict[str, float]:
    """The named features of FEATURE_NAMES (plus "ink", the ink share at WORK_SIDE, for the blank test)."""
    rgb = _as_rgb(rgb)
    height, width = rgb.shape[:2]
    mid = rgb
    while max(mid.shape[:2]) >= 2 * WORK_SIDE:
        mid = cv2.resize(mid, (mid.shape[1] // 2, mid.shape[0] // 2), interpolation=cv2.INTER_AREA)
    grey = _reduce(cv2.cvtColor(mid, cv2.COLOR_RGB2GRAY), WORK_SIDE)
    # Whole blocks, and an even number of them for the half-size pass.
    bw, bh = max(2, grey.shape[1] // (2 * BLOCK) * 2), max(2, grey.shape[0] // (2 * BLOCK) * 2)
    if grey.shape[1] < bw * BLOCK or grey.shape[0] < bh * BLOCK:
        grey = cv2.resize(grey, (max(grey.shape[1], bw * BLOCK), max(grey.shape[0], bh * BLOCK)))
    grey = grey[: bh * BLOCK, : bw * BLOCK]
    small = _reduce(mid, STATS_SIDE)
    chroma_small = _chroma(small)
    grey_ok = cv2.resize(chroma_small, (bw, bh), interpolation=cv2.INTER_AREA) <= CHROMA_MAX
    dark = float(np.median(_block_mean(grey, bw))) < DARK_MEDIAN
    ink, text_share, text_patch, page_share, box = _both_polarities(grey, grey_ok, dark)
    half = cv2.resize(grey, (bw * BLOCK // 2, bh * BLOCK // 2), interpolation=cv2.INTER_AREA)
    half = half[: bh // 2 * BLOCK, : bw // 2 * BLOCK]
    half_ok = cv2.resize(grey_ok.astype(np.uint8), (bw // 2, bh // 2), interpolation=cv2.INTER_AREA) > 0
    _, _, text_patch_half, page_share_half, _ = _both_polarities(half, half_ok, dark)

    sg = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    area = float(sg.size)
    local_range = cv2.morphologyEx(sg, cv2.MORPH_GRADIENT, _SQUARE3)
    hist = cv2.calcHist([sg], [0], None, [256], [0, 256]).ravel()
    p = hist[hist > 0] / area
    colours = np.sort(cv2.calcHist([small], [0, 1, 2], None, [16, 16, 16], [0, 256, 0, 256, 0, 256]).ravel())[
        ::-1
    ]
    gx = np.abs(cv2.Sobel(sg, cv2.CV_32F, 1, 0))
    gy = np.abs(cv2.Sobel(sg, cv2.CV_32F, 0, 1))
    magnitude = gx + gy
    strong = magnitude > EDGE_MIN
    n_strong = int(np.count_nonzero(strong))
    axis = (
        np.count_nonzero(np.minimum(gx, gy)[strong] * 10 < magnitude[strong]) / n_strong
        if n_strong > 50
        else 0.0
    )
    step = max(1, height // FLAT_ROWS)
    rows = rgb[step // 2 :: step, :, 1].astype(np.int16)
    same = np.count_nonzero(np.diff(rows, axis=1) == 0) / max(1, rows.shape[0] * (rows.shape[1] - 1))
    bx, by, bww, bhh = box
    return {
        "text_share": text_share,
        "text_patch": text_patch,
        "page_share": page_share,
        "text_patch_half": text_patch_half,
        "page_share_half": page_share_half,
        "flat_share": float(np.count_nonzero(local_range <= 2)) / area,
        "palette": float(np.log(np.searchsorted(np.cumsum(colours), 0.95 * area) + 1)),
        "chroma": float(cv2.mean(chroma_small)[0]) / 255,
        "entropy": float(-(p * np.log2(p)).sum()),
        "axis_edges": float(axis),
        "background": float(np.convolve(hist, np.ones(13), mode="same").max() / area),
        "exact_flat": float(same),
        "aspect": float(np.log(height / width)),
        "page_aspect": float(np.log(bhh / bww)) if bww else 0.0,
        "page_width": bww / bw,
        "paper_ratio": _ratio_distance(height, width, PAPER_RATIOS),
        "screen_ratio": _ratio_distance(height, width, SCREEN_RATIOS),
        "ink": ink,
    }
