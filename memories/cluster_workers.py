"""`memories index --cluster ADDRESS` and `memories cluster --libraries DIR... --cluster ADDRESS`:
the per-photo work (decode, detect, embed) and whole-library re-clusters run on a Dask cluster.

Why Dask (`distributed`) and not Ray: it is pure Python (about 2.5 MB installed against Ray's
80 MB wheel), `LocalCluster` starts a real multi-process cluster for tests, a Nanny restarts a
killed worker and the scheduler re-runs the tasks it held, and a `WorkerPlugin` gives the one
per-worker setup the models need. Only this module imports dask (the optional extra
`memories[cluster]`); a plain install never needs it.

The driver stays the only writer of the SQLite library: workers return `FileResult`s, the driver
stores them in batches exactly as a local run does (memories.ingest._run), in the order of the
tasks, so asset ids come out as a plain run's. Workers read photos by path: the folders must be
at the same path on the workers as on the driver (a shared mount); a path a worker cannot read is
the usual one-line "skipped FILE: reason".

Models reach each worker once: the driver reads the converted ONNX files once and registers them
in a worker plugin; its `setup` writes any the worker lacks into the worker's model cache (same
names, written atomically) and loads the recogniser (memories.ingest._init_worker) once per worker
process, a restarted one included. Files that are not converted (the shipped MTCNN .onnx, dlib's
shape predictor) come from the worker's own installed packages.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from boltons.fileutils import atomic_save

from memories.ingest import FileResult, FileTask

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
_ready: tuple[bool, tuple[tuple[str, Any], ...]] | None = None  # what this worker process has loaded


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
    """Puts the models on a worker (once per worker process) and loads the recogniser there."""

    def __init__(self, recognise: bool, options: dict[str, Any], files: dict[str, bytes]) -> None:
        self.recognise = recognise
        self.options = dict(options)
        self.files = files

    def setup(self, worker: Any) -> None:
        global _ready
        from memories import ingest
        from recognition.models import models_dir

        state = (self.recognise, tuple(sorted(self.options.items())))
        if _ready == state:  # registered again by a later run with the same models: nothing to do
            return
        if self.recognise:
            write_models(self.files, models_dir(self.options.get("models_dir")))
        ingest._init_worker(self.recognise, self.options)
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


def process_on_worker(task: FileTask) -> FileResult:
    """One photo on a worker: ingest's own `_process`, one at a time per worker process; an
    unexpected exception is the file's error, as in a local run."""
    from memories import ingest

    with _observe_lock:
        try:
            return ingest._process(task)
        except Exception as error:  # noqa: BLE001 - one bad photo must not stop the run
            return FileResult(task.path, error=f"failed on a worker ({type(error).__name__}: {error})")


def window_size(client: distributed.Client, batch: int) -> int:
    """Tasks in flight: enough to keep every worker thread busy while the head of the order waits."""
    threads = sum(client.nthreads().values()) or 1
    return 4 * threads + batch


def ordered_map(
    client: distributed.Client,
    function: Callable[[Any], Any],
    items: Iterable[Any],
    window: int,
    failed: Callable[[Any, BaseException], Any],
    prefix: str,
) -> Iterator[Any]:
    """function(item) on the cluster for each item, at most `window` submitted ahead, results in
    the items' order. Keys are unique to this call, so a re-run computes afresh. A task that fails
    on the cluster (a worker died running it `allowed-failures` times: KilledWorker, or a lost
    connection) gives `failed(item, error)` instead of stopping the run."""
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
            result = failed(item, error)
        future.release()
        fill()
        yield result


def lost_file(task: FileTask, error: BaseException) -> FileResult:
    """A file whose task failed on the cluster: a skipped file with a one-line reason."""
    return FileResult(task.path, error=f"failed on the cluster ({_reason(error)})")


def _reason(error: BaseException) -> str:
    if isinstance(error, distributed.KilledWorker):
        return f"KilledWorker: the {error.allowed_failures + 1} workers that ran it died"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def index_results(
    address: str, todo: list[FileTask], recognise: bool, options: dict[str, Any], batch: int
) -> tuple[Iterator[FileResult], Callable[[], None]]:
    """The todo's results from the cluster, in order, and a function that closes the connection."""
    client = connect(address)
    try:
        files = converted_models(options.get("models_dir")) if recognise else {}
        client.register_plugin(ModelsPlugin(recognise, options, files), name=PLUGIN_NAME)
    except BaseException:
        client.close()
        raise
    results = ordered_map(
        client, process_on_worker, todo, window_size(client, batch), lost_file, "memories-index"
    )

    def close() -> None:
        # The scheduler need not keep the models for workers that join later; the workers keep
        # the recogniser loaded, so the next run's setup finds it there.
        with contextlib.suppress(Exception):  # a cluster already gone: nothing to undo
            client.unregister_worker_plugin(PLUGIN_NAME)
        client.close()

    return results, close


def cluster_libraries(address: str, libraries: list[Path]) -> list[dict[str, Any]]:
    """Each library's re-cluster (memories.pipeline.cluster_library) as one task on the cluster,
    results in the order given."""
    from memories.pipeline import cluster_library

    paths = [str(Path(p).absolute()) for p in libraries]
    client = connect(address)
    try:
        return list(ordered_map(
            client, cluster_library, paths, len(paths), _lost_library, "memories-cluster"
        ))
    finally:
        client.close()


def _lost_library(path: str, error: BaseException) -> dict[str, Any]:
    return {"library": path, "error": f"failed on the cluster ({_reason(error)})"}
