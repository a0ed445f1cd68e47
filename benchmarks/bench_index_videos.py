"""How long `memories index` takes on a phone-like video, and how much memory it needs.

The clip: 60 s of 1920 x 1080 H.264 at 30 fps with AAC sound, a keyframe every second and
B-frames (what a phone records; `--keyframe-every 10` makes x264's default spacing instead), made from the HDTF talking-face clips of
../shared/data/face_videos (each scaled to 1080 px high, on a 1920 px wide frame, one after the
other: cuts and six different speakers) with the bundled ffmpeg, and cached. It is indexed by the
real command (`memories index` in a fresh library, models already converted), so what is timed is
what ships: decoding at reduced resolution, sampling, detection, tracking, the stored rows.

    .venv/bin/python -m benchmarks.bench_index_videos [--json]

Prints the wall time of the run (the whole command, model loading included, and the indexing alone
as `memories index --json` reports no timing: the command's time less a run on an empty folder),
and the peak resident memory of the command. The issue's bar: under 20 s and under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "face_videos" / "hdtf_sadtalker"
CACHE = Path.home() / ".cache" / "memories" / "bench-videos"
SECONDS = 60.0


def make_clip(target: Path, keyframe_s: float = 1.0) -> Path:
    """The 60 s 1080p test clip (made once, then cached)."""
    import imageio_ffmpeg

    if target.exists():
        return target
    clips = sorted(SOURCE.glob("*.mp4"))
    if not clips:
        sys.exit(f"benchmark data missing: {SOURCE} has no clips")
    target.parent.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    for clip in clips:
        inputs += ["-i", str(clip)]
    parts = "".join(
        f"[{i}:v]scale=1080:1080,pad=1920:1080:420:0,setsar=1,fps=30[v{i}];[{i}:a]aresample=48000[a{i}];"
        for i in range(len(clips))
    )
    joined = "".join(f"[v{i}][a{i}]" for i in range(len(clips)))
    graph = f"{parts}{joined}concat=n={len(clips)}:v=1:a=1[v][a];[v]loop=-1:size=32767[vl];[a]aloop=-1:size=2e9[al]"
    partial = target.with_suffix(".part.mp4")
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs,
            "-filter_complex", graph, "-map", "[vl]", "-map", "[al]", "-t", str(SECONDS),
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-crf", "20", "-g", str(round(30 * keyframe_s)), "-bf", "2",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(partial),
        ],
        check=True,
    )
    partial.replace(target)
    return target


def run_index(folder: Path, library: Path) -> tuple[float, float, dict[str, object]]:
    """(seconds, peak resident MB of the command and the workers it waited for, its summary)."""
    import os

    started = time.perf_counter()
    command = [sys.executable, "-m", "memories", "index", str(folder), "-L", str(library), "--json"]
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            sys.exit(f"memories index failed ({process.returncode})")
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, json.loads(out.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--keyframe-every", type=float, default=1.0, metavar="S",
        help="seconds between keyframes (phones: ~1; 10 is x264's default, where keyframes alone are too few)",
    )
    args = parser.parse_args()
    suffix = "" if args.keyframe_every == 1.0 else f"-gop{args.keyframe_every:g}s"
    clip = make_clip(CACHE / f"phone-1080p-60s{suffix}.mp4", args.keyframe_every)
    with tempfile.TemporaryDirectory() as work:
        folder, empty = Path(work) / "videos", Path(work) / "empty"
        folder.mkdir()
        empty.mkdir()
        (folder / clip.name).symlink_to(clip)
        startup, _, _ = run_index(empty, Path(work) / "warm")  # converts the models once; the cost of starting
        seconds, peak_mb, summary = run_index(folder, Path(work) / "library")
    result = {
        "clip": str(clip),
        "clip_seconds": SECONDS,
        "keyframe_every_s": args.keyframe_every,
        "index_seconds": round(seconds, 2),
        "startup_seconds": round(startup, 2),
        "peak_rss_mb": round(peak_mb),
        "faces": summary.get("faces"),
        "videos": summary.get("videos"),
        "under_20_s": seconds < 20.0,
        "under_1_gb": peak_mb < 1024,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"60 s 1080p clip, a keyframe every {args.keyframe_every:g} s: memories index {seconds:.1f} s (of which starting the command {startup:.1f} s), "
            f"peak memory {peak_mb:.0f} MB; {summary.get('faces')} face tracks"
        )


if __name__ == "__main__":
    main()
