"""Named settings of the app layer, each with how its value was chosen.

Recognition thresholds live in `recognition/settings.py`, graph thresholds in `graph/settings.py`;
this module holds what the app itself decides: where the library lives, ingest limits, moments.
"""

from __future__ import annotations

import os
from pathlib import Path

# --- the library -----------------------------------------------------------------------------
LIBRARY_ENV = "MEMORIES_LIBRARY"
# XDG-style default so a user who never passes --library still gets one stable place.
DEFAULT_LIBRARY = Path(os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share"))) / "memories"
DATABASE_NAME = "library.sqlite3"

# --- ingest ----------------------------------------------------------------------------------
# GIF is indexed by its first frame; BMP as it is.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif", ".bmp"}
)
# Pillow's own bomb guard trips at ~179 Mpx; we refuse earlier: no phone or DSLR photo is over
# 120 Mpx, and a 30000x30000 PNG (900 Mpx) must be rejected before any pixel is decoded.
MAX_IMAGE_PIXELS = 120_000_000
# A PNG text chunk (tEXt, zTXt, iTXt: comments, XMP) larger than this is refused before decoding;
# Pillow's own cap on one chunk is the same 1 MB, but it applies it after reading the chunk whole.
MAX_PNG_TEXT_CHUNK_BYTES = 1 << 20
# Photos are decoded for recognition at the smallest JPEG scale that keeps this longest side: a
# 4032 x 3024 photo at 2016 x 1512 (0.09 s instead of 0.27 s here). There a 40 px face of the
# original is 20 px, which the detector still finds (recognition.settings DetectionSettings
# mtcnn_min_face_px), and any face large enough to be recognised keeps 75+ px for its 150 px chip.
DECODE_LONGEST_SIDE = 2000
# Assets are committed in batches so that a killed run loses at most one batch of work while
# a full run does not pay one fsync per photo (WAL makes each commit cheap; 64 measured fine).
COMMIT_BATCH = 64
THUMBNAIL_SIZE = 320

# --- moments ---------------------------------------------------------------------------------
# A new moment starts when the gap to the previous photo exceeds MOMENT_MAX_GAP_S, or when the
# camera jumped more than MOMENT_MAX_JUMP_KM between consecutive geotagged photos, and a moment
# never spans more than MOMENT_MAX_SPAN_S. Apple's Photos groups by "a few hours" and place;
# on the samples a 3 h gap separates every made-up outing while keeping a party together.
MOMENT_MAX_GAP_S = 3 * 3600.0
MOMENT_MAX_JUMP_KM = 25.0
MOMENT_MAX_SPAN_S = 24 * 3600.0

# --- memories --------------------------------------------------------------------------------
THEMES_ENV = "MEMORIES_THEMES"  # a folder of user theme files (default: <library>/themes)
# Photos a memory may show, by length: ~2.5 s a photo (the storyboard's pace for the livelier
# moods) after the title and end cards; calmer moods show them longer and fewer.
PHOTOS_PER_LENGTH = {"short": 10, "medium": 20, "long": 30}
# A memory with too few photos for its length at its mood's pace is shortened rather than slowed:
# shots may run at most this much longer than the mood's shot length (the reviewer found "long"
# holding the same 17 photos 4-5 s each; 1.25 keeps an uplifting shot under 3.5 s).
MAX_SHOT_STRETCH = 1.25

# --- people ----------------------------------------------------------------------------------
# A face's confidence falls to 0 at this distance from its person's mean face (unit-length dlib
# embeddings). Measured on the clustered samples: members sit 0.09-0.15 from their person's mean,
# the few wrong or doubtful members 0.25-0.35 (dlib's own same-person pair rule is 0.6). At 0.5
# typical members score 0.7-0.8 and doubtful ones fall under the album's review line (0.5).
CONFIDENCE_ZERO_DISTANCE = 0.5
# A person seen without a face (memories.faceless) takes the person of the same moment whose
# clothes are nearest, by RMS body distance as in pass 1, only under pass 1's own strict body
# threshold (recognition.cluster_settings.Pass1Settings.body_threshold) and only when the next
# person is FACELESS_MARGIN farther: two people in look-alike clothes are left for the user.
FACELESS_MARGIN = 0.05
# Search, the graph and memories count a faceless photo for a person only from this confidence
# (1 - distance / body threshold 0.40): a body distance of 0.35 or less, where body-only pass 1
# on cuhk01_reid's synthetic moments of 10-30 people joined no two different people (pairwise
# precision 1.000, recall 0.33; at 0.40, 0.992 / 0.59: see Pass1Settings.body_threshold).
FACELESS_MIN_CONFIDENCE = 0.125

# --- videos (memories/videos.py, memories/video_faces.py) -------------------------------------
# MP4/MOV/M4V (phones), 3GP (old phones), AVI, MKV and WebM.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".3gp", ".avi", ".mkv", ".webm"})
# 8K (7680 x 4320, 33 Mpx) is the largest any camera records; anything over 40 Mpx a frame is
# refused as absurd before a frame is decoded.
MAX_VIDEO_PIXELS = 40_000_000
# Longer than this is not a home video (a DVR dump, a broken header claiming years).
MAX_VIDEO_DURATION_S = 6 * 3600.0
# A video's thumbnail is its frame a third into it, never later than this.
POSTER_SECONDS = 2.0
# A Live Photo's still and motion file without a shared content identifier are paired when they
# share a base name and their capture times differ by at most this (the camera records the motion
# from 1.5 s before the still to 1.5 s after; the sample pair's times differ by 1 s).
LIVE_PHOTO_MAX_GAP_S = 2.0
# A motion file longer than this is a video of its own, never a Live Photo's motion (Apple's are
# ~3 s; 6 s leaves room for the "long exposure" and Android motion photos).
LIVE_PHOTO_MAX_MOTION_S = 6.0
# Video frames are decoded for recognition with this longest side: a 1080p frame at 960 x 540
# (detection 0.13 s instead of 0.56 s at 1920 here). A face of a 1080p phone video a user would
# call "in the video" is 100+ px there, 50+ px at 960, above the detector's 40 px.
VIDEO_DECODE_LONGEST_SIDE = 960
# Frames are sampled every VIDEO_SAMPLE_INTERVAL_S, but at least VIDEO_MIN_SAMPLES per video (an
# 8 s clip every 0.5 s) and at most VIDEO_MAX_SAMPLES (a 10 min video every 2 s): a face on screen
# for a second is seen, and a long video costs a bounded time (~0.17 s a sample, 2 cores).
VIDEO_SAMPLE_INTERVAL_S = 1.0
VIDEO_MIN_SAMPLES = 16
VIDEO_MAX_SAMPLES = 300
# A scene change (mean absolute change of a 32 x 18 grey thumbnail, checked every
# VIDEO_CUT_CHECK_EVERY decoded frames, above VIDEO_CUT_LEVEL of 255) is sampled at once, so a
# shot shorter than the interval is still seen. A hard cut on the HDTF-made test clip changes the
# thumbnail by 40-70; a talking head between checked frames by 1-4.
VIDEO_CUT_LEVEL = 25.0
VIDEO_CUT_CHECK_EVERY = 3
# The stretch of a video a memory shows (the liveliest: motion plus faces, inside one shot).
VIDEO_HIGHLIGHT_S = (2.0, 4.0, 5.0)  # shortest, preferred, longest
# A video's face track counts as one more sighting toward a new person for every this many
# seconds it spans (memories.clustering.sightings): an 8 s clip's speaker counts 3 (a person, as
# one seen in three photos), a face glimpsed for 2 s counts 1.
VIDEO_SECONDS_PER_SIGHTING = 3.0
# Keyframes alone are sampled when 90 % of the gaps between them are within this many sample
# intervals (a phone's 1 s keyframes for a 1 s interval); the samples are then at most 1.5 s apart.
VIDEO_KEYFRAME_SLACK = 1.5
# MTCNN's smallest face in a video frame decoded at VIDEO_DECODE_LONGEST_SIDE (photos: 20 px): 32
# px there is 36 px of a 1080p frame. On 18 frames of the Hamilton clip and the bench clip it
# found the same faces as 20 px at 0.14 s a frame instead of 0.32 s (MTCNN's pyramid starts
# smaller); a face under 36 px of 1080p is not one a user would look for in a video.
VIDEO_MIN_FACE_PX = 32.0
# A video whose packets end this much before the duration its header gives is truncated (a copy
# cut short): indexed as far as it plays, with a warning. Packets of a whole file end within a
# frame of it; 0.5 s leaves room for audio-led headers.
VIDEO_TRUNCATION_SLACK_S = 0.5
