"""Named settings of the Memories renderer, each with how its value was chosen.

One place for every constant of `memories.render`: lengths, moods, loudness, video encoding,
Ken Burns motion, transitions and cards.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- lengths ---------------------------------------------------------------------------------
# Nominal durations of a memory, in seconds. Apple's Memories offers short/medium/long; its short
# movies run ~30 s and its long ones ~1.5 min. The storyboard hits these exactly (cut points snap
# to beats inside the film, the ends are fixed), so a render is within one frame of nominal.
LENGTH_SECONDS: dict[str, float] = {"short": 30.0, "medium": 60.0, "long": 90.0}
DEFAULT_LENGTH = "short"

# --- video -----------------------------------------------------------------------------------
DEFAULT_SIZE = (1280, 720)
# Sizes a user may ask for by name; any (w, h) with even sides also works.
NAMED_SIZES: dict[str, tuple[int, int]] = {
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "portrait": (1080, 1920),
}
# 24 fps is the film rate: Ken Burns motion is slow, and 25% fewer frames than 30 fps is what
# lets a 720p render run faster than real time on the 2-core dev machine (benchmarks/bench_render.py).
# Part of a render's signature: raised when the renderer changes what a plan looks like (framing,
# music, titles), so that `export` redoes movies an older version made instead of skipping them.
RENDER_VERSION = 2
FPS = 24
VIDEO_CODEC = "libx264"
# 'veryfast' measured ~2x the speed of 'medium' at 720p with a still-clean picture for slow pans;
# 'ultrafast' saves little more and doubles the file size.
VIDEO_PRESET = "veryfast"
VIDEO_CRF = 23
PIXEL_FORMAT = "yuv420p"  # the only 4:2:0 layout every phone and browser decodes
AUDIO_CODEC = "aac"
AUDIO_BITRATE = "160k"
ENCODER_THREADS = 2  # the dev machine has 2 cores
POSTER_QUALITY = 90

# A photo is decoded once and downscaled so that its short side is at most this factor times the
# output's matching side: enough pixels for the deepest Ken Burns zoom (MAX_ZOOM) without
# warping 12-Mpx arrays on every frame.
WORKING_SCALE = 1.6

# --- audio -----------------------------------------------------------------------------------
SAMPLE_RATE = 44_100
CHANNELS = 2
# Integrated loudness target, ITU-R BS.1770 (K-weighted, gated) in LUFS. -16 LUFS is the level
# Apple and most mobile platforms normalise music to (AES TD1004 recommends -16 to -20 for mobile).
TARGET_LUFS = -16.0
# Sample peak ceiling after the soft limiter: 1 dB of headroom for the AAC encoder's overshoot.
PEAK_CEILING_DBFS = -1.0
FADE_IN_S = 1.0
FADE_OUT_S = 2.5
# Audio file suffixes picked from a --music folder.
MUSIC_SUFFIXES = frozenset({".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus"})
# A user track shorter than the film is looped with this crossfade at the seam.
LOOP_CROSSFADE_S = 1.5
# Phone and laptop speakers roll off steeply below ~150 Hz (a typical phone's -10 dB point is
# 200-300 Hz): power down there is heard as little and only eats limiter headroom. The share of the
# mix's power below this frequency is what "balanced for small speakers" is measured by.
LOW_END_HZ = 150.0

# --- synthesised music -----------------------------------------------------------------------
# The form of a synthesised piece, as shares of its bars before the final chord: a sparse intro
# (pad and the arpeggio's beat notes), a build in which bass, melody and then drums enter, the
# main part (from MUSIC_LONG_FORM_BARS bars on: main, a two-bar break, a fuller peak) and an
# ending that thins out into a held final chord. EBU R128 LRA is the spread between the 10th and
# 95th percentiles of the 3 s short-term loudness, so the quiet intro must fill well over 10% of a
# piece to widen it; 0.18 leaves a 30 s piece at 64 BPM (7 bars) still a one-bar intro.
MUSIC_INTRO_SHARE = 0.18
MUSIC_BUILD_SHARE = 0.25
MUSIC_ENDING_SHARE = 0.12
MUSIC_LONG_FORM_BARS = 20  # ~45 s at 100 BPM: room for two phrases of main, a break and a peak
MUSIC_BREAK_BARS = 2  # a breath, not a second intro: the peak comes back within ~5 s
# Loudness of each section in LU under the loudest one, each section's gated mean (the renderer
# measures the ungained mix and sets a gain per section: `soundtrack.section_gains`); a piece too
# short for a peak has its main part at the peak's level. The build's layers enter within it, so
# it rises through its level; the ending falls by MUSIC_ENDING_TILT_DB across itself into the
# final chord, which then dies away. Set with benchmarks/bench_music_qa.py: every mood then reads an
# EBU R128 LRA of 5.7-9.8 LU at 30, 60 and 90 s (8 seeds each), over the 4 LU issue 13 asks for
# with room for any seed, and inside the range of produced pop and film music (about 5-10 LU).
MUSIC_SECTION_LU: dict[str, float] = {
    "intro": -7.5,
    "build": -3.5,
    "main": -1.5,
    "break": -5.0,
    "peak": 0.0,
    "ending": -3.0,
}
MUSIC_ENDING_TILT_DB = 3.0
MUSIC_SECTION_RAMP_S = 0.25  # a section's gain changes over a quarter second: no click, still a step
# The final chord is struck on the last half bar at least this long before the end, and rings out.
MUSIC_FINAL_RING_S = 3.5
# The held final chord dies away by itself; this fade only takes its last sound to silence.
MUSIC_FADE_OUT_S = 1.0
# Small speakers: the pad is high-passed (its low notes double the bass and muddy a phone's
# 200-400 Hz), so is the whole mix (sub-bass a phone cannot play only costs limiter headroom), and
# the bass plays from MIDI 36 up (65 Hz), with enough harmonics to be heard through its overtones.
MUSIC_PAD_HIGHPASS_HZ = 160.0
MUSIC_MIX_HIGHPASS_HZ = 40.0
MUSIC_BASS_LOWEST = 36

# --- beat detection --------------------------------------------------------------------------
# Analysis runs on a mono 22.05 kHz copy: beats live below 10 kHz and half the samples halve the STFT.
BEAT_SAMPLE_RATE = 22_050
BEAT_FFT = 2048
BEAT_MEL_BANDS = 128  # librosa's default mel resolution for onset strength
BEAT_HOP = 512  # 23 ms frames: finer than any beat jitter a cut can show at 24 fps (42 ms/frame)
BEAT_MIN_BPM = 55.0
BEAT_MAX_BPM = 190.0
# Log-normal tempo prior centred on 110 BPM (librosa uses 120, sd 1 octave): halves the octave
# errors on drumless tracks whose eighth-note arpeggios look like a double tempo.
BEAT_PRIOR_BPM = 110.0
BEAT_PRIOR_OCTAVES = 1.0
# Dynamic-programming beat tracker (Ellis 2007): weight of the tempo-consistency penalty.
BEAT_TIGHTNESS = 100.0


# --- moods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MoodStyle:
    """How a mood looks on screen (its music is in `soundtrack.MOOD_MUSIC`)."""

    shot_seconds: float  # target time a photo is on screen
    zoom: float  # Ken Burns zoom change over a shot (0.12 = 12% tighter or looser)
    transitions: tuple[str, ...]  # chosen in turn, seeded
    transition_seconds: float


# Values set by eye on the deepface samples against Apple's mood presets: gentle/sentimental hold
# long with soft crossfades, happy/uplifting cut on the beat with pushes, epic zooms deep.
MOODS: dict[str, MoodStyle] = {
    "gentle": MoodStyle(4.0, 0.10, ("crossfade",), 1.2),
    "chill": MoodStyle(3.5, 0.10, ("crossfade", "slide"), 0.9),
    "uplifting": MoodStyle(2.8, 0.14, ("push", "crossfade", "zoom"), 0.6),
    "happy": MoodStyle(2.4, 0.14, ("push", "slide", "zoom", "crossfade"), 0.45),
    "sentimental": MoodStyle(4.5, 0.08, ("crossfade",), 1.5),
    "epic": MoodStyle(3.0, 0.20, ("zoom", "crossfade", "push"), 0.6),
}
DEFAULT_MOOD = "uplifting"

# --- storyboard ------------------------------------------------------------------------------
TITLE_CARD_S = 3.0
# The end card is a short close (the memory's dates on the dimmed key photo), not a second title:
# with 3.5 + 3.0 s, cards took 22% of a 30 s movie; 3.0 + 2.0 s leave 83% for photos.
END_CARD_S = 2.0
# Films shorter than this many times the two cards get cards shrunk in proportion (previews).
CARD_SHARE_MAX = 0.4
# A shot never gets shorter than this even after beat snapping (below ~1.2 s a photo flickers).
MIN_SHOT_S = 1.2
# Cuts snap to a grid of every 4th, 2nd or single beat: the coarsest grid whose spacing is at most
# this fraction of the mood's shot length, so a snap moves a cut by well under half a shot.
SNAP_GRID_FRACTION = 0.6
# Shortest film: a 2 s title card, one photo, a 2 s end card (custom `seconds` only).
MIN_MEMORY_S = 6.0
# A transition takes at most this fraction of either shot it joins.
MAX_TRANSITION_FRACTION = 0.45

# --- Ken Burns -------------------------------------------------------------------------------
# Margin around the union of featured faces, as a fraction of that union's size: keeps hair and
# chin inside the crop, not just the detector box.
FACE_MARGIN = 0.35
# The tightest crop is at least this fraction of the largest crop: deeper zooms enlarge photo
# noise past what a 720p frame hides.
MAX_ZOOM = 1.0 / 0.6
# A detector box runs from the brows to the chin; the head reaches about 0.55 of its height above
# it (hair), 0.15 below (chin) and 0.12 of its width to each side (ears). Measured by eye on the
# samples' contact sheets: with these no forehead or crown was cut in a 16:9 crop of a portrait.
HEAD_TOP = 0.55
HEAD_CHIN = 0.15
HEAD_SIDE = 0.12
# The wide and tight crops of a shot differ by at least this factor in width: 8% over a 3-5 s shot
# is a slow but visible push, and ffmpeg's freezedetect sees no frozen frames.
MIN_MOTION = 1.08
# A photo is enlarged at most this much on screen; a smaller photo is shown at this scale on a
# blurred copy of itself (the backdrop below) instead of being blown up soft.
MAX_UPSCALE = 1.5
# A face counts as cut when more than this share of its width or height is on each side of the
# frame edge (a pixel of overlap is not a cut face).
CUT_TOLERANCE = 0.05
# Points along a shot at which the crop is checked against faces it must not cut.
CUT_CHECK_STEPS = 9

# --- transitions and letterboxing -------------------------------------------------------------
# The "zoom" transition: the incoming picture grows from this fraction of the frame to full size
# while it fades in (shrinking a picture never crops it, so faces stay whole).
ZOOM_START_SCALE = 0.75
# When faces are spread wider than the frame, the crop reaches past the photo; the margin shows a
# blurred, dimmed copy of the photo. Sigma in pixels of a 1/8-size copy (~5% of a 720p frame's
# width once upscaled) and brightness: dim enough that the sharp photo reads as the subject.
BACKDROP_BLUR = 8.0
BACKDROP_DIM = 0.6

# --- cards -----------------------------------------------------------------------------------
# DejaVu ships with most Linux desktops; Pillow's own scalable default font (>= 10.1) otherwise.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
)
TITLE_FONT_FRACTION = 0.085  # of the frame height


@dataclass(frozen=True)
class TitleStyle:
    """A typographic voice for titles: font files in order of preference, capitals, size."""

    title_faces: tuple[str, ...]
    subtitle_faces: tuple[str, ...]
    upper: bool = False
    size_factor: float = 1.0


_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_LIBERATION = "/usr/share/fonts/truetype/liberation/"
# Three voices, so that a gentle memory does not open like an epic one: a book-like serif for
# gentle and sentimental, a light large sans for chill and uplifting, bold capitals for happy and
# epic. DejaVu and Liberation ship with most Linux desktops; the cards fall back to FONT_CANDIDATES.
TITLE_STYLES: dict[str, TitleStyle] = {
    "serif": TitleStyle(
        (_DEJAVU + "DejaVuSerif.ttf", _LIBERATION + "LiberationSerif-Regular.ttf", "/Library/Fonts/Georgia.ttf"),
        (_DEJAVU + "DejaVuSerif-Italic.ttf", _LIBERATION + "LiberationSerif-Italic.ttf"),
        size_factor=1.05,
    ),
    "light": TitleStyle(
        (_DEJAVU + "DejaVuSans-ExtraLight.ttf", _LIBERATION + "LiberationSans-Regular.ttf"),
        (_DEJAVU + "DejaVuSans.ttf", _LIBERATION + "LiberationSans-Regular.ttf"),
        size_factor=1.15,
    ),
    "bold": TitleStyle(
        (_DEJAVU + "DejaVuSans-Bold.ttf", _LIBERATION + "LiberationSans-Bold.ttf"),
        (_DEJAVU + "DejaVuSans.ttf", _LIBERATION + "LiberationSans-Regular.ttf"),
        upper=True,
        size_factor=0.95,
    ),
}
MOOD_TITLE_STYLE = {
    "gentle": "serif",
    "sentimental": "serif",
    "chill": "light",
    "uplifting": "light",
    "happy": "bold",
    "epic": "bold",
}
SUBTITLE_FONT_FRACTION = 0.045
CARD_BACKGROUND_BLUR = 0.03  # Gaussian sigma as a fraction of the frame width
CARD_BACKGROUND_DIM = 0.55  # the key photo behind a card at 55% brightness keeps white text readable
END_CARD_DIM = 0.33  # darker than the title card: the film is ending
CARD_ZOOM = 0.04  # cards drift (4% zoom over the card) so a title is not a frozen frame

# --- clips: video highlights and Live Photo motion ---------------------------------------------
# A clip shot lasts its highlight (the liveliest 2-5 s ingest chose) snapped to the beat grid,
# never shorter or longer than these (the 2-5 s): under 2 s a video reads as a glitch, not
# a moment; over 5 s one clip holds up the pace of a 30 s memory (shots are 2.4-4.5 s by mood).
CLIP_MIN_S = 2.0
CLIP_MAX_S = 5.0
# A video without a stored highlight plays this long (the middle of the 2-5 s a highlight spans),
# centred on its best face's time, else from its start.
CLIP_DEFAULT_S = 4.0
# At most one video clip per this many photo shots: motion is the seasoning, the photos are the
# story; a memory with any video among its photos gets at least one clip. Also curation's
# `clip_every_shots`, so it hands the storyboard no more than it plays.
CLIP_EVERY_SHOTS = 4
# A Live Photo's motion is the photo itself coming alive for ~2 s (the phone plays it when the
# photo comes on screen), not a scene of its own: up to one shot in two may play one, apart from
# the video clips (curation's `live_every_shots`).
LIVE_EVERY_SHOTS = 2
# A face box of a video is that of the track's best frame; the head moves around it during the
# clip. The crop keeps the box grown by this fraction of its size on every side (then the head
# margins above: HEAD_SIDE etc.), so the face box may wander s + HEAD_SIDE * (1 + 2s) of its
# width sideways and s + HEAD_CHIN * (1 + 2s) of its height down before a frame cuts it. On the
# six shared talking-head clips (HDTF, dlib every 5th frame) a face box moved at most 0.44 of its
# width sideways and 0.42 of its height down from where it was at any frame up to 5 s away; 0.3
# covers that (0.49 and 0.54), 0.25 does not (0.43 sideways).
CLIP_FACE_SLACK = 0.3
# Clip frames are decoded at this factor of the output's pixels across the crop (no Ken Burns
# zoom to feed, so the output's resolution plus a little for the resampling filter).
CLIP_WORKING_SCALE = 1.1

# --- clip sound ----------------------------------------------------------------------------------
# The issue asks for the clips' "own sound ducked under the soundtrack": read as the music stays
# the lead and the clip's sound plays beneath it (a laugh, voices, the sea), not the other way
# round. The clip's integrated loudness is set this many LU under the music's own (undipped)
# loudness over the same seconds, and the music dips by MUSIC_DIP_UNDER_CLIP_DB while it plays, so
# the sound sits 8 - 3 = 5 LU under the music heard with it. Chosen from broadcast practice, not
# by a listening test: a bed is mixed 10-15 LU under a voice to stay out of its way, so 5 LU under
# keeps the music clearly in front while words are still there to follow; 3 dB is a clearly
# audible step that still leaves the music carrying the film. tests/test_render_clips.py measures
# the result in a rendered film (the talking-head clip's sound: 5.0 LU under the music there).
CLIP_SOUND_UNDER_MUSIC_LU = 8.0
MUSIC_DIP_UNDER_CLIP_DB = 3.0
# A near-silent clip (room tone, wind) is not blown up into hiss to reach that level: at most this
# much gain (12 dB lifts a quiet phone recording, around -36 LUFS, to where it sits under -16 LUFS music).
CLIP_SOUND_MAX_GAIN_DB = 12.0
# A clip's sound fades in and out with its picture: over its transitions, never faster than this
# (150 ms: no click, still a clean cut on a hard transition).
CLIP_SOUND_RAMP_S = 0.15
