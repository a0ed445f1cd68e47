"""What the renderer is asked to make: plain records, filled by the app from the graph and a theme."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from memories.render import settings

Box = tuple[float, float, float, float]  # x, y, width, height in oriented image pixels


@dataclass(frozen=True)
class PlanPhoto:
    """One photo of a memory: where it is, how big it is (after EXIF orientation), the boxes of
    the faces the shot centres on and those of the other faces in it (kept whole or left out)."""

    path: Path
    width: int
    height: int
    faces: tuple[Box, ...] = ()
    time: datetime | None = None
    asset_id: str | int | None = None
    others: tuple[Box, ...] = ()  # everyone else's faces: shown whole or not at all, never cut


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
