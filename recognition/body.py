"""Upper-body boxes derived from faces, and one-to-one pairing of faces with candidate body boxes.

Boxes are float arrays ``[x, y, w, h]`` in pixels (x right, y down). Landmarks are dlib's 5 points,
``[5, 2]`` per face, in dlib's order (checked on lfw_min10 with shape_predictor_5_face_landmarks):
0 = outer corner of the eye on the image's right (the subject's left eye), 1 = its inner corner,
2 = outer corner of the eye on the image's left, 3 = its inner corner, 4 = base of the nose.
dlib's documentation names points 0-1 the "right eye" meaning the eye seen on the right.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from recognition.body_settings import (
    PERSON_BODY,
    UPPER_BODY,
    AssociationSettings,
    PersonBodySettings,
    UpperBodySettings,
)
from recognition.boxes import box_iou

NO_BODY = -1


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    return arr.reshape(-1, 4)


def face_down_vectors(landmarks: np.ndarray) -> np.ndarray:
    """Unit vector pointing from the eyes towards the chin for each face ([N, 5, 2] -> [N, 2]).

    Perpendicular to the line through the two eye centres, turned so that it points from the eyes
    to the nose; a head rolled by 30 degrees thus places the body 30 degrees off the vertical.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    image_right_eye = pts[:, 0:2].mean(axis=1)
    image_left_eye = pts[:, 2:4].mean(axis=1)
    across = image_right_eye - image_left_eye
    norm = np.linalg.norm(across, axis=1, keepdims=True)
    across = np.where(norm > 1e-9, across / np.maximum(norm, 1e-9), np.array([1.0, 0.0]))
    down = np.stack([-across[:, 1], across[:, 0]], axis=1)  # +90 degrees in image coordinates
    to_nose = pts[:, 4] - (image_right_eye + image_left_eye) / 2
    flip = np.einsum("ij,ij->i", down, to_nose) < 0
    down[flip] *= -1
    return down


def expected_upper_body_boxes(face_boxes: np.ndarray, landmarks: np.ndarray | None = None,
                              settings: UpperBodySettings = UPPER_BODY) -> np.ndarray:
    """Unclipped shoulder-to-mid-chest box for each face ([N, 4] xywh, may leave the image).

    Without landmarks the head is taken as upright.
    """
    faces = _as_boxes(face_boxes)
    if len(faces) == 0:
        return np.zeros((0, 4))
    down = face_down_vectors(landmarks) if landmarks is not None else np.tile([0.0, 1.0], (len(faces), 1))
    face_centre = faces[:, :2] + faces[:, 2:] / 2
    size = np.sqrt(faces[:, 2] * faces[:, 3])  # robust to slightly non-square detector boxes
    # Centre of the body box: half a face down to the chin, then the gap to the shoulders, then
    # half the body height; along the face's own down direction so rolled heads work.
    along = size * (0.5 + settings.top_gap + settings.height / 2)
    centre = face_centre + down * along[:, None]
    width = size * settings.width
    height = size * settings.height
    return np.stack([centre[:, 0] - width / 2, centre[:, 1] - height / 2, width, height], axis=1)


def clip_boxes(boxes: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Boxes intersected with the image (``image_size`` = (width, height)); empty ones get w = h = 0."""
    b = _as_boxes(boxes)
    width, height = image_size
    x0 = np.clip(b[:, 0], 0, width)
    y0 = np.clip(b[:, 1], 0, height)
    x1 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y1 = np.clip(b[:, 1] + b[:, 3], 0, height)
    return np.stack([x0, y0, np.maximum(x1 - x0, 0), np.maximum(y1 - y0, 0)], axis=1)


def upper_body_boxes(face_boxes: np.ndarray, landmarks: np.ndarray | None, image_size: tuple[int, int],
                     settings: UpperBodySettings = UPPER_BODY) -> tuple[np.ndarray, np.ndarray]:
    """Upper-body boxes clipped to the image, and the fraction of each expected box that is visible.

    Returns ``(boxes [N, 4] xywh, visible [N])``. A caller should embed a body only when
    ``visible >= settings.min_visible_fraction`` (a face at the bottom edge has no body in frame).
    """
    expected = expected_upper_body_boxes(face_boxes, landmarks, settings)
    clipped = clip_boxes(expected, image_size)
    full = expected[:, 2] * expected[:, 3]
    visible = np.where(full > 0, clipped[:, 2] * clipped[:, 3] / np.maximum(full, 1e-12), 0.0)
    return clipped, visible


def association_costs(face_boxes: np.ndarray, body_boxes: np.ndarray, landmarks: np.ndarray | None = None,
                      settings: AssociationSettings | None = None) -> np.ndarray:
    """Cost of pairing each face with each candidate body box ([N, M]; ``inf`` = not allowed).

    The face predicts where its upper body should be (:func:`expected_upper_body_boxes`); a
    candidate is scored by overlap with that prediction (1 - IoU), by area (|log area ratio|) and
    by position (centre offset in face sizes). Pairs failing any gate cost ``inf``.
    """
    s = settings or AssociationSettings()
    faces, bodies = _as_boxes(face_boxes), _as_boxes(body_boxes)
    if len(faces) == 0 or len(bodies) == 0:
        return np.zeros((len(faces), len(bodies)))
    expected = expected_upper_body_boxes(faces, landmarks, s.body)
    iou = box_iou(expected, bodies)
    exp_area = (expected[:, 2] * expected[:, 3])[:, None]
    body_area = np.maximum((bodies[:, 2] * bodies[:, 3])[None], 1e-12)
    log_area = np.abs(np.log(body_area / exp_area))
    face_size = np.sqrt(faces[:, 2] * faces[:, 3])[:, None]
    exp_centre = expected[:, :2] + expected[:, 2:] / 2
    body_centre = bodies[:, :2] + bodies[:, 2:] / 2
    offset = np.linalg.norm(exp_centre[:, None] - body_centre[None], axis=2) / face_size
    cost = s.iou_weight * (1 - iou) + s.area_weight * log_area + s.offset_weight * offset
    allowed = (iou >= s.min_iou) & (log_area <= s.max_log_area_ratio) & (offset <= s.max_offset)
    return np.where(allowed, cost, np.inf)


def associate_bodies(face_boxes: np.ndarray, body_boxes: np.ndarray, landmarks: np.ndarray | None = None,
                     settings: AssociationSettings | None = None) -> np.ndarray:
    """One-to-one pairing of faces with body boxes (Hungarian on :func:`association_costs`).

    Returns ``[N]`` int: the index of the body paired with each face, or ``NO_BODY`` (-1).
    A body is given to at most one face, and a face never gets a body that failed a gate.
    """
    cost = association_costs(face_boxes, body_boxes, landmarks, settings)
    n_faces = cost.shape[0]
    pairing = np.full(n_faces, NO_BODY, dtype=np.int64)
    if cost.size == 0:
        return pairing
    finite = np.isfinite(cost)
    if not finite.any():
        return pairing
    # Forbidden pairs get a cost above any sum of allowed ones, so the solver only takes them
    # when nothing else is left, and those picks are dropped below.
    big = cost[finite].max() * (min(cost.shape) + 1) + 1.0
    rows, cols = linear_sum_assignment(np.where(finite, cost, big))
    keep = finite[rows, cols]
    pairing[rows[keep]] = cols[keep]
    return pairing


def person_upper_bodies(person_boxes: np.ndarray, settings: PersonBodySettings = PERSON_BODY,
                        body: UpperBodySettings = UPPER_BODY) -> np.ndarray:
    """The upper body of each detected person ([M, 4] xywh), placed as a face's would be.

    Whether the box holds a whole standing person or a portrait's head and shoulders, it is about
    as wide as the shoulders, and shoulders are `body.width` face widths: so the head is taken at
    the top centre with that size (below `settings.hair` of it for the hair) and the body box
    comes from it by `expected_upper_body_boxes`, the same geometry as below a detected face. A
    person with and without a visible face thus has the same clothes framed the same way.
    """
    people = _as_boxes(person_boxes)
    x, y, w, _ = people.T
    size = w / body.width
    heads = np.stack([x + w / 2 - size / 2, y + settings.hair * size, size, size], axis=1)
    return expected_upper_body_boxes(heads, None, body)


def faceless_people(person_boxes: np.ndarray, person_scores: np.ndarray, face_boxes: np.ndarray,
                    paired: np.ndarray, settings: PersonBodySettings = PERSON_BODY) -> np.ndarray:
    """Indices of detected people without a face, best first: sure enough, paired with no face,
    holding no face centre, and not mostly inside a person who has a face or a faceless one kept
    before (a second box on one person)."""
    people, faces = _as_boxes(person_boxes), _as_boxes(face_boxes)
    faced = people[sorted({int(j) for j in paired if j != NO_BODY})]
    centres = faces[:, :2] + faces[:, 2:] / 2
    out: list[int] = []
    scores = np.asarray(person_scores)
    for j in np.argsort(-scores, kind="stable").tolist():
        box, score = people[j], scores[j]
        if score < settings.faceless_min_score or j in set(paired.tolist()):
            continue
        x, y, w, h = box
        inside = (centres[:, 0] >= x) & (centres[:, 0] <= x + w) & (centres[:, 1] >= y) & (centres[:, 1] <= y + h)
        if inside.any():
            continue
        taken = np.concatenate([faced, people[out]]).reshape(-1, 4)
        if len(taken):
            ix = np.clip(np.minimum(x + w, taken[:, 0] + taken[:, 2]) - np.maximum(x, taken[:, 0]), 0, None)
            iy = np.clip(np.minimum(y + h, taken[:, 1] + taken[:, 3]) - np.maximum(y, taken[:, 1]), 0, None)
            if (ix * iy / max(w * h, 1e-9)).max() > settings.max_share_in_faced_person:
                continue
        out.append(j)
    return np.array(out, dtype=np.int64)
