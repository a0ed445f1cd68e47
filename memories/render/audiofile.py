"""Decoding a user's music with the ffmpeg that imageio-ffmpeg bundles (there is no ffprobe)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from memories.render import settings

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


class AudioError(Exception):
    """A music file that cannot be used; str() says why."""


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_duration(path: Path) -> float | None:
    """Seconds, parsed from `ffmpeg -i` stderr (it exits non-zero because no output is given)."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, errors="replace"
    )
    match = _DURATION.search(result.stderr)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def decode(
    path: Path, sample_rate: int = settings.SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """(n, 2) float64 in [-1, 1], resampled to `sample_rate`, via a raw PCM pipe."""
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path)]
    if max_seconds is not None:
        command += ["-t", f"{max_seconds:.3f}"]
    command += ["-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "2", "-ar", str(sample_rate), "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"cannot decode {path.name}: {reason[-1] if reason else 'ffmpeg failed'}")
    pcm = np.frombuffer(result.stdout, dtype="<i2")
    if pcm.size < 2 * sample_rate // 10:
        raise AudioError(f"{path.name} has no audio (or under 0.1 s)")
    return pcm[: pcm.size - pcm.size % 2].reshape(-1, 2).astype(np.float64) / 32768.0


def fit_length(samples: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """Trim to `length` samples, or loop with an equal-power crossfade at each seam."""
    if len(samples) >= length:
        return samples[:length]
    overlap = min(int(settings.LOOP_CROSSFADE_S * sample_rate), len(samples) // 4)
    ramp = np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, max(overlap, 1)))[:, None]
    out = samples.copy()
    while len(out) < length:
        if overlap > 0:
            seam = out[-overlap:] * ramp[::-1] + samples[:overlap] * ramp
            out = np.concatenate([out[:-overlap], seam, samples[overlap:]])
        else:
            out = np.concatenate([out, samples])
    return out[:length]


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM WAV (the stdlib writer: no extra dependency)."""
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(pcm.shape[1] if pcm.ndim == 2 else 1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
