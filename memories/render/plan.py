"""What the renderer is asked to make: plain records, filled by the app from the graph and a theme."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from memories.render import settings

Box = tuple[float, float, float, float]  # x, y, width, height in oriented image pixels


@dataclass(frozen=True)
class Clip:
    """The moving part of a shot: a video's highlight or a Live Photo's motion.

    Times are seconds from the movie file's first video frame (as `memories.videos.frames` counts
    them). The shot plays from about `start_s` on, at normal speed, for as long as it is on screen:
    past `end_s` while the file has more (a shot snapped a little longer than the highlight), then
    holding the last frame. `width` and `height` are the movie's as displayed (after its rotation
    tag); the shot's face boxes stay in the PlanPhoto's coordinates and are scaled to them."""

    path: Path
    start_s: float
    end_s: float
    duration_s: float  # the whole file
    width: int
    height: int
    has_audio: bool = False
    live: bool = False  # a Live Photo's motion (played whole), else a video's highlight

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_s < self.end_s:
            raise ValueError(f"a clip needs 0 <= start < end, got {self.start_s}..{self.end_s}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"a clip needs a frame size, got {self.width}x{self.height}")

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class PlanPhoto:
    """One photo of a memory: where it is, how big it is (after EXIF orientation), the boxes of
    the faces the shot centres on and those of the other faces in it (kept whole or left out).

    With a `clip` the shot moves: for a video, `path` is the movie file and width/height its
    displayed size; for a Live Photo, `path` is the still (the poster and cards use it) and the
    clip is its motion file."""

    path: Path
    width: int
    height: int
    faces: tuple[Box, ...] = ()
    time: datetime | None = None
    asset_id: str | int | None = None
    others: tuple[Box, ...] = ()  # everyone else's faces: shown whole or not at all, never cut
    clip: Clip | None = None

    @property
    def is_video(self) -> bool:
        """`path` is a movie file (its still is a frame of the clip)."""
        return self.clip is not None and not self.clip.live


@dataclass(frozen=True)
class MemoryPlan:
    """A memory to render. `photos` are in screen order (chronological after curation)."""

    title: str
    photos: tuple[PlanPhoto, ...]
    subtitle: str = ""
    people: tuple[str, ...] = ()
    mood: str = settings.DEFAULT_MOOD
    length: str = settings.DEFAULT_LENGTH
    reason: str = ""
    theme: str = ""
    key_photo: int = 0  # index into photos: the poster and the cards' background
    end_text: str = ""  # the end card's small line; the subtitle (else the title) when empty
    seconds: float | None = None  # overrides the nominal length (previews, tests)

    def __post_init__(self) -> None:
        if not self.photos:
            raise ValueError("a memory needs at least one photo")
        if self.mood not in settings.MOODS:
            raise ValueError(f"unknown mood {self.mood!r}; choose one of {', '.join(settings.MOODS)}")
        if self.length not in settings.LENGTH_SECONDS:
            raise ValueError(
                f"unknown length {self.length!r}; choose one of {', '.join(settings.LENGTH_SECONDS)}"
            )
        if self.seconds is not None and self.seconds < settings.MIN_MEMORY_S:
            raise ValueError(f"a memory needs at least {settings.MIN_MEMORY_S:.0f} s, got {self.seconds}")
        if not 0 <= self.key_photo < len(self.photos):
            raise ValueError(f"key_photo {self.key_photo} is not an index into {len(self.photos)} photos")

    @property
    def duration(self) -> float:
        return self.seconds if self.seconds is not None else settings.LENGTH_SECONDS[self.length]


class RenderError(Exception):
    """A memory that cannot be rendered (an unreadable photo or music file); str() says why."""


@dataclass
class RenderResult:
    video: Path
    poster: Path
    sidecar: Path
    duration: float  # seconds, as encoded
    size: tuple[int, int]
    render_seconds: float
    music: str  # "synth:<mood>:<seed>" or the user file's path
    beats: int
    shots: int
    warnings: list[str] = field(default_factory=list)
    clips: int = 0  # shots that play a clip
