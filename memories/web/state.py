"""What the page keeps between requests: the knowledge graph and slow derived lists, per library state.

The graph of a 100,000-photo library takes seconds to load, and memory and merge suggestions take
seconds to compute; a page must answer in milliseconds. Each is kept with the library's
fingerprint (the database, its write-ahead log and the saved graph, by size and modification time)
and recomputed only when the fingerprint changes: any write by the page, the CLI or a render moves
it, so a cached answer is never older than the library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx

from memories.store import Library

T = TypeVar("T")


def fingerprint(library: Library) -> tuple[Any, ...]:
    parts: list[Any] = []
    for path in (
        library.database_path,
        Path(f"{library.database_path}-wal"),
        library.graph_path,
        library.graph_stale_marker,
    ):
        try:
            stat = path.stat()
            parts.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            parts.append(None)
    return tuple(parts)


class LibraryCache:
    """Values computed from the library, each dropped when the library changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._computing: dict[str, threading.Lock] = {}

    def get(self, library: Library, name: str, compute: Callable[[Library], T]) -> T:
        with self._lock:
            gate = self._computing.setdefault(name, threading.Lock())
        with gate:  # one computation per value at a time; the others wait and reuse it
            current = fingerprint(library)
            with self._lock:
                kept = self._values.get(name)
            if kept is not None and kept[0] == current:
                return kept[1]  # type: ignore[no-any-return]
            value = compute(library)
            # The computation may itself have written (a graph rebuild after a correction).
            with self._lock:
                self._values[name] = (fingerprint(library), value)
            return value

    def graph(self, library: Library) -> nx.Graph:
        from memories.graph_store import load

        return self.get(library, "graph", load)
