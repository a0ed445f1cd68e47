"""Original music for a memory, synthesised per mood, or a user's track prepared to fit.

Issue 13: every memory of a mood and length had the same four-chord arpeggio loop, flat in level
(0.8-2.5 LU loudness range), with no melody and most of epic's power below 150 Hz, where a phone
speaker plays nothing. So a piece is now composed, then performed:

`compose(mood, duration, seed)` writes a score. The mood fixes what makes it that mood (tempo,
mode, register, instruments, drum style); the seed picks the rest: one of several chord
progressions, a transposition (seven keys), the bass, arpeggio and drum pattern variants, the
peak's doubling, and above all a melody. The melody is built the way a songwriter builds one: a
two-bar motif (a rhythm from the mood's cells, a contour of scale steps) stated, sequenced onto
the next chords, varied and closed by a cadence, in four-slot phrases; notes on beats one and
three are snapped to tones of the chord under them, the notes between move by scale steps. The
piece has a form: a sparse intro (pad and the arpeggio's beat notes), a build in which bass,
melody and then drums enter, a main part (in long pieces: main, a two-bar break and a fuller peak
on a second progression with the melody doubled), and an ending that thins out into a final
chord struck and left to ring. Chords are voiced close around the mood's register, so whatever
the key a mood keeps its brightness.

`perform(score)` renders it: notes are synthesised once per (pitch, length) and mixed into four
stereo buses (pad, bass, tonal, drums); `section_gains` measures each section of that mix and
sets it at its loudness in `settings.MUSIC_SECTION_LU` (intro 8 LU under the peak, and so on),
which with the layers entering and leaving gives every mood an EBU R128 loudness range of about
6-10 LU at 30-90 s; then a shared reverb, a high-pass for small speakers (the pad's and the mix's lows;
the bass sits at 65-123 Hz with overtones; kicks are short and clicky), fades and normalisation
to the target loudness.

`synthesise` is the two in one (same seed, same samples); `soundtrack_for` is the one entry point
the renderer calls: a user file or folder when given, else synthesis. Beat times come from the
score itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal

from memories.render import audiofile, beats, loudness, settings, synth

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
STEPS_PER_BAR = 16  # 4/4 in sixteenth notes
LAYERS = ("pad", "bass", "arp", "melody", "drums")


@dataclass(frozen=True)
class MoodMusic:
    """The style of a mood. Progressions are 0-based scale degrees, one chord per bar; where a
    field is a tuple of choices, the seed picks one."""

    bpm: float
    root: int  # MIDI note of the tonic, in the octave the chords are voiced
    mode: tuple[int, ...]
    progressions: tuple[tuple[int, ...], ...]
    cadence: int  # degree of the chord before the final tonic: 4 (V) or, in minor, 6 (VII)
    sevenths: bool
    pad_level: float
    pad_cutoff: float  # Hz: the brightness of the pad bus
    pad_attack: float
    bass_patterns: tuple[str, ...]
    bass_level: float
    arp_patterns: tuple[str, ...]
    arp_voice: str  # "pluck" | "piano" | "bell"
    arp_level: float
    melody_voice: str  # a key of MELODY_VOICES
    melody_level: float
    melody_rhythm: str  # a key of MELODY_RHYTHMS
    drums: str  # a key of DRUM_PATTERNS, or "none"
    swing: float  # fraction of a sixteenth that off-beat sixteenths are delayed
    reverb_wet: float
    pluck_brightness: float = 0.7
    peak_doublings: tuple[str, ...] = ("third", "octave")  # how the peak thickens the melody
    melody_home: int = 7  # scale index the melody centres on (7: the tonic an octave above the chords)


# Tempos sit apart by at least 10% so each mood is recognisably its own pulse (and the test can
# tell them apart by estimated BPM); slow, drumless, warm moods versus fast, bright, driven ones.
# Melody voices keep the moods apart too: a flute (gentle), electric piano (chill), saw lead
# (uplifting), square lead over bells (happy), a bowed solo string (sentimental), brass (epic).
MOOD_MUSIC: dict[str, MoodMusic] = {
    "gentle": MoodMusic(
        bpm=72,
        root=65,
        mode=MAJOR,
        progressions=((0, 5, 3, 4), (0, 3, 5, 4), (0, 4, 5, 3), (0, 2, 3, 4), (5, 3, 0, 4), (0, 3, 1, 4)),
        cadence=4,
        sevenths=False,
        pad_level=0.55,
        pad_cutoff=1500,
        pad_attack=0.9,
        bass_patterns=("whole", "halves"),
        bass_level=0.42,
        arp_patterns=("up8", "arch8"),
        arp_voice="pluck",
        arp_level=0.5,
        melody_voice="flute",
        melody_level=0.45,
        melody_rhythm="sparse",
        drums="none",
        swing=0.0,
        reverb_wet=0.35,
        peak_doublings=("third",),
        pluck_brightness=0.6,
        melody_home=4,
    ),
    "chill": MoodMusic(
        bpm=88,
        root=62,
        mode=MINOR,
        progressions=((0, 3, 6, 3), (0, 5, 3, 6), (0, 6, 5, 6), (0, 2, 3, 6), (0, 3, 4, 5), (3, 6, 2, 5)),
        cadence=6,
        sevenths=True,
        pad_level=0.5,
        pad_cutoff=1100,
        pad_attack=0.5,
        bass_patterns=("half", "syncopated"),
        bass_level=0.45,
        arp_patterns=("broken8", "stabs"),
        arp_voice="piano",
        arp_level=0.42,
        melody_voice="epiano",
        melody_level=0.5,
        melody_rhythm="flowing",
        drums="chill",
        swing=0.12,
        reverb_wet=0.3,
        peak_doublings=("third",),
    ),
    "uplifting": MoodMusic(
        bpm=118,
        root=64,
        mode=MAJOR,
        progressions=((0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 5, 4), (0, 5, 3, 4), (3, 0, 4, 5), (0, 4, 3, 4)),
        cadence=4,
        sevenths=False,
        pad_level=0.6,
        pad_cutoff=4500,
        pad_attack=0.3,
        bass_patterns=("eighths", "octaves"),
        bass_level=0.55,
        arp_patterns=("updown16", "up16"),
        arp_voice="pluck",
        arp_level=0.45,
        melody_voice="lead",
        melody_level=0.36,
        melody_rhythm="driving",
        drums="four",
        swing=0.0,
        reverb_wet=0.22,
        pluck_brightness=1.0,
        melody_home=6,
    ),
    "happy": MoodMusic(
        bpm=136,
        root=62,
        mode=MAJOR,
        progressions=((0, 3, 4, 3), (0, 4, 3, 4), (0, 5, 3, 4), (0, 1, 3, 4), (0, 3, 1, 4), (0, 4, 5, 3)),
        cadence=4,
        sevenths=False,
        pad_level=0.3,
        pad_cutoff=4500,
        pad_attack=0.05,
        bass_patterns=("pulse", "bounce"),
        bass_level=0.36,
        arp_patterns=("bell", "bell2"),
        arp_voice="bell",
        arp_level=0.45,
        melody_voice="square",
        melody_level=0.32,
        melody_rhythm="driving",
        drums="pop",
        swing=0.0,
        reverb_wet=0.15,
        melody_home=9,
    ),
    "sentimental": MoodMusic(
        bpm=64,
        root=60,
        mode=MINOR,
        progressions=((0, 3, 5, 4), (0, 5, 2, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 6, 5, 4), (5, 3, 0, 4)),
        cadence=4,
        sevenths=False,
        pad_level=0.45,
        pad_cutoff=1500,
        pad_attack=1.5,
        bass_patterns=("whole", "halves"),
        bass_level=0.4,
        arp_patterns=("piano", "piano2"),
        arp_voice="piano",
        arp_level=0.6,
        melody_voice="bowed",
        melody_level=0.45,
        melody_rhythm="sparse",
        drums="none",
        swing=0.0,
        reverb_wet=0.4,
        peak_doublings=("third",),
    ),
    "epic": MoodMusic(
        bpm=100,
        root=50,
        mode=MINOR,
        progressions=((0, 5, 2, 6), (0, 5, 6, 4), (0, 6, 5, 6), (5, 3, 0, 6), (0, 3, 5, 6), (0, 5, 3, 6)),
        cadence=6,
        sevenths=False,
        pad_level=0.6,
        pad_cutoff=1600,
        pad_attack=0.4,
        bass_patterns=("epic", "drive"),
        bass_level=0.42,
        arp_patterns=("ostinato16", "ostinato8"),
        arp_voice="pluck",
        arp_level=0.45,
        melody_voice="brass",
        melody_level=0.5,
        melody_rhythm="heroic",
        drums="epic",
        swing=0.0,
        reverb_wet=0.3,
        pluck_brightness=0.6,
        peak_doublings=("octave", "third"),
    ),
}

# (step in the bar, chord-tone index, octave, length in sixteenths); tone index wraps upwards.
ARP_PATTERNS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "up8": tuple((s, i % 4, i // 4, 4) for i, s in enumerate(range(0, 16, 2))),
    "arch8": tuple((s, t, 0, 4) for s, t in zip(range(0, 16, 2), (0, 1, 2, 3, 4, 3, 2, 1), strict=True)),
    "broken8": tuple((s, t, 0, 3) for s, t in zip(range(0, 16, 2), (0, 2, 1, 2, 0, 2, 1, 3), strict=True)),
    "stabs": (
        (0, 0, 0, 5),
        (0, 1, 0, 5),
        (0, 2, 0, 5),
        (6, 1, 0, 3),
        (6, 3, 0, 3),
        (10, 0, 0, 4),
        (10, 2, 0, 4),
    ),
    "updown16": tuple(
        (s, t, 1, 2) for s, t in zip(range(16), (0, 1, 2, 3, 2, 1) * 2 + (0, 1, 2, 3), strict=True)
    ),
    "up16": tuple((s, s % 4, 1, 2) for s in range(16)),
    "bell": ((0, 2, 1, 3), (3, 1, 2, 3), (6, 0, 2, 2), (8, 2, 1, 2), (10, 3, 1, 3), (13, 1, 2, 3)),
    "bell2": ((0, 0, 2, 2), (2, 2, 1, 2), (4, 1, 2, 2), (6, 3, 1, 2), (8, 2, 2, 4), (12, 0, 2, 4)),
    "piano": (
        (0, 0, -1, 8),
        (2, 1, 0, 6),
        (4, 2, 0, 6),
        (6, 3, 0, 4),
        (8, 0, -1, 8),
        (10, 2, 0, 6),
        (12, 1, 1, 4),
    ),
    "piano2": ((0, 0, -1, 12), (4, 2, 0, 4), (6, 1, 1, 4), (8, 2, 0, 6), (12, 3, 0, 4)),
    "ostinato16": tuple((s, (0, 0, 2, 0)[s % 4], -1, 1) for s in range(16)),
    "ostinato8": tuple((s, (0, 2, 1, 2)[(s // 2) % 4], -1, 2) for s in range(0, 16, 2)),
}
# (step, octave, length in sixteenths)
BASS_PATTERNS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "whole": ((0, 0, 16),),
    "halves": ((0, 0, 8), (8, 0, 8)),
    "half": ((0, 0, 8), (8, 0, 6), (14, 1, 2)),
    "syncopated": ((0, 0, 6), (6, 0, 4), (10, 1, 2), (12, 0, 4)),
    "eighths": tuple((step, 0, 2) for step in range(0, 16, 2)),
    "octaves": tuple((step, (step // 2) % 2, 2) for step in range(0, 16, 2)),
    "pulse": ((0, 0, 3), (3, 0, 2), (6, 1, 2), (8, 0, 3), (11, 0, 2), (14, 1, 2)),
    "bounce": ((0, 0, 2), (4, 1, 2), (6, 0, 2), (8, 0, 2), (12, 1, 2), (14, 0, 2)),
    "epic": ((0, 0, 6), (6, 0, 2), (8, 1, 4), (12, 0, 4)),
    "drive": ((0, 0, 4), (4, 0, 2), (6, 0, 2), (8, 1, 4), (12, 0, 2), (14, 0, 2)),
}
# instrument -> (steps, velocity); the seed picks one of each style's variants.
DrumPattern = dict[str, tuple[tuple[int, ...], float]]
DRUM_PATTERNS: dict[str, tuple[DrumPattern, ...]] = {
    "chill": (
        {"kick": ((0, 7, 10), 0.8), "snare": ((8,), 0.45), "shaker": (tuple(range(16)), 0.25)},
        {"kick": ((0, 6, 10), 0.8), "snare": ((8,), 0.45), "shaker": (tuple(range(0, 16, 2)), 0.3)},
    ),
    "four": (
        {"kick": ((0, 4, 8, 12), 1.0), "clap": ((4, 12), 0.55), "hat": ((2, 6, 10, 14), 0.35)},
        {"kick": ((0, 4, 8, 12), 1.0), "clap": ((4, 12), 0.5), "hat": (tuple(range(0, 16, 2)), 0.3)},
    ),
    "pop": (  # bright on top: sixteenth hats and a tambourine-like shaker on the off-beats
        {
            "kick": ((0, 8, 10), 0.85),
            "snare": ((4, 12), 0.6),
            "clap": ((4, 12), 0.35),
            "hat": (tuple(range(16)), 0.35),
            "shaker": ((2, 6, 10, 14), 0.4),
        },
        {
            "kick": ((0, 6, 8), 0.85),
            "snare": ((4, 12), 0.6),
            "clap": ((4, 12), 0.35),
            "hat": (tuple(range(16)), 0.35),
            "shaker": ((2, 6, 10, 14), 0.4),
        },
    ),
    "epic": (
        {"tom": ((0, 3, 6, 10), 0.9), "kick": ((0, 8), 0.8), "snare": ((8,), 0.55), "hat": ((4, 12), 0.2)},
        {"tom": ((0, 6, 8, 11), 0.9), "kick": ((0, 8), 0.8), "snare": ((12,), 0.55), "hat": ((4, 12), 0.2)},
    ),
}
# A melody's rhythm is one opening bar and one closing bar (the closing one ends on a longer note),
# picked per piece from the mood's cells: (step, length in sixteenths).
Cell = tuple[tuple[int, int], ...]
MELODY_RHYTHMS: dict[str, tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {
    "sparse": (  # slow moods: a bar is over 3 s, so few, long notes
        (
            ((0, 4), (4, 4), (8, 8)),
            ((0, 6), (6, 2), (8, 4), (12, 4)),
            ((0, 8), (8, 4), (12, 4)),
            ((2, 2), (4, 4), (8, 6), (14, 2)),
        ),
        (((0, 4), (4, 4), (8, 8)), ((0, 12), (12, 4)), ((0, 6), (6, 2), (8, 8))),
    ),
    "flowing": (
        (
            ((0, 3), (3, 3), (6, 2), (8, 4), (12, 4)),
            ((2, 2), (4, 2), (6, 4), (10, 6)),
            ((0, 4), (4, 2), (6, 6), (12, 4)),
        ),
        (((0, 4), (4, 4), (8, 8)), ((0, 6), (6, 10)), ((0, 2), (2, 2), (4, 12))),
    ),
    "driving": (
        (
            ((0, 2), (2, 2), (4, 4), (8, 2), (10, 2), (12, 4)),
            ((0, 3), (3, 3), (6, 2), (8, 4), (12, 4)),
            ((0, 4), (4, 2), (6, 2), (8, 6), (14, 2)),
        ),
        (((0, 2), (2, 2), (4, 4), (8, 8)), ((0, 3), (3, 3), (6, 10)), ((0, 4), (4, 4), (8, 4), (12, 4))),
    ),
    "heroic": (
        (((0, 6), (6, 2), (8, 8)), ((0, 4), (4, 4), (8, 6), (14, 2)), ((0, 8), (8, 2), (10, 2), (12, 4))),
        (((0, 4), (4, 4), (8, 8)), ((0, 12), (12, 2), (14, 2)), ((0, 16),)),
    ),
}
# Slots of a four-slot (eight-bar) melodic phrase: statement, sequence, variation, cadence.
PHRASE = ("statement", "sequence", "variation", "cadence")
# The span of the melody around its home (`MoodMusic.melody_home`), in scale steps: an octave and a
# fourth, a singer's comfortable range; a motif reaches at most a sixth either side of its first note.
MELODY_SPAN = (-5, 6)
MOTIF_REACH = 5
# Scale steps from one motif note to the next, drawn uniformly: half are steps, as in most tunes
# (conjunct motion), the rest repeats, thirds and the odd fourth.
MOTIF_INTERVALS = (0, 1, 1, 1, 1, 2, 2, 3)
MELODY_TOP = 86  # MIDI: a doubling an octave up stays under D6 (1.2 kHz); higher, a lead turns shrill
# Notes on the beat louder, off-beat sixteenths softer: how players phrase, and what lets a listener
# (and the beat tracker) hear the quarter-note pulse rather than the eighth-note arpeggio.
BEAT_ACCENT = 1.35
OFFBEAT_SOFTEN = 0.7
SPARSE_SOFTEN = 0.75  # the arpeggio's beat notes alone, as a player starts a piece: softly
BUS_PAN = {
    "kick": 0.0,
    "snare": 0.05,
    "clap": -0.1,
    "hat": 0.35,
    "shaker": -0.35,
    "tom": -0.15,
    "crash": 0.25,
}


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


@dataclass(frozen=True)
class Note:
    time: float  # seconds
    pitches: tuple[int, ...]  # MIDI; a pad plays a chord
    length: float  # seconds held
    velocity: float
    pan: float = 0.0
    ring: bool = False  # part of the final chord: left to die away
    harmony: bool = False  # a melody note's doubling (a third under or an octave away)


@dataclass(frozen=True)
class Section:
    name: str  # intro | build | main | break | peak | ending | final
    start: float  # seconds
    end: float


@dataclass
class Score:
    """What `perform` plays: notes per layer (LAYERS), drum hits and the sections."""

    mood: str
    seed: int
    duration: float
    bpm: float
    key: int  # MIDI tonic after the seed's transposition
    progression: tuple[int, ...]
    sections: list[Section]
    notes: dict[str, list[Note]] = field(default_factory=lambda: {layer: [] for layer in LAYERS})
    drums: list[tuple[float, str, float]] = field(default_factory=list)  # (seconds, instrument, velocity)


def _entropy(seed: int) -> int:
    """Any int (a memory key's hash may be negative) as the non-negative entropy numpy wants."""
    return int(seed) % (1 << 64)


def _scale_pitch(index: int, key: int, mode: tuple[int, ...]) -> int:
    """MIDI pitch of scale index `index` (0 = the tonic `key`, 7 = an octave up, -1 = below)."""
    return key + mode[index % 7] + 12 * (index // 7)


def _chord(music: MoodMusic, degree: int, key: int, spread: int = 0) -> list[int]:
    """Scale-degree triad (or seventh) in close position inside the octave from a fifth under the
    mood's root (moved by `spread` semitones: the seed's choice of inversions) up, ascending:
    chords move by the smallest steps (voice leading) and stay in the mood's register whatever the
    key, so a transposition does not make a piece brighter or darker."""
    count = 4 if music.sevenths else 3
    low = music.root - 5 + spread
    tones = (_scale_pitch(degree + 2 * i, key, music.mode) for i in range(count))
    return sorted(low + (pitch - low) % 12 for pitch in tones)


def _nearest_chord_tone(index: int, degree: int, prefer: int) -> int:
    """The scale index nearest `index` that is a triad tone of `degree`; ties go to `prefer`'s side."""
    tones = {degree % 7, (degree + 2) % 7, (degree + 4) % 7}
    for distance in range(4):
        for candidate in (index + prefer * distance, index - prefer * distance):
            if candidate % 7 in tones:
                return candidate
    return index


def _bass_note(pitch: int) -> int:
    """The chord root moved into the bass octave: MIDI 36-47 (65-123 Hz)."""
    return settings.MUSIC_BASS_LOWEST + (pitch - settings.MUSIC_BASS_LOWEST) % 12


def _form(bars: float) -> list[tuple[str, float]]:
    """Sections and their lengths in bars, summing to `bars` (a multiple of a half bar): the music
    before the final chord. Sections of long pieces are whole pairs of bars, as phrases are."""
    if bars < 3:
        return [("main", bars)] if bars > 0 else []
    pairs = bars >= 16

    def size(share: float) -> float:
        length = bars * share
        return float(max(1, 2 * round(length / 2) if pairs else round(length)))

    intro = size(settings.MUSIC_INTRO_SHARE)
    build = size(settings.MUSIC_BUILD_SHARE)
    ending = size(settings.MUSIC_ENDING_SHARE) + (bars - math.floor(bars))  # the half bar, if any
    body = bars - intro - build - ending
    if body < 1:
        build = max(0.0, build - (1 - body))
        body = bars - intro - build - ending
    if bars >= settings.MUSIC_LONG_FORM_BARS and body >= settings.MUSIC_BREAK_BARS + 4:
        main = float(2 * round((body - settings.MUSIC_BREAK_BARS) / 4))
        peak = body - main - settings.MUSIC_BREAK_BARS
        parts = [("main", main), ("break", float(settings.MUSIC_BREAK_BARS)), ("peak", peak)]
    else:
        parts = [("main", body)]
    form = [("intro", intro), ("build", build), *parts, ("ending", ending)]
    return [(name, length) for name, length in form if length > 0]


def _motif(music: MoodMusic, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Two bars of melody as (step from the motif start, length in steps, scale steps from the
    first note): a rhythm from the mood's cells and a contour (arch, rise, fall or wave) walked
    mostly by scale steps, now and then by a skip."""
    openings, closings = MELODY_RHYTHMS[music.melody_rhythm]
    first = openings[int(rng.integers(len(openings)))]
    second = closings[int(rng.integers(len(closings)))]
    rhythm = [*first, *((16 + step, length) for step, length in second)]
    contour = ("arch", "rise", "fall", "wave")[int(rng.integers(4))]
    offsets = [0]
    count = len(rhythm)
    for i in range(1, count):
        if contour == "arch":
            direction = 1 if i <= count // 2 else -1
        elif contour == "rise":
            direction = 1 if i < count - 1 else -1
        elif contour == "fall":
            direction = -1 if i > 1 else 1
        else:
            direction = 1 if (i // 2) % 2 == 0 else -1
        size = int(rng.choice(MOTIF_INTERVALS))
        if abs(offsets[-1] + direction * size) > MOTIF_REACH:
            direction = -direction  # turn back rather than wander out of a singable range
        offsets.append(offsets[-1] + direction * size)
    return [(step, length, offset) for (step, length), offset in zip(rhythm, offsets, strict=True)]


def _realise(
    motif: list[tuple[int, int, int]],
    kind: str,
    anchor: int,
    degrees: tuple[int, int],
    home: int,
    rng: np.random.Generator,
) -> list[tuple[int, int, int]]:
    """The motif over two bars of chords (`degrees`) starting on scale index `anchor`, as
    (step, length, scale index). Notes on beats one and three become chord tones."""
    lo, hi = home + MELODY_SPAN[0], home + MELODY_SPAN[1]
    notes = []
    second_bar = [offset for step, _, offset in motif if step >= 16]
    pivot = second_bar[0] if second_bar else 0
    for step, length, offset in motif:
        if kind == "variation" and step >= 16:
            offset = 2 * pivot - offset  # the second bar turned upside down
        if kind == "cadence" and step >= 16:
            break
        notes.append([step, length, anchor + offset])
    if kind == "variation" and rng.random() < 0.5:
        # Split the longest note of the first bar in two: a neighbour note on its second half.
        first_bar = [note for note in notes if note[0] < 16]
        longest = max(first_bar, key=lambda note: note[1])
        if longest[1] >= 4:
            half = longest[1] // 2
            longest[1] = half
            notes.append([longest[0] + half, half, longest[2] + (1 if rng.random() < 0.5 else -1)])
            notes.sort()
    if kind == "cadence":
        notes.append([16, 12, notes[-1][2] if notes else anchor])
    # Keep the slot inside the melody's range: the whole slot by an octave if that fits it (the
    # shape stays), else single notes folded back by an octave.
    top, bottom = max(note[2] for note in notes), min(note[2] for note in notes)
    shift = -7 if top > hi and bottom - 7 >= lo - 2 else 7 if bottom < lo and top + 7 <= hi + 2 else 0
    previous = anchor + shift
    out = []
    for step, length, index in notes:
        index += shift
        index += 7 if index < lo else -7 if index > hi else 0
        if step % 8 == 0:
            index = _nearest_chord_tone(index, degrees[step // 16], 1 if index >= previous else -1)
            index += 7 if index < lo else -7 if index > hi else 0
        out.append((step, length, index))
        previous = index
    return out


def _drum_bar(
    score: Score,
    pattern: DrumPattern,
    music: MoodMusic,
    section: Section,
    bar: int,
    step_time: Callable[[int, int], float],
    end: float,
    bar_s: float,
) -> None:
    """One bar of drums: half a kit (kick on one and three, hats) in the build, the whole kit in
    main and peak, a fill closing every fourth bar and the bar before the next section, a crash
    on the first bar of main and peak, extra sixteenth shakers in the peak."""
    light = section.name == "build"
    first = round(section.start / bar_s)
    fill = not light and ((bar - first) % 4 == 3 or section.end - (bar + 1) * bar_s < 1e-6)
    for instrument, (steps, velocity) in pattern.items():
        if light and instrument not in ("kick", "hat", "shaker"):
            continue
        for step in steps:
            if (light and instrument == "kick" and step % 8) or (
                fill and step >= 12 and instrument in ("kick", "snare", "clap", "tom")
            ):
                continue
            time = step_time(bar, step)
            if time < end:
                accent = 1.0 if step % 4 == 0 else 0.8
                score.drums.append((time, instrument, velocity * accent * (0.8 if light else 1.0)))
    if section.name == "peak":
        for step in range(1, 16, 2):
            score.drums.append((step_time(bar, step), "shaker", 0.16))
    if not light and bar == first:
        score.drums.append((bar * bar_s, "crash", 0.55))
    if fill:
        roll = "tom" if music.drums == "epic" else "snare"
        for step in range(12, 16):
            time = step_time(bar, step)
            if time < end:
                score.drums.append((time, roll, 0.35 + 0.1 * (step - 12)))


def _melody(
    score: Score,
    music: MoodMusic,
    motif: list[tuple[int, int, int]],
    doubling: str,
    first_bar: float,
    degree: Callable[[int], int],
    step_time: Callable[[int, int], float],
    final_time: float,
    rng: np.random.Generator,
) -> int:
    """The melody, section by section from `first_bar`: each section's two-bar slots run through
    statement, sequence, variation and cadence, and its last slot is a cadence (a phrase ends
    where a section does). In the break it plays softer over the pad alone; in the peak it is
    doubled a third below or an octave away. Returns the scale index of its last note."""
    bar_s = 240.0 / music.bpm
    step_s = bar_s / STEPS_PER_BAR
    notes = score.notes["melody"]
    # The melody's home: the scale index nearest the mood's register (`melody_home` in the
    # mood's own key), so that a transposed piece sings at the same height.
    target = _scale_pitch(music.melody_home, music.root, music.mode)
    home = min(range(-7, 28), key=lambda i: abs(_scale_pitch(i, score.key, music.mode) - target))
    anchor, anchor_degree, last = home, degree(0), home
    for section in score.sections:
        if section.name in ("intro", "final") or section.end / bar_s <= first_bar:
            continue
        start = math.ceil(max(section.start / bar_s, first_bar) - 1e-9)
        slots = list(range(start, math.ceil(section.end / bar_s - 1e-9), 2))
        for i, bar in enumerate(slots):
            closing = i == len(slots) - 1 and (len(slots) > 1 or section.name == "ending")
            kind = "cadence" if closing else PHRASE[i % len(PHRASE)]
            chords = (degree(bar), degree(bar + 1))
            if kind == "sequence":
                move = (chords[0] - anchor_degree + 3) % 7 - 3  # the motif moved with the chords
                anchor = _nearest_chord_tone(anchor + move, chords[0], 1)
            else:  # a chord tone near home, and near the note before: the line stays joined up
                tones = [i for i in range(home - 3, home + 4) if (i - chords[0]) % 7 in (0, 2, 4)]
                anchor = min(tones, key=lambda i: (abs(i - last), rng.random()))
            anchor_degree = chords[0]
            for step, length, index in _realise(motif, kind, anchor, chords, home, rng):
                time = step_time(bar + step // 16, step % 16)
                if time >= min(section.end, final_time) - 1e-6:
                    continue
                seconds = min(length * step_s, final_time - time)
                velocity = music.melody_level * (1.0 if step % 4 == 0 else 0.85) * (0.9 + 0.1 * rng.random())
                velocity *= 0.8 if section.name == "break" else 1.0
                pitch = _scale_pitch(index, score.key, music.mode)
                notes.append(Note(time, (pitch,), seconds, velocity, 0.1))
                last = index
                if section.name == "peak":
                    if doubling == "third":
                        second = _scale_pitch(index - 2, score.key, music.mode)
                        notes.append(Note(time, (second,), seconds, 0.55 * velocity, -0.25, harmony=True))
                    else:  # up an octave, unless that would go shrill
                        octave = 12 if pitch + 12 <= MELODY_TOP else -12
                        notes.append(
                            Note(time, (pitch + octave,), seconds, 0.45 * velocity, -0.25, harmony=True)
                        )
    return last


def _final_chord(score: Score, music: MoodMusic, melody_index: int | None, final_time: float) -> None:
    """The tonic struck at `final_time` and left to ring: pad, a rolled chord on the arpeggio's
    instrument, the bass root, the melody's last note resolved to the tonic, a crash on drum moods."""
    ring = max(score.duration - final_time, 0.5)
    tonic = _chord(music, 0, score.key)
    score.notes["pad"].append(
        Note(final_time, tuple(p - 12 for p in tonic), ring, music.pad_level, 0.0, True)
    )
    for i, pitch in enumerate([*tonic[:3], tonic[0] + 12]):
        velocity = music.arp_level * (1.1 - 0.1 * i)
        score.notes["arp"].append(
            Note(final_time + 0.035 * i, (pitch,), ring, velocity, 0.2 * (i - 1.5), True)
        )
    score.notes["bass"].append(
        Note(final_time, (_bass_note(score.key),), ring, 1.2 * music.bass_level, 0.0, True)
    )
    if melody_index is not None:
        home = 7 * round(melody_index / 7)  # the tonic nearest the melody's last note
        pitch = _scale_pitch(home, score.key, music.mode)
        score.notes["melody"].append(Note(final_time, (pitch,), ring, music.melody_level, 0.1, True))
    if music.drums != "none":
        score.drums.append((final_time, "crash", 0.6))
        score.drums.append((final_time, "tom" if music.drums == "epic" else "kick", 0.9))


def compose(mood: str, duration: float, seed: int = 0) -> Score:
    """The score of an original piece in `mood`, `duration` seconds long, chosen by `seed`."""
    if mood not in MOOD_MUSIC:
        raise ValueError(f"unknown mood {mood!r}; choose one of {', '.join(MOOD_MUSIC)}")
    music = MOOD_MUSIC[mood]
    rng = np.random.default_rng([_entropy(seed), sorted(MOOD_MUSIC).index(mood)])
    # Two progressions: one for the piece, another (a chorus) for its break and peak.
    first, other = rng.choice(len(music.progressions), size=2, replace=False)
    progression, chorus = music.progressions[int(first)], music.progressions[int(other)]
    key = music.root + int(rng.integers(-3, 4))
    spread = int(rng.choice((-3, 0, 3)))
    arp_pattern = ARP_PATTERNS[music.arp_patterns[int(rng.integers(len(music.arp_patterns)))]]
    bass_pattern = BASS_PATTERNS[music.bass_patterns[int(rng.integers(len(music.bass_patterns)))]]
    variants = DRUM_PATTERNS.get(music.drums, ({},))
    drum_pattern = variants[int(rng.integers(len(variants)))]
    doubling = music.peak_doublings[int(rng.integers(len(music.peak_doublings)))]
    motif = _motif(music, rng)

    bar_s = 240.0 / music.bpm
    step_s = bar_s / STEPS_PER_BAR
    # The final chord falls on the last half bar that leaves it MUSIC_FINAL_RING_S to ring.
    final_time = max(0.0, math.floor((duration - settings.MUSIC_FINAL_RING_S) / (bar_s / 2)) * bar_s / 2)
    bars = final_time / bar_s
    sections: list[Section] = []
    at = 0.0
    for name, length in _form(bars):
        sections.append(Section(name, at * bar_s, (at + length) * bar_s))
        at += length
    sections.append(Section("final", final_time, duration))
    score = Score(mood, seed, duration, music.bpm, key, progression, sections)
    named = {section.name: section for section in sections}
    # Layers enter through the build: bass at once, the melody after a third, drums at the half.
    entry = named.get("build", named.get("main"))
    bass_from = melody_from = drums_from = entry.start / bar_s if entry else math.inf
    if "build" in named:
        build_bars = (named["build"].end - named["build"].start) / bar_s
        melody_from = bass_from + 2 * math.floor(build_bars / 4)
        drums_from = bass_from + math.ceil(build_bars / 2)
    bar_count = math.ceil(bars - 1e-9)
    last_bar = bar_count - 1

    def step_time(bar: int, step: int) -> float:
        swing = music.swing * step_s if step % 2 else 0.0
        return bar * bar_s + step * step_s + swing

    chorus_bars = {
        bar
        for s in sections
        if s.name in ("break", "peak")
        for bar in range(round(s.start / bar_s), math.ceil(s.end / bar_s - 1e-9))
    }

    def degree(bar: int) -> int:
        if bar >= last_bar and bar_count >= 2:
            return music.cadence  # the chord that leads home to the final tonic
        chords = chorus if bar in chorus_bars else progression
        return chords[bar % len(chords)]

    for bar in range(bar_count):
        section = next(s for s in sections if s.start <= bar * bar_s + 1e-6 < s.end)
        end = min(final_time, (bar + 1) * bar_s)  # the last bar may be a half bar
        tones = _chord(music, degree(bar), key, spread)
        root = _scale_pitch(degree(bar), key, music.mode)
        # Pad: one sustained chord per bar, voiced an octave below the arpeggio.
        score.notes["pad"].append(
            Note(
                bar * bar_s,
                tuple(p - 12 for p in tones),
                end - bar * bar_s,
                music.pad_level,
                -0.25 if bar % 2 else 0.25,
            )
        )
        # Bass: from the build on, resting in the break; the last bar holds the root.
        if bar >= bass_from - 1e-9 and section.name != "break":
            for step, octave, length in ((0, 0, 16),) if bar == last_bar else bass_pattern:
                time = step_time(bar, step)
                if time < end:
                    accent = BEAT_ACCENT if step % 4 == 0 else OFFBEAT_SOFTEN
                    pitch = _bass_note(root) + 12 * octave
                    score.notes["bass"].append(
                        Note(time, (pitch,), min(length * step_s, end - time), music.bass_level * accent)
                    )
        # Arpeggio: sparse (on the beats only, softer) in the intro, the break and the last bar.
        sparse = section.name in ("intro", "break") or bar == last_bar
        inversion = int(rng.integers(0, 2))
        for step, tone, octave, length in arp_pattern:
            time = step_time(bar, step)
            if (sparse and step % 4) or time >= end:
                continue
            index = tone + inversion
            pitch = tones[index % len(tones)] + 12 * (octave + index // len(tones))
            velocity = 0.8 + 0.2 * rng.random()  # a player never hits two notes alike
            velocity *= BEAT_ACCENT if step % 4 == 0 else OFFBEAT_SOFTEN if step % 2 else 1.0
            velocity *= SPARSE_SOFTEN if sparse else 1.0
            pan = 0.3 * math.sin(step * math.pi / 8)
            score.notes["arp"].append(
                Note(time, (pitch,), length * step_s + 0.25, music.arp_level * velocity, pan)
            )
        if drum_pattern and bar >= drums_from - 1e-9 and section.name in ("build", "main", "peak"):
            _drum_bar(score, drum_pattern, music, section, bar, step_time, end, bar_s)
        elif drum_pattern and section.name == "ending" and abs(bar * bar_s - section.start) < 1e-6:
            score.drums.append((bar * bar_s, "kick", 0.8))  # the drums stop on the ending's downbeat

    last = None
    if melody_from < bar_count:
        last = _melody(score, music, motif, doubling, melody_from, degree, step_time, final_time, rng)
    _final_chord(score, music, last, final_time)
    return score


MELODY_VOICES: dict[str, Callable[[float, float, int], np.ndarray]] = {
    "flute": synth.flute,
    "epiano": synth.epiano,
    "lead": lambda note, seconds, rate: synth.lead(note, seconds, rate, brightness=1.0),
    "square": lambda note, seconds, rate: synth.lead(note, seconds, rate, brightness=0.9, square=True),
    "bowed": synth.bowed,
    "brass": synth.brass,
}
# A ringing final chord decays by this many nepers over its length (3: -26 dB at the end, where the
# last MUSIC_FADE_OUT_S fade takes it to silence): a struck chord dying away, not a fade.
RING_DECAY = 3.0


def _mix_in(
    bus: np.ndarray, start: float, sound: np.ndarray, sample_rate: int, gain: float, pan: float
) -> None:
    """Add `sound` into a (2, n) bus at `start` seconds, constant-power panned."""
    at = int(round(start * sample_rate))
    if at >= bus.shape[1] or at < 0:
        return
    end = min(bus.shape[1], at + len(sound))
    piece = sound[: end - at]
    angle = (pan + 1) * np.pi / 4
    bus[0, at:end] += (gain * math.cos(angle)) * piece
    bus[1, at:end] += (gain * math.sin(angle)) * piece


def section_gains(score: Score, dry: np.ndarray, sample_rate: int) -> list[tuple[float, float]]:
    """(seconds, dB) knots of the gain that puts each section at its loudness in
    `settings.MUSIC_SECTION_LU`, measured on the ungained mix as BS.1770 measures a programme:
    K-weighted 400 ms blocks, those 10 LU under the section's mean left out (so a sparse intro is
    judged by its notes, not by the gaps between them). Measuring rather than fixing the gains
    holds the shape for every mood, arrangement and length: a pad-only intro is 8 LU under the
    full band in one mood, 15 in another. The ending ramps down across its length; the final
    chord keeps its gain and dies away by itself; short ramps join the sections."""
    weighted = loudness.k_weight(dry[: int(score.duration * sample_rate)], sample_rate)
    cumulative = np.concatenate([[0.0], np.cumsum((weighted**2).sum(axis=1))])
    block, hop = int(0.4 * sample_rate), int(0.1 * sample_rate)
    targets = dict(settings.MUSIC_SECTION_LU)
    music = [s for s in score.sections if s.name != "final"]
    if not any(s.name == "peak" for s in music):
        targets["main"] = targets["peak"]  # a piece too short for a peak: its main part is the climax
    level: dict[int, float] = {}
    for i, section in enumerate(music):
        a, b = int(section.start * sample_rate), int(section.end * sample_rate)
        starts = np.arange(a, max(a + 1, b - block + 1), hop)
        ends = np.minimum(starts + block, b)
        power = (cumulative[ends] - cumulative[starts]) / np.maximum(1, ends - starts)
        power = power[power > 0]
        if power.size:
            power = power[power >= power.mean() * 0.1]  # the relative gate: -10 dB
            level[i] = 10 * math.log10(power.mean())
    if not level:
        return []
    top = max(targets[s.name] for i, s in enumerate(music) if i in level)
    # The loudest section sits at 0 dB; the others at their distance under it.
    reference = max(level[i] - (targets[s.name] - top) for i, s in enumerate(music) if i in level)
    knots: list[tuple[float, float]] = []
    for i, section in enumerate(music):
        gain = (targets[section.name] - top) - (level[i] - reference) if i in level else 0.0
        tilt = settings.MUSIC_ENDING_TILT_DB / 2 if section.name == "ending" else 0.0
        begin = section.start + (settings.MUSIC_SECTION_RAMP_S if i else 0.0)
        knots += [(begin, gain + tilt), (max(begin, section.end), gain - tilt)]
    return knots


def perform(
    score: Score,
    sample_rate: int = settings.SAMPLE_RATE,
    target_lufs: float = settings.TARGET_LUFS,
    mute: Collection[str] = (),
) -> Soundtrack:
    """Render `score` to normalised stereo; layers named in `mute` (of LAYERS) are left out."""
    music = MOOD_MUSIC[score.mood]
    rng = np.random.default_rng([_entropy(score.seed), sorted(MOOD_MUSIC).index(score.mood), 1])
    n = int(round(score.duration * sample_rate))
    length = n + int(3 * sample_rate)  # room for releases; cut at the end
    buses = {name: np.zeros((2, length), dtype=np.float32) for name in ("pad", "bass", "tonal", "drums")}
    ring = max(score.duration - score.sections[-1].start, 0.5)
    arp_voice: Callable[[float, float, int], np.ndarray] = {
        "pluck": lambda note, seconds, rate: synth.pluck(
            note, seconds, rate, brightness=music.pluck_brightness
        ),
        "piano": synth.piano,
        "bell": synth.bell,
    }[music.arp_voice]
    voices: dict[str, Callable[[tuple[int, ...], float, bool], np.ndarray]] = {
        "pad": lambda notes, seconds, rings: synth.pad(
            [float(p) for p in notes], seconds, sample_rate, music.pad_attack, 0.65 * ring if rings else 0.8
        ),
        "bass": lambda notes, seconds, rings: synth.bass(notes[0], seconds, sample_rate, grit=0.55),
        "arp": lambda notes, seconds, rings: arp_voice(notes[0], seconds, sample_rate),
        "melody": lambda notes, seconds, rings: MELODY_VOICES[music.melody_voice](
            notes[0], seconds, sample_rate
        ),
    }
    bus_of = {"pad": "pad", "bass": "bass", "arp": "tonal", "melody": "tonal"}
    # Notes repeat all through a piece: each (layer, pitches, length) is synthesised once.
    cache: dict[tuple[str, tuple[int, ...], float, bool], np.ndarray] = {}
    for layer, render in voices.items():
        if layer in mute:
            continue
        for note in score.notes[layer]:
            key = (layer, note.pitches, round(note.length, 4), note.ring)
            if key not in cache:
                sound = render(note.pitches, note.length, note.ring)
                if note.ring:
                    sound = sound * np.exp(-np.arange(len(sound)) * (RING_DECAY / ring / sample_rate))
                cache[key] = sound
            _mix_in(buses[bus_of[layer]], note.time, cache[key], sample_rate, note.velocity, note.pan)
    if "drums" not in mute and score.drums:
        epic = music.drums == "epic"
        hits: dict[str, np.ndarray] = {
            "kick": synth.kick(sample_rate, punch=1.3 if epic else 1.0),
            "snare": synth.snare(sample_rate, rng),
            "clap": synth.clap(sample_rate, rng),
            "hat": synth.hat(sample_rate, rng),
            "shaker": synth.shaker(sample_rate, rng),
            "tom": synth.tom(sample_rate, pitch=115.0, length=0.55, decay=7.0, overtone=0.5),
            "crash": synth.crash(sample_rate, rng),
        }
        for time, instrument, velocity in score.drums:
            _mix_in(buses["drums"], time, hits[instrument], sample_rate, velocity, BUS_PAN[instrument])

    # Buses stay (2, n) to the end: every filter and sum runs along contiguous rows; each full-length
    # array is let go as soon as it is summed (a 90 s stereo float64 array is 64 MB).
    pad = synth.lowpass(buses.pop("pad"), music.pad_cutoff, sample_rate, axis=1)
    pad = synth.highpass(pad, settings.MUSIC_PAD_HIGHPASS_HZ, sample_rate, axis=1)
    dry = synth.lowpass(buses.pop("bass"), 1600.0, sample_rate, axis=1)
    tonal, drums = buses.pop("tonal"), buses.pop("drums")
    send = pad + tonal
    send += 0.3 * drums
    dry += pad
    dry += tonal
    dry += 0.9 * drums
    del pad, tonal, drums
    knots = section_gains(score, dry.T, sample_rate) or [(0.0, 0.0)]
    times, levels = zip(*knots, strict=True)
    control = np.arange(0.0, length / sample_rate, 0.005)  # 200 Hz control rate, then per sample
    gain = np.interp(np.arange(length) / sample_rate, control, 10 ** (np.interp(control, times, levels) / 20))
    dry *= gain
    send *= gain
    send32 = send.astype(np.float32)
    del send, gain
    impulse = synth.reverb_impulse(2.4, sample_rate, rng, damping=5000.0).astype(np.float32)
    # float32 FFTs (twice as fast; a reverb tail needs no more than 24-bit precision), by
    # overlap-add: a 2.4 s response on a 90 s piece convolves a third faster in blocks.
    for channel in range(2):
        dry[channel] += music.reverb_wet * signal.oaconvolve(send32[channel], impulse[:, channel])[:length]
    del send32
    mix = synth.highpass(dry[:, :n], settings.MUSIC_MIX_HIGHPASS_HZ, sample_rate, axis=1)
    del dry
    mix = loudness.fade(
        np.ascontiguousarray(mix.T), sample_rate, settings.FADE_IN_S, settings.MUSIC_FADE_OUT_S
    )
    mix = loudness.normalise(mix, target_lufs, settings.PEAK_CEILING_DBFS, sample_rate)
    beat_times = np.arange(0.0, score.duration - 1e-9, 60.0 / score.bpm)
    return Soundtrack(
        mix.astype(np.float32), sample_rate, beat_times, score.bpm, f"synth:{score.mood}:{score.seed}"
    )


def synthesise(
    mood: str,
    duration: float,
    seed: int = 0,
    sample_rate: int = settings.SAMPLE_RATE,
    target_lufs: float = settings.TARGET_LUFS,
) -> Soundtrack:
    """An original piece in `mood`, exactly `duration` seconds, composed from `seed` and normalised."""
    return perform(compose(mood, duration, seed), sample_rate, target_lufs)


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
