"""A user's corrections are sacred: no re-clustering undoes a name, merge, rejection or confirmation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

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
