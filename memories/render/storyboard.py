"""The storyboard: which photo is on screen when, cut on the beat, with transitions and cards.

A storyboard is a list of shots whose cut points partition [0, duration]: the title card, the
photos, the end card. A transition is centred on each cut, so the film is exactly `duration` long.
`layers_at(t)` says what is visible at time t (one shot, or two in a transition) with the crop of
each: the render plan the frame function draws and the face test checks.

A photo with a clip (a video's highlight, a Live Photo's motion) is a clip shot: it lasts its
clip's length snapped to the beat grid (CLIP_MIN_S-CLIP_MAX_S; a Live Photo's whole motion), its
crop stands still (the picture moves by itself) and keeps the faces whole with room for them to
move, and it plays its clip at normal speed over all the time it is visible, transitions included
(`clip_time`). At most one shot in CLIP_EVERY_SHOTS is a clip, and a plan with clips gets one;
a clip past that limit is shown as a still, with Ken Burns motion, like a photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from memories.render import kenburns, settings
from memories.render.kenburns import Rect
from memories.render.plan import Clip, PlanPhoto


@dataclass(frozen=True)
class Shot:
    kind: str  # "title" | "photo" | "end"
    cut_in: float  # the cut that starts it (a transition may show it a little earlier)
    cut_out: float
    photo: int | None = None  # index into the plan's photos
    crop_start: Rect | None = None
    crop_end: Rect | None = None
    # A clip shot: the clip's seconds at the shot's first visible frame and where its motion ends
    # (the last frame is held after it); None for a still photo and the cards.
    clip_start: float | None = None
    clip_end: float | None = None

    @property
    def duration(self) -> float:
        return self.cut_out - self.cut_in

    @property
    def is_clip(self) -> bool:
        return self.clip_start is not None


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

    def clip_time(self, index: int, t: float) -> float:
        """Seconds into shot `index`'s clip shown at film time t: normal speed from its first
        visible frame, held at `clip_end`."""
        shot = self.shots[index]
        if shot.clip_start is None or shot.clip_end is None:
            raise ValueError(f"shot {index} is not a clip")
        start, _ = self.visible_span(index)
        return float(np.clip(shot.clip_start + (t - start), shot.clip_start, shot.clip_end))

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


def _snap_cuts(
    ideal: np.ndarray,
    grid: np.ndarray,
    low: float,
    high: float,
    min_gap: float,
    limits: Sequence[tuple[float, float] | None] | None = None,
) -> np.ndarray:
    """Each ideal cut moved to its nearest grid time, unless that breaks the minimum shot length.

    `limits[i]`, when given and not None, is the (shortest, longest) the shot that cut i ends may
    last (a clip): that cut goes to the nearest grid time within min_gap of the ideal that keeps
    the shot inside them, and the cuts before it leave room for its shortest."""
    cuts = ideal.copy()
    previous = low
    if limits is None or all(limit is None for limit in limits):
        reserve = [min_gap * (len(ideal) - i) for i in range(len(ideal))]
        limits = [None] * len(ideal)
    else:  # each later shot's shortest (the end card's: min_gap), summed from the end
        shortest = [min_gap if limit is None else limit[0] for limit in limits] + [min_gap]
        reserve = [float(sum(shortest[i + 1 :])) for i in range(len(ideal))]
    for i, cut in enumerate(ideal):
        following_limit = high - reserve[i]
        limit = limits[i]
        if limit is None:
            candidate = cut
            if grid.size:
                nearest = float(grid[np.argmin(np.abs(grid - cut))])
                if abs(nearest - cut) <= min_gap and previous + min_gap <= nearest <= following_limit:
                    candidate = nearest
            candidate = float(np.clip(candidate, previous + min_gap, max(previous + min_gap, following_limit)))
        else:
            lowest = previous + limit[0]
            highest = max(lowest, min(previous + limit[1], following_limit))
            near = grid[(np.abs(grid - cut) <= min_gap) & (grid >= lowest - 1e-9) & (grid <= highest + 1e-9)]
            if near.size:
                candidate = float(near[np.argmin(np.abs(near - cut))])
            else:
                candidate = float(np.clip(cut, lowest, highest))
        cuts[i] = candidate
        previous = candidate
    return cuts


def clip_seconds(clip: Clip) -> float:
    """How long a clip shot would like to be: its highlight (a Live Photo: its whole motion) within
    CLIP_MIN_S (MIN_SHOT_S for a Live Photo) and CLIP_MAX_S."""
    return float(np.clip(clip.seconds, *_clip_limits(clip)))


def _clip_limits(clip: Clip) -> tuple[float, float]:
    shortest = settings.MIN_SHOT_S if clip.live else max(settings.CLIP_MIN_S, settings.MIN_SHOT_S)
    return shortest, settings.CLIP_MAX_S


def _clip_window(clip: Clip, visible: float) -> tuple[float, float]:
    """(first second, last second) of the clip a shot visible for `visible` seconds plays: centred
    on the highlight, reaching into the rest of the file when the shot is longer, held at the
    end when the file is shorter."""
    centre = (clip.start_s + clip.end_s) / 2
    start = float(np.clip(centre - visible / 2, 0.0, max(0.0, clip.duration_s - visible)))
    return start, min(clip.duration_s, start + visible)


def clip_crop(photo: PlanPhoto, aspect: float, output_width: int) -> Rect:
    """The still crop of a clip shot, in the photo's coordinates: faces whole with CLIP_FACE_SLACK
    of room to move on every side, enlarged at most MAX_UPSCALE in the clip's own pixels."""
    assert photo.clip is not None
    size = (float(photo.width), float(photo.height))

    def grown(box: kenburns.Box) -> kenburns.Box:
        x, y, w, h = box
        pad_x, pad_y = settings.CLIP_FACE_SLACK * w, settings.CLIP_FACE_SLACK * h
        left, top = max(min(x, 0.0), x - pad_x), max(min(y, 0.0), y - pad_y)
        right = min(max(x + w, size[0]), x + w + pad_x)
        bottom = min(max(y + h, size[1]), y + h + pad_y)
        return left, top, right - left, bottom - top

    clip_pixels_per_unit = photo.clip.width / max(photo.width, 1)
    return kenburns.still_crop(
        (photo.width, photo.height),
        [grown(f) for f in photo.faces],
        aspect,
        others=[grown(f) for f in photo.others],
        min_width=output_width / settings.MAX_UPSCALE / clip_pixels_per_unit,
    )


def choose_photos(count: int, photos: Sequence[PlanPhoto], key_photo: int = 0) -> list[int]:
    """`count` indices spread evenly over the (chronological) list, keeping the key photo and,
    when the list has clips, as many clips as `clip_limit` allows: missing ones (spread evenly
    over the clips) replace the nearest picked still that is not the key photo, and clips past
    the limit give way to the nearest still not picked, while there is one."""
    if count >= len(photos):
        return list(range(len(photos)))
    picked = sorted({int(round(x)) for x in np.linspace(0, len(photos) - 1, count)})
    if key_photo not in picked:
        nearest = min(range(len(picked)), key=lambda i: abs(picked[i] - key_photo))
        picked[nearest] = key_photo
        picked.sort()
    clips = [i for i, photo in enumerate(photos) if photo.clip is not None]
    if not clips:
        return picked
    wanted = min(len(clips), clip_limit(count))
    have = [i for i in picked if photos[i].clip is not None]
    if len(have) < wanted:
        missing = [i for i in clips if i not in picked]
        for n in sorted({int(round(x)) for x in np.linspace(0, len(missing) - 1, wanted - len(have))}):
            clip = missing[n]
            stills = [j for j, i in enumerate(picked) if photos[i].clip is None and i != key_photo]
            if not stills:
                break
            picked[min(stills, key=lambda j: abs(picked[j] - clip))] = clip
            picked.sort()
    elif len(have) > wanted:
        keep = set(_spread(have, wanted, key_photo))
        free = [i for i, photo in enumerate(photos) if photo.clip is None and i not in picked]
        for extra in (i for i in have if i not in keep):
            if not free:
                break
            still = min(free, key=lambda i: abs(i - extra))
            free.remove(still)
            picked[picked.index(extra)] = still
        picked.sort()
    return picked


def clip_limit(shots: int) -> int:
    """How many of `shots` photo shots may play a clip: one per CLIP_EVERY_SHOTS, at least one."""
    return max(1, shots // settings.CLIP_EVERY_SHOTS)


def _spread(items: Sequence[int], count: int, key: int) -> list[int]:
    """`count` of `items` spread evenly over them, `key` among them when it is one of the items."""
    if count >= len(items):
        return list(items)
    chosen = [items[int(round(x))] for x in np.linspace(0, len(items) - 1, count)] if count > 0 else []
    if key in items and key not in chosen and chosen:
        chosen[min(range(len(chosen)), key=lambda n: abs(chosen[n] - key))] = key
    return sorted(set(chosen))


def live_limit(shots: int) -> int:
    """How many of `shots` photo shots may play a Live Photo's motion: one per LIVE_EVERY_SHOTS."""
    return max(1, shots // settings.LIVE_EVERY_SHOTS)


def playing_clips(chosen: Sequence[int], photos: Sequence[PlanPhoto], key_photo: int = 0) -> set[int]:
    """Which of the chosen photos play their clip: at most `clip_limit` videos and `live_limit`
    Live Photos, each spread evenly (the rest are shown as stills: a Live Photo's still, a
    video's first frame of its clip)."""
    videos = [i for i in chosen if (clip := photos[i].clip) is not None and not clip.live]
    lives = [i for i in chosen if (clip := photos[i].clip) is not None and clip.live]
    return set(_spread(videos, clip_limit(len(chosen)), key_photo)) | set(
        _spread(lives, live_limit(len(chosen)), key_photo)
    )


def _shots_and_lengths(
    photos: Sequence[PlanPhoto], photo_time: float, shot_seconds: float, max_shots: int, key_photo: int
) -> tuple[list[int], np.ndarray, set[int]]:
    """The photos on screen, each one's share of `photo_time` (relative weights) and those that
    play their clip.

    Without clips: round(photo_time / shot_seconds) photos of equal length (as ever). With clips,
    a clip lasts `clip_seconds` and the stills share the rest: the count is the one (within three
    of that) whose stills come closest to the mood's shot length."""
    base = int(np.clip(round(photo_time / shot_seconds), 1, min(len(photos), max_shots)))
    if not any(photo.clip is not None for photo in photos):
        chosen = choose_photos(base, photos, key_photo)
        return chosen, np.ones(len(chosen)), set()
    best: tuple[float, list[int], np.ndarray, set[int]] | None = None
    for count in range(max(1, base - 3), min(len(photos), max_shots, base + 3) + 1):
        chosen = choose_photos(count, photos, key_photo)
        playing = playing_clips(chosen, photos, key_photo)
        clips = [photos[i].clip if i in playing else None for i in chosen]
        stills = sum(1 for clip in clips if clip is None)
        clip_time = sum(clip_seconds(clip) for clip in clips if clip is not None)
        share = (photo_time - clip_time) / stills if stills else 0.0
        if share >= settings.MIN_SHOT_S:
            lengths = np.array([share if clip is None else clip_seconds(clip) for clip in clips])
            error = abs(share - shot_seconds) + 1e-3 * abs(count - base)
        else:  # too little time for the clips' own lengths: every shot shrinks in proportion
            lengths = np.array([shot_seconds if clip is None else clip_seconds(clip) for clip in clips])
            error = 1e6 + abs(float(lengths.sum()) - photo_time)
            lengths *= photo_time / lengths.sum()
        if best is None or error < best[0]:
            best = (error, chosen, lengths, playing)
    assert best is not None
    return best[1], best[2], best[3]


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
    shot_s = style.shot_seconds
    chosen, weights, playing = _shots_and_lengths(photos, photo_time, shot_s, max_shots, key_photo)
    grid = snap_grid(beats, style.shot_seconds)
    # Cut points: title|photo, photo|photo..., photo|end; the film's two ends stay fixed.
    # (Equal weights give exactly the cuts of photo_time * k / count, as before there were clips.)
    inner = title_end + photo_time * np.cumsum(weights)[:-1] / weights.sum()
    ideal = np.concatenate([[title_end], inner, [end_start]])
    # The shot cut i ends is the title card (i = 0) or photo i - 1.
    limits = [None] + [
        _clip_limits(c) if (c := photos[index].clip) is not None and index in playing else None
        for index in chosen
    ]
    cuts = _snap_cuts(ideal, grid, 0.0, duration, settings.MIN_SHOT_S, limits)
    bounds = np.concatenate([[0.0], cuts, [duration]])

    shots = [Shot("title", 0.0, float(bounds[1]))]
    for n, index in enumerate(chosen):
        photo = photos[index]
        drift = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        if photo.clip is not None and index in playing:
            still = clip_crop(photo, aspect, output_width)
            shots.append(Shot("photo", float(bounds[n + 1]), float(bounds[n + 2]), index, still, still))
            continue
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
    board = Storyboard(tuple(shots), tuple(transitions), duration, aspect)
    for i, shot in enumerate(shots):  # a clip plays over all the time it is visible
        clip = photos[shot.photo].clip if shot.photo in playing else None
        if clip is not None:
            shown_from, shown_to = board.visible_span(i)
            clip_start, clip_end = _clip_window(clip, shown_to - shown_from)
            shots[i] = replace(shot, clip_start=clip_start, clip_end=clip_end)
    return Storyboard(tuple(shots), tuple(transitions), duration, aspect)
