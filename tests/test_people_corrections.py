"""A user's corrections are sacred: no re-clustering undoes a name, merge, rejection or confirmation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from memories import people
from memories.pipeline import cluster_and_graph, index_and_assign
from memories.store import Library

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "photos"


def _cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "memories", *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def _faces_by_person(library: Library) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for face, person in library.db.execute(
        "SELECT id, person_id FROM observations WHERE person_id IS NOT NULL"
    ):
        out.setdefault(int(person), set()).add(int(face))
    return out


def _no_person_twice_in_a_photo(library: Library) -> None:
    counts = Counter(
        (a, p)
        for a, p in library.db.execute(
            "SELECT asset_id, person_id FROM observations WHERE person_id IS NOT NULL"
        )
    )
    assert max(counts.values()) == 1


def test_xmp_names_become_confirmed_people(indexed_samples: Path) -> None:
    with Library(indexed_samples) as library:
        named = {p.name: p for p in people.list_people(library) if p.name}
        assert {"Ana", "Bea"} <= set(named)
        confirmed = {int(r[0]) for r in library.db.execute("SELECT person_id FROM feedback_confirmations")}
        assert {named["Ana"].id, named["Bea"].id} <= confirmed
        assert named["Ana"].photos >= 5 and named["Bea"].photos >= 5
        _no_person_twice_in_a_photo(library)


def test_corrections_survive_reclustering_twice(sample_library: Path) -> None:
    lib = str(sample_library)
    with Library(sample_library) as library:
        everyone = people.list_people(library)
        unnamed = [p for p in everyone if not p.name]
        carl, dora, eve = unnamed[0], unnamed[1], unnamed[2]
        ana = people.resolve_person(library, "Ana")
        ana_faces = sorted(_faces_by_person(library)[ana])
        rejected_face, confirmed_face = ana_faces[-1], ana_faces[0]
    _cli("name", str(carl.id), "Carl", "-L", lib)
    _cli("merge", str(dora.id), str(eve.id), "-L", lib)
    _cli("reject", str(rejected_face), "--from", "Ana", "-L", lib)
    _cli("confirm", str(confirmed_face), "-L", lib)
    _cli("name", str(dora.id), "Dora", "-L", lib)
    with Library(sample_library) as library:
        merged_faces = _faces_by_person(library)[dora.id]
        carl_faces = _faces_by_person(library)[carl.id]
    for _ in range(2):
        _cli("cluster", "-L", lib)
        listed = {p["id"]: p for p in json.loads(_cli("people", "--json", "-L", lib))}
        assert listed[carl.id]["name"] == "Carl"
        assert listed[dora.id]["name"] == "Dora"
        assert eve.id not in listed  # merged away, for good
        with Library(sample_library) as library:
            by_person = _faces_by_person(library)
            assert merged_faces <= by_person[dora.id]
            assert carl_faces <= by_person[carl.id]
            assert rejected_face not in by_person.get(ana, set())
            assert confirmed_face in by_person[ana]
            assert people.canonical(library.db, eve.id) == dora.id
            _no_person_twice_in_a_photo(library)


def test_rejected_face_never_returns_after_reindex(sample_library: Path) -> None:
    with Library(sample_library) as library:
        ana = people.resolve_person(library, "Ana")
        face = max(_faces_by_person(library)[ana])
        people.reject_face(library, face, "Ana")
        asset = library.db.execute("SELECT asset_id FROM observations WHERE id = ?", (face,)).fetchone()[0]
        # the photo is seen again (as if touched on disk): recognition reruns on it
        library.db.execute("UPDATE assets SET recognised = 0 WHERE id = ?", (asset,))
        library.db.execute("DELETE FROM asset_paths WHERE asset_id = ?", (asset,))
        index_and_assign(library, [SAMPLES])
        cluster_and_graph(library)
        cluster_and_graph(library)
        rejected = {int(r[0]) for r in library.db.execute("SELECT observation_id FROM feedback_rejections")}
        assert face in rejected
        assert face not in _faces_by_person(library).get(ana, set())


def test_hidden_person_leaves_album_but_keeps_faces(sample_library: Path) -> None:
    with Library(sample_library) as library:
        target = people.list_people(library)[-1]
        people.hide_person(library, target.id)
        cluster_and_graph(library)
        assert target.id not in {p.id for p in people.list_people(library)}
        assert target.id in {p.id for p in people.list_people(library, include_hidden=True)}


def test_naming_an_ungrouped_face_makes_a_person_that_stays(sample_library: Path) -> None:
    lib = str(sample_library)
    with Library(sample_library) as library:
        face = library.db.execute(
            "SELECT id FROM observations WHERE person_id IS NULL AND source = 'detector' AND is_clear = 1 "
            "ORDER BY id LIMIT 1"
        ).fetchone()[0]
    assert "is Dan" in _cli("name-face", str(face), "Dan", "--library", lib)
    for _ in range(2):
        _cli("cluster", "--library", lib)
    with Library(sample_library) as library:
        dan = people.resolve_person(library, "Dan")
        assert int(face) in {f["id"] for f in people.faces_of(library, dan)}
        # Naming a second face with the same name adds it to the same person, not a new one.
        other = library.db.execute(
            "SELECT id FROM observations WHERE person_id IS NULL AND source = 'detector' AND is_clear = 1 "
            "AND id != ? ORDER BY id LIMIT 1", (face,)
        ).fetchone()[0]
        assert people.name_face(library, int(other), "dan") == dan


@pytest.mark.slow
def test_a_cluster_killed_while_writing_leaves_no_empty_people(tmp_path) -> None:
    """New people and their faces are written in one transaction: a failure between the two
    steps leaves the library as it was."""
    import pytest

    from memories import clustering
    from memories.pipeline import index_and_assign
    from memories.store import Library

    samples = __import__("pathlib").Path(__file__).resolve().parents[1] / "samples" / "photos"
    with Library(tmp_path / "lib") as library:
        index_and_assign(library, [samples])
        before = library.db.execute("SELECT COUNT(*) FROM people").fetchone()[0]

        def killed(*args: object) -> None:
            raise KeyboardInterrupt

        original = clustering.write_assignments
        clustering.write_assignments = killed  # type: ignore[assignment]
        try:
            with pytest.raises(KeyboardInterrupt):
                clustering.recluster(library)
        finally:
            clustering.write_assignments = original
        assert library.db.execute("SELECT COUNT(*) FROM people").fetchone()[0] == before
        assert not library.db.in_transaction


# --- pin, key photo, "not the same person", unmerge, move, batches, undo ----------------------
def _recluster_twice(library: Library) -> None:
    from memories.clustering import recluster

    for _ in range(2):
        recluster(library)


def _snapshot(library: Library) -> dict[str, list[tuple[object, ...]]]:
    """Every row a correction may touch: what an undo must give back exactly."""
    queries = {
        "people": "SELECT * FROM people ORDER BY id",
        "observations": "SELECT id, person_id, assign_score, cluster_id FROM observations ORDER BY id",
        "confirmations": "SELECT * FROM feedback_confirmations ORDER BY observation_id",
        "rejections": "SELECT * FROM feedback_rejections ORDER BY observation_id, person_id",
        "merges": "SELECT * FROM feedback_merges ORDER BY from_person_id, into_person_id",
        "different": "SELECT * FROM feedback_different ORDER BY person_a, person_b",
        "members": "SELECT * FROM merge_members ORDER BY from_person_id, observation_id",
    }
    return {name: [tuple(r) for r in library.db.execute(sql)] for name, sql in queries.items()}


def _unnamed(library: Library) -> list[people.PersonRow]:
    """Unnamed people with at least three faces, most photos first."""
    return [p for p in people.list_people(library) if not p.name and p.faces >= 3]


def _confirmed(library: Library) -> dict[int, int]:
    return {
        int(o): int(p)
        for o, p in library.db.execute("SELECT observation_id, person_id FROM feedback_confirmations")
    }


def _photos_of(library: Library, person_id: int) -> set[int]:
    return {
        int(r[0])
        for r in library.db.execute("SELECT asset_id FROM observations WHERE person_id = ?", (person_id,))
    }


def _faces_to_move(library: Library, source: int, target: int, count: int) -> list[int]:
    """Faces of `source` in photos where `target` is not (a photo never holds a person twice)."""
    busy = _photos_of(library, target)
    rows = library.db.execute(
        "SELECT id, asset_id FROM observations WHERE person_id = ? AND source = 'detector' ORDER BY id",
        (source,),
    ).fetchall()
    faces = [int(r[0]) for r in rows if int(r[1]) not in busy][:count]
    assert len(faces) == count
    return faces


def test_migrations_upgrade_a_version_2_library(tmp_path: Path) -> None:
    import sqlite3

    from memories.store import MIGRATIONS, SCHEMA_VERSION, _split_sql

    database = tmp_path / "lib" / "library.sqlite3"
    database.parent.mkdir()
    old = sqlite3.connect(database)
    for script in MIGRATIONS[:2]:
        old.executescript(script)
    old.execute("INSERT INTO people (id, name) VALUES (1, 'Ana')")
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    assert SCHEMA_VERSION == 6 and len(_split_sql(MIGRATIONS[2])) == 5
    with Library(database.parent) as library:
        assert library.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in library.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"observations_person_asset", "observations_score"} <= indexes
        assert "observations_person" not in indexes
        row = library.db.execute("SELECT name, pinned, key_chosen FROM people WHERE id = 1").fetchone()
        assert tuple(row) == ("Ana", 0, 0)
        tables = {r[0] for r in library.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"feedback_different", "merge_members", "corrections", "asset_motion"} <= tables
        assert library.db.execute("SELECT media_kind FROM assets").fetchall() == []
        import pytest

        with pytest.raises(sqlite3.IntegrityError):  # pairs are stored smaller id first
            library.db.execute("INSERT INTO feedback_different (person_a, person_b) VALUES (1, 1)")


def test_the_store_and_the_graph_share_one_label_and_one_set_of_name_rules(sample_library: Path) -> None:
    """`people.resolve_person` (SQLite) matches names as `graph.resolve_person` does: ids in any
    form and case, names in any case (not only ASCII), a shared name is ambiguous, close matches."""
    import pytest

    from graph import names

    assert people.label is names.label and people.label(7, None) == "Person 7"
    with Library(sample_library) as library:
        first, second = _unnamed(library)[:2]
        assert people.resolve_person(library, f"person {first.id}") == first.id
        assert people.resolve_person(library, f"PERSON:{first.id}") == first.id
        people.name_person(library, first.id, "Élodie")
        assert people.resolve_person(library, "éLODIE") == first.id
        people.name_person(library, second.id, "élodie")
        with pytest.raises(names.AmbiguousPersonError, match="use an id") as error:
            people.resolve_person(library, "Élodie")
        assert sorted(error.value.matches, key=int) == sorted([str(first.id), str(second.id)], key=int)
        assert people.resolve_person(library, second.id) == second.id
        with pytest.raises(people.PersonNotFound, match="did you mean 'Ana'"):
            people.resolve_person(library, "Anna")
        with pytest.raises(people.PersonNotFound, match="no person with id 999999"):
            people.resolve_person(library, "Person 999999")


def test_a_version_5_library_loses_places_and_keeps_its_moments(tmp_path: Path) -> None:
    """Schema 6 drops the unused `places` table and `moments.place_id` (a column SQLite cannot drop
    in place: `moments` is rebuilt): every moment, and every photo's moment, is kept."""
    import sqlite3

    from memories.store import MIGRATIONS

    database = tmp_path / "lib" / "library.sqlite3"
    database.parent.mkdir()
    old = sqlite3.connect(database)
    for script in MIGRATIONS[:5]:
        old.executescript(script)
    old.execute("PRAGMA foreign_keys=ON")
    old.execute("INSERT INTO places (id, name, city) VALUES (3, 'Porto', 'Porto')")
    moments = [
        (1, 10.0, 20.0, "2020-01-01T00:00:10", "2020-01-01T00:00:20", 41.1, -8.6, 2, 3),
        (2, 30.0, 40.0, "2020-01-01T00:00:30", "2020-01-01T00:00:40", None, None, 1, None),
    ]
    old.executemany("INSERT INTO moments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", moments)
    for asset_id, moment_id in ((1, 1), (2, 1), (3, 2), (4, None)):
        old.execute(
            "INSERT INTO assets (id, content_hash, path, file_size, time_source, moment_id, media_kind) "
            "VALUES (?, ?, ?, 1, 'exif', ?, 'photo')",
            (asset_id, f"h{asset_id}", f"/p/{asset_id}.jpg", moment_id),
        )
    old.execute("INSERT INTO people (id, name) VALUES (1, 'Ana')")
    old.execute("INSERT INTO observations (id, asset_id, person_id) VALUES (1, 1, 1)")
    old.execute("PRAGMA user_version = 5")
    old.commit()
    old.close()
    with Library(database.parent) as library:
        db = library.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == 6
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "places" not in tables and "moments_rebuilt" not in tables
        columns = [r[1] for r in db.execute("PRAGMA table_info(moments)")]
        assert "place_id" not in columns and len(columns) == 8
        assert [tuple(r) for r in db.execute("SELECT * FROM moments ORDER BY id")] == [m[:8] for m in moments]
        kept = [tuple(r) for r in db.execute("SELECT id, moment_id FROM assets ORDER BY id")]
        assert kept == [(1, 1), (2, 1), (3, 2), (4, None)]
        assert db.execute("SELECT person_id FROM observations WHERE id = 1").fetchone()[0] == 1
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # on again after the migration
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        db.execute("DELETE FROM moments WHERE id = 2")  # assets still refer to the rebuilt table
        assert db.execute("SELECT moment_id FROM assets WHERE id = 3").fetchone()[0] is None


def test_undo_restores_the_exact_rows_of_name_merge_reject_confirm(sample_library: Path) -> None:
    with Library(sample_library) as library:
        assert people.last_correction(library) is None
        assert people.undo_last(library) is None  # nothing to undo in a new library
        first, second, third = _unnamed(library)[:3]
        ana = people.resolve_person(library, "Ana")
        ana_faces = sorted(_faces_by_person(library)[ana])
        moved = _faces_to_move(library, third.id, ana, 1)[0]
        corrections = [
            (lambda: people.name_person(library, first.id, "Carl"), f"named Person {first.id} 'Carl'"),
            (lambda: people.merge_people(library, "Ana", second.id), f"merged Person {second.id} into Ana"),
            (lambda: people.reject_face(library, ana_faces[-1]), "rejected a face from Ana"),
            (lambda: people.confirm_face(library, moved, "Ana"), "confirmed a face as Ana"),
        ]
        for correct, summary in corrections:
            before = _snapshot(library)
            correct()
            assert _snapshot(library) != before
            assert people.last_correction(library) == summary
            assert people.undo_last(library) == summary
            assert _snapshot(library) == before, summary
        # independently of the snapshot: the merged person is back with its own faces
        assert people.canonical(library.db, second.id) == second.id
        assert len(people.faces_of(library, second.id)) == second.faces
        assert people.resolve_person(library, str(first.id)) == first.id
        assert library.db.execute("SELECT name FROM people WHERE id = ?", (first.id,)).fetchone()[0] is None
        assert people.undo_last(library) is None  # every correction was undone


def test_undo_twice_reverts_the_two_newest(sample_library: Path) -> None:
    with Library(sample_library) as library:
        first = _unnamed(library)[0]
        ana = people.resolve_person(library, "Ana")
        people.name_person(library, first.id, "Carl")
        after_name = _snapshot(library)
        people.reject_face(library, max(_faces_by_person(library)[ana]), "Ana")
        after_reject = _snapshot(library)
        people.merge_people(library, "Ana", "Carl")
        assert people.undo_last(library) == "merged Carl into Ana"
        assert _snapshot(library) == after_reject
        assert people.undo_last(library) == "rejected a face from Ana"
        assert _snapshot(library) == after_name
        assert people.last_correction(library) == f"named Person {first.id} 'Carl'"
        assert people.resolve_person(library, "Carl") == first.id  # the oldest one stays
        undone = [r[0] for r in library.db.execute("SELECT undone FROM corrections ORDER BY id")]
        assert undone == [0, 1, 1]


def test_undo_of_a_merge_after_a_recluster_gives_the_person_back(sample_library: Path) -> None:
    with Library(sample_library) as library:
        other = _unnamed(library)[0]
        faces = _faces_by_person(library)[other.id]
        people.merge_people(library, "Ana", other.id)
        _recluster_twice(library)
        assert faces <= _faces_by_person(library)[people.resolve_person(library, "Ana")]
        people.undo_last(library)
        assert people.canonical(library.db, other.id) == other.id
        assert _faces_by_person(library)[other.id] == faces
        _recluster_twice(library)
        assert other.id in {p.id for p in people.list_people(library)}
        _no_person_twice_in_a_photo(library)


def test_pinned_people_come_first_and_stay(sample_library: Path) -> None:
    from memories.clustering import refresh_people

    with Library(sample_library) as library:
        last = people.list_people(library)[-1]
        assert people.pin_person(library, last.id) == last.id
        assert people.last_correction(library) == f"pinned {last.label}"
        _recluster_twice(library)
        listed = people.list_people(library)
        assert (listed[0].id, listed[0].pinned) == (last.id, True)
        assert not any(p.pinned for p in listed[1:])
        for sort in ("name", "recent"):
            assert people.list_people(library, sort=sort)[0].id == last.id
        # a pinned person is kept with no faces left; an untouched one is not
        untouched = next(p for p in reversed(listed) if not p.name and p.id != last.id)
        with library.transaction() as db:
            db.execute(
                "UPDATE observations SET person_id = NULL WHERE person_id IN (?, ?)", (last.id, untouched.id)
            )
            db.execute("DELETE FROM feedback_confirmations WHERE person_id = ?", (untouched.id,))
            refresh_people(db)
        alive = {int(r[0]) for r in library.db.execute("SELECT id FROM people")}
        assert last.id in alive and untouched.id not in alive
        people.pin_person(library, last.id, pinned=False)
        assert not any(p.pinned for p in people.list_people(library, include_hidden=True))
        assert people.undo_last(library) == f"unpinned {last.label}"
        assert people.list_people(library)[0].id == last.id


def test_list_people_sorts_by_photos_name_and_recent(sample_library: Path) -> None:
    import pytest

    with Library(sample_library) as library:
        hidden, zoe = _unnamed(library)[0], _unnamed(library)[-1]
        people.name_person(library, zoe.id, "zoe")
        people.hide_person(library, hidden.id)
        latest: dict[int, float] = {}
        for person, taken in library.db.execute(
            "SELECT o.person_id, a.taken_ts FROM observations o JOIN assets a ON a.id = o.asset_id "
            "WHERE o.person_id IS NOT NULL AND a.taken_ts IS NOT NULL"
        ):
            latest[int(person)] = max(latest.get(int(person), float("-inf")), float(taken))
        by_photos = people.list_people(library)
        assert hidden.id not in {p.id for p in by_photos}
        assert hidden.id in {p.id for p in people.list_people(library, include_hidden=True, sort="name")}
        assert [p.photos for p in by_photos] == sorted((p.photos for p in by_photos), reverse=True)
        by_name = people.list_people(library, sort="name")
        named = [p.name for p in by_name if p.name]
        assert named == sorted(named, key=str.casefold) and named[-1] == "zoe"
        assert [p.id for p in by_name if not p.name] == sorted(p.id for p in by_name if not p.name)
        assert all(p.name for p in by_name[: len(named)])  # named people before the unnamed
        by_recent = people.list_people(library, sort="recent")
        assert [latest[p.id] for p in by_recent] == sorted((latest[p.id] for p in by_recent), reverse=True)
        assert {p.id for p in by_recent} == {p.id for p in by_photos} == {p.id for p in by_name}
        with pytest.raises(ValueError):
            people.list_people(library, sort="age")


@pytest.mark.slow
def test_list_people_is_one_fast_query_for_a_big_library(tmp_path: Path) -> None:
    import time

    with Library(tmp_path / "big") as library, library.transaction() as db:
        db.executemany(
            "INSERT INTO assets (id, content_hash, path, file_size, time_source, taken_ts) "
            "VALUES (?, ?, ?, 1, 'file', ?)",
            [(i, f"h{i}", f"/p/{i}.jpg", float(i)) for i in range(1, 50_001)],
        )
        db.executemany("INSERT INTO people (id) VALUES (?)", [(i,) for i in range(1, 2_001)])
        db.executemany(
            "INSERT INTO observations (asset_id, person_id) VALUES (?, ?)",
            [(1 + i % 50_000, 1 + i % 2_000) for i in range(150_000)],
        )
    with Library(tmp_path / "big") as library:
        for sort in ("photos", "name", "recent"):
            started = time.perf_counter()
            rows = people.list_people(library, sort=sort)
            assert time.perf_counter() - started < 3.0, sort
        assert len(rows) == 2_000 and {r.faces for r in rows} == {75}
        assert rows[0].id == 2_000  # its photo (asset 50 000) is the newest


def test_a_chosen_key_photo_is_kept_through_reclusters(sample_library: Path) -> None:
    import pytest

    with Library(sample_library) as library:
        person = _unnamed(library)[0]
        # the face the machine would pick last: only the user's choice makes it the key
        face = int(
            library.db.execute(
                "SELECT id FROM observations WHERE person_id = ? ORDER BY quality, face_w * face_h, id LIMIT 1",
                (person.id,),
            ).fetchone()[0]
        )
        assert face != person.key_face
        assert people.choose_key_face(library, face) == person.id
        assert people.last_correction(library) == f"chose {person.label}'s key photo"
        assert _confirmed(library)[face] == person.id
        _recluster_twice(library)
        row = library.db.execute(
            "SELECT key_observation_id, key_chosen FROM people WHERE id = ?", (person.id,)
        )
        assert tuple(row.fetchone()) == (face, 1)
        assert {p.id: p.key_face for p in people.list_people(library)}[person.id] == face
        # the face leaves the person: the choice goes with it, and a re-cluster picks anew
        people.reject_face(library, face)
        _recluster_twice(library)
        key, chosen = library.db.execute(
            "SELECT key_observation_id, key_chosen FROM people WHERE id = ?", (person.id,)
        ).fetchone()
        assert key != face and key in _faces_by_person(library)[person.id] and chosen == 0
        unassigned = library.db.execute(
            "SELECT id FROM observations WHERE person_id IS NULL LIMIT 1"
        ).fetchone()[0]
        with pytest.raises(ValueError):
            people.choose_key_face(library, int(unassigned))
        with pytest.raises(LookupError):
            people.choose_key_face(library, 10**9)


def test_key_face_is_whole_inside_its_photo(sample_library: Path) -> None:
    from memories.clustering import refresh_people

    with Library(sample_library) as library:
        person = _unnamed(library)[0]
        key = person.key_face
        assert key is not None
        with library.transaction() as db:
            # the current key face becomes the best by quality, but cut at the photo's left edge
            db.execute("UPDATE observations SET quality = 99, face_x = -20 WHERE id = ?", (key,))
            refresh_people(db)
        new_key = {p.id: p.key_face for p in people.list_people(library)}[person.id]
        assert new_key != key and new_key in _faces_by_person(library)[person.id]
        x, y, w, h, width, height = library.db.execute(
            "SELECT o.face_x, o.face_y, o.face_w, o.face_h, a.width, a.height "
            "FROM observations o JOIN assets a ON a.id = o.asset_id WHERE o.id = ?",
            (new_key,),
        ).fetchone()
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        # the user's own choice wins even so, and stays
        people.choose_key_face(library, key)
        with library.transaction() as db:
            refresh_people(db)
        assert {p.id: p.key_face for p in people.list_people(library)}[person.id] == key


def test_not_the_same_person_is_remembered_and_kept_apart(sample_library: Path) -> None:
    import pytest

    from memories.assignment import merge_suggestions

    def suggested(library: Library) -> set[tuple[int, int]]:
        return {
            (min(r["person_a"], r["person_b"]), max(r["person_a"], r["person_b"]))
            for r in merge_suggestions(library)
        }

    with Library(sample_library) as library:
        names = {p.id: p.name for p in people.list_people(library)}
        pairs = suggested(library)
        assert not any(names[a] and names[b] for a, b in pairs)  # two named people are never asked
        a, b = next((a, b) for a, b in sorted(pairs) if not names[a] and not names[b])
        faces_a, faces_b = _faces_by_person(library)[a], _faces_by_person(library)[b]
        people.not_same_person(library, b, a)
        assert people.last_correction(library) == f"Person {b} and Person {a} are different people"
        assert people.different_pairs(library) == {(a, b)}
        assert (a, b) not in suggested(library)
        anchors = _confirmed(library)
        anchor_a = next(f for f, p in anchors.items() if p == a)
        anchor_b = next(f for f, p in anchors.items() if p == b)
        assert anchor_a in faces_a and anchor_b in faces_b
        _recluster_twice(library)
        by_person = _faces_by_person(library)
        assert anchor_a in by_person[a] and anchor_b in by_person[b]
        assert (a, b) not in suggested(library)
        alive = {p.id for p in people.list_people(library)}
        assert {a, b} <= alive
        with pytest.raises(ValueError):
            people.not_same_person(library, a, a)
        with pytest.raises(ValueError):
            people.not_same_person(library, a, 10**9)
        people.merge_people(library, a, b)  # the user changed their mind: one person after all
        assert people.different_pairs(library) == set()


def test_unmerge_gives_back_the_faces_and_keeps_them_apart(sample_library: Path) -> None:
    import pytest

    with Library(sample_library) as library:
        other = _unnamed(library)[0]
        ana = people.resolve_person(library, "Ana")
        faces = _faces_by_person(library)[other.id]
        ana_faces = _faces_by_person(library)[ana]
        people.merge_people(library, "Ana", other.id)
        members = {int(r[0]) for r in library.db.execute("SELECT observation_id FROM merge_members")}
        assert members == faces
        assert people.unmerge(library, ana) == other.id
        assert people.last_correction(library) == f"unmerged Person {other.id} from Ana"
        assert _faces_by_person(library)[other.id] == faces
        assert _faces_by_person(library)[ana] == ana_faces
        assert people.canonical(library.db, other.id) == other.id
        assert library.db.execute("SELECT COUNT(*) FROM feedback_merges").fetchone()[0] == 0
        assert people.different_pairs(library) == {(min(ana, other.id), max(ana, other.id))}
        with pytest.raises(ValueError):
            people.unmerge(library, ana)  # nothing left to unmerge
        _recluster_twice(library)
        by_person = _faces_by_person(library)
        assert faces <= by_person[other.id] and not faces & by_person[ana]
        _no_person_twice_in_a_photo(library)


def test_unmerge_takes_back_a_name_the_merge_gave(sample_library: Path) -> None:
    with Library(sample_library) as library:
        bea = people.resolve_person(library, "Bea")
        absorber = _unnamed(library)[0]
        people.merge_people(library, absorber.id, "Bea")
        assert people.resolve_person(library, "Bea") == absorber.id  # the unnamed one took the name
        assert people.unmerge(library, absorber.id, bea) == bea
        assert people.resolve_person(library, "Bea") == bea
        assert (
            library.db.execute("SELECT name FROM people WHERE id = ?", (absorber.id,)).fetchone()[0] is None
        )


def test_move_faces_is_one_correction_that_stays(sample_library: Path) -> None:
    with Library(sample_library) as library:
        source, target = _unnamed(library)[:2]
        faces = _faces_to_move(library, source.id, target.id, 2)
        count = library.db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0]
        assert people.move_faces(library, faces, target.id) == target.id
        assert library.db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == count + 1
        assert people.last_correction(library) == f"moved 2 faces to {target.label}"
        assert all(_confirmed(library)[f] == target.id for f in faces)
        _recluster_twice(library)
        assert set(faces) <= _faces_by_person(library)[target.id]
        assert not set(faces) & _faces_by_person(library).get(source.id, set())
        _no_person_twice_in_a_photo(library)


def test_batch_confirm_and_reject_are_one_correction_each_and_stay(sample_library: Path) -> None:
    import pytest

    with Library(sample_library) as library:
        first, second = _unnamed(library)[:2]
        kept = sorted(_faces_by_person(library)[first.id])[:3]
        dropped = sorted(_faces_by_person(library)[second.id])[:2]
        assert people.confirm_faces(library, kept) == 3
        assert people.last_correction(library) == f"confirmed 3 faces as {first.label}"
        assert people.reject_faces(library, [*dropped, dropped[0]]) == 2
        assert people.last_correction(library) == f"rejected 2 faces from {second.label}"
        assert library.db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 2
        rejected = {(int(o), int(p)) for o, p, _ in library.db.execute("SELECT * FROM feedback_rejections")}
        assert {(f, second.id) for f in dropped} <= rejected
        before = _snapshot(library)
        with pytest.raises(LookupError):  # one unknown face: nothing changes
            people.reject_faces(library, [kept[0], 10**9])
        with pytest.raises(ValueError):
            people.confirm_faces(library, [])
        assert _snapshot(library) == before
        _recluster_twice(library)
        by_person = _faces_by_person(library)
        assert set(kept) <= by_person[first.id]
        assert not set(dropped) & by_person.get(second.id, set())


def test_names_are_normalised_and_bounded(sample_library: Path) -> None:
    import pytest

    with Library(sample_library) as library:
        person = _unnamed(library)[0]
        face = library.db.execute("SELECT id FROM observations WHERE person_id IS NULL LIMIT 1").fetchone()[0]
        too_long = "A" * (people.MAX_NAME_CHARS + 1)
        with pytest.raises(ValueError):
            people.name_person(library, person.id, too_long)
        with pytest.raises(ValueError):
            people.name_face(library, int(face), too_long)
        people.name_person(library, person.id, "  Ana   Maria \n")
        assert people.resolve_person(library, "ana maria") == person.id
        people.name_person(library, person.id, "B" * people.MAX_NAME_CHARS)
        assert people.last_correction(library) == f"named Ana Maria {'B' * people.MAX_NAME_CHARS!r}"


def test_undo_after_the_photo_was_forgotten_puts_back_what_remains(sample_library: Path) -> None:
    with Library(sample_library) as library:
        ana = people.resolve_person(library, "Ana")
        face = max(_faces_by_person(library)[ana])
        people.reject_face(library, face, "Ana")
        with library.transaction() as db:  # as `memories forget` does: the face goes with its photo
            db.execute(
                "DELETE FROM assets WHERE id = (SELECT asset_id FROM observations WHERE id = ?)", (face,)
            )
        assert people.undo_last(library) == "rejected a face from Ana"
        assert (
            library.db.execute("SELECT COUNT(*) FROM observations WHERE id = ?", (face,)).fetchone()[0] == 0
        )
        assert people.resolve_person(library, "Ana") == ana
