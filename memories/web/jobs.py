"""Background renders: a bounded pool of workers, progress read by the page from a JSON endpoint.

A job opens its own Library connection (SQLite connections belong to one thread). Asking for a
memory that is already queued or being made returns that job instead of starting a second render;
more than MAX_QUEUED_RENDERS waiting jobs are refused (`JobsBusy`), so a page that keeps asking
cannot start unbounded work.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memories.store import Library
from memories.web import settings

Work = Callable[[Library, Callable[..., None]], dict[str, Any]]


class JobsBusy(RuntimeError):
    """Too many renders are waiting; the user is asked to try again when one finishes."""


@dataclass
class Job:
    id: int
    key: str
    state: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "state": self.state,
            "progress": round(self.progress, 4),
            "error": self.error,
            "elapsed_s": round((self.finished or time.time()) - self.started, 2),
        }


class JobRunner:
    def __init__(self, library_path: Path, workers: int = settings.RENDER_WORKERS) -> None:
        self.library_path = library_path
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="memories-render")

    def start(self, key: str, work: Work) -> Job:
        with self._lock:
            for job in self._jobs.values():
                if job.key == key and job.active:
                    return job
            if sum(job.active for job in self._jobs.values()) >= settings.MAX_QUEUED_RENDERS:
                raise JobsBusy("too many movies are being made; try again when one is done")
            job = Job(id=next(self._ids), key=key)
            self._jobs[job.id] = job
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        def progress(*values: float) -> None:
            # A fraction, or (done, total) as the renderer reports frames; never goes backwards.
            fraction = values[0] / max(values[1], 1) if len(values) == 2 else values[0]
            job.progress = min(max(float(fraction), job.progress), 1.0)

        job.state = "running"
        try:
            with Library(self.library_path, create=False) as library:
                job.result = dict(work(library, progress) or {})
            job.progress, job.state = 1.0, "done"
        except Exception as error:  # the page says it failed; the console gets the trace
            job.state, job.error = "failed", f"{type(error).__name__}: {error}"
            traceback.print_exc()
        finally:
            job.finished = time.time()

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def active(self) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if job.active]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
