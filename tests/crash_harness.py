"""Kill -9 a `memories` command at seeded moments and read a library back in terms that do not
depend on row ids, so that a killed-then-resumed library can be compared with an uninterrupted one.

Row ids (assets, people, moments) follow the order in which workers finished, which a kill changes;
what the user sees does not: which files are in the library, which faces were found and who they
belong to, how photos fall into moments, what search answers and how the graph is shaped.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

CLI = [sys.executable, "-m", "memories"]
EMBEDDING_TOLERANCE = 1e-5


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass(frozen=True)
class Kill:
    spawned: list[int]  # the pids the run had spawned by the kill
    struck: bool  # the run was still going when the kill came (False: it had already exited)


def kill_after(args: list[str], after: float, until: Callable[[], bool] | None = None) -> Kill:
    """Start `memories ARGS`, kill -9 it `after` seconds later, or as soon as `until()` holds if
    that comes first (a state the kill must find, whatever the machine's load), if it is still
    running then."""
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spawned: list[int] = [process.pid]
    deadline = time.monotonic() + after
    while time.monotonic() < deadline and process.poll() is None and not (until and until()):
        spawned += descendants(process.pid)
        time.sleep(0.03)
    struck = process.poll() is None
    if struck:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return Kill(spawned, struck)


def run_and_kill(args: list[str], after: float) -> list[int]:
    """Start `memories ARGS`, kill -9 it `after` seconds later; the pids it had spawned by then."""
    return kill_after(args, after).spawned


@dataclass(frozen=True)
class IndexProgress:
    """How far an `index` got, read from the library's SQLite rows and its pending marker."""

    assets: int  # rows in `assets` (0 where the run died before it made the database)
    pending: bool  # index.pending still there: photos stored but not yet assigned and in the graph

    def unfinished(self, total: int) -> bool:
        return self.pending or self.assets < total

    def partial(self, before: int, total: int) -> bool:
        """Some but not all of the new photos are stored."""
        return before < self.assets < total


def index_progress(library: Path) -> IndexProgress:
    database = library / "library.sqlite3"
    assets = 0
    if database.exists():
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            assets = int(db.execute("SELECT COUNT(*) FROM assets").fetchone()[0])
        except sqlite3.OperationalError:  # killed before the schema was made
            assets = 0
        finally:
            db.close()
    return IndexProgress(assets, (library / "index.pending").exists())


def survivors(spawned: list[int], grace: float = 3.0) -> list[int]:
    """Processes of a killed run still alive after `grace` seconds (workers must die with it)."""
    deadline = time.monotonic() + grace
    while True:
        left = sorted(pid for pid in set(spawned) if alive(pid))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def run(args: list[str]) -> float:
    """Run `memories ARGS` to the end; its wall time."""
    start = time.monotonic()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.monotonic() - start


@dataclass(frozen=True)
class LibraryState:
    """A library as the user sees it, keyed by content hash and face box instead of row ids."""

    assets: frozenset[tuple[str, str, str | None]]  # content hash, path, time taken
    moments: frozenset[frozenset[str]]
    faces: frozenset[tuple[object, ...]]  # face key, clear, person key, confirmed
    people: frozenset[tuple[object, ...]]  # name, hidden, members
    rejections: frozenset[tuple[object, ...]]
    search: tuple[tuple[str, frozenset[str]], ...]  # each named person: the paths search finds
    graph_shape: str  # Weisfeiler-Lehman hash over node kinds: the same shape up to ids
    graph_assets: frozenset[str]
    graph_people_photos: frozenset[tuple[object, ...]]  # person key, photos of them in the graph
    embeddings: dict[tuple[object, ...], np.ndarray]

    def differences(self, other: LibraryState) -> list[str]:
        found = [
            name
            for name in (
                "assets", "moments", "faces", "people", "rejections", "search", "graph_shape",
                "graph_assets", "graph_people_photos",
            )
            if getattr(self, name) != getattr(other, name)
        ]
        if self.embeddings.keys() != other.embeddings.keys():
            found.append("embeddings (which faces have one)")
        elif any(
            float(np.abs(self.embeddings[key] - other.embeddings[key]).max()) > EMBEDDING_TOLERANCE
            for key in self.embeddings
        ):
            found.append("embeddings (values)")
        return found


def _box(row: sqlite3.Row, prefix: str) -> tuple[float, ...] | None:
    values = [row[f"{prefix}_{axis}"] for axis in "xywh"]
    return None if values[0] is None else tuple(round(float(v), 1) for v in values)


def library_state(library: Path) -> LibraryState:
    import graph as kg
    from graph.photo_search import search

    db = sqlite3.connect(f"file:{library / 'library.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    hashes = {int(r["id"]): r["content_hash"] for r in db.execute("SELECT id, content_hash FROM assets")}
    assets = frozenset(
        (r["content_hash"], r["path"], r["taken_at"]) for r in db.execute("SELECT * FROM assets")
    )
    moment_groups: dict[int | None, set[str]] = {}
    for r in db.execute("SELECT content_hash, moment_id FROM assets"):
        moment_groups.setdefault(r["moment_id"], set()).add(r["content_hash"])
    observations = db.execute("SELECT * FROM observations ORDER BY id").fetchall()
    face_key = {
        int(r["id"]): (hashes[int(r["asset_id"])], r["source"], _box(r, "face"), _box(r, "body"))
        for r in observations
    }
    confirmed = {int(r[0]) for r in db.execute("SELECT observation_id FROM feedback_confirmations")}
    members: dict[int, set[tuple[object, ...]]] = {}
    for r in observations:
        if r["person_id"] is not None:
            members.setdefault(int(r["person_id"]), set()).add(face_key[int(r["id"])])
    people_rows = db.execute("SELECT * FROM people WHERE merged_into IS NULL").fetchall()
    # A person is known by name, else by the faces they hold (their id depends on run order).
    person_key: dict[int, object] = {
        int(p["id"]): p["name"] or tuple(sorted(members.get(int(p["id"]), ()), key=repr)) for p in people_rows
    }
    people = frozenset(
        (p["name"], int(p["hidden"]), frozenset(members.get(int(p["id"]), ())))
        for p in people_rows
        if members.get(int(p["id"])) or p["name"]
    )
    faces = frozenset(
        (
            face_key[int(r["id"])],
            int(r["is_clear"]),
            person_key.get(int(r["person_id"])) if r["person_id"] is not None else None,
            int(r["id"]) in confirmed,
        )
        for r in observations
    )
    rejections = frozenset(
        (face_key[int(r[0])], person_key.get(int(r[1])))
        for r in db.execute("SELECT observation_id, person_id FROM feedback_rejections")
    )
    embeddings = {
        face_key[int(r["id"])]: np.frombuffer(r["face_embedding"], dtype=np.float32)
        for r in observations
        if r["face_embedding"] is not None
    }
    named = sorted(p["name"] for p in people_rows if p["name"] and not p["hidden"])
    db.close()

    graph = kg.load_graph(library / "graph.json")
    queries = [("everyone", {}), *((name, {"people": [name]}) for name in named)]
    queries += [(place, {"place": place}) for place in graph.graph.get("places", [])]
    search_results = tuple(
        (label, frozenset(row["path"] for row in search(graph, **query)))  # type: ignore[arg-type]
        for label, query in queries
    )
    graph_assets = frozenset(
        hashes[int(str(n).split(":")[1])] for n in graph.nodes if str(n).startswith("asset:")
    )
    people_photos = frozenset(
        (
            person_key.get(int(str(n).split(":")[1])),
            frozenset(
                hashes[int(str(a).split(":")[1])] for a in graph.neighbors(n) if str(a).startswith("asset:")
            ),
        )
        for n in graph.nodes
        if str(n).startswith("person:")
    )
    shape = nx.weisfeiler_lehman_graph_hash(
        nx.relabel_nodes(graph, {n: i for i, n in enumerate(sorted(graph.nodes, key=str))}),
        node_attr="kind",
    )
    return LibraryState(
        assets=assets,
        moments=frozenset(frozenset(g) for g in moment_groups.values()),
        faces=faces,
        people=people,
        rejections=rejections,
        search=search_results,
        graph_shape=shape,
        graph_assets=graph_assets,
        graph_people_photos=people_photos,
        embeddings=embeddings,
    )


def integrity_ok(library: Path) -> bool:
    with sqlite3.connect(library / "library.sqlite3") as db:
        return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
