"""A library for the web page tests: samples/photos through the real pipeline, then a user's corrections.

`build_library` is the ONE place that decides what the library holds. The faces are found, embedded,
assigned and clustered by the real pipeline (`memories index` + `memories cluster`, or a copy of the
session's `indexed_samples`, which ran the same functions); "Ana" and "Bea" are people because two
XMP face regions name them. Every other part of the scenario is made the way a user makes it, with
the `memories.people` functions the CLI and the web page call (never SQL):

- "ben": the unnamed person who shares the most photos with Ana, named "Ben" (an all-of search
  and a photo with two names); when the clustering grouped nobody beside her, the unknown face in
  one of her photos, named "Ben" (`people.name_face`);
- "keep" and "gone": the closest pair the album asks "same person?" about, left for a test to merge;
- "unnamed": the largest unnamed person left, for a test to name; its face least like the others
  ("wrong", the likeliest mistake) is the one a test rejects;
- "markup": a person named `XSS_NAME`; "hidden": a person named "Stranger" and hidden.

Which real person plays each part is read from the library, so the tests hold whatever the clustering
decides, as long as it finds enough people (`build_library` says so when it does not).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memories.store import Library

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples" / "photos"
XSS_NAME = "<script>alert(1)</script>"
BEN = "Ben"
STRANGER = "Stranger"


@dataclass
class BuiltLibrary:
    root: Path
    people: dict[str, int]  # part in the scenario ("ana", "ben", "keep", ...) -> people.id
    faces: dict[str, int]  # part ("ana" key face, "ana_other", "wrong") -> observation id
    photos: dict[str, int]  # part ("ana" = her key face's photo, "together", ...) -> asset id
    assets: dict[str, int] = field(default_factory=dict)  # photo file stem -> asset id


def _run_pipeline(root: Path) -> None:
    """`memories index` (faces found, embedded, assigned) and `memories cluster`, as a user runs them."""
    for verb in (["index", str(SAMPLES)], ["cluster"]):
        subprocess.run(
            [sys.executable, "-m", "memories", *verb, "--library", str(root)],
            check=True,
            capture_output=True,
            cwd=REPO_ROOT,
        )


def _least_typical_face(library: Library, person_id: int) -> int:
    """The face of a person farthest from their mean face: the one a user would doubt first."""
    import numpy as np

    from memories.clustering import load_faces

    faces = load_faces(library, f"AND o.person_id = {int(person_id)}")
    mean = faces.face.mean(axis=0)
    return int(faces.ids[int(np.argmax(np.linalg.norm(faces.face - mean, axis=1)))])


def build_library(root: Path, indexed: Path | None = None) -> BuiltLibrary:
    """The samples indexed and clustered into `root` (a copy of `indexed` when given), then corrected."""
    from memories import people
    from memories.assignment import merge_suggestions
    from memories.store import Library

    if root.exists():
        shutil.rmtree(root)
    if indexed is None:
        _run_pipeline(root)
    else:
        shutil.copytree(indexed, root)
    with Library(root, create=False) as library:
        db = library.db
        assets = {Path(r["path"]).stem: int(r["id"]) for r in db.execute("SELECT id, path FROM assets")}
        photos_of: dict[int, set[int]] = {}
        for person_id, asset_id in db.execute(
            "SELECT person_id, asset_id FROM observations WHERE person_id IS NOT NULL"
        ):
            photos_of.setdefault(int(person_id), set()).add(int(asset_id))
        ana, bea = people.resolve_person(library, "Ana"), people.resolve_person(library, "Bea")
        unnamed = [p.id for p in people.list_people(library) if p.name is None]  # most photos first
        used: set[int] = set()

        def take(person_id: int) -> int:
            used.add(person_id)
            return person_id

        def free() -> list[int]:
            return [p for p in unnamed if p not in used]

        with_ana = [p for p in free() if photos_of[p] & photos_of[ana]]
        if with_ana:
            ben = take(max(with_ana, key=lambda p: len(photos_of[p] & photos_of[ana])))
        else:
            # Nobody beside Ana is grouped (precision first: a face seen twice is no person yet),
            # so the user names the unknown face in one of her photos, as the photo page offers.
            unknown = db.execute(
                "SELECT o.id, o.asset_id FROM observations o WHERE o.person_id IS NULL "
                "AND o.source = 'detector' AND o.is_clear = 1 ORDER BY o.id"
            ).fetchall()
            beside = [(int(f), int(a)) for f, a in unknown if int(a) in photos_of[ana]]
            assert beside, "no unknown face in a photo with Ana"
            ben = take(people.name_face(library, beside[0][0], BEN))
            photos_of.setdefault(ben, set()).add(beside[0][1])
        pair = next(
            (
                (int(s["person_a"]), int(s["person_b"]))
                for s in merge_suggestions(library)
                if int(s["person_a"]) in free() and int(s["person_b"]) in free()
            ),
            None,
        )
        assert pair is not None, "no 'same person?' pair between two unnamed people"
        keep, gone = take(pair[0]), take(pair[1])
        assert len(free()) >= 3, f"too few people for the scenario: {len(unnamed)} unnamed"
        nameless, markup, hidden = (take(p) for p in free()[:3])

        people.name_person(library, ben, BEN)
        people.name_person(library, markup, XSS_NAME)
        people.name_person(library, hidden, STRANGER)
        people.hide_person(library, hidden)

        key_faces = dict(db.execute("SELECT id, key_observation_id FROM people").fetchall())
        ana_faces = [int(f["id"]) for f in people.faces_of(library, ana)]
        faces = {
            "ana": int(key_faces[ana]),
            "ana_other": next(f for f in ana_faces if f != key_faces[ana]),
            "wrong": _least_typical_face(library, nameless),
        }
        photo_of_face = dict(db.execute("SELECT id, asset_id FROM observations").fetchall())
        together = photos_of[ana] & photos_of[ben]
        photos = {
            "ana": int(photo_of_face[faces["ana"]]),
            "ana_other": int(photo_of_face[faces["ana_other"]]),
            "together": min(together),
            "markup": min(photos_of[markup]),
        }
    return BuiltLibrary(
        root=root,
        people={
            "ana": ana,
            "bea": bea,
            "ben": ben,
            "keep": keep,
            "gone": gone,
            "unnamed": nameless,
            "markup": markup,
            "hidden": hidden,
        },
        faces=faces,
        photos=photos,
        assets=assets,
    )


_TEMPLATE: BuiltLibrary | None = None


def template_library(indexed: Path | None = None) -> BuiltLibrary:
    """`build_library` once per test process, shared by the web test modules (copy before changing)."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.root.exists():
        folder = Path(tempfile.mkdtemp(prefix="memories-web-template-"))
        atexit.register(shutil.rmtree, folder, True)
        _TEMPLATE = build_library(folder / "library", indexed)
    return _TEMPLATE


def copy_library(built: BuiltLibrary, target: Path) -> BuiltLibrary:
    """A private copy for one test (tests change names and merge people)."""
    shutil.copytree(built.root, target)
    return BuiltLibrary(
        root=target,
        people=dict(built.people),
        faces=dict(built.faces),
        photos=dict(built.photos),
        assets=dict(built.assets),
    )
