"""Render speed of a Memories movie from real photos, and the loudness of what was encoded.

    .venv/bin/python -m benchmarks.bench_render [--length short] [--size 1280x720] [--mood happy] [--music FILE]

Faces come from dlib's HOG detector (built into dlib, no model file) on the deepface photos; the
film is rendered by `render_memory` exactly as the app does it. Prints render seconds against
video seconds (target: render <= video on the 2-core dev machine), then decodes the MP4's AAC
track with ffmpeg and prints its integrated loudness against the target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import dlib
import numpy as np

from memories.render import loudness, settings, soundtrack
from memories.render.audiofile import ffmpeg_exe, probe_duration
from memories.render.images import load_oriented
from memories.render.plan import MemoryPlan, PlanPhoto
from memories.render.video import render_memory

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "deepface" / "images"
DETECT_SIDE = 800  # HOG on an 800 px copy: faces of the deepface photos are all far above 40 px there


def detect_faces(paths: list[Path]) -> list[PlanPhoto]:
    detector = dlib.get_frontal_face_detector()
    photos = []
    for path in paths:
        image = load_oriented(path)
        small = image.copy()
        small.thumbnail((DETECT_SIDE, DETECT_SIDE))
        scale = image.width / small.width
        faces = tuple(
            (r.left() * scale, r.top() * scale, r.width() * scale, r.height() * scale)
            for r in detector(np.asarray(small), 0)
        )
        photos.append(PlanPhoto(path, image.width, image.height, faces, asset_id=path.stem))
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--count", type=int, default=24, help="photos to use (sorted by name)")
    parser.add_argument("--length", default="short", choices=sorted(settings.LENGTH_SECONDS))
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--mood", default="happy", choices=sorted(settings.MOODS))
    parser.add_argument("--music", type=Path, default=None)
    parser.add_argument("--preset", default=settings.VIDEO_PRESET)
    parser.add_argument("--output", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    size = (width, height)
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[
        : args.count
    ]

    started = time.perf_counter()
    photos = detect_faces(paths)
    detect_s = time.perf_counter() - started
    print(
        f"photos: {len(photos)} from {args.photos}, {sum(len(p.faces) for p in photos)} faces "
        f"(dlib HOG, {detect_s:.1f} s, not part of the render)"
    )

    started = time.perf_counter()
    track = soundtrack.soundtrack_for(args.mood, settings.LENGTH_SECONDS[args.length], args.music, seed=0)
    print(f"soundtrack alone: {time.perf_counter() - started:.2f} s ({track.source}, {track.bpm:.1f} BPM)")

    plan = MemoryPlan(
        title="Together",
        subtitle="A benchmark",
        photos=tuple(photos),
        people=("Ana", "Ben"),
        mood=args.mood,
        length=args.length,
        reason="benchmark",
    )
    with tempfile.TemporaryDirectory() as scratch:
        output = args.output or Path(scratch) / "memory.mp4"
        result = render_memory(plan, output, size=size, music=args.music, preset=args.preset)
        ratio = result.render_seconds / result.duration
        print(
            f"render: {size[0]}x{size[1]} {args.length} {args.mood}, {result.shots} shots, "
            f"preset {args.preset}"
        )
        encoded = probe_duration(output) or float("nan")
        print(f"  video seconds   {result.duration:7.2f}  (encoded file: {encoded:.2f} s)")
        print(
            f"  render seconds  {result.render_seconds:7.2f}  ({ratio:.2f} s per video second, "
            f"{'meets' if ratio <= 1 else 'MISSES'} the <= 1.0 target)"
        )
        print(f"  file size       {output.stat().st_size / 1e6:7.2f} MB")
        pcm = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", str(output), "-f", "s16le", "-ac", "2", "-ar", "44100", "-"],
            capture_output=True,
            check=True,
        ).stdout
        audio = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2) / 32768.0
        level = loudness.integrated_lufs(audio, 44100)
        print(
            f"  encoded audio   {level:7.2f} LUFS integrated (target {settings.TARGET_LUFS:.1f}), "
            f"peak {loudness.peak_dbfs(audio):.2f} dBFS"
        )


if __name__ == "__main__":
    main()
