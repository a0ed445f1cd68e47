"""Clutter check set: screenshots, documents, receipts and blank frames against real photos.

Builds a labelled check set into a cache folder outside the repository (default
~/.cache/memories/clutter-check/, or $MEMORIES_CLUTTER_CHECK), then measures
memories.clutter.clutter_kind on it:

- clutter, generated here (seeded): text pages rendered with Pillow in every font on the machine, at
  many sizes and layouts (articles, two columns, letters, invoices with tables, forms, slides, lists),
  some flat like a scan or a PDF, some "photographed" (perspective, rotation, uneven light, a shadow,
  defocus, sensor noise, paper tint, JPEG) lying on a generated table, desk, stone or fabric or, half
  of them, on a crop of a real photo from the set below (a sheet then joins that photo's half); till
  receipts (narrow monospace lines, items and totals, faded thermal ink, a barcode) scanned or
  photographed the same way, some curled; browser screenshots taken with Playwright + the system
  Chromium of generated HTML pages (articles, forms, chats, settings, inboxes, search results,
  spreadsheets, code editors, shop grids, calendars, social feeds; light and dark mode; some re-encoded
  as JPEG as a messenger would) at phone (390x844 @3x, 360x800 @2x, 414x896 @2x), tablet and desktop
  sizes; blank frames (a uniform or near-uniform colour, a lens cap, a pocket shot, a frame blown out
  to white or left black, an out-of-focus wall);
- real photos from /work/shared/data (read in place, never copied): every WIDER FACE photo (crowds,
  parades, stock market screens, press conferences, ice rinks, sky), every USC pedestrian scene (grey),
  the deepface and dlib photos, frames of the face videos and their reference photos and the Live
  Photo, a seeded draw of LFW photos, UTKFace and FIW face crops and CUHK01 body crops, plus the
  project's samples/photos; and hard variants of the whole scenes (black and white, a dark night-like
  exposure, a bright high-key exposure), which stay in their original's half.

The check set is split in two halves by a seeded draw of groups (a real photo, its variants and its
copy in samples/ are one group): `fit` measures the features on the first half, fits the small
logistic model and chooses the decision threshold there, and prints the constants to paste into
memories/clutter.py; the default report runs memories.clutter.clutter_kind as shipped on the second,
held-out half only. (While the features were designed, variants were also compared on the held-out
half, so it is not untouched; `--fresh` on a check set built with another seed measures recall on
clutter no fitting or design step has seen.)

    .venv/bin/python -m benchmarks.bench_clutter [--build] [--fit] [--seed S] [--cache DIR]
    .venv/bin/python -m benchmarks.bench_clutter --cache /tmp/clutter-14 --seed 14 --fresh

Prints per class: count, how many were recognised as clutter (recall) or, for real photos, wrongly
left out (false positives), the confusion between kinds, the per-photo time of clutter_kind on the
decoded photo, and the file names of the held-out false positives so a person can look at them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":  # the benchmark itself; not when a test imports its constants
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from memories import clutter

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SAMPLES = REPO_ROOT / "samples" / "photos"
DEFAULT_CACHE = Path(
    os.environ.get("MEMORIES_CLUTTER_CHECK", Path.home() / ".cache" / "memories" / "clutter-check")
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
BUILD_VERSION = "2"  # bump when the generators change: the cache is rebuilt

# How many of each generated kind the check set holds (about half of each is held out).
COUNTS = {"document": 260, "receipt": 200, "screenshot": 220, "blank": 100}
# Seeded draws from the big face and body crop sets (the whole-scene sets are taken whole).
DRAWS = {"lfw_min10": 200, "utkface_demographics": 100, "cuhk01_reid": 60, "fiw_train": 60}
# Share of whole-scene real photos that also enter as a hard variant (each variant drawn separately).
VARIANT_SHARE = {"bw": 0.12, "dark": 0.10, "bright": 0.10}
# Share of photographed documents and receipts that lie on a crop of a real photo (the rest on a
# generated table, desk, fabric or stone surface), and the sets those crops come from.
SCENE_SHARE = 0.5
SCENE_SETS = {"wider_faces", "usc_pedestrians", "deepface", "dlib_faces_det"}
KINDS = ("photo", "screenshot", "document", "receipt", "blank")

FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]

WORDS_TEXT = (
    "the of and to in is for on that by this with you it not or be are from at as your all have new more an "
    "was we will home can us about if page my has search free but our one other do no information time they "
    "site he up may what which their news out use any there see only so his when contact here business who "
    "web also now help get view online first am been would how were me services some these click its like "
    "service than find price date back top people had list name just over state year day into email two "
    "health world next used go work last most products music buy data make them should product system post "
    "her city add policy number such please available copyright support message after best software then "
    "jan good video well where info rights public books high school through each links she review years order "
    "very privacy book items company read group need many user said does set under general research "
    "university january mail full map reviews program life know games way days management part could great "
    "united hotel real item international center ebay must store travel comments made development report off "
    "member details line terms before hotels did send right type because local those using results office "
    "education national car design take posted internet address community within states area want phone "
    "shipping reserved subject between forum family long based code show even black check special prices "
    "website index being women much sign file link open today technology south case project same pages uk "
    "version section own found sports house related security both county american photo game members power "
    "while care network down computer systems three total place end following download him without per "
    "access think north resources current posts big media law control water history pictures size art "
    "personal since including guide shop directory board location change white text small rating rate "
    "government children during usa return students shopping account times sites level digital profile "
    "previous form events love old john main call hours image department title description non insurance"
)
WORDS = WORDS_TEXT.split()
STORES = [
    "FRESH MARKET",
    "CAFE LUNA",
    "HARDWARE PLUS",
    "CITY PHARMACY",
    "BAKERY MUELLER",
    "SUPERMART 24",
    "GAS & GO",
    "BOOK CORNER",
    "THE NOODLE BAR",
    "ELECTRO WORLD",
    "GREEN GROCER",
    "PIZZA NAPOLI",
]
ITEMS = [
    "MILK 1L",
    "BREAD WHOLE",
    "BANANAS",
    "COFFEE BEANS",
    "EGGS 10PK",
    "BUTTER",
    "APPLES KG",
    "WATER 6X1.5",
    "CHEESE GOUDA",
    "TOMATOES",
    "PASTA 500G",
    "OLIVE OIL",
    "YOGURT",
    "CHOCOLATE",
    "CAPPUCCINO",
    "CROISSANT",
    "BATTERIES AA",
    "SCREWS M4",
    "SHAMPOO",
    "TOOTHPASTE",
    "PAPER TOWELS",
    "RICE 1KG",
    "ORANGE JUICE",
    "DIESEL",
    "NEWSPAPER",
    "SALAD BOWL",
    "MARGHERITA",
    "ESPRESSO",
    "SPARKLING",
    "DEPOSIT",
]


# ---------------------------------------------------------------------------------------------
# Check set entries and the split


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path of the image file
    kind: str  # one of KINDS
    group: str  # split unit: an original and everything derived from it
    origin: str  # the generator or the data set it comes from
    variant: str = ""  # a hard real variant made when the photo is read ("bw", "dark", "bright")

    @property
    def name(self) -> str:
        return self.path + (f" [{self.variant}]" if self.variant else "")


def held_out(group: str, seed: int) -> bool:
    """The seeded half a group falls in (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return digest[0] % 2 == 1


def read_manifest(cache: Path) -> list[Entry]:
    with open(cache / "manifest.csv", newline="") as f:
        return [Entry(**row) for row in csv.DictReader(f)]


def write_manifest(cache: Path, entries: list[Entry]) -> None:
    with open(cache / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "kind", "group", "origin", "variant"])
        writer.writeheader()
        for e in entries:
            writer.writerow(e.__dict__)


def load_rgb(entry: Entry) -> np.ndarray:
    """The photo as the app would decode it (EXIF orientation applied), with its variant if any."""
    if entry.path.lower().endswith(".heic"):
        import pillow_heif

        pillow_heif.register_heif_opener()
    with Image.open(entry.path) as im:
        rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    if entry.variant:
        rgb = real_variant(rgb, entry.variant, seed_of(entry.name))
    return rgb


def seed_of(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def real_variant(rgb: np.ndarray, variant: str, seed: int) -> np.ndarray:
    """Hard real photos: black and white, a dark night-like exposure, a bright high-key exposure."""
    rng = np.random.default_rng(seed)
    x = rgb.astype(np.float32) / 255.0
    if variant == "bw":
        grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
        x = np.repeat(grey[..., None], 3, axis=2)
    elif variant == "dark":
        x = (x ** rng.uniform(1.6, 2.4)) * rng.uniform(0.25, 0.45)
        x = x + rng.normal(0, rng.uniform(0.004, 0.015), x.shape).astype(np.float32)
    elif variant == "bright":
        x = 1.0 - (1.0 - x) ** rng.uniform(1.8, 2.8)
    else:
        raise ValueError(variant)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Real photos (read in place)


def real_entries(seed: int) -> list[Entry]:
    rng = np.random.default_rng(seed)
    out: list[Entry] = []
    suffixes = {".jpg", ".jpeg", ".png"}

    def images(name: str) -> list[Path]:
        return sorted(p for p in (SHARED_DATA / name / "images").rglob("*") if p.suffix.lower() in suffixes)

    scenes: list[Entry] = []
    for name in ("wider_faces", "usc_pedestrians", "deepface", "dlib_faces_det"):
        for p in images(name):
            group = (
                f"deepface/{p.stem}" if name == "deepface" else f"{name}/{p.relative_to(SHARED_DATA / name)}"
            )
            scenes.append(Entry(str(p), "photo", group, name))
    deepface_names = {p.stem for p in images("deepface")}
    for p in sorted(SAMPLES.rglob("*.jpg")):
        stem = p.stem.split("_")[0]
        group = f"deepface/{stem}" if stem in deepface_names else f"samples/{p.relative_to(SAMPLES)}"
        scenes.append(Entry(str(p), "photo", group, "samples"))
    videos = SHARED_DATA / "face_videos"
    for p in sorted(videos.rglob("*")):
        if p.suffix.lower() in {".png", ".jpg", ".heic"}:
            scenes.append(Entry(str(p), "photo", f"face_videos/{p.name}", "face_videos"))
    out.extend(scenes)
    for name, count in DRAWS.items():
        files = images(name)
        for i in sorted(rng.choice(len(files), size=min(count, len(files)), replace=False)):
            p = files[int(i)]
            out.append(Entry(str(p), "photo", f"{name}/{p.relative_to(SHARED_DATA / name)}", name))
    for variant, share in VARIANT_SHARE.items():
        for e in scenes:
            if rng.random() < share and not (variant == "bw" and e.origin == "usc_pedestrians"):
                out.append(Entry(e.path, "photo", e.group, e.origin, variant))
    return out


def video_frames(cache: Path) -> list[Entry]:
    """One frame from the middle of each face video, written to the cache as PNG (not the repo)."""
    out: list[Entry] = []
    folder = cache / "video_frames"
    folder.mkdir(parents=True, exist_ok=True)
    for video in sorted((SHARED_DATA / "face_videos").rglob("*")):
        if video.suffix.lower() not in {".mp4", ".mov"}:
            continue
        target = folder / f"{video.stem}.png"
        if not target.exists():
            cap = cv2.VideoCapture(str(video))
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            cap.set(cv2.CAP_PROP_POS_FRAMES, max(count // 2, 0))
            ok, frame = cap.read()
            cap.release()
            if not ok:
                continue
            cv2.imwrite(str(target), frame)
        out.append(Entry(str(target), "photo", f"face_videos/{video.name}", "face_videos"))
    return out


# ---------------------------------------------------------------------------------------------
# Pillow helpers shared by the page and receipt generators


def fonts() -> dict[str, list[Path]]:
    found = sorted({p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*.ttf")})
    mono = [p for p in found if "Mono" in p.name]
    serif = [p for p in found if "Serif" in p.name and "Mono" not in p.name and "Math" not in p.name]
    sans = [p for p in found if p not in mono and p not in serif and "Math" not in p.name]
    regular = [p for p in found if not any(s in p.name for s in ("Bold", "Italic", "Oblique", "Math"))]
    bold = [p for p in found if "Bold" in p.name and "Italic" not in p.name and "Oblique" not in p.name]
    return {
        "all": [p for p in found if "Math" not in p.name],
        "mono": mono,
        "serif": serif,
        "sans": sans,
        "regular": regular,
        "bold": bold,
    }


def pick(rng: np.random.Generator, items: list):  # type: ignore[no-untyped-def]
    return items[int(rng.integers(len(items)))]


def sentence(rng: np.random.Generator, low: int = 5, high: int = 16) -> str:
    words = [pick(rng, WORDS) for _ in range(int(rng.integers(low, high)))]
    text = " ".join(words)
    return text[0].upper() + text[1:] + pick(rng, [".", ".", ".", ",", "?", ":"])


def wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def ink(rng: np.random.Generator) -> tuple[int, int, int]:
    kind = rng.random()
    if kind < 0.7:
        v = int(rng.integers(0, 60))
        return (v, v, v)
    if kind < 0.85:
        return (int(rng.integers(10, 40)), int(rng.integers(20, 60)), int(rng.integers(90, 150)))
    v = int(rng.integers(60, 110))
    return (v, v, v)


def paper(rng: np.random.Generator) -> tuple[int, int, int]:
    kind = rng.random()
    if kind < 0.55:
        return (255, 255, 255)
    if kind < 0.8:
        v = int(rng.integers(235, 252))
        return (v, v, int(v - rng.integers(0, 25)))  # cream
    v = int(rng.integers(215, 245))
    return (v, v, v)


# ---------------------------------------------------------------------------------------------
# Documents


def render_page(rng: np.random.Generator, font_sets: dict[str, list[Path]]) -> Image.Image:
    width = int(rng.choice([1240, 1275, 1100, 1600, 1000]))
    layout = pick(
        rng, ["article", "article", "two_column", "letter", "invoice", "form", "slide", "list", "dense"]
    )
    height = width * 9 // 16 if layout == "slide" else int(width * rng.choice([1.414, 1.294, 1.414, 1.2]))
    page = Image.new("RGB", (width, height), paper(rng))
    draw = ImageDraw.Draw(page)
    body_path = pick(rng, font_sets["regular"])
    bold_path = pick(rng, font_sets["bold"])
    size = int(rng.integers(16, 34)) if layout != "dense" else int(rng.integers(12, 18))
    body = ImageFont.truetype(str(body_path), size)
    title = ImageFont.truetype(str(bold_path), int(size * rng.uniform(1.4, 2.6)))
    colour = ink(rng)
    margin = int(width * rng.uniform(0.06, 0.14))
    y = margin
    leading = int(size * rng.uniform(1.15, 1.7))

    def paragraph(x0: int, x1: int, y: int, sentences: int) -> int:
        text = " ".join(sentence(rng) for _ in range(sentences))
        for line in wrap(draw, text, body, x1 - x0):
            if y + leading > height - margin:
                return y
            draw.text((x0, y), line, font=body, fill=colour)
            y += leading
        return y + leading // 2

    if layout in ("article", "dense", "list"):
        if rng.random() < 0.8:
            for line in wrap(draw, sentence(rng, 3, 8).rstrip(".,?:"), title, width - 2 * margin):
                draw.text((margin, y), line, font=title, fill=colour)
                y += int(title.size * 1.25)
            y += leading
        while y < height - margin - leading:
            if layout == "list":
                draw.ellipse((margin, y + size // 3, margin + size // 3, y + 2 * size // 3), fill=colour)
                y = paragraph(margin + size, width - margin, y, int(rng.integers(1, 3)))
            else:
                if rng.random() < 0.15:
                    draw.text(
                        (margin, y),
                        sentence(rng, 2, 5).rstrip(".,?:"),
                        font=ImageFont.truetype(str(bold_path), size),
                        fill=colour,
                    )
                    y += leading
                y = paragraph(margin, width - margin, y, int(rng.integers(2, 7)))
    elif layout == "two_column":
        gap = int(width * 0.04)
        col = (width - 2 * margin - gap) // 2
        draw.text((margin, y), sentence(rng, 3, 6).rstrip(".,?:"), font=title, fill=colour)
        y0 = y + int(title.size * 1.6)
        for x0 in (margin, margin + col + gap):
            y = y0
            while y < height - margin - leading:
                y = paragraph(x0, x0 + col, y, int(rng.integers(2, 6)))
    elif layout == "letter":
        for _ in range(int(rng.integers(3, 5))):
            draw.text(
                (width - margin - int(width * 0.3), y),
                " ".join(pick(rng, WORDS).title() for _ in range(3)),
                font=body,
                fill=colour,
            )
            y += leading
        y += leading
        draw.text(
            (margin, y),
            f"{int(rng.integers(1, 29))} {pick(rng, ['March', 'May', 'October'])} 20{int(rng.integers(10, 26))}",
            font=body,
            fill=colour,
        )
        y += 2 * leading
        draw.text((margin, y), "Dear " + pick(rng, WORDS).title() + ",", font=body, fill=colour)
        y += 2 * leading
        for _ in range(int(rng.integers(2, 5))):
            y = paragraph(margin, width - margin, y, int(rng.integers(2, 5)))
        draw.text((margin, y + leading), "Yours sincerely,", font=body, fill=colour)
    elif layout == "invoice":
        draw.text((margin, y), "INVOICE" if rng.random() < 0.5 else "Statement", font=title, fill=colour)
        y += int(title.size * 2)
        cols = [
            margin,
            margin + int(width * 0.42),
            margin + int(width * 0.52),
            width - margin - int(width * 0.16),
        ]
        for _ in range(int(rng.integers(8, 22))):
            if y > height - margin - 3 * leading:
                break
            draw.text(
                (cols[0], y),
                " ".join(pick(rng, WORDS) for _ in range(int(rng.integers(1, 4)))),
                font=body,
                fill=colour,
            )
            draw.text((cols[1], y), str(int(rng.integers(1, 20))), font=body, fill=colour)
            draw.text((cols[2], y), f"{rng.uniform(1, 99):.2f}", font=body, fill=colour)
            draw.text((cols[3], y), f"{rng.uniform(1, 999):.2f}", font=body, fill=colour)
            y += leading
            if rng.random() < 0.5:
                draw.line((margin, y - 4, width - margin, y - 4), fill=colour, width=1)
        draw.text((cols[2], y + leading), f"Total  {rng.uniform(100, 9000):.2f}", font=title, fill=colour)
    elif layout == "form":
        while y < height - margin - 2 * leading:
            label = " ".join(pick(rng, WORDS) for _ in range(int(rng.integers(1, 3)))).title() + ":"
            draw.text((margin, y), label, font=body, fill=colour)
            x0 = margin + int(width * 0.3)
            if rng.random() < 0.5:
                draw.rectangle((x0, y - 4, width - margin, y + leading), outline=colour, width=2)
            else:
                draw.line((x0, y + size + 2, width - margin, y + size + 2), fill=colour, width=1)
            y += int(leading * rng.uniform(1.6, 2.4))
    elif layout == "slide":
        band = tuple(int(c) for c in rng.integers(0, 200, 3))
        draw.rectangle((0, 0, width, int(height * 0.18)), fill=band)
        draw.text(
            (margin, int(height * 0.04)), sentence(rng, 2, 5).rstrip(".,?:"), font=title, fill=(255, 255, 255)
        )
        y = int(height * 0.26)
        big = ImageFont.truetype(str(body_path), int(size * 1.4))
        while y < height - margin:
            draw.text((margin, y), "- " + sentence(rng, 3, 8), font=big, fill=colour)
            y += int(big.size * 1.8)
    return page


# ---------------------------------------------------------------------------------------------
# Receipts


def render_receipt(rng: np.random.Generator, font_sets: dict[str, list[Path]]) -> Image.Image:
    mono_regular = [
        p
        for p in font_sets["mono"]
        if "Bold" not in p.name and "Italic" not in p.name and "Oblique" not in p.name
    ]
    mono_bold = [
        p
        for p in font_sets["mono"]
        if "Bold" in p.name and "Italic" not in p.name and "Oblique" not in p.name
    ]
    size = int(rng.integers(16, 26))
    font = ImageFont.truetype(str(pick(rng, mono_regular)), size)
    bold = ImageFont.truetype(str(pick(rng, mono_bold)), int(size * rng.uniform(1.0, 1.8)))
    chars = int(rng.integers(28, 44))
    char_w = font.getlength("M")
    margin = int(rng.integers(12, 40))
    width = int(chars * char_w) + 2 * margin
    leading = int(size * rng.uniform(1.1, 1.45))
    lines: list[tuple[str, str]] = []  # (style, text)
    lines.append(("bold", pick(rng, STORES)))
    for _ in range(int(rng.integers(1, 4))):
        lines.append(("centre", f"{int(rng.integers(1, 300))} {pick(rng, WORDS).title()} Street"[:chars]))
    lines.append(("centre", f"Tel. 0{int(rng.integers(10, 99))} {int(rng.integers(100000, 999999))}"))
    lines.append(("left", ""))
    lines.append(
        (
            "left",
            f"{int(rng.integers(1, 29)):02d}.{int(rng.integers(1, 13)):02d}.20{int(rng.integers(15, 26))}  {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}   #{int(rng.integers(1000, 99999))}"[
                :chars
            ],
        )
    )
    lines.append(("left", "-" * chars if rng.random() < 0.6 else "=" * chars))
    total = 0.0
    for _ in range(int(rng.integers(3, 25))):
        price = float(rng.uniform(0.3, 40))
        total += price
        name = pick(rng, ITEMS)
        if rng.random() < 0.3:
            qty = int(rng.integers(2, 6))
            lines.append(("left", f"  {qty} x {price / qty:.2f}"))
        amount = f"{price:.2f} {pick(rng, ['A', 'B', ''])}".strip()
        lines.append(("left", name[: chars - len(amount) - 1].ljust(chars - len(amount)) + amount))
    lines.append(("left", "-" * chars))
    for label, value in (("SUBTOTAL", total / 1.19), ("TAX 19%", total - total / 1.19)):
        if rng.random() < 0.7:
            amount = f"{value:.2f}"
            lines.append(("left", label.ljust(chars - len(amount)) + amount))
    amount = f"{total:.2f}"
    lines.append(("bold", "TOTAL " + amount if rng.random() < 0.5 else "SUM EUR " + amount))
    lines.append(("left", ""))
    lines.append(
        (
            "left",
            pick(rng, ["VISA", "MASTERCARD", "CASH", "DEBIT", "EC-CARD"]).ljust(chars - 16)
            + f"**** **** {int(rng.integers(1000, 9999))}"[:16],
        )
    )
    if rng.random() < 0.6:
        for _ in range(int(rng.integers(2, 6))):
            lines.append(
                (
                    "left",
                    f"{pick(rng, ['TID', 'MID', 'AID', 'AUTH', 'REF', 'TRACE'])}: {int(rng.integers(10**5, 10**9))}",
                )
            )
    lines.append(("left", ""))
    lines.append(
        ("centre", pick(rng, ["THANK YOU!", "Thank you for shopping", "PLEASE COME AGAIN", "Vielen Dank"]))
    )
    barcode = rng.random() < 0.4
    height = margin * 2 + leading * (len(lines) + 1) + (int(size * 4) if barcode else 0)
    tone = paper(rng)
    receipt = Image.new("RGB", (width, height), tone)
    draw = ImageDraw.Draw(receipt)
    thermal = rng.random() < 0.4
    colour = (int(rng.integers(70, 140)),) * 3 if thermal else ink(rng)
    y = margin
    for style, text in lines:
        f = bold if style == "bold" else font
        w = draw.textlength(text, font=f)
        x = margin if style == "left" else (width - w) / 2
        draw.text((x, y), text, font=f, fill=colour)
        y += int(f.size * 1.25) if style == "bold" else leading
    if barcode:
        x = margin * 2
        while x < width - margin * 2:
            bar = int(rng.integers(1, 5))
            if rng.random() < 0.55:
                draw.rectangle((x, y + size, x + bar, y + int(size * 3.5)), fill=colour)
            x += bar + int(rng.integers(1, 3))
    if thermal:  # uneven thermal print: fade bands
        arr = np.asarray(receipt).astype(np.float32)
        fade = (
            1.0
            - rng.uniform(0.0, 0.35)
            * (0.5 + 0.5 * np.sin(np.linspace(0, rng.uniform(2, 9), height)))[:, None, None]
        )
        arr = 255 - (255 - arr) * fade
        receipt = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return receipt


# ---------------------------------------------------------------------------------------------
# "Photographing" a page or a receipt


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A table, desk, bed sheet, counter or floor the paper lies on (float32 RGB 0..255)."""
    kind = pick(rng, ["wood", "plain", "stone", "fabric", "dark"])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    level = rng.uniform(30, 235)
    base = np.clip(level + rng.normal(0, 12, 3) + rng.normal(0, 1) * np.array([12, 4, -10]), 0, 255).astype(
        np.float32
    )
    if kind == "wood":
        base = np.array([rng.uniform(110, 200), rng.uniform(70, 140), rng.uniform(30, 90)], np.float32)
        angle = rng.uniform(0, math.pi)
        u = xx * math.cos(angle) + yy * math.sin(angle)
        v = -xx * math.sin(angle) + yy * math.cos(angle)
        warp = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 25) * 400
        grain = np.sin((v + warp) / rng.uniform(3, 12)) * 0.5 + np.sin((v + warp * 0.5) / rng.uniform(20, 60))
        grain = grain + 0.002 * u * 0
        img = base[None, None, :] * (1 + 0.12 * grain[..., None])
    elif kind == "stone":
        speck = cv2.GaussianBlur(
            rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), rng.uniform(0.8, 3)
        )
        img = base[None, None, :] * (
            1 + rng.uniform(0.03, 0.12) * speck[..., None] / max(float(speck.std()), 1e-6)
        )
    elif kind == "fabric":
        period = rng.uniform(3, 9)
        weave = np.sin(xx / period) * np.sin(yy / period)
        img = base[None, None, :] * (1 + 0.08 * weave[..., None])
    elif kind == "dark":
        img = np.full((height, width, 3), rng.uniform(15, 60), np.float32) * np.array(
            [1, rng.uniform(0.9, 1.1), rng.uniform(0.85, 1.15)], np.float32
        )
    else:
        img = np.broadcast_to(base, (height, width, 3)).astype(np.float32)
    low = cv2.GaussianBlur(rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32), (0, 0), 4)
    low = cv2.resize(low, (width, height))
    fine = cv2.GaussianBlur(
        rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), rng.uniform(0.7, 2.5)
    )
    fine *= rng.uniform(0.02, 0.1) / max(float(fine.std()), 1e-6)
    return np.asarray(img, np.float32) * (
        1 + 0.1 * low[..., None] / max(float(low.std()), 1e-6) + fine[..., None]
    )


def scene_background(rng: np.random.Generator, scene: Entry, width: int, height: int) -> np.ndarray:
    """A crop of a real photo as the surface (a restaurant table, a lap, a car seat...), out of focus or not."""
    rgb = load_rgb(scene).astype(np.float32)
    h, w = rgb.shape[:2]
    share = rng.uniform(0.35, 1.0)
    ch, cw = max(8, int(h * share)), max(8, int(w * share))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = cv2.resize(rgb[y0 : y0 + ch, x0 : x0 + cw], (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(1, 6))
    return crop


def photograph(
    rng: np.random.Generator,
    sheet: Image.Image,
    fill: tuple[float, float],
    portrait: bool | None = None,
    scene: Entry | None = None,
) -> np.ndarray:
    """The sheet lying on a surface, seen by a phone camera: perspective, light, shadow, blur, noise."""
    if portrait is None:
        portrait = sheet.height >= sheet.width or rng.random() < 0.3
    long_side = int(rng.choice([1008, 1200, 1512, 1600, 2016]))
    ratio = float(rng.choice([4 / 3, 4 / 3, 16 / 9, 3 / 2, 1.0]))
    width, height = (int(long_side / ratio), long_side) if portrait else (long_side, int(long_side / ratio))
    src = np.asarray(sheet.convert("RGB"), np.float32)
    sh, sw = src.shape[:2]
    # Target quad: the sheet scaled to `fill` of the frame's height (or width), jittered corners.
    scale = rng.uniform(*fill) * min(width / sw, height / sh)
    if sh * scale > height * 1.15:
        scale = height * rng.uniform(0.8, 1.15) / sh
    cw, ch = sw * scale, sh * scale
    cx, cy = width / 2 + rng.uniform(-0.12, 0.12) * width, height / 2 + rng.uniform(-0.12, 0.12) * height
    angle = math.radians(rng.uniform(-12, 12) if rng.random() < 0.7 else rng.uniform(-40, 40))
    corners = np.array(
        [[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]], np.float32
    )
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)
    quad = corners @ rot.T + np.array([cx, cy], np.float32)
    quad += rng.normal(0, 0.04 * min(cw, ch), quad.shape).astype(np.float32)  # perspective
    matrix = cv2.getPerspectiveTransform(
        np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32), quad.astype(np.float32)
    )
    sheet_img = cv2.warpPerspective(
        src, matrix, (width, height), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    mask = cv2.warpPerspective(
        np.ones((sh, sw), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR
    )[..., None]
    surface = (
        scene_background(rng, scene, width, height) if scene is not None else background(rng, width, height)
    )
    img = surface * (1 - mask) + sheet_img * mask
    # Uneven light: a linear ramp and a soft spot; sometimes a hard-edged shadow (a hand, a phone).
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = 1 + rng.uniform(-0.25, 0.25) * (xx / width - 0.5) + rng.uniform(-0.25, 0.25) * (yy / height - 0.5)
    spot = np.exp(
        -(
            ((xx - rng.uniform(0, width)) ** 2 + (yy - rng.uniform(0, height)) ** 2)
            / (2 * (0.4 * long_side) ** 2)
        )
    )
    light = ramp * (rng.uniform(0.7, 0.95) + rng.uniform(0.0, 0.25) * spot)
    if rng.random() < 0.35:
        shadow = np.zeros((height, width), np.uint8)
        pts = np.array([[rng.uniform(0, width), rng.uniform(0, height)] for _ in range(4)], np.int32)
        pts[0] = [0 if rng.random() < 0.5 else width, pts[0][1]]
        cv2.fillPoly(shadow, [pts], 1)
        soft = cv2.GaussianBlur(shadow.astype(np.float32), (0, 0), rng.uniform(5, 40))
        light = light * (1 - rng.uniform(0.2, 0.5) * soft)
    img = img * light[..., None]
    blur = rng.uniform(0, 1.8)
    if blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img + rng.normal(0, rng.uniform(1, 6), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def curl(rng: np.random.Generator, sheet: Image.Image) -> Image.Image:
    """A receipt that does not lie flat: rows bend sideways a little, the paper darkens in the folds."""
    arr = np.asarray(sheet, np.float32)
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    amp, period = rng.uniform(2, 12), rng.uniform(150, 600)
    map_x = xx + amp * np.sin(yy / period * 2 * math.pi)
    out = cv2.remap(arr, map_x, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    shade = 1 - 0.12 * (0.5 + 0.5 * np.cos(yy / period * 2 * math.pi))
    return Image.fromarray(np.clip(out * shade[..., None], 0, 255).astype(np.uint8))


def scan(rng: np.random.Generator, sheet: Image.Image) -> np.ndarray:
    """A flat scan or a PDF export: perhaps a small tilt, some noise, a tint."""
    img = sheet
    if rng.random() < 0.5:
        img = img.rotate(
            float(rng.uniform(-2.5, 2.5)),
            resample=Image.Resampling.BILINEAR,
            expand=True,
            fillcolor=paper(rng),
        )
    arr = np.asarray(img.convert("RGB"), np.float32)
    if rng.random() < 0.6:
        arr = arr + rng.normal(0, rng.uniform(0.5, 4), arr.shape).astype(np.float32)
    if rng.random() < 0.3:
        arr = cv2.GaussianBlur(arr, (0, 0), rng.uniform(0.4, 1.0))
    return np.clip(arr, 0, 255).astype(np.uint8)


def save_jpeg(rng: np.random.Generator, rgb: np.ndarray, path: Path) -> None:
    Image.fromarray(rgb).save(path, quality=int(rng.integers(55, 96)))


def pick_scene(rng: np.random.Generator, scenes: list[Entry]) -> Entry | None:
    """Half of the photographed sheets lie on a real scene; the sheet then joins that photo's half."""
    return pick(rng, scenes) if scenes and rng.random() < SCENE_SHARE else None


def _make_sheets(
    cache: Path,
    kind: str,
    stream: int,
    count: int,
    seed: int,
    scenes: list[Entry],
    sheet: Callable[[np.random.Generator, dict[str, list[Path]]], Image.Image],
    photo_share: float,
    frame: Callable[[np.random.Generator, Image.Image, Entry | None, bool], np.ndarray],
) -> Iterator[Entry]:
    """Sheets of one kind (seeded stream [seed, stream, i]): a `photo_share` of them photographed
    (perhaps lying on a real scene), the others scanned; `frame` does either (its last argument)."""
    font_sets = fonts()
    folder = cache / kind
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng([seed, stream, i])
        page = sheet(rng, font_sets)
        style = "photo" if rng.random() < photo_share else "scan"
        scene = pick_scene(rng, scenes) if style == "photo" else None
        rgb = frame(rng, page, scene, style == "photo")
        path = folder / f"{kind}_{i:04d}_{style}.jpg"
        save_jpeg(rng, rgb, path)
        yield Entry(str(path), kind, scene.group if scene else f"{kind}/{i}", f"{kind}-{style}")


def make_documents(cache: Path, count: int, seed: int, scenes: list[Entry]) -> Iterator[Entry]:
    def frame(rng: np.random.Generator, page: Image.Image, scene: Entry | None, photo: bool) -> np.ndarray:
        return photograph(rng, page, (0.6, 1.05), scene=scene) if photo else scan(rng, page)

    return _make_sheets(cache, "document", 1, count, seed, scenes, render_page, 0.55, frame)


def make_receipts(cache: Path, count: int, seed: int, scenes: list[Entry]) -> Iterator[Entry]:
    def sheet(rng: np.random.Generator, font_sets: dict[str, list[Path]]) -> Image.Image:
        receipt = render_receipt(rng, font_sets)
        return curl(rng, receipt) if rng.random() < 0.4 else receipt

    def frame(rng: np.random.Generator, receipt: Image.Image, scene: Entry | None, photo: bool) -> np.ndarray:
        portrait = rng.random() < 0.8  # drawn for a scan too: the seeded check set stays as it was
        return photograph(rng, receipt, (0.45, 1.0), portrait, scene) if photo else scan(rng, receipt)

    return _make_sheets(cache, "receipt", 2, count, seed, scenes, sheet, 0.65, frame)


def make_blanks(cache: Path, count: int, seed: int, scenes: list[Entry]) -> Iterator[Entry]:
    folder = cache / "blank"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng([seed, 3, i])
        long_side = int(rng.choice([1008, 1280, 1600, 2016]))
        width, height = (
            (long_side, long_side * 3 // 4) if rng.random() < 0.5 else (long_side * 3 // 4, long_side)
        )
        kind = pick(rng, ["uniform", "wall", "black", "white", "blown", "pocket"])
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        if kind in ("uniform", "wall"):
            colour = rng.uniform(0, 255, 3).astype(np.float32)
            img = np.broadcast_to(colour, (height, width, 3)).astype(np.float32)
            if kind == "wall":  # out-of-focus wall: a gentle light gradient and vignette
                ramp = rng.uniform(-8, 8) * (xx / width - 0.5) + rng.uniform(-8, 8) * (yy / height - 0.5)
                vignette = -rng.uniform(0, 10) * (((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * 2)
                img = img + (ramp + vignette)[..., None]
        elif kind in ("black", "pocket"):
            level = rng.uniform(0, 12)
            img = np.full((height, width, 3), level, np.float32)
            if kind == "pocket":  # a faint glow of fabric through the lens
                glow = np.exp(
                    -(
                        ((xx - rng.uniform(0, width)) ** 2 + (yy - rng.uniform(0, height)) ** 2)
                        / (2 * (0.5 * long_side) ** 2)
                    )
                )
                img = img + rng.uniform(2, 10) * glow[..., None] * np.array([1, 0.8, 0.7], np.float32)
        elif kind == "white":
            img = np.full((height, width, 3), rng.uniform(243, 255), np.float32)
        else:  # blown out: a scene pushed to white, only a trace of it left
            scene = cv2.GaussianBlur(
                rng.uniform(0, 1, (height // 16, width // 16, 3)).astype(np.float32), (0, 0), 2
            )
            scene = cv2.resize(scene, (width, height))
            img = 255 - (1 - scene) * rng.uniform(3, 12)
        img = img + rng.normal(0, rng.uniform(0.3, 4), img.shape).astype(np.float32)
        path = folder / f"blank_{i:04d}_{kind}.jpg"
        save_jpeg(rng, np.clip(img, 0, 255).astype(np.uint8), path)
        yield Entry(str(path), "blank", f"blank/{i}", f"blank-{kind}")


# ---------------------------------------------------------------------------------------------
# Browser screenshots of generated pages


VIEWPORTS = [  # (name, width, height, device scale factor)
    ("phone", 390, 844, 3),
    ("phone", 390, 844, 3),
    ("phone", 360, 800, 2),
    ("phone", 414, 896, 2),
    ("tablet", 820, 1180, 2),
    ("desktop", 1440, 900, 1),
    ("desktop", 1920, 1080, 1),
    ("desktop", 1280, 800, 2),
    ("desktop", 1536, 864, 1),
]
FAMILIES = [
    "DejaVu Sans",
    "Liberation Sans",
    "Liberation Serif",
    "DejaVu Serif",
    "Liberation Sans Narrow",
    "DejaVu Sans Condensed",
    "sans-serif",
]


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> str:
    r, g, b = (int(v) for v in rng.integers(low, high, 3))
    return f"#{r:02x}{g:02x}{b:02x}"


def _picture(rng: np.random.Generator, width: str, height: str) -> str:
    """A stand-in for a picture on the page: CSS gradients (no real photos enter the clutter class)."""
    a, b, c = _colour(rng), _colour(rng), _colour(rng)
    return (
        f'<div style="width:{width};height:{height};border-radius:{int(rng.integers(0, 16))}px;'
        f"background:radial-gradient(circle at {int(rng.integers(0, 100))}% {int(rng.integers(0, 100))}%, {a}, transparent 60%),"
        f'linear-gradient({int(rng.integers(0, 360))}deg, {b}, {c});"></div>'
    )


def page_html(rng: np.random.Generator, phone: bool) -> str:
    dark = rng.random() < 0.3
    bg, fg = (
        ("#000000" if rng.random() < 0.5 else "#1e1e1e", "#e8e8e8")
        if dark
        else ("#ffffff" if rng.random() < 0.6 else "#f2f2f7", "#111111")
    )
    muted = "#9a9a9a" if dark else "#6b6b6b"
    card = "#2c2c2e" if dark else "#ffffff"
    accent = pick(
        rng, ["#007aff", "#34c759", "#ff3b30", "#5856d6", "#ff9500", "#0a66c2", "#1da1f2", "#e1306c"]
    )
    family = pick(rng, FAMILIES)
    size = int(rng.integers(13, 19))
    kind = pick(
        rng,
        [
            "article",
            "form",
            "chat",
            "settings",
            "inbox",
            "sheet",
            "code",
            "search",
            "shop",
            "calendar",
            "feed",
        ],
    )

    def s(low: int = 4, high: int = 14) -> str:
        return sentence(rng, low, high)

    body: list[str] = []
    if phone:
        body.append(
            f'<div style="display:flex;justify-content:space-between;padding:6px 18px;font-weight:600">'
            f"<span>{int(rng.integers(1, 13))}:{int(rng.integers(0, 60)):02d}</span><span>&#9679;&#9679;&#9679; 5G &#9646;{int(rng.integers(5, 100))}%</span></div>"
        )
    body.append(
        f'<div style="padding:10px 16px;font-size:1.3em;font-weight:700;border-bottom:1px solid {muted}33">{s(1, 4)}</div>'
    )
    if kind == "article":
        body.append(
            f"<h1 style='margin:16px'>{s(4, 10)}</h1><p style='margin:0 16px;color:{muted}'>{s(3, 6)}</p>"
        )
        if rng.random() < 0.5:
            body.append(
                f"<div style='margin:16px'>{_picture(rng, '100%', str(int(rng.integers(120, 300))) + 'px')}</div>"
            )
        body.extend(
            f"<p style='margin:12px 16px;line-height:1.5'>{' '.join(s() for _ in range(int(rng.integers(2, 6))))}</p>"
            for _ in range(8)
        )
    elif kind == "form":
        for _ in range(int(rng.integers(4, 10))):
            body.append(
                f"<label style='display:block;margin:14px 16px 4px'>{s(1, 3)}</label>"
                f"<input style='margin:0 16px;width:80%;padding:8px;font-size:1em' value='{pick(rng, WORDS) if rng.random() < 0.5 else ''}' placeholder='{s(1, 3)}'>"
            )
        body.append(
            f"<button style='margin:20px 16px;padding:12px 40px;background:{accent};color:white;border:0;border-radius:8px;font-size:1em'>{s(1, 2)}</button>"
        )
    elif kind == "chat":
        for _ in range(int(rng.integers(6, 16))):
            mine = rng.random() < 0.5
            colour, text = (accent, "white") if mine else (card if dark else "#e5e5ea", fg)
            body.append(
                f"<div style='display:flex;justify-content:{'flex-end' if mine else 'flex-start'};margin:6px 12px'>"
                f"<div style='max-width:70%;padding:8px 12px;border-radius:18px;background:{colour};color:{text}'>{s(1, 12)}</div></div>"
            )
    elif kind in ("settings", "inbox", "search"):
        for _ in range(int(rng.integers(8, 20))):
            icon = f"<div style='width:28px;height:28px;border-radius:{'50%' if kind == 'inbox' else '7px'};background:{_colour(rng)};flex:none'></div>"
            right = (
                "<div style='width:44px;height:26px;border-radius:13px;background:#34c759'></div>"
                if kind == "settings" and rng.random() < 0.4
                else f"<span style='color:{muted}'>{pick(rng, WORDS) if kind == 'settings' else str(int(rng.integers(1, 12))) + ':' + str(int(rng.integers(10, 60)))}</span>"
            )
            detail = (
                f"<div style='color:{muted};font-size:0.85em'>{s(4, 12)}</div>" if kind != "settings" else ""
            )
            link = f"<div style='color:{accent}'>{s(3, 8)}</div>" if kind == "search" else ""
            body.append(
                f"<div style='display:flex;gap:12px;align-items:center;padding:10px 16px;border-bottom:1px solid {muted}33;background:{card}'>"
                f"{icon if kind != 'search' else ''}<div style='flex:1'>{link}<div>{s(1, 5)}</div>{detail}</div>{right}</div>"
            )
    elif kind == "sheet":
        cols = int(rng.integers(3, 9))
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td style='border:1px solid {muted}66;padding:3px 6px'>{pick(rng, WORDS) if c == 0 else f'{rng.uniform(0, 9999):.2f}'}</td>"
                for c in range(cols)
            )
            + "</tr>"
            for _ in range(int(rng.integers(15, 40)))
        )
        body.append(f"<table style='border-collapse:collapse;margin:8px;font-size:0.9em'>{rows}</table>")
    elif kind == "code":
        keywords = ["def", "return", "import", "class", "for", "if", "const", "let", "function", "while"]
        lines = []
        for n in range(int(rng.integers(20, 50))):
            indent = "&nbsp;" * 4 * int(rng.integers(0, 4))
            lines.append(
                f"<div><span style='color:{muted}'>{n + 1:3d}</span> {indent}<span style='color:{accent}'>{pick(rng, keywords)}</span> {' '.join(pick(rng, WORDS) for _ in range(int(rng.integers(1, 7))))}</div>"
            )
        body.append(
            f"<div style='font-family:monospace;padding:8px;white-space:nowrap'>{''.join(lines)}</div>"
        )
    elif kind == "shop":
        cells = "".join(
            f"<div style='background:{card};padding:8px;border-radius:8px'>{_picture(rng, '100%', '120px')}<div>{s(2, 5)}</div><b>${rng.uniform(3, 300):.2f}</b></div>"
            for _ in range(int(rng.integers(4, 13)))
        )
        body.append(
            f"<div style='display:grid;grid-template-columns:repeat({2 if phone else 4},1fr);gap:12px;padding:12px'>{cells}</div>"
        )
    elif kind == "calendar":
        cells = "".join(
            f"<div style='border:1px solid {muted}44;min-height:60px;padding:4px'>{d}<div style='background:{_colour(rng, 100)};font-size:0.7em;color:#111;border-radius:3px'>{pick(rng, WORDS) if rng.random() < 0.4 else ''}</div></div>"
            for d in range(1, 36)
        )
        body.append(f"<div style='display:grid;grid-template-columns:repeat(7,1fr);margin:8px'>{cells}</div>")
    else:  # feed: avatars, names, short posts with pictures
        for _ in range(int(rng.integers(2, 6))):
            body.append(
                f"<div style='padding:12px 16px;border-bottom:1px solid {muted}33'><div style='display:flex;gap:8px;align-items:center'>"
                f"<div style='width:36px;height:36px;border-radius:50%;background:{_colour(rng)}'></div><b>{pick(rng, WORDS).title()} {pick(rng, WORDS).title()}</b>"
                f"<span style='color:{muted}'>@{pick(rng, WORDS)}</span></div><p>{s(5, 25)}</p>"
                f"{_picture(rng, '100%', str(int(rng.integers(80, 220))) + 'px') if rng.random() < 0.5 else ''}</div>"
            )
    if phone and rng.random() < 0.6:  # a tab bar
        tabs = "".join(
            f"<div style='text-align:center;font-size:0.7em;color:{accent if t == 0 else muted}'><div style='width:24px;height:24px;margin:auto;border-radius:6px;background:{accent if t == 0 else muted}'></div>{pick(rng, WORDS)}</div>"
            for t in range(int(rng.integers(3, 6)))
        )
        body.append(
            f"<div style='position:fixed;bottom:0;left:0;right:0;display:flex;justify-content:space-around;padding:8px 0 24px;background:{card};border-top:1px solid {muted}44'>{tabs}</div>"
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'></head>"
        f"<body style='margin:0;background:{bg};color:{fg};font-family:\"{family}\";font-size:{size}px'>{''.join(body)}</body></html>"
    )


def make_screenshots(cache: Path, count: int, seed: int, scenes: list[Entry]) -> Iterator[Entry]:
    from playwright.sync_api import sync_playwright

    folder = cache / "screenshot"
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for i in range(count):
                rng = np.random.default_rng([seed, 4, i])
                name, width, height, scale = VIEWPORTS[int(rng.integers(len(VIEWPORTS)))]
                context = browser.new_context(
                    viewport={"width": width, "height": height}, device_scale_factor=scale
                )
                page = context.new_page()
                page.set_content(page_html(rng, name == "phone"))
                png = page.screenshot(type="png")
                context.close()
                path = folder / f"screenshot_{i:04d}_{name}.png"
                if rng.random() < 0.25:  # shared through a messenger: re-encoded as JPEG, perhaps smaller
                    img = Image.open(io.BytesIO(png)).convert("RGB")
                    if rng.random() < 0.5:
                        img = img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
                    path = path.with_suffix(".jpg")
                    img.save(path, quality=int(rng.integers(60, 92)))
                else:
                    path.write_bytes(png)
                yield Entry(str(path), "screenshot", f"screenshot/{i}", f"screenshot-{name}")
        finally:
            browser.close()


def build(cache: Path, seed: int) -> list[Entry]:
    stamp = cache / "built"
    expected = f"{BUILD_VERSION}:{seed}:{sorted(COUNTS.items())}"
    if stamp.exists() and stamp.read_text() == expected and (cache / "manifest.csv").exists():
        return read_manifest(cache)
    cache.mkdir(parents=True, exist_ok=True)
    real = real_entries(seed)
    scenes = [e for e in real if e.origin in SCENE_SETS and not e.variant]
    entries: list[Entry] = []
    makers: list[tuple[str, Callable[[Path, int, int, list[Entry]], Iterator[Entry]]]] = [
        ("document", make_documents),
        ("receipt", make_receipts),
        ("blank", make_blanks),
        ("screenshot", make_screenshots),
    ]
    for kind, maker in makers:
        start = time.perf_counter()
        made = list(maker(cache, COUNTS[kind], seed, scenes))
        print(f"built {len(made)} {kind} in {time.perf_counter() - start:.0f} s", flush=True)
        entries.extend(made)
    entries.extend(real)
    entries.extend(video_frames(cache))
    write_manifest(cache, entries)
    stamp.write_text(expected)
    return entries


# ---------------------------------------------------------------------------------------------
# Fitting (first half) and the report (held-out half)


def _features_of(entry: Entry) -> dict[str, float]:
    return clutter.features(load_rgb(entry))


def feature_table(entries: list[Entry]) -> list[dict[str, float]]:
    from multiprocessing import Pool

    with Pool(min(2, os.cpu_count() or 1)) as pool:
        return pool.map(_features_of, entries, chunksize=16)


# The features the clutter model weighs (the rest only name the kind: the picture's shape and exact
# digital flatness say "screenshot" or "receipt" but must not decide that a photo is clutter).
CLUTTER_FEATURES = clutter.FEATURE_NAMES[:11]
# Logistic regression settings, compared on an earlier version of the features: C of 0.1, 1 and 10 and
# real photos weighing 3 or 10 to 1; at C=10 and 10 to 1 the fitting half's recall at the threshold was
# 0.93 against 0.85 at C=0.1 (the held-out half agreed: 0.92 against 0.83).
MODEL_C = 10.0
REAL_WEIGHT = 10.0
# The threshold lets through this share of the fitting half's real photos (at most).
FIT_FALSE_POSITIVES = 0.003


def _folded(model, mean: np.ndarray, std: np.ndarray, row: int = 0) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    coef = model.coef_[row] / std
    return coef, float(model.intercept_[row] - (model.coef_[row] * mean / std).sum())


def fit(entries: list[Entry], seed: int) -> None:
    """Fit the clutter and kind models on the first half; print the constants for memories/clutter.py."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    train = [e for e in entries if not held_out(e.group, seed)]
    print(f"fitting half: {len(train)} photos; measuring features...", flush=True)
    table = feature_table(train)
    kinds = np.array([e.kind for e in train])
    # The model decides only pictures with some text (clutter.TEXT_MIN); blank frames have their own test.
    has_text = np.array([row["text_share"] >= clutter.TEXT_MIN for row in table])
    model_rows = (kinds != "blank") & has_text
    y = kinds[model_rows] != "photo"
    print(
        f"with text blocks: {int(y.sum())} of {int(np.isin(kinds, ['screenshot', 'document', 'receipt']).sum())} "
        f"clutter, {int((~y).sum())} of {int((kinds == 'photo').sum())} real photos"
    )
    x = np.array([[row[n] for n in CLUTTER_FEATURES] for row, m in zip(table, model_rows, strict=True) if m])
    for j, name in enumerate(CLUTTER_FEATURES):
        print(
            f"  {name:>16}: AUC {roc_auc_score(y, x[:, j]):.3f}  real median {np.median(x[~y, j]):.3f}  "
            f"clutter median {np.median(x[y, j]):.3f}"
        )
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=MODEL_C, max_iter=20000)
    model.fit((x - mean) / std, y, sample_weight=np.where(y, 1.0, REAL_WEIGHT))
    coef, intercept = _folded(model, mean, std)
    score = x @ coef + intercept
    # Real photos without text are never clutter: they count below every score.
    n_real = int((kinds == "photo").sum())
    real_scores = np.sort(np.concatenate([score[~y], np.full(n_real - int((~y).sum()), -np.inf)]))
    threshold = float(real_scores[int(math.ceil(len(real_scores) * (1 - FIT_FALSE_POSITIVES))) - 1])
    threshold = round(threshold + 0.005, 2)
    print(
        f"fitting half: {int(y.sum())} clutter, {int((~y).sum())} real; at the threshold: recall "
        f"{float((score[y] > threshold).mean()):.3f}, false positives {int((score[~y] > threshold).sum())}"
    )

    clutter_rows = np.isin(kinds, ["screenshot", "document", "receipt"])
    xk = np.array(
        [[row[n] for n in clutter.FEATURE_NAMES] for row, m in zip(table, clutter_rows, strict=True) if m]
    )
    yk = kinds[clutter_rows]
    kmean, kstd = xk.mean(axis=0), xk.std(axis=0) + 1e-9
    kind_model = LogisticRegression(C=MODEL_C, max_iter=20000).fit((xk - kmean) / kstd, yk)
    print(
        f"kind model on the fitting half's clutter: {float((kind_model.predict((xk - kmean) / kstd) == yk).mean()):.3f} right"
    )

    print("\n# --- paste into memories/clutter.py ---")
    print("CLUTTER_WEIGHTS: dict[str, float] = {")
    for name, c in zip(CLUTTER_FEATURES, coef, strict=True):
        print(f'    "{name}": {c:.5g},')
    print("}")
    print(f"CLUTTER_INTERCEPT = {intercept:.5g}")
    print(f"CLUTTER_THRESHOLD = {threshold}")
    print("KIND_WEIGHTS: dict[str, dict[str, float]] = {")
    for row, kind in enumerate(kind_model.classes_):
        kc, _ = _folded(kind_model, kmean, kstd, row)
        print(
            f'    "{kind}": {{'
            + ", ".join(f'"{n}": {c:.4g}' for n, c in zip(clutter.FEATURE_NAMES, kc, strict=True))
            + "},"
        )
    print("}")
    print(
        "KIND_INTERCEPTS: dict[str, float] = {"
        + ", ".join(
            f'"{kind}": {_folded(kind_model, kmean, kstd, row)[1]:.4g}'
            for row, kind in enumerate(kind_model.classes_)
        )
        + "}"
    )


def report(entries: list[Entry], seed: int, fresh: bool = False) -> None:
    if fresh:  # clutter generated with a seed the model was never fitted on: all of it, no real photos
        test = [e for e in entries if e.kind != "photo"]
    else:
        test = [e for e in entries if held_out(e.group, seed)]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    by_origin: dict[str, Counter[str]] = defaultdict(Counter)
    times: list[tuple[int, float]] = []
    false_positives: list[tuple[str, str]] = []
    misses: list[tuple[str, str]] = []
    for e in test:
        rgb = load_rgb(e)
        start = time.perf_counter()
        got = clutter.clutter_kind(rgb)
        times.append((max(rgb.shape[:2]), (time.perf_counter() - start) * 1000))
        label = got or "photo"
        confusion[e.kind][label] += 1
        by_origin[e.origin]["n"] += 1
        by_origin[e.origin]["wrong"] += int((label == "photo") != (e.kind == "photo"))
        if e.kind == "photo" and got is not None:
            false_positives.append((e.name, got))
        if e.kind != "photo" and got is None:
            misses.append((e.name, e.kind))
    what = f"fresh clutter (seed {seed}), every one" if fresh else f"held-out half (seed {seed})"
    print(f"\n{what}: {len(test)} photos")
    print(f"{'class':>11} {'count':>6} {'as clutter':>11} {'rate':>7}   confusion")
    for kind in KINDS:
        row = confusion[kind]
        n = sum(row.values())
        if not n:
            continue
        flagged = n - row["photo"]
        what = "false positives" if kind == "photo" else "recall"
        detail = " ".join(f"{k}:{row[k]}" for k in KINDS if row[k])
        print(f"{kind:>11} {n:>6} {flagged:>11} {flagged / n:>7.2%}   ({what}) {detail}")
    clutter_n = sum(sum(confusion[k].values()) for k in KINDS[1:])
    caught = sum(sum(confusion[k].values()) - confusion[k]["photo"] for k in KINDS[1:])
    print(f"{'all clutter':>11} {clutter_n:>6} {caught:>11} {caught / max(clutter_n, 1):>7.2%}   (recall)")
    texts = ("screenshot", "document", "receipt")
    text_n = sum(sum(confusion[k].values()) for k in texts)
    text_caught = sum(sum(confusion[k].values()) - confusion[k]["photo"] for k in texts)
    named = sum(confusion[k][k] for k in texts)
    print(
        f"{'with text':>11} {text_n:>6} {text_caught:>11} {text_caught / max(text_n, 1):>7.2%}   (recall: "
        f"screenshots, documents, receipts; {named / max(text_caught, 1):.0%} of those caught get the right kind)"
    )
    print("\nerrors by origin:")
    for origin in sorted(by_origin):
        c = by_origin[origin]
        print(f"  {origin:>22}: {c['wrong']:>3} / {c['n']}")
    print(
        "\nclutter_kind time per photo (decoded RGB in, as the app calls it; wall clock, so a busy machine adds):"
    )
    sides = np.array([side for side, _ in times])
    millis = np.array([ms for _, ms in times])
    for low, high in ((0, 700), (700, 1300), (1300, 100000)):
        m = (sides >= low) & (sides < high)
        if m.any():
            print(
                f"  long side {low}-{high if high < 100000 else ''} px: {int(m.sum())} photos, median "
                f"{np.median(millis[m]):.1f} ms, p95 {np.percentile(millis[m], 95):.1f} ms"
            )
    if fresh:
        print(f"\nclutter missed ({len(misses)}):")
        for name, kind in misses:
            print(f"  {kind:>10}  {name}")
        return
    print(f"\nheld-out false positives ({len(false_positives)}):")
    for name, got in false_positives:
        print(f"  {got:>10}  {name}")
    print(f"\nheld-out clutter missed ({len(misses)}):")
    for name, kind in misses:
        print(f"  {kind:>10}  {name}")


def timing_at(repeats: int = 30) -> None:
    """clutter_kind on a sample photo at about 1000 px and at a phone camera's 4032 x 3024, wall and CPU."""
    photo = sorted(SAMPLES.rglob("*.jpg"))[0]
    with Image.open(photo) as im:
        im = im.convert("RGB")
        im.thumbnail((1000, 1000))
        rgb = np.asarray(im)
    big = cv2.resize(rgb, (3024, 4032) if rgb.shape[0] > rgb.shape[1] else (4032, 3024))
    print()
    for threads in (cv2.getNumThreads(), 1):
        previous = cv2.getNumThreads()
        cv2.setNumThreads(threads)
        for picture in (rgb, big):
            clutter.clutter_kind(picture)
            wall, cpu = [], []
            for _ in range(repeats if picture is rgb else max(3, repeats // 5)):
                start, start_cpu = time.perf_counter(), time.process_time()
                clutter.clutter_kind(picture)
                wall.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            print(
                f"clutter_kind at {picture.shape[1]}x{picture.shape[0]}, {threads} OpenCV thread(s): median "
                f"{np.median(wall):.1f} ms wall, {np.median(cpu):.1f} ms CPU"
            )
        cv2.setNumThreads(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--build", action="store_true", help="only build the check set")
    parser.add_argument(
        "--fit", action="store_true", help="fit the model on the first half and print its constants"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="report on every generated picture of a check set built with another seed (no real photos)",
    )
    args = parser.parse_args()
    entries = build(args.cache, args.seed)
    counts = Counter(e.kind for e in entries)
    print(f"check set in {args.cache}: " + ", ".join(f"{counts[k]} {k}" for k in KINDS))
    if args.build:
        return
    if args.fit:
        fit(entries, args.seed)
        return
    report(entries, args.seed, args.fresh)
    timing_at()


if __name__ == "__main__":
    main()
