"""Movie QA: every memory the samples suggest, rendered and checked as a viewer would watch it.

    .venv/bin/python -m benchmarks.bench_movie_qa [--sizes 720p,1080p] [--json] [--keep DIR]

Builds a library from `samples/photos` plus two clutter photos (a receipt and a screenshot, dated
inside sample moments) with the same code as `memories index` and `memories cluster`, then
renders the best suggestion of every built-in theme (plus a forced Trip and On This Day when the
samples do not suggest one) through the code path of `memories make`, at each size, and prints
per movie and in total:

1. shots where a detected face of the shown photo is cut by the frame edge (at 9 points of each
   shot; a face already cut by the photo's own edge does not count);
2. frozen time outside the title and end cards (ffmpeg `freezedetect`, its defaults: -60 dB, 2 s);
3. the largest upscale of a photo (output width / crop width in photo pixels);
4. audio: whether two memories share identical audio, loudness range (LRA) and integrated
   loudness (ffmpeg `ebur128`);
5. whether a clutter photo appears in any movie;
6. render time as a multiple of the movie's length.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "photos"
CLUTTER_NAMES = ("receipt-scan.jpg", "screenshot.png")


def _ffmpeg() -> str:
    from imageio_ffmpeg import get_ffmpeg_exe

    return str(get_ffmpeg_exe())


def _receipt(path: Path, taken: datetime) -> None:
    """A photographed till receipt: a long white slip of monospace lines on a grey table."""
    from memories.render.cards import font

    slip = Image.new("RGB", (420, 900), (246, 246, 242))
    draw = ImageDraw.Draw(slip)
    text = font(22)
    lines = ["CAFE AM MARKT", "Invoice 20231127-0042", "-" * 28]
    lines += [f"{item:<18}{price:>8.2f}" for item, price in (("Espresso", 2.4), ("Cake", 4.9), ("Water", 2.1))] * 4
    lines += ["-" * 28, f"{'TOTAL EUR':<18}{37.60:>8.2f}", "VAT 19%   6.00", "Thank you!"]
    for row, line in enumerate(lines):
        draw.text((24, 30 + row * 38), line, fill=(30, 30, 30), font=text)
    table = Image.new("RGB", (1200, 1000), (120, 118, 112))
    table.paste(slip.rotate(3, expand=True, fillcolor=(120, 118, 112)), (380, 20))
    exif = Image.Exif()
    exif[0x8769] = {0x9003: taken.strftime("%Y:%m:%d %H:%M:%S")}
    exif[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    table.save(path, quality=90, exif=exif)


def _screenshot(path: Path, taken: datetime) -> None:
    """A phone screenshot: a status bar, a list of chat rows, flat colours."""
    from memories.render.cards import font

    shot = Image.new("RGB", (1170, 2532), (255, 255, 255))
    draw = ImageDraw.Draw(shot)
    draw.rectangle((0, 0, 1170, 140), fill=(247, 247, 247))
    draw.text((60, 50), "9:41", fill=(0, 0, 0), font=font(44))
    for row in range(12):
        top = 200 + row * 190
        draw.ellipse((50, top, 170, top + 120), fill=(80 + 12 * row, 140, 220))
        draw.text((210, top + 10), f"Contact {row + 1}", fill=(0, 0, 0), font=font(44))
        draw.text((210, top + 70), "See you at the station at eight", fill=(120, 120, 120), font=font(34))
        draw.line((210, top + 170, 1170, top + 170), fill=(225, 225, 225), width=2)
    shot.save(path)
    stamp = taken.timestamp()
    os.utime(path, (stamp, stamp))


def build_library(root: Path) -> Path:
    from memories.pipeline import cluster_and_graph, index_and_assign
    from memories.store import Library

    photos = root / "photos"
    shutil.copytree(SAMPLES, photos)
    _receipt(photos / "2023" / "2023-11-27 Dinner" / CLUTTER_NAMES[0], datetime(2023, 11, 27, 20, 40))
    _screenshot(photos / "2019" / "2019-11-27 Birthday" / CLUTTER_NAMES[1], datetime(2019, 11, 27, 19, 30))
    library = root / "lib"
    with Library(library) as opened:
        index_and_assign(opened, [photos])
        cluster_and_graph(opened)
    return library


def chosen_movies(library_root: Path) -> list[tuple[Any, Any]]:
    """(theme, candidate): the best suggestion of each theme; Trip and On This Day forced if absent."""
    from memories.making import candidates, themes_for
    from memories.store import Library

    with Library(library_root) as library:
        themes = themes_for(library)
        picked = []
        for theme_id in sorted(themes):
            theme = themes[theme_id]
            found = candidates(library, theme)
            if not found and theme_id == "trip":
                theme = replace(theme, params={**theme.params, "min_photos": 5}, min_photos=5)
                found = candidates(library, theme)
            if not found and theme_id == "on_this_day":
                found = candidates(library, theme, today=date(2025, 11, 27))
            if found:
                picked.append((theme, max(found, key=lambda c: (c.score, c.key))))
        return picked


def _faces(db: sqlite3.Connection, asset_id: int) -> tuple[list[tuple[float, ...]], tuple[int, int]]:
    width, height = db.execute("SELECT width, height FROM assets WHERE id = ?", (asset_id,)).fetchone()
    boxes = db.execute(
        "SELECT face_x, face_y, face_w, face_h FROM observations WHERE asset_id = ? AND source = 'detector'",
        (asset_id,),
    ).fetchall()
    return [tuple(b) for b in boxes], (int(width), int(height))


def cut_shots(sidecar: dict[str, Any], db: sqlite3.Connection) -> list[str]:
    """Photo shots in which some crop along the shot cuts a face of the shown photo."""
    from memories.render import kenburns

    cut = []
    for shot in sidecar["assets"]:
        if shot["kind"] != "photo" or not shot.get("crop_start"):
            continue
        faces, (width, height) = _faces(db, int(shot["asset_id"]))
        inside = [f for f in faces if f[0] >= 0 and f[1] >= 0 and f[0] + f[2] <= width and f[1] + f[3] <= height]
        start, end = kenburns.Rect(*shot["crop_start"]), kenburns.Rect(*shot["crop_end"])
        for u in np.linspace(0.0, 1.0, 9):
            if kenburns.cut_faces(kenburns.interpolate(start, end, float(u)), inside):
                cut.append(Path(shot["path"]).name)
                break
    return cut


def frozen_outside_cards(video: Path, sidecar: dict[str, Any]) -> float:
    run = subprocess.run(
        [_ffmpeg(), "-nostats", "-i", str(video), "-map", "0:v", "-vf", "freezedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    starts = [float(v) for v in re.findall(r"freeze_start: ([\d.]+)", run.stderr)]
    ends = [float(v) for v in re.findall(r"freeze_end: ([\d.]+)", run.stderr)]
    ends += [float(sidecar["duration"])] * (len(starts) - len(ends))  # frozen to the end
    title_end = max((a["cut_out"] for a in sidecar["assets"] if a["kind"] == "title"), default=0.0)
    end_start = min((a["cut_in"] for a in sidecar["assets"] if a["kind"] == "end"), default=sidecar["duration"])
    return sum(max(0.0, min(e, end_start) - max(s, title_end)) for s, e in zip(starts, ends, strict=True))


def largest_upscale(sidecar: dict[str, Any]) -> float:
    width = sidecar["size"][0]
    crops = [
        crop[2]
        for shot in sidecar["assets"]
        if shot["kind"] == "photo"
        for crop in (shot.get("crop_start"), shot.get("crop_end"))
        if crop
    ]
    return max((width / w for w in crops), default=0.0)


def audio_measures(video: Path) -> dict[str, Any]:
    pcm = subprocess.run(
        [_ffmpeg(), "-nostats", "-i", str(video), "-map", "0:a", "-f", "s16le", "-ac", "2", "-"],
        capture_output=True,
        check=True,
    ).stdout
    meter = subprocess.run(
        [_ffmpeg(), "-nostats", "-i", str(video), "-map", "0:a", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    summary = meter[meter.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    lra = re.search(r"LRA:\s+([\d.]+) LU", summary)
    return {
        "audio_sha256": hashlib.sha256(pcm).hexdigest()[:16],
        "lufs": float(integrated.group(1)) if integrated else None,
        "lra": float(lra.group(1)) if lra else None,
    }


def measure(library_root: Path, out: Path, sizes: list[str]) -> dict[str, Any]:
    from memories.cli import _size
    from memories.making import render_candidate
    from memories.store import Library

    movies = []
    with Library(library_root) as library:
        db = library.db
        for theme, candidate in chosen_movies(library_root):
            for size_name in sizes:
                size = _size(size_name)
                target = out / f"{candidate.key.replace(':', '-')}-{size_name}.mp4"
                print(f"rendering {candidate.key} at {size_name}", file=sys.stderr)
                result = render_candidate(library, theme, candidate, target, size=size)
                sidecar = json.loads(Path(result["sidecar"]).read_text(encoding="utf-8"))
                shown = {Path(a["path"]).name for a in sidecar["assets"] if a["kind"] == "photo"}
                row = {
                    "key": candidate.key,
                    "title": sidecar["title"],
                    "size": size_name,
                    "seconds": sidecar["duration"],
                    "photos": len(shown),
                    "cut_face_shots": cut_shots(sidecar, db),
                    "frozen_s": round(frozen_outside_cards(target, sidecar), 2),
                    "max_upscale": round(largest_upscale(sidecar), 2),
                    "clutter_shown": sorted(shown & set(CLUTTER_NAMES)),
                    "render_x": round(result["render_seconds"] / sidecar["duration"], 2),
                    "video": str(target),
                    **audio_measures(target),
                }
                movies.append(row)
    first_size = [m for m in movies if m["size"] == sizes[0]]
    audio = [m["audio_sha256"] for m in first_size]
    totals = {
        "movies": len(first_size),
        "cut_face_shots": sum(len(m["cut_face_shots"]) for m in movies),
        "frozen_s": round(sum(m["frozen_s"] for m in movies), 2),
        "max_upscale": max(m["max_upscale"] for m in movies),
        "identical_audio_pairs": sum(audio.count(h) - 1 for h in set(audio)),
        "min_lra": min(m["lra"] or 0.0 for m in movies),
        "lufs_range": [min(m["lufs"] or 0.0 for m in movies), max(m["lufs"] or 0.0 for m in movies)],
        "clutter_shown": sorted({c for m in movies for c in m["clutter_shown"]}),
        "max_render_x": {s: max(m["render_x"] for m in movies if m["size"] == s) for s in sizes},
    }
    return {"movies": movies, "totals": totals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="720p,1080p", help="comma-separated: 720p, 1080p, portrait or WxH")
    parser.add_argument("--keep", type=Path, help="keep the library and movies in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="movie-qa-"))
    root.mkdir(parents=True, exist_ok=True)
    library = root / "lib" if (root / "lib" / "library.sqlite3").exists() else build_library(root)
    report = measure(library, root / "movies", args.sizes.split(","))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    header = f"{'movie':34} {'size':6} {'len':>4} {'cut':>4} {'frozen':>6} {'upscale':>7} {'LRA':>5} {'LUFS':>6} {'xRT':>5} audio"
    print(header)
    for m in report["movies"]:
        print(
            f"{m['key'][:34]:34} {m['size']:6} {m['seconds']:4.0f} {len(m['cut_face_shots']):4d} {m['frozen_s']:6.1f} "
            f"{m['max_upscale']:7.2f} {m['lra'] or 0:5.1f} {m['lufs'] or 0:6.1f} {m['render_x']:5.2f} {m['audio_sha256']}"
        )
    t = report["totals"]
    print(
        f"\ntotal: {t['movies']} movies; shots with a cut face {t['cut_face_shots']}; frozen outside cards "
        f"{t['frozen_s']} s; largest upscale {t['max_upscale']}x; identical-audio pairs {t['identical_audio_pairs']}; "
        f"smallest LRA {t['min_lra']} LU; loudness {t['lufs_range'][0]}..{t['lufs_range'][1]} LUFS; "
        f"clutter shown {t['clutter_shown'] or 'none'}; render time / length {t['max_render_x']}"
    )


if __name__ == "__main__":
    main()
