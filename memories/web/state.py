"""What the page keeps between requests: the knowledge graph and slow derived lists, per library state.

The graph of a 100,000-photo library takes seconds to load, and merge suggestions take seconds to
compute; a page must answer in milliseconds. Each value is kept with the library's state and
recomputed only when it changes. The state is SQLite's `PRAGMA data_version` on one connection the
cache keeps open (it changes whenever any other connection commits: the page's own requests, the
CLI, a render), plus the saved graph file and its stale marker. (File times of the database do not
do: its write-ahead log is deleted and recreated as connections come and go.)
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx

from memories.store import Library

T = TypeVar("T")


class LibraryCache:
    """Values computed from one library, each dropped when the library changes."""

    def __init__(self, library_path: Path) -> None:
        self.library_path = Path(library_path)
        self._lock = threading.Lock()
        self._values: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._computing: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()
        self._watch: sqlite3.Connection | None = None

    def state(self, library: Library) -> tuple[Any, ...]:
        with self._lock:
            if self._watch is None:
                self._watch = sqlite3.connect(
                    f"file:{library.database_path}?mode=ro", uri=True, check_same_thread=False
                )
            version = self._watch.execute("PRAGMA data_version").fetchone()[0]
        files: list[tuple[int, int] | None] = []
        for path in (library.graph_path, library.graph_stale_marker):
            try:
                stat = path.stat()
                files.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                files.append(None)
        return (version, *files)

    def get(self, library: Library, name: str, compute: Callable[[Library], T]) -> T:
        """The value for the library as it is now, computed at most once per state."""
        with self._lock:
            gate = self._computing.setdefault(name, threading.Lock())
        with gate:  # one computation per value at a time; the others wait and reuse it
            current = self.state(library)
            with self._lock:
                kept = self._values.get(name)
            if kept is not None and kept[0] == current:
                return kept[1]  # type: ignore[no-any-return]
            value = compute(library)
            # The computation may itself have written (a graph rebuilt after a correction).
            after = self.state(library)
            with self._lock:
                self._values[name] = (after, value)
            return value

    def get_soon(self, library: Library, name: str, compute: Callable[[Library], T]) -> T:
        """Like `get`, but once a value exists a change is recomputed in the background and the
        previous value answers meanwhile: for hints (merge suggestions) a page must not wait for.
        The caller filters what may have gone out of date."""
        with self._lock:
            kept = self._values.get(name)
        if kept is None:
            return self.get(library, name, compute)
        if kept[0] != self.state(library):
            with self._lock:
                start = name not in self._refreshing
                self._refreshing.add(name)
            if start:
                threading.Thread(target=self._refresh, args=(name, compute), daemon=True).start()
        return kept[1]  # type: ignore[no-any-return]

    def _refresh(self, name: str, compute: Callable[[Library], Any]) -> None:
        try:
            with Library(self.library_path, create=False) as library:
                self.get(library, name, compute)
        except Exception as error:  # the old value stays; the console says why
            print(f"memories: could not refresh {name}: {error!r}", file=sys.stderr)
        finally:
            with self._lock:
                self._refreshing.discard(name)

    def graph(self, library: Library) -> nx.Graph:
        from memories.graph_store import load

        return self.get(library, "graph", load)

    def close(self) -> None:
        with self._lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
