"""Instruments for the soundtrack synthesiser: numpy arrays of one note or one drum hit.

Every function is pure (parameters in, float64 mono samples out); noise comes from the caller's
seeded generator so a soundtrack is the same for the same seed.

Sustained lead voices (flute, lead, bowed, brass) read a one-cycle wavetable with a phase that
carries the vibrato: one table lookup per sample instead of one sine per harmonic, which is what
keeps a 90 s piece with a melody as fast to synthesise as the chords-only one was. Drums are kept
short and their lows modest (a kick of ~0.25 s, a click for small speakers to hear it by), since a
phone plays nothing below ~150 Hz and a long low boom only costs limiter headroom.
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


def lowpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2, axis: int = 0) -> np.ndarray:
    sos = signal.butter(order, min(cutoff, 0.45 * sample_rate), "low", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=axis)


def highpass(x: np.ndarray, cutoff: float, sample_rate: int, order: int = 2, axis: int = 0) -> np.ndarray:
    sos = signal.butter(order, cutoff, "high", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x, axis=axis)


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
    # exp(-t (2.5 + 2k)) by running products: one exp per note, not one per harmonic.
    decay, step = np.exp(-t * 2.5), np.exp(-t * 2.0)
    for k in range(1, 9):
        if k * f > 0.45 * sample_rate:
            break
        decay = decay * step
        out += (brightness**k / k) * np.sin(2 * np.pi * k * f * t) * decay
    return out * _attack(t, 0.003) * _release(t, duration, 0.03)


def piano(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Soft felt-piano: few harmonics with a slight stretch, a slow two-stage decay."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    out = np.zeros_like(t)
    # The two decays exp(-t (1.2 + 0.9k)) and exp(-t (0.4 + 0.3k)) by running products.
    fast, fast_step = np.exp(-t * 1.2), np.exp(-t * 0.9)
    slow, slow_step = np.exp(-t * 0.4), np.exp(-t * 0.3)
    for k in range(1, 7):
        partial = k * f * (1 + 0.0004 * k * k)
        if partial > 0.45 * sample_rate:
            break
        fast, slow = fast * fast_step, slow * slow_step
        out += (1.0 / k**1.6) * np.sin(2 * np.pi * partial * t) * (0.6 * fast + 0.4 * slow)
    return out * _attack(t, 0.006) * _release(t, duration, 0.08)


def bell(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Inharmonic partials of a small bell / glockenspiel, bright and long."""
    f = midi_hz(note)
    t = _time(duration, sample_rate)
    out = np.zeros_like(t)
    for ratio, amp, decay in ((1.0, 1.0, 1.8), (2.76, 0.55, 3.5), (5.40, 0.4, 6.0), (8.93, 0.25, 9.0)):
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


# --- lead voices (the melody) ------------------------------------------------------------------
_TABLE_SIZE = 8192


def _table(amplitudes: tuple[float, ...]) -> np.ndarray:
    """One cycle of a harmonic spectrum (amplitudes of harmonics 1, 2, ...), peak-normalised."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    out = np.zeros(_TABLE_SIZE)
    for k, amplitude in enumerate(amplitudes, start=1):
        out += amplitude * np.sin(2 * np.pi * k * phase)
    return out / np.abs(out).max()


def _harmonics(
    freq: float, sample_rate: int, slope: float, odd_only: bool = False, top: int = 12
) -> tuple[float, ...]:
    """Amplitudes 1/k**slope up to `top` harmonics and below 0.4 x the sample rate."""
    count = max(1, min(top, int(0.4 * sample_rate / freq)))
    return tuple(0.0 if odd_only and k % 2 == 0 else 1.0 / k**slope for k in range(1, count + 1))


def _cycles(
    freq: float, t: np.ndarray, sample_rate: int, rate: float, depth: float, delay: float
) -> np.ndarray:
    """Phase in cycles of a note with vibrato of `depth` (fraction of the frequency) fading in after
    `delay` s, the way a player lets a long note bloom."""
    swell = np.clip((t - delay) / 0.3, 0.0, 1.0)
    inst = freq * (1.0 + depth * swell * np.sin(2 * np.pi * rate * t))
    return np.cumsum(inst) / sample_rate


def _lookup(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    return table[(cycles * _TABLE_SIZE).astype(np.int64) % _TABLE_SIZE]


def flute(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Near-sine with a soft attack and a late vibrato: a flute or ocarina."""
    f = midi_hz(note)
    t = _time(duration + 0.15, sample_rate)
    out = _lookup(_table((1.0, 0.22, 0.09, 0.04)), _cycles(f, t, sample_rate, 5.0, 0.005, 0.25))
    return out * _attack(t, 0.07) * _release(t, duration + 0.15, 0.15)


def lead(
    note: float, duration: float, sample_rate: int, brightness: float = 1.0, square: bool = False
) -> np.ndarray:
    """A synth lead: saw (or square: odd harmonics) spectrum, quick attack, a slight decay to a
    sustain, vibrato on long notes."""
    f = midi_hz(note)
    t = _time(duration + 0.1, sample_rate)
    table = _table(_harmonics(f, sample_rate, 1.0 + 1.2 * (1.0 - brightness), odd_only=square, top=10))
    out = _lookup(table, _cycles(f, t, sample_rate, 5.5, 0.004, 0.3))
    env = _attack(t, 0.012) * (0.75 + 0.25 * np.exp(-t * 6.0)) * _release(t, duration + 0.1, 0.1)
    return out * env


def bowed(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """A solo violin or cello line: dark saw spectrum, slow bow attack, wide vibrato."""
    f = midi_hz(note)
    t = _time(duration + 0.3, sample_rate)
    table = _table(_harmonics(f, sample_rate, 1.5, top=10))
    out = _lookup(table, _cycles(f, t, sample_rate, 5.2, 0.007, 0.15))
    return out * _attack(t, 0.16) * _release(t, duration + 0.3, 0.3)


def brass(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """A horn: the spectrum brightens as the note swells (dark and bright tables crossfaded)."""
    f = midi_hz(note)
    t = _time(duration + 0.15, sample_rate)
    cycles = _cycles(f, t, sample_rate, 4.5, 0.003, 0.4)
    dark = _lookup(_table(_harmonics(f, sample_rate, 2.2, top=6)), cycles)
    bright = _lookup(_table(_harmonics(f, sample_rate, 1.2, top=10)), cycles)
    opening = 0.65 * (1.0 - np.exp(-t * 9.0)) * np.exp(-t * 0.8)
    out = (1.0 - opening) * dark + opening * bright
    return out * _attack(t, 0.05) * _release(t, duration + 0.15, 0.15)


def epiano(note: float, duration: float, sample_rate: int) -> np.ndarray:
    """Electric piano: a 1:1 FM tone whose modulation (the bark) dies away, and a faint tine."""
    f = midi_hz(note)
    t = _time(duration + 0.2, sample_rate)
    phase = 2 * np.pi * f * t
    index = 1.6 * np.exp(-t * 5.0) + 0.25
    out = np.sin(phase + index * np.sin(phase)) + 0.12 * np.sin(7.0 * phase) * np.exp(-t * 14.0)
    decay = 0.6 * np.exp(-t * 1.8) + 0.4 * np.exp(-t * 0.45)
    return out * decay * _attack(t, 0.003) * _release(t, duration + 0.2, 0.2)


# --- drums -----------------------------------------------------------------------------------
def kick(
    sample_rate: int, punch: float = 1.0, length: float = 0.28, decay: float = 13.0, click: float = 0.35
) -> np.ndarray:
    """A pitch-swept sine (55 Hz body) with a short decay and a 1.8 kHz click: the click is what a
    phone speaker plays of a kick."""
    t = _time(length, sample_rate)
    freq = 55.0 + 120.0 * punch * np.exp(-t * 32.0)
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) * np.exp(-t * decay)
    tick = click * np.sin(2 * np.pi * 1800.0 * t) * np.exp(-t * 220.0)
    return (body + tick) * _attack(t, 0.001) * _release(t, length, 0.02)


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


def tom(
    sample_rate: int, pitch: float = 90.0, length: float = 0.9, decay: float = 4.5, overtone: float = 0.3
) -> np.ndarray:
    """A big low drum (taiko/timpani-like) for epic: a pitch fall, an inharmonic overtone."""
    t = _time(length, sample_rate)
    freq = pitch * (1.0 + 0.6 * np.exp(-t * 12.0))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) + overtone * np.sin(2.3 * phase) + 0.5 * overtone * np.sin(3.6 * phase)
    return body * np.exp(-t * decay) * _attack(t, 0.002) * _release(t, length, 0.03)


def crash(sample_rate: int, rng: np.random.Generator, length: float = 2.0) -> np.ndarray:
    """A cymbal: high-passed noise with a long decay, marking the start of a section."""
    t = _time(length, sample_rate)
    noise = highpass(rng.standard_normal(t.size), 4500, sample_rate)
    out = noise * np.exp(-t * 2.2) * _attack(t, 0.002) * _release(t, length, 0.1)
    return out / (np.abs(out).max() + 1e-9)


def reverb_impulse(seconds: float, sample_rate: int, rng: np.random.Generator, damping: float) -> np.ndarray:
    """Exponentially decaying noise, darker over time: a cheap, smooth hall (two decorrelated channels)."""
    t = _time(seconds, sample_rate)
    noise = rng.standard_normal((t.size, 2))
    ir = noise * np.exp(-t * 6.9 / seconds)[:, None]  # -60 dB at `seconds`
    ir = lowpass(ir, damping, sample_rate, order=1)
    return ir / np.sqrt(np.sum(ir**2, axis=0, keepdims=True))
