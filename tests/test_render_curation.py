"""Curation: featured people clear, sharp, no near-duplicates, spread over moments, chronological;
hidden photos and rejected faces never used. Hashes and sharpness measured on real photos."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from memories import curation
from memories.curation import DEFAULT_SETTINGS, CandidateFace, CandidatePhoto, fingerprint

T0 = datetime(2025, 7, 1, 10, 0)


def _grey(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


@pytest.fixture(scope="module")
def images(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "deepface" / "images").glob("img*.jpg"))[:12]


def test_hashes_find_resaved_copies_and_separate_different_photos(images: list[Path]) -> None:
    grey = _grey(images[0])
    buffer = io.BytesIO()
    Image.fromarray(grey).resize((grey.shape[1] // 3, grey.shape[0] // 3)).save(buffer, "JPEG", quality=60)
    copy = np.asarray(Image.open(buffer))
    limit = curation.DEFAULT_SETTINGS.duplicate_bits
    assert curation.hamming(curation.phash(grey), curation.phash(copy)) <= limit
    hashes = [curation.phash(_grey(p)) for p in images]
    distances = [curation.hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > limit


def test_sharpness_drops_with_blur(images: list[Path]) -> None:
    grey = _grey(images[1]).astype(np.float32)
    blurred = cv2.GaussianBlur(grey, (0, 0), 4.0)
    assert curation.sharpness(blurred) < 0.2 * curation.sharpness(grey)


def _photo(n: int, people: tuple[str, ...], moment: int, **kwargs: Any) -> CandidatePhoto:
    faces = tuple(CandidateFace(p, (100 + 300 * i, 100, 250, 250)) for i, p in enumerate(people))
    defaults: dict[str, Any] = dict(
        asset_id=n,
        time=T0 + timedelta(hours=n),
        width=1600,
        height=1200,
        faces=faces,
        moment=moment,
        sharpness=200.0,
        phash=(n * 0x9E3779B97F4A7C15) % 2**64,
    )
    defaults.update(kwargs)
    return CandidatePhoto(**defaults)


def test_curate_end_to_end_rules() -> None:
    rejected = CandidatePhoto(
        asset_id=90,
        time=T0,
        width=1600,
        height=1200,
        moment=1,
        sharpness=300.0,
        phash=1,
        faces=(
            CandidateFace("ana", (100, 100, 300, 300), rejected=True),
            CandidateFace("ben", (600, 100, 300, 300)),
        ),
    )
    candidates = [
        _photo(1, ("ana", "ben"), 1),
        _photo(2, ("ana", "ben"), 1, phash=(_photo(1, (), 1).phash or 0) ^ 0b111),  # near-duplicate of 1
        _photo(3, ("ana", "ben"), 1, hidden=True, sharpness=900.0),
        _photo(4, ("ana", "ben"), 1, sharpness=20.0),  # blurred
        _photo(5, ("cy",), 2),  # no featured person
        _photo(6, ("ana",), 2, faces=(CandidateFace("ana", (10, 10, 20, 20)),)),  # face too small
        _photo(7, ("ana",), 2, faces=(CandidateFace("ana", (100, 100, 300, 300), clear=False),)),  # unclear
        _photo(8, ("ana",), 3),
        _photo(9, ("ana", "ben"), 3, sharpness=400.0),
        _photo(10, ("ben",), 4),
        rejected,
    ]
    result = curation.curate(candidates, ["ana", "ben"], max_photos=10)
    chosen = [p.asset_id for p in result.photos]
    times = [p.time for p in result.photos if p.time is not None]
    assert times == sorted(times) and len(times) == len(chosen)
    assert 3 in result.dropped["hidden"] and 3 not in chosen
    assert 4 in result.dropped["blurred"]
    assert {5, 6, 7} <= set(result.dropped["no clear featured face"])
    assert result.dropped["near-duplicate"] == [2] and 1 in chosen
    assert set(chosen) == {1, 8, 9, 10, 90}
    # The photo with the rejected face counts only for Ben.
    assert result.scores[90] < result.scores[1]
    # The renderer keeps Ben's face of photo 90 in frame, not the face rejected as Ana.
    index = chosen.index(90)
    assert result.frame_boxes(index, ["ana", "ben"]) == [(600, 100, 300, 300)]
    # Key photo: both people, big faces, sharpest.
    assert result.photos[result.key_photo].asset_id == 9


def test_spread_over_moments_before_doubling_up() -> None:
    candidates = [_photo(n, ("ana",), moment=0, sharpness=500.0 + n) for n in range(10)]
    candidates += [_photo(20 + m, ("ana",), moment=m) for m in range(1, 4)]
    result = curation.curate(candidates, ["ana"], max_photos=5)
    moments = [p.moment for p in result.photos]
    assert set(moments) == {0, 1, 2, 3} and moments.count(0) == 2


def test_too_few_photos_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs 3"):
        curation.curate([_photo(1, ("ana",), 1)], ["ana"], max_photos=10, min_photos=3)


def test_themes_without_people_take_every_visible_photo(images: list[Path]) -> None:
    candidates = []
    for n, path in enumerate(images[:4]):
        measured = curation.fingerprint(path)
        assert measured.clutter is None  # photos of people
        candidates.append(
            CandidatePhoto(
                asset_id=n,
                time=T0 + timedelta(days=n),
                width=100,
                height=100,
                moment=n,
                sharpness=measured.sharpness,
                phash=measured.phash,
                path=path,
            )
        )
    result = curation.curate(candidates, [], max_photos=10)
    assert [p.asset_id for p in result.photos] == [0, 1, 2, 3]


def test_a_mirrored_copy_is_a_near_duplicate(images: list[Path], tmp_path: Path) -> None:
    from PIL import ImageOps

    from memories.curation import near_duplicates

    source = images[0]
    mirrored = tmp_path / "mirrored.jpg"
    ImageOps.mirror(ImageOps.exif_transpose(Image.open(source)).convert("RGB")).save(mirrored, quality=90)
    a, b, other = fingerprint(source), fingerprint(mirrored), fingerprint(images[1])
    photo = lambda f, i: CandidatePhoto(i, None, 10, 10, phash=f.phash, mirrored_phash=f.mirrored_phash)  # noqa: E731
    assert near_duplicates(photo(b, 2), photo(a, 1), DEFAULT_SETTINGS.duplicate_bits)
    assert not near_duplicates(photo(other, 3), photo(a, 1), DEFAULT_SETTINGS.duplicate_bits)


def test_per_group_caps_photos_per_year() -> None:
    from memories.curation import curate

    photos = [
        CandidatePhoto(i, datetime(2019 + i % 2, 1, 1 + i), 100, 100, moment=i, phash=i * 0x1111111111111)
        for i in range(10)
    ]
    chosen = curate(photos, [], max_photos=10, per_group=("year", 2))
    assert len(chosen.photos) == 4 and {p.time.year for p in chosen.photos if p.time} == {2019, 2020}
