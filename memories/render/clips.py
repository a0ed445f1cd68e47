"""A clip shot's pictures: the frames of a video's highlight or a Live Photo's motion, decoded as
the film reaches them.

The encoder asks for the film's frames in order, so each clip is streamed: one PyAV decoder per
clip shot, opened at the shot's first frame, advanced to the frame nearest each film time, closed
when the shot is over. Only the current and the next frame are held (a 5 s 1080p clip decoded
whole would be ~900 MB). Frames are decoded upright (the rotation tag applied) and scaled by
FFmpeg's scaler to the size the shot's crop needs; the caller warps the crop to the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from memories import videos
from memories.photos import PhotoError
from memories.render import settings
from memories.render.kenburns import Rect
from memories.render.plan import Clip, RenderError


def probe(path: Path) -> videos.VideoInfo:
    try:
        return videos.probe(path)
    except PhotoError as error:
        raise RenderError(f"cannot read clip {path}: {error}") from error


def decode_side(
    clip: Clip, info: videos.VideoInfo, plan_width: int, crop: Rect, output_width: int
) -> int | None:
    """Longest side to decode the clip at: the crop then spans CLIP_WORKING_SCALE x the output's
    width in clip pixels (None: the clip's own size, never enlarged by the decoder)."""
    crop_in_clip = crop.w * info.width / max(plan_width, 1)  # the crop's width in displayed clip pixels
    factor = settings.CLIP_WORKING_SCALE * output_width / max(crop_in_clip, 1.0)
    if factor >= 1.0:
        return None
    return max(16, int(round(max(info.width, info.height) * factor)))


class ClipFrames:
    """Frames of one clip between `first_s` and `last_s` (its seconds), each asked for by time:
    `at(s)` is the frame nearest s (the last one for any s past `last_s`). Asking for an earlier
    time than the last one reopens the file (moviepy reads frame 0 once before encoding)."""

    def __init__(
        self, clip: Clip, info: videos.VideoInfo, first_s: float, last_s: float, longest_side: int | None
    ):
        self.clip = clip
        self.info = info
        self.first_s = first_s
        self.last_s = max(first_s, last_s)
        self.longest_side = longest_side
        self._frames: Iterator[tuple[float, np.ndarray]] | None = None
        self._current: tuple[float, np.ndarray] | None = None
        self._upcoming: tuple[float, np.ndarray] | None = None
        self._at_first = False  # the current frame is the first of the window: nothing is earlier

    def _next(self) -> tuple[float, np.ndarray] | None:
        assert self._frames is not None
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except PhotoError as error:
            raise RenderError(f"cannot decode clip {self.clip.path}: {error}") from error

    def _open(self) -> None:
        self.close()
        # A frame's worth past the end: the frame shown at last_s is the one nearest it.
        period = 1.0 / self.info.frame_rate if self.info.frame_rate > 0 else 0.04
        self._frames = videos.frames(
            self.clip.path, self.info, self.first_s, self.last_s + period, self.longest_side
        )
        self._current = self._next()
        if self._current is None:  # the window starts past the last frame (rounded durations)
            try:
                still = videos.poster_frame(self.clip.path, self.info, self.first_s, self.longest_side)
            except PhotoError as error:
                raise RenderError(f"cannot decode clip {self.clip.path}: {error}") from error
            self._current = (self.first_s, still)
        self._upcoming = self._next()
        self._at_first = True

    def at(self, seconds: float) -> np.ndarray:
        target = float(np.clip(seconds, self.first_s, self.last_s))
        if self._current is None or (target < self._current[0] - 1e-6 and not self._at_first):
            self._open()
        assert self._current is not None
        while self._upcoming is not None and self._upcoming[0] - target <= target - self._current[0]:
            self._current, self._upcoming = self._upcoming, self._next()
            self._at_first = False
        return self._current[1]

    def close(self) -> None:
        if self._frames is not None:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()  # the generator's `with` closes the container
        self._frames = None
        self._current = self._upcoming = None
