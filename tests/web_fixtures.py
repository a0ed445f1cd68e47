"""A small library for the web page tests, built from samples/photos.

`build_library` is the ONE place that decides what the library holds. Today it indexes the sample
photos without faces (`memories index --no-faces`), finds the face boxes with dlib's HOG detector
(a real detection, ~2 s for these 17 photos) and writes observations and people by SQL, grouped by
the deepface identity labels (id00 = Ana, id01 = Bea as in the samples' XMP regions). When
`memories index` + `memories cluster` produce people on their own, replace the body with those two
commands and keep the scenario: a split person to merge, an unsure wrong face to reject, an unnamed
person to name, a hidden person, a name that is markup.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples" / "photos"
XSS_NAME = "<script>alert(1)</script>"


@dataclass(frozen=True)
class FixturePerson:
    key: str
    name: str | None
    photos: tuple[str, ...]  # sample file stems, one face each (the largest detection)
    score: float = 0.9  # the assignment score written for each face
    hidden: bool = False


# Scenario: Ana is split over two people (merge them), one of Ana's faces is really id02 with a low
# score (review / reject it), Bea has no name yet (name her), one person's name is markup (escaping),
# one person is hidden. couple.jpg holds Ana (left) and a man the labels leave unnamed, here "Ben",
# so an all-of search has a photo to find.
PEOPLE = (
    FixturePerson("ana", "Ana", ("img1", "img2", "img4")),
    FixturePerson("ana_split", None, ("img5", "img6", "img7"), score=0.8),
    FixturePerson("bea", None, ("img26", "img27", "img28", "img42")),
    FixturePerson("markup", XSS_NAME, ("img47", "img48", "img49")),
    FixturePerson("hidden", "Stranger", ("img53",), hidden=True),
    FixturePerson("ben", "Ben", ()),  # only in couple.jpg
)
WRONG_FACE = ("img8", "ana", 0.3)  # an id02 face the assigner put with Ana, unsure
COUPLE = ("couple", ("ana", "ben"))  # the two faces of couple.jpg, left to right
UNASSIGNED = ("selfie-many-people",)  # faces nobody has been given


@dataclass
class BuiltLibrary:
    root: Path
    people: dict[str, int]  # FixturePerson.key -> people.id
    faces: dict[str, int]  # photo stem -> observation id (first face), "couple:0" for the left face
    assets: dict[str, int]  # photo stem -> asset id


@functools.cache
def _detector() -> object:
    import dlib

    return dlib.get_frontal_face_detector()


def _detect(path: Path) -> list[tuple[int, int, int, int]]:
    import numpy as np
    from PIL import Image, ImageOps

    detector: Any = _detector()
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    boxes = [(r.left(), r.top(), r.width(), r.height()) for r in detector(np.asarray(image), 0)]
    if not boxes:  # small faces: try once more at 2x
        boxes = [(r.left(), r.top(), r.width(), r.height()) for r in detector(np.asarray(image), 1)]
    return sorted(boxes, key=lambda b: b[0])


def build_library(root: Path) -> BuiltLibrary:
    """Index the samples into `root` and add people; returns the ids the tests need."""
    if root.exists():
        shutil.rmtree(root)
    subprocess.run(
        [sys.executable, "-m", "memories", "index", str(SAMPLES), "--library", str(root), "--no-faces"],
        check=True,
        capture_output=True,
        cwd=REPO_ROOT,
    )
    from memories.store import Library

    result = BuiltLibrary(root=root, people={}, faces={}, assets={})
    with Library(root, create=False) as library:
        for row in library.db.execute("SELECT id, path FROM assets"):
            result.assets[Path(row["path"]).stem] = int(row["id"])

        def add_face(
            stem: str, box: tuple[int, int, int, int], person_id: int | None, score: float | None
        ) -> int:
            x, y, w, h = box
            cursor = library.db.execute(
                "INSERT INTO observations (asset_id, face_x, face_y, face_w, face_h, detector_score, "
                "quality, is_clear, person_id, assign_score) VALUES (?, ?, ?, ?, ?, 1.0, 0.9, 1, ?, ?)",
                (result.assets[stem], x, y, w, h, person_id, score),
            )
            return int(cursor.lastrowid or 0)

        def photo_path(stem: str) -> Path:
            return next(SAMPLES.rglob(f"{stem}.jpg"))

        with library.transaction() as db:
            for person in PEOPLE:
                cursor = db.execute(
                    "INSERT INTO people (name, hidden) VALUES (?, ?)", (person.name, int(person.hidden))
                )
                person_id = int(cursor.lastrowid or 0)
                result.people[person.key] = person_id
                for stem in person.photos:
                    box = max(_detect(photo_path(stem)), key=lambda b: b[2] * b[3])
                    result.faces[stem] = add_face(stem, box, person_id, person.score)
            stem, owner, score = WRONG_FACE
            box = max(_detect(photo_path(stem)), key=lambda b: b[2] * b[3])
            result.faces[stem] = add_face(stem, box, result.people[owner], score)
            stem, owners = COUPLE
            for i, (box, owner) in enumerate(zip(_detect(photo_path(stem)), owners, strict=True)):
                result.faces[f"{stem}:{i}"] = add_face(stem, box, result.people[owner], 0.7)
            for stem in UNASSIGNED:
                for i, box in enumerate(_detect(photo_path(stem))):
                    result.faces[f"{stem}:{i}"] = add_face(stem, box, None, None)
            db.execute("UPDATE assets SET recognised = 1")
            # Each person's key face: their first (lowest id) face, as a fresh cluster would pick one.
            db.execute(
                "UPDATE people SET key_observation_id = "
                "(SELECT MIN(o.id) FROM observations o WHERE o.person_id = people.id)"
            )
    return result


_TEMPLATE: BuiltLibrary | None = None


def template_library() -> BuiltLibrary:
    """`build_library` once per test process, shared by the web test modules (copy before changing)."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.root.exists():
        folder = Path(tempfile.mkdtemp(prefix="memories-web-template-"))
        atexit.register(shutil.rmtree, folder, True)
        _TEMPLATE = build_library(folder / "library")
    return _TEMPLATE


def copy_library(built: BuiltLibrary, target: Path) -> BuiltLibrary:
    """A private copy for one test (tests change names and merge people)."""
    shutil.copytree(built.root, target)
    return BuiltLibrary(
        root=target, people=dict(built.people), faces=dict(built.faces), assets=dict(built.assets)
    )
