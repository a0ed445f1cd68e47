"""Loudness of stereo audio, ITU-R BS.1770 style, and normalisation to a target.

`integrated_lufs` is the BS.1770-4 measure: K-weighting (a +4 dB high shelf at 1.5 kHz and a 38 Hz
high-pass, designed for any sample rate as pyloudnorm does), 400 ms blocks with 75% overlap, an
absolute gate at -70 LUFS and a relative gate 10 LU under the ungated mean. The renderer keeps this
meter rather than calling pyloudnorm: it is vectorised (one filter cascade and a cumulative sum
over blocks; `normalise` measures two to four times per track, so it runs on every render), and
keeping it separate is what lets the tests check it against pyloudnorm as an independent meter.

`loudness_range` (EBU R128 LRA, EBU Tech 3342) is not computed here but by ffmpeg's `ebur128`
filter, a maintained implementation, so a test or benchmark of the music's dynamics does not rest
on this project's arithmetic. `low_frequency_share` says how much of a mix's power sits where a
phone speaker cannot play it.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
from scipy import ndimage, signal

from memories.render import audiofile, settings

_BLOCK_S = 0.4
_STEP_S = 0.1
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0


def _high_shelf(sample_rate: int, gain_db: float = 4.0, q: float = 1 / np.sqrt(2), fc: float = 1500.0):
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * fc / sample_rate
    alpha = np.sin(w0) / (2 * q)
    cos = np.cos(w0)
    b = [
        a * ((a + 1) + (a - 1) * cos + 2 * np.sqrt(a) * alpha),
        -2 * a * ((a - 1) + (a + 1) * cos),
        a * ((a + 1) + (a - 1) * cos - 2 * np.sqrt(a) * alpha),
    ]
    den = [
        (a + 1) - (a - 1) * cos + 2 * np.sqrt(a) * alpha,
        2 * ((a - 1) - (a + 1) * cos),
        (a + 1) - (a - 1) * cos - 2 * np.sqrt(a) * alpha,
    ]
    return np.array(b) / den[0], np.array(den) / den[0]


def _high_pass(sample_rate: int, q: float = 0.5, fc: float = 38.0):
    w0 = 2 * np.pi * fc / sample_rate
    alpha = np.sin(w0) / (2 * q)
    cos = np.cos(w0)
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    den = [1 + alpha, -2 * cos, 1 - alpha]
    return np.array(b) / den[0], np.array(den) / den[0]


def k_weight(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, channels) float -> the same, K-weighted. The two biquads run as one second-order-section
    cascade: the same filter, several times faster than two `lfilter` passes over (n, 2) samples."""
    b1, a1 = _high_shelf(sample_rate)
    b2, a2 = _high_pass(sample_rate)
    sos = np.array([np.concatenate([b1, a1]), np.concatenate([b2, a2])])
    return signal.sosfilt(sos, samples, axis=0)


def integrated_lufs(samples: np.ndarray, sample_rate: int = settings.SAMPLE_RATE) -> float:
    """Gated integrated loudness of (n, channels) float samples in [-1, 1]; -inf for silence."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64).T).T
    weighted = k_weight(x, sample_rate)
    block, step = int(_BLOCK_S * sample_rate), int(_STEP_S * sample_rate)
    if len(weighted) < block:
        power = np.mean(weighted**2, axis=0).sum()
        return float(-0.691 + 10 * np.log10(power)) if power > 0 else float("-inf")
    # Mean square per block and channel through a cumulative sum: O(n) for any block count.
    cumulative = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(weighted**2, axis=0)])
    starts = np.arange(0, len(weighted) - block + 1, step)
    block_power = ((cumulative[starts + block] - cumulative[starts]) / block).sum(axis=1)
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10 * np.log10(block_power)
    gated = block_power[block_loudness > _ABSOLUTE_GATE]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) + _RELATIVE_GATE
    kept = block_power[(block_loudness > _ABSOLUTE_GATE) & (block_loudness > relative)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def peak_dbfs(samples: np.ndarray) -> float:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def limit(samples: np.ndarray, ceiling_dbfs: float, sample_rate: int, window_s: float = 0.005) -> np.ndarray:
    """A look-ahead peak limiter: the gain is the running minimum of what each sample needs, smoothed
    by a box no wider than that minimum's window, so the smoothed gain never exceeds the need."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    peak = np.max(np.abs(samples), axis=1)
    if peak.max(initial=0.0) <= ceiling:
        return samples
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    width = max(3, int(window_s * sample_rate)) | 1
    gain = ndimage.minimum_filter1d(need, size=2 * width + 1, mode="nearest")
    gain = ndimage.uniform_filter1d(gain, size=width, mode="nearest")
    out = samples * np.minimum(gain, need)[:, None]
    return np.clip(out, -ceiling, ceiling)


def normalise(
    samples: np.ndarray,
    target_lufs: float = settings.TARGET_LUFS,
    ceiling_dbfs: float = settings.PEAK_CEILING_DBFS,
    sample_rate: int = settings.SAMPLE_RATE,
) -> np.ndarray:
    """Gain to `target_lufs`, then limit peaks; repeated because limiting lowers loudness a little."""
    out = np.asarray(samples, dtype=np.float64)
    for _ in range(4):
        level = integrated_lufs(out, sample_rate)
        if not np.isfinite(level):
            return out
        if abs(level - target_lufs) < 0.1:
            break
        out = limit(out * 10 ** ((target_lufs - level) / 20), ceiling_dbfs, sample_rate)
    return out


def fade(samples: np.ndarray, sample_rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """Equal-power (sine) fade in and out."""
    out = np.array(samples, dtype=np.float64, copy=True)
    n = len(out)
    for length, ramp_at_end in ((int(fade_in_s * sample_rate), False), (int(fade_out_s * sample_rate), True)):
        length = min(length, n)
        if length <= 0:
            continue
        ramp = np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, length))
        if ramp_at_end:
            out[n - length :] *= ramp[::-1, None]
        else:
            out[:length] *= ramp[:, None]
    return out


_LRA = re.compile(r"Loudness range:\s*LRA:\s*(-?[\d.]+|nan|-?inf)\s*LU", re.IGNORECASE)


def loudness_range(samples: np.ndarray, sample_rate: int = settings.SAMPLE_RATE) -> float:
    """EBU R128 loudness range in LU of (n, channels) float samples, as ffmpeg's `ebur128` filter
    reads it: the spread between the 10th and 95th percentiles of the 3 s short-term loudness,
    gated at -70 LUFS and 20 LU under the mean. The samples go to ffmpeg as 32-bit float PCM on a
    pipe (no temporary file, no 16-bit rounding)."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float32).T).T
    command = [
        audiofile.ffmpeg_exe(),
        "-hide_banner",
        "-nostats",
        "-nostdin",
        "-f",
        "f32le",
        "-ar",
        str(sample_rate),
        "-ac",
        str(x.shape[1]),
        "-i",
        "pipe:0",
        "-af",
        "ebur128=framelog=verbose",  # the summary only, not a line per 100 ms
        "-f",
        "null",
        "-",
    ]
    result = subprocess.run(command, input=np.ascontiguousarray(x).tobytes(), capture_output=True)
    report = result.stderr.decode("utf-8", "replace")
    match = _LRA.search(report[report.rfind("Summary:") :])
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"ffmpeg ebur128 gave no loudness range: {report.strip()[-300:]}")
    return float(match.group(1))


def low_frequency_share(
    samples: np.ndarray, sample_rate: int = settings.SAMPLE_RATE, cutoff: float = settings.LOW_END_HZ
) -> float:
    """Fraction (0-1) of the mono mix's power below `cutoff` Hz (Welch periodogram, 4096 points:
    10.8 Hz bins at 44.1 kHz)."""
    x = np.asarray(samples, dtype=np.float64)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    freqs, power = signal.welch(mono, fs=sample_rate, nperseg=min(4096, len(mono)))
    total = float(power.sum())
    return float(power[freqs < cutoff].sum() / total) if total > 0 else 0.0
