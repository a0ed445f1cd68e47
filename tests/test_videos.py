"""Videos and Live Photos through `memories index` and `memories cluster`.

The face_videos set (../shared/data/face_videos): six HDTF talking-head clips (one speaker each),
a Hamilton clip with reference photos of Lin-Manuel Miranda and Alex Lacamoire, and one iPhone
Live Photo (HEIC + MOV sharing Apple's content identifier). Bad files and rotated or dated clips
are made here with the bundled ffmpeg.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from memories.photos import PhotoError

REPO = Path(__file__).resolve().parents[1]


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _memories(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "memories", *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def video_library(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    library = tmp_path_factory.mktemp("videos") / "lib"
    indexed = _memories("index", str(shared_data / "face_videos"), "-L", str(library), "--json")
    assert indexed.returncode == 0, indexed.stderr
    clustered = _memories("cluster", "-L", str(library))
    assert clustered.returncode == 0, clustered.stderr
    return library


def _db(library: Path) -> sqlite3.Connection:
    db = sqlite3.connect(library / "library.sqlite3")
    db.row_factory = sqlite3.Row
    return db


def test_clips_and_the_live_photo_are_eight_assets_with_duration_time_and_place(
    video_library: Path, shared_data: Path
) -> None:
    db = _db(video_library)
    rows = {Path(r["path"]).name: r for r in db.execute("SELECT * FROM assets")}
    videos = {name: r for name, r in rows.items() if r["media_kind"] == "video"}
    live = [r for r in rows.values() if r["media_kind"] == "live"]
    with open(shared_data / "face_videos" / "videos.csv", encoding="utf-8") as listing:
        expected = {Path(r["video"]).name: float(r["duration_s"]) for r in csv.DictReader(listing)}
    assert set(videos) == set(expected)  # the 7 clips
    for name, seconds in expected.items():
        assert videos[name]["duration_s"] == pytest.approx(seconds, abs=0.05), name
        assert videos[name]["time_source"] == "file"  # no creation date in these files: flagged
    assert len(live) == 1 and Path(live[0]["path"]).name == "IMG_7943.HEIC"  # the pair as one
    assert "IMG_7943_HEVC.MOV" not in rows  # never a video of its own
    assert live[0]["duration_s"] == pytest.approx(1.93, abs=0.05)
    assert live[0]["taken_at"].startswith("2026-03-23T15:57")
    assert (live[0]["latitude"], live[0]["longitude"]) == pytest.approx((49.1989, 16.6071), abs=1e-3)
    motion = db.execute("SELECT * FROM asset_motion WHERE asset_id = ?", (live[0]["id"],)).fetchone()
    assert Path(motion["path"]).name == "IMG_7943_HEVC.MOV"
    assert motion["content_identifier"] == "9B539AB8-A668-4FA6-9207-EB653A5E7E3C"
    assert [r["media_kind"] for r in rows.values()].count("photo") == 2  # the two reference photos
    for row in videos.values():  # a highlight of 2-5 s inside the clip
        assert 0 <= row["highlight_start_s"] < row["highlight_end_s"] <= row["duration_s"] + 1e-6
        assert 2.0 <= row["highlight_end_s"] - row["highlight_start_s"] <= 5.0


def test_each_speaker_is_one_person_and_the_clip_meets_its_reference_photo(video_library: Path) -> None:
    db = _db(video_library)
    people_of = {}
    for row in db.execute(
        "SELECT a.path, o.person_id, o.is_clear, o.first_s, o.last_s, o.time_s FROM observations o "
        "JOIN assets a ON a.id = o.asset_id WHERE o.source = 'detector'"
    ):
        people_of.setdefault(Path(row["path"]).name, []).append(row)
    hdtf = {name: faces for name, faces in people_of.items() if name.startswith(("WDA_", "RD_"))}
    assert len(hdtf) == 6
    speakers = {}
    for name, faces in hdtf.items():
        # The speaker: the faces seen for more than a moment. They are one person, never two,
        # never none; nothing else in the clip is a person.
        speaker = [f for f in faces if f["last_s"] - f["first_s"] > 2.0]
        people = {f["person_id"] for f in speaker}
        assert len(people) == 1 and None not in people, f"{name}: its speaker is {people}"
        speakers[name] = people.pop()
        assert {f["person_id"] for f in faces} - {None} == {speakers[name]}, name
        assert min(f["first_s"] for f in speaker) < 1.0 and max(f["last_s"] for f in speaker) > 7.0
        assert all(f["first_s"] <= f["time_s"] <= f["last_s"] for f in faces)
    assert len(set(speakers.values())) == 6  # six clips, six different people
    lin = {f["person_id"] for f in people_of["ref_lin-manuel-miranda.png"]} - {None}
    clip = {f["person_id"] for f in people_of["short_hamilton_clip.mp4"]} - {None}
    assert lin and lin <= clip  # Lin-Manuel Miranda: his reference photo and his face in the clip


def test_reindexing_changes_nothing_and_the_motion_file_stays_with_its_still(
    video_library: Path, shared_data: Path
) -> None:
    again = _memories("index", str(shared_data / "face_videos"), "-L", str(video_library), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["new"] == 0 and summary["unchanged"] == 10


@pytest.mark.slow
def test_bad_videos_get_one_line_each_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    whole = tmp_path / "whole.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(whole))
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: lost
    (folder / "notes.mov").write_text("not a movie at all\n")
    (folder / "empty.mp4").write_bytes(b"")
    _ffmpeg("-i", str(whole), "-vn", "-c:a", "copy", str(folder / "audio_only.mp4"))
    (folder / "good.mp4").write_bytes(data)
    library = tmp_path / "lib"
    run = _memories("index", str(folder), "-L", str(library), "--no-faces", "--json")
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("memories:")]
    assert len(lines) == 4, run.stderr
    for name, reason in (
        ("truncated.mp4", "truncated"),
        ("notes.mov", "not a video"),
        ("empty.mp4", "empty file"),
        ("audio_only.mp4", "no video stream"),
    ):
        assert sum(name in line and reason in line for line in lines) == 1, (name, lines)
    summary = json.loads(run.stdout)
    assert summary["new"] == 1 and summary["videos"] == 1 and summary["skipped"] == 4


@pytest.mark.slow
def test_a_cut_short_copy_is_indexed_as_far_as_it_plays_with_a_warning(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole.mp4", tmp_path / "in" / "cut.mp4"
    cut.parent.mkdir()
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "6", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole))
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    run = _memories("index", str(cut.parent), "-L", str(tmp_path / "lib"), "--json")
    assert run.returncode == 0, run.stderr
    assert "cut.mp4" in run.stderr and "truncated" in run.stderr
    assert json.loads(run.stdout)["videos"] == 1


def test_rotation_tag_turns_the_frames_and_swaps_the_size(tmp_path: Path) -> None:
    from memories.videos import frames, read_video

    plain, turned = tmp_path / "plain.mp4", tmp_path / "turned.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(plain))
    _ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(turned))
    video = read_video(turned)
    assert video.video is not None and video.video.rotation == 90
    assert (video.width, video.height) == (240, 320)
    _, upright = next(frames(turned, video.video))
    _, stored = next(frames(plain, read_video(plain).video))  # type: ignore[arg-type]
    assert upright.shape == (320, 240, 3)
    assert np.array_equal(upright, np.rot90(stored))  # turned counter-clockwise, as players show it


def test_quicktime_creation_date_with_offset_and_iso6709_place(tmp_path: Path) -> None:
    from memories.videos import read_video

    clip = tmp_path / "IMG_0001.MOV"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "1", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", "-movflags", "use_metadata_tags",
            "-metadata", "com.apple.quicktime.creationdate=2024-07-14T18:30:05+0200",
            "-metadata", "com.apple.quicktime.location.ISO6709=+48.8583+002.2945+035.000/", str(clip))
    video = read_video(clip)
    assert video.meta.taken == datetime.fromisoformat("2024-07-14T18:30:05+02:00")
    assert video.meta.time_source == "quicktime"
    assert (video.meta.latitude, video.meta.longitude) == pytest.approx((48.8583, 2.2945))


def test_live_photo_pairs_by_name_and_time_when_no_identifier(tmp_path: Path) -> None:
    from PIL import Image

    from memories.ingest import _live_pairs

    def still(name: str, when: str) -> Path:
        path = tmp_path / name
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = when
        Image.new("RGB", (64, 48), (90, 120, 200)).save(path, exif=exif)
        return path

    def motion(name: str, when: str) -> Path:
        path = tmp_path / name
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-t", "2", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", "-movflags", "use_metadata_tags",
                "-metadata", f"com.apple.quicktime.creationdate={when}", str(path))
        return path

    paths = [
        still("IMG_1.JPG", "2024:05:01 10:00:01"), motion("IMG_1.MOV", "2024-05-01T10:00:00+0000"),
        still("IMG_2.JPG", "2024:05:01 11:00:00"), motion("IMG_2.MOV", "2024-05-01T11:00:09+0000"),
        still("IMG_3.JPG", "2024:05:01 12:00:00"),
    ]
    pairs = _live_pairs(paths)
    assert [(p.still.name, p.motion.name, p.by) for p in pairs] == [("IMG_1.JPG", "IMG_1.MOV", "name and time")]


def test_apple_makernote_identifier_is_read_from_the_still(shared_data: Path) -> None:
    from memories.live_photos import read_still_identifier

    still = shared_data / "face_videos" / "live_photo_pigallery2" / "IMG_7943.HEIC"
    assert read_still_identifier(still) == "9B539AB8-A668-4FA6-9207-EB653A5E7E3C"


def test_absurd_headers_are_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from memories import settings
    from memories.videos import read_video

    clip = tmp_path / "clip.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(clip))
    monkeypatch.setattr(settings, "MAX_VIDEO_PIXELS", 320 * 240 - 1)
    with pytest.raises(PhotoError, match="too large"):
        read_video(clip)
    monkeypatch.setattr(settings, "MAX_VIDEO_PIXELS", 40_000_000)
    monkeypatch.setattr(settings, "MAX_VIDEO_DURATION_S", 1.0)
    with pytest.raises(PhotoError, match="too long"):
        read_video(clip)


@pytest.mark.slow
def test_video_decoding_never_holds_the_file(tmp_path: Path) -> None:
    """Frames are read one at a time: the process reads a ~40 MB clip's frames with far less
    memory than the file (checked by the resident size growth while iterating)."""
    import resource

    from memories.videos import frames, read_video

    clip = tmp_path / "big.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "20", "-c:v", "libx264",
            "-preset", "ultrafast", "-crf", "0", "-pix_fmt", "yuv420p", str(clip))
    size_mb = os.path.getsize(clip) / 2**20
    assert size_mb > 30
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    video = read_video(clip)
    assert video.video is not None
    count = sum(1 for _ in frames(clip, video.video, longest_side=320))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert count == 600
    assert grown < size_mb / 2, f"decoding a {size_mb:.0f} MB file grew memory by {grown:.0f} MB"


def _face_clip(photo: Path, target: Path, seconds: float = 3.0) -> None:
    """A clip of a sample photo, slowly zoomed (a face that moves a little, as filmed)."""
    _ffmpeg("-loop", "1", "-i", str(photo), "-t", str(seconds), "-vf",
            "scale=960:-2,zoompan=z='1+0.002*on':d=1:s=640x480:fps=25,format=yuv420p",
            "-c:v", "libx264", "-g", "25", str(target))


@pytest.mark.slow
def test_index_with_videos_killed_and_resumed_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    import random

    from conftest import SAMPLES
    from crash_harness import index_progress, kill_after, library_state, run, survivors

    folder = tmp_path / "media"
    folder.mkdir()
    photos = sorted(SAMPLES.rglob("*.jpg"))[:3]
    for i, photo in enumerate(photos):
        _face_clip(photo, folder / f"clip{i}.mp4")
    from PIL import Image

    with Image.open(photos[0]) as image:  # a Live Photo whose copies lost the identifier
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:00:01"
        image.convert("RGB").save(folder / "IMG_0100.JPG", exif=exif)
    _ffmpeg("-loop", "1", "-i", str(photos[0]), "-t", "2", "-vf", "scale=320:-2,format=yuv420p",
            "-c:v", "libx264", "-movflags", "use_metadata_tags", "-metadata",
            "com.apple.quicktime.creationdate=2024-05-01T10:00:00+0000", str(folder / "IMG_0100.MOV"))

    def media(library: Path) -> set[tuple[str, str, str | None]]:
        with sqlite3.connect(library / "library.sqlite3") as db:
            return set(db.execute(
                "SELECT a.content_hash, a.media_kind, m.path FROM assets a "
                "LEFT JOIN asset_motion m ON m.asset_id = a.id"
            ).fetchall())

    clean = tmp_path / "clean"
    seconds = run(["index", str(folder), "-L", str(clean)])
    expected, expected_media = library_state(clean), media(clean)
    assert {kind for _, kind, _ in expected_media} == {"video", "live"}
    rng = random.Random(14)
    cut_short = []
    for trial in range(2):
        library = tmp_path / f"killed{trial}"
        spawned: list[int] = []
        for kill in range(2):
            after = rng.uniform(0.05, 1.0) * seconds
            # the first kill at its time, or once some but not all assets are stored if sooner
            until = (lambda lib=library, total=len(expected.assets): 0 < index_progress(lib).assets < total
                     ) if kill == 0 else None
            killed = kill_after(["index", str(folder), "-L", str(library), "--workers", "2"], after, until)
            spawned += killed.spawned
            if kill == 0:  # did it cut the index short (asset rows or index.pending)?
                left = index_progress(library)
                cut_short.append(killed.struck and left.unfinished(len(expected.assets)))
        assert not survivors(spawned), "processes of the killed runs are still alive"
        run(["index", str(folder), "-L", str(library)])
        assert library_state(library).differences(expected) == [], f"trial {trial}"
        assert media(library) == expected_media
    assert all(cut_short), "a first kill came after the index had finished"



@pytest.mark.slow
def test_variable_frame_rate_is_sampled_by_time(tmp_path: Path) -> None:
    """A phone slows its frame rate in dim light: 10 fps for 2 s, then 30 fps. Samples follow the
    clock, not the frame count, and the duration is the stream's."""
    from memories.video_faces import sample_interval
    from memories.videos import decoded, read_video

    clip = tmp_path / "vfr.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4", "-vf",
            r"select='not(mod(n\,3))+gte(n\,60)'", "-fps_mode", "vfr", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(clip))
    video = read_video(clip)
    assert video.video is not None and video.video.duration_s == pytest.approx(4.0, abs=0.1)
    times = [t for t, _ in decoded(clip)]
    gaps = np.diff(times)
    assert len(times) == 20 + 60 and gaps[:19] == pytest.approx(0.1, abs=1e-3)  # really variable
    assert gaps[-10:] == pytest.approx(1 / 30, abs=1e-3)
    run = _memories("index", str(tmp_path), "-L", str(tmp_path / "lib"), "--json")
    assert run.returncode == 0 and json.loads(run.stdout)["videos"] == 1, run.stderr
    assert sample_interval(4.0) == pytest.approx(4.0 / 16)
