"""Beats of a piece of music: onset strength envelope, tempo by autocorrelation, and beat times by
dynamic programming (D. Ellis, "Beat tracking by dynamic programming", 2007 — the method librosa uses).
Also the spectral centroid, the usual one-number measure of how bright a sound is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from memories.render import settings


@dataclass
class BeatAnalysis:
    bpm: float
    beats: np.ndarray  # seconds
    envelope: np.ndarray  # onset strength per hop
    frame_rate: float  # envelope frames per second


def _resample(mono: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    if sample_rate == target:
        return mono
    from math import gcd

    g = gcd(sample_rate, target)
    return signal.resample_poly(mono, target // g, sample_rate // g)


def mel_filterbank(sample_rate: int, n_fft: int, bands: int, low: float, high: float) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale (Slaney-style area normalisation)."""

    def to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    edges = to_hz(np.linspace(to_mel(low), to_mel(high), bands + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (upper - lower))


def onset_envelope(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Half-wave-rectified log-power spectral flux over mel bands, averaged (librosa's onset_strength)."""
    x = _resample(np.asarray(mono, dtype=np.float64), sample_rate, settings.BEAT_SAMPLE_RATE)
    sr, n_fft, hop = settings.BEAT_SAMPLE_RATE, settings.BEAT_FFT, settings.BEAT_HOP
    _, _, spec = signal.stft(x, fs=sr, nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=False)
    power = np.abs(spec) ** 2
    mel = mel_filterbank(sr, n_fft, settings.BEAT_MEL_BANDS, 30.0, 0.5 * sr) @ power
    log_bands = 10 * np.log10(mel + 1e-10)
    log_bands = np.maximum(log_bands, log_bands.max() - 80.0)
    flux = np.maximum(0.0, np.diff(log_bands, axis=1)).mean(axis=0)
    flux = np.concatenate([[0.0], flux])
    # Remove the slow trend so that loud passages don't dominate the autocorrelation.
    trend = np.convolve(flux, np.ones(16) / 16, mode="same")
    envelope = np.maximum(0.0, flux - trend)
    return envelope / (envelope.std() + 1e-12), sr / hop


def estimate_tempo(envelope: np.ndarray, frame_rate: float) -> float:
    """BPM at the autocorrelation peak weighted by a log-normal prior (librosa's `tempo` recipe)."""
    centred = envelope - envelope.mean()
    ac = signal.correlate(centred, centred, mode="full", method="fft")[len(centred) - 1 :]
    lags = np.arange(len(ac))
    with np.errstate(divide="ignore"):
        bpm = 60.0 * frame_rate / lags
    usable = (bpm >= settings.BEAT_MIN_BPM) & (bpm <= settings.BEAT_MAX_BPM)
    prior = np.exp(
        -0.5
        * (np.log2(np.where(usable, bpm, 1.0) / settings.BEAT_PRIOR_BPM) / settings.BEAT_PRIOR_OCTAVES) ** 2
    )
    score = np.where(usable, ac * prior, -np.inf)
    best = int(np.argmax(score))
    # Parabolic interpolation around the peak: lags are whole frames (23 ms), too coarse for BPM.
    if 0 < best < len(ac) - 1:
        a, b, c = ac[best - 1], ac[best], ac[best + 1]
        denominator = a - 2 * b + c
        shift = 0.5 * (a - c) / denominator if denominator != 0 else 0.0
        lag = best + float(np.clip(shift, -0.5, 0.5))
    else:
        lag = float(best)
    return float(60.0 * frame_rate / lag)


def track_beats(envelope: np.ndarray, frame_rate: float, bpm: float) -> np.ndarray:
    """Beat frames maximising onset strength plus a penalty on spacing away from the tempo period."""
    period = 60.0 * frame_rate / bpm
    window = np.arange(-int(round(2 * period)), -int(round(period / 2)) + 1)
    penalty = -settings.BEAT_TIGHTNESS * np.log(-window / period) ** 2
    local = np.convolve(
        envelope, np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2), "same"
    )
    score = local.copy()
    backlink = -np.ones(len(local), dtype=int)
    for i in range(len(local)):
        candidates = i + window
        ok = candidates >= 0
        if not ok.any():
            continue
        values = score[candidates[ok]] + penalty[ok]
        j = int(np.argmax(values))
        score[i] = local[i] + values[j]
        backlink[i] = candidates[ok][j]
    # Last beat: the best-scoring frame within the final period.
    tail = max(0, len(score) - int(round(period)))
    beat = tail + int(np.argmax(score[tail:]))
    beats = [beat]
    while backlink[beat] >= 0:
        beat = backlink[beat]
        beats.append(beat)
    frames = np.array(beats[::-1])
    # Trim weak beats at the edges (silence / fades), as librosa does.
    threshold = 0.5 * np.sqrt(np.mean(local[frames] ** 2))
    strong = np.nonzero(local[frames] >= threshold)[0]
    return frames[strong[0] : strong[-1] + 1] if strong.size else frames


def track(mono: np.ndarray, sample_rate: int) -> BeatAnalysis:
    envelope, frame_rate = onset_envelope(mono, sample_rate)
    bpm = estimate_tempo(envelope, frame_rate)
    frames = track_beats(envelope, frame_rate, bpm)
    # The STFT frame t covers samples [t*hop, t*hop + n_fft): its onset sits near the window centre.
    offset = settings.BEAT_FFT / 2 / settings.BEAT_SAMPLE_RATE
    return BeatAnalysis(bpm, frames / frame_rate + offset, envelope, frame_rate)


def spectral_centroid(samples: np.ndarray, sample_rate: int) -> float:
    """Power-weighted mean frequency of the whole piece, in Hz (higher = brighter)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    freqs, power = signal.welch(mono, fs=sample_rate, nperseg=4096)
    return float((freqs * power).sum() / (power.sum() + 1e-20))


def octave_band_profile(
    samples: np.ndarray, sample_rate: int, lowest: float = 62.5, bands: int = 8
) -> np.ndarray:
    """Share of the power in each octave band from `lowest` Hz up, in dB: a spectrum's shape."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    freqs, power = signal.welch(mono, fs=sample_rate, nperseg=4096)
    edges = lowest * 2.0 ** np.arange(bands + 1)
    energy = np.array(
        [power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    )
    return 10 * np.log10(energy / energy.sum() + 1e-20)
