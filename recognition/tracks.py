"""Face tracks: a video's per-frame faces linked into one record per person seen.

Pure functions over what the one recognition call (`FaceAnalyzer.observe_photo`) returns for each
sampled frame. Linking is frame to frame, by box overlap and embedding distance together (a
Hungarian assignment on their combined cost); then tracks of the same person broken by a cut, a
turn of the head or a gap are joined by their mean embeddings, but never two tracks seen in the
same frame (two faces at once are two people). Each track keeps the embeddings of its best-quality
frames: that summary is what clusters and is assigned like a photo's face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from recognition.boxes import box_iou
from recognition.embeddings import unit_rows
from recognition.face_pipeline import FaceReading


@dataclass(frozen=True)
class TrackSettings:
    # A face continues a track when its box overlaps the track's last box by at least min_iou and
    # its embedding is within link_distance of that face's. Sampled 0.5-1 s apart a talking head
    # moves a little (IoU 0.6-0.9 on the HDTF clips); a walking person less than half a box.
    min_iou: float = 0.2
    # The same face one sample later: 0.05-0.25 apart on the HDTF clips; dlib's same-person 95th
    # percentile is 0.39 (recognition.cluster_settings), so 0.40 links through a turn of the head.
    link_distance: float = 0.40
    # A track not seen for longer than this ends (the person left the frame or the scene cut).
    max_gap_s: float = 2.0
    # Tracks of one video are one person when their mean embeddings are within merge_distance and
    # they never share a frame. On the Hamilton clip Lin-Manuel Miranda's three shots are 0.19,
    # 0.28 and 0.29 apart, while his small stage face and the pianist are 0.36 and 0.38 from
    # President Obama in the audience: 0.38 (pass 2's threshold) joined Obama with the pianist.
    # 0.30 is pass 2's threshold for founding a person from lone faces; tracks left apart here are
    # still clustered like any two faces (they are not kept apart as two faces of a photo are:
    # memories.clustering.frame_groups).
    merge_distance: float = 0.30
    # A track counts as clear only when it is clear in at least this many sampled frames: a real
    # face stays on screen, the detector's false faces (an earring, a curl of hair, both scored
    # clear on the HDTF and Hamilton clips) flicker for one sample.
    min_clear_samples: int = 2
    # Per track, the embeddings of its best frames by quality make its summary.
    best_frames: int = 5


TRACKS = TrackSettings()


@dataclass(frozen=True)
class SeenFace:
    """One face in one sampled frame."""

    sample: int  # index of the sampled frame
    time_s: float
    face: FaceReading


@dataclass(frozen=True)
class FaceTrack:
    """One person across a video: what clusters is `embedding`, what is shown is `best`."""

    faces: tuple[SeenFace, ...]  # in time order
    best: SeenFace  # the frame shown for this track: highest quality
    embedding: np.ndarray  # L2-normalised mean of the best frames' embeddings
    quality: float  # the best frame's
    is_clear: bool  # clear in at least TrackSettings.min_clear_samples of its frames

    @property
    def first_s(self) -> float:
        return self.faces[0].time_s

    @property
    def last_s(self) -> float:
        return self.faces[-1].time_s

    @property
    def samples(self) -> frozenset[int]:
        return frozenset(f.sample for f in self.faces)


def link(samples: Sequence[tuple[float, Sequence[FaceReading]]], cfg: TrackSettings = TRACKS) -> list[list[SeenFace]]:
    """Faces of consecutive samples linked into tracks (each a list in time order)."""
    finished: list[list[SeenFace]] = []
    active: list[list[SeenFace]] = []
    for index, (time_s, faces) in enumerate(samples):
        still = [t for t in active if time_s - t[-1].time_s <= cfg.max_gap_s]
        finished += [t for t in active if time_s - t[-1].time_s > cfg.max_gap_s]
        active = still
        seen = [SeenFace(index, time_s, face) for face in faces]
        matched: set[int] = set()
        if active and seen:
            last_boxes = np.array([t[-1].face.box for t in active], np.float64)
            boxes = np.array([s.face.box for s in seen], np.float64)
            overlap = box_iou(last_boxes, boxes)
            distance = np.linalg.norm(
                np.stack([t[-1].face.embedding for t in active])[:, None, :]
                - np.stack([s.face.embedding for s in seen])[None, :, :],
                axis=2,
            )
            allowed = (overlap >= cfg.min_iou) & (distance <= cfg.link_distance)
            cost = np.where(allowed, distance - overlap, 1e6)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if allowed[r, c]:
                    active[r].append(seen[c])
                    matched.add(c)
        active += [[s] for i, s in enumerate(seen) if i not in matched]
    return finished + active


def summarise(faces: Sequence[SeenFace], cfg: TrackSettings = TRACKS) -> FaceTrack:
    ordered = tuple(sorted(faces, key=lambda f: f.time_s))
    by_quality = sorted(ordered, key=lambda f: (f.face.is_clear, f.face.quality), reverse=True)
    top = by_quality[: cfg.best_frames]
    clear_top = [f for f in top if f.face.is_clear] or top
    embedding = unit_rows(np.mean([f.face.embedding for f in clear_top], axis=0))
    return FaceTrack(
        faces=ordered,
        best=by_quality[0],
        embedding=embedding.astype(np.float32),
        quality=float(by_quality[0].face.quality),
        is_clear=sum(f.face.is_clear for f in ordered) >= cfg.min_clear_samples,
    )


def join(tracks: Sequence[FaceTrack], cfg: TrackSettings = TRACKS) -> list[FaceTrack]:
    """Tracks of one person joined: closest pair first, while their mean embeddings are within
    merge_distance, they share no frame and both are clear (an unclear track stays apart: it
    never becomes a person, so it cannot split one)."""
    groups = [list(t.faces) for t in tracks]
    summaries = list(tracks)
    while len(summaries) > 1:
        best: tuple[float, int, int] | None = None
        for i in range(len(summaries)):
            for j in range(i + 1, len(summaries)):
                if summaries[i].samples & summaries[j].samples:
                    continue
                if not (summaries[i].is_clear and summaries[j].is_clear):
                    continue  # an unclear track's embedding says nothing of who it is
                d = float(np.linalg.norm(summaries[i].embedding - summaries[j].embedding))
                if d <= cfg.merge_distance and (best is None or d < best[0]):
                    best = (d, i, j)
        if best is None:
            break
        _, i, j = best
        groups[i] += groups[j]
        summaries[i] = summarise(groups[i], cfg)
        del groups[j], summaries[j]
    return sorted(summaries, key=lambda t: t.first_s)


def track_faces(
    samples: Sequence[tuple[float, Sequence[FaceReading]]], cfg: TrackSettings = TRACKS
) -> list[FaceTrack]:
    """A video's people: its sampled frames' faces linked, summarised and joined."""
    return join([summarise(t, cfg) for t in link(samples, cfg)], cfg)
