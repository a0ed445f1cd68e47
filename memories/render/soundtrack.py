"""Original music for a memory, synthesised per mood, or a user's track prepared to fit.

`synthesise(mood, duration, seed)` writes a small arrangement (pad, bass, arpeggio/piano, drums)
whose tempo, key, mode, chord progression, instruments and drum pattern come from the mood; the
seed picks a progression variant, a transposition and small humanisation, so the same seed gives
the same samples. Beat times come from the score itself. `soundtrack_for` is the one entry point
the renderer calls: a user file or folder when given, else synthesis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from memories.render import audiofile, beats, loudness, settings, synth

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
STEPS_PER_BAR = 16  # 4/4 in sixteenth notes


@dataclass(frozen=True)
class MoodMusic:
    """The score of a mood. Progressions are 0-based scale degrees, one chord per bar."""

    bpm: float
    root: int  # MIDI note of the tonic, in the octave the chords are voiced
    mode: tuple[int, ...]
    progressions: tuple[tuple[int, ...], ...]  # the seed picks one
    sevenths: bool
    pad_level: float
    pad_cutoff: float  # Hz: the brightness of the pad bus
    pad_attack: float
    bass_pattern: str
    arp_pattern: str
    arp_voice: str  # "pluck" | "piano" | "bell"
    arp_level: float
    drums: str  # a key of DRUM_PATTERNS, or "none"
    swing: float  # fraction of a sixteenth that off-beat sixteenths are delayed
    reverb_wet: float


# Tempos sit apart by at least 10% so each mood is recognisably its own pulse (and the test can
# tell them apart by estimated BPM); slow, drumless, warm moods versus fast, bright, driven ones.
MOOD_MUSIC: dict[str, MoodMusic] = {
    "gentle": MoodMusic(
        bpm=72,
        root=65,
        mode=MAJOR,
        progressions=((0, 5, 3, 4), (0, 3, 5, 4)),
        sevenths=False,
        pad_level=0.55,
        pad_cutoff=1800,
        pad_attack=0.9,
        bass_pattern="whole",
        arp_pattern="up8",
        arp_voice="pluck",
        arp_level=0.55,
        drums="none",
        swing=0.0,
        reverb_wet=0.35,
    ),
    "chill": MoodMusic(
        bpm=88,
        root=62,
        mode=MINOR,
        progressions=((0, 3, 6, 3), (0, 5, 3, 6)),
        sevenths=True,
        pad_level=0.5,
        pad_cutoff=1100,
        pad_attack=0.5,
        bass_pattern="half",
        arp_pattern="broken8",
        arp_voice="piano",
        arp_level=0.45,
        drums="chill",
        swing=0.12,
        reverb_wet=0.3,
    ),
    "uplifting": MoodMusic(
        bpm=118,
        root=67,
        mode=MAJOR,
        progressions=((0, 4, 5, 3), (5, 3, 0, 4)),
        sevenths=False,
        pad_level=0.45,
        pad_cutoff=3500,
        pad_attack=0.3,
        bass_pattern="eighths",
        arp_pattern="updown16",
        arp_voice="pluck",
        arp_level=0.5,
        drums="four",
        swing=0.0,
        reverb_wet=0.22,
    ),
    "happy": MoodMusic(
        bpm=136,
        root=60,
        mode=MAJOR,
        progressions=((0, 3, 4, 3), (0, 4, 3, 4)),
        sevenths=False,
        pad_level=0.35,
        pad_cutoff=4500,
        pad_attack=0.05,
        bass_pattern="pulse",
        arp_pattern="bell",
        arp_voice="bell",
        arp_level=0.45,
        drums="pop",
        swing=0.0,
        reverb_wet=0.15,
    ),
    "sentimental": MoodMusic(
        bpm=64,
        root=57,
        mode=MINOR,
        progressions=((0, 3, 5, 4), (0, 5, 2, 6)),
        sevenths=False,
        pad_level=0.45,
        pad_cutoff=1500,
        pad_attack=1.5,
        bass_pattern="whole",
        arp_pattern="piano",
        arp_voice="piano",
        arp_level=0.7,
        drums="none",
        swing=0.0,
        reverb_wet=0.4,
    ),
    "epic": MoodMusic(
        bpm=100,
        root=50,
        mode=MINOR,
        progressions=((0, 5, 2, 6), (0, 5, 6, 4)),
        sevenths=False,
        pad_level=0.7,
        pad_cutoff=4000,
        pad_attack=0.4,
        bass_pattern="epic",
        arp_pattern="ostinato16",
        arp_voice="pluck",
        arp_level=0.5,
        drums="epic",
        swing=0.0,
        reverb_wet=0.3,
    ),
}

# (step in the bar, chord-tone index, octave, length in sixteenths); tone index wraps upwards.
ARP_PATTERNS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "up8": tuple((s, i % 4, i // 4, 4) for i, s in enumerate(range(0, 16, 2))),
    "broken8": tuple((s, t, 0, 3) for s, t in zip(range(0, 16, 2), (0, 2, 1, 2, 0, 2, 1, 3), strict=True)),
    "updown16": tuple(
        (s, t, 1, 2) for s, t in zip(range(16), (0, 1, 2, 3, 2, 1) * 2 + (0, 1, 2, 3), strict=True)
    ),
    "bell": ((0, 2, 1, 3), (3, 1, 1, 3), (6, 0, 1, 2), (8, 2, 1, 2), (10, 3, 1, 3), (13, 1, 1, 3)),
    "piano": (
        (0, 0, -1, 8),
        (2, 1, 0, 6),
        (4, 2, 0, 6),
        (6, 3, 0, 4),
        (8, 0, -1, 8),
        (10, 2, 0, 6),
        (12, 1, 1, 4),
    ),
    "ostinato16": tuple((s, (0, 0, 2, 0)[s % 4], -1, 1) for s in range(16)),
}
# (step, octave, length in sixteenths)
BASS_PATTERNS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "whole": ((0, 0, 16),),
    "half": ((0, 0, 8), (8, 0, 6), (14, 1, 2)),
    "eighths": tuple((step, 0, 2) for step in range(0, 16, 2)),
    "pulse": ((0, 0, 3), (3, 0, 2), (6, 1, 2), (8, 0, 3), (11, 0, 2), (14, 1, 2)),
    "epic": ((0, 0, 6), (6, 0, 2), (8, 1, 4), (12, 0, 4)),
}
# instrument -> (steps, velocity)
DRUM_PATTERNS: dict[str, dict[str, tuple[tuple[int, ...], float]]] = {
    "chill": {"kick": ((0, 7, 10), 0.8), "snare": ((8,), 0.45), "shaker": (tuple(range(16)), 0.25)},
    "four": {"kick": ((0, 4, 8, 12), 1.0), "clap": ((4, 12), 0.55), "hat": ((2, 6, 10, 14), 0.35)},
    "pop": {
        "kick": ((0, 8, 10), 1.0),
        "snare": ((4, 12), 0.6),
        "clap": ((4, 12), 0.3),
        "hat": (tuple(range(0, 16, 2)), 0.3),
    },
    "epic": {
        "tom": ((0, 3, 6, 10), 0.9),
        "kick": ((0, 8), 0.8),
        "snare": ((8,), 0.55),
        "hat": ((4, 12), 0.2),
    },
}
# Notes on the beat louder, off-beat sixteenths softer: how players phrase, and what lets a listener
# (and the beat tracker) hear the quarter-note pulse rather than the eighth-note arpeggio.
BEAT_ACCENT = 1.35
OFFBEAT_SOFTEN = 0.7
BUS_PAN = {"kick": 0.0, "snare": 0.05, "clap": -0.1, "hat": 0.35, "shaker": -0.35, "tom": -0.15}


@dataclass
class Soundtrack:
    samples: np.ndarray  # (n, 2) float32 in [-1, 1]
    sample_rate: int
    beats: np.ndarray  # beat times in seconds
    bpm: float
    source: str  # "synth:<mood>:<seed>" or the file

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def _chord(music: MoodMusic, degree: int, root: int) -> list[int]:
    """Scale-degree triad (or seventh) voiced upwards from the root octave."""
    mode = music.mode
    count = 4 if music.sevenths else 3
    notes = []
    for i in range(count):
        index = degree + 2 * i
        notes.append(root + mode[index % 7] + 12 * (index // 7))
    return notes


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1) * np.pi / 4  # constant-power pan law
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


def _mix_in(
    bus: np.ndarray, start: float, sound: np.ndarray, sample_rate: int, gain: float, pan: float
) -> None:
    at = int(round(start * sample_rate))
    if at >= len(bus) or at < 0:
        return
    end = min(len(bus), at + len(sound))
    bus[at:end] += gain * _pan(sound[: end - at], pan)


def synthesise(
    mood: str,
    duration: float,
    seed: int = 0,
    sample_rate: int = settings.SAMPLE_RATE,
    target_lufs: float = settings.TARGET_LUFS,
) -> Soundtrack:
    """An original, seeded piece in `mood`, exactly `duration` seconds, faded and normalised."""
    if mood not in MOOD_MUSIC:
        raise ValueError(f"unknown mood {mood!r}; choose one of {', '.join(MOOD_MUSIC)}")
    music = MOOD_MUSIC[mood]
    rng = np.random.default_rng([seed, sorted(MOOD_MUSIC).index(mood)])
    progression = music.progressions[int(rng.integers(len(music.progressions)))]
    root = music.root + int(rng.integers(-2, 3))
    beat_s = 60.0 / music.bpm
    step_s = beat_s / 4
    bar_s = beat_s * 4
    n = int(round(duration * sample_rate))
    bars = math.ceil(duration / bar_s) + 1
    tail = int(3 * sample_rate)  # room for releases; cut at the end
    pad_bus, arp_bus, bass_bus, drum_bus = (np.zeros((n + tail, 2)) for _ in range(4))

    def step_time(bar: int, step: int) -> float:
        swing = music.swing * step_s if step % 2 else 0.0
        return bar * bar_s + step * step_s + swing

    drums = DRUM_PATTERNS.get(music.drums, {})
    hits: dict[str, np.ndarray] = {
        "kick": synth.kick(sample_rate, punch=1.3 if mood == "epic" else 1.0),
        "snare": synth.snare(sample_rate, rng),
        "clap": synth.clap(sample_rate, rng),
        "hat": synth.hat(sample_rate, rng),
        "shaker": synth.shaker(sample_rate, rng),
        "tom": synth.tom(sample_rate),
    }
    arp_voice: Callable[[float, float, int], np.ndarray] = {
        "pluck": lambda note, d, sr: synth.pluck(note, d, sr, brightness=0.9 if mood == "epic" else 0.7),
        "piano": synth.piano,
        "bell": synth.bell,
    }[music.arp_voice]
    note_cache: dict[tuple[int, int], np.ndarray] = {}
    for bar in range(bars):
        chord = _chord(music, progression[bar % len(progression)], root)
        intro = bar < 2
        outro = bar >= bars - 2
        breakdown = bars > 20 and bar % 16 in (14, 15)  # a two-bar breath every 16 bars
        # Pad: one sustained chord per bar, voiced an octave below the arpeggio.
        pad = synth.pad([note - 12 for note in chord], bar_s, sample_rate, music.pad_attack, 0.8)
        _mix_in(pad_bus, bar * bar_s, pad, sample_rate, music.pad_level, -0.25 if bar % 2 else 0.25)
        # Bass: chord root two octaves down.
        for step, octave, length in BASS_PATTERNS[music.bass_pattern]:
            note = chord[0] - 24 + 12 * octave
            sound = synth.bass(note, length * step_s, sample_rate)
            accent = BEAT_ACCENT if step % 4 == 0 else OFFBEAT_SOFTEN
            _mix_in(bass_bus, step_time(bar, step), sound, sample_rate, 0.5 * accent, 0.0)
        # Arpeggio / piano: enters after the first bar on drum moods, at once on quiet ones.
        if not (intro and music.drums != "none" and bar == 0):
            inversion = int(rng.integers(0, 2))
            for step, tone, octave, length in ARP_PATTERNS[music.arp_pattern]:
                index = tone + inversion
                note = chord[index % len(chord)] + 12 * (octave + index // len(chord))
                velocity = 0.8 + 0.2 * rng.random()  # a player never hits two notes alike
                velocity *= BEAT_ACCENT if step % 4 == 0 else OFFBEAT_SOFTEN if step % 2 else 1.0
                # Notes repeat every few bars: render each (pitch, length) once.
                key = (note, length)
                if key not in note_cache:
                    note_cache[key] = arp_voice(note, length * step_s + 0.25, sample_rate)
                sound = note_cache[key]
                pan = 0.3 * np.sin(step * np.pi / 8)
                _mix_in(arp_bus, step_time(bar, step), sound, sample_rate, music.arp_level * velocity, pan)
        if intro or outro or breakdown:
            continue
        for instrument, (steps, velocity) in drums.items():
            for step in steps:
                accent = 1.0 if step % 4 == 0 else 0.8
                _mix_in(
                    drum_bus,
                    step_time(bar, step),
                    hits[instrument],
                    sample_rate,
                    velocity * accent,
                    BUS_PAN[instrument],
                )
        if music.drums == "epic" and bar % 4 == 3:  # a tom roll into every fourth bar
            for step in range(12, 16):
                _mix_in(
                    drum_bus, step_time(bar, step), hits["tom"], sample_rate, 0.5 + 0.1 * (step - 12), 0.2
                )

    pad_bus = synth.lowpass(pad_bus, music.pad_cutoff, sample_rate)
    bass_bus = synth.lowpass(bass_bus, 700.0, sample_rate)
    dry = pad_bus + arp_bus + bass_bus + 0.9 * drum_bus
    impulse = synth.reverb_impulse(2.4, sample_rate, rng, damping=5000.0)
    send = pad_bus + arp_bus + 0.3 * drum_bus
    # float32 FFTs: twice as fast, and a reverb tail needs no more than 24-bit precision.
    send32, impulse32 = send.astype(np.float32), impulse.astype(np.float32)
    wet = np.stack(
        [signal.fftconvolve(send32[:, c], impulse32[:, c])[: len(send)] for c in range(2)], axis=1
    ).astype(np.float64)
    mix = (dry + music.reverb_wet * wet)[:n]
    mix = loudness.fade(mix, sample_rate, settings.FADE_IN_S, settings.FADE_OUT_S)
    mix = loudness.normalise(mix, target_lufs, settings.PEAK_CEILING_DBFS, sample_rate)
    beat_times = np.arange(0.0, duration - 1e-9, beat_s)
    return Soundtrack(mix.astype(np.float32), sample_rate, beat_times, music.bpm, f"synth:{mood}:{seed}")


def from_file(
    path: Path,
    duration: float,
    sample_rate: int = settings.SAMPLE_RATE,
    target_lufs: float = settings.TARGET_LUFS,
) -> Soundtrack:
    """A user's track decoded with ffmpeg, looped or trimmed to `duration`, faded, normalised, and
    its beats found by onset autocorrelation (`beats.track`)."""
    decoded = audiofile.decode(path, sample_rate=sample_rate, max_seconds=duration + 1.0)
    fitted = audiofile.fit_length(decoded, int(round(duration * sample_rate)), sample_rate)
    analysed = beats.track(fitted.mean(axis=1), sample_rate)
    mix = loudness.fade(fitted, sample_rate, settings.FADE_IN_S, settings.FADE_OUT_S)
    mix = loudness.normalise(mix, target_lufs, settings.PEAK_CEILING_DBFS, sample_rate)
    return Soundtrack(mix.astype(np.float32), sample_rate, analysed.beats, analysed.bpm, str(path))


def pick_track(music: Path, seed: int = 0) -> Path:
    """A file is used as is; from a folder, one audio file chosen by the seed (sorted, so stable)."""
    if music.is_dir():
        tracks = sorted(p for p in music.iterdir() if p.suffix.lower() in settings.MUSIC_SUFFIXES)
        if not tracks:
            raise audiofile.AudioError(
                f"no audio files ({', '.join(sorted(settings.MUSIC_SUFFIXES))}) in {music}"
            )
        return tracks[seed % len(tracks)]
    if not music.is_file():
        raise audiofile.AudioError(f"music file not found: {music}")
    return music


def soundtrack_for(mood: str, duration: float, music: Path | None = None, seed: int = 0) -> Soundtrack:
    if music is None:
        return synthesise(mood, duration, seed)
    return from_file(pick_track(music, seed), duration)
