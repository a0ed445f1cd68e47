"""Ingest: metadata, incremental runs, moved files, bad input, kill-and-resume, no network."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from memories.ingest import index
from memories.store import Library

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "photos"
CLI = [sys.executable, "-m", "memories"]


def _photo(
    path: Path, colour: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (64, 48)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _assets(library: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(library / "library.sqlite3") as db:
        return {(h, p) for h, p in db.execute("SELECT content_hash, path FROM assets")}


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG signature + IHDR claiming width x height, with a tiny IDAT: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_samples_index_with_metadata_and_moments(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as library:
        summary = index(library, [SAMPLES], recognise=False, progress=False)
        assert summary.new == sum(1 for _ in SAMPLES.rglob("*.jpg"))
        assert not summary.skipped
        rows = library.db.execute("SELECT path, taken_at, time_source, latitude FROM assets").fetchall()
        by_name = {Path(r["path"]).name: r for r in rows}
        # sidecar `img1.jpg.xmp`, sidecar `img5.xmp`, and EXIF written into img14.jpg
        assert by_name["img1.jpg"]["taken_at"] == "2019-04-21T10:30:00+02:00"
        assert by_name["img1.jpg"]["time_source"] == "xmp"
        assert by_name["img5.jpg"]["taken_at"] == "2020-08-14T11:00:00+01:00"
        assert by_name["img14.jpg"]["time_source"] == "exif"
        assert by_name["img14.jpg"]["latitude"] == pytest.approx(48.1351, abs=1e-3)
        assert by_name["img54.jpg"]["latitude"] is None
        moment_count = library.db.execute("SELECT COUNT(*) FROM moments").fetchone()[0]
        assert moment_count == 13  # one per made-up outing; see samples/build_samples.py
        names = {
            r[0] for r in library.db.execute("SELECT xmp_name FROM observations WHERE xmp_name IS NOT NULL")
        }
        assert names == {"Ana", "Bea"}


def test_second_run_does_no_work_and_moves_keep_identity(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    first, second = _photo(photos / "a.jpg", (1, 2, 3)), _photo(photos / "sub" / "b.jpg", (4, 5, 6))
    with Library(tmp_path / "lib") as library:
        assert index(library, [photos], recognise=False).new == 2
        again = index(library, [photos], recognise=False)
        assert (again.new, again.unchanged) == (0, 2)
        ids_before = dict(library.db.execute("SELECT content_hash, id FROM assets").fetchall())
        first.rename(photos / "renamed.jpg")
        moved = index(library, [photos], recognise=False)
        assert (moved.new, moved.moved) == (0, 1)
        assert dict(library.db.execute("SELECT content_hash, id FROM assets").fetchall()) == ids_before
        Image.new("RGB", (64, 48), (9, 9, 9)).save(second)  # an edit: new content, same photo
        edited = index(library, [photos], recognise=False)
        assert (edited.new, edited.edited) == (0, 1)
        assert library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0] == 2


@pytest.mark.slow
def test_bad_input_is_reported_and_skipped(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    good = _photo(photos / "good.jpg")
    (photos / "empty.jpg").write_bytes(b"")
    truncated = photos / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (photos / "notes.jpg").write_text("this is not a photo\n")
    _png_header_only(photos / "bomb.png", 30000, 30000)
    (photos / "gone.jpg").symlink_to(photos / "does-not-exist.jpg")  # unreadable even for root
    (photos / "loop").mkdir()
    (photos / "loop" / "back").symlink_to(photos)  # a folder loop
    (photos / "self.jpg").symlink_to(photos / "self.jpg")  # a symlink loop on a file
    odd_name = os.fsencode(photos) + b"/caf\xe9.jpg"  # Latin-1 bytes: not UTF-8
    with open(odd_name, "wb") as handle:
        handle.write(good.read_bytes())
    if os.geteuid() != 0:
        locked = _photo(photos / "locked.jpg", (7, 7, 7))
        locked.chmod(0)
    result = subprocess.run(
        [
            *CLI,
            "index",
            str(photos),
            str(tmp_path / "missing-folder"),
            "--library",
            str(tmp_path / "lib"),
            "--json",
        ],
        capture_output=True,
        text=True,
        errors="replace",
    )
    assert result.returncode == 2, result.stderr  # the missing root folder
    summary = json.loads(result.stdout)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    expected = {
        "empty.jpg": "empty file",
        "truncated.jpg": "truncated",
        "notes.jpg": "not an image",
        "bomb.png": "too large",
        "gone.jpg": "unreadable",
        "self.jpg": "unreadable",
        "caf\\xe9.jpg": "not valid UTF-8",
        "missing-folder": "no such folder",
        "loop/back": "symlink loop",
    }
    for name, reason in expected.items():
        matching = [line for line in errors if name in line]
        assert len(matching) == 1, (name, errors)
        assert reason in matching[0], (name, matching[0])
    assert summary["new"] == 1  # good.jpg; the loop did not index it twice
    assert summary["skipped"] == 7 + (1 if os.geteuid() != 0 else 0)
    assert summary["missing_roots"]


@pytest.mark.slow
def test_index_runs_with_the_network_blocked(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*a, **k):\n"
        "    raise RuntimeError('network access attempted')\n"
        "_connect = socket.socket.connect\n"
        "def _guarded(self, address):\n"
        "    if self.family in (socket.AF_INET, socket.AF_INET6):\n"
        "        _refuse()\n"
        "    return _connect(self, address)\n"
        "socket.socket.connect = _guarded\n"
        "socket.create_connection = _refuse\n"
        "socket.getaddrinfo = _refuse\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    photos = tmp_path / "photos"
    shutil.copytree(SAMPLES / "2019", photos)
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.getaddrinfo('localhost', 80)"],
        env=env,
        capture_output=True,
    )
    assert probe.returncode != 0  # the blocker is active in child processes
    result = subprocess.run(
        [*CLI, "index", str(photos), "-L", str(tmp_path / "lib"), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["new"] == 9
    assert "network access attempted" not in result.stderr


@pytest.mark.slow
def test_large_jpegs_decode_at_reduced_scale_and_faces_keep_photo_pixels(tmp_path: Path) -> None:
    """A phone-size JPEG decodes at half size (the DCT scaling), the photo keeps its own width and
    height (EXIF rotation included), and face boxes come back in the photo's pixels."""
    import numpy as np
    from PIL import ImageOps

    from memories.photos import read_photo
    from memories.recognise import Recogniser

    source = next(SAMPLES.rglob("*.jpg"))
    small = ImageOps.exif_transpose(Image.open(source)).convert("RGB")
    factor = 4032 / max(small.size)
    big = small.resize((round(small.width * factor), round(small.height * factor)), Image.Resampling.LANCZOS)
    path = tmp_path / "phone.jpg"
    big.save(path, quality=92)
    photo = read_photo(path)
    assert (photo.width, photo.height) == big.size
    assert photo.pixel_scale == 0.5 and photo.rgb is not None
    assert photo.rgb.shape[:2] == (big.height // 2, big.width // 2)

    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    big.save(rotated, quality=92, exif=exif)
    turned = read_photo(rotated)
    assert (turned.width, turned.height) == (big.height, big.width)
    assert turned.rgb is not None and turned.rgb.shape[:2] == (big.width // 2, big.height // 2)

    recogniser = Recogniser()
    reduced = recogniser.observe(photo.rgb, pixel_scale=photo.pixel_scale)
    full = recogniser.observe(np.asarray(big))
    assert reduced and len(reduced) == len(full)
    from recognition.boxes import box_iou

    overlap = box_iou(np.array([f.face_box for f in full]), np.array([f.face_box for f in reduced]))
    assert overlap.max(axis=1).min() > 0.8


@pytest.mark.slow
def test_gif_and_bmp_are_indexed_and_decoder_warnings_name_their_file(tmp_path: Path) -> None:
    import numpy as np

    folder = tmp_path / "photos"
    folder.mkdir()
    pixels = np.full((40, 60, 3), 120, np.uint8)
    Image.fromarray(pixels).save(folder / "animation.gif")
    Image.fromarray(pixels).save(folder / "scan.bmp")
    exif = Image.Exif()
    exif[0x010F] = "A camera maker with a long name"
    exif[0x0110] = "model " * 10
    raw = exif.tobytes()
    Image.fromarray(pixels).save(folder / "broken-exif.jpg", exif=raw[: len(raw) - 40])  # cut short
    lines: list[str] = []
    with Library(tmp_path / "lib") as library:
        summary = index(library, [folder], recognise=False, report=lines.append)
        formats = {f for (f,) in library.db.execute("SELECT format FROM assets")}
    assert summary.new == 3
    assert formats == {"GIF", "BMP", "JPEG"}
    warned = [line for line in lines if "warning" in line]
    assert len(warned) == 1 and "broken-exif.jpg" in warned[0]


@pytest.mark.slow
def test_a_run_killed_after_storing_photos_is_finished_by_the_next(tmp_path: Path, monkeypatch) -> None:
    """Killed after its photos were committed but before moments, names and the graph: the next
    run, which finds "0 new", still gives every photo its moment and puts it in the graph."""
    import graph as kg
    from memories import moments
    from memories.pipeline import index_and_assign

    def killed(library: Library) -> int:
        raise KeyboardInterrupt  # stands for kill -9 right after the last commit

    with Library(tmp_path / "lib") as library, monkeypatch.context() as patch:
        patch.setattr(moments, "rebuild_moments", killed)
        with pytest.raises(KeyboardInterrupt):
            index_and_assign(library, [SAMPLES], recognise=False)
    with Library(tmp_path / "lib") as library:
        assert library.db.execute("SELECT COUNT(*) FROM assets WHERE moment_id IS NULL").fetchone()[0] > 0
        summary = index_and_assign(library, [SAMPLES], recognise=False)
        assert summary.new == 0
        assert library.db.execute(
            "SELECT COUNT(*) FROM assets WHERE taken_ts IS NOT NULL AND moment_id IS NULL"
        ).fetchone()[0] == 0
        graph = kg.load_graph(library.graph_path)
        ids = [int(r[0]) for r in library.db.execute("SELECT id FROM assets")]
        assert all(graph.has_node(f"asset:{i}") for i in ids)
        assert not library.index_pending_marker.exists()
    with Library(tmp_path / "clean") as clean:
        index_and_assign(clean, [SAMPLES], recognise=False)
        expected = clean.db.execute("SELECT COUNT(DISTINCT moment_id) FROM assets").fetchone()[0]
    with Library(tmp_path / "lib") as library:
        assert library.db.execute("SELECT COUNT(DISTINCT moment_id) FROM assets").fetchone()[0] == expected


def test_a_png_with_a_huge_text_chunk_is_refused_before_decoding(tmp_path: Path) -> None:
    from benchmarks.bench_input_memory import make_png_with_huge_text
    from memories.photos import PhotoError, read_photo

    path = tmp_path / "huge-text.png"
    make_png_with_huge_text(path, 3 << 20)
    with pytest.raises(PhotoError, match="PNG text chunk of 3 MB"):
        read_photo(path)
