"""A real, short render decoded back by ffmpeg: size, duration, H.264 + AAC, poster and sidecar."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from memories.render.audiofile import ffmpeg_exe
from memories.render.images import load_oriented, oriented_size
from memories.render.plan import MemoryPlan, PlanPhoto, RenderError
from memories.render.video import render_memory


def _probe(path: Path) -> str:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


@pytest.fixture(scope="module")
def rendered(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("render")
    # One photo stored sideways with an EXIF orientation tag, to check it is drawn upright.
    source = shared_data / "deepface" / "images" / "img1.jpg"
    sideways = folder / "sideways.jpg"
    upright = Image.open(source)
    upright.save(folder / "original.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif.tobytes())
    paths = [shared_data / "deepface" / "images" / name for name in ("couple.jpg", "img2.jpg")] + [sideways]
    photos = []
    for path in paths:
        width, height = oriented_size(path)
        # A centred box stands in for a detected face (the face test covers real detections).
        photos.append(
            PlanPhoto(
                path,
                width,
                height,
                ((width * 0.4, height * 0.3, width * 0.2, height * 0.2),),
                asset_id=path.stem,
            )
        )
    plan = MemoryPlan(
        title="Ana & Ben",
        subtitle="July 2025",
        people=("Ana", "Ben"),
        photos=tuple(photos),
        mood="happy",
        length="short",
        reason="test render",
        theme="together",
        seconds=6.0,
    )
    progress: list[tuple[int, int]] = []
    result = render_memory(
        plan,
        folder / "memory.mp4",
        size=(160, 90),
        seed=2,
        progress=lambda done, total: progress.append((done, total)),
    )
    return result, plan, progress


def test_video_decodes_with_the_right_size_duration_and_streams(rendered) -> None:
    result, plan, progress = rendered
    info = _probe(result.video)
    assert re.search(r"Video: h264.*yuv420p.*160x90", info), info
    assert re.search(r"Audio: aac.*44100 Hz, stereo", info), info
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", info)
    assert duration is not None, info
    hours, minutes, seconds = duration.groups()
    assert abs(int(hours) * 3600 + int(minutes) * 60 + float(seconds) - 6.0) < 0.15
    decode = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(result.video), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decode.returncode == 0 and decode.stderr.strip() == "", decode.stderr
    assert result.size == (160, 90) and result.duration == 6.0
    assert progress and progress[-1][0] == progress[-1][1] == 144  # 6 s at 24 fps


def test_frames_show_cards_and_photos(rendered) -> None:
    result, _, _ = rendered
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(result.video), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 90, 160, 3)
    assert len(frames) == 144
    assert frames.mean() > 20  # not black
    # Every photo shot moves: consecutive frames between the title and end cards differ (Ken Burns,
    # transitions). Cards may be near-still (a slow 4% push over a dark, blurred background).
    sidecar = json.loads(result.sidecar.read_text())
    title_end = next(a["cut_out"] for a in sidecar["assets"] if a["kind"] == "title")
    end_start = next(a["cut_in"] for a in sidecar["assets"] if a["kind"] == "end")
    photo_frames = range(int(np.ceil(title_end * 24)), int(end_start * 24) - 1)
    moving = [np.abs(frames[i + 1].astype(int) - frames[i]).mean() > 0.05 for i in photo_frames]
    assert len(moving) > 50 and np.mean(moving) >= 0.95


def test_sideways_photo_is_drawn_upright(rendered) -> None:
    _, plan, _ = rendered
    sideways = plan.photos[2]
    assert (sideways.width, sideways.height) == Image.open(plan.photos[2].path.parent / "sideways.jpg").size[
        ::-1
    ]
    drawn = np.asarray(load_oriented(sideways.path), dtype=np.float32)
    original = np.asarray(
        Image.open(plan.photos[2].path.parent / "original.jpg").convert("RGB"), dtype=np.float32
    )
    assert drawn.shape == original.shape
    assert np.abs(drawn - original).mean() < 8  # upright: the same picture, up to JPEG re-encoding


def test_poster_and_sidecar(rendered) -> None:
    result, plan, _ = rendered
    with Image.open(result.poster) as poster:
        assert poster.format == "JPEG" and poster.size == (160, 90)
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["title"] == "Ana & Ben" and sidecar["subtitle"] == "July 2025"
    assert (
        sidecar["people"] == ["Ana", "Ben"]
        and sidecar["mood"] == "happy"
        and sidecar["reason"] == "test render"
    )
    assert sidecar["length"] == "short" and sidecar["duration"] == 6.0
    kinds = [a["kind"] for a in sidecar["assets"]]
    assert kinds[0] == "title" and kinds[-1] == "end" and "photo" in kinds
    photos = [a for a in sidecar["assets"] if a["kind"] == "photo"]
    assert all(a["start"] < a["end"] and a["path"] for a in photos)
    assert sidecar["assets"][-1]["end"] == 6.0


def test_odd_sizes_and_bad_plans_are_refused(tmp_path: Path, shared_data: Path) -> None:
    photo = PlanPhoto(shared_data / "deepface" / "images" / "img2.jpg", 100, 100)
    with pytest.raises(ValueError, match="mood"):
        MemoryPlan(title="x", photos=(photo,), mood="grumpy")
    with pytest.raises(ValueError, match="length"):
        MemoryPlan(title="x", photos=(photo,), length="forever")
    missing = PlanPhoto(tmp_path / "gone.jpg", 100, 100)
    with pytest.raises(RenderError, match="gone.jpg"):
        render_memory(
            MemoryPlan(title="x", photos=(missing,), seconds=6.0), tmp_path / "y.mp4", size=(160, 90)
        )
    with pytest.raises(ValueError, match="even"):
        render_memory(MemoryPlan(title="x", photos=(photo,), seconds=6.0), tmp_path / "x.mp4", size=(161, 90))


@pytest.mark.slow
def test_a_killed_render_is_never_taken_for_done(shared_data: Path, tmp_path: Path) -> None:
    """kill -9 in the middle of encoding: no movie, poster or sidecar under the final names, and
    the next render sweeps the dead one's scratch files and completes."""
    import multiprocessing
    import os
    import signal
    import time

    from memories.render.video import render_is_complete

    source = shared_data / "deepface" / "images" / "img2.jpg"
    width, height = oriented_size(source)
    photo = PlanPhoto(source, width, height, ((width * 0.4, height * 0.3, width * 0.2, height * 0.2),), asset_id="a")
    plan = MemoryPlan(title="Long", photos=(photo, photo, photo), mood="gentle", seconds=30.0)
    target = tmp_path / "long.mp4"
    context = multiprocessing.get_context("fork")
    child = context.Process(target=render_memory, args=(plan, target), kwargs={"size": (320, 180)})
    child.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".long.partial-*.mp4")):
        time.sleep(0.1)
    time.sleep(0.5)  # some frames written
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert list(tmp_path.glob(".long.partial-*.mp4")), "the render was killed before it started encoding"
    assert not target.exists() and not target.with_suffix(".json").exists()
    assert not render_is_complete(target)

    result = render_memory(plan, target, size=(160, 90))
    assert render_is_complete(result.video)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.jpg", "long.json", "long.mp4"]
    # a movie cut short under a finished render's name is not complete either
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 3])
    assert not render_is_complete(target)


def test_title_styles_follow_the_mood(shared_data: Path) -> None:
    """A gentle memory opens in a serif, an epic one in bold capitals: the two cards differ where
    the text is, and each style's first font file is the one drawn when the system has it."""
    from memories.render import cards
    from memories.render import settings as render_settings

    background = Image.open(shared_data / "deepface" / "images" / "img1.jpg").convert("RGB")
    gentle = cards.card(background, "Ana & Bea", "2019", (320, 180), 0.5, cards.style_for("gentle"))
    epic = cards.card(background, "Ana & Bea", "2019", (320, 180), 0.5, cards.style_for("epic"))
    assert np.abs(gentle.astype(int) - epic.astype(int)).mean() > 1.0
    styles = {render_settings.MOOD_TITLE_STYLE[m] for m in render_settings.MOODS}
    assert len(styles) >= 3
