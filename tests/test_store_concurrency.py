"""Two commands opening a new library at the same moment both succeed."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest


def _open(root: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue) -> None:
    from memories.store import Library

    barrier.wait()
    try:
        with Library(root) as library:
            library.db.execute("SELECT COUNT(*) FROM assets").fetchone()
        results.put("ok")
    except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
        results.put(f"{type(error).__name__}: {error}")


@pytest.mark.slow
def test_two_processes_create_one_library_together(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    failures = []
    for trial in range(50):
        root = tmp_path / f"lib{trial}"
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_open, args=(str(root), barrier, results)) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        outcomes = [results.get(timeout=5) for _ in workers]
        failures += [o for o in outcomes if o != "ok"]
        from memories.store import SCHEMA_VERSION

        with sqlite3.connect(root / "library.sqlite3") as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert failures == []


def test_a_newer_library_is_refused(tmp_path: Path) -> None:
    from memories.store import SCHEMA_VERSION, Library

    with Library(tmp_path / "lib"):
        pass
    with sqlite3.connect(tmp_path / "lib" / "library.sqlite3") as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this program"):
        Library(tmp_path / "lib")


@pytest.mark.slow
def test_two_whole_index_runs_on_a_new_library_both_succeed(tmp_path: Path) -> None:
    """50 trials of two `memories index` commands started together on a library that does not yet
    exist: both exit 0 and the library holds each photo once. The first 3 trials index sample
    photos with faces; the rest index small plain photos without recognition, so that the two
    runs' database work (creating the library, storing, moments, the graph) is all that is left."""
    import shutil
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    photos = tmp_path / "photos"
    samples = Path(__file__).resolve().parents[1] / "samples" / "photos" / "2021"
    shutil.copytree(samples, photos)
    plain = tmp_path / "plain"
    plain.mkdir()
    for shade in range(4):
        Image.fromarray(np.full((48, 64, 3), 40 + 50 * shade, np.uint8)).save(plain / f"{shade}.jpg")
    failures = []
    for trial in range(50):
        root = tmp_path / f"lib{trial}"
        args = [sys.executable, "-m", "memories", "index", str(photos if trial < 3 else plain), "-L", str(root)]
        if trial >= 3:
            args.append("--no-faces")
        count = 4
        runs = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in "ab"]
        for process in runs:
            _, stderr = process.communicate(timeout=300)
            if process.returncode != 0:
                failures.append(f"trial {trial}: {stderr.strip()[-400:]}")
        with sqlite3.connect(root / "library.sqlite3") as db:
            assert db.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM assets").fetchone() == (count, count)
            if trial < 3:
                faces = db.execute(
                    "SELECT COUNT(*), COUNT(DISTINCT asset_id || ':' || face_x || ':' || face_y) "
                    "FROM observations WHERE source = 'detector'"
                ).fetchone()
                assert faces[0] == faces[1] > 0
    assert failures == []
