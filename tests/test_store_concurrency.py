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
