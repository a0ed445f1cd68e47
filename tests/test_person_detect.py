"""People on the whole photo: the SSDLite graph converted without TensorFlow, decoded by us."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memories.evaluation.detection import evaluate_detection
from recognition.person_detect import GRIDS, anchor_boxes, decode


def test_anchor_layout_matches_the_graph() -> None:
    anchors = anchor_boxes()
    # 19 x 19 cells of 3 anchors, then 10, 5, 3, 2, 1 cells of 6: the graph's 1,917 box codes
    assert len(anchors) == 19 * 19 * 3 + sum(c * c * 6 for c in GRIDS[1:]) == 1917
    first = anchors[0]
    assert first[:2] == pytest.approx([0.5 / 19, 0.5 / 19]) and first[2:] == pytest.approx([0.1, 0.1])
    # zero codes give the anchors themselves, as x, y, w, h
    boxes = decode(np.zeros((1, 4)), anchors[:1])
    assert boxes[0] == pytest.approx([0.5 / 19 - 0.05, 0.5 / 19 - 0.05, 0.1, 0.1])


@pytest.mark.slow
def test_people_are_found_in_usc_photos(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "usc_pedestrians"
    boxes = json.loads((source / "boxes.json").read_text())
    chosen = dict(sorted(boxes.items())[::12])  # 30 photos across the three sets
    (tmp_path / "images").mkdir()
    for image in chosen:
        (tmp_path / image).symlink_to(source / image)
    (tmp_path / "boxes.json").write_text(json.dumps(chosen))
    (tmp_path / "dataset.json").write_text((source / "dataset.json").read_text())
    result = evaluate_detection(tmp_path, "person")
    assert result["iou_threshold"] == 0.5
    # all 359 photos: recall 0.667 at precision 0.879 (memories eval detection)
    assert result["recall"] >= 0.55 and result["precision"] >= 0.8
