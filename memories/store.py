"""The library: one folder holding a SQLite database and derived files.

Layout of a library folder::

    library.sqlite3     assets, moments, observations, people, feedback, the user's choices
    thumbs/             face and photo thumbnails (derived, rebuilt on demand)
    models/             converted models (derived, rebuilt when missing)
    renders/            rendered memories (MP4, poster, JSON)
    graph.json          the knowledge graph as node-link JSON (derived)

What a re-run recomputes (observations' cluster and person assignment, clusters, moments) is kept
apart from what only the user writes: `people.name`/`people.hidden` and the `feedback_*` tables.
Re-clustering reads the feedback tables and never deletes a person a user has touched.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from memories import settings

# Each entry migrates the schema from version i to i+1. Never edit a released entry: append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE assets (
        id            INTEGER PRIMARY KEY,
        content_hash  TEXT NOT NULL UNIQUE,     -- sha256 of the file bytes: identity of a photo
        path          TEXT NOT NULL,            -- where it was last seen
        file_size     INTEGER NOT NULL,
        format        TEXT,
        width         INTEGER,                  -- after EXIF orientation
        height        INTEGER,
        orientation   INTEGER,
        taken_at      TEXT,                     -- ISO 8601, with offset when known
        taken_ts      REAL,                     -- UTC epoch seconds
        time_source   TEXT NOT NULL,            -- exif | xmp | file
        latitude      REAL,
        longitude     REAL,
        camera        TEXT,
        moment_id     INTEGER REFERENCES moments(id) ON DELETE SET NULL,
        hidden        INTEGER NOT NULL DEFAULT 0,
        recognised    INTEGER NOT NULL DEFAULT 0,  -- 1 once faces are detected and stored
        indexed_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX assets_taken ON assets(taken_ts);
    CREATE INDEX assets_moment ON assets(moment_id);

    -- Every path an asset was seen at, with the stat used to skip unchanged files cheaply.
    CREATE TABLE asset_paths (
        path       TEXT PRIMARY KEY,
        asset_id   INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        file_size  INTEGER NOT NULL,
        file_mtime REAL NOT NULL
    );
    CREATE INDEX asset_paths_asset ON asset_paths(asset_id);

    CREATE TABLE moments (
        id          INTEGER PRIMARY KEY,
        start_ts    REAL NOT NULL,
        end_ts      REAL NOT NULL,
        start_at    TEXT NOT NULL,
        end_at      TEXT NOT NULL,
        latitude    REAL,
        longitude   REAL,
        asset_count INTEGER NOT NULL,
        place_id    INTEGER REFERENCES places(id) ON DELETE SET NULL
    );

    CREATE TABLE places (
        id        INTEGER PRIMARY KEY,
        name      TEXT NOT NULL,
        city      TEXT,
        region    TEXT,
        country   TEXT,
        latitude  REAL,
        longitude REAL,
        is_home   INTEGER NOT NULL DEFAULT 0
    );

    -- A face (and the upper body paired with it) seen in one asset.
    CREATE TABLE observations (
        id               INTEGER PRIMARY KEY,
        asset_id         INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        source           TEXT NOT NULL DEFAULT 'detector',   -- detector | xmp | body (no face)
        face_x REAL, face_y REAL, face_w REAL, face_h REAL,  -- original pixels, oriented
        landmarks        BLOB,                               -- float32 (5, 2)
        detector_score   REAL,
        body_x REAL, body_y REAL, body_w REAL, body_h REAL,
        face_embedding   BLOB,                               -- float32, L2-normalised
        body_embedding   BLOB,                               -- float32, L2-normalised
        quality          REAL,
        is_clear         INTEGER NOT NULL DEFAULT 1,
        xmp_name         TEXT,                               -- name from an MWG region
        cluster_id       INTEGER,                            -- recomputed by `cluster`
        person_id        INTEGER REFERENCES people(id) ON DELETE SET NULL,  -- recomputed
        assign_score     REAL
    );
    CREATE INDEX observations_asset ON observations(asset_id);
    CREATE INDEX observations_person ON observations(person_id);

    CREATE TABLE people (
        id                 INTEGER PRIMARY KEY,
        name               TEXT,                 -- user's
        hidden             INTEGER NOT NULL DEFAULT 0,  -- user's
        key_observation_id INTEGER REFERENCES observations(id) ON DELETE SET NULL,
        merged_into        INTEGER REFERENCES people(id),
        created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );

    -- User feedback: only the user writes these; every re-cluster obeys them.
    CREATE TABLE feedback_confirmations (
        observation_id INTEGER PRIMARY KEY REFERENCES observations(id) ON DELETE CASCADE,
        person_id      INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE feedback_rejections (
        observation_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
        person_id      INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (observation_id, person_id)
    );
    CREATE TABLE feedback_merges (
        from_person_id INTEGER NOT NULL REFERENCES people(id),
        into_person_id INTEGER NOT NULL REFERENCES people(id),
        created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (from_person_id, into_person_id)
    );

    CREATE TABLE renders (
        id         INTEGER PRIMARY KEY,
        theme      TEXT NOT NULL,
        key        TEXT NOT NULL UNIQUE,   -- theme + selection: which memory this is
        signature  TEXT NOT NULL,          -- hash of the plan: re-render only when it changes
        path       TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    """,
    # 2: the user's choices about memories (memories/memory_choices.py): kept apart from what the
    # rules derive, so that no re-index or re-cluster can undo them.
    """
    CREATE TABLE memory_choices (
        key                TEXT PRIMARY KEY,     -- the memory: theme + what it selects
        hidden             INTEGER NOT NULL DEFAULT 0,  -- never suggested, made by theme or exported
        dismissed_at_count INTEGER,              -- dismissed holding this many photos; back if it grows
        title              TEXT,
        mood               TEXT,
        length             TEXT,
        music              TEXT,
        key_asset_id       INTEGER REFERENCES assets(id) ON DELETE SET NULL,
        updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE memory_removed_photos (
        key      TEXT NOT NULL,
        asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        PRIMARY KEY (key, asset_id)
    );
    CREATE TABLE feature_choices (
        kind  TEXT NOT NULL,   -- person | place | dates
        value TEXT NOT NULL,   -- a person id, a place name, or FIRST..LAST (YYYY-MM-DD)
        level TEXT NOT NULL,   -- less | never
        PRIMARY KEY (kind, value)
    );
    """,
    # 3: more of the user's say over people (memories/people.py): favourites, a chosen key photo,
    # "not the same person", merges that can be taken back, and an undo journal of corrections.
    """
    ALTER TABLE people ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;      -- user's: listed first
    ALTER TABLE people ADD COLUMN key_chosen INTEGER NOT NULL DEFAULT 0;  -- 1: the user chose the key face
    -- The user said these two are not the same person (person_a < person_b).
    CREATE TABLE feedback_different (
        person_a   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (person_a, person_b),
        CHECK (person_a < person_b)
    );
    -- The faces a merge moved from the merged-away person: what an unmerge gives back.
    CREATE TABLE merge_members (
        from_person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        observation_id INTEGER NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
        PRIMARY KEY (from_person_id, observation_id)
    );
    -- The undo journal: per correction, JSON [table, key columns, previous row or null] of every
    -- row it touched, restored newest first by `memories.people.undo_last`.
    CREATE TABLE corrections (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL,
        summary    TEXT NOT NULL,
        before     TEXT NOT NULL,
        undone     INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    """,
    # 4: a person's photos from the index alone. Observation rows carry their embeddings, so
    # reading them for (person, photo) pairs read ~68 MB on a 134k-face library; the People album's
    # counts went from 435 to 99 ms (benchmarks/bench_web_scale.py). It also answers person_id.
    """
    CREATE INDEX observations_person_asset ON observations(person_id, asset_id);
    DROP INDEX observations_person;
    -- "Review these" asks about the least sure faces first: a range of this index, not a scan.
    CREATE INDEX observations_score ON observations(assign_score);
    """,
    # 5: videos and Live Photos (memories/videos.py, memories/live_photos.py). A video is an asset
    # whose path is the movie file; a Live Photo is its still's asset with the motion file beside
    # it in asset_motion (never indexed as a video of its own). A face track of a video is one
    # observation: its box and landmarks are those of its best frame, at time_s.
    """
    ALTER TABLE assets ADD COLUMN media_kind TEXT NOT NULL DEFAULT 'photo';  -- photo | video | live
    ALTER TABLE assets ADD COLUMN duration_s REAL;      -- a video's, or a Live Photo's motion's
    ALTER TABLE assets ADD COLUMN frame_rate REAL;
    ALTER TABLE assets ADD COLUMN codec TEXT;
    ALTER TABLE assets ADD COLUMN rotation INTEGER;     -- degrees the frames are turned for display
    ALTER TABLE assets ADD COLUMN has_audio INTEGER NOT NULL DEFAULT 0;
    -- The liveliest few seconds (motion and faces), what a memory shows of a video.
    ALTER TABLE assets ADD COLUMN highlight_start_s REAL;
    ALTER TABLE assets ADD COLUMN highlight_end_s REAL;
    CREATE TABLE asset_motion (
        asset_id           INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
        path               TEXT NOT NULL UNIQUE,
        file_size          INTEGER NOT NULL,
        file_mtime         REAL NOT NULL,
        content_hash       TEXT NOT NULL,
        content_identifier TEXT,                        -- Apple's, shared with the still
        duration_s         REAL,
        width              INTEGER,                     -- as displayed (after rotation)
        height             INTEGER,
        frame_rate         REAL,
        codec              TEXT,
        rotation           INTEGER,
        has_audio          INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE observations ADD COLUMN time_s REAL;    -- a video track: its best frame's time
    ALTER TABLE observations ADD COLUMN first_s REAL;   -- and when the track starts and ends
    ALTER TABLE observations ADD COLUMN last_s REAL;
    """,
    # 6: places were never stored here (the knowledge graph derives them from GPS on every build):
    # the unused `places` table goes, and with it `moments.place_id`. SQLite will not drop a
    # column that refers to another table, so `moments` is rebuilt without it, ids kept (this
    # runs with foreign keys off, see `migrate`: the photos keep their moments).
    """
    CREATE TABLE moments_rebuilt (
        id          INTEGER PRIMARY KEY,
        start_ts    REAL NOT NULL,
        end_ts      REAL NOT NULL,
        start_at    TEXT NOT NULL,
        end_at      TEXT NOT NULL,
        latitude    REAL,
        longitude   REAL,
        asset_count INTEGER NOT NULL
    );
    INSERT INTO moments_rebuilt (id, start_ts, end_ts, start_at, end_at, latitude, longitude, asset_count)
        SELECT id, start_ts, end_ts, start_at, end_at, latitude, longitude, asset_count FROM moments;
    DROP TABLE moments;
    ALTER TABLE moments_rebuilt RENAME TO moments;
    DROP TABLE places;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def resolve_library(path: Path | str | None) -> Path:
    """The library folder: the argument, else $MEMORIES_LIBRARY, else the default."""
    import os

    if path:
        return Path(path).expanduser().resolve()
    env = os.environ.get(settings.LIBRARY_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return settings.DEFAULT_LIBRARY


def writable(database: Path) -> bool:
    """Can the library be changed: its folder (for the WAL files) and the database file itself."""
    folder = database.parent
    if not os.access(folder, os.W_OK) or (database.exists() and not os.access(database, os.W_OK)):
        return False
    return not (os.statvfs(folder).f_flag & os.ST_RDONLY)  # root passes os.access on a ro mount


def connect(database: Path) -> sqlite3.Connection:
    if database.exists() and not writable(database):
        # immutable: SQLite reads without creating or locking the -wal/-shm files it cannot write
        uri = f"file:{quote(str(database))}?immutable=1"
        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
        connection.row_factory = sqlite3.Row
        return connection
    connection = sqlite3.connect(database, timeout=30.0, isolation_level=None)
    connection.row_factory = sqlite3.Row
    # Switching a new database to WAL needs a moment alone with it, and SQLite answers "locked"
    # at once (without its busy wait) when another command is opening it too: wait and retry.
    for attempt in range(300):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 299:
                raise
            time.sleep(0.1)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; returns the version found before.

    Each step reads the version under the write lock (BEGIN IMMEDIATE) it migrates under, so two
    commands opening a new library at once never both create its tables.

    Steps run with foreign keys off, as SQLite's way to change a table's definition asks (a step
    that rebuilds a table copies it, drops the old one and renames the copy): with them on,
    dropping the old table would first delete its rows, and so clear or delete every row that
    refers to them. A step keeps its references valid itself (a rebuilt table keeps its ids)."""
    found = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if found == SCHEMA_VERSION:  # nothing to do: no write lock (a read-only library opens too)
        return found
    enforced = int(connection.execute("PRAGMA foreign_keys").fetchone()[0])
    connection.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before BEGIN
    try:
        return _migrate_steps(connection, found)
    finally:
        connection.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _migrate_steps(connection: sqlite3.Connection, found: int) -> int:
    while True:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"library schema version {version} is newer than this program ({SCHEMA_VERSION}); upgrade memories"
                )
            if version == SCHEMA_VERSION:
                connection.execute("COMMIT")
                return found
            for statement in _split_sql(MIGRATIONS[version]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite rolls back by itself on a full disk
                connection.execute("ROLLBACK")
            raise


def one_row(db: sqlite3.Connection, sql: str, params: tuple[Any, ...], missing: str) -> sqlite3.Row:
    """The row `sql` finds (the first); LookupError(`missing`) when there is none, such as "no
    photo with id 7" (the web page answers it with a 404)."""
    row: sqlite3.Row | None = db.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(missing)
    return row


def asset_row(db: sqlite3.Connection, asset_id: int, columns: str = "*") -> sqlite3.Row:
    """These columns of a photo or video's row; LookupError when there is no such asset."""
    return one_row(
        db, f"SELECT {columns} FROM assets WHERE id = ?", (asset_id,), f"no photo with id {asset_id}"
    )


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script, so they can run inside one explicit transaction."""
    statements, buffer = [], ""
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buffer += code + "\n"
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


class Library:
    """An open library folder. Use as a context manager or call close()."""

    def __init__(self, root: Path | str | None = None, *, create: bool = True) -> None:
        self.root = resolve_library(root)
        if not self.root.exists():
            if not create:
                raise FileNotFoundError(f"{self.root}: no library here (run `memories index` first)")
            self.root.mkdir(parents=True, exist_ok=True)  # another command may create it too
        self.database_path = self.root / settings.DATABASE_NAME
        if not create and not self.database_path.exists():
            raise FileNotFoundError(f"{self.root}: no library here (run `memories index` first)")
        self.db = connect(self.database_path)
        migrate(self.db)

    # derived folders
    @property
    def thumbs_dir(self) -> Path:
        return self._subdir("thumbs")

    @property
    def models_dir(self) -> Path:
        return self._subdir("models")

    @property
    def renders_dir(self) -> Path:
        return self._subdir("renders")

    @property
    def graph_path(self) -> Path:
        return self.root / "graph.json"

    @property
    def index_pending_marker(self) -> Path:
        """Present from the start of an `index` until its photos are assigned and in the graph."""
        return self.root / "index.pending"

    @property
    def graph_stale_marker(self) -> Path:
        """Present when faces changed person outside `cluster` (a merge, reject, confirm)."""
        return self.root / "graph.stale"

    def mark_graph_stale(self) -> None:
        self.graph_stale_marker.touch()

    def _subdir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (a kill leaves the last commit).

        Inside another transaction it joins that one, so steps that must land together (the
        people `cluster` creates and the faces it gives them) can each use their own block."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_blob(array: np.ndarray | None) -> bytes | None:
    if array is None:
        return None
    return np.ascontiguousarray(array, dtype=np.float32).tobytes()


def from_blob(blob: bytes | None, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    if blob is None:
        return None
    array = np.frombuffer(blob, dtype=np.float32)
    return array.reshape(shape) if shape else array
