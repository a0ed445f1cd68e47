"""The synthesised soundtrack: moods differ in tempo and spectrum, levels hit the target, seeds repeat;
and a user's track goes through ffmpeg, gets trimmed/looped, normalised and its beats found."""

from __future__ import annotations

import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from memories.render import audiofile, beats, loudness, settings, soundtrack

SECONDS = 16.0


@pytest.fixture(scope="module")
def tracks() -> dict[str, soundtrack.Soundtrack]:
    return {mood: soundtrack.synthesise(mood, SECONDS, seed=7) for mood in soundtrack.MOOD_MUSIC}


def test_every_mood_of_the_brief_exists() -> None:
    assert {"gentle", "chill", "uplifting", "happy", "sentimental", "epic"} <= set(soundtrack.MOOD_MUSIC)
    assert set(soundtrack.MOOD_MUSIC) == set(settings.MOODS)


def test_format_length_and_loudness(tracks: dict[str, soundtrack.Soundtrack]) -> None:
    for mood, track in tracks.items():
        assert track.sample_rate == 44_100
        assert track.samples.shape == (int(SECONDS * 44_100), 2), mood
        assert not np.allclose(track.samples[:, 0], track.samples[:, 1]), f"{mood} is not stereo"
        level = loudness.integrated_lufs(track.samples, track.sample_rate)
        assert abs(level - settings.TARGET_LUFS) <= 1.0, (mood, level)
        assert loudness.peak_dbfs(track.samples) <= settings.PEAK_CEILING_DBFS + 0.01
        # Faded in and out: the first and last 20 ms are far quieter than the piece.
        edge = int(0.02 * track.sample_rate)
        rms = np.sqrt(np.mean(track.samples.astype(np.float64) ** 2))
        for part in (track.samples[:edge], track.samples[-edge:]):
            assert np.sqrt(np.mean(part.astype(np.float64) ** 2)) < 0.05 * rms, mood


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
    assert min(centroid, key=centroid.__getitem__) == "epic", centroid  # low strings and drums
    assert min(centroid["happy"], centroid["uplifting"]) > 1.15 * max(
        centroid["gentle"], centroid["sentimental"]
    )


def test_same_seed_same_music_other_seed_other_music() -> None:
    a = soundtrack.synthesise("chill", 6.0, seed=3)
    b = soundtrack.synthesise("chill", 6.0, seed=3)
    c = soundtrack.synthesise("chill", 6.0, seed=4)
    assert np.array_equal(a.samples, b.samples)
    assert not np.allclose(a.samples, c.samples, atol=1e-3)


def test_loudness_meter_reads_a_known_sine() -> None:
    # ITU-R BS.2217: a 0 dBFS 1 kHz sine in one channel reads -3.01 LUFS; at -20 dBFS in both
    # channels that is -23.01 + 3.01 = -20.0 LUFS.
    t = np.arange(5 * 44_100) / 44_100
    sine = 0.1 * np.sin(2 * np.pi * 997 * t)
    assert loudness.integrated_lufs(np.stack([sine, sine], axis=1), 44_100) == pytest.approx(-20.0, abs=0.1)
    assert loudness.integrated_lufs(np.zeros((44_100, 2)), 44_100) == float("-inf")


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
