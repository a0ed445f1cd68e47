"""Re-identification scoring (rank-1, mAP), worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from memories.evaluation.reid import rank1_and_map, upper_body


def test_rank1_and_map_by_hand() -> None:
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-1.0, 0.0]])
    gallery_ids = np.array(["a", "b", "a", "c"])
    queries = np.array([[0.0, 1.0], [0.8, 0.6]])
    query_ids = np.array(["a", "a"])
    score = rank1_and_map(queries, query_ids, gallery, gallery_ids)
    # query 1 (0,1): ranked b, a(0.6,0.8)... distances: b 0, a2 0.632, a1 1.414, c 1.414
    #   -> a's at ranks 2 and 3: AP = (1/2 + 2/3) / 2; not rank-1
    # query 2 (0.8,0.6): a2 0.283, a1 0.632 -> ranks 1 and 2: AP 1; rank-1
    assert score.rank1 == 0.5
    assert score.mean_ap == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1.0) / 2)
    assert (score.queries, score.gallery) == (2, 4)


def test_upper_body_rows() -> None:
    crop = np.zeros((160, 60, 3), np.uint8)
    assert upper_body(crop).shape == (88 - 19, 60, 3)
