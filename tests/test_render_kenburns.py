"""Face-aware Ken Burns: no frame of a whole render plan ever crops a featured face out."""

from __future__ import annotations

import zlib
from pathlib import Path

import dlib
import numpy as np
import pytest

from memories.render import kenburns, settings, storyboard
from memories.render.plan import PlanPhoto
from memories.render.soundtrack import MOOD_MUSIC

SIZES = [(1280, 720), (1080, 1920), (1920, 1080)]


def _random_photos(rng: np.random.Generator, count: int) -> list[PlanPhoto]:
    """Landscape, portrait, panorama and square photos with 0-4 faces anywhere, of any size, up to
    faces spread edge to edge (wider than any crop of the output's aspect can hold)."""
    photos = []
    for n in range(count):
        width, height = (
            int(v)
            for v in rng.choice(
                [(4032, 3024), (3024, 4032), (6000, 1500), (2000, 2000), (640, 480), (1080, 1920)]
            )
        )
        faces = []
        for _ in range(int(rng.integers(0, 5))):
            side = float(rng.uniform(0.03, 0.5)) * min(width, height)
            x = float(rng.uniform(0, width - side))
            y = float(rng.uniform(0, height - side))
            faces.append(
                (x, y, side, side * float(rng.uniform(1.0, 1.3)) if y + side * 1.3 < height else side)
            )
        photos.append(PlanPhoto(Path(f"photo{n}.jpg"), width, height, tuple(faces)))
    return photos


def _check_every_frame(board: storyboard.Storyboard, photos: list[PlanPhoto], size: tuple[int, int]) -> int:
    aspect = size[0] / size[1]
    checked = 0
    for frame in range(int(round(board.duration * settings.FPS))):
        t = frame / settings.FPS
        outgoing, incoming, _, _ = board.layers_at(t)
        for layer in (outgoing, incoming):
            if layer is None:
                continue
            shot = board.shots[layer.shot]
            if shot.kind != "photo":
                assert layer.crop is None
                continue
            assert layer.crop is not None and shot.photo is not None
            assert layer.crop.w / layer.crop.h == pytest.approx(aspect, rel=1e-6)
            for face in photos[shot.photo].faces:
                assert layer.crop.contains(face), (t, shot.photo, face, layer.crop)
                checked += 1
    return checked


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mood", sorted(settings.MOODS))
def test_every_frame_of_a_render_plan_contains_every_featured_face(size: tuple[int, int], mood: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{size}{mood}".encode()))  # stable across runs
    photos = _random_photos(rng, 40)
    beats = np.arange(0.0, 60.0, 60.0 / MOOD_MUSIC[mood].bpm)
    board = storyboard.build(photos, 60.0, mood, beats, size[0] / size[1], seed=3)
    assert _check_every_frame(board, photos, size) > 0


@pytest.mark.slow
def test_faces_detected_on_real_photos_stay_in_frame(shared_data: Path) -> None:
    detector = dlib.get_frontal_face_detector()
    from memories.render.images import load_oriented

    photos = []
    for path in sorted((shared_data / "deepface" / "images").glob("*.jpg"))[:8]:
        image = load_oriented(path)
        faces = tuple((r.left(), r.top(), r.width(), r.height()) for r in detector(np.asarray(image), 0))
        photos.append(PlanPhoto(path, image.width, image.height, faces))
    assert sum(len(p.faces) for p in photos) >= 6
    for size in SIZES:
        board = storyboard.build(photos, 30.0, "epic", np.arange(0, 30, 0.6), size[0] / size[1])
        assert _check_every_frame(board, photos, size) > 0


def test_crops_stay_inside_the_photo_when_the_faces_allow() -> None:
    start, end = kenburns.motion((4000, 3000), [(1800, 1000, 300, 300)], 16 / 9, zoom=0.2, zoom_in=True)
    for rect in (start, end):
        assert rect.x >= 0 and rect.y >= 0 and rect.right <= 4000 and rect.bottom <= 3000
    assert end.w < start.w  # zooms in
    assert end.contains((1800 - 50, 1000 - 50, 400, 400))  # with a margin around the face


def test_faces_wider_than_the_frame_widen_the_crop_instead_of_cutting() -> None:
    faces = [(10, 800, 300, 300), (3700, 800, 290, 300)]  # both ends of a landscape photo
    start, end = kenburns.motion((4000, 3000), faces, 9 / 16, zoom=0.2, zoom_in=True)
    for rect in (start, end):
        assert all(rect.contains(face) for face in faces)
        assert rect.w > 3000 * 9 / 16  # wider than the tallest in-photo crop: letterboxed


def test_storyboard_hits_the_nominal_length_and_cuts_on_beats() -> None:
    photos = _random_photos(np.random.default_rng(1), 30)
    for length, seconds in settings.LENGTH_SECONDS.items():
        bpm = MOOD_MUSIC["happy"].bpm
        beats = np.arange(0.0, seconds, 60.0 / bpm)
        board = storyboard.build(photos, seconds, "happy", beats, 16 / 9)
        assert board.duration == seconds, length
        assert board.shots[0].kind == "title" and board.shots[-1].kind == "end"
        assert board.shots[-1].cut_out == seconds
        cuts = np.array([shot.cut_out for shot in board.shots[:-1]])
        on_beat = np.min(np.abs(cuts[:, None] - beats[None, :]), axis=1) < 1e-6
        assert on_beat.mean() >= 0.9, (length, cuts)
        assert all(shot.duration >= settings.MIN_SHOT_S - 1e-9 for shot in board.shots)
        # Transitions never overlap one another.
        for a, b in zip(board.transitions, board.transitions[1:], strict=False):
            assert a.end <= b.start + 1e-9


def test_heads_keep_their_hair_and_other_faces_are_whole_or_out() -> None:
    """A portrait into 16:9: the crop holds the head above the detector box (hair), and a
    bystander's face at the edge is never sliced by any crop along the shot."""
    face = (700, 500, 600, 600)  # detector box: brows to chin
    bystander = (1600, 900, 300, 300)
    for zoom_in in (True, False):
        start, end = kenburns.motion((2000, 3000), [face], 16 / 9, zoom=0.2, zoom_in=zoom_in, others=[bystander])
        head = kenburns.head_box(face, (2000, 3000))
        assert head[1] < face[1] - 0.5 * face[3]
        for u in np.linspace(0, 1, 21):
            crop = kenburns.interpolate(start, end, float(u))
            assert crop.contains(head)
            assert not kenburns.cut_faces(crop, [bystander], 0.0)


def test_every_shot_moves_and_small_photos_are_not_blown_up() -> None:
    """Start and end differ by at least MIN_MOTION even when the face fills the photo, and no crop
    is narrower than output width / MAX_UPSCALE photo pixels (the rest is the blurred backdrop)."""
    cases = [((600, 800), [(20, 30, 560, 700)]), ((400, 300), []), ((4000, 3000), [(1800, 1000, 300, 300)])]
    for image_size, faces in cases:
        for zoom_in in (True, False):
            start, end = kenburns.motion(image_size, faces, 16 / 9, 0.1, zoom_in, min_width=1280 / settings.MAX_UPSCALE)
            wide, tight = max(start.w, end.w), min(start.w, end.w)
            assert wide / tight >= settings.MIN_MOTION - 1e-9, image_size
            assert 1280 / tight <= settings.MAX_UPSCALE + 1e-9, image_size


def test_cut_faces_counts_partly_inside_only() -> None:
    crop = kenburns.Rect(0, 0, 100, 100)
    inside, outside, sliced = (10, 10, 20, 20), (200, 10, 20, 20), (90, 10, 20, 20)
    assert kenburns.cut_faces(crop, [inside, outside, sliced]) == [2]
