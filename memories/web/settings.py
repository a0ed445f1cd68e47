"""Named settings of the web page, each with why it has its value."""

from __future__ import annotations

# Loopback only by default: the page shows private photos and changes the library, so another
# machine may reach it only when the user asks for it with `memories serve --host`.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

# A face thumbnail is the face box grown by this fraction of its size on each side (hair and chin
# in view, as in Photos' People album), cropped square and scaled to FACE_THUMB_PX. 160 px is twice
# the 80 px the album shows, so it stays sharp on a 2x display.
FACE_THUMB_MARGIN = 0.35
FACE_THUMB_PX = 160
# The photo page shows a downscaled copy: 1600 px covers a laptop screen at full width and is
# ~200-400 kB as JPEG, where an original can be 10 MB.
PHOTO_VIEW_PX = 1600
# The grid on the person page: a 480 px copy is sharp in a 240 px cell on a 2x display.
PHOTO_GRID_PX = 480
THUMB_JPEG_QUALITY = 85

# "Review these": a face assigned with a score under this is shown for a yes/no answer. Scores are
# the assignment's own confidence in [0, 1] (1.0 for a confirmed face); below one half the
# assigner itself was closer to unsure than sure.
REVIEW_SCORE_BELOW = 0.5
# How many faces the album offers for review at once: a short task, not a chore.
REVIEW_MAX_FACES = 12
# "Same person?" pairs shown in the album at once (closest first).
MERGE_SUGGESTIONS_SHOWN = 6
# Unnamed people with at least this many photos are offered for naming first.
NAME_SUGGESTION_MIN_PHOTOS = 2

# Request bodies are small forms; anything larger is refused before it is read.
MAX_FORM_BYTES = 64 * 1024
# Video is streamed in chunks of this size; 256 kB keeps a seek responsive on a local socket.
STREAM_CHUNK_BYTES = 256 * 1024
# Polling interval of the progress bar of a render job, in milliseconds (sent to the page).
JOB_POLL_MS = 500

# Only files with these suffixes are ever served from the library's derived folders and the
# indexed photo folders (never the database, sidecars or anything else found there).
SERVABLE_SUFFIXES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
}
