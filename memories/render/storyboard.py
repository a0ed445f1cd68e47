"""The storyboard: which photo is on screen when, cut on the beat, with transitions and cards.

A storyboard is a list of shots whose cut points partition [0, duration]: the title card, the
photos, the end card. A transition is centred on each cut, so the film is exactly `duration` long.
`layers_at(t)` says what is visible at time t (one shot, or two in a transition) with the crop of
each: the render plan the frame function draws and the face test checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memories.render import kenburns, settings
from memories.render.kenburns import Rect
from memories.render.plan import PlanPhoto


@dataclass(frozen=True)
class Shot:
    kind: str  # "title" | "photo" | "end"
    cut_in: float  # the cut that starts it (a transition may show it a little earlier)
    cut_out: float
    photo: int | None = None  # index into the plan's photos
    crop_start: Rect | None = None
    crop_end: Rect | None = None

    @property
    def duration(self) -> float:
        return self.cut_out - self.cut_in


@dataclass(frozen=True)
class Transition:
    at: float  # the cut it is centred on
    seconds: float
    kind: str  # "crossfade" | "push" | "slide" | "zoom"

    @property
    def start(self) -> float:
        return self.at - self.seconds / 2

    @property
    def end(self) -> float:
        return self.at + self.seconds / 2


@dataclass(frozen=True)
class Layer:
    shot: int
    crop: Rect | None  # None for cards
    shot_progress: float  # 0..1 over the time the shot is visible


@dataclass(frozen=True)
class Storyboard:
    shots: tuple[Shot, ...]
    transitions: tuple[Transition, ...]  # transitions[i] joins shots[i] and shots[i + 1]
    duration: float
    aspect: float

    def visible_span(self, index: int) -> tuple[float, float]:
        start = self.transitions[index - 1].start if index > 0 else 0.0
        end = self.transitions[index].end if index < len(self.transitions) else self.duration
        return start, end

    def layer(self, index: int, t: float) -> Layer:
        shot = self.shots[index]
        start, end = self.visible_span(index)
        u = (t - start) / max(end - start, 1e-9)
        crop = None
        if shot.crop_start is not None and shot.crop_end is not None:
            crop = kenburns.interpolate(shot.crop_start, shot.crop_end, u)
        return Layer(index, crop, float(np.clip(u, 0.0, 1.0)))

    def layers_at(self, t: float) -> tuple[Layer, Layer | None, Transition | None, float]:
        """(outgoing or only layer, incoming layer, transition, transition progress 0..1)."""
        t = float(np.clip(t, 0.0, self.duration))
        for i, transition in enumerate(self.transitions):
            if transition.start <= t < transition.end:
                progress = (t - transition.start) / transition.seconds
                return self.layer(i, t), self.layer(i + 1, t), transition, progress
        cuts = [shot.cut_out for shot in self.shots]
        index = min(int(np.searchsorted(cuts, t, side="right")), len(self.shots) - 1)
        return self.layer(index, t), None, None, 0.0


def snap_grid(beats: Sequence[float] | np.ndarray, shot_seconds: float) -> np.ndarray:
    """Every 4th, 2nd or single beat: the coarsest grid with spacing <= SNAP_GRID_FRACTION of a shot."""
    beat_times = np.asarray(beats, dtype=np.float64)
    if beat_times.size < 2:
        return beat_times
    period = float(np.median(np.diff(beat_times)))
    for every in (4, 2, 1):
        if every * period <= settings.SNAP_GRID_FRACTION * shot_seconds or every == 1:
            return beat_times[::every]
    return beat_times


def _snap_cuts(ideal: np.ndarray, grid: np.ndarray, low: float, high: float, min_gap: float) -> np.ndarray:
    """Each ideal cut moved to its nearest grid time, unless that breaks the minimum shot length."""
    cuts = ideal.copy()
    previous = low
    for i, cut in enumerate(ideal):
        following_limit = high - min_gap * (len(ideal) - i)
        candidate = cut
        if grid.size:
            nearest = float(grid[np.argmin(np.abs(grid - cut))])
            if abs(nearest - cut) <= min_gap and previous + min_gap <= nearest <= following_limit:
                candidate = nearest
        candidate = float(np.clip(candidate, previous + min_gap, max(previous + min_gap, following_limit)))
        cuts[i] = candidate
        previous = candidate
    return cuts


def choose_photos(count: int, photos: Sequence[PlanPhoto], key_photo: int = 0) -> list[int]:
    """`count` indices spread evenly over the (chronological) list, keeping the key photo."""
    if count >= len(photos):
        return list(range(len(photos)))
    picked = sorted({int(round(x)) for x in np.linspace(0, len(photos) - 1, count)})
    if key_photo not in picked:
        nearest = min(range(len(picked)), key=lambda i: abs(picked[i] - key_photo))
        picked[nearest] = key_photo
        picked.sort()
    return picked


def build(
    photos: Sequence[PlanPhoto],
    duration: float,
    mood: str,
    beats: Sequence[float] | np.ndarray,
    aspect: float,
    seed: int = 0,
    key_photo: int = 0,
    output_width: int = settings.DEFAULT_SIZE[0],
) -> Storyboard:
    """Cards at both ends, photos cut on the beat between them, a transition on every cut."""
    style = settings.MOODS[mood]
    rng = np.random.default_rng(seed)
    cards = settings.TITLE_CARD_S + settings.END_CARD_S
    card_scale = min(1.0, settings.CARD_SHARE_MAX * duration / cards)
    title_end = settings.TITLE_CARD_S * card_scale
    end_start = duration - settings.END_CARD_S * card_scale
    photo_time = end_start - title_end
    if photo_time < settings.MIN_SHOT_S:
        raise ValueError(f"{duration:.0f} s is too short for a title card, an end card and a photo")
    max_shots = max(1, int(photo_time // settings.MIN_SHOT_S))
    count = int(np.clip(round(photo_time / style.shot_seconds), 1, min(len(photos), max_shots)))
    chosen = choose_photos(count, photos, key_photo)
    count = len(chosen)
    grid = snap_grid(beats, style.shot_seconds)
    # Cut points: title|photo, photo|photo..., photo|end; the film's two ends stay fixed.
    ideal = np.concatenate([[title_end], title_end + photo_time * np.arange(1, count) / count, [end_start]])
    cuts = _snap_cuts(ideal, grid, 0.0, duration, settings.MIN_SHOT_S)
    bounds = np.concatenate([[0.0], cuts, [duration]])

    shots = [Shot("title", 0.0, float(bounds[1]))]
    for n, index in enumerate(chosen):
        photo = photos[index]
        drift = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        start, end = kenburns.motion(
            (photo.width, photo.height),
            photo.faces,
            aspect,
            style.zoom,
            zoom_in=(n % 2 == 0),
            drift=drift,
            others=photo.others,
            min_width=output_width / settings.MAX_UPSCALE,
        )
        shots.append(Shot("photo", float(bounds[n + 1]), float(bounds[n + 2]), index, start, end))
    shots.append(Shot("end", float(bounds[-2]), duration))

    transitions = []
    last = len(shots) - 2
    for i in range(len(shots) - 1):
        kind = (
            "crossfade"
            if i in (0, last)
            else str(style.transitions[int(rng.integers(len(style.transitions)))])
        )
        limit = settings.MAX_TRANSITION_FRACTION * min(shots[i].duration, shots[i + 1].duration)
        transitions.append(Transition(shots[i].cut_out, min(style.transition_seconds, limit), kind))
    return Storyboard(tuple(shots), tuple(transitions), duration, aspect)
