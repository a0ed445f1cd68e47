"""Background jobs: one thread per render, progress read by the page from a JSON endpoint.

A job opens its own Library connection (SQLite connections belong to one thread). Asking for a
memory that is already being made returns the running job instead of starting a second render.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memories.store import Library

Work = Callable[[Library, Callable[..., None]], dict[str, Any]]


@dataclass
class Job:
    id: int
    key: str
    state: str = "running"  # running | done | failed
    progress: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "state": self.state,
            "progress": round(self.progress, 4),
            "result": {k: str(v) if isinstance(v, Path) else v for k, v in self.result.items()},
            "error": self.error,
            "elapsed_s": round((self.finished or time.time()) - self.started, 2),
        }


class JobRunner:
    def __init__(self, library_path: Path) -> None:
        self.library_path = library_path
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, key: str, work: Work) -> Job:
        with self._lock:
            for job in self._jobs.values():
                if job.key == key and job.state == "running":
                    return job
            job = Job(id=next(self._ids), key=key)
            self._jobs[job.id] = job
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"memories-job-{job.id}", daemon=True
        )
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        def progress(*values: float) -> None:
            # A fraction, or (done, total) as the renderer reports frames; never goes backwards.
            fraction = values[0] / max(values[1], 1) if len(values) == 2 else values[0]
            job.progress = min(max(float(fraction), job.progress), 1.0)

        try:
            with Library(self.library_path, create=False) as library:
                job.result = dict(work(library, progress) or {})
            job.progress, job.state = 1.0, "done"
        except Exception as error:  # the page shows why; the server keeps running
            job.state, job.error = "failed", f"{type(error).__name__}: {error}"
            traceback.print_exc()
        finally:
            job.finished = time.time()

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if job.state == "running"]
