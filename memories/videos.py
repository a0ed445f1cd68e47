"""Reading one video file: probe, content hash, metadata, and frames at reduced resolution.

Decoding is PyAV's (FFmpeg's libraries, from the wheel): packets are read and decoded one at a
time, so no file is ever held in memory whole. Every failure becomes a `PhotoError` (the one
"cannot be indexed" error of ingest) with a short reason naming what is wrong.

QuickTime metadata (what phones write): `com.apple.quicktime.creationdate` is the local capture
time with its offset; `com.apple.quicktime.location.ISO6709` (or the `location` key Android and
FFmpeg write) the place; `com.apple.quicktime.content.identifier` pairs a Live Photo's motion
with its still. Without a creation date the container's `creation_time` (UTC) is used, else the
file time, flagged as such (time_source "file").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from memories import settings
from memories.metadata import PhotoMetadata, parse_exif_datetime
from memories.photos import MotionFile, Photo, PhotoError, VideoInfo, checked_and_hashed

_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def parse_iso6709(text: str) -> tuple[float, float] | None:
    """(latitude, longitude) of an ISO 6709 string such as "+49.1989+016.6071+222.469/"."""
    match = _ISO6709.match(text.strip())
    if not match:
        return None
    latitude, longitude = float(match.group(1)), float(match.group(2))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None
    return latitude, longitude


def parse_quicktime_date(text: str) -> datetime | None:
    """An aware datetime of "2026-03-23T15:57:19+0100" (Apple) or "2026-05-23T10:18:57.000000Z"."""
    text = text.strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?", text)
    if not match:
        return None
    offset = match.group(3)
    offset = None if offset in (None, "Z") else offset
    taken = parse_exif_datetime(f"{match.group(1)} {match.group(2)}", offset)
    if taken is None or taken.year < 1970:  # 1904-01-01: QuickTime's zero, "not set"
        return None
    return taken


def _open(path: Path):  # type: ignore[no-untyped-def]
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as error:
        if _looks_like_quicktime(path):
            raise PhotoError("corrupt or truncated video (its index of frames is missing)") from error
        raise PhotoError("not a video (unrecognised or corrupt container)") from error
    except av.error.FFmpegError as error:
        raise PhotoError(f"unreadable video ({_ffmpeg_reason(error)})") from error


def _looks_like_quicktime(path: Path) -> bool:
    """An MP4/MOV/3GP file starts with a box whose type is ftyp (or, older QuickTime, wide/mdat)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[4:8] in (b"ftyp", b"wide", b"mdat", b"moov", b"free")


def _ffmpeg_reason(error: Exception) -> str:
    return str(getattr(error, "strerror", None) or error).strip() or type(error).__name__


def probe(path: Path) -> VideoInfo:
    """Header facts of a video and its first frame's rotation; PhotoError when it has no usable
    video stream or no frame decodes."""
    with _open(path) as container:
        return _info(container)


def _first_frame_rotation(container) -> int:  # type: ignore[no-untyped-def]
    """Degrees counter-clockwise the player turns the frames (FFmpeg's display matrix, which PyAV
    gives per frame): decoding the first frame also proves the data is there (a file truncated
    before it is refused rather than stored as a video nobody can play)."""
    import av

    stream = container.streams.video[0]
    try:
        for frame in container.decode(stream):
            return int(round(float(getattr(frame, "rotation", 0) or 0) / 90.0)) % 4 * 90
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise PhotoError(f"corrupt video data ({_ffmpeg_reason(error)})") from error
    raise PhotoError("no frame could be decoded (truncated or corrupt)")


def _info(container) -> VideoInfo:  # type: ignore[no-untyped-def]
    streams = container.streams.video
    if not streams:
        kinds = sorted({s.type for s in container.streams})
        raise PhotoError(f"no video stream (only {', '.join(kinds) or 'nothing'})")
    stream = streams[0]
    width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    if width <= 0 or height <= 0:
        raise PhotoError("video stream without a frame size (corrupt header)")
    if width * height > settings.MAX_VIDEO_PIXELS:
        raise PhotoError(f"video frames too large ({width}x{height} px, limit {settings.MAX_VIDEO_PIXELS // 1_000_000} Mpx)")
    duration = _duration(container, stream)
    if duration is None or duration <= 0:
        raise PhotoError("video without a duration (truncated or corrupt)")
    if duration > settings.MAX_VIDEO_DURATION_S:
        raise PhotoError(
            f"video too long ({duration / 3600:.1f} h, limit {settings.MAX_VIDEO_DURATION_S / 3600:.0f} h)"
        )
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    codec = stream.codec_context.name
    has_audio = bool(container.streams.audio)
    rotation = _first_frame_rotation(container)
    if rotation in (90, 270):
        width, height = height, width
    tags = {**{k.lower(): v for k, v in stream.metadata.items()}, **{k.lower(): v for k, v in container.metadata.items()}}
    return VideoInfo(
        duration_s=float(duration),
        width=width,
        height=height,
        frame_rate=float(rate) if rate else 0.0,
        codec=codec,
        rotation=rotation,
        has_audio=has_audio,
        content_identifier=tags.get("com.apple.quicktime.content.identifier"),
    )


def _duration(container, stream) -> float | None:  # type: ignore[no-untyped-def]
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def read_metadata(container) -> PhotoMetadata:  # type: ignore[no-untyped-def]
    """Capture time, place and camera from the container's tags (QuickTime keys first)."""
    tags = {k.lower(): v for k, v in container.metadata.items()}
    for stream in container.streams:
        for key, value in stream.metadata.items():
            tags.setdefault(key.lower(), value)
    meta = PhotoMetadata()
    for key, source in (("com.apple.quicktime.creationdate", "quicktime"), ("creation_time", "container"), ("date", "container")):
        if key in tags and (taken := parse_quicktime_date(tags[key])) is not None:
            meta.taken, meta.time_source = taken, source
            break
    for key in ("com.apple.quicktime.location.iso6709", "location", "location-eng"):
        if key in tags and (place := parse_iso6709(tags[key])) is not None:
            meta.latitude, meta.longitude = place
            break
    make = tags.get("com.apple.quicktime.make") or tags.get("make") or ""
    model = tags.get("com.apple.quicktime.model") or tags.get("model") or ""
    if model:
        meta.camera = model if make and model.startswith(make.split()[0]) else f"{make} {model}".strip()
    return meta


def read_video(path: Path) -> Photo:
    """Hash, validate and probe one video; raises PhotoError with the reason. The record is a
    `Photo` with `video` set and no pixels (frames are read by `sample_frames` when recognised)."""
    info_stat, content_hash, size = checked_and_hashed(path)
    with _open(path) as container:
        info = _info(container)
        meta = read_metadata(container)
    return Photo(
        path=path,
        content_hash=content_hash,
        file_size=size,
        file_mtime=info_stat.st_mtime,
        format=path.suffix.lstrip(".").upper(),
        width=info.width,
        height=info.height,
        meta=meta,
        rgb=None,
        video=info,
    )


def read_motion(path: Path) -> MotionFile:
    """A Live Photo's motion file: hashed and probed, PhotoError when it cannot be."""
    info_stat, content_hash, size = checked_and_hashed(path)
    with _open(path) as container:
        info = _info(container)
        meta = read_metadata(container)
    place = (meta.latitude, meta.longitude) if meta.latitude is not None and meta.longitude is not None else None
    return MotionFile(path, content_hash, size, info_stat.st_mtime, info, place)


@dataclass(frozen=True)
class MotionFacts:
    """What pairing a Live Photo needs of a movie file, from its headers alone (no frame decoded)."""

    identifier: str | None
    taken: datetime | None
    duration_s: float | None


def motion_facts(path: Path) -> MotionFacts:
    try:
        with _open(path) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
            stream = container.streams.video[0] if container.streams.video else None
            duration = _duration(container, stream) if stream is not None else None
            return MotionFacts(
                tags.get("com.apple.quicktime.content.identifier"), read_metadata(container).taken, duration
            )
    except PhotoError:
        return MotionFacts(None, None, None)


# --- frames ------------------------------------------------------------------------------------
def _scaled_size(info: VideoInfo, longest_side: int | None) -> tuple[int, int]:
    """Decoded (stored, unrotated) frame size for a displayed longest side, even numbers."""
    stored_w, stored_h = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    if longest_side is None or max(stored_w, stored_h) <= longest_side:
        return stored_w, stored_h
    factor = longest_side / max(stored_w, stored_h)
    return max(2, int(round(stored_w * factor / 2)) * 2), max(2, int(round(stored_h * factor / 2)) * 2)


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))  # rot90 turns counter-clockwise


@dataclass(frozen=True)
class PacketTimes:
    keyframes: list[float]  # times of the keyframes
    end_s: float  # the last packet's end: short of the header's duration when the file is cut


def packet_times(path: Path) -> PacketTimes:
    """Keyframe times and where the data ends, from the video's packets alone (no frame decoded;
    15 ms for 60 s of 1080p)."""
    import av

    times, end = [], 0.0
    with _open(path) as container:
        stream = container.streams.video[0]
        origin = float((stream.start_time or 0) * stream.time_base)
        try:
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * stream.time_base) - origin
                end = max(end, t + float((packet.duration or 0) * stream.time_base))
                if packet.is_keyframe:
                    times.append(t)
        except av.error.FFmpegError:
            pass  # the data ends here: `end` says where
    return PacketTimes(sorted(times), end)


def decoded(
    path: Path, start_s: float = 0.0, skip: str | None = None, threads: int = 0
) -> Iterator[tuple[float, Any]]:
    """(time in seconds from the stream's start, PyAV frame) of every frame from `start_s` on.

    skip: "NONREF" does not decode frames no other frame refers to (~1/3 of phone H.264), "NONKEY"
    decodes keyframes only; every frame that is decoded is exact. threads: FFmpeg's decoding
    threads (0: as many as cores; 1 where another thread of ours has work for the other core)."""
    import av

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        if skip:
            stream.codec_context.skip_frame = skip
        origin = float((stream.start_time or 0) * stream.time_base)
        if start_s > 0:
            container.seek(int((start_s + origin) / stream.time_base), stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * stream.time_base) - origin
                if t >= start_s - 1e-6:
                    yield t, frame
        except av.error.FFmpegError as error:
            raise PhotoError(f"corrupt video data ({_ffmpeg_reason(error)})") from error


def to_rgb(frame: Any, info: VideoInfo, longest_side: int | None = None) -> np.ndarray:
    """A decoded frame as upright RGB uint8, its longest side at most `longest_side`."""
    width, height = _scaled_size(info, longest_side)
    return _upright(frame.to_ndarray(format="rgb24", width=width, height=height), info.rotation)


def frames(
    path: Path,
    info: VideoInfo,
    start_s: float = 0.0,
    end_s: float | None = None,
    longest_side: int | None = None,
    skip_nonref: bool = False,
) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, upright RGB uint8) of every decoded frame in [start_s, end_s), scaled so
    the longest side is at most `longest_side`."""
    for t, frame in decoded(path, start_s, "NONREF" if skip_nonref else None):
        if end_s is not None and t >= end_s:
            return
        yield t, to_rgb(frame, info, longest_side)


def poster_frame(path: Path, info: VideoInfo, time_s: float | None = None, longest_side: int | None = None) -> np.ndarray:
    """The frame at `time_s` (default: a third into the first settings.POSTER_SECONDS), upright RGB."""
    at = time_s if time_s is not None else min(info.duration_s / 3, settings.POSTER_SECONDS)
    last = None
    for t, rgb in frames(path, info, max(0.0, at), None, longest_side):
        last = rgb
        if t >= at:
            break
    if last is None:  # seeking past the last keyframe found nothing: the first frame will do
        for _t, rgb in frames(path, info, 0.0, None, longest_side):
            return rgb
        raise PhotoError("no frame could be decoded")
    return last


