"""Rendering a memory: soundtrack, storyboard, frames, MP4 (H.264 + AAC), poster and JSON sidecar.

The frame function is ours (an affine warp per photo layer and a numpy/OpenCV blend per
transition); moviepy only drives the encoder, which is several times faster than stacking its
effects (DESIGN notes: 10 s of 720p in ~6 s versus 36 s with moviepy's resize). A clip shot is
drawn the same way from the clip's frame at that time (`clips.ClipFrames`, streamed), and its
sound is mixed under the music (`clipsound`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from moviepy import VideoClip
from moviepy.audio.AudioClip import AudioArrayClip
from PIL import Image

from memories.render import (
    cards,
    clips,
    clipsound,
    images,
    kenburns,
    settings,
    soundtrack,
    storyboard,
    transitions,
)
from memories.render.plan import MemoryPlan, PlanPhoto, RenderError, RenderResult

ProgressCallback = Callable[[int, int], None]  # (frames done, frames in all)


class _Photo:
    """A photo decoded at working size: `scale` maps plan coordinates to its pixels and (`left`,
    `top`) is where the photo sits on its canvas (non-zero when a crop reaches past its edges)."""

    def __init__(self, pixels: np.ndarray, scale: float, left: int = 0, top: int = 0):
        self.pixels = pixels
        self.scale = scale
        self.left = left
        self.top = top


def _working_side(plan_size: tuple[int, int], output: tuple[int, int], aspect: float) -> int:
    """Long side to decode at: the largest crop maps to the output at WORKING_SCALE x resolution."""
    width, height = plan_size
    full_w = min(width, height * aspect)
    factor = min(1.0, settings.WORKING_SCALE * output[0] / max(full_w, 1.0))
    return max(16, int(round(max(width, height) * factor)))


def _on_canvas(
    pixels: np.ndarray, photo: PlanPhoto, rects: list[kenburns.Rect], warnings: list[str] | None
) -> _Photo:
    """A decoded picture of `photo` (any size of its aspect) ready to draw `rects` (plan
    coordinates) from: its scale, and its canvas extended where a crop reaches outside it."""
    height, width = pixels.shape[:2]
    scale_x, scale_y = width / photo.width, height / photo.height
    if warnings is not None and abs(scale_x - scale_y) > 0.02 * max(scale_x, scale_y):
        warnings.append(
            f"{photo.path.name}: plan says {photo.width}x{photo.height} but the oriented image is "
            f"{width}x{height} in another aspect; its face boxes may be off"
        )
    scale = (scale_x + scale_y) / 2
    pixels = np.ascontiguousarray(pixels)
    left = max(0, int(np.ceil(-min(r.x for r in rects) * scale)) + 1)
    top = max(0, int(np.ceil(-min(r.y for r in rects) * scale)) + 1)
    right = max(0, int(np.ceil(max(r.right for r in rects) * scale - width)) + 1)
    bottom = max(0, int(np.ceil(max(r.bottom for r in rects) * scale - height)) + 1)
    if left > 1 or top > 1 or right > 1 or bottom > 1:
        pixels = images.extend_canvas(pixels, left, top, right, bottom)
    else:
        left = top = 0
    return _Photo(pixels, scale, left, top)


def _still_pixels(photo: PlanPhoto, max_side: int) -> np.ndarray:
    """The photo's pixels, upright, long side at most `max_side`: a video's is its clip's first frame."""
    if photo.is_video:
        assert photo.clip is not None
        info = clips.probe(photo.clip.path)
        from memories import videos
        from memories.photos import PhotoError

        try:
            return videos.poster_frame(photo.clip.path, info, photo.clip.start_s, max_side)
        except PhotoError as error:
            raise RenderError(f"cannot read clip {photo.clip.path}: {error}") from error
    try:
        return np.asarray(images.load_oriented(photo.path, max_side))
    except (OSError, ValueError) as error:
        raise RenderError(f"cannot read photo {photo.path}: {error}") from error


def _load_photos(
    plan: MemoryPlan, crops: dict[int, list[kenburns.Rect]], size: tuple[int, int], warnings: list[str]
) -> dict[int, _Photo]:
    """Decode each used photo once; extend its canvas where any of its crops reaches outside it."""
    aspect = size[0] / size[1]
    loaded: dict[int, _Photo] = {}
    for index, rects in sorted(crops.items()):
        photo = plan.photos[index]
        pixels = _still_pixels(photo, _working_side((photo.width, photo.height), size, aspect))
        loaded[index] = _on_canvas(pixels, photo, rects, warnings)
    return loaded


class _ClipShot:
    """A clip shot's frames, each drawn through the shot's still crop (on a blurred copy of the
    frame where the crop reaches past it)."""

    def __init__(self, board: storyboard.Storyboard, index: int, photo: PlanPhoto, size: tuple[int, int]):
        shot = board.shots[index]
        assert photo.clip is not None and shot.crop_start is not None
        assert shot.clip_start is not None and shot.clip_end is not None
        info = clips.probe(photo.clip.path)
        side = clips.decode_side(photo.clip, info, photo.width, shot.crop_start, size[0])
        self.frames = clips.ClipFrames(photo.clip, info, shot.clip_start, shot.clip_end, side)
        self.photo = photo
        self.crop = shot.crop_start
        self.visible_end = board.visible_span(index)[1]
        crop = self.crop
        self.inside = (  # then the frame itself fills the crop: no backdrop to make
            crop.x >= -0.5 and crop.y >= -0.5 and crop.right <= photo.width + 0.5 and crop.bottom <= photo.height + 0.5
        )

    def draw(self, source_s: float, size: tuple[int, int]) -> np.ndarray:
        pixels = self.frames.at(source_s)
        photo = _Photo(pixels, (pixels.shape[1] / self.photo.width + pixels.shape[0] / self.photo.height) / 2)
        if self.inside:
            return _draw_crop(photo, self.crop, size)
        return _draw_crop(photo, self.crop, size, images.backdrop(pixels, size))


def _draw_crop(
    photo: _Photo, crop: kenburns.Rect, size: tuple[int, int], backdrop: np.ndarray | None = None
) -> np.ndarray:
    """The crop (plan coordinates) warped to the frame; drawn over `backdrop` (an output-sized
    frame, written to) where the crop reaches past the picture."""
    s = photo.scale
    zoom = size[0] / (crop.w * s)
    x, y = crop.x * s + photo.left, crop.y * s + photo.top
    matrix = np.array([[zoom, 0.0, -x * zoom], [0.0, zoom, -y * zoom]], dtype=np.float64)
    if backdrop is not None:
        return cv2.warpAffine(
            photo.pixels, matrix, size, dst=backdrop, flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
    return cv2.warpAffine(photo.pixels, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _draw_card(card: np.ndarray, progress: float, size: tuple[int, int]) -> np.ndarray:
    zoom = 1.0 + settings.CARD_ZOOM * progress  # a steady push: an eased one stands still at its ends
    cx, cy = size[0] / 2, size[1] / 2
    matrix = np.array([[zoom, 0.0, cx * (1 - zoom)], [0.0, zoom, cy * (1 - zoom)]], dtype=np.float64)
    return cv2.warpAffine(card, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def frame_function(
    board: storyboard.Storyboard,
    photos: dict[int, _Photo],
    card_frames: dict[str, np.ndarray],
    size: tuple[int, int],
    clip_shots: dict[int, _ClipShot] | None = None,
) -> Callable[[float], np.ndarray]:
    """The film's frame at time t. A clip shot's decoder is closed once the film is past it."""
    playing = dict(clip_shots or {})

    def draw(layer: storyboard.Layer, t: float) -> np.ndarray:
        shot = board.shots[layer.shot]
        if layer.shot in playing:
            return playing[layer.shot].draw(board.clip_time(layer.shot, t), size)
        if shot.kind == "photo":
            assert shot.photo is not None and layer.crop is not None
            return _draw_crop(photos[shot.photo], layer.crop, size)
        return _draw_card(card_frames[shot.kind], layer.shot_progress, size)

    def frame(t: float) -> np.ndarray:
        outgoing, incoming, transition, progress = board.layers_at(t)
        for index in [i for i, clip in playing.items() if clip.visible_end < t - 1.0]:
            playing[index].frames.close()  # reopened if an earlier time is asked for again
        a = draw(outgoing, t)
        if incoming is None or transition is None:
            return a
        return transitions.compose(transition.kind, a, draw(incoming, t), progress)

    return frame


def _sidecar(
    plan: MemoryPlan,
    board: storyboard.Storyboard,
    track: soundtrack.Soundtrack,
    size: tuple[int, int],
    seed: int,
    fps: int,
    video: Path,
    poster: Path,
) -> dict:
    assets = []
    for index, shot in enumerate(board.shots):
        start, end = board.visible_span(index)
        entry: dict = {
            "kind": shot.kind,
            "start": round(start, 3),
            "end": round(end, 3),
            "cut_in": round(shot.cut_in, 3),
            "cut_out": round(shot.cut_out, 3),
        }
        if shot.photo is not None:
            photo = plan.photos[shot.photo]
            entry.update(
                asset_id=photo.asset_id,
                path=str(photo.path),
                time=photo.time.isoformat() if photo.time else None,
                crop_start=shot.crop_start.as_list() if shot.crop_start else None,
                crop_end=shot.crop_end.as_list() if shot.crop_end else None,
                media="photo" if photo.clip is None else "live" if photo.clip.live else "video",
                clip=None,
            )
            if photo.clip is not None and shot.clip_start is not None and shot.clip_end is not None:
                entry["clip"] = {
                    "path": str(photo.clip.path),
                    "start": round(shot.clip_start, 3),  # clip seconds at the shot's first visible frame
                    "end": round(shot.clip_end, 3),  # its motion ends here; the last frame is held after
                    "live": photo.clip.live,
                    "has_audio": photo.clip.has_audio,
                }
        if index < len(board.transitions):
            entry["transition_out"] = board.transitions[index].kind
        assets.append(entry)
    return {
        "title": plan.title,
        "subtitle": plan.subtitle,
        "people": list(plan.people),
        "theme": plan.theme,
        "reason": plan.reason,
        "mood": plan.mood,
        "length": plan.length,
        "duration": board.duration,
        "size": list(size),
        "fps": fps,
        "seed": seed,
        "music": {
            "source": track.source,
            "bpm": round(track.bpm, 2),
            "beats": len(track.beats),
            "beat_times": [round(float(b), 3) for b in track.beats],
        },
        "video": video.name,
        "poster": poster.name,
        "key_photo": str(plan.photos[plan.key_photo].path),
        "assets": assets,
    }


def _encode(
    draw: Callable[[float], np.ndarray],
    track: soundtrack.Soundtrack,
    duration: float,
    output: Path,
    fps: int,
    preset: str,
    progress: ProgressCallback | None,
) -> None:
    """Frames from `draw`, audio from `track`: H.264 yuv420p + AAC through moviepy's ffmpeg writer."""
    total_frames = int(round(duration * fps))
    done = [0]

    def frame(t: float) -> np.ndarray:
        image = draw(t)
        done[0] += 1
        if progress is not None:
            progress(min(done[0], total_frames), total_frames)
        return image

    clip = VideoClip(frame_function=frame, duration=duration)
    audio = AudioArrayClip(track.samples.astype(np.float64), fps=track.sample_rate).with_duration(duration)
    clip = clip.with_audio(audio)
    # The scratch folder sits beside the output and names this process, so a render killed before
    # it could clean up is swept by the next one (remove_abandoned), never while it still runs.
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=output.parent) as scratch:
        clip.write_videofile(
            str(output),
            fps=fps,
            codec=settings.VIDEO_CODEC,
            audio_codec=settings.AUDIO_CODEC,
            audio_bitrate=settings.AUDIO_BITRATE,
            audio_fps=track.sample_rate,
            preset=preset,
            threads=settings.ENCODER_THREADS,
            pixel_format=settings.PIXEL_FORMAT,
            ffmpeg_params=["-crf", str(settings.VIDEO_CRF), "-movflags", "+faststart"],
            temp_audiofile_path=scratch,
            logger=None,
        )
    clip.close()


SCRATCH_PREFIX = ".render-"
PARTIAL_MARK = ".partial"


@contextmanager
def partial(target: Path) -> Iterator[Path]:
    """A path beside `target` to write to; renamed onto `target` when the block completes, removed
    when it fails. Its name keeps the suffix (ffmpeg picks the container by it) and this
    process's id (remove_abandoned)."""
    temp = target.with_name(f".{target.stem}{PARTIAL_MARK}-{os.getpid()}{target.suffix}")
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned(folder: Path) -> None:
    """Scratch folders and partial files of renders whose process is gone (killed mid-render)."""
    for entry in folder.glob(".*"):
        match = re.match(rf"^(?:{re.escape(SCRATCH_PREFIX)}|\..*{re.escape(PARTIAL_MARK)}-)(\d+)", entry.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def render_is_complete(video: Path) -> bool:
    """The render at `video` finished: its sidecar (written last) names it and promises as many
    frames as the movie holds."""
    sidecar_path = video.with_suffix(".json")
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if sidecar.get("video") != video.name or not video.is_file():
        return False
    from imageio_ffmpeg import count_frames_and_secs

    try:
        frames, _ = count_frames_and_secs(str(video))
    except (RuntimeError, OSError):
        return False
    return abs(frames - int(sidecar.get("frames", -1))) <= 1


def render_memory(
    plan: MemoryPlan,
    output: Path,
    size: tuple[int, int] = settings.DEFAULT_SIZE,
    music: Path | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    fps: int = settings.FPS,
    preset: str = settings.VIDEO_PRESET,
) -> RenderResult:
    """Render `plan` to `output` (.mp4) plus `<stem>.jpg` (poster) and `<stem>.json` (sidecar)."""
    started = time.perf_counter()
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"H.264 yuv420p needs even sides; got {width}x{height}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(output.parent)
    poster_path, sidecar_path = output.with_suffix(".jpg"), output.with_suffix(".json")
    # A render in progress lives under partial names and is renamed into place when complete:
    # the movie and poster first, the sidecar last, so the sidecar marks a render as done.
    sidecar_path.unlink(missing_ok=True)
    aspect = width / height
    warnings: list[str] = []

    track = soundtrack.soundtrack_for(plan.mood, plan.duration, music, seed)
    board = storyboard.build(
        plan.photos, plan.duration, plan.mood, track.beats, aspect, seed, plan.key_photo, output_width=width
    )
    key = plan.photos[plan.key_photo]
    key_crop = kenburns.best_crop(
        (key.width, key.height), key.faces, aspect, others=key.others, min_width=width / settings.MAX_UPSCALE
    )
    crops: dict[int, list[kenburns.Rect]] = {plan.key_photo: [key_crop]}
    clip_shots: dict[int, _ClipShot] = {}
    for index, shot in enumerate(board.shots):
        if shot.photo is not None and shot.is_clip:
            clip_shots[index] = _ClipShot(board, index, plan.photos[shot.photo], size)
        elif shot.photo is not None and shot.crop_start is not None and shot.crop_end is not None:
            crops.setdefault(shot.photo, []).extend([shot.crop_start, shot.crop_end])
    photos = _load_photos(plan, crops, size, warnings)
    track = clipsound.mix(track, clipsound.placements(board, plan.photos, track.sample_rate))

    key_frame = Image.fromarray(_draw_crop(photos[plan.key_photo], key_crop, size))
    style = cards.style_for(plan.mood)
    card_frames = {
        "title": cards.card(key_frame, plan.title, plan.subtitle, size, settings.CARD_BACKGROUND_DIM, style),
        "end": cards.card(
            key_frame, "", plan.end_text or plan.subtitle or plan.title, size, settings.END_CARD_DIM, style
        ),
    }
    draw = frame_function(board, photos, card_frames, size, clip_shots)
    try:
        with partial(output) as movie:
            _encode(draw, track, board.duration, movie, fps, preset, progress)
    finally:
        for clip_shot in clip_shots.values():
            clip_shot.frames.close()
    with partial(poster_path) as poster:
        cards.poster(key_frame, plan.title, plan.subtitle, style).save(poster, "JPEG", quality=settings.POSTER_QUALITY)

    sidecar = _sidecar(plan, board, track, size, seed, fps, output, poster_path)
    sidecar["warnings"] = warnings
    sidecar["frames"] = int(round(board.duration * fps))
    with partial(sidecar_path) as part:
        part.write_text(json.dumps(sidecar, indent=2, ensure_ascii=False), encoding="utf-8")
    return RenderResult(
        video=output,
        poster=poster_path,
        sidecar=sidecar_path,
        duration=board.duration,
        size=size,
        render_seconds=time.perf_counter() - started,
        music=track.source,
        beats=len(track.beats),
        shots=sum(1 for shot in board.shots if shot.kind == "photo"),
        clips=sum(1 for shot in board.shots if shot.is_clip),
        warnings=warnings,
    )
