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
