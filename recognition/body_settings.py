"""Named settings of the upper-body box, the body embedding and the unclear-face quality score.

Face sizes are ``sqrt(w * h)`` of the detector's face box (dlib HOG/MMOD boxes run roughly from
the eyebrows to the chin). Quality figures come from ``benchmarks/bench_quality.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UpperBodySettings:
    """Shoulder-to-mid-chest box, in face sizes, placed along the face's down direction."""

    # Chin to the top of the shoulders: the neck, about half a face height in adult anthropometry;
    # 0.4 keeps the collar (a strong clothing cue) inside the box.
    top_gap: float = 0.4
    # Shoulder top to mid-chest is about 1.5 face heights; 1.6 so that the box ends just below
    # the chest on the deepface and dlib_faces_det photos (checked by drawing the boxes).
    height: float = 1.6
    # Shoulder (bideltoid) width is about 3 face (bizygomatic) widths.
    width: float = 3.0
    # Below this share of the expected box inside the image the crop shows too little clothing to
    # describe it (face at the bottom edge); the body is then treated as missing.
    min_visible_fraction: float = 0.35


UPPER_BODY = UpperBodySettings()


@dataclass(frozen=True)
class PersonBodySettings:
    """The upper body inside a detected person's box, and which people count as faceless."""

    # Hair above the face, in face sizes: a person box starts at the top of the head.
    hair: float = 0.3
    # A person without a face becomes a body-only observation only when the detector is this
    # sure (its own threshold, 0.3, is for recall of people with faces), and when it is not a
    # piece of a person already counted: at most this share of its box lies inside a person with
    # a face or a faceless person kept before it (detectors often give one person two boxes).
    faceless_min_score: float = 0.6
    max_share_in_faced_person: float = 0.5


PERSON_BODY = PersonBodySettings()


@dataclass(frozen=True)
class AssociationSettings:
    """Pairing faces with body boxes from a separate body detector."""

    body: UpperBodySettings = field(default_factory=UpperBodySettings)
    # Weights of the three cost terms: (1 - IoU) with the predicted box, |log area ratio|, centre
    # offset in face sizes. Overlap dominates; area and offset break ties between neighbours in
    # a group photo, where predicted boxes of adjacent people overlap each other.
    iou_weight: float = 1.0
    area_weight: float = 0.5
    offset_weight: float = 0.5
    # Gates: a candidate must overlap the prediction, be within 4x in area (a body detector's box
    # can be a little larger or smaller than ours) and within 1.5 face sizes of the predicted centre.
    min_iou: float = 0.1
    max_log_area_ratio: float = 1.39  # ln 4
    max_offset: float = 1.5


@dataclass(frozen=True)
class BodyEmbeddingSettings:
    """MobileNetV2 features + HSV colour histogram of the clothing crop."""

    # Chromatic pixels: hue x saturation x value bins (8 * 3 * 4 = 96); hue is the main clothing
    # cue and 3-4 levels of saturation/value keep it from depending on one photo's exposure.
    hue_bins: int = 8
    saturation_bins: int = 3
    value_bins: int = 4
    # Pixels less saturated than this have no meaningful hue (white, grey, black clothes, and
    # JPEG noise on them); they go to a separate histogram of brightness levels instead.
    grey_saturation: float = 0.15
    grey_value_bins: int = 8
    # Share of the squared distance carried by each part: with both parts L2-normalised, the
    # combined vector is [sqrt(w) * cnn, sqrt(1 - w) * colour], already unit length. The CNN
    # part sees texture and garment shape, the colour part is robust to pose; equal weight.
    cnn_weight: float = 0.5
    batch_size: int = 16


BODY_EMBEDDING = BodyEmbeddingSettings()


@dataclass(frozen=True)
class QualitySettings:
    """Unclear-face score (recognition/quality.py). Ramps: term 0 at *_bad, 1 at *_good.

    Measured by benchmarks/bench_quality.py on lfw_min10 (HOG detector, 4,299 faces found in 4,324
    photos) against background windows of dlib_faces_det, deepface and lfw_min10 photos pushed
    through the same landmarks -> chip -> descriptor path. Percentiles below are from that run.
    """

    # Face size sqrt(w * h) in pixels. The detectors' window is 80 px at the working scale and
    # min_face_px (40) in the photo; below 20 px the ResNet sees an upsampled smear.
    size_bad: float = 20.0
    size_good: float = 40.0
    # log10 variance of the Laplacian of the grey 150 px chip. lfw faces: p0.1 0.86, p1 1.04,
    # median 1.62. Blurring lfw chips (Gaussian, sigma in chip pixels) gives 0.51 at sigma 3 and
    # 0.41 at sigma 4, where the descriptor has drifted 0.23 / 0.29 (normalised) from the sharp
    # chip's, most of the way to Pass1Settings.face_threshold (0.40): sigma 4 is rejected.
    sharpness_bad: float = 0.45
    sharpness_good: float = 1.0
    # Landmark yaw proxy (quality.pose_asymmetry; 0 frontal). lfw faces: median 0.13, p99 0.67.
    pose_bad: float = 1.2
    pose_good: float = 0.6
    # HOG score (dlib reports windows above 0). lfw faces: p1 0.24, median 1.63. A different
    # detector (MMOD) has its own scale and needs its own ramp.
    detector_bad: float = -0.3
    detector_good: float = 0.6
    # Distance from the null reference (quality.null_distance). lfw faces: p1 0.413, p2 0.421,
    # median 0.485; background windows (1,443): median 0.262, p95 0.363, p99 0.404. A sweep of
    # (bad, good) in [0.36, 0.40] x [0.43, 0.45] traded 0.5 points of keep rate for 3 of
    # rejection; 0.38-0.44 kept 99.9% of faces and rejected 97.5% of windows at threshold 0.5 on
    # the tuning draw (seed 1), 99.9% / 96.8% on the benchmark's own draw (seed 0).
    # Lowered to 0.36-0.42 for fairness (`memories eval fairness`, docs/fairness.md): the null
    # distance is lower for men's and darker-skinned faces, and in the wild (wider_faces, faces of
    # 40+ px the detector found) 0.38-0.44 kept 89.0% of women's faces and 73.8% of men's, 83.3 /
    # 72.6 / 60.0% by skin type I-II / III-IV / V-VI; 0.36-0.42 keeps 90.7 / 80.0% and 87.5 /
    # 77.9 / 65.7%. Cost: lfw faces kept 99.98%, windows rejected 97.08% (benchmark draw, seed 0;
    # on one 995 + 1,430 draw 98.81 -> 97.97%); lfw_min10 cap 20 + wider_faces strangers pairwise
    # precision 0.9716 -> 0.9687 (72 more strangers kept), samples' People album unchanged (1.0).
    null_distance_bad: float = 0.36
    null_distance_good: float = 0.42
    # The embedding term is the one cue that tells a face from a non-face (ROC AUC 0.999 against
    # <= 0.67 for each of the others on that set), so it carries double weight.
    size_weight: float = 1.0
    sharpness_weight: float = 1.0
    pose_weight: float = 1.0
    detector_weight: float = 1.0
    embedding_weight: float = 2.0
    # Flat from 0.45 to 0.55 (99.9% kept, 96.8% rejected); above 0.6 faces start to go faster
    # than windows (0.8: 99.1% / 98.8%).
    threshold: float = 0.5


QUALITY = QualitySettings()
