"""One video's sampled faces and its liveliest stretch, in one pass over its frames.

Frames are sampled in time (settings.VIDEO_SAMPLE_INTERVAL_S, at least VIDEO_MIN_SAMPLES, at most
VIDEO_MAX_SAMPLES) and at once after a scene change; each sample goes through the one recognition
call (`FaceAnalyzer.observe_photo`) without bodies. memories.recognise links the samples' faces
into tracks (recognition.tracks) and turns each track into the observation `memories index` stores.

The same pass measures motion (a 32 x 18 grey thumbnail's change between checked frames) and
chooses the highlight a memory shows: settings.VIDEO_HIGHLIGHT_S long, inside one shot, where
motion and clear faces are highest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memories import settings
from memories.photos import PhotoError, VideoInfo
from memories.videos import decoded, packet_times, to_rgb
from recognition.detect import FaceDetector, make_detector
from recognition.face_pipeline import FaceAnalyzer, FaceReading

THUMB = (32, 18)


@dataclass
class VideoScan:
    """What one pass over a video found."""

    samples: list[tuple[float, list[FaceReading]]] = field(default_factory=list)
    motion: list[tuple[float, float]] = field(default_factory=list)  # (time, change) of checked frames
    cuts: list[float] = field(default_factory=list)  # scene changes
    decode_scale: float = 1.0  # decoded pixels per displayed pixel
    problem: str | None = None  # why the video is not whole (truncated, corrupt past some point)


_detectors: dict[int, FaceDetector] = {}


def video_detector(analyzer: FaceAnalyzer) -> FaceDetector:
    """The analyzer's detector with settings.VIDEO_MIN_FACE_PX (one per analyzer, made once)."""
    key = id(analyzer)
    if key not in _detectors:
        cfg = dataclasses.replace(analyzer.detection, mtcnn_min_face_px=settings.VIDEO_MIN_FACE_PX)
        _detectors[key] = make_detector(getattr(analyzer.detector, "name", None), cfg, analyzer.cache_dir)
    return _detectors[key]


def sample_interval(duration_s: float) -> float:
    interval = min(settings.VIDEO_SAMPLE_INTERVAL_S, duration_s / settings.VIDEO_MIN_SAMPLES)
    return max(interval, duration_s / settings.VIDEO_MAX_SAMPLES)


def keyframes_suffice(keyframes: Sequence[float], interval: float) -> bool:
    """Whether sampling keyframes alone samples often enough: phones write a keyframe every
    second or so (the bench clip: 1 s), and encoders add one at each scene cut. Then only
    keyframes are decoded (60 s of 1080p in 0.5 s instead of 9 s); otherwise (x264's default
    is a keyframe every 10 s) every referenced frame is."""
    if len(keyframes) < 2:
        return False
    gaps = np.diff(np.asarray(keyframes, np.float64))
    return float(np.percentile(gaps, 90)) <= interval * settings.VIDEO_KEYFRAME_SLACK


def _thumbnail(frame: Any) -> np.ndarray:
    """A THUMB-sized grey picture of a frame, from its luma plane by striding (microseconds; a
    scaled conversion from 1080p cost 3 ms a frame). Frames without a luma plane are converted."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12", "gray")):
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        step_y, step_x = max(1, plane.height // THUMB[1]), max(1, plane.width // THUMB[0])
        thumb = luma[::step_y, ::step_x][: THUMB[1], : THUMB[0]]
        if thumb.shape == (THUMB[1], THUMB[0]):
            return thumb.astype(np.float32)
    return frame.to_ndarray(format="gray", width=THUMB[0], height=THUMB[1]).astype(np.float32)


def _frames_to_observe(path: Path, info: VideoInfo, result: VideoScan, out: queue.Queue[Any]) -> None:
    """The decoding side of `scan` (its own thread: FFmpeg decodes without the GIL, so decoding
    the next frames overlaps recognising this one). Puts (time, RGB) of each sample, then None;
    an error is put instead and ends the thread."""
    try:
        interval = sample_interval(info.duration_s)
        packets = packet_times(path)
        if packets.end_s < info.duration_s - settings.VIDEO_TRUNCATION_SLACK_S:
            result.problem = f"truncated: its data ends at {packets.end_s:.1f} s of the {info.duration_s:.1f} s it should last"
        keys_only = keyframes_suffice(packets.keyframes, interval)
        next_sample, last_thumb, last_taken = 0.0, None, -np.inf
        frames = decoded(path, skip="NONKEY" if keys_only else "NONREF", threads=1)
        for checked, (t, frame) in enumerate(frames, start=1):
            take = t >= next_sample - 1e-6 or (keys_only and t - last_taken >= interval / 2)
            if keys_only or checked % settings.VIDEO_CUT_CHECK_EVERY == 0 or take:
                thumb = _thumbnail(frame)
                if last_thumb is not None:
                    change = float(np.abs(thumb - last_thumb).mean())
                    if change > settings.VIDEO_CUT_LEVEL:  # a cut is not motion
                        result.cuts.append(t)
                        change = 0.0
                        take = take or t - last_taken >= interval / 4
                    result.motion.append((t, change))
                last_thumb = thumb
            if take:
                out.put((t, to_rgb(frame, info, settings.VIDEO_DECODE_LONGEST_SIDE)))
                next_sample, last_taken = t + interval, t
        out.put(None)
    except PhotoError as error:  # corrupt part way: what played is kept, the user told why
        result.problem = result.problem or f"{error}; indexed as far as it plays"
        out.put(None)
    except BaseException as error:  # noqa: BLE001 - handed to the recognising side to raise
        out.put(error)


def scan(path: Path, info: VideoInfo, analyzer: FaceAnalyzer) -> VideoScan:
    """Decode the video once (non-reference frames skipped) and observe its sampled frames."""
    result = VideoScan()
    detector = video_detector(analyzer)
    result.decode_scale = min(1.0, settings.VIDEO_DECODE_LONGEST_SIDE / max(info.width, info.height))
    # A few samples ahead at most: memory stays a few frames whatever the video's length.
    samples: queue.Queue[Any] = queue.Queue(maxsize=4)
    decoder = threading.Thread(target=_frames_to_observe, args=(path, info, result, samples), daemon=True)
    decoder.start()
    try:
        while (item := samples.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            t, rgb = item
            faces, _ = analyzer.observe_photo(rgb, detector.detect(rgb), bodies=False)
            result.samples.append((t, faces))
    finally:
        while decoder.is_alive():  # an error here: let the decoder finish so it closes the file
            with contextlib.suppress(queue.Empty):
                samples.get(timeout=0.1)
    return result


def highlight(found: VideoScan, duration_s: float) -> tuple[float, float] | None:
    """The stretch of settings.VIDEO_HIGHLIGHT_S with the most motion and clear faces that no
    scene change cuts through; the whole video when it is shorter than the longest highlight."""
    _, preferred, longest = settings.VIDEO_HIGHLIGHT_S
    if duration_s <= longest:  # a short video is its own highlight, however short
        return (0.0, duration_s)
    length = preferred
    starts = np.arange(0.0, duration_s - length + 1e-6, 0.25)
    motion = np.array(found.motion or [(0.0, 0.0)], np.float64)
    faces = np.array(
        [(t, max((f.quality for f in fs if f.is_clear), default=0.0)) for t, fs in found.samples] or [(0.0, 0.0)],
        np.float64,
    )
    scale = max(float(np.percentile(motion[:, 1], 90)), 1e-6)
    best, best_score = None, -np.inf
    for start in starts.tolist():
        end = start + length
        if any(start < cut < end for cut in found.cuts):
            continue
        m = motion[(motion[:, 0] >= start) & (motion[:, 0] < end), 1]
        q = faces[(faces[:, 0] >= start) & (faces[:, 0] < end), 1]
        # Motion counts up to the video's own 90th percentile (a camera whip is not "lively").
        score = float(np.clip(m / scale, 0, 1).mean() if len(m) else 0.0) + float(q.mean() if len(q) else 0.0)
        if score > best_score:
            best, best_score = (start, end), score
    return best if best is not None else (0.0, length)
