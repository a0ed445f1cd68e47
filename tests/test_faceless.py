"""People seen without a face, end to end on real photos: known by their clothes in the moment
they were seen, never across moments."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from memories.store import Library

REPO = Path(__file__).resolve().parents[1]
MOMENT = REPO / "samples" / "photos" / "2025" / "2025-03-15 Garden party"
PHOTO = "img36.jpg"  # a man in a suit, head and shoulders


def seen_from_behind(rgb: np.ndarray) -> np.ndarray:
    """The photo with every face replaced by the back of a head (a dark, hair-textured oval)."""
    from recognition.detect import make_detector

    out = rgb.copy()
    hair = np.clip(np.array([45.0, 32.0, 25.0]) + np.random.default_rng(0).normal(0, 12, rgb.shape), 0, 255)
    hair = cv2.GaussianBlur(hair.astype(np.uint8), (5, 5), 0)
    for d in make_detector("fused").detect(rgb):
        x, y, w, h = d.box
        mask = np.zeros(rgb.shape[:2], np.uint8)
        cv2.ellipse(mask, (int(x + w / 2), int(y + 0.4 * h)), (int(0.62 * w), int(0.8 * h)), 0, 0, 360, 255, -1)
        out[mask > 0] = hair[mask > 0]
    return out


@pytest.mark.slow
def test_a_person_seen_from_behind_is_known_by_clothes_in_the_same_moment_only(tmp_path: Path) -> None:
    from memories.people import name_face
    from memories.pipeline import cluster_and_graph, index_and_assign

    photos = tmp_path / "photos"
    shutil.copytree(MOMENT, photos / "garden party")
    back = seen_from_behind(np.asarray(Image.open(MOMENT / PHOTO).convert("RGB")))
    sidecar = re.sub(r"<mwg-rs:Regions.*?</mwg-rs:Regions>", "", (MOMENT / f"{PHOTO}.xmp").read_text(), flags=re.S)
    # The same moment: same time and place as the photo with the face.
    Image.fromarray(back).save(photos / "garden party" / "back.jpg", quality=92)
    (photos / "garden party" / "back.jpg.xmp").write_text(sidecar)
    # Another moment, years earlier: the same clothes prove nothing there.
    (photos / "earlier").mkdir()
    Image.fromarray(back).save(photos / "earlier" / "back.jpg", quality=90)
    (photos / "earlier" / "back.jpg.xmp").write_text(re.sub(r'DateTimeOriginal="\d{4}', 'DateTimeOriginal="2011', sidecar))

    with Library(tmp_path / "lib") as library:
        index_and_assign(library, [photos], workers=1)
        db = library.db

        def observations(name: str) -> list[tuple[str, int | None, float | None]]:
            """The photo's people seen without a face; its clear faces (there should be none)."""
            rows = db.execute(
                "SELECT o.source, o.person_id, o.assign_score, o.is_clear FROM observations o "
                "JOIN assets a ON a.id = o.asset_id WHERE a.path = ? ORDER BY o.id",
                (str(photos / name),),
            ).fetchall()
            assert not [r for r in rows if r["source"] == "detector" and r["is_clear"]]
            return [(r["source"], r["person_id"], r["assign_score"]) for r in rows if r["source"] == "body"]

        # No clear face is found on the covered copies; the person is found, as a body.
        assert len(observations("garden party/back.jpg")) == 1
        assert len(observations("earlier/back.jpg")) == 1
        face_id = db.execute(
            "SELECT o.id FROM observations o JOIN assets a ON a.id = o.asset_id WHERE a.path = ? AND o.is_clear = 1",
            (str(photos / "garden party" / PHOTO),),
        ).fetchone()[0]
        tom = name_face(library, int(face_id), "Tom")
        cluster_and_graph(library)

        (source, person, score), = observations("garden party/back.jpg")
        assert person == tom and score is not None and score > 0
        (source, person, score), = observations("earlier/back.jpg")
        assert person is None
