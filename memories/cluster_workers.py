"""`memories index --cluster ADDRESS` and `memories cluster --libraries DIR... --cluster ADDRESS`:
the per-photo work (decode, detect, embed) and whole-library re-clusters run on a Dask cluster.

Why Dask (`distributed`) and not Ray: it is pure Python (about 2.5 MB installed against Ray's
80 MB wheel), `LocalCluster` starts a real multi-process cluster for tests, a Nanny restarts a
killed worker and the scheduler re-runs the tasks it held, and a `WorkerPlugin` gives the one
per-worker setup the models need. Only this module imports dask (the optional extra
`memories[cluster]`); a plain install never needs it.

This module knows nothing of photos or libraries: the index (memories.ingest._run) and the CLI
hand it the function to run per item, the per-worker setup and what a lost task becomes. The driver
stays the only writer of the SQLite library: workers return ingest's `FileResult`s, the driver
stores them in batches exactly as a local run does, in the order of the tasks, so asset ids come
out as a plain run's. Workers read photos by path: the folders must be
at the same path on the workers as on the driver (a shared mount); a path a worker cannot read is
the usual one-line "skipped FILE: reason".

Models reach each worker once: the driver reads the converted ONNX files once and registers them
in a worker plugin; its `setup` writes any the worker lacks into the worker's model cache (same
names, written atomically) and runs the setup it was given (the index's `_init_worker`, which loads
the recogniser) once per worker process, a restarted one included. Files that are not converted (the shipped MTCNN .onnx, dlib's
shape predictor) come from the worker's own installed packages.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from boltons.fileutils import atomic_save

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as error:  # pragma: no cover - the extra is missing
    raise ImportError(
        "--cluster needs the optional extra: pip install 'memories[cluster]' (dask and distributed)"
    ) from error

# How long to wait for a cluster with no worker yet.
WORKER_WAIT_S = 60.0
PLUGIN_NAME = "memories-models"

# One task at a time per worker process: the recogniser (onnxruntime sessions, dlib) is shared
# by the worker's threads; start workers with `--nthreads 1` and as many `--nworkers` as cores.
_observe_lock = threading.Lock()
_ready: str | None = None  # the setup this worker process has run (its repr)


class ClusterError(RuntimeError):
    """The cluster cannot be reached, or has no worker."""


def connect(address: str) -> distributed.Client:
    """A client of the running scheduler at `address` (tcp://host:port), with a worker to talk to."""
    try:
        client = distributed.Client(address, timeout="30s")
    except (OSError, ValueError) as error:  # unreachable, timed out, or not an address
        raise ClusterError(str(error)) from error
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        client.close()
        raise ClusterError(f"no worker joined in {WORKER_WAIT_S:.0f} s") from None
    return client


def converted_models(cache_dir: str | Path | None = None) -> dict[str, bytes]:
    """The converted ONNX files the recogniser loads, by file name (converted here when missing)."""
    from recognition import models

    files = {}
    for model in models.ALL_MODELS:
        converted = model.spec is not None or model.source_file.endswith((".tflite", ".pb", ".pth"))
        if converted:
            path = models.onnx_path(model, cache_dir)
            files[path.name] = path.read_bytes()
    return files


class ModelsPlugin(WorkerPlugin):
    """Puts the model files on a worker and runs `setup(*setup_args)` there, once per worker
    process (a later run registering the same setup finds it done)."""

    def __init__(
        self, files: dict[str, bytes], models_folder: str | None, setup: Callable[..., None],
        setup_args: tuple[Any, ...],
    ) -> None:
        self.files, self.models_folder = files, models_folder
        self.run_setup, self.setup_args = setup, setup_args

    def setup(self, worker: Any) -> None:
        global _ready
        from recognition.models import models_dir

        state = repr((self.run_setup, self.setup_args))
        if _ready == state:  # registered again by a later run with the same models: nothing to do
            return
        if self.files:
            write_models(self.files, models_dir(self.models_folder))
        self.run_setup(*self.setup_args)
        _ready = state


def write_models(files: dict[str, bytes], folder: Path) -> list[str]:
    """Write the files `folder` lacks, each whole or not at all; the names written."""
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = folder / name
        if target.is_file() and target.stat().st_size == len(data):
            continue
        with atomic_save(str(target), text_mode=False, part_file=f"{name}.{uuid.uuid4().hex}.part") as f:
            f.write(data)
        written.append(name)
    return written


def one_at_a_time(function: Callable[[Any], Any], failed: Callable[[Any, str], Any], item: Any) -> Any:
    """function(item) on a worker, one at a time per worker process; an unexpected exception is
    `failed(item, reason)`, as a local run turns it into the file's error."""
    with _observe_lock:
        try:
            return function(item)
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the run
            return failed(item, f"failed on a worker ({type(error).__name__}: {error})")


def window_size(client: distributed.Client, batch: int) -> int:
    """Tasks in flight: enough to keep every worker thread busy while the head of the order waits."""
    threads = sum(client.nthreads().values()) or 1
    return 4 * threads + batch


def ordered_map(
    client: distributed.Client,
    function: Callable[[Any], Any],
    items: Iterable[Any],
    window: int,
    failed: Callable[[Any, str], Any],
    prefix: str,
) -> Iterator[Any]:
    """function(item) on the cluster for each item, at most `window` submitted ahead, results in
    the items' order. Keys are unique to this call, so a re-run computes afresh. A task that fails
    on the cluster (a worker died running it `allowed-failures` times: KilledWorker, or a lost
    connection) gives `failed(item, reason)` instead of stopping the run."""
    run = uuid.uuid4().hex[:12]
    pending: deque[tuple[Any, distributed.Future]] = deque()
    source = iter(enumerate(items))

    def fill() -> None:
        while len(pending) < window:
            try:
                number, item = next(source)
            except StopIteration:
                return
            pending.append((item, client.submit(function, item, key=f"{prefix}-{run}-{number}", pure=False)))

    fill()
    while pending:
        item, future = pending.popleft()
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 - KilledWorker, CancelledError, a lost worker
            result = failed(item, f"failed on the cluster ({lost_reason(error)})")
        future.release()
        fill()
        yield result


def lost_reason(error: BaseException) -> str:
    """Why a task was lost on the cluster, in one line."""
    if isinstance(error, distributed.KilledWorker):
        return f"KilledWorker: the {error.allowed_failures + 1} workers that ran it died"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def map_with_models(
    address: str,
    items: list[Any],
    function: Callable[[Any], Any],
    failed: Callable[[Any, str], Any],
    setup: Callable[..., None],
    setup_args: tuple[Any, ...],
    models_folder: str | None,
    send_models: bool,
    batch: int,
) -> tuple[Iterator[Any], Callable[[], None]]:
    """function(item) for each item on the workers of the cluster at `address`, results in order
    (`ordered_map`), after each worker got the converted models (when `send_models`) and ran
    `setup(*setup_args)` once; and a function that closes the connection."""
    client = connect(address)
    try:
        files = converted_models(models_folder) if send_models else {}
        client.register_plugin(ModelsPlugin(files, models_folder, setup, setup_args), name=PLUGIN_NAME)
    except BaseException:
        client.close()
        raise
    results = ordered_map(
        client, functools.partial(one_at_a_time, function, failed), items, window_size(client, batch), failed,
        "memories-index",
    )

    def close() -> None:
        # The scheduler need not keep the models for workers that join later; the workers keep
        # the recogniser loaded, so the next run's setup finds it there.
        with contextlib.suppress(Exception):  # a cluster already gone: nothing to undo
            client.unregister_worker_plugin(PLUGIN_NAME)
        client.close()

    return results, close


def map_whole(
    address: str, items: list[Any], function: Callable[[Any], Any], failed: Callable[[Any, str], Any]
) -> list[Any]:
    """function(item) for each item as one task on the cluster (a whole library's re-cluster:
    memories.pipeline.cluster_library), all submitted at once, results in the order given."""
    client = connect(address)
    try:
        return list(ordered_map(client, function, items, len(items), failed, "memories-cluster"))
    finally:
        client.close()
