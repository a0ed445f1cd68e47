"""A full disk and a read-only library: one line, exit 1, nothing lost; reads still work.

Needs a small tmpfs of its own (mount, as root); skipped where it cannot make one."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "photos"
CLI = [sys.executable, "-m", "memories"]

pytestmark = pytest.mark.slow  # `memories index` runs onto a tiny disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def _assets(library: Path) -> int:
    with sqlite3.connect(library / "library.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM assets").fetchone()[0])


def test_a_full_disk_stops_with_one_line_and_the_rerun_completes(small_disk: Path) -> None:
    library = small_disk / "lib"
    filler = small_disk / "filler"
    empty = small_disk / "empty"
    empty.mkdir()
    assert _run("index", str(empty), "-L", str(library), "--no-faces").returncode == 0  # the schema fits
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 200_000))  # leave ~200 kB: a few batches fit, not all
    failed = _run("index", str(SAMPLES), "-L", str(library), "--no-faces")
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("memories: error")]
    assert len(errors) == 1 and "disk full" in errors[0]
    assert "Traceback" not in failed.stderr
    kept = _assets(library) if (library / "library.sqlite3").exists() else 0
    filler.unlink()
    done = _run("index", str(SAMPLES), "-L", str(library), "--no-faces")
    assert done.returncode == 0, done.stderr
    assert _assets(library) == 64 >= kept
    with sqlite3.connect(library / "library.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_read_only_library_can_be_read_and_says_so_on_writes(small_disk: Path) -> None:
    library = small_disk / "lib"
    assert _run("index", str(SAMPLES), "-L", str(library), "--no-faces").returncode == 0
    (library / "library.sqlite3-shm").unlink(missing_ok=True)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read = _run("people", "-L", str(library), "--json")
    assert read.returncode == 0, read.stderr
    summary = _run("summary", "-L", str(library), "--json")
    assert summary.returncode == 0 and '"photos": 64' in summary.stdout
    write = _run("index", str(SAMPLES), "-L", str(library), "--no-faces")
    assert write.returncode == 1
    assert write.stderr.strip().splitlines() == [
        "memories: error: the library is read-only (a read-only disk or folder): it can be browsed, not changed"
    ]
