"""The filter-in-the-wild table: keep rates per group and the term that sank each rejected face,
from cached quality cues (synthetic cues here: the arithmetic, not the data)."""

from __future__ import annotations

import numpy as np

from memories.evaluation.fairness_wild import WildFaces, format_wild_keep, keep_rates
from recognition.body_settings import QUALITY


def _cues(null_distance: float, size: float = 80.0) -> list[float]:
    # size, sharpness (log10 var of Laplacian), pose asymmetry, detector score, null distance
    return [size, 1.6, 0.1, 1.0, null_distance]


def test_keep_rates_count_the_filter_verdict_per_group_and_name_the_term_that_sank_a_face() -> None:
    good, doubtful = _cues(0.48), _cues(0.30)  # the embedding term at 1 and at 0
    tiny = _cues(0.48, size=10.0)  # the size term at 0
    cues = np.array([good, good, good, doubtful, good, tiny, doubtful, doubtful])
    skin = np.array(["I–II", "I–II", "I–II", "I–II", "V–VI", "V–VI", "V–VI", "V–VI"])
    gender = np.array(["Female", "Male", "Female", "Male", "Female", "Male", "", "Male"])
    age = np.array([""] * 8)
    result = keep_rates(WildFaces(cues, {"skin": skin, "gender": gender, "age": age}), quality=QUALITY)
    by_skin = {r.group: r for r in result.rows["skin"]}
    assert by_skin["I–II"].rate == 0.75 and by_skin["V–VI"].rate == 0.25 and "III–IV" not in by_skin
    assert by_skin["V–VI"].low <= 0.25 <= by_skin["V–VI"].high
    by_gender = {r.group: (r.count, r.rate) for r in result.rows["gender"]}
    assert by_gender == {"Female": (3, 1.0), "Male": (4, 0.25)}  # the unsure one left out
    assert result.rows["age"] == []
    assert result.sunk_by["I–II"] == {"size": 0, "sharpness": 0, "pose": 0, "detector": 0, "embedding": 1}
    assert result.sunk_by["V–VI"]["embedding"] == 2 and result.sunk_by["V–VI"]["size"] == 1
    text = format_wild_keep(result)
    assert "V–VI" in text and "embedding 2" in text
