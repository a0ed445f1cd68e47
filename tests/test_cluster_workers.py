"""memories.cluster_workers in quick tests: the ordered windowed map, a failed task as a skipped
file, models written once and whole, and `--cluster` without the extra (issue #17)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT

distributed = pytest.importorskip("distributed")

from memories import cluster_workers  # noqa: E402
from memories.ingest import FileTask  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=3, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _slow_square(n: int) -> int:
    time.sleep(0.05 * (5 - n % 5))  # later items finish first
    if n == 7:
        raise ValueError("seven")
    return n * n


def test_ordered_map_keeps_the_order_and_turns_failures_into_results(client: Any) -> None:
    submitted: list[int] = []

    def items() -> Iterator[int]:
        for n in range(12):
            submitted.append(n)
            yield n

    results = cluster_workers.ordered_map(
        client, _slow_square, items(), window=4, failed=lambda item, reason: ("failed", item, reason),
        prefix="test",
    )
    first = next(results)
    assert first == 0
    assert len(submitted) <= 5  # a window ahead, not everything at once
    rest = list(results)
    assert [first, *rest] == [
        n * n if n != 7 else ("failed", 7, "failed on the cluster (ValueError: seven)") for n in range(12)
    ]


def test_ordered_map_runs_again_on_a_second_call(client: Any) -> None:
    calls = [cluster_workers.ordered_map(client, _slow_square, [1, 2], 2, lambda i, e: None, "again")
             for _ in range(2)]
    assert [list(c) for c in calls] == [[1, 4], [1, 4]]


def test_a_lost_task_is_a_skipped_file(tmp_path: Path) -> None:
    """A task whose workers kept dying (KilledWorker): one "skipped FILE: reason" line, no crash."""
    from types import SimpleNamespace

    from memories.ingest import IndexSummary, _lost_file, _store
    from memories.store import Library

    error = distributed.KilledWorker("memories-index-x-0", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)

    def killer(_: object) -> None:
        raise error

    (result,) = cluster_workers.ordered_map(  # what the map makes of a task lost with its workers
        _Raising(error), killer, [FileTask(Path("/photos/a.jpg"))], 1, _lost_file, "lost"
    )
    lines: list[str] = []
    summary = IndexSummary()
    with Library(tmp_path / "lib") as library:
        _store(library, [result], summary, lines.append)
    assert lines == [
        "memories: skipped /photos/a.jpg: failed on the cluster (KilledWorker: the 4 workers that ran it died)"
    ]
    assert summary.skipped == {"failed on the cluster": 1}


class _Raising:
    """A client whose every future raises `error` (a task lost on the cluster)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def submit(self, *_: object, **__: object) -> Any:
        error = self.error

        class Lost:
            def result(self) -> None:
                raise error

            def release(self) -> None:
                pass

        return Lost()


def test_a_failing_photo_on_a_worker_is_its_error_not_a_crash() -> None:
    from memories.ingest import _lost_file

    def broken(task: FileTask) -> None:
        raise RuntimeError("decoder blew up")

    result = cluster_workers.one_at_a_time(broken, _lost_file, FileTask(Path("/photos/b.jpg")))
    assert result.path == Path("/photos/b.jpg")
    assert result.error == "failed on a worker (RuntimeError: decoder blew up)"


def test_models_are_written_whole_and_once(tmp_path: Path) -> None:
    files = {"a.onnx": b"x" * 100, "b.onnx": b"y" * 10}
    assert sorted(cluster_workers.write_models(files, tmp_path / "models")) == ["a.onnx", "b.onnx"]
    assert (tmp_path / "models" / "a.onnx").read_bytes() == files["a.onnx"]
    assert cluster_workers.write_models(files, tmp_path / "models") == []
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["a.onnx", "b.onnx"]  # no part files


def test_converted_models_are_the_onnx_files_the_recogniser_loads() -> None:
    from recognition import models

    names = set(cluster_workers.converted_models())
    assert models.onnx_path(models.FACE_RESNET).name in names
    assert models.onnx_path(models.MOBILENET_V2_BODY).name in names
    assert all(name.endswith(".onnx") for name in names)
    assert not any("shape_predictor" in name or "mtcnn" in name for name in names)


def test_cluster_libraries_here_reports_a_missing_library(tmp_path: Path) -> None:
    """`memories cluster --libraries` without --cluster: one after another here, a missing one its
    own error line and exit code 1."""
    done = subprocess.run(
        [sys.executable, "-m", "memories", "cluster", "--libraries", str(tmp_path / "nowhere"), "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["library"] == str(tmp_path / "nowhere")
    assert "no library here" in result["error"]


def test_the_cli_never_imports_dask() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, memories.cli; print('distributed' in sys.modules or 'dask' in sys.modules)"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == "False"


def test_cluster_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    # A `distributed` that cannot be found: what a plain install sees.
    code = (
        "import importlib.util, sys; real = importlib.util.find_spec; "
        "importlib.util.find_spec = lambda name, *a: None if name == 'distributed' else real(name, *a); "
        "sys.argv = ['memories', 'index', sys.argv[1], '-L', sys.argv[2], '--cluster', 'tcp://127.0.0.1:1']; "
        "from memories.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(tmp_path / "lib")], cwd=REPO_ROOT, capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "memories: error: --cluster needs the optional extra: pip install 'memories[cluster]'"
