"""`memories index --cluster` and `memories cluster --libraries --cluster` on a Dask LocalCluster
(two worker processes on this machine): the library comes out exactly as a plain run leaves it,
also when a worker is killed in the middle (issue #17)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO_ROOT, SAMPLES
from crash_harness import EMBEDDING_TOLERANCE, index_progress

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "memories"]


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """A LocalCluster of two worker processes (one thread each) and a client of it."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=0
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield cluster, client


def _floats(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def library_rows(library: Path) -> tuple[list[tuple[Any, ...]], dict[int, list[dict[str, Any]]]]:
    """Assets (id, hash, path and what was read) and each asset's observations in stored order."""
    db = sqlite3.connect(f"file:{library / 'library.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    assets = [
        tuple(r) for r in db.execute(
            "SELECT id, content_hash, path, file_size, format, width, height, taken_at, latitude, longitude, "
            "media_kind, recognised FROM assets ORDER BY id"
        )
    ]
    paths = sorted(tuple(r) for r in db.execute("SELECT path, asset_id FROM asset_paths"))
    assets.append(("paths", *paths))
    observations: dict[int, list[dict[str, Any]]] = {}
    for r in db.execute("SELECT * FROM observations ORDER BY asset_id, id"):
        observations.setdefault(int(r["asset_id"]), []).append(dict(r))
    db.close()
    return assets, observations


FLOAT_COLUMNS = (
    "face_x", "face_y", "face_w", "face_h", "body_x", "body_y", "body_w", "body_h", "detector_score", "quality",
)  # fmt: skip
BLOB_COLUMNS = ("landmarks", "face_embedding", "body_embedding")


def differences(library: Path, reference: Path) -> list[str]:
    """How `library` differs from `reference` in assets and observations (people aside)."""
    assets, observations = library_rows(library)
    ref_assets, ref_observations = library_rows(reference)
    found = []
    if assets != ref_assets:
        found.append(f"assets differ: {set(assets) ^ set(ref_assets)}")
    if observations.keys() != ref_observations.keys():
        found.append("different assets have observations")
    for asset_id in observations.keys() & ref_observations.keys():
        mine, theirs = observations[asset_id], ref_observations[asset_id]
        if len(mine) != len(theirs):
            found.append(f"asset {asset_id}: {len(mine)} observations, {len(theirs)} in the plain run")
            continue
        for a, b in zip(mine, theirs, strict=True):
            for column in ("source", "is_clear", "xmp_name", "time_s", "first_s", "last_s"):
                if a[column] != b[column]:
                    found.append(f"asset {asset_id}: {column} {a[column]!r} != {b[column]!r}")
            for column in FLOAT_COLUMNS:
                if (a[column] is None) != (b[column] is None) or (
                    a[column] is not None and abs(a[column] - b[column]) > EMBEDDING_TOLERANCE
                ):
                    found.append(f"asset {asset_id}: {column} {a[column]!r} != {b[column]!r}")
            for column in BLOB_COLUMNS:
                x, y = _floats(a[column]), _floats(b[column])
                if (x is None) != (y is None) or (
                    x is not None and y is not None
                    and (x.shape != y.shape or float(np.abs(x - y).max()) > EMBEDDING_TOLERANCE)
                ):
                    found.append(f"asset {asset_id}: {column} differs")
    return found


def _index_command(library: Path, address: str) -> list[str]:
    return [*CLI, "index", str(SAMPLES), "--library", str(library), "--cluster", address, "--json"]


def test_index_on_cluster_equals_plain_index(dask_cluster: Any, indexed_samples: Path, tmp_path: Path) -> None:
    cluster, _ = dask_cluster
    library = tmp_path / "lib"
    done = subprocess.run(
        _index_command(library, cluster.scheduler_address), cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped" not in done.stderr.replace('"skipped"', ""), done.stderr[-3000:]
    assert differences(library, indexed_samples) == []


def _start_index_until_partly_stored(
    library: Path, address: str, total: int, output: int | None
) -> subprocess.Popen[str]:
    """`memories index --cluster` started, returned once some but not all photos are stored (or it
    ended, or 600 s passed)."""
    run = subprocess.Popen(
        _index_command(library, address), cwd=REPO_ROOT, stdout=output, stderr=output, text=True
    )
    deadline = time.monotonic() + 600
    while run.poll() is None and time.monotonic() < deadline and not 0 < index_progress(library).assets < total:
        time.sleep(0.02)
    return run


def test_index_on_cluster_with_a_worker_killed(
    dask_cluster: Any, indexed_samples: Path, tmp_path: Path
) -> None:
    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=60)
    total = len(library_rows(indexed_samples)[0]) - 1
    library = tmp_path / "lib"
    run = _start_index_until_partly_stored(library, cluster.scheduler_address, total, subprocess.PIPE)
    stored_at_kill = None
    if run.poll() is None:
        stored = index_progress(library).assets
        os.kill(next(iter(client.run(os.getpid).values())), signal.SIGKILL)  # one worker
        stored_at_kill = (stored, index_progress(library).assets)
    stdout, stderr = run.communicate(timeout=600)
    assert stored_at_kill is not None, "the run ended before a worker could be killed mid-run"
    assert stored_at_kill[0] > 0 and stored_at_kill[1] < total, stored_at_kill  # the kill landed mid-run
    assert run.returncode == 0, stderr[-3000:]
    assert "skipped" not in stderr, stderr[-3000:]
    assert differences(library, indexed_samples) == []


def test_index_on_cluster_with_the_driver_killed(
    dask_cluster: Any, indexed_samples: Path, tmp_path: Path
) -> None:
    """kill -9 `memories index --cluster` mid-run, run it again: nothing lost or duplicated."""
    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=60)
    total = len(library_rows(indexed_samples)[0]) - 1
    library = tmp_path / "lib"
    run = _start_index_until_partly_stored(library, cluster.scheduler_address, total, subprocess.DEVNULL)
    run.send_signal(signal.SIGKILL)
    run.wait()
    stored = index_progress(library)
    assert run.returncode == -signal.SIGKILL and 0 < stored.assets < total and stored.pending, stored
    done = subprocess.run(
        _index_command(library, cluster.scheduler_address), cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert differences(library, indexed_samples) == []


def _people(library: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    db = sqlite3.connect(f"file:{library / 'library.sqlite3'}?mode=ro", uri=True)
    people = [tuple(r) for r in db.execute("SELECT id, name, hidden, merged_into FROM people ORDER BY id")]
    assignment = [tuple(r) for r in db.execute("SELECT id, person_id FROM observations ORDER BY id")]
    db.close()
    return people, assignment


def test_cluster_libraries_on_cluster(dask_cluster: Any, indexed_samples: Path, tmp_path: Path) -> None:
    cluster, _ = dask_cluster
    alone, a, b = (tmp_path / name for name in ("alone", "a", "b"))
    for copy in (alone, a, b):
        shutil.copytree(indexed_samples, copy)
    done = subprocess.run([*CLI, "cluster", "--library", str(alone)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    done = subprocess.run(
        [*CLI, "cluster", "--libraries", str(a), str(b), "--cluster", cluster.scheduler_address, "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    results = json.loads(done.stdout)
    assert [r["library"] for r in results] == [str(a), str(b)]
    assert not any("error" in r for r in results), results
    expected = _people(alone)
    assert expected[0], "the samples hold people"
    assert _people(a) == expected
    assert _people(b) == expected
