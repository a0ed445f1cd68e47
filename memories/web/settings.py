"""Named settings of the web page, each with why it has its value."""

from __future__ import annotations

# Loopback only by default: the page shows private photos and changes the library, so another
# machine may reach it only when the user asks for it with `memories serve --host`.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# waitress worker threads: a video streams and a render's page polls while a grid of thumbnails
# loads (a browser opens 6 connections per host); 8 covers that with one to spare.
SERVER_THREADS = 8
# Renders run one at a time: a render already uses both cores (decode, encode), so a second
# would only make both slower; further requests queue (bounded, see MAX_QUEUED_RENDERS).
RENDER_WORKERS = 1
MAX_QUEUED_RENDERS = 8

# A face thumbnail is the face box grown by this fraction of its size on each side (hair and chin
# in view, as in Photos' People album), cropped square and scaled to FACE_THUMB_PX. 160 px is twice
# the 80 px the album shows, so it stays sharp on a 2x display.
FACE_THUMB_MARGIN = 0.35
FACE_THUMB_PX = 160
# The photo viewer shows a downscaled copy: 2048 px covers a laptop screen at full width and a
# 2x zoom on a phone, ~300-600 kB as JPEG, where an original can be 10 MB.
PHOTO_VIEW_PX = 2048
# The grids: a 480 px copy is sharp in a 240 px tall row on a 2x display.
PHOTO_GRID_PX = 480
THUMB_JPEG_QUALITY = 85

# The library grid loads this many photos per page: about three screens on a laptop, and one
# query of the taken-time index at any library size.
LIBRARY_PAGE_SIZE = 120
# A person page lists this many of their photos per page (a person may be in thousands).
PERSON_PAGE_SIZE = 120
# Search answers at most this many photos per page (the count says how many matched).
SEARCH_PAGE_SIZE = 200
# Suggestions as you type: at most this many names and places.
SUGGESTIONS_SHOWN = 8

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
# The album lists at most this many people per section before "Show everyone": 2,000 face
# circles are 2,000 thumbnail requests, and 120 fill a laptop screen three times over.
PEOPLE_SHOWN = 120

# Input limits. Request bodies are small forms; anything larger is refused before it is read.
MAX_FORM_BYTES = 64 * 1024
# JSON bodies deeper than this are refused before parsing (no form of ours nests at all).
MAX_JSON_DEPTH = 8
# A search names people and places: 20 words is more than any real query, and bounds the work
# of finding multi-word names in the text.
MAX_QUERY_WORDS = 20
MAX_QUERY_CHARS = 400
# Ids in URLs: SQLite integers are 64-bit; 18 digits always fit.
MAX_ID_DIGITS = 18

# Video is streamed in chunks of this size; 256 kB keeps a seek responsive on a local socket.
STREAM_CHUNK_BYTES = 256 * 1024
# Polling interval of the progress bar of a render job, in milliseconds (sent to the page).
JOB_POLL_MS = 500
