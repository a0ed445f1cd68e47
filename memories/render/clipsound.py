"""The clips' own sound, mixed under the soundtrack.

Reading of the issue ("with their own sound ducked under the soundtrack"): the music stays the
lead; a clip's sound (voices, a laugh, the sea) plays beneath it while the clip is on screen, set
CLIP_SOUND_UNDER_MUSIC_LU under the music's own loudness over those seconds, and the music makes a
little room (MUSIC_DIP_UNDER_CLIP_DB). Both fade with the picture: in over the clip's incoming
transition, out over its outgoing one (or where its sound ends, when the shot holds its last
frame), never faster than CLIP_SOUND_RAMP_S. The whole mix is then normalised to the loudness
target again (the dip and the added sound move it a little), so a movie with clips keeps the
same integrated loudness as one without.

Decoding is PyAV's: the clip's first audio stream from just before its window, resampled to the
soundtrack's rate and stereo by `av.AudioResampler`, placed by its timestamps against the video
stream's (so picture and sound stay in sync where a file starts them apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from memories.render import loudness, settings
from memories.render.plan import Clip, PlanPhoto, RenderError
from memories.render.soundtrack import Soundtrack
from memories.render.storyboard import Storyboard


@dataclass(frozen=True)
class Placement:
    """One clip's sound in the film: from `start` (film seconds) on, with ramps of these lengths."""

    start: float
    samples: np.ndarray  # (n, 2) float64, at the soundtrack's rate, not yet gained
    ramp_in: float
    ramp_out: float


def decode(path: Path, start_s: float, end_s: float, sample_rate: int) -> np.ndarray | None:
    """(n, 2) float64 of the file's sound from `start_s` to `end_s` (seconds from its first video
    frame), silence where the file has none; None when it has no audio stream."""
    import av

    n = max(0, int(round((end_s - start_s) * sample_rate)))
    out = np.zeros((n, 2), dtype=np.float64)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise RenderError(f"cannot read clip {path}: {error}") from error
    with container:
        if not container.streams.audio:
            return None
        audio = container.streams.audio[0]
        audio_base = float(audio.time_base or 0.0)
        video = container.streams.video[0] if container.streams.video else None
        origin = 0.0  # the first video frame's time on the file's clock: the clip's second 0
        if video is not None and video.start_time is not None and video.time_base is not None:
            origin = float(video.start_time * video.time_base)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=sample_rate)
        begin = origin + start_s
        if begin > 0.5 and audio_base > 0:
            container.seek(int((begin - 0.5) / audio_base), stream=audio, backward=True)
        at: int | None = None  # output sample index of the next resampled sample
        try:
            for frame in container.decode(audio):
                if at is None:
                    if frame.pts is None:
                        continue
                    at = int(round((frame.pts * audio_base - begin) * sample_rate))
                for chunk in resampler.resample(frame):
                    at = _place(out, chunk.to_ndarray().T, at)
                if at >= n:
                    break
            if at is not None:
                for chunk in resampler.resample(None):
                    at = _place(out, chunk.to_ndarray().T, at)
        except av.error.FFmpegError as error:
            raise RenderError(f"cannot decode the sound of clip {path}: {error}") from error
    return out


def _place(out: np.ndarray, samples: np.ndarray, at: int) -> int:
    """Copy `samples` into `out` from index `at` (either may reach past the other); the next index."""
    lo, hi = max(at, 0), min(at + len(samples), len(out))
    if hi > lo:
        out[lo:hi] = samples[lo - at : hi - at]
    return at + len(samples)


def placements(board: Storyboard, photos: Sequence[PlanPhoto], sample_rate: int) -> list[Placement]:
    """The sound of every clip shot whose clip has sound, over the time it is visible and plays."""
    placed = []
    for index, shot in enumerate(board.shots):
        clip: Clip | None = photos[shot.photo].clip if shot.photo is not None else None
        if clip is None or not clip.has_audio or shot.clip_start is None or shot.clip_end is None:
            continue
        first, last = board.visible_span(index)
        plays = min(last - first, shot.clip_end - shot.clip_start)  # then the last frame is held
        if plays <= 0:
            continue
        samples = decode(clip.path, shot.clip_start, shot.clip_start + plays, sample_rate)
        if samples is None or not len(samples):
            continue
        incoming = board.transitions[index - 1].seconds if index > 0 else 0.0
        outgoing = (
            board.transitions[index].seconds
            if index < len(board.transitions) and plays >= last - first - 1e-6
            else 0.0
        )
        half = plays / 2
        placed.append(
            Placement(
                first,
                samples,
                min(half, max(settings.CLIP_SOUND_RAMP_S, incoming)),
                min(half, max(settings.CLIP_SOUND_RAMP_S, outgoing)),
            )
        )
    return placed


def _envelope(length: int, ramp_in: int, ramp_out: int) -> np.ndarray:
    """0..1 over `length` samples: a sine rise, flat, a sine fall (equal-power with the music's dip)."""
    env = np.ones(length)
    if ramp_in > 0:
        env[:ramp_in] = np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, ramp_in))
    if ramp_out > 0:
        env[length - ramp_out :] = np.minimum(
            env[length - ramp_out :], np.sin(0.5 * np.pi * np.linspace(1.0, 0.0, ramp_out))
        )
    return env


def mix(track: Soundtrack, placed: Sequence[Placement]) -> Soundtrack:
    """The soundtrack with each clip's sound under it and the music dipped there, normalised."""
    if not placed:
        return track
    rate = track.sample_rate
    music = np.asarray(track.samples, dtype=np.float64)
    bed = np.zeros_like(music)
    presence = np.zeros(len(music))
    for place in placed:
        start = int(round(place.start * rate))
        end = min(len(music), start + len(place.samples))
        if end <= start:
            continue
        sound = place.samples[: end - start]
        level = loudness.integrated_lufs(sound, rate)
        if not np.isfinite(level):
            continue  # a silent track: nothing to hear
        under = loudness.integrated_lufs(music[start:end], rate)
        target = (under if np.isfinite(under) else settings.TARGET_LUFS) - settings.CLIP_SOUND_UNDER_MUSIC_LU
        gain_db = min(target - level, settings.CLIP_SOUND_MAX_GAIN_DB)
        env = _envelope(end - start, int(place.ramp_in * rate), int(place.ramp_out * rate))
        bed[start:end] += sound * (10 ** (gain_db / 20)) * env[:, None]
        presence[start:end] = np.maximum(presence[start:end], env)
    if not presence.any():
        return track
    dip = 10 ** (-settings.MUSIC_DIP_UNDER_CLIP_DB * presence / 20)
    mixed = loudness.normalise(music * dip[:, None] + bed, sample_rate=rate)
    return replace(track, samples=mixed.astype(np.float32))
