"""A photo edited or replaced in place is one asset; `forget` removes what it is told to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

from memories.store import Library

REPO = Path(__file__).resolve().parents[1]
EASTER = REPO / "samples" / "photos" / "2019" / "2019-04-21 Easter brunch"


def _faces(library: Library, path: Path) -> list[tuple[int, int | None, bool]]:
    return [
        (int(r[0]), r[1], bool(r[2]))
        for r in library.db.execute(
            "SELECT o.id, o.person_id, c.observation_id IS NOT NULL FROM observations o "
            "JOIN asset_paths p ON p.asset_id = o.asset_id "
            "LEFT JOIN feedback_confirmations c ON c.observation_id = o.id "
            "WHERE p.path = ? AND o.source = 'detector' AND o.is_clear = 1",
            (str(path),),
        )
    ]


@pytest.mark.slow
def test_edited_and_replaced_photos_supersede_and_forget(tmp_path: Path) -> None:
    from memories.forget import ForgetError, forget
    from memories.people import name_face
    from memories.pipeline import index_and_assign

    photos = tmp_path / "photos"
    shutil.copytree(EASTER, photos)
    photo = photos / "img2.jpg"
    with Library(tmp_path / "lib") as library:
        index_and_assign(library, [photos], workers=1)
        assets = library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0]
        (face_id, _, _), = _faces(library, photo)
        person = name_face(library, face_id, "Cleo")

        # Edited in place (brighter): still one asset, the same face keeps its name and confirmation.
        ImageEnhance.Brightness(Image.open(photo)).enhance(1.15).save(photo, quality=90)
        summary = index_and_assign(library, [photos], workers=1)
        assert (summary.new, summary.edited) == (0, 1)
        assert library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0] == assets
        assert _faces(library, photo) == [(face_id, person, True)]

        # Replaced by another photo under the same name: one asset, the old face is gone.
        shutil.copy(EASTER / "img3.jpg", photo)
        index_and_assign(library, [photos], workers=1)
        assert library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0] == assets
        assert [f for f in _faces(library, photo) if f[0] == face_id] == []

        # forget: a named file, and files gone from a folder that is there; never a missing folder.
        assert forget(library, [photos / "img1.jpg"]) == 1
        (photos / "img26.jpg").unlink()
        with pytest.raises(ForgetError, match="no such folder"):
            forget(library, [tmp_path / "unplugged"], missing=True)
        assert forget(library, [photos], missing=True) == 1
        assert library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0] == assets - 2
        assert library.db.execute("SELECT name FROM people WHERE id = ?", (person,)).fetchone()[0] == "Cleo"
