"""Instruments for the soundtrack synthesiser: numpy arrays of one note or one drum hit.

Every function is pure (parameters in, float64 mono samples out); noise comes from the caller's
seeded generator so a soundtrack is the same for the same seed.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _time(duration: float, sample_rate: int) -> np.ndarray:
    return np.arange(max(1, int(duration * sample_rate))) / sample_rate


def _attack(t: np.ndarray, seconds: float) -> np.ndarray:
    return np.minimum(1.0, t / max(seconds, 1e-4))


def _release(t: np.ndarray, duration: float, seconds: float) -> np.ndarray:
    return np.clip((duration - t) / max(seconds, 1e-4), 0.0, 1.0)


def _saw(freq: float, t: np.ndarray, phase: float = 0.0) -> np.ndarray:
    return 2.0 * np.mod(freq * t + phase, 1.0) - 1.0


def lowpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sample_rate), "low", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def highpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, cutoff, "high", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def bandpass(x: np.ndarray, low: float, high: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, [low, high], "band", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=0)


# --- pitched instruments ---------------------------------------------------------------------
def pad(notes: list[float], duration: float, sample_rate: int, attack: float, release: float) -> np.ndarray:
    """Three detuned saws per note (a string-ensemble chorus); the caller low-passes the whole bus."""
    t = _time(duration + release, sample_rate)
    out = np.zeros_like(t)
    for note in notes:
        f = midi_hz(note)
        for cents, phase in ((-7.0, 0.0), (0.0, 0.33), (7.0, 0.71)):
            out += _saw(f * 2 ** (cents / 1200), t, phase)
    env = _attack(t, attack) * _release(t, duration + release, release)
    return out * env / (3 * max(1, len(notes)))


def pluck(note: float, duration: float, sample_rate: int, brightness: float = 1.0) -> np.ndarray:
    """Additive plucked string: upper harmonics die faster, like a guitar or harp."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    out = np.zeros_like(t)
    for k in range(1, 9):
        if k * f > 0.45 * sample_rate:
            break
        out += (brightness**k / k) * np.sin(2 * np.pi * k * f * t) * np.exp(-t * (2.5 + 2.0 * k))
    return out * _attack(t, 0.003) * _release(t, duration, 0.03)


def piano(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Soft felt-piano: few harmonics with a slight stretch, a slow two-stage decay."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    out = np.zeros_like(t)
    for k in range(1, 7):
        partial = k * f * (1 + 0.0004 * k * k)
        if partial > 0.45 * sample_rate:
            break
        decay = 0.6 * np.exp(-t * (1.2 + 0.9 * k)) + 0.4 * np.exp(-t * (0.4 + 0.3 * k))
        out += (1.0 / k**1.6) * np.sin(2 * np.pi * partial * t) * decay
    return out * _attack(t, 0.006) * _release(t, duration, 0.08)


def bell(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Inharmonic partials of a small bell / glockenspiel, bright and long."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    out = np.zeros_like(t)
    for ratio, amp, decay in ((1.0, 1.0, 1.8), (2.76, 0.45, 3.5), (5.40, 0.25, 6.0), (8.93, 0.12, 9.0)):
        if ratio * f < 0.45 * sample_rate:
            out += amp * np.sin(2 * np.pi * ratio * f * t) * np.exp(-t * decay)
    return out * _attack(t, 0.002) * _release(t, duration, 0.05)


def bass(note: float, duration: float, sample_rate: int, grit: float = 0.3) -> np.ndarray:
    """Sine body plus a little saw for definition on small speakers."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    body = np.sin(2 * np.pi * f * t) + grit * _saw(f, t)
    env = _attack(t, 0.008) * (0.55 + 0.45 * np.exp(-t * 4.0)) * _release(t, duration, 0.06)
    return body * env


# --- drums -----------------------------------------------------------------------------------
def kick(sample_rate: int, punch: float = 1.0, length: float = 0.45) -> np.ndarray:
    t = _time(length, sample_rate)
    freq = 45.0 + 110.0 * punch * np.exp(-t * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    return np.sin(phase) * np.exp(-t * 8.0) * _attack(t, 0.001)


def snare(sample_rate: int, rng: np.random.Generator, length: float = 0.25) -> np.ndarray:
    t = _time(length, sample_rate)
    noise = bandpass(rng.standard_normal(t.size), 1200, 7000, sample_rate) * np.exp(-t * 18.0)
    tone = np.sin(2 * np.pi * 190.0 * t) * np.exp(-t * 25.0)
    return 0.8 * noise / (np.abs(noise).max() + 1e-9) + 0.5 * tone


def clap(sample_rate: int, rng: np.random.Generator, length: float = 0.3) -> np.ndarray:
    t = _time(length, sample_rate)
    noise = bandpass(rng.standard_normal(t.size), 900, 3500, sample_rate)
    env = np.zeros_like(t)
    for offset in (0.0, 0.011, 0.023):  # three hands a few ms apart make a clap
        shifted = np.clip(t - offset, 0.0, None)
        env += (t >= offset) * np.exp(-shifted * (60.0 if offset < 0.02 else 16.0))
    out = noise * env
    return out / (np.abs(out).max() + 1e-9)


def hat(
    sample_rate: int, rng: np.random.Generator, length: float = 0.07, open_hat: bool = False
) -> np.ndarray:
    length = 0.3 if open_hat else length
    t = _time(length, sample_rate)
    noise = highpass(rng.standard_normal(t.size), 7000, sample_rate)
    out = noise * np.exp(-t * (12.0 if open_hat else 60.0))
    return out / (np.abs(out).max() + 1e-9)


def shaker(sample_rate: int, rng: np.random.Generator, length: float = 0.09) -> np.ndarray:
    t = _time(length, sample_rate)
    noise = bandpass(rng.standard_normal(t.size), 4000, 10000, sample_rate)
    env = _attack(t, 0.02) * np.exp(-t * 35.0)
    out = noise * env
    return out / (np.abs(out).max() + 1e-9)


def tom(sample_rate: int, pitch: float = 90.0, length: float = 0.9) -> np.ndarray:
    """A big low drum (taiko/timpani-like) for epic: long pitch fall and a long decay."""
    t = _time(length, sample_rate)
    freq = pitch * (1.0 + 0.6 * np.exp(-t * 12.0))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) + 0.3 * np.sin(2.3 * phase)
    return body * np.exp(-t * 4.5) * _attack(t, 0.002)


def reverb_impulse(seconds: float, sample_rate: int, rng: np.random.Generator, damping: float) -> np.ndarray:
    """Exponentially decaying noise, darker over time: a cheap, smooth hall (two decorrelated channels)."""
    t = _time(seconds, sample_rate)
    noise = rng.standard_normal((t.size, 2))
    ir = noise * np.exp(-t * 6.9 / seconds)[:, None]  # -60 dB at `seconds`
    ir = lowpass(ir, damping, sample_rate, order=1)
    return ir / np.sqrt(np.sum(ir**2, axis=0, keepdims=True))
