"""The synthesised soundtrack: a different piece for every memory, with a form (quiet intro, build,
main part, an ending that dies away), a melody over the chords, levels measured by independent
meters (pyloudnorm for integrated loudness, ffmpeg's ebur128 for the loudness range), moods that
differ in tempo and spectrum, a low end a phone can play; and a user's track goes through ffmpeg,
gets trimmed/looped, normalised and its beats found."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from memories.render import audiofile, beats, loudness, settings, soundtrack

SECONDS = settings.LENGTH_SECONDS["short"]  # 30 s: the shortest memory, the hardest to give a form
SEED = 7
# Issue 13's acceptance figures: integrated loudness -16 +- 1 LUFS, loudness range >= 4 LU.
LUFS_TOLERANCE = 1.0
MIN_LRA = 4.0
# Epic had 69% of its power under 150 Hz; a phone plays next to nothing there. Produced music sits
# around 20-45% (pink noise from 20 Hz: 29%), so 45% is "balanced": the bass is there, not all.
MAX_LOW_SHARE = 0.45
# The intro is this many LU under the main part at least: 3 LU is a step every listener hears.
INTRO_UNDER_MAIN_LU = 3.0
# The melody is audible: at its notes' pitches the mix is this much louder than the same piece
# rendered without it (6 dB: twice the amplitude, the line stands clear of the accompaniment).
MELODY_ABOVE_ACCOMPANIMENT_DB = 6.0
# Two seeds' pieces correlate (sample by sample) under this: measured 0.2-0.5 for other seeds of
# a mood at 30 s (0.7 at 10 s, where a piece is mostly one pad), 0.88-0.94 for the same notes.
SAME_PIECE_CORRELATION = 0.7


@pytest.fixture(scope="module")
def tracks() -> dict[str, soundtrack.Soundtrack]:
    return {mood: soundtrack.synthesise(mood, SECONDS, seed=SEED) for mood in soundtrack.MOOD_MUSIC}


def _pyloudnorm(samples: np.ndarray, start: float = 0.0, end: float | None = None) -> float:
    """Integrated loudness (BS.1770-4) of samples[start:end] seconds by pyloudnorm."""
    rate = settings.SAMPLE_RATE
    part = samples[int(start * rate) : None if end is None else int(end * rate)]
    return float(pyloudnorm.Meter(rate).integrated_loudness(part.astype(np.float64)))


def _rms_db(samples: np.ndarray, centre: float, width: float = 0.4) -> float:
    rate = settings.SAMPLE_RATE
    start = int((centre - width / 2) * rate)
    part = samples[start : start + int(width * rate)].astype(np.float64)
    return float(10 * np.log10(np.mean(part**2) + 1e-20))


def test_every_mood_of_the_brief_exists() -> None:
    assert {"gentle", "chill", "uplifting", "happy", "sentimental", "epic"} <= set(soundtrack.MOOD_MUSIC)
    assert set(soundtrack.MOOD_MUSIC) == set(settings.MOODS)


def test_format_length_and_loudness(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    for mood, track in tracks.items():
        assert track.sample_rate == 44_100
        assert track.samples.shape == (int(SECONDS * 44_100), 2), mood
        assert not np.allclose(track.samples[:, 0], track.samples[:, 1]), f"{mood} is not stereo"
        level = loudness.integrated_lufs(track.samples, track.sample_rate)
        assert abs(level - settings.TARGET_LUFS) <= LUFS_TOLERANCE, (mood, level)
        # The renderer's own meter agrees with pyloudnorm's (same standard, separate code).
        assert level == pytest.approx(_pyloudnorm(track.samples), abs=0.1), mood
        assert loudness.peak_dbfs(track.samples) <= settings.PEAK_CEILING_DBFS + 0.01
        # Faded in and out: the first and last 20 ms are far quieter than the piece.
        edge = int(0.02 * track.sample_rate)
        rms = np.sqrt(np.mean(track.samples.astype(np.float64) ** 2))
        for part in (track.samples[:edge], track.samples[-edge:]):
            assert np.sqrt(np.mean(part.astype(np.float64) ** 2)) < 0.05 * rms, mood


def test_level_and_loudness_range_by_independent_meters(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    for mood, track in tracks.items():
        level = _pyloudnorm(track.samples)
        assert abs(level - settings.TARGET_LUFS) <= LUFS_TOLERANCE, (mood, level)
        lra = loudness.loudness_range(track.samples, track.sample_rate)
        assert lra >= MIN_LRA, (mood, lra)


def test_loudness_range_helper_reads_known_signals() -> None:
    """ffmpeg's LRA, parsed: a steady tone has none; a tone 10 dB louder in its second half has 10 LU."""
    rate = 44_100
    t = np.arange(20 * rate) / rate
    tone = 0.1 * np.sin(2 * np.pi * 997 * t)
    steady = np.stack([tone, tone], axis=1)
    assert loudness.loudness_range(steady, rate) == pytest.approx(0.0, abs=0.2)
    stepped = steady * np.where(t < 10, 10 ** (-10 / 20), 1.0)[:, None]
    assert loudness.loudness_range(stepped, rate) == pytest.approx(10.0, abs=0.5)


def test_loudness_meter_reads_a_known_sine() -> None:
    # ITU-R BS.2217: a 0 dBFS 1 kHz sine in one channel reads -3.01 LUFS; at -20 dBFS in both
    # channels that is -23.01 + 3.01 = -20.0 LUFS.
    t = np.arange(5 * 44_100) / 44_100
    sine = 0.1 * np.sin(2 * np.pi * 997 * t)
    assert loudness.integrated_lufs(np.stack([sine, sine], axis=1), 44_100) == pytest.approx(-20.0, abs=0.1)
    assert loudness.integrated_lufs(np.zeros((44_100, 2)), 44_100) == float("-inf")


def test_moods_differ_in_tempo(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    for (a, ta), (b, tb) in combinations(tracks.items(), 2):
        assert abs(np.log(ta.bpm / tb.bpm)) > np.log(1.08), (a, b)
    # The beat tracker hears each mood's score tempo (up to the usual octave ambiguity of
    # drumless music, whose eighth-note arpeggio can read as the beat).
    for mood, track in tracks.items():
        estimated = beats.track(track.samples.mean(axis=1), track.sample_rate).bpm
        octaves = np.log2(estimated / track.bpm)
        assert abs(octaves - round(octaves)) < np.log2(1.03), (mood, estimated, track.bpm)
        assert abs(round(octaves)) <= 1
        # Beat times: the score's quarter notes.
        assert np.allclose(np.diff(track.beats), 60.0 / track.bpm)


def test_moods_differ_in_spectrum(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    profiles = {mood: beats.octave_band_profile(t.samples, t.sample_rate) for mood, t in tracks.items()}
    for a, b in combinations(profiles, 2):
        distance = float(np.sqrt(np.mean((profiles[a] - profiles[b]) ** 2)))
        assert distance > 3.0, (a, b, distance)  # dB RMS over eight octave bands
    centroid = {mood: beats.spectral_centroid(t.samples, t.sample_rate) for mood, t in tracks.items()}
    assert max(centroid, key=centroid.__getitem__) == "happy", centroid  # bells and hats
    assert min(centroid, key=centroid.__getitem__) == "epic", centroid  # low brass and drums
    assert min(centroid["happy"], centroid["uplifting"]) > 1.15 * max(
        centroid["gentle"], centroid["sentimental"]
    )


def test_low_frequency_share_reads_known_signals() -> None:
    rate = 44_100
    t = np.arange(4 * rate) / rate
    low, high = np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 1000 * t)
    assert loudness.low_frequency_share(low + high, rate) == pytest.approx(0.5, abs=0.02)
    assert loudness.low_frequency_share(high, rate) < 0.01


def test_balanced_for_small_speakers(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    for mood, track in tracks.items():
        share = loudness.low_frequency_share(track.samples, track.sample_rate)
        assert share < MAX_LOW_SHARE, (mood, share)


@pytest.mark.slow
def test_every_memory_gets_its_own_music() -> None:
    """Seeds (a memory's key: any int up to 2**31) give different pieces, not the same piece with
    other noise; the same seed gives the same samples. The yardstick: the same score performed
    with other noise (drum hits, reverb) correlates ~0.9 with itself; other seeds must sit far
    under that (two pieces may share a key and progression, never the tune)."""
    seeds = [0, 1, 2, 3, 12345, 2**31 - 1]
    pieces = {seed: soundtrack.synthesise("chill", 20.0, seed=seed).samples for seed in seeds}
    digests = {hashlib.sha256(samples.tobytes()).hexdigest() for samples in pieces.values()}
    assert len(digests) == len(seeds)
    score = soundtrack.compose("chill", 20.0, seed=3)
    other_noise = soundtrack.perform(dataclasses.replace(score, seed=4)).samples
    same_notes = np.corrcoef(pieces[3].mean(axis=1), other_noise.mean(axis=1))[0, 1]
    assert same_notes > 0.8, same_notes
    for a, b in combinations(seeds, 2):
        correlation = np.corrcoef(pieces[a].mean(axis=1), pieces[b].mean(axis=1))[0, 1]
        assert abs(correlation) < SAME_PIECE_CORRELATION, (a, b, correlation)
    again = soundtrack.synthesise("chill", 20.0, seed=3)
    assert np.array_equal(again.samples, pieces[3])
    assert again.source == "synth:chill:3"


def test_the_piece_has_a_form(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    """A quiet intro, a build, a louder main part (fixed shares of the length, measured with
    pyloudnorm), and an ending whose final chord dies away before the last second's fade."""
    for mood, track in tracks.items():
        x = track.samples
        intro = _pyloudnorm(x, settings.FADE_IN_S, 0.12 * SECONDS)
        build = _pyloudnorm(x, 0.2 * SECONDS, 0.3 * SECONDS)
        main = _pyloudnorm(x, 0.45 * SECONDS, 0.7 * SECONDS)
        assert intro <= main - INTRO_UNDER_MAIN_LU, (mood, intro, main)
        assert intro + 1.0 < build <= main + 1.0, (mood, intro, build, main)
        tail = [_rms_db(x, SECONDS - before) for before in (3.0, 2.5, 2.0, 1.5, 1.0, 0.5)]
        assert all(later < earlier for earlier, later in zip(tail, tail[1:], strict=False)), (mood, tail)
        # A chord, not silence, 3 s from the end; and it decays before the fade-out begins.
        main_rms = _rms_db(x, 0.575 * SECONDS, width=0.25 * SECONDS)
        assert tail[0] > main_rms - 25.0, (mood, tail[0], main_rms)
        assert tail[3] < tail[0] - 6.0, (mood, tail)


@pytest.mark.slow
def test_there_is_a_melody_above_the_accompaniment() -> None:
    """Render each piece with and without its melody: where the score has a melody note, the
    mix holds energy at that pitch that the accompaniment alone does not."""
    for mood in soundtrack.MOOD_MUSIC:
        score = soundtrack.compose(mood, 20.0, seed=SEED)
        full = soundtrack.perform(score)
        bare = soundtrack.perform(score, mute=["melody"])
        spectra = []
        for track in (full, bare):
            freqs, times, z = signal.stft(
                track.samples.mean(axis=1).astype(np.float64),
                fs=track.sample_rate,
                nperseg=4096,
                noverlap=3072,
            )
            spectra.append(20 * np.log10(np.abs(z) + 1e-9))
        gains = []
        lead = [n for n in score.notes["melody"] if not (n.ring or n.harmony) and n.length >= 0.2]
        for note in lead:
            row = int(np.argmin(np.abs(freqs - 440.0 * 2 ** ((note.pitches[0] - 69) / 12))))
            column = int(np.argmin(np.abs(times - (note.time + 0.1))))
            gains.append(
                spectra[0][row - 1 : row + 2, column].max() - spectra[1][row - 1 : row + 2, column].max()
            )
        assert len(lead) >= 8, (mood, len(lead))
        assert np.median(gains) >= MELODY_ABOVE_ACCOMPANIMENT_DB, (mood, np.median(gains))


def test_melody_moves_like_a_tune() -> None:
    """The composed line: mostly steps and repeats (conjunct, as tunes are), few leaps over a
    fifth, more pitches than a chord has, inside an octave and a fifth, and above the pad."""
    for mood in soundtrack.MOOD_MUSIC:
        intervals: list[int] = []
        for seed in range(6):
            score = soundtrack.compose(mood, 60.0, seed=seed)
            line = [n.pitches[0] for n in score.notes["melody"] if not (n.ring or n.harmony)]
            pad_top = max(max(n.pitches) for n in score.notes["pad"])
            assert np.median(line) > pad_top, mood
            assert len(set(p % 12 for p in line)) >= 5, mood
            assert max(line) - min(line) <= 19, mood  # an octave and a fifth
            intervals += list(np.abs(np.diff(line)))
        moves = np.array(intervals)
        assert np.mean(moves <= 2) >= 0.45, (mood, np.mean(moves <= 2))
        assert np.mean(moves > 7) <= 0.08, (mood, np.mean(moves > 7))


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [6.0, 12.0])
def test_short_pieces(seconds: float) -> None:
    """Custom lengths down to settings.MIN_MEMORY_S still come out exact and at the target."""
    for mood in ("gentle", "happy"):
        track = soundtrack.synthesise(mood, seconds, seed=SEED)
        assert track.samples.shape == (int(seconds * 44_100), 2)
        assert abs(_pyloudnorm(track.samples) - settings.TARGET_LUFS) <= LUFS_TOLERANCE
        assert np.isfinite(track.samples).all()


@pytest.fixture(scope="module")
def user_track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real AAC file made by ffmpeg from a synthesised uplifting piece, 5 dB too quiet."""
    folder = tmp_path_factory.mktemp("music")
    music = soundtrack.synthesise("uplifting", 12.0, seed=1)
    wav = folder / "source.wav"
    audiofile.write_wav(wav, music.samples * 10 ** (-5 / 20), music.sample_rate)
    out = folder / "track.m4a"
    subprocess.run(
        [
            audiofile.ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            str(out),
        ],
        check=True,
    )
    wav.unlink()
    return out


def test_user_track_is_decoded_fitted_normalised_and_beat_tracked(user_track: Path) -> None:
    assert audiofile.probe_duration(user_track) == pytest.approx(12.0, abs=0.1)
    track = soundtrack.from_file(user_track, 20.0)  # longer than the file: looped
    assert track.samples.shape == (20 * 44_100, 2)
    assert abs(loudness.integrated_lufs(track.samples) - settings.TARGET_LUFS) <= 1.0
    assert track.bpm == pytest.approx(118.0, rel=0.02)
    spacing = np.median(np.diff(track.beats))
    assert spacing == pytest.approx(60 / 118.0, rel=0.03)
    # The beats line up with the score's quarter notes (first 12 s: before the loop seam).
    grid = np.arange(0, 12, 60 / 118.0)
    early = track.beats[track.beats < 11]
    assert np.median(np.min(np.abs(early[:, None] - grid[None, :]), axis=1)) < 0.05
    trimmed = soundtrack.from_file(user_track, 7.0)
    assert trimmed.samples.shape == (7 * 44_100, 2)


def test_music_folder_and_bad_files(user_track: Path, tmp_path: Path) -> None:
    assert soundtrack.pick_track(user_track.parent) == user_track
    with pytest.raises(audiofile.AudioError):
        soundtrack.pick_track(tmp_path)  # no audio files
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(audiofile.AudioError, match="junk.mp3"):
        soundtrack.from_file(junk, 5.0)
